"""Intensity-based segmentation: a threshold, an intensity window, Otsu and multi-Otsu.

Taught in: notebooks/03_classical_methods.ipynb
"""

from __future__ import annotations

import numpy as np

from ._validation import as_image, as_int, as_real

__all__ = ["threshold", "threshold_range", "otsu", "multi_otsu", "otsu_segment"]


def _image(image):
    image = as_image("image", image)
    if image.dtype == bool:
        raise TypeError("image must hold intensities, got a bool mask")
    return image


def threshold(image, t):
    """Voxels brighter than ``t``: ``image > t``.

    Examples
    --------
    >>> threshold(np.array([0.1, 0.5, 0.9]), 0.5)
    array([False, False,  True])
    """
    image = _image(image)
    return image > as_real("t", t)


def threshold_range(image, lower, upper):
    """Voxels inside the intensity window ``lower <= image <= upper``.

    Examples
    --------
    >>> threshold_range(np.array([0.1, 0.5, 0.9]), 0.2, 0.5)
    array([False,  True, False])
    """
    image = _image(image)
    lower, upper = as_real("lower", lower), as_real("upper", upper)
    if lower > upper:
        raise ValueError(f"lower must be <= upper, got lower={lower} > upper={upper}")
    return (image >= lower) & (image <= upper)


def otsu(image, *, mask=None):
    """Otsu's threshold: the one that maximises the between-class variance of the histogram
    (scikit-image's implementation), computed inside ``mask`` if given."""
    from skimage.filters import threshold_otsu

    image = _image(image)
    values = image if mask is None else image[_mask(mask, image)]
    if values.size == 0 or np.ptp(values) == 0:
        raise ValueError("image must have at least two distinct intensities (inside mask)")
    return float(threshold_otsu(values))


def multi_otsu(image, classes=3, *, mask=None):
    """Multi-Otsu: ``classes - 1`` thresholds splitting the histogram into ``classes`` classes."""
    from skimage.filters import threshold_multiotsu

    image = _image(image)
    classes = as_int("classes", classes, low=2, high=6)
    values = image if mask is None else image[_mask(mask, image)]
    if values.size == 0 or np.unique(values).size < classes:
        raise ValueError(f"image must have at least {classes} distinct intensities (inside mask)")
    return [float(t) for t in threshold_multiotsu(values, classes=classes)]


def otsu_segment(image, classes=3, *, mask=None):
    """Label map from multi-Otsu: 1..classes from dark to bright inside ``mask`` (0 outside).

    Examples
    --------
    >>> image = np.repeat([0.0, 0.5, 1.0], 4).reshape(3, 4)
    >>> otsu_segment(image, 3)[:, 0].tolist()
    [1, 2, 3]
    """
    image = _image(image)
    thresholds = multi_otsu(image, classes, mask=mask)
    labels = (np.digitize(image, thresholds) + 1).astype(np.uint8)
    if mask is not None:
        labels[~_mask(mask, image)] = 0
    return labels


def _mask(mask, image):
    from ._validation import as_mask, check_same_shape

    mask = as_mask("mask", mask)
    check_same_shape(image, mask, ("image", "mask"))
    return mask
