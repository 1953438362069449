"""Figures of the course: each function draws on ``ax`` (or a new figure), returns ``(fig, ax)``.

matplotlib is imported only when a function here is called.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, as_int, as_mask, as_mask_pair, as_spacing, check_same_shape

__all__ = ["CONFUSION_COLOURS", "show_confusion", "show_distance_map", "show_masks"]

#: Colours of the confusion overlay, as in the lecture's slides.
CONFUSION_COLOURS = {
    "TP": (0.20, 0.70, 0.30),  # green: true positives
    "FP": (0.90, 0.20, 0.20),  # red: false positives
    "FN": (0.20, 0.40, 0.95),  # blue: false negatives
    "TN": (0.93, 0.93, 0.93),  # light grey: true negatives
}


def _axes(ax, figsize=(3.2, 3.2)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, dpi=80)
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
    """Show several 2D masks side by side (optionally with a reference outline on each).

    Parameters
    ----------
    masks : dict of str to (H, W) ndarray of bool
        Titles and masks.
    reference : (H, W) ndarray of bool, optional
        Its boundary is outlined in green on every panel.
    ncols : int, optional
        Panels per row (default: all in one row).
    size : float
        Panel size in inches.
    titles : bool

    Returns
    -------
    (fig, axes)
        ``axes`` a flat ndarray of Axes.
    """
    import matplotlib.pyplot as plt

    from .metrics import boundary

    if not isinstance(masks, dict) or not masks:
        raise TypeError("masks must be a non-empty dict of title -> 2D mask")
    items = [(k, as_mask(f"masks[{k!r}]", _as_2d(f"masks[{k!r}]", v))) for k, v in masks.items()]
    ncols = len(items) if ncols is None else as_int("ncols", ncols, low=1)
    nrows = -(-len(items) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), dpi=80,
                             squeeze=False)
    edge = None
    if reference is not None:
        reference = as_mask("reference", _as_2d("reference", reference))
        edge = boundary(reference)
    for ax, (name, mask) in zip(axes.flat, items):
        ax.imshow(mask, cmap="Greys", vmin=0, vmax=1.6, interpolation="nearest")
        if edge is not None:
            check_same_shape(reference, mask, ("reference", f"masks[{name!r}]"))
            overlay = np.zeros(mask.shape + (4,))
            overlay[edge] = (0.1, 0.7, 0.2, 1.0)
            ax.imshow(overlay, interpolation="nearest")
        if titles:
            ax.set_title(name, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(items):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig, axes.ravel()
