"""Thin ipywidgets wrappers around plain drawing functions.

The drawing functions hold the logic and are tested without a browser; the widgets only add
sliders. Constructors return the widget and never display it: write ``display(widget)`` or end
the cell with it.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import as_mask_pair, as_real, as_spacing, check_same_shape

__all__ = ["draw_measures", "format_values", "measures_explorer", "CHALLENGES", "wm_threshold",
           "challenge_dice", "draw_challenge", "challenge_explorer", "draw_thick_slices",
           "thickness_explorer", "draw_subject_slice", "subject_explorer", "draw_threshold",
           "threshold_explorer", "draw_range", "range_explorer", "draw_region",
           "region_explorer"]

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

    reference, prediction = as_mask_pair(reference, prediction)
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

    reference, prediction = as_mask_pair(reference, prediction)
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


# --------------------------------------------------------------------------------------------
# Chapter 01: every imaging challenge as a slider, and what it costs a fixed threshold
# --------------------------------------------------------------------------------------------


def _noise(image, labels, strength, rng):
    from .imaging import rician_noise

    return rician_noise(image, strength, rng=rng)


def _bias(image, labels, strength, rng):
    from .imaging import polynomial_bias

    return image * polynomial_bias(image.shape, (strength, -0.6 * strength, 0.0, 0.0, 0.0))


def _partial_volume(image, labels, strength, rng):
    from .imaging import block_average

    factor = max(1, int(round(strength)))
    coarse = block_average(image, factor)
    fine = np.kron(coarse, np.ones((factor, factor)))  # back on the fine grid, to compare
    pad = [(0, n - m) for n, m in zip(image.shape, fine.shape)]
    return np.pad(fine, pad, mode="edge")


def _contrast(image, labels, strength, rng):
    from .imaging import gaussian_noise, reduce_contrast

    return gaussian_noise(reduce_contrast(image, 1 - strength, mask=labels > 0), 0.03, rng=rng)


def _insert(image):
    """Where the metal clip / the air-tissue disturbance sits: a small disk left of centre."""
    from .phantoms import disk

    n = image.shape[0]
    return disk(image.shape, (0.45 * n, 0.38 * n), max(1.5, n / 40))


def _metal(image, labels, strength, rng):
    from .imaging import metal_artifact

    return metal_artifact(image, _insert(image), attenuation=strength, rng=rng)


def _susceptibility(image, labels, strength, rng):
    from .imaging import susceptibility_void

    if strength <= 0:
        return image
    n = image.shape[0]
    return susceptibility_void(image, (0.45 * n, 0.38 * n), strength)


#: name -> (degrade(image, labels, strength, rng), slider range (min, max, step), unit)
CHALLENGES = {
    "noise": (_noise, (0.0, 0.3, 0.01), "noise sigma"),
    "bias field": (_bias, (0.0, 1.0, 0.05), "bias strength"),
    "partial volume": (_partial_volume, (1, 8, 1), "voxel size (px)"),
    "low contrast": (_contrast, (0.0, 0.9, 0.05), "contrast lost"),
    "metal (CT)": (_metal, (0.0, 60.0, 5.0), "metal attenuation"),
    "susceptibility (MRI)": (_susceptibility, (0.0, 16.0, 1.0), "void radius (px)"),
}


def wm_threshold(image, labels):
    """The fixed threshold of the challenge labs: midway between the median GM and WM
    intensities of the *clean* image."""
    return float((np.median(image[labels == 2]) + np.median(image[labels == 3])) / 2)


def challenge_dice(challenge, image, labels, strengths, *, rng=0):
    """Dice of a fixed white-matter threshold against the exact labels, for each strength."""
    from . import metrics

    if challenge not in CHALLENGES:
        raise ValueError(f"challenge must be one of {list(CHALLENGES)}, got {challenge!r}")
    degrade = CHALLENGES[challenge][0]
    threshold = wm_threshold(image, labels)
    truth = labels == 3
    return np.array([metrics.dice(truth, degrade(image, labels, s, rng) > threshold)
                     for s in strengths])


def draw_challenge(challenge, strength, *, image, labels, rng=0):
    """Apply one challenge at ``strength``; draw the image and the fixed threshold's result.

    Returns
    -------
    (fig, axes, dice)
    """
    import matplotlib.pyplot as plt

    from . import metrics
    from .plotting import show_confusion

    if challenge not in CHALLENGES:
        raise ValueError(f"challenge must be one of {list(CHALLENGES)}, got {challenge!r}")
    image = np.asarray(image, dtype=float)
    labels = np.asarray(labels)
    check_same_shape(image, labels, ("image", "labels"))
    degrade, _, unit = CHALLENGES[challenge]
    degraded = degrade(image, labels, strength, rng)
    threshold = wm_threshold(image, labels)
    found = degraded > threshold
    dice = metrics.dice(labels == 3, found)
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.0), dpi=72)
    axes[0].imshow(degraded, cmap="gray", vmin=0, vmax=1.1)
    axes[0].set_title(f"{challenge}: {unit} = {strength:g}", fontsize=9)
    axes[0].set_xticks([])
    axes[0].set_yticks([])
    show_confusion(labels == 3, found, ax=axes[1], legend=False,
                   title=f"WM by threshold {threshold:.2f}: Dice {dice:.3f}")
    fig.tight_layout()
    return fig, axes, dice


def challenge_explorer(challenge, image, labels, *, rng=0):
    """A slider for the strength of one imaging challenge (see :data:`CHALLENGES`)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    if challenge not in CHALLENGES:
        raise ValueError(f"challenge must be one of {list(CHALLENGES)}, got {challenge!r}")
    low, high, step = CHALLENGES[challenge][1]
    unit = CHALLENGES[challenge][2]
    slider_type = w.IntSlider if isinstance(step, int) else w.FloatSlider
    slider = slider_type(value=low, min=low, max=high, step=step, description=unit,
                         continuous_update=False, style={"description_width": "110px"})

    def show(strength):
        fig, _, dice = draw_challenge(challenge, strength, image=image, labels=labels, rng=rng)
        print(f"Dice of the fixed threshold: {dice:.3f}")
        plt.show(fig)

    return w.interactive(show, strength=slider)


def draw_thick_slices(volume, labels, thickness, *, spacing=(2.0, 2.0, 2.0)):
    """Acquire ``volume`` with axial slices ``thickness`` mm thick; draw the coronal reformat
    (the staircase) and return the 3D white-matter Dice of the fixed threshold.

    Returns
    -------
    (fig, axes, dice)
    """
    import matplotlib.pyplot as plt

    from . import metrics
    from .imaging import reformat, thick_slices

    volume = np.asarray(volume, dtype=float)
    labels = np.asarray(labels)
    check_same_shape(volume, labels, ("volume", "labels"))
    thick, thick_spacing = thick_slices(volume, spacing, thickness, axis=0)
    iso, _ = reformat(thick, thick_spacing, target=spacing[0])
    iso = iso[: volume.shape[0]]
    truth = labels[: iso.shape[0]] == 3
    dice = metrics.dice(truth, iso > wm_threshold(volume, labels))
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.2), dpi=72)
    middle = volume.shape[1] // 2
    axes[0].imshow(volume[:, middle], cmap="gray", aspect="auto")
    axes[0].set_title(f"coronal, {spacing[0]:g} mm slices", fontsize=9)
    axes[1].imshow(iso[:, middle], cmap="gray", aspect="auto")
    axes[1].set_title(f"coronal, {thickness:g} mm slices: WM Dice {dice:.3f}", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig, axes, dice


def thickness_explorer(volume, labels, *, spacing=(2.0, 2.0, 2.0), max_factor=6):
    """A slider for the slice thickness of an acquisition (multiples of ``spacing[0]``)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    step = float(spacing[0])
    slider = w.FloatSlider(value=step, min=step, max=step * max_factor, step=step,
                           description="slice (mm)", continuous_update=False)

    def show(thickness):
        fig, _, dice = draw_thick_slices(volume, labels, thickness, spacing=spacing)
        print(f"3D WM Dice of the fixed threshold: {dice:.3f}")
        plt.show(fig)

    return w.interactive(show, thickness=slider)


def draw_subject_slice(seed, reference_labels, **kwargs):
    """Draw subject ``seed``'s slice with the white-matter outline of a reference subject on
    top; return the white-matter Dice between the two subjects.

    Returns
    -------
    (fig, ax, dice)
    """
    import matplotlib.pyplot as plt

    from . import metrics
    from .phantoms import brain_slice

    image, labels = brain_slice(rng=seed, **kwargs)
    reference_labels = np.asarray(reference_labels)
    check_same_shape(labels, reference_labels, ("the subject's labels", "reference_labels"))
    dice = metrics.dice(reference_labels == 3, labels == 3)
    fig, ax = plt.subplots(figsize=(3.6, 3.6), dpi=72)
    ax.imshow(image, cmap="gray")
    ax.contour(reference_labels == 3, levels=[0.5], colors=["tab:orange"], linewidths=0.8)
    ax.set_title(f"subject {seed}; orange: reference WM (Dice {dice:.2f})", fontsize=9)
    ax.set_axis_off()
    return fig, ax, dice


def subject_explorer(reference_labels, *, subjects=20, **kwargs):
    """A slider over simulated subjects, compared with a reference subject's white matter."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    slider = w.IntSlider(value=0, min=0, max=subjects - 1, description="subject",
                         continuous_update=False)

    def show(seed):
        fig, _, dice = draw_subject_slice(seed, reference_labels, **kwargs)
        print(f"WM Dice with the reference subject: {dice:.3f}")
        plt.show(fig)

    return w.interactive(show, seed=slider)


# --------------------------------------------------------------------------------------------
# Chapter 03: thresholds and region growing with sliders
# --------------------------------------------------------------------------------------------


def _tissue_figure(image, labels, tissue, found, title):
    """Score a found mask against ``labels == tissue`` and draw it: (fig, axes, dice)."""
    import matplotlib.pyplot as plt

    from . import metrics
    from .plotting import show_confusion

    labels = np.asarray(labels)
    check_same_shape(found, labels, ("image", "labels"))
    truth = labels == tissue
    dice = metrics.dice(truth, found)
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.0), dpi=72)
    axes[0].imshow(image, cmap="gray")
    axes[0].contour(found, levels=[0.5], colors=["yellow"], linewidths=0.7)
    axes[0].set_title(title, fontsize=9)
    axes[0].set_axis_off()
    show_confusion(truth, found, ax=axes[1], legend=False, title="TP green, FP red, FN blue")
    fig.tight_layout()
    return fig, axes, dice


def _gray_levels(image):
    """An integer image and its smallest and largest gray level (slider bounds)."""
    image = np.asarray(image)
    if not np.issubdtype(image.dtype, np.integer):
        raise TypeError(f"image must be an integer (e.g. 8-bit) image, got {image.dtype}")
    return image, int(image.min()), int(image.max())


def draw_threshold(image, labels, t, *, tissue=3):
    """Threshold ``image > t``; draw the mask on the image and its errors against
    ``labels == tissue``; return ``(fig, axes, dice)``."""
    from .thresholding import threshold

    return _tissue_figure(image, labels, tissue, threshold(image, t), f"image > {t:g}")


def threshold_explorer(image, labels, *, tissue=3, value=None):
    """An integer slider for a threshold on an 8-bit image, with the live Dice."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    image, low, high = _gray_levels(image)
    slider = w.IntSlider(value=int(value if value is not None else (low + high) // 2),
                         min=low, max=high, description="threshold",
                         continuous_update=False)

    def show(t):
        fig, _, dice = draw_threshold(image, labels, t, tissue=tissue)
        print(f"threshold {t}: Dice {dice:.4f}")
        plt.show(fig)

    return w.interactive(show, t=slider)


def draw_range(image, labels, lower, upper, *, tissue=2):
    """Keep ``lower <= image <= upper``; return ``(fig, axes, dice)`` against one tissue."""
    from .thresholding import threshold_range

    return _tissue_figure(image, labels, tissue, threshold_range(image, lower, upper),
                          f"{lower:g} <= image <= {upper:g}")


def range_explorer(image, labels, *, tissue=2, value=None):
    """A range slider (lower, upper) on an 8-bit image, with the live Dice."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    image, low, high = _gray_levels(image)
    slider = w.IntRangeSlider(value=value or ((low + high) // 3, 2 * (low + high) // 3),
                              min=low, max=high, description="window",
                              continuous_update=False)

    def show(window):
        fig, _, dice = draw_range(image, labels, window[0], window[1], tissue=tissue)
        print(f"window {window[0]}-{window[1]}: Dice {dice:.4f}")
        plt.show(fig)

    return w.interactive(show, window=slider)


def draw_region(image, labels, seed, tolerance, *, tissue=3):
    """Grow from ``seed`` with ``tolerance``; return ``(fig, axes, dice)`` against a tissue."""
    from .region_growing import region_grow

    fig, axes, dice = _tissue_figure(image, labels, tissue,
                                     region_grow(image, seed, tolerance=tolerance),
                                     f"grown from {tuple(seed)}, tolerance {tolerance:g}")
    axes[0].plot(seed[1], seed[0], "r+", markersize=10)
    return fig, axes, dice


def region_explorer(image, labels, seed, *, tissue=3, max_tolerance=None):
    """Sliders for the seed position and the tolerance of region growing."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    image = np.asarray(image)
    span = float(np.ptp(image))
    tolerance = w.FloatSlider(value=0.06 * span, min=0.0, max=max_tolerance or 0.3 * span,
                              step=span / 200, description="tolerance",
                              continuous_update=False)
    row = w.IntSlider(value=int(seed[0]), min=0, max=image.shape[0] - 1, description="seed row",
                      continuous_update=False)
    col = w.IntSlider(value=int(seed[1]), min=0, max=image.shape[1] - 1,
                      description="seed column", continuous_update=False)

    def show(row, column, tolerance):
        fig, _, dice = draw_region(image, labels, (row, column), tolerance, tissue=tissue)
        print(f"seed ({row}, {column}), tolerance {tolerance:.3g}: Dice {dice:.4f}")
        plt.show(fig)

    return w.interactive(show, row=row, column=col, tolerance=tolerance)
