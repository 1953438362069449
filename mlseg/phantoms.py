"""Synthetic masks with exact ground truth: shapes, random blobs and simulated annotators.

Everything is generated from arguments and a seed; nothing is downloaded.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import as_mask, as_real, as_spacing

__all__ = ["disk", "blob", "annotate", "perturb"]


def _as_shape(shape, name="shape"):
    if isinstance(shape, numbers.Integral):
        raise TypeError(f"{name} must be a tuple of 1 to 3 sizes, got the integer {shape!r}")
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of 1 to 3 sizes, got {shape!r}") from None
    if not 1 <= len(shape) <= 3 or any(s < 1 for s in shape):
        raise ValueError(f"{name} must hold 1 to 3 positive sizes, got {shape!r}")
    return shape


def disk(shape, center, radius, *, spacing=None):
    """A disk (2D) or ball (3D) mask; ``center`` and ``radius`` in mm.

    Parameters
    ----------
    shape : tuple of int
        Grid size in voxels, e.g. ``(64, 64)``.
    center : sequence of float
        Centre in mm, per axis (voxel ``i`` sits at ``i * spacing``).
    radius : float
        Radius in mm (> 0).
    spacing : sequence of float, optional
        Voxel size in mm per axis; default 1 mm. The same ``center`` and ``radius`` at another
        spacing give the same physical shape sampled more finely or coarsely.

    Returns
    -------
    ndarray of bool, ``shape``

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb (structure size, resolution).

    Examples
    --------
    >>> disk((5, 5), (2, 2), 1).astype(int)
    array([[0, 0, 0, 0, 0],
           [0, 0, 1, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 1, 0, 0],
           [0, 0, 0, 0, 0]])
    """
    shape = _as_shape(shape)
    spacing = as_spacing(spacing, len(shape))
    try:
        center = tuple(float(c) for c in center)
    except TypeError:
        raise TypeError(f"center must be a sequence of {len(shape)} numbers, got {center!r}") \
            from None
    if len(center) != len(shape):
        raise ValueError(f"center must have {len(shape)} coordinates, got {len(center)}")
    radius = as_real("radius", radius, low=0, low_inclusive=False)
    grids = np.ogrid[tuple(slice(0, s) for s in shape)]
    r2 = sum(((g * sp) - c) ** 2 for g, sp, c in zip(grids, spacing, center))
    return r2 <= radius**2


def blob(shape, *, fill=0.3, smoothness=None, rng=None):
    """A random smooth blob: thresholded smoothed noise, the largest component kept.

    Parameters
    ----------
    shape : tuple of int
    fill : float in (0, 1)
        Approximate fraction of the grid inside the blob before keeping the largest component.
    smoothness : float, optional
        Gaussian sigma of the noise in voxels (default ``min(shape) / 6``).
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray of bool, ``shape``

    Examples
    --------
    >>> blob((32, 32), rng=0).any()
    np.True_
    """
    from scipy import ndimage as ndi

    shape = _as_shape(shape)
    fill = as_real("fill", fill, low=0, high=1, low_inclusive=False)
    if fill >= 1:
        raise ValueError(f"fill must be < 1, got {fill}")
    if smoothness is None:
        smoothness = max(1.0, min(shape) / 6)
    smoothness = as_real("smoothness", smoothness, low=0, low_inclusive=False)
    rng = np.random.default_rng(rng)
    noise = ndi.gaussian_filter(rng.standard_normal(shape), smoothness, mode="constant")
    # favour the centre so the blob does not hug the border
    grids = np.ogrid[tuple(slice(0, s) for s in shape)]
    r2 = sum(((g - (s - 1) / 2) / (s / 2)) ** 2 for g, s in zip(grids, shape))
    field = noise / (noise.std() + 1e-12) - 1.5 * r2
    mask = field > np.quantile(field, 1 - fill)
    labels, n = ndi.label(mask)
    if n > 1:
        sizes = np.bincount(labels.ravel())[1:]
        mask = labels == 1 + int(np.argmax(sizes))
    return mask


def annotate(mask, *, bias=0.0, jitter=1.0, smoothness=4.0, spacing=None, rng=None):
    """Simulate a human annotator outlining ``mask``: a smooth random wobble of its boundary.

    The signed distance to the boundary (positive inside, mm) is shifted by ``bias`` (mm; > 0
    draws generously, < 0 tightly) plus smooth noise of standard deviation ``jitter`` mm, then
    thresholded at 0.

    Parameters
    ----------
    mask : (H, W) or (D, H, W) ndarray of bool
        The true structure.
    bias : float
        Systematic over- (> 0) or under-segmentation (< 0) in mm: an observer's habit.
    jitter : float >= 0
        Random boundary wobble in mm: repeated annotations by one observer differ by this much.
    smoothness : float > 0
        Correlation length of the wobble in voxels.
    spacing : sequence of float, optional
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray of bool, same shape

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb (gold standard, intra/inter-observer variability,
    annotation noise).

    Examples
    --------
    >>> square = np.zeros((20, 20), bool); square[5:15, 5:15] = True
    >>> int(annotate(square, bias=1.0, jitter=0.0).sum())  # one voxel more on every side
    144
    """
    from scipy import ndimage as ndi

    mask = as_mask("mask", mask)
    spacing = as_spacing(spacing, mask.ndim)
    bias = as_real("bias", bias)
    jitter = as_real("jitter", jitter, low=0)
    smoothness = as_real("smoothness", smoothness, low=0, low_inclusive=False)
    rng = np.random.default_rng(rng)
    inside = ndi.distance_transform_edt(mask, sampling=spacing)
    outside = ndi.distance_transform_edt(~mask, sampling=spacing)
    signed = np.where(mask, inside - 0.5 * min(spacing), 0.5 * min(spacing) - outside)
    noise = ndi.gaussian_filter(rng.standard_normal(mask.shape), smoothness)
    noise *= jitter / (noise.std() + 1e-12)
    return signed + bias + noise > 0


def perturb(mask, *, shift=None, grow=0):
    """Move and grow/shrink a mask: shift by whole voxels, then dilate (grow > 0) or erode.

    Parameters
    ----------
    mask : ndarray of bool
    shift : sequence of int, optional
        Voxels to move along each axis (content moved past the border is lost, zeros enter).
    grow : int
        Dilation (> 0) or erosion (< 0) steps with face connectivity.

    Returns
    -------
    ndarray of bool, same shape

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb (the measures explorer).

    Examples
    --------
    >>> perturb(np.array([0, 1, 1, 0, 0], bool), shift=(1,), grow=1).astype(int)
    array([0, 1, 1, 1, 1])
    """
    from scipy import ndimage as ndi

    mask = as_mask("mask", mask)
    if shift is None:
        shift = (0,) * mask.ndim
    try:
        shift = tuple(int(s) for s in shift)
    except TypeError:
        raise TypeError(f"shift must be a sequence of {mask.ndim} integers, got {shift!r}") \
            from None
    if len(shift) != mask.ndim:
        raise ValueError(f"shift must have {mask.ndim} entries, got {len(shift)}")
    if isinstance(grow, bool) or not isinstance(grow, numbers.Integral):
        raise TypeError(f"grow must be an integer number of voxels, got {grow!r}")
    out = np.zeros_like(mask)
    src = tuple(slice(max(0, -s), n - max(0, s)) for s, n in zip(shift, mask.shape))
    dst = tuple(slice(max(0, s), n - max(0, -s)) for s, n in zip(shift, mask.shape))
    out[dst] = mask[src]
    structure = ndi.generate_binary_structure(mask.ndim, 1)
    if grow > 0:
        out = ndi.binary_dilation(out, structure, iterations=int(grow))
    elif grow < 0:
        out = ndi.binary_erosion(out, structure, iterations=int(-grow))
    return out
