"""Figures of the course: each function draws on ``ax`` (or a new figure), returns ``(fig, ax)``.

matplotlib is imported only when a function here is called.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, as_int, as_mask, as_mask_pair, as_spacing, check_same_shape

__all__ = ["CONFUSION_COLOURS", "TISSUE_COLOURS", "TISSUE_NAMES", "use_style", "tissue_cmap",
           "show_labels", "show_histogram", "show_confusion", "show_distance_map", "show_masks"]

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
