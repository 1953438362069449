"""Random-forest pixel classification (scikit-learn) on hand-made per-pixel features.

Each pixel is described by its intensity, smoothed intensities at several scales, gradient
magnitudes and its position; a forest learns tissue labels from a few training subjects and
labels every pixel of a new one on its own — with no guarantee that the result is connected
(:func:`remove_islands` is a simple fix).

Taught in: notebooks/03_classical_methods.ipynb
"""

from __future__ import annotations

import numpy as np

from ._validation import as_image, as_int, as_label_map, as_real, check_same_shape

__all__ = ["pixel_features", "train_forest", "predict_forest", "remove_islands"]


def _channels(image):
    """A list of channel images from one image or a sequence of co-registered images."""
    if isinstance(image, (list, tuple)):
        channels = [as_image(f"image[{i}]", c, min_ndim=2) for i, c in enumerate(image)]
        for i, c in enumerate(channels[1:], start=1):
            check_same_shape(channels[0], c, ("image[0]", f"image[{i}]"))
    else:
        channels = [as_image("image", image, min_ndim=2)]
    return [c.astype(np.float32) for c in channels]


def pixel_features(image, *, sigmas=(1.0, 2.0, 4.0), position=True):
    """Per-pixel features: for each channel its intensity, Gaussian-smoothed intensities and
    gradient magnitudes at ``sigmas``; then the pixel's position (each axis scaled to 0..1).

    Parameters
    ----------
    image : ndarray, or a sequence of co-registered ndarrays (channels, e.g. T1 and T2)
    sigmas : sequence of float
    position : bool

    Returns
    -------
    (n_features, *shape) ndarray of float32

    Examples
    --------
    >>> pixel_features(np.zeros((8, 8))).shape  # 1 + 3 smoothed + 3 gradients + 2 positions
    (9, 8, 8)
    """
    from scipy import ndimage as ndi

    channels = _channels(image)
    sigmas = [as_real("sigmas", s, low=0, low_inclusive=False) for s in sigmas]
    features = []
    for channel in channels:
        features.append(channel)
        features += [ndi.gaussian_filter(channel, s) for s in sigmas]
        features += [ndi.gaussian_gradient_magnitude(channel, s) for s in sigmas]
    if position:
        shape = channels[0].shape
        features += [g / max(n - 1, 1) for g, n in zip(np.indices(shape, dtype=np.float32),
                                                       shape)]
    return np.stack(features).astype(np.float32)


def train_forest(images, label_maps, *, pixels=10000, trees=30, depth=None, balanced=True,
                 rng=None, **feature_options):
    """Train a random forest on pixels sampled from several subjects.

    Parameters
    ----------
    images : sequence of images (each an ndarray or a sequence of channels)
    label_maps : sequence of label maps, one per image
    pixels : int
        Training pixels drawn per subject.
    balanced : bool
        Draw the same number of pixels of every label (so that a small lesion is learnt too);
        otherwise uniformly at random.
    trees, depth : int
        Number of trees and their maximum depth (None: grown until pure).
    rng : int or numpy.random.Generator, optional
    **feature_options
        Passed to :func:`pixel_features` (at training and, stored, at prediction).

    Returns
    -------
    sklearn.ensemble.RandomForestClassifier
        With the feature options stored as ``feature_options_``.
    """
    from sklearn.ensemble import RandomForestClassifier

    images, label_maps = list(images), list(label_maps)
    if not images or len(images) != len(label_maps):
        raise ValueError(f"images and label_maps must be non-empty and of the same length, got "
                         f"{len(images)} and {len(label_maps)}")
    pixels = as_int("pixels", pixels, low=10)
    trees = as_int("trees", trees, low=1)
    depth = None if depth is None else as_int("depth", depth, low=1)
    rng = np.random.default_rng(rng)
    rows, targets = [], []
    for i, (image, labels) in enumerate(zip(images, label_maps)):
        features = pixel_features(image, **feature_options)
        labels = as_label_map(f"label_maps[{i}]", labels)
        if labels.shape != features.shape[1:]:
            raise ValueError(f"label_maps[{i}] has shape {labels.shape}, its image "
                             f"{features.shape[1:]}")
        flat = features.reshape(len(features), -1).T
        if balanced:
            values = np.unique(labels)
            pick = np.concatenate([
                rng.choice(where, size=min(pixels // len(values), where.size), replace=False)
                for where in (np.flatnonzero(labels.ravel() == v) for v in values)])
        else:
            pick = rng.choice(flat.shape[0], size=min(pixels, flat.shape[0]), replace=False)
        rows.append(flat[pick])
        targets.append(labels.ravel()[pick])
    forest = RandomForestClassifier(n_estimators=trees, max_depth=depth, n_jobs=-1,
                                    random_state=int(rng.integers(2**31)))
    forest.fit(np.concatenate(rows), np.concatenate(targets))
    forest.feature_options_ = dict(feature_options)
    return forest


def predict_forest(forest, image):
    """Label every pixel of ``image`` with a forest from :func:`train_forest`."""
    if not hasattr(forest, "predict") or not hasattr(forest, "feature_options_"):
        raise TypeError("forest must come from train_forest")
    features = pixel_features(image, **forest.feature_options_)
    flat = features.reshape(len(features), -1).T
    return forest.predict(flat).reshape(features.shape[1:]).astype(np.uint8)


def remove_islands(labels, *, min_size=20, connectivity=1):
    """The simple fix for unconnected pixel classifications: drop every connected piece of a
    label smaller than ``min_size`` pixels and give its pixels the label of the nearest kept
    pixel.

    Examples
    --------
    >>> labels = np.ones((5, 5), int); labels[2, 2] = 2  # one stray pixel
    >>> remove_islands(labels, min_size=2)[2, 2]
    np.int64(1)
    """
    from scipy import ndimage as ndi

    labels = as_label_map("labels", labels)
    min_size = as_int("min_size", min_size, low=1)
    connectivity = as_int("connectivity", connectivity, low=1, high=labels.ndim)
    structure = ndi.generate_binary_structure(labels.ndim, connectivity)
    keep = np.zeros(labels.shape, dtype=bool)
    for value in np.unique(labels):
        pieces, n = ndi.label(labels == value, structure=structure)
        sizes = np.bincount(pieces.ravel(), minlength=n + 1)
        big = sizes >= min_size
        big[0] = False
        keep |= big[pieces]
    if keep.all() or not keep.any():
        return labels.copy()
    _, nearest = ndi.distance_transform_edt(~keep, return_indices=True)
    return labels[tuple(nearest)]
