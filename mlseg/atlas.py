"""Atlas-based segmentation: register an atlas to a target, propagate its labels, fuse several.

Registration = an affine start from the image moments (the centre and the spread of the head,
closed form) + a deformable step with scikit-image's TV-L1 optical flow
(:func:`skimage.registration.optical_flow_tvl1`) after matching the intensity histograms.

Taught in: notebooks/03_classical_methods.ipynb
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from ._validation import as_image, as_int, as_label_map, check_same_shape

__all__ = ["Transform", "register", "warp", "propagate", "majority_vote",
           "multi_atlas_segment"]


class Transform(NamedTuple):
    """Maps a fixed-image voxel ``x`` to the moving image: ``matrix @ (x + flow(x)) + offset``."""

    matrix: np.ndarray  # (ndim, ndim)
    offset: np.ndarray  # (ndim,)
    flow: np.ndarray | None  # (ndim, *shape) voxels, or None (affine only)


def _image(name, value):
    return as_image(name, value, min_ndim=2).astype(np.float64, copy=False)


def _moments(image, level):
    """Centre and covariance of the voxels brighter than ``level`` × max (the head)."""
    points = np.argwhere(image > level * image.max()).astype(float)
    if len(points) < image.ndim + 1:
        raise ValueError("image has too few bright voxels to register (is it empty?)")
    return points.mean(axis=0), np.cov(points, rowvar=False)


def _sqrtm(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 1e-9, None))) @ vectors.T


def _coordinates(transform, shape):
    grid = np.indices(shape, dtype=float)
    if transform.flow is not None:
        grid = grid + transform.flow
    flat = grid.reshape(len(shape), -1)
    return (transform.matrix @ flat + transform.offset[:, None]).reshape(len(shape), *shape)


def warp(image, transform, *, order=1):
    """Resample a moving image into the fixed image's grid (``order=0`` for label maps)."""
    from scipy import ndimage as ndi

    image = np.asarray(image)
    order = as_int("order", order, low=0, high=5)
    shape = transform.flow.shape[1:] if transform.flow is not None else image.shape
    coords = _coordinates(transform, shape)
    if order == 0:
        return ndi.map_coordinates(image, coords, order=0, mode="constant", cval=0)
    return ndi.map_coordinates(image.astype(float), coords, order=order, mode="constant",
                               cval=0.0)


def register(moving, fixed, *, deformable=True, level=0.05, attachment=15.0):
    """Register ``moving`` (e.g. an atlas image) to ``fixed`` (the target).

    Parameters
    ----------
    moving, fixed : (H, W) or (D, H, W) ndarray
        Same shape.
    deformable : bool
        Add the TV-L1 optical-flow step after the affine start.
    level : float
        Voxels brighter than ``level`` × max count as head for the moments.
    attachment : float
        TV-L1 data attachment (larger: follows the images more, smooths less).

    Returns
    -------
    Transform
    """
    from skimage.exposure import match_histograms
    from skimage.registration import optical_flow_tvl1

    moving = _image("moving", moving)
    fixed = _image("fixed", fixed)
    check_same_shape(moving, fixed, ("moving", "fixed"))
    centre_m, cov_m = _moments(moving, level)
    centre_f, cov_f = _moments(fixed, level)
    matrix = _sqrtm(cov_m) @ np.linalg.inv(_sqrtm(cov_f))
    offset = centre_m - matrix @ centre_f
    affine = Transform(matrix, offset, None)
    if not deformable:
        return affine
    start = warp(moving, Transform(matrix, offset, np.zeros((fixed.ndim, *fixed.shape))))
    start = match_histograms(start, fixed)
    flow = optical_flow_tvl1(fixed, start, attachment=attachment)
    return Transform(matrix, offset, flow)


def propagate(labels, transform):
    """Carry an atlas's labels into the target through ``transform`` (nearest neighbour)."""
    labels = as_label_map("labels", labels)
    return warp(labels, transform, order=0).astype(labels.dtype)


def majority_vote(label_maps):
    """Fuse label maps voxel by voxel: the most frequent label wins.

    Ties go to the **smallest** label (deterministic: e.g. background before tissue).

    Examples
    --------
    >>> majority_vote([np.array([1, 2, 0]), np.array([1, 3, 0]), np.array([2, 3, 1])])
    array([1, 3, 0])
    >>> majority_vote([np.array([2]), np.array([1])])  # a tie: the smaller label
    array([1])
    """
    if isinstance(label_maps, np.ndarray):
        label_maps = list(label_maps)
    try:
        maps = [as_label_map(f"label_maps[{i}]", m) for i, m in enumerate(label_maps)]
    except TypeError:
        raise TypeError("label_maps must be a sequence of label maps") from None
    if not maps:
        raise ValueError("label_maps must hold at least one label map")
    for i, m in enumerate(maps[1:], start=1):
        check_same_shape(maps[0], m, ("label_maps[0]", f"label_maps[{i}]"))
    stack = np.stack(maps)
    labels = np.unique(stack)
    counts = np.stack([(stack == label).sum(axis=0) for label in labels])
    return labels[np.argmax(counts, axis=0)].astype(maps[0].dtype)


def multi_atlas_segment(target, atlases, *, deformable=True, progress=True):
    """Register every atlas to ``target``, propagate its labels and fuse them by majority vote.

    Parameters
    ----------
    target : ndarray
    atlases : sequence of (image, labels)
    deformable : bool
    progress : bool

    Returns
    -------
    fused : ndarray of int
    propagated : list of ndarray
        Each atlas's labels in the target's grid.
    seconds : float
        Time taken.
    """
    from tqdm.auto import tqdm

    target = _image("target", target)
    atlases = list(atlases)
    if not atlases:
        raise ValueError("atlases must hold at least one (image, labels) pair")
    start = time.perf_counter()
    propagated = []
    for image, labels in tqdm(atlases, desc="registering atlases", disable=not progress):
        transform = register(image, target, deformable=deformable)
        propagated.append(propagate(labels, transform))
    return majority_vote(propagated), propagated, time.perf_counter() - start
