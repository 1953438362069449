"""Region growing: from seed voxels, add every connected neighbour whose intensity is accepted.

The teaching version (``notebooks/03_classical_methods.ipynb``) grows with a queue, one voxel at
a time. The library computes the same region in one pass: the accepted voxels form a mask, and
the region is the union of the connected components of that mask that contain a seed
(``scipy.ndimage.label``), which is fast enough for 256³ volumes.

Taught in: notebooks/03_classical_methods.ipynb
"""

from __future__ import annotations

import numpy as np

from ._validation import as_image, as_int, as_real

__all__ = ["region_grow"]


def _seeds(seeds, shape):
    try:
        array = np.asarray(seeds)
    except (TypeError, ValueError):
        raise TypeError(f"seeds must be a sequence of voxel indices, got {seeds!r}") from None
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != len(shape) or array.shape[0] == 0:
        raise ValueError(f"seeds must be one or more {len(shape)}-D voxel indices, got "
                         f"{seeds!r}")
    if not np.issubdtype(array.dtype, np.integer):  # floats and bools too, as for as_int
        raise TypeError(f"seeds must be integer voxel indices, got {seeds!r} "
                        f"(dtype {array.dtype})")
    array = array.astype(np.intp)
    if np.any(array < 0) or np.any(array >= np.asarray(shape)):
        raise ValueError(f"seeds must lie inside the image of shape {shape}, got {seeds!r}")
    return [tuple(int(v) for v in s) for s in array]


def region_grow(image, seeds, *, lower=None, upper=None, tolerance=None, connectivity=1):
    """Grow a region from ``seeds`` through connected voxels of accepted intensity.

    Parameters
    ----------
    image : (H, W) or (D, H, W) ndarray
    seeds : sequence of int tuples
        One seed ``(row, column[, ...])`` or several.
    lower, upper : float, optional
        Accept voxels with ``lower <= image <= upper``.
    tolerance : float, optional
        Instead of ``lower``/``upper``: accept ``|image - image[seed]| <= tolerance`` around
        each seed's own intensity (each seed grows its own region; the result is their union).
    connectivity : int
        1: face neighbours (4 in 2D, 6 in 3D); ``ndim``: all neighbours (8 in 2D, 26 in 3D).

    Returns
    -------
    ndarray of bool, same shape
        The grown region. A seed whose own intensity is not accepted grows nothing.

    Examples
    --------
    >>> image = np.array([[1, 1, 5, 1],
    ...                   [1, 5, 5, 1],
    ...                   [5, 1, 1, 1]])
    >>> region_grow(image, (0, 0), lower=0, upper=2).astype(int)
    array([[1, 1, 0, 0],
           [1, 0, 0, 0],
           [0, 0, 0, 0]])
    >>> region_grow(image, (0, 0), lower=0, upper=2, connectivity=2).astype(int)
    array([[1, 1, 0, 1],
           [1, 0, 0, 1],
           [0, 1, 1, 1]])
    """
    from scipy import ndimage as ndi

    image = as_image("image", image, min_ndim=2)
    if image.dtype == bool:
        image = image.astype(np.uint8)
    seeds = _seeds(seeds, image.shape)
    connectivity = as_int("connectivity", connectivity, low=1, high=image.ndim)
    structure = ndi.generate_binary_structure(image.ndim, connectivity)
    if tolerance is not None:
        if lower is not None or upper is not None:
            raise ValueError("give tolerance or lower/upper, not both")
        tolerance = as_real("tolerance", tolerance, low=0)
        windows = {}
        for seed in seeds:  # seeds of equal intensity share one window
            value = float(image[seed])
            windows.setdefault((value - tolerance, value + tolerance), []).append(seed)
    else:
        if lower is None or upper is None:
            raise ValueError("give lower and upper (or tolerance)")
        lower, upper = as_real("lower", lower), as_real("upper", upper)
        if lower > upper:
            raise ValueError(f"lower must be <= upper, got lower={lower} > upper={upper}")
        windows = {(lower, upper): seeds}
    region = np.zeros(image.shape, dtype=bool)
    for (low, high), group in windows.items():
        accepted = (image >= low) & (image <= high)
        components, _ = ndi.label(accepted, structure=structure)
        wanted = {components[s] for s in group} - {0}
        if wanted:
            region |= np.isin(components, list(wanted)) if len(wanted) > 1 \
                else components == wanted.pop()
    return region
