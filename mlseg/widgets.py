"""Explorers: sliders over plain drawing functions.

The drawing functions (``draw_*``) hold the logic and are tested without a browser. An explorer
only adds sliders: it shows a readout (the numbers the drawing reports, naming the slider
values) and the drawing as a PNG image, and moving a slider calls the drawing function again.
There is no ``Output`` widget and no output capture (nothing a headless executor such as
nbclient has to mimic), and the image is part of the widget state that a saved notebook keeps.

Displaying an explorer (end the cell with it, or ``display(explorer)``) first shows a static
figure, small multiples over a few slider values, so that the notebook reads without a kernel
(GitHub, nbviewer); then the live sliders. Constructors return the explorer and never display.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import numbers

import numpy as np

from ._validation import as_mask_pair, as_real, as_spacing, check_same_shape

__all__ = ["draw_measures", "format_values", "measures_explorer", "CHALLENGES", "wm_threshold",
           "challenge_dice", "draw_challenge", "challenge_explorer", "draw_thick_slices",
           "thickness_explorer", "draw_subject_slice", "subject_explorer", "draw_threshold",
           "threshold_explorer", "draw_range", "range_explorer", "draw_region",
           "region_explorer"]

#: Resolution of every figure the explorers show (live and static).
DPI = 100

# --------------------------------------------------------------------------------------------
# The one explorer: sliders, a readout, the drawing as PNG; static small multiples on display
# --------------------------------------------------------------------------------------------


def _png(fig, **kwargs):
    """``fig`` as PNG bytes at :data:`DPI`, in 64 colours; the figure is closed.

    64 colours are plenty for gray images under a few overlay colours and take a third of the
    bytes: the PNGs are saved in the notebooks (outputs and widget state).
    """
    import matplotlib.pyplot as plt
    from PIL import Image

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI, **kwargs)
    finally:
        plt.close(fig)
    image = Image.open(buffer).convert("RGB").quantize(
        64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def _small_multiples(panel, settings, *, lead=None, confusion=True, size=2.4):
    """One row of panels: ``lead(ax)`` first if given, then ``panel(ax, **setting)`` for each
    setting (at most 6 panels, each ``size`` inches at :data:`DPI`); with ``confusion`` a legend
    of the TP/FP/FN colours underneath."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from .plotting import CONFUSION_COLOURS

    count = len(settings) + (lead is not None)
    fig, axes = plt.subplots(1, count, figsize=(size * count, size + 0.6), dpi=DPI,
                             squeeze=False)
    axes = list(axes[0])
    if lead is not None:
        lead(axes.pop(0))
    for ax, setting in zip(axes, settings):
        panel(ax, **setting)
    fig.tight_layout(rect=(0, 0.07 if confusion else 0, 1, 1))
    if confusion:
        names = {"TP": "true positive", "FP": "false positive", "FN": "false negative"}
        fig.legend(handles=[Patch(color=CONFUSION_COLOURS[k], label=f"{k}: {v}")
                            for k, v in names.items()],
                   loc="lower center", ncol=3, fontsize=8, frameon=False)
    return fig


def _readout_html(text, *, error=False):
    colour = "#b00020" if error else "inherit"
    return (f'<pre style="margin: 2px 0; color: {colour}; white-space: pre-wrap">'
            f"{html.escape(text)}</pre>")


@functools.cache
def _explorer_type():
    """The explorer widget class, built on first use so ``import mlseg.widgets`` stays light."""
    import ipywidgets as w

    class Explorer(w.VBox):
        """Sliders, then a readout and the PNG of ``f`` at the sliders' values.

        ``f(**values) -> (fig, text)`` draws (a thin wrapper of a ``draw_*`` function), or
        ``(fig, text, details)``: ``details`` (e.g. the mask that was drawn) is kept in
        :attr:`details` for whoever wants to check the drawing; ``overview() -> fig`` draws the
        static small multiples shown above the sliders.
        """

        def __init__(self, f, sliders, overview, *, name):
            self.f = f
            self.sliders = dict(sliders)
            self.overview = overview
            self.name = name
            self.text = ""
            self.details = None
            self.readout = w.HTML()
            self.readout.add_class("mlseg-readout")
            self.image = w.Image(format="png")
            self.image.add_class("mlseg-figure")
            super().__init__(children=[*self.sliders.values(),
                                       w.VBox([self.readout, self.image])])
            self.add_class("mlseg-explorer")
            for slider in self.sliders.values():
                slider.continuous_update = False
                slider.style.description_width = "110px"
                slider.layout.width = "480px"
                slider.observe(self.redraw, names="value")
            self.redraw()

        @property
        def values(self):
            """The sliders' values, by the name ``f`` takes them."""
            return {name: slider.value for name, slider in self.sliders.items()}

        def redraw(self, change=None):
            """Draw for the sliders' values: the new PNG first, then its readout."""
            try:
                fig, text, *details = self.f(**self.values)
            except Exception as error:
                self.readout.value = _readout_html(f"{type(error).__name__}: {error}",
                                                   error=True)
                raise
            self.image.value = _png(fig)
            self.text = text
            self.details = details[0] if details else None
            self.readout.value = _readout_html(text)

        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            bundle["text/plain"] = f"{self.name} (sliders in a live kernel): {self.text}"
            return bundle

        def _ipython_display_(self):
            from IPython.display import display

            png = base64.b64encode(_png(self.overview(), bbox_inches="tight")).decode("ascii")
            display({"image/png": png, "text/plain": f"{self.name}: small multiples"}, raw=True)
            display(self._repr_mimebundle_(), raw=True)

    return Explorer


def _explorer(f, sliders, overview, *, name):
    """Build an explorer (see :func:`_explorer_type`); it is not displayed."""
    return _explorer_type()(f, sliders, overview, name=name)


def _spread(low, high, step, count=4):
    """``count`` slider values from ``low`` to ``high`` on the slider's grid (small multiples)."""
    values = low + step * np.round((np.linspace(low, high, count) - low) / step)
    kind = int if isinstance(step, numbers.Integral) else float
    return list(dict.fromkeys(kind(v) for v in values))


# --------------------------------------------------------------------------------------------
# Chapter 02: move and grow a prediction, watch every measure
# --------------------------------------------------------------------------------------------

_SHOWN = ("dice", "iou", "precision", "recall", "volume_similarity", "hd", "hd95", "assd",
          "masd", "nsd")


def _moved_measures(reference, prediction, dy, dx, grow, spacing, tolerance):
    """The moved prediction and every measure of it (validated inputs)."""
    from . import metrics
    from .phantoms import perturb

    moved = perturb(prediction, shift=(dy, dx), grow=grow)
    table = metrics.evaluate(reference.astype(np.uint8), moved.astype(np.uint8), labels=[1],
                             spacing=spacing, tolerance=tolerance, metrics=_SHOWN)
    return moved, {k: float(table.loc[1, k]) for k in _SHOWN}


def _measures_title(dy, dx, grow):
    return f"shift ({dy}, {dx}) px, grow {grow} px"


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

    from .plotting import show_confusion

    reference, prediction = as_mask_pair(reference, prediction)
    if reference.ndim != 2:
        raise ValueError(f"reference must be 2D, got {reference.ndim} dimensions")
    for name, value in (("dy", dy), ("dx", dx), ("grow", grow)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer number of pixels, got {value!r}")
    spacing = as_spacing(spacing, 2)
    tolerance = as_real("tolerance", tolerance, low=0)
    moved, values = _moved_measures(reference, prediction, dy, dx, grow, spacing, tolerance)
    fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(7.2, 3.0), dpi=DPI,
                                         gridspec_kw={"width_ratios": [1.3, 1]})
    show_confusion(reference, moved, image=image, spacing=spacing, ax=ax_img,
                   title=_measures_title(dy, dx, grow))
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
    explorer : ipywidgets.VBox
        The sliders ``dy``, ``dx``, ``grow``, then the readout (the setting, then
        :func:`format_values`) and the drawing of :func:`draw_measures`. End the cell with it:
        small multiples of a few settings show first, then the sliders.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb
    """
    import ipywidgets as w

    from .plotting import show_confusion

    reference, prediction = as_mask_pair(reference, prediction)
    for name, value in (("max_shift", max_shift), ("max_grow", max_grow)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    spacing = as_spacing(spacing, 2)
    tolerance = as_real("tolerance", tolerance, low=0)

    def f(dy, dx, grow):
        fig, _, values = draw_measures(reference, prediction, dy=dy, dx=dx, grow=grow,
                                       spacing=spacing, tolerance=tolerance, image=image)
        return fig, f"{_measures_title(dy, dx, grow)}\n{format_values(values)}"

    def panel(ax, dy, dx, grow):
        moved, values = _moved_measures(reference, prediction, dy, dx, grow, spacing, tolerance)
        show_confusion(reference, moved, image=image, spacing=spacing, ax=ax, legend=False,
                       title=f"{_measures_title(dy, dx, grow)}\nDice {values['dice']:.3f}, "
                             f"HD {values['hd']:.2f} mm")

    shift, grow = min(3, max_shift), min(2, max_grow)
    examples = dict.fromkeys([(0, 0, 0), (0, shift, 0), (0, 0, grow), (0, 0, -grow)])
    settings = [dict(zip(("dy", "dx", "grow"), example)) for example in examples]
    sliders = {
        "dy": w.IntSlider(0, -max_shift, max_shift, description="shift ↓ (px)"),
        "dx": w.IntSlider(0, -max_shift, max_shift, description="shift → (px)"),
        "grow": w.IntSlider(0, -max_grow, max_grow, description="grow (px)"),
    }
    return _explorer(f, sliders, lambda: _small_multiples(panel, settings),
                     name="measures explorer")


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


def _check_challenge(challenge):
    if challenge not in CHALLENGES:
        raise ValueError(f"challenge must be one of {list(CHALLENGES)}, got {challenge!r}")


def challenge_dice(challenge, image, labels, strengths, *, rng=0):
    """Dice of a fixed white-matter threshold against the exact labels, for each strength."""
    from . import metrics

    _check_challenge(challenge)
    degrade = CHALLENGES[challenge][0]
    threshold = wm_threshold(image, labels)
    truth = labels == 3
    return np.array([metrics.dice(truth, degrade(image, labels, s, rng) > threshold)
                     for s in strengths])


def _challenge(challenge, strength, image, labels, rng):
    """The degraded image, the fixed threshold's white matter on it, its Dice and the
    threshold (validated inputs)."""
    from . import metrics

    degraded = CHALLENGES[challenge][0](image, labels, strength, rng)
    threshold = wm_threshold(image, labels)
    found = degraded > threshold
    return degraded, found, metrics.dice(labels == 3, found), threshold


def _challenge_inputs(challenge, image, labels):
    _check_challenge(challenge)
    image = np.asarray(image, dtype=float)
    labels = np.asarray(labels)
    check_same_shape(image, labels, ("image", "labels"))
    return image, labels


def draw_challenge(challenge, strength, *, image, labels, rng=0):
    """Apply one challenge at ``strength``; draw the image and the fixed threshold's result.

    Returns
    -------
    (fig, axes, dice)

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    import matplotlib.pyplot as plt

    from .plotting import show_confusion

    image, labels = _challenge_inputs(challenge, image, labels)
    unit = CHALLENGES[challenge][2]
    degraded, found, dice, threshold = _challenge(challenge, strength, image, labels, rng)
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.0), dpi=DPI)
    axes[0].imshow(degraded, cmap="gray", vmin=0, vmax=1.1)
    axes[0].set_title(f"{challenge}: {unit} = {strength:g}", fontsize=9)
    axes[0].set_xticks([])
    axes[0].set_yticks([])
    show_confusion(labels == 3, found, ax=axes[1], legend=False,
                   title=f"WM by threshold {threshold:.2f}: Dice {dice:.3f}")
    fig.tight_layout()
    return fig, axes, dice


def challenge_explorer(challenge, image, labels, *, rng=0):
    """A slider for the strength of one imaging challenge (see :data:`CHALLENGES`).

    The readout reads ``noise sigma = 0.1: Dice of the fixed threshold 0.912``; the small
    multiples show the threshold's errors on the degraded image at four strengths.

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    import ipywidgets as w

    from .plotting import show_confusion

    image, labels = _challenge_inputs(challenge, image, labels)
    (low, high, step), unit = CHALLENGES[challenge][1:]
    slider_type = w.IntSlider if isinstance(step, int) else w.FloatSlider
    slider = slider_type(value=low, min=low, max=high, step=step, description=unit)

    def f(strength):
        fig, _, dice = draw_challenge(challenge, strength, image=image, labels=labels, rng=rng)
        return fig, f"{unit} = {strength:g}: Dice of the fixed threshold {dice:.3f}"

    def panel(ax, strength):
        degraded, found, dice, _ = _challenge(challenge, strength, image, labels, rng)
        show_confusion(labels == 3, found, image=degraded, ax=ax, legend=False,
                       title=f"{unit} = {strength:g}\nWM Dice {dice:.3f}")

    settings = [{"strength": s} for s in _spread(low, high, step)]
    return _explorer(f, {"strength": slider}, lambda: _small_multiples(panel, settings),
                     name=f"{challenge} explorer")


def _thick(volume, labels, thickness, spacing):
    """``volume`` acquired with ``thickness`` mm slices, back on the fine grid, and the 3D WM
    Dice of the fixed threshold on it (validated inputs)."""
    from . import metrics
    from .imaging import reformat, thick_slices

    thick, thick_spacing = thick_slices(volume, spacing, thickness, axis=0)
    iso, _ = reformat(thick, thick_spacing, target=spacing[0])
    iso = iso[: volume.shape[0]]
    truth = labels[: iso.shape[0]] == 3
    return iso, metrics.dice(truth, iso > wm_threshold(volume, labels))


def _volume_inputs(volume, labels):
    volume = np.asarray(volume, dtype=float)
    labels = np.asarray(labels)
    check_same_shape(volume, labels, ("volume", "labels"))
    return volume, labels


def _coronal(ax, volume, title):
    ax.imshow(volume[:, volume.shape[1] // 2], cmap="gray", aspect="auto")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_thick_slices(volume, labels, thickness, *, spacing=(2.0, 2.0, 2.0)):
    """Acquire ``volume`` with axial slices ``thickness`` mm thick; draw the coronal reformat
    (the staircase) and return the 3D white-matter Dice of the fixed threshold.

    Returns
    -------
    (fig, axes, dice)

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    import matplotlib.pyplot as plt

    volume, labels = _volume_inputs(volume, labels)
    iso, dice = _thick(volume, labels, thickness, spacing)
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.2), dpi=DPI)
    _coronal(axes[0], volume, f"coronal, {spacing[0]:g} mm slices")
    _coronal(axes[1], iso, f"coronal, {thickness:g} mm slices: WM Dice {dice:.3f}")
    fig.tight_layout()
    return fig, axes, dice


def thickness_explorer(volume, labels, *, spacing=(2.0, 2.0, 2.0), max_factor=6):
    """A slider for the slice thickness of an acquisition (multiples of ``spacing[0]``).

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    import ipywidgets as w

    volume, labels = _volume_inputs(volume, labels)
    step = float(spacing[0])
    slider = w.FloatSlider(value=step, min=step, max=step * max_factor, step=step,
                           description="slice (mm)")

    def f(thickness):
        fig, _, dice = draw_thick_slices(volume, labels, thickness, spacing=spacing)
        return fig, f"slice {thickness:g} mm: 3D WM Dice of the fixed threshold {dice:.3f}"

    def panel(ax, thickness):
        iso, dice = _thick(volume, labels, thickness, spacing)
        _coronal(ax, iso, f"coronal, {thickness:g} mm slices\n3D WM Dice {dice:.3f}")

    settings = [{"thickness": step * k} for k in dict.fromkeys((1, 2, 4, max_factor))
                if k <= max_factor]
    return _explorer(f, {"thickness": slider},
                     lambda: _small_multiples(panel, settings, confusion=False),
                     name="slice thickness explorer")


def draw_subject_slice(seed, reference_labels, *, ax=None, **kwargs):
    """Draw subject ``seed``'s slice with the white-matter outline of a reference subject on
    top; return the white-matter Dice between the two subjects.

    ``ax`` an Axes to draw on (default: a new figure); ``kwargs`` go to
    :func:`mlseg.phantoms.brain_slice`.

    Returns
    -------
    (fig, ax, dice)

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    import matplotlib.pyplot as plt

    from . import metrics
    from .phantoms import brain_slice
    from .plotting import TISSUE_COLOURS

    image, labels = brain_slice(rng=seed, **kwargs)
    reference_labels = np.asarray(reference_labels)
    check_same_shape(labels, reference_labels, ("the subject's labels", "reference_labels"))
    dice = metrics.dice(reference_labels == 3, labels == 3)
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.6, 3.6), dpi=DPI)
    else:
        fig = ax.figure
    ax.imshow(image, cmap="gray")
    ax.contour(reference_labels == 3, levels=[0.5], colors=[TISSUE_COLOURS[3]], linewidths=0.8)
    ax.set_title(f"subject {seed}: WM Dice {dice:.2f}\nwith the reference's WM (yellow)",
                 fontsize=9)
    ax.set_axis_off()
    return fig, ax, dice


def subject_explorer(reference_labels, *, subjects=20, **kwargs):
    """A slider over simulated subjects, compared with a reference subject's white matter.

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    import ipywidgets as w

    slider = w.IntSlider(value=0, min=0, max=subjects - 1, description="subject")

    def f(seed):
        fig, _, dice = draw_subject_slice(seed, reference_labels, **kwargs)
        return fig, f"subject {seed}: WM Dice with the reference subject {dice:.3f}"

    def panel(ax, seed):
        draw_subject_slice(seed, reference_labels, ax=ax, **kwargs)

    settings = [{"seed": s} for s in range(min(4, subjects))]
    return _explorer(f, {"seed": slider},
                     lambda: _small_multiples(panel, settings, confusion=False),
                     name="subject explorer")


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
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.0), dpi=DPI)
    axes[0].imshow(image, cmap="gray")
    axes[0].contour(found, levels=[0.5], colors=["yellow"], linewidths=0.7)
    axes[0].set_title(title, fontsize=9)
    axes[0].set_axis_off()
    show_confusion(truth, found, ax=axes[1], legend=False, title="TP green, FP red, FN blue")
    fig.tight_layout()
    return fig, axes, dice


def _tissue_panel(ax, image, labels, tissue, found, title):
    """One small multiple: the errors of ``found`` against ``labels == tissue`` on the image."""
    from . import metrics
    from .plotting import show_confusion

    truth = np.asarray(labels) == tissue
    show_confusion(truth, found, image=image, ax=ax, legend=False,
                   title=f"{title}\nDice {metrics.dice(truth, found):.4f}")


def _gray_histogram(ax, image, labels, *, thresholds=(), windows=()):
    """The gray levels inside the head, per tissue, as steps (:func:`mlseg.plotting.
    show_histogram`), with thresholds (dashed) and windows (shaded) marked."""
    from .plotting import show_histogram

    labels = np.asarray(labels)
    inside = labels > 0
    show_histogram(image[inside], labels=labels[inside], ax=ax, thresholds=thresholds,
                   xlabel="gray level", title="gray levels in the head")
    for lower, upper in windows:
        ax.axvspan(lower, upper, color="0.5", alpha=0.15, lw=0)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.set_title(ax.get_title(), fontsize=9)
    ax.xaxis.label.set_size(8)
    ax.yaxis.label.set_size(8)
    ax.tick_params(labelsize=7)


def _gray_levels(image):
    """An integer image and its smallest and largest gray level (slider bounds)."""
    image = np.asarray(image)
    if not np.issubdtype(image.dtype, np.integer):
        raise TypeError(f"image must be an integer (e.g. 8-bit) image, got {image.dtype}")
    return image, int(image.min()), int(image.max())


def draw_threshold(image, labels, t, *, tissue=3):
    """Threshold ``image > t``; draw the mask on the image and its errors against
    ``labels == tissue``; return ``(fig, axes, dice)``.

    Notes
    -----
    Taught in: notebooks/03_classical_methods.ipynb
    """
    from .thresholding import threshold

    return _tissue_figure(image, labels, tissue, threshold(image, t), f"image > {t:g}")


def threshold_explorer(image, labels, *, tissue=3, value=None):
    """An integer slider for a threshold on an 8-bit image, with the live Dice.

    The readout reads ``threshold 152: Dice 0.9123``; the small multiples show the histogram
    with three thresholds marked and the errors at each.

    Notes
    -----
    Taught in: notebooks/03_classical_methods.ipynb
    """
    import ipywidgets as w

    from .thresholding import threshold

    image, low, high = _gray_levels(image)
    start = int(value if value is not None else (low + high) // 2)
    slider = w.IntSlider(value=start, min=low, max=high, description="threshold")

    def f(t):
        fig, _, dice = draw_threshold(image, labels, t, tissue=tissue)
        return fig, f"threshold {t}: Dice {dice:.4f}"

    def panel(ax, t):
        _tissue_panel(ax, image, labels, tissue, threshold(image, t), f"image > {t}")

    delta = max(1, (high - low) // 8)
    values = sorted({min(high, max(low, start + d)) for d in (-delta, 0, delta)})
    return _explorer(f, {"t": slider}, lambda: _small_multiples(
        panel, [{"t": t} for t in values],
        lead=lambda ax: _gray_histogram(ax, image, labels, thresholds=values)),
        name="threshold explorer")


def draw_range(image, labels, lower, upper, *, tissue=2):
    """Keep ``lower <= image <= upper``; return ``(fig, axes, dice)`` against one tissue.

    Notes
    -----
    Taught in: notebooks/03_classical_methods.ipynb
    """
    from .thresholding import threshold_range

    return _tissue_figure(image, labels, tissue, threshold_range(image, lower, upper),
                          f"{lower:g} <= image <= {upper:g}")


def range_explorer(image, labels, *, tissue=2, value=None):
    """A range slider (lower, upper) on an 8-bit image, with the live Dice.

    Notes
    -----
    Taught in: notebooks/03_classical_methods.ipynb
    """
    import ipywidgets as w

    from .thresholding import threshold_range

    image, low, high = _gray_levels(image)
    lower, upper = value or ((low + high) // 3, 2 * (low + high) // 3)
    slider = w.IntRangeSlider(value=(lower, upper), min=low, max=high, description="window")

    def f(window):
        fig, _, dice = draw_range(image, labels, window[0], window[1], tissue=tissue)
        return fig, f"window {window[0]}-{window[1]}: Dice {dice:.4f}"

    def panel(ax, window):
        _tissue_panel(ax, image, labels, tissue, threshold_range(image, *window),
                      f"window {window[0]}-{window[1]}")

    delta = max(1, (upper - lower) // 4)
    windows = list(dict.fromkeys(
        (max(low, lower - d), min(high, upper + d)) for d in (delta, 0, -delta)
        if lower - d <= upper + d))
    return _explorer(f, {"window": slider}, lambda: _small_multiples(
        panel, [{"window": wnd} for wnd in windows],
        lead=lambda ax: _gray_histogram(ax, image, labels, thresholds=(lower, upper),
                                        windows=windows)),
        name="window explorer")


def draw_region(image, labels, seed, tolerance, *, tissue=3):
    """Grow from ``seed`` with ``tolerance``; return ``(fig, axes, dice)`` against a tissue.

    Notes
    -----
    Taught in: notebooks/03_classical_methods.ipynb
    """
    from .region_growing import region_grow

    fig, axes, dice = _tissue_figure(image, labels, tissue,
                                     region_grow(image, seed, tolerance=tolerance),
                                     f"grown from {tuple(seed)}, tolerance {tolerance:g}")
    axes[0].plot(seed[1], seed[0], "r+", markersize=10)
    return fig, axes, dice


def region_explorer(image, labels, seed, *, tissue=3, max_tolerance=None):
    """Sliders for the seed position and the tolerance of region growing.

    Notes
    -----
    Taught in: notebooks/03_classical_methods.ipynb
    """
    import ipywidgets as w

    from .region_growing import region_grow

    image = np.asarray(image)
    span = float(np.ptp(image))
    top = max_tolerance or 0.3 * span
    tolerance = w.FloatSlider(value=0.06 * span, min=0.0, max=top, step=span / 200,
                              description="tolerance")
    row = w.IntSlider(value=int(seed[0]), min=0, max=image.shape[0] - 1, description="seed row")
    col = w.IntSlider(value=int(seed[1]), min=0, max=image.shape[1] - 1,
                      description="seed column")

    def f(row, column, tolerance):
        fig, _, dice = draw_region(image, labels, (row, column), tolerance, tissue=tissue)
        return fig, f"seed ({row}, {column}), tolerance {tolerance:.3g}: Dice {dice:.4f}"

    def panel(ax, tolerance):
        _tissue_panel(ax, image, labels, tissue, region_grow(image, seed, tolerance=tolerance),
                      f"seed {tuple(int(s) for s in seed)}, tolerance {tolerance:.3g}")
        ax.plot(seed[1], seed[0], "r+", markersize=10)

    settings = [{"tolerance": min(top, k * tolerance.value)} for k in (0.5, 1, 2, 3)]
    return _explorer(f, {"row": row, "column": col, "tolerance": tolerance},
                     lambda: _small_multiples(panel, settings), name="region-growing explorer")


# --------------------------------------------------------------------------------------------
# Chapter 04: the classification map of one class over a canvas, class by class
# --------------------------------------------------------------------------------------------

__all__ += ["draw_class_map", "class_map_explorer"]


def _class_map_values(log_probs, label):
    """What the readout reports for one class: its largest probability and where it wins."""
    log_probs = np.asarray(log_probs)
    winners = log_probs.argmax(axis=0) == label
    return {"max": float(np.exp(log_probs[label].max())), "pixels": int(winners.sum()),
            "total": int(winners.size)}


def _class_map_text(label, values, names):
    name = str(label) if names is None else str(names[label])
    return (f"class {name}: largest probability {values['max']:.2f}; it wins at "
            f"{values['pixels']} of {values['total']} output pixels")


def draw_class_map(canvas, log_probs, label, *, stride=4, field=32, names=None):
    """The input canvas beside the classification map of class ``label`` drawn over it
    (:func:`mlseg.plotting.show_class_map`), as on the lecture's "Beyond classification" slide.

    Parameters
    ----------
    canvas : (H, W) ndarray
    log_probs : (C, H', W') ndarray or tensor
        A fully convolutional classifier's log-probabilities on ``canvas``.
    label : int
    stride, field : int
        Output stride and window side of the classifier (FCLeNet: 4 and 32).
    names : sequence of str, optional
        Class names (e.g. the digits and "no digit").

    Returns
    -------
    (fig, axes, values)
        ``values``: ``max`` (the class's largest probability), ``pixels`` (output pixels where
        it is the most probable class) and ``total`` (output pixels).

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb
    """
    import matplotlib.pyplot as plt

    from .plotting import _class_map_inputs, show_class_map

    canvas, log_probs, stride, field = _class_map_inputs(canvas, log_probs, stride, field)
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.4), dpi=DPI,
                             gridspec_kw={"width_ratios": [1, 1.2]})
    axes[0].imshow(canvas, cmap="gray", interpolation="nearest")
    axes[0].set_title("input image")
    axes[0].set_xticks([])
    axes[0].set_yticks([])
    show_class_map(canvas, log_probs, label, ax=axes[1], stride=stride, field=field,
                   names=names)
    fig.tight_layout()
    return fig, axes, _class_map_values(log_probs, label)


def class_map_explorer(canvas, log_probs, *, label=4, stride=4, field=32, names=None):
    """A slider for the class whose classification map is drawn over the canvas.

    The readout reads ``class 4: largest probability 1.00; it wins at 4 of 625 output
    pixels``; the small multiples show the maps of every class at once.

    Parameters
    ----------
    canvas, log_probs, stride, field, names
        As in :func:`draw_class_map`.
    label : int
        The class shown first.

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb
    """
    import ipywidgets as w

    from .plotting import _class_map_inputs, show_class_maps

    canvas, log_probs, stride, field = _class_map_inputs(canvas, log_probs, stride, field)
    classes = log_probs.shape[0]
    if isinstance(label, bool) or not isinstance(label, numbers.Integral) \
            or not 0 <= label < classes:
        raise ValueError(f"label must be a class index from 0 to {classes - 1}, got {label!r}")
    slider = w.IntSlider(value=int(label), min=0, max=classes - 1, description="class")

    def f(label):
        fig, _, values = draw_class_map(canvas, log_probs, label, stride=stride, field=field,
                                        names=names)
        return fig, _class_map_text(label, values, names)

    def overview():
        fig, _ = show_class_maps(canvas, log_probs, names=names, stride=stride, field=field)
        return fig

    return _explorer(f, {"label": slider}, overview, name="class-map explorer")


# --------------------------------------------------------------------------------------------
# Chapter 06: click to segment with a promptable (Segment-Anything-style) model
# --------------------------------------------------------------------------------------------

__all__ += ["show_prompt", "draw_prompt", "refine_clicks", "prompt_explorer"]


def _structure_name(structure):
    from .plotting import TISSUE_NAMES

    return TISSUE_NAMES.get(int(structure), f"label {int(structure)}")


def _prompt_inputs(model, image, labels):
    """Check the model, the (H, W) image and its label map (same shape)."""
    from .models.promptable import PromptableSegmenter

    if not isinstance(model, PromptableSegmenter):
        raise TypeError(f"model must be a PromptableSegmenter, got {type(model).__name__}")
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be a 2D slice (H, W), got shape {image.shape}")
    labels = np.asarray(labels)
    check_same_shape(image, labels, ("image", "labels"))
    return image, labels


def _prompt_structure(labels, points, point_labels, box, structure):
    """The label the prompt asks for: ``structure`` if given, else the label under the first
    positive click, else under the centre of the box."""
    if structure is not None:
        return int(structure)
    for (r, c), kind in zip(points, point_labels):
        if kind == 1:
            return int(labels[int(round(r)), int(round(c))])
    if box is not None:
        r0, c0, r1, c1 = box
        return int(labels[int(round((r0 + r1) / 2)), int(round((c0 + c1) / 2))])
    raise ValueError("structure must be given when the prompt has no positive click and no box")


def _segment_and_score(model, image, labels, points, point_labels, box, structure):
    """Run :func:`mlseg.models.promptable.segment`; score its mask against the structure."""
    from . import metrics
    from .models.promptable import segment

    points = [tuple(p) for p in points]
    point_labels = [1] * len(points) if point_labels is None else list(point_labels)
    mask, iou = segment(model, image, points=points or None,
                        labels=point_labels if points else None, box=box)
    structure = _prompt_structure(labels, points, point_labels, box, structure)
    truth = labels == structure
    return {"mask": mask, "truth": truth, "structure": structure,
            "dice": float(metrics.dice(truth, mask)), "iou": iou, "points": points,
            "point_labels": point_labels, "box": box}


def _draw_prompt_marks(ax, points, point_labels, box):
    """Positive clicks as green +, negative ones as red x, the box as a yellow rectangle."""
    from matplotlib.patches import Rectangle

    for (r, c), kind in zip(points, point_labels):
        style = dict(marker="P", color="#2ca02c") if kind == 1 else dict(marker="X",
                                                                          color="#d62728")
        ax.plot(c, r, markersize=9, markeredgecolor="white", markeredgewidth=1.2,
                linestyle="none", **style)
    if box is not None:
        r0, c0, r1, c1 = box
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                               edgecolor="yellow", linewidth=1.5))


def show_prompt(model, image, labels, points=(), *, point_labels=None, box=None,
                structure=None, ax=None, title=None):
    """Prompt the model; draw the TP/FP/FN of its mask against the structure asked for, with
    the prompt on top (positive clicks green, negative red, the box yellow).

    Parameters
    ----------
    model, image, labels, points, point_labels, box, structure
        As in :func:`draw_prompt`.
    ax : matplotlib Axes, optional
    title : str, optional
        Default: the prompt, the structure and the Dice.

    Returns
    -------
    (fig, ax, values)
        ``values`` as in :func:`draw_prompt`.

    Notes
    -----
    Taught in: notebooks/06_transformers.ipynb
    """
    import matplotlib.pyplot as plt

    image, labels = _prompt_inputs(model, image, labels)
    values = _segment_and_score(model, image, labels, points, point_labels, box, structure)
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.4, 3.4), dpi=DPI)
    else:
        fig = ax.figure
    if title is None:
        title = (f"{_structure_name(values['structure'])}: {_prompt_title(values)}\n"
                 f"Dice {values['dice']:.3f}")
    _show_errors(ax, image, values, title)
    return fig, ax, values


def _show_errors(ax, image, values, title):
    """The TP/FP/FN of ``values['mask']`` against ``values['truth']``, the prompt on top."""
    from .plotting import show_confusion

    show_confusion(values["truth"], values["mask"], image=image, ax=ax, legend=False,
                   title=title)
    _draw_prompt_marks(ax, values["points"], values["point_labels"], values["box"])
    ax.set_axis_off()


def _prompt_title(values):
    kinds = values["point_labels"]
    pos, neg = sum(k == 1 for k in kinds), sum(k == 0 for k in kinds)
    parts = [f"{pos} positive" if pos else "", f"{neg} negative" if neg else "",
             "a box" if values["box"] is not None else ""]
    return " + ".join(p for p in parts if p) or "no prompt"


def draw_prompt(model, image, labels, points=(), *, point_labels=None, box=None,
                structure=None):
    """Prompt the model with clicks and/or a box; draw its mask and its errors against the
    truth of the structure asked for.

    Parameters
    ----------
    model : mlseg.models.promptable.PromptableSegmenter
    image : (H, W) ndarray
    labels : (H, W) ndarray of int
        The true label map of ``image`` (to score the mask).
    points : sequence of (row, col)
        Clicks in pixels.
    point_labels : sequence of {0, 1}, optional
        1 positive ("this"), 0 negative ("not this"); default all positive.
    box : (row_min, col_min, row_max, col_max), optional
    structure : int, optional
        The label the prompt asks for; default the label under the first positive click
        (else under the centre of the box).

    Returns
    -------
    (fig, axes, values)
        Left the predicted mask over the image with the prompt, right its TP/FP/FN against
        ``labels == structure``. ``values``: ``mask`` and ``truth`` ((H, W) bool), ``structure``,
        ``dice`` (:func:`mlseg.metrics.dice` of the two), ``iou`` (the model's own predicted
        IoU), ``points``, ``point_labels``, ``box``.

    Notes
    -----
    Bad prompts (a click outside the image, no prompt at all) raise the ``ValueError`` of
    :func:`mlseg.models.promptable.segment`.

    Taught in: notebooks/06_transformers.ipynb
    """
    import matplotlib.pyplot as plt

    from .plotting import TISSUE_COLOURS

    image, labels = _prompt_inputs(model, image, labels)
    values = _segment_and_score(model, image, labels, points, point_labels, box, structure)
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.3), dpi=DPI)
    _show_errors(axes[1], image, values, f"against the true "
                 f"{_structure_name(values['structure'])}\nDice {values['dice']:.4f}")
    overlay = np.zeros(image.shape + (4,))
    overlay[values["mask"]] = (*TISSUE_COLOURS.get(values["structure"], (1.0, 0.5, 0.0)), 0.6)
    axes[0].imshow(image, cmap="gray", interpolation="nearest")
    axes[0].imshow(overlay, interpolation="nearest")
    axes[0].set_title(f"{_prompt_title(values)}\nmask (predicted IoU {values['iou']:.2f})",
                      fontsize=9)
    _draw_prompt_marks(axes[0], values["points"], values["point_labels"], values["box"])
    axes[0].set_axis_off()
    fig.tight_layout()
    return fig, axes, values


def refine_clicks(model, image, labels, point, clicks):
    """The first click at ``point``, then ``clicks - 1`` corrections, each where
    :func:`mlseg.models.promptable.next_click` puts it (the centre of the worse error of the
    mask so far against the structure under the first click: positive in missed tissue,
    negative on a leak; never within 4 pixels of an earlier click); stops early when nothing
    is left to correct.

    Returns
    -------
    values : dict
        As in :func:`draw_prompt`, for the last mask.

    Notes
    -----
    Taught in: notebooks/06_transformers.ipynb
    """
    from .models.promptable import next_click

    image, labels = _prompt_inputs(model, image, labels)
    if isinstance(clicks, bool) or not isinstance(clicks, numbers.Integral) or clicks < 1:
        raise ValueError(f"clicks must be a positive integer, got {clicks!r}")
    points, kinds = [tuple(int(v) for v in point)], [1]
    values = _segment_and_score(model, image, labels, points, kinds, None, None)
    for _ in range(clicks - 1):
        step = next_click(values["truth"], values["mask"], avoid=points)
        if step is None:
            break
        points.append(step[0])
        kinds.append(step[1])
        values = _segment_and_score(model, image, labels, points, kinds, None,
                                    values["structure"])
    return values


def _prompt_text(values):
    (row, column), n = values["points"][0], len(values["points"])
    return (f"click ({row}, {column}) on {_structure_name(values['structure'])}, "
            f"{n} click{'s' if n > 1 else ''} ({_prompt_title(values)}): "
            f"Dice {values['dice']:.4f}, predicted IoU {values['iou']:.2f}")


def prompt_explorer(model, image, labels, *, point=None, max_clicks=4):
    """Click to segment: sliders for where the first click goes and how many clicks there are.

    The first click is positive; each further click corrects the mask so far
    (:func:`refine_clicks`). The readout reads ``click (70, 40) on grey matter, 2 clicks
    (1 positive + 1 negative): Dice 0.9123, predicted IoU 0.85``: the Dice of the drawn mask
    against the true structure under the first click. The small multiples show one click in
    the centre of every structure of the slice, and the starting click refined.

    Parameters
    ----------
    model : mlseg.models.promptable.PromptableSegmenter
    image : (H, W) ndarray
    labels : (H, W) ndarray of int
        The truth of ``image``.
    point : (row, col), optional
        Where the first click starts; default the centre of the white matter (or of the
        largest labelled structure).
    max_clicks : int
        Most clicks on the "clicks" slider.

    Returns
    -------
    explorer : ipywidgets.VBox
        Sliders ``row``, ``column``, ``clicks``; its ``details`` hold the drawn ``mask``, the
        ``truth`` and the ``dice`` (see :func:`draw_prompt`).

    Notes
    -----
    Taught in: notebooks/06_transformers.ipynb
    """
    import ipywidgets as w

    from .models.promptable import next_click

    image, labels = _prompt_inputs(model, image, labels)
    if isinstance(max_clicks, bool) or not isinstance(max_clicks, numbers.Integral) \
            or max_clicks < 1:
        raise ValueError(f"max_clicks must be a positive integer, got {max_clicks!r}")
    height, width = image.shape
    present = [s for s in (3, 2, 1, 4) if (labels == s).any()] or \
        [int(v) for v in np.unique(labels)]
    centres = {s: next_click(labels == s, np.zeros(labels.shape, bool))[0] for s in present}
    if point is None:
        point = centres[present[0]]
    try:
        row, col = (int(v) for v in point)
    except (TypeError, ValueError):
        raise ValueError(f"point must be (row, col), got {point!r}") from None
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(f"point must be inside the {height}x{width} image, got ({row}, {col})")

    def f(row, column, clicks):
        values = refine_clicks(model, image, labels, (row, column), clicks)
        fig, _, _ = draw_prompt(model, image, labels, values["points"],
                                point_labels=values["point_labels"],
                                structure=values["structure"])
        return fig, _prompt_text(values), values

    def panel(ax, row, column, clicks):
        values = refine_clicks(model, image, labels, (row, column), clicks)
        n = len(values["points"])
        _show_errors(ax, image, values, f"{_structure_name(values['structure'])}, {n} click"
                                        f"{'s' if n > 1 else ''}\nDice {values['dice']:.3f}")

    settings = [{"row": r, "column": c, "clicks": 1} for r, c in centres.values()][:4]
    settings += [{"row": row, "column": col, "clicks": k}
                 for k in dict.fromkeys((1, min(3, max_clicks)))]
    settings = list({tuple(s.values()): s for s in settings}.values())[:6]
    sliders = {
        "row": w.IntSlider(row, 0, height - 1, description="click row"),
        "column": w.IntSlider(col, 0, width - 1, description="click column"),
        "clicks": w.IntSlider(1, 1, max_clicks, description="clicks"),
    }
    return _explorer(f, sliders, lambda: _small_multiples(panel, settings),
                     name="prompt explorer")
