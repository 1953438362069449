"""Thin ipywidgets wrappers around plain drawing functions.

The drawing functions hold the logic and are tested without a browser; the widgets only add
sliders. Constructors return the widget and never display it: write ``display(widget)`` or end
the cell with it.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import as_mask, as_real, as_spacing, check_same_shape

__all__ = ["draw_measures", "format_values", "measures_explorer"]

_SHOWN = ("dice", "iou", "precision", "recall", "volume_similarity", "hd", "hd95", "assd",
          "masd", "nsd")


def draw_measures(reference, prediction, *, dy=0, dx=0, grow=0, spacing=None, tolerance=1.0,
                  image=None):
    """Move/grow the prediction, draw its confusion overlay and list every measure.

    Parameters
    ----------
    reference, prediction : (H, W) ndarray of bool
    dy, dx : int
        Shift of the prediction in pixels (down, right).
    grow : int
        Dilate (> 0) or erode (< 0) the prediction by this many pixels.
    spacing : (float, float), optional
        Pixel size in mm.
    tolerance : float
        NSD tolerance in mm.
    image : (H, W) ndarray, optional
        Drawn under the overlay.

    Returns
    -------
    (fig, axes, values)
        ``values`` a dict of measure name to float (the printed readout).

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb
    """
    import matplotlib.pyplot as plt

    from . import metrics
    from .phantoms import perturb
    from .plotting import show_confusion

    reference = as_mask("reference", reference)
    prediction = as_mask("prediction", prediction)
    check_same_shape(reference, prediction)
    if reference.ndim != 2:
        raise ValueError(f"reference must be 2D, got {reference.ndim} dimensions")
    for name, value in (("dy", dy), ("dx", dx), ("grow", grow)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer number of pixels, got {value!r}")
    spacing = as_spacing(spacing, 2)
    tolerance = as_real("tolerance", tolerance, low=0)
    moved = perturb(prediction, shift=(dy, dx), grow=grow)
    table = metrics.evaluate(reference.astype(np.uint8), moved.astype(np.uint8), labels=[1],
                             spacing=spacing, tolerance=tolerance, metrics=_SHOWN)
    values = {k: float(table.loc[1, k]) for k in _SHOWN}
    fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(7.2, 3.0), dpi=80,
                                         gridspec_kw={"width_ratios": [1.3, 1]})
    show_confusion(reference, moved, image=image, spacing=spacing, ax=ax_img,
                   title=f"shift ({dy}, {dx}) px, grow {grow} px")
    overlap = ["dice", "iou", "precision", "recall", "volume_similarity", "nsd"]
    heights = [0.0 if np.isnan(values[k]) else values[k] for k in overlap]
    ax_bar.barh(overlap[::-1], heights[::-1], color="#4c72b0")
    ax_bar.set_xlim(0, 1)
    ax_bar.set_title("overlap measures (higher is better)", fontsize=9)
    ax_bar.tick_params(labelsize=8)
    fig.tight_layout()
    return fig, (ax_img, ax_bar), values


_LABELS = {"dice": "Dice", "iou": "IoU", "precision": "precision", "recall": "recall",
           "volume_similarity": "VS", "hd": "HD", "hd95": "HD95", "assd": "ASSD",
           "masd": "MASD", "nsd": "NSD"}


def format_values(values):
    """The readout under the explorer: two lines, overlap measures then distances.

    Examples
    --------
    >>> v = dict.fromkeys(_SHOWN, 1.0)
    >>> print(format_values(v))
    Dice 1.000 | IoU 1.000 | precision 1.000 | recall 1.000 | VS 1.000
    HD 1.000 mm | HD95 1.000 mm | ASSD 1.000 mm | MASD 1.000 mm | NSD 1.000
    """
    def fmt(key):
        value = values[key]
        text = "nan" if np.isnan(value) else f"{value:.3f}"
        return f"{_LABELS[key]} {text}" + (" mm" if key in ("hd", "hd95", "assd", "masd") else "")

    first = " | ".join(fmt(k) for k in ("dice", "iou", "precision", "recall",
                                        "volume_similarity"))
    second = " | ".join(fmt(k) for k in ("hd", "hd95", "assd", "masd", "nsd"))
    return f"{first}\n{second}"


def measures_explorer(reference, prediction, *, spacing=None, tolerance=1.0, image=None,
                      max_shift=8, max_grow=4):
    """Sliders that shift, dilate and erode ``prediction``; every measure updates live.

    Returns
    -------
    ipywidgets.interactive
        Display it (end the cell with it) to use it.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    reference = as_mask("reference", reference)
    prediction = as_mask("prediction", prediction)
    check_same_shape(reference, prediction)
    for name, value in (("max_shift", max_shift), ("max_grow", max_grow)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")

    def show(dy, dx, grow):
        fig, _, values = draw_measures(reference, prediction, dy=dy, dx=dx, grow=grow,
                                       spacing=spacing, tolerance=tolerance, image=image)
        print(format_values(values))
        plt.show(fig)

    sliders = {
        "dy": w.IntSlider(0, -max_shift, max_shift, description="shift ↓ (px)"),
        "dx": w.IntSlider(0, -max_shift, max_shift, description="shift → (px)"),
        "grow": w.IntSlider(0, -max_grow, max_grow, description="grow (px)"),
    }
    for slider in sliders.values():
        slider.continuous_update = False
        slider.style.description_width = "90px"
    return w.interactive(show, **sliders)
