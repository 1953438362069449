"""Evaluation measures for segmentation: confusion counts, overlap and surface distances.

Conventions (see ``notebooks/02_evaluation.ipynb``):

* The reference comes first and the prediction second, as in the lecture ("A is the reference,
  B the prediction").
* Masks are 1D, 2D or 3D arrays holding only 0/1 (or bool). ``spacing`` is the voxel size in mm
  per numpy axis; ``None`` means 1 mm everywhere.
* The boundary of a mask is the mask minus its erosion with face connectivity; voxels on the
  border of the image count as boundary. Distances are Euclidean, in mm.
* Empty masks follow the lecture's table: a ratio 0/0 is NaN, a distance to an empty set is NaN,
  never infinity and never an exception.

The boundary distances of a pair are computed once by :func:`surface_distances`; Hausdorff,
HD95, ASSD, MASD and NSD are cheap reductions of its result.
"""

from __future__ import annotations

import numbers
import warnings
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ._validation import (
    as_int,
    as_label_map,
    as_mask,
    as_mask_pair,
    as_real,
    as_spacing,
    check_choice,
    check_same_shape,
)

__all__ = [
    "Confusion",
    "SurfaceDistances",
    "confusion",
    "accuracy",
    "precision",
    "recall",
    "sensitivity",
    "specificity",
    "dice",
    "f1",
    "iou",
    "jaccard",
    "volume_similarity",
    "boundary",
    "distance_map",
    "surface_distances",
    "hausdorff",
    "hd95",
    "assd",
    "masd",
    "nsd",
    "evaluate",
    "evaluate_subjects",
    "METRICS",
]


# --------------------------------------------------------------------------------------------
# Confusion counts and the measures derived from them
# --------------------------------------------------------------------------------------------


class Confusion(NamedTuple):
    """The four confusion counts of a binary segmentation (numbers of voxels)."""

    tp: int
    fp: int
    fn: int
    tn: int


def _ratio(numerator, denominator):
    """``numerator / denominator`` as a float, NaN for 0/0 (the lecture's convention)."""
    return float(numerator) / denominator if denominator else float("nan")


def confusion(reference, prediction):
    """Count true/false positives/negatives of a prediction against a reference mask.

    Parameters
    ----------
    reference, prediction : (H, W) or (D, H, W) ndarray of bool (or of 0/1)
        The reference (gold standard) and the predicted mask; same shape.

    Returns
    -------
    Confusion
        A named tuple ``(tp, fp, fn, tn)`` of Python ints.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb

    Examples
    --------
    >>> confusion([1, 1, 0, 0], [1, 0, 1, 0])
    Confusion(tp=1, fp=1, fn=1, tn=1)
    """
    reference, prediction = as_mask_pair(reference, prediction)
    return _confusion(reference, prediction)


def _confusion(reference, prediction):
    tp = int(np.count_nonzero(reference & prediction))
    n_ref = int(np.count_nonzero(reference))
    n_pred = int(np.count_nonzero(prediction))
    fn = n_ref - tp
    fp = n_pred - tp
    tn = reference.size - tp - fn - fp
    return Confusion(tp, fp, fn, tn)


# The measures derived from the confusion counts, written once: the public functions and
# evaluate() both use these.
_OVERLAP = {
    "dice": lambda c: _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
    "iou": lambda c: _ratio(c.tp, c.tp + c.fp + c.fn),
    "precision": lambda c: _ratio(c.tp, c.tp + c.fp),
    "recall": lambda c: _ratio(c.tp, c.tp + c.fn),
    "specificity": lambda c: _ratio(c.tn, c.tn + c.fp),
    "accuracy": lambda c: _ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
    "volume_similarity": lambda c: 1.0 - _ratio(abs(c.fn - c.fp), 2 * c.tp + c.fp + c.fn),
}


def accuracy(reference, prediction):
    """Fraction of voxels labelled correctly, ``(TP + TN) / (P + N)``.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. Always defined (the masks are never empty arrays),
    and dominated by the background for small structures.

    Examples
    --------
    >>> accuracy([1, 1, 0, 0], [1, 0, 0, 0])
    0.75
    """
    return _OVERLAP["accuracy"](confusion(reference, prediction))


def precision(reference, prediction):
    """Positive predictive value ``TP / (TP + FP)``: how many selected voxels are relevant.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. NaN (0/0) when the prediction is empty.

    Examples
    --------
    >>> precision([1, 1, 0, 0], [1, 0, 1, 1])
    0.3333333333333333
    """
    return _OVERLAP["precision"](confusion(reference, prediction))


def recall(reference, prediction):
    """Sensitivity, true positive rate ``TP / (TP + FN)``: how many relevant voxels are found.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. NaN (0/0) when the reference is empty.

    Examples
    --------
    >>> recall([1, 1, 0, 0], [1, 0, 1, 1])
    0.5
    """
    return _OVERLAP["recall"](confusion(reference, prediction))


sensitivity = recall


def specificity(reference, prediction):
    """True negative rate ``TN / (TN + FP)``.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. NaN (0/0) when the reference covers everything.

    Examples
    --------
    >>> specificity([1, 1, 0, 0], [1, 0, 1, 0])
    0.5
    """
    return _OVERLAP["specificity"](confusion(reference, prediction))


def dice(reference, prediction):
    """Dice similarity coefficient ``2|A ∩ B| / (|A| + |B|) = 2TP / (2TP + FP + FN)`` (= F1).

    Parameters
    ----------
    reference, prediction : (H, W) or (D, H, W) ndarray of bool (or of 0/1)

    Returns
    -------
    float
        In [0, 1]. 0 when exactly one mask is empty, NaN (0/0) when both are.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb

    Examples
    --------
    >>> dice([1, 1, 0, 0], [1, 0, 0, 0])
    0.6666666666666666
    """
    return _OVERLAP["dice"](confusion(reference, prediction))


f1 = dice


def iou(reference, prediction):
    """Intersection over union (Jaccard index) ``|A ∩ B| / |A ∪ B| = TP / (TP + FP + FN)``.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. 0 when exactly one mask is empty, NaN when both
    are. Related to Dice by ``dice = 2 iou / (1 + iou)``.

    Examples
    --------
    >>> iou([1, 1, 0, 0], [1, 0, 0, 0])
    0.5
    """
    return _OVERLAP["iou"](confusion(reference, prediction))


jaccard = iou


def volume_similarity(reference, prediction):
    """Volume similarity ``1 - |FN - FP| / (2TP + FP + FN)``; compares sizes, not positions.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. Two masks of equal size that do not overlap at all
    have volume similarity 1. NaN when both masks are empty.

    Examples
    --------
    >>> volume_similarity([1, 1, 0, 0], [0, 0, 1, 1])
    1.0
    """
    return _OVERLAP["volume_similarity"](confusion(reference, prediction))


# --------------------------------------------------------------------------------------------
# Boundaries and boundary distances
# --------------------------------------------------------------------------------------------


def _interior_of_padded(padded):
    """Erosion (face connectivity) of the core of a mask padded by one False voxel per side."""
    ndim = padded.ndim
    core = tuple(slice(1, -1) for _ in range(ndim))
    interior = padded[core].copy()
    for axis in range(ndim):
        for start in (0, 2):
            shifted = list(core)
            shifted[axis] = slice(start, padded.shape[axis] - 2 + start)
            interior &= padded[tuple(shifted)]
    return interior


def _boundary_of_padded(padded):
    core = tuple(slice(1, -1) for _ in range(padded.ndim))
    return padded[core] & ~_interior_of_padded(padded)


def boundary(mask):
    """Boundary voxels of a mask: the mask minus its erosion with face connectivity.

    Parameters
    ----------
    mask : (H, W) or (D, H, W) ndarray of bool (or of 0/1)

    Returns
    -------
    ndarray of bool, same shape
        True on mask voxels that have a face neighbour outside the mask (voxels on the image
        border count as boundary).

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. The same convention as Metrics Reloaded, MONAI
    and MedPy.

    Examples
    --------
    >>> boundary(np.ones((3, 3), dtype=bool)).astype(int)
    array([[1, 1, 1],
           [1, 0, 1],
           [1, 1, 1]])
    """
    mask = as_mask("mask", mask)
    return _boundary_of_padded(np.pad(mask, 1))


def distance_map(mask, *, spacing=None):
    """Euclidean distance (mm) from every voxel to the nearest boundary voxel of ``mask``.

    Parameters
    ----------
    mask : (H, W) or (D, H, W) ndarray of bool (or of 0/1)
    spacing : sequence of float, optional
        Voxel size in mm per axis; default 1 mm.

    Returns
    -------
    ndarray of float64, same shape
        0 on the boundary; all NaN when the mask is empty (there is no boundary to be near).

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. Sampling this map on the other mask's boundary
    gives the directed surface distances.

    Examples
    --------
    >>> distance_map([0, 0, 1, 1, 1, 0])
    array([2., 1., 0., 1., 0., 1.])
    """
    from scipy.ndimage import distance_transform_edt

    mask = as_mask("mask", mask)
    spacing = as_spacing(spacing, mask.ndim)
    edge = _boundary_of_padded(np.pad(mask, 1))
    if not edge.any():
        return np.full(mask.shape, np.nan)
    return distance_transform_edt(~edge, sampling=spacing)


class SurfaceDistances(NamedTuple):
    """Boundary-to-boundary distances of a pair of masks, in mm.

    ``reference_to_prediction[i]`` is the distance from the i-th reference boundary element to
    the nearest prediction boundary element; ``reference_weights[i]`` is its weight (1 per voxel
    for ``method="voxel"``, its length/area in mm or mm² for ``method="surfel"``). Likewise for
    the prediction. Where one mask is empty, the other's distances are NaN (there is nothing to
    be near) and its own arrays are empty.
    """

    reference_to_prediction: np.ndarray
    prediction_to_reference: np.ndarray
    reference_weights: np.ndarray
    prediction_weights: np.ndarray


def _bounding_box(union):
    """Slices of the smallest box holding every True voxel (``None`` if there is none)."""
    slices = [slice(None)] * union.ndim
    for axis in range(union.ndim):  # crop axis by axis, so that later passes read less
        part = union[tuple(slices)]
        other = tuple(a for a in range(union.ndim) if a != axis)
        hits = np.flatnonzero(part.any(axis=other) if other else part)
        if hits.size == 0:
            return None
        slices[axis] = slice(int(hits[0]), int(hits[-1]) + 1)
    return tuple(slices)


# A k-d tree query costs about five times what the distance transform spends per voxel (measured
# on spheres in 3D); use the tree when the target boundary has fewer points than box voxels / 4.
_KDTREE_FACTOR = 4


def _nearest_distances(flat_from, flat_to, edge_to, spacing, bound=None):
    """Distance (mm) from each boundary element ``flat_from`` (flat indices into the box) to the
    nearest element of ``edge_to`` (whose flat indices are ``flat_to``).

    Exact either way: elements lying on the other boundary are at 0; the others are looked up in
    a k-d tree over the target points when these are few compared with the box (the usual case:
    surfaces are thin), else in one Euclidean distance transform of the box. With ``bound``,
    the tree may answer ``inf`` for distances >= bound (enough for NSD, and much faster).
    """
    shape = edge_to.shape
    if flat_to.size * _KDTREE_FACTOR >= edge_to.size:
        from scipy.ndimage import distance_transform_edt

        return distance_transform_edt(~edge_to, sampling=spacing).ravel()[flat_from]
    from scipy.spatial import cKDTree

    distances = np.zeros(flat_from.size)
    away = ~edge_to.ravel()[flat_from]
    if away.any():
        scale = np.asarray(spacing)
        targets = np.stack(np.unravel_index(flat_to, shape), axis=1) * scale
        queries = np.stack(np.unravel_index(flat_from[away], shape), axis=1) * scale
        tree = cKDTree(targets, balanced_tree=False, compact_nodes=False)
        limit = np.inf if bound is None else bound
        distances[away] = tree.query(queries, k=1, workers=-1, distance_upper_bound=limit)[0]
    return distances


def _voxel_surfaces(reference, prediction):
    """Boundary masks (face connectivity) of a cropped, padded pair and unit weights."""
    ref_edge = _boundary_of_padded(reference)
    pred_edge = _boundary_of_padded(prediction)
    return ref_edge, pred_edge, None, None


def _surfel_surfaces(reference, prediction, spacing):
    """Marching-squares/cubes surface elements on the vertex grid and their lengths/areas."""
    table = _surfel_table(reference.ndim, spacing)
    ref_code = _neighbour_code(reference)
    pred_code = _neighbour_code(prediction)
    full = 2 ** (2**reference.ndim) - 1
    ref_edge = (ref_code != 0) & (ref_code != full)
    pred_edge = (pred_code != 0) & (pred_code != full)
    return ref_edge, pred_edge, table[ref_code[ref_edge]], table[pred_code[pred_edge]]


def _neighbour_code(padded):
    """Code of the 2×2(×2) neighbourhood at every vertex between voxels (one bit per corner)."""
    ndim = padded.ndim
    code = np.zeros(tuple(s - 1 for s in padded.shape), dtype=np.uint8)
    for bit, corner in enumerate(np.ndindex(*(2,) * ndim)):
        window = tuple(slice(c, s - 1 + c) for c, s in zip(corner, padded.shape))
        code |= padded[window].astype(np.uint8) << bit
    return code


@lru_cache(maxsize=32)
def _surfel_table(ndim, spacing):
    """Length (2D, mm) or area (3D, mm²) of the iso-contour at 0.5 in each 2^ndim cell config.

    A configuration and its complement get the same surface (as in the classic marching-cubes
    table used by Nikolov et al.), so ambiguous cells are resolved the same way both sides.
    """
    corners = list(np.ndindex(*(2,) * ndim))
    table = np.zeros(2 ** len(corners))
    full = 2 ** len(corners) - 1
    for code in range(1, full):
        if bin(code).count("1") > len(corners) // 2:
            continue  # filled below from the complement, which has the same surface
        cell = np.zeros((2,) * ndim)
        for bit, corner in enumerate(corners):
            if code >> bit & 1:
                cell[corner] = 1.0
        if ndim == 1:
            table[code] = 1.0
        elif ndim == 2:
            table[code] = _contour_length_2x2(cell, spacing)
        else:
            from skimage.measure import marching_cubes, mesh_surface_area

            verts, faces, _, _ = marching_cubes(
                cell, level=0.5, spacing=spacing, method="lorensen"
            )
            table[code] = mesh_surface_area(verts.astype(np.float64), faces)
    for code in range(1, full):
        if bin(code).count("1") > len(corners) // 2:
            table[code] = table[full ^ code]
    return table


def _contour_length_2x2(cell, spacing):
    """Marching-squares contour length inside one 2×2 cell of 0/1 values (midpoint crossings)."""
    inside = int(cell.sum())
    half_diagonal = 0.5 * float(np.hypot(*spacing))
    if inside in (1, 3):
        return half_diagonal  # one corner cut off
    if cell[0, 0] == cell[0, 1]:  # split between the rows: the contour runs along axis 1
        return spacing[1]
    if cell[0, 0] == cell[1, 0]:  # split between the columns: runs along axis 0
        return spacing[0]
    return 2 * half_diagonal  # the ambiguous saddle: two corners cut off


def surface_distances(reference, prediction, *, spacing=None, method="voxel"):
    """Distances between the boundaries of two masks, in both directions, computed once.

    Parameters
    ----------
    reference, prediction : (H, W) or (D, H, W) ndarray of bool (or of 0/1)
    spacing : sequence of float, optional
        Voxel size in mm per axis; default 1 mm.
    method : {"voxel", "surfel"}
        ``"voxel"``: boundary voxels (mask minus its face-connected erosion), each of weight 1.
        ``"surfel"``: surface elements of the marching-squares/cubes surface on the grid of
        voxel corners, weighted by their length (2D) or area (3D) in mm (Nikolov et al.; the
        DeepMind ``surface-distance`` package).

    Returns
    -------
    SurfaceDistances
        The directed distances and the weights of every boundary element.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. The pair is cropped to the bounding box of its
    union first; distances are exact Euclidean distances (a k-d tree over boundary points, or a
    distance transform when boundaries are dense).

    Examples
    --------
    >>> a = np.zeros((5, 5), bool); a[2, 1] = True
    >>> b = np.zeros((5, 5), bool); b[2, 3] = True
    >>> surface_distances(a, b).reference_to_prediction
    array([2.])
    """
    reference, prediction = as_mask_pair(reference, prediction)
    spacing = as_spacing(spacing, reference.ndim)
    check_choice("method", method, ("voxel", "surfel"))
    return _surface_distances(reference, prediction, spacing, method)


def _surface_distances(reference, prediction, spacing, method, bound=None):
    box = _bounding_box(reference | prediction)
    if box is None:
        return SurfaceDistances(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))
    reference = np.pad(reference[box], 1)
    prediction = np.pad(prediction[box], 1)
    if method == "voxel":
        ref_edge, pred_edge, ref_w, pred_w = _voxel_surfaces(reference, prediction)
    else:
        ref_edge, pred_edge, ref_w, pred_w = _surfel_surfaces(reference, prediction, spacing)
    ref_flat = np.flatnonzero(ref_edge)
    pred_flat = np.flatnonzero(pred_edge)
    if ref_flat.size and pred_flat.size:
        ref_to_pred = _nearest_distances(ref_flat, pred_flat, pred_edge, spacing, bound)
        pred_to_ref = _nearest_distances(pred_flat, ref_flat, ref_edge, spacing, bound)
    else:  # one mask is empty: its partner's boundary has nothing to be near
        ref_to_pred = np.full(ref_flat.size, np.nan)
        pred_to_ref = np.full(pred_flat.size, np.nan)
    if ref_w is None:
        ref_w = np.ones(ref_flat.size)
        pred_w = np.ones(pred_flat.size)
    return SurfaceDistances(ref_to_pred, pred_to_ref, ref_w, pred_w)


# Reductions of SurfaceDistances: cheap, and shared by the public functions and evaluate().


def _hausdorff_of(d, percentile=100.0, pooled=False):
    a, b = d.reference_to_prediction, d.prediction_to_reference
    if a.size == 0 or b.size == 0:
        return float("nan")
    if pooled:
        return float(np.percentile(np.concatenate([a, b]), percentile))
    if percentile == 100:
        return float(max(a.max(), b.max()))
    return float(max(np.percentile(a, percentile), np.percentile(b, percentile)))


def _assd_of(d):
    a, b = d.reference_to_prediction, d.prediction_to_reference
    if a.size == 0 or b.size == 0:
        return float("nan")
    return float((a.sum() + b.sum()) / (a.size + b.size))


def _masd_of(d):
    a, b = d.reference_to_prediction, d.prediction_to_reference
    if a.size == 0 or b.size == 0:
        return float("nan")
    return float((a.mean() + b.mean()) / 2)


def _nsd_of(d, tolerance):
    a, b = d.reference_to_prediction, d.prediction_to_reference
    wa, wb = d.reference_weights, d.prediction_weights
    total = wa.sum() + wb.sum()
    if total == 0:
        return float("nan")  # both masks empty: 0/0
    # where one mask is empty the other's distances are NaN: nothing of it is matched, NSD = 0
    within = wa[a <= tolerance].sum() + wb[b <= tolerance].sum()
    return float(within / total)


def _check_percentile(percentile):
    return as_real("percentile", percentile, low=0, high=100)


def hausdorff(reference, prediction, *, spacing=None, percentile=100, pooled=False):
    """Hausdorff distance (mm) between the boundaries of two masks, optionally a percentile.

    ``HD = max(h(A, B), h(B, A))`` with ``h(A, B) = max_a min_b ||a - b||`` over boundary voxels.

    Parameters
    ----------
    reference, prediction : (H, W) or (D, H, W) ndarray of bool (or of 0/1)
    spacing : sequence of float, optional
        Voxel size in mm per axis; default 1 mm.
    percentile : float in [0, 100]
        100 gives the Hausdorff distance; 95 gives HD95: the larger of the two directed 95th
        percentiles (linear interpolation; Metrics Reloaded, MONAI).
    pooled : bool
        If True, take the percentile of both directions pooled together (MedPy's HD95). A
        teaching option: it is never larger than the default.

    Returns
    -------
    float
        NaN when either mask is empty (a distance to nothing is undefined).

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb

    Examples
    --------
    >>> a = np.zeros((7, 7), bool); a[3, 3] = True
    >>> b = np.zeros((7, 7), bool); b[3, 3] = b[3, 6] = True
    >>> hausdorff(a, b)
    3.0
    >>> hausdorff(a, b, spacing=(1, 2))
    6.0
    """
    reference, prediction = as_mask_pair(reference, prediction)
    spacing = as_spacing(spacing, reference.ndim)
    percentile = _check_percentile(percentile)
    d = _surface_distances(reference, prediction, spacing, "voxel")
    return _hausdorff_of(d, percentile, bool(pooled))


def hd95(reference, prediction, *, spacing=None):
    """95th-percentile Hausdorff distance (mm): ``hausdorff(..., percentile=95)``.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. NaN when either mask is empty.

    Examples
    --------
    >>> a = np.zeros((7, 7), bool); a[3, 3] = True
    >>> hd95(a, a)
    0.0
    """
    return hausdorff(reference, prediction, spacing=spacing, percentile=95)


def assd(reference, prediction, *, spacing=None):
    """Average symmetric surface distance (mm): all boundary distances of both directions summed,
    divided by the total number of boundary voxels.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. Differs from :func:`masd` when the two boundaries
    have different sizes. NaN when either mask is empty.

    Examples
    --------
    >>> a = np.zeros((7, 7), bool); a[3, 3] = True
    >>> b = np.zeros((7, 7), bool); b[3, 3] = b[3, 6] = True
    >>> assd(a, b)  # distances 0 | 0, 3  ->  3 / 3
    1.0
    """
    reference, prediction = as_mask_pair(reference, prediction)
    spacing = as_spacing(spacing, reference.ndim)
    return _assd_of(_surface_distances(reference, prediction, spacing, "voxel"))


def masd(reference, prediction, *, spacing=None):
    """Mean average surface distance (mm): the mean of the two directed mean distances,
    ``(d(A, B) + d(B, A)) / 2`` (the lecture's symmetric ASD).

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb. NaN when either mask is empty.

    Examples
    --------
    >>> a = np.zeros((7, 7), bool); a[3, 3] = True
    >>> b = np.zeros((7, 7), bool); b[3, 3] = b[3, 6] = True
    >>> masd(a, b)  # (0 + 1.5) / 2
    0.75
    """
    reference, prediction = as_mask_pair(reference, prediction)
    spacing = as_spacing(spacing, reference.ndim)
    return _masd_of(_surface_distances(reference, prediction, spacing, "voxel"))


def nsd(reference, prediction, tolerance, *, spacing=None, method="voxel"):
    """Normalised surface distance (surface Dice) at a tolerance of ``tolerance`` mm.

    The fraction of both boundaries lying within ``tolerance`` of the other boundary.

    Parameters
    ----------
    reference, prediction : (H, W) or (D, H, W) ndarray of bool (or of 0/1)
    tolerance : float >= 0
        Accepted boundary deviation in mm (distances ``<= tolerance`` count as matched).
    spacing : sequence of float, optional
        Voxel size in mm per axis; default 1 mm.
    method : {"voxel", "surfel"}
        ``"voxel"`` counts boundary voxels (Metrics Reloaded, MONAI default); ``"surfel"``
        weights surface elements by their length/area (Nikolov et al., DeepMind
        ``surface-distance``, MONAI ``use_subvoxels=True``).

    Returns
    -------
    float
        In [0, 1]. 0 when exactly one mask is empty, NaN when both are.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb

    Examples
    --------
    >>> a = np.zeros((14, 14), bool); a[5:9, 5:9] = True
    >>> b = np.zeros((14, 14), bool); b[4:10, 4:10] = True
    >>> nsd(a, b, 1.0)
    0.875
    >>> round(nsd(a, b, 1.0, method="surfel"), 2)
    0.92
    """
    reference, prediction = as_mask_pair(reference, prediction)
    spacing = as_spacing(spacing, reference.ndim)
    tolerance = as_real("tolerance", tolerance, low=0)
    check_choice("method", method, ("voxel", "surfel"))
    # only "within the tolerance or not" matters: distances beyond it may come back as inf
    bound = tolerance * (1 + 1e-9) + 1e-12
    return _nsd_of(_surface_distances(reference, prediction, spacing, method, bound), tolerance)


# --------------------------------------------------------------------------------------------
# Multi-label evaluation
# --------------------------------------------------------------------------------------------

_DISTANCE = {
    "hd": lambda d, tol: _hausdorff_of(d),
    "hd95": lambda d, tol: _hausdorff_of(d, 95.0),
    "assd": lambda d, tol: _assd_of(d),
    "masd": lambda d, tol: _masd_of(d),
    "nsd": lambda d, tol: _nsd_of(d, tol),
}

#: Names of the measures :func:`evaluate` can compute, in their default column order.
METRICS = ("dice", "iou", "precision", "recall", "specificity", "accuracy",
           "volume_similarity", "hd", "hd95", "assd", "masd", "nsd")


def evaluate(reference, prediction, *, labels=None, spacing=None, metrics=None, tolerance=1.0,
             aggregate=None):
    """Evaluate a multi-label prediction label by label; returns a table (pandas DataFrame).

    Parameters
    ----------
    reference, prediction : (H, W) or (D, H, W) ndarray of int
        Label maps of the same shape (0 is usually background).
    labels : sequence of int, optional
        Labels to evaluate, one row each. Default: every non-zero label present in either map.
    spacing : sequence of float, optional
        Voxel size in mm per axis; default 1 mm.
    metrics : sequence of str, optional
        Columns to compute, from :data:`METRICS` (default all). Boundary distances are computed
        once per label and shared by hd, hd95, assd, masd and nsd; they are skipped when none
        of those is asked for.
    tolerance : float
        NSD tolerance in mm.
    aggregate : {None, "mean", "nanmean"}
        Add a ``"mean"`` row: ``"mean"`` propagates NaN (one undefined label makes the mean
        undefined), ``"nanmean"`` ignores NaN. Default: no mean row.

    Returns
    -------
    pandas.DataFrame
        One row per label (index ``label``), the voxel counts ``reference_voxels`` and
        ``prediction_voxels``, then one column per measure.

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb

    Examples
    --------
    >>> ref = np.array([[0, 1, 1, 2]]); pred = np.array([[0, 1, 2, 2]])
    >>> evaluate(ref, pred, metrics=["dice"])["dice"].round(3).tolist()
    [0.667, 0.667]
    """
    import pandas as pd

    reference = as_label_map("reference", reference)
    prediction = as_label_map("prediction", prediction)
    check_same_shape(reference, prediction)
    spacing = as_spacing(spacing, reference.ndim)
    tolerance = as_real("tolerance", tolerance, low=0)
    if metrics is None:
        metrics = METRICS
    if isinstance(metrics, str):
        raise TypeError(f"metrics must be a sequence of names, got the string {metrics!r}")
    metrics = list(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"metrics has unknown names {unknown}; choose from {list(METRICS)}")
    check_choice("aggregate", aggregate, (None, "mean", "nanmean"))
    if labels is None:
        present = np.union1d(np.unique(reference), np.unique(prediction))
        labels = [int(v) for v in present if v != 0]
    else:
        if isinstance(labels, (numbers.Number, np.generic)):
            labels = [labels]
        labels = [as_int("labels", v) for v in labels]
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must not repeat, got {labels}")

    need_distances = any(m in _DISTANCE for m in metrics)
    rows = []
    for label in labels:
        ref, pred = reference == label, prediction == label
        c = _confusion(ref, pred)
        row = {"label": label, "reference_voxels": c.tp + c.fn, "prediction_voxels": c.tp + c.fp}
        d = _surface_distances(ref, pred, spacing, "voxel") if need_distances else None
        for name in metrics:
            row[name] = _OVERLAP[name](c) if name in _OVERLAP else _DISTANCE[name](d, tolerance)
        rows.append(row)
    columns = ["label", "reference_voxels", "prediction_voxels", *metrics]
    table = pd.DataFrame(rows, columns=columns).set_index("label")
    table[metrics] = table[metrics].astype(float)
    if aggregate is not None:
        values = table[metrics].to_numpy(dtype=float)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(values, axis=0) if aggregate == "nanmean" else values.mean(0)
        table.index = table.index.astype(object)
        table.loc["mean"] = [np.nan, np.nan, *mean]
    return table


def evaluate_subjects(references, predictions, *, labels, spacing=None, metrics=("dice",),
                      tolerance=1.0):
    """Evaluate many subjects with :func:`evaluate`; the mean of each measure per label.

    A label is averaged over the subjects whose **reference** contains it (a lesion Dice over
    the subjects that have a lesion); the ``false_positive_subjects`` column counts the
    subjects without the label in which it was predicted anyway.

    Parameters
    ----------
    references, predictions : sequence of label maps, or (N, H, W) / (N, D, H, W) ndarray
        One reference and one prediction per subject, each pair of the same shape.
    labels : sequence of int
        The labels to report, one row each.
    spacing, metrics, tolerance
        As in :func:`evaluate`; ``metrics`` default ``("dice",)``.

    Returns
    -------
    pandas.DataFrame
        One row per label (index ``label``): the mean of each measure, ``subjects`` (how many
        subjects have the label) and ``false_positive_subjects``.

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> refs = np.array([[[1, 1, 2, 2]], [[1, 1, 1, 1]]])
    >>> preds = np.array([[[1, 1, 1, 2]], [[1, 1, 1, 2]]])
    >>> evaluate_subjects(refs, preds, labels=[1, 2])["dice"].round(3).tolist()
    [0.829, 0.667]
    """
    import pandas as pd

    if isinstance(metrics, str):
        raise TypeError(f"metrics must be a sequence of names, got the string {metrics!r}")
    if len(references) != len(predictions):
        raise ValueError(f"references and predictions must have one map per subject, got "
                         f"{len(references)} references and {len(predictions)} predictions")
    if len(references) == 0:
        raise ValueError("references is empty: there are no subjects to evaluate")
    if labels is None or isinstance(labels, (numbers.Number, np.generic)):
        raise TypeError(f"labels must be a sequence of int, got {labels!r}")
    tables = [evaluate(r, p, labels=labels, spacing=spacing, metrics=metrics,
                       tolerance=tolerance) for r, p in zip(references, predictions)]
    metrics = list(metrics)
    rows = []
    for label in tables[0].index:
        present = [t.loc[label] for t in tables if t.loc[label, "reference_voxels"] > 0]
        values = np.array([[row[m] for m in metrics] for row in present], float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(values, axis=0) if present else np.full(len(metrics), np.nan)
        false_positive = sum(t.loc[label, "reference_voxels"] == 0
                             and t.loc[label, "prediction_voxels"] > 0 for t in tables)
        rows.append({"label": label, **dict(zip(metrics, means)), "subjects": len(present),
                     "false_positive_subjects": int(false_positive)})
    return pd.DataFrame(rows).set_index("label")
