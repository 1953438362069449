"""Figures of the course: each function draws on ``ax`` (or a new figure), returns ``(fig, ax)``.

matplotlib is imported only when a function here is called.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, as_int, as_mask, as_mask_pair, as_spacing, check_same_shape

__all__ = ["CONFUSION_COLOURS", "TISSUE_COLOURS", "TISSUE_NAMES", "use_style", "tissue_cmap",
           "show_labels", "show_histogram", "show_confusion", "show_distance_map", "show_masks",
           "show_class_map", "show_class_maps"]

#: The course's figure style: sharp enough to read, small enough to commit.
STYLE = {"figure.dpi": 100, "savefig.dpi": 100, "font.size": 10, "axes.titlesize": 10,
         "axes.labelsize": 10, "legend.fontsize": 9, "xtick.labelsize": 9, "ytick.labelsize": 9,
         "figure.facecolor": "white"}

#: The tissue classes of the simulated brains (and of every label map in the course).
TISSUE_NAMES = {0: "background", 1: "CSF", 2: "grey matter", 3: "white matter", 4: "lesion"}

#: One colour per tissue, used for label maps, overlays and histograms alike.
TISSUE_COLOURS = {
    0: (0.0, 0.0, 0.0),  # background: black
    1: (0.30, 0.60, 0.95),  # CSF: blue
    2: (0.55, 0.78, 0.35),  # grey matter: green
    3: (0.98, 0.85, 0.40),  # white matter: yellow
    4: (0.90, 0.25, 0.25),  # lesion: red
}

#: Colours of the confusion overlay, as in the lecture's slides.
CONFUSION_COLOURS = {
    "TP": (0.20, 0.70, 0.30),  # green: true positives
    "FP": (0.90, 0.20, 0.20),  # red: false positives
    "FN": (0.20, 0.40, 0.95),  # blue: false negatives
    "TN": (0.93, 0.93, 0.93),  # light grey: true negatives
}


def use_style():
    """Apply the course's figure style (dpi 100, 10-pt fonts) to matplotlib; notebooks call it
    once at the top."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)


def tissue_cmap():
    """``(cmap, norm)`` that colour a label map 0..4 with :data:`TISSUE_COLOURS`."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    labels = sorted(TISSUE_COLOURS)
    cmap = ListedColormap([TISSUE_COLOURS[k] for k in labels], name="mlseg_tissues")
    return cmap, BoundaryNorm(np.arange(len(labels) + 1) - 0.5, len(labels))


def _tissue_legend(ax, labels, *, loc="upper left", outside=True):
    from matplotlib.patches import Patch

    handles = [Patch(color=TISSUE_COLOURS[k], label=TISSUE_NAMES[k]) for k in labels]
    kwargs = {"bbox_to_anchor": (1.01, 1.0)} if outside else {}
    ax.legend(handles=handles, loc=loc, frameon=False, **kwargs)


def show_labels(labels, *, image=None, ax=None, title=None, legend=True, alpha=0.45):
    """A tissue label map in the course's colours, with a legend naming the tissues present.

    Parameters
    ----------
    labels : (H, W) ndarray of int
        Values in :data:`TISSUE_NAMES` (0 background, 1 CSF, 2 GM, 3 WM, 4 lesion).
    image : (H, W) ndarray, optional
        Drawn in grey underneath; the labels are then overlaid with ``alpha`` (background clear).
    ax : matplotlib Axes, optional
    title : str, optional
    legend : bool
    alpha : float
        Opacity of the overlay when ``image`` is given.

    Returns
    -------
    (fig, ax)

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    from ._validation import as_label_map, as_real

    labels = as_label_map("labels", _as_2d("labels", labels))
    unknown = sorted(set(np.unique(labels).tolist()) - set(TISSUE_NAMES))
    if unknown:
        raise ValueError(f"labels must hold tissue labels {sorted(TISSUE_NAMES)}, got "
                         f"{unknown[:5]}")
    alpha = as_real("alpha", alpha, low=0, high=1)
    fig, ax = _axes(ax)
    rgba = np.zeros(labels.shape + (4,))
    for k, colour in TISSUE_COLOURS.items():
        rgba[labels == k] = (*colour, 1.0)
    if image is not None:
        image = _as_2d("image", image)
        check_same_shape(labels, image, ("labels", "image"))
        ax.imshow(image, cmap="gray", interpolation="nearest")
        rgba[..., 3] = np.where(labels > 0, alpha, 0.0)
    ax.imshow(rgba, interpolation="nearest")
    if legend:
        _tissue_legend(ax, [k for k in sorted(TISSUE_NAMES) if (labels == k).any()])
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig, ax


def show_histogram(image, *, labels=None, ax=None, bins=64, thresholds=(), title=None,
                   xlabel="intensity", density=False, log=False):
    """The intensity histogram drawn as steps, one per tissue when ``labels`` are given (in the
    tissue colours) plus the whole image in grey; thresholds as dashed vertical lines.

    Parameters
    ----------
    image : ndarray
    labels : ndarray of int, optional
        Same shape as ``image``; one histogram per tissue present (background left out).
    ax : matplotlib Axes, optional
    bins : int or sequence
        As in ``numpy.histogram``; integer images get one bin per gray level up to 256 levels.
    thresholds : sequence of float
        Drawn as labelled dashed lines.
    title, xlabel : str
    density, log : bool
        Normalise the counts; logarithmic count axis.

    Returns
    -------
    (fig, ax)

    Notes
    -----
    Taught in: notebooks/03_classical_methods.ipynb
    """
    from ._validation import as_label_map

    image = as_array("image", image)
    values = image.astype(float).ravel()
    if np.issubdtype(image.dtype, np.integer) and np.ptp(values) < 256 and \
            isinstance(bins, (int, np.integer)):
        bins = np.arange(values.min(), values.max() + 2) - 0.5  # one bin per gray level
    edges = np.histogram_bin_edges(values, bins=bins)
    fig, ax = _axes(ax, figsize=(5.0, 3.0))
    counts, _ = np.histogram(values, bins=edges, density=density)
    ax.stairs(counts, edges, color="0.45", label="all pixels")
    if labels is not None:
        labels = as_label_map("labels", labels)
        check_same_shape(image, labels, ("image", "labels"))
        for k in sorted(TISSUE_NAMES):
            if k == 0 or not (labels == k).any():
                continue
            counts, _ = np.histogram(values[labels.ravel() == k], bins=edges, density=density)
            ax.stairs(counts, edges, color=TISSUE_COLOURS[k], linewidth=1.6,
                      label=TISSUE_NAMES[k])
    for t in np.atleast_1d(np.asarray(thresholds, dtype=float)):
        ax.axvline(t, color="black", linestyle="--", linewidth=1.0)
        ax.annotate(f"{t:g}", (t, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(2, -10), textcoords="offset points", fontsize=8)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density" if density else "pixels")
    ax.legend(frameon=False, loc="upper right")
    if title:
        ax.set_title(title)
    return fig, ax


def _axes(ax, figsize=(3.2, 3.2)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, dpi=100)
    else:
        fig = ax.figure
    return fig, ax


def _extent(shape, spacing):
    """imshow extent so that axes are in mm (voxel centres at i * spacing)."""
    (h, w), (sy, sx) = shape, spacing
    return (-0.5 * sx, (w - 0.5) * sx, (h - 0.5) * sy, -0.5 * sy)


def _as_2d(name, value):
    array = as_array(name, value, min_ndim=2, max_ndim=2)
    return array


def show_confusion(reference, prediction, *, image=None, spacing=None, ax=None, title=None,
                   legend=True):
    """Colour every pixel by its confusion class: TP green, FP red, FN blue, TN grey.

    Parameters
    ----------
    reference, prediction : (H, W) ndarray of bool
    image : (H, W) ndarray, optional
        Shown underneath (in grey) instead of the flat TN colour.
    spacing : (float, float), optional
        Pixel size in mm; axes are then in mm.
    ax : matplotlib Axes, optional
    title : str, optional
    legend : bool
        Add a legend with the four counts.

    Returns
    -------
    (fig, ax)

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb
    """
    reference, prediction = as_mask_pair(_as_2d("reference", reference),
                                         _as_2d("prediction", prediction))
    spacing = as_spacing(spacing, 2)
    fig, ax = _axes(ax)
    classes = {
        "TP": reference & prediction,
        "FP": ~reference & prediction,
        "FN": reference & ~prediction,
        "TN": ~reference & ~prediction,
    }
    rgba = np.zeros(reference.shape + (4,))
    for name, where in classes.items():
        rgba[where] = (*CONFUSION_COLOURS[name], 1.0)
    extent = _extent(reference.shape, spacing)
    if image is not None:
        image = _as_2d("image", image)
        check_same_shape(reference, image, ("reference", "image"))
        ax.imshow(image, cmap="gray", extent=extent, interpolation="nearest")
        rgba[classes["TN"], 3] = 0.0
        rgba[~classes["TN"], 3] = 0.6
    ax.imshow(rgba, extent=extent, interpolation="nearest")
    if legend:
        from matplotlib.patches import Patch

        handles = [Patch(color=CONFUSION_COLOURS[k], label=f"{k} = {int(v.sum())}")
                   for k, v in classes.items()]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return fig, ax


def show_distance_map(mask, *, other=None, spacing=None, ax=None, title=None, colorbar=True,
                      vmax=None):
    """The Euclidean distance map (mm) of a mask's boundary, with the other mask's boundary on top.

    Sampling the map under the other boundary gives the directed surface distances: the picture
    behind Hausdorff, ASSD and NSD.

    Parameters
    ----------
    mask : (H, W) ndarray of bool
        Whose boundary the distances are measured from.
    other : (H, W) ndarray of bool, optional
        Its boundary is drawn in red on the map.
    spacing : (float, float), optional
    ax : matplotlib Axes, optional
    title : str, optional
    colorbar : bool
    vmax : float, optional
        Distance (mm) shown at the top of the colour scale; larger ones saturate.

    Returns
    -------
    (fig, ax)

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb
    """
    from .metrics import boundary, distance_map

    mask = as_mask("mask", _as_2d("mask", mask))
    spacing = as_spacing(spacing, 2)
    fig, ax = _axes(ax, figsize=(3.6, 3.0))
    dmap = distance_map(mask, spacing=spacing)
    extent = _extent(mask.shape, spacing)
    shown = ax.imshow(dmap, cmap="magma", extent=extent, interpolation="nearest", vmin=0,
                      vmax=vmax)
    overlay = np.zeros(mask.shape + (4,))
    overlay[boundary(mask)] = (1.0, 1.0, 1.0, 1.0)
    if other is not None:
        other = as_mask("other", _as_2d("other", other))
        check_same_shape(mask, other, ("mask", "other"))
        overlay[boundary(other)] = (0.1, 0.9, 1.0, 1.0)
    ax.imshow(overlay, extent=extent, interpolation="nearest")
    if colorbar:
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04, label="mm")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return fig, ax


def show_masks(masks, *, reference=None, ncols=None, size=2.2, titles=True):
    """Show several 2D masks side by side; with a ``reference``, each panel is the confusion
    overlay against it (TP green, FP red, FN blue), so that misses stay visible.

    Parameters
    ----------
    masks : dict of str to (H, W) ndarray of bool
        Titles and masks.
    reference : (H, W) ndarray of bool, optional
        Every panel is compared with it (:func:`show_confusion` colours, one legend).
    ncols : int, optional
        Panels per row (default: all in one row, at most 6).
    size : float
        Panel size in inches.
    titles : bool

    Returns
    -------
    (fig, axes)
        ``axes`` a flat ndarray of Axes.
    """
    import matplotlib.pyplot as plt

    if not isinstance(masks, dict) or not masks:
        raise TypeError("masks must be a non-empty dict of title -> 2D mask")
    items = [(k, as_mask(f"masks[{k!r}]", _as_2d(f"masks[{k!r}]", v))) for k, v in masks.items()]
    ncols = min(len(items), 6) if ncols is None else as_int("ncols", ncols, low=1)
    nrows = -(-len(items) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), dpi=100,
                             squeeze=False)
    if reference is not None:
        reference = as_mask("reference", _as_2d("reference", reference))
    for ax, (name, mask) in zip(axes.flat, items):
        if reference is not None:
            check_same_shape(reference, mask, ("reference", f"masks[{name!r}]"))
            show_confusion(reference, mask, ax=ax, legend=False)
        else:
            ax.imshow(mask, cmap="Greys", vmin=0, vmax=1.6, interpolation="nearest")
        if titles:
            ax.set_title(name, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(items):]:
        ax.set_visible(False)
    if reference is not None:
        from matplotlib.patches import Patch

        handles = [Patch(color=CONFUSION_COLOURS[k], label=k) for k in ("TP", "FP", "FN")]
        fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False,
                   bbox_to_anchor=(0.5, -0.02))
        fig.tight_layout(rect=(0, 0.06, 1, 1))
    else:
        fig.tight_layout()
    return fig, axes.ravel()


# --------------------------------------------------------------------------------------------
# Chapter 04: the classification map of one class, on the image it was computed from
# --------------------------------------------------------------------------------------------

#: Colour map of class probabilities drawn over a grey image (:func:`show_class_map`).
CLASS_MAP_CMAP = "plasma"


def _class_map_inputs(canvas, log_probs, stride, field):
    """Validated ``(canvas (H, W), log_probs (C, H', W'), stride, field)``; the map must fit."""
    if hasattr(log_probs, "detach"):  # a torch tensor, possibly on the GPU
        log_probs = log_probs.detach().cpu().numpy()
    canvas = _as_2d("canvas", canvas)
    log_probs = as_array("log_probs", log_probs, min_ndim=3, max_ndim=3)
    stride = as_int("stride", stride, low=1)
    field = as_int("field", field, low=1)
    rows, cols = log_probs.shape[1:]
    needed = ((rows - 1) * stride + field, (cols - 1) * stride + field)
    if needed[0] > canvas.shape[0] or needed[1] > canvas.shape[1]:
        raise ValueError(f"log_probs {log_probs.shape} at stride {stride} with windows of "
                         f"{field} px needs a canvas of at least {needed}, got {canvas.shape}")
    return canvas, log_probs, stride, field


def _class_name(label, names):
    return str(label) if names is None else str(names[label])


def _draw_class_map(ax, canvas, log_probs, label, stride, field, alpha):
    """Canvas in grey, ``exp(log_probs[label])`` on top; returns the colour-mapped artist."""
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    probability = np.exp(log_probs[label].astype(np.float64))
    rows, cols = probability.shape
    first = (field - 1) / 2  # centre of the first window, in canvas pixels
    extent = (first - stride / 2, first + (cols - 1) * stride + stride / 2,
              first + (rows - 1) * stride + stride / 2, first - stride / 2)
    mappable = ScalarMappable(norm=Normalize(0, 1), cmap=plt.get_cmap(CLASS_MAP_CMAP))
    rgba = mappable.to_rgba(probability)
    rgba[..., 3] = alpha * (0.25 + 0.75 * probability)  # the likely class stands out
    ax.imshow(canvas, cmap="gray", interpolation="nearest")
    ax.imshow(rgba, extent=extent, interpolation="nearest")
    ax.set_xlim(-0.5, canvas.shape[1] - 0.5)
    ax.set_ylim(canvas.shape[0] - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    return mappable, probability


def show_class_map(canvas, log_probs, label, *, ax=None, stride=4, field=32, names=None,
                   title=None, colorbar=True, alpha=0.85):
    """The classification map of one class, drawn over the image it was computed from.

    Output pixel ``(i, j)`` of a fully convolutional classifier is its answer for the window
    whose top-left corner is ``(stride * i, stride * j)``; it is drawn as a ``stride``×``stride``
    square centred on that window's centre, so the map lies on the canvas where its windows
    are (a border of about ``field / 2`` pixels has no window centred on it and stays grey).

    Parameters
    ----------
    canvas : (H, W) ndarray
        The input image, drawn in grey.
    log_probs : (C, H', W') ndarray or tensor
        Log-probabilities per class and output pixel (e.g. ``FCLeNet(x)[0]``).
    label : int
        The class whose probability ``exp(log_probs[label])`` is shown (0–1, colour and
        opacity growing with it).
    ax : matplotlib Axes, optional
    stride : int
        Input pixels between neighbouring output pixels (4 for FCLeNet, 1 for a dense map).
    field : int
        Window (receptive field) side in pixels (32 for LeNet).
    names : sequence of str, optional
        Class names for the title (default: the class index).
    title : str, optional
        Default ``"P(<name>)"`` and the largest probability.
    colorbar : bool
    alpha : float
        Opacity of the map where the probability is 1.

    Returns
    -------
    (fig, ax)

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb
    """
    from ._validation import as_real

    canvas, log_probs, stride, field = _class_map_inputs(canvas, log_probs, stride, field)
    label = as_int("label", label, low=0, high=log_probs.shape[0] - 1)
    alpha = as_real("alpha", alpha, low=0, high=1)
    fig, ax = _axes(ax, figsize=(3.8, 3.2))
    mappable, probability = _draw_class_map(ax, canvas, log_probs, label, stride, field, alpha)
    if title is None:
        title = f"P({_class_name(label, names)}), max {probability.max():.2f}"
    ax.set_title(title)
    if colorbar:
        fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04,
                     label=f"P({_class_name(label, names)})")
    return fig, ax


def show_class_maps(canvas, log_probs, *, labels=None, names=None, stride=4, field=32, ncols=6,
                    size=2.2):
    """Small multiples: the classification map of every class (or of ``labels``) on the canvas,
    one panel each, with one shared probability colour bar.

    Parameters
    ----------
    canvas, log_probs, stride, field, names
        As in :func:`show_class_map`.
    labels : sequence of int, optional
        Classes to show, in order (default all).
    ncols : int
        Panels per row (at most 6 reads well).
    size : float
        Panel side in inches (at dpi 100).

    Returns
    -------
    (fig, axes)
        ``axes`` a flat ndarray of Axes, one per class shown.

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb
    """
    import matplotlib.pyplot as plt

    canvas, log_probs, stride, field = _class_map_inputs(canvas, log_probs, stride, field)
    labels = list(range(log_probs.shape[0])) if labels is None else \
        [as_int("labels", k, low=0, high=log_probs.shape[0] - 1) for k in labels]
    if not labels:
        raise ValueError("labels must name at least one class")
    ncols = min(as_int("ncols", ncols, low=1), len(labels))
    nrows = -(-len(labels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 0.9, size * nrows + 0.3),
                             dpi=100, squeeze=False)
    mappable = None
    for ax, label in zip(axes.flat, labels):
        mappable, probability = _draw_class_map(ax, canvas, log_probs, label, stride, field,
                                                0.85)
        ax.set_title(f"P({_class_name(label, names)}), max {probability.max():.2f}", fontsize=9)
    for ax in axes.flat[len(labels):]:
        ax.set_visible(False)
    width = fig.get_figwidth()
    fig.tight_layout(rect=(0, 0, 1 - 0.9 / width, 1))  # room on the right for the colour bar
    bar = fig.add_axes((1 - 0.8 / width, 0.15, 0.12 / width, 0.7), label="<colorbar>")
    fig.colorbar(mappable, cax=bar, label="probability")
    return fig, axes.ravel()[:len(labels)]


# --------------------------------------------------------------------------------------------
# Chapter 01: one tissue legend for a figure of several label maps
# --------------------------------------------------------------------------------------------

__all__ += ["tissue_legend", "compact_png", "use_compact_png"]


def tissue_legend(fig, labels=None, *, ncol=None):
    """One legend of the tissue colours for a whole figure, under its panels: for label maps
    drawn with ``show_labels(..., legend=False)``, where a legend beside each panel would cover
    the next one.

    Parameters
    ----------
    fig : matplotlib Figure
    labels : iterable of int, optional
        The tissues to name, in order (default: all of :data:`TISSUE_NAMES`).
    ncol : int, optional
        Entries per row (default: all in one row).

    Returns
    -------
    (fig, legend)

    Notes
    -----
    The legend hangs just below the figure's bottom edge: a notebook's inline figure (saved
    with ``bbox_inches="tight"``) grows to hold it, so it never covers a panel.

    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    labels = sorted(TISSUE_NAMES) if labels is None else [as_int("labels", k) for k in labels]
    unknown = [k for k in labels if k not in TISSUE_NAMES]
    if unknown or not labels:
        raise ValueError(f"labels must be tissue labels from {sorted(TISSUE_NAMES)}, got "
                         f"{unknown or labels}")
    ncol = len(labels) if ncol is None else as_int("ncol", ncol, low=1)
    handles = [Patch(color=TISSUE_COLOURS[k], label=TISSUE_NAMES[k]) for k in labels]
    legend = fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                        ncol=ncol, frameon=False)
    return fig, legend


# --------------------------------------------------------------------------------------------
# Chapter 03: small multiples of label maps (one legend) and of images (one colour bar)
# --------------------------------------------------------------------------------------------

__all__ += ["show_label_maps", "show_images"]


def _grid(count, ncols, size, extra_width=0.0):
    """``(fig, axes)``: ``count`` panels of ``size`` inches, ``ncols`` a row (default all, at
    most 6); the spare panels are hidden."""
    import matplotlib.pyplot as plt

    ncols = min(count, 6) if ncols is None else min(as_int("ncols", ncols, low=1), count)
    nrows = -(-count // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + extra_width, size * nrows),
                             dpi=100, squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _titled_arrays(name, items):
    if not isinstance(items, dict) or not items:
        raise TypeError(f"{name} must be a non-empty dict of title -> 2D array")
    return [(str(k), _as_2d(f"{name}[{k!r}]", v)) for k, v in items.items()]


def show_label_maps(label_maps, *, image=None, ncols=None, size=2.6, alpha=0.45):
    """Tissue label maps side by side in the course's colours, a title on every panel and one
    legend underneath naming every tissue that any panel shows.

    Parameters
    ----------
    label_maps : dict of str to (H, W) ndarray of int
        Panel titles and label maps (values in :data:`TISSUE_NAMES`).
    image : (H, W) ndarray, optional
        Drawn in grey under every map (the maps then overlaid with ``alpha``).
    ncols : int, optional
        Panels per row (default: all in one row, at most 6).
    size : float
        Panel side in inches (at dpi 100: 2.6 in = 260 px).
    alpha : float

    Returns
    -------
    (fig, axes)
        ``axes`` a flat ndarray of Axes, one per map.

    Notes
    -----
    Taught in: notebooks/03_classical_methods.ipynb
    """
    items = _titled_arrays("label_maps", label_maps)
    fig, axes = _grid(len(items), ncols, size)
    present = set()
    for ax, (title, labels) in zip(axes, items):
        show_labels(labels, image=image, ax=ax, title=title, legend=False, alpha=alpha)
        present |= set(np.unique(labels).tolist())
    fig.tight_layout()
    tissue_legend(fig, [k for k in sorted(TISSUE_NAMES) if k in present])
    return fig, axes[:len(items)]


def show_images(images, *, ncols=None, size=2.6, cmap="gray", vmin=None, vmax=None,
                colorbar=None):
    """Images side by side, a title on every panel; with ``colorbar`` (its label, e.g.
    ``"probability"``) they share one colour scale, drawn as one bar at the right.

    Parameters
    ----------
    images : dict of str to (H, W) ndarray
        Panel titles and images.
    ncols : int, optional
        Panels per row (default: all in one row, at most 6).
    size : float
        Panel side in inches.
    cmap : str
    vmin, vmax : float, optional
        Colour scale; with a ``colorbar`` the default is the range of all images together,
        without one each image is scaled to its own range.
    colorbar : str, optional
        Label of the shared colour bar (units); ``None``: no bar.

    Returns
    -------
    (fig, axes)
        ``axes`` a flat ndarray of Axes, one per image.

    Notes
    -----
    Taught in: notebooks/03_classical_methods.ipynb
    """
    items = _titled_arrays("images", images)
    if colorbar is not None:
        vmin = min(float(np.nanmin(v)) for _, v in items) if vmin is None else vmin
        vmax = max(float(np.nanmax(v)) for _, v in items) if vmax is None else vmax
    fig, axes = _grid(len(items), ncols, size, extra_width=0.8 if colorbar else 0.0)
    shown = None
    for ax, (title, array) in zip(axes, items):
        shown = ax.imshow(array, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    if colorbar is None:
        fig.tight_layout()
    else:
        width = fig.get_figwidth()
        fig.tight_layout(rect=(0, 0, 1 - 0.8 / width, 1))
        bar = fig.add_axes((1 - 0.72 / width, 0.15, 0.15 / width, 0.7))
        fig.colorbar(shown, cax=bar, label=colorbar)
    return fig, axes[:len(items)]


# --------------------------------------------------------------------------------------------
# Chapter 01: inline figures in 256 colours, so that committed notebooks stay small
# --------------------------------------------------------------------------------------------


def compact_png(fig, *, colours=256):
    """``fig`` as PNG bytes in at most ``colours`` colours (median cut, no dithering), cropped to
    its content like a notebook's inline figure: about a third of the bytes of a full-colour
    PNG, which keeps committed notebooks small.

    Parameters
    ----------
    fig : matplotlib Figure
    colours : int
        2 to 256; 256 shows gray images and colour maps without visible banding.

    Returns
    -------
    bytes

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    colours = as_int("colours", colours, low=2, high=256)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    image = Image.open(buffer).convert("RGB").quantize(
        colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def use_compact_png(*, colours=256):
    """Show a notebook's inline matplotlib figures as :func:`compact_png` images; call it once
    after ``%matplotlib inline`` (outside IPython it does nothing).

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    import base64

    colours = as_int("colours", colours, low=2, high=256)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: no inline figures to compact
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    def png(fig):
        if not fig.axes and not fig.lines:  # as IPython: an empty figure shows nothing
            return None
        return base64.b64encode(compact_png(fig, colours=colours)).decode("ascii")

    shell.display_formatter.formatters["image/png"].for_type(Figure, png)
