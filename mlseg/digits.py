"""Hand-written digits for LeNet, offline: scikit-learn's bundled 8×8 digits made MNIST-like.

Each of the 1,797 digits of :func:`sklearn.datasets.load_digits` (8×8 pixels, values 0–16) is
scaled to [0, 1], up-sampled bilinearly to 20×20 and centred in a larger frame (32×32 by
default), as MNIST centres a 20×20 digit in a 28×28 frame and LeNet reads 32×32. For dense
classification there is an eleventh class, :data:`NO_DIGIT`: empty frames and frames that are
*off-centre* on digits, so that a fully convolutional LeNet swept over a canvas answers "no
digit" everywhere except where a window is centred on one. :func:`canvas` places several digits
on a larger image and says where they are.

Everything is numpy (float32 images, int64 labels); nothing is downloaded, torch is not needed.

Taught in: notebooks/04_dense_classification.ipynb
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._validation import as_array, as_int, as_label_map, as_real, check_finite

__all__ = ["NO_DIGIT", "DIGIT_SIZE", "load", "split", "no_digit_patches", "sampler", "canvas"]

#: Class index of the "no digit" class (the digits are 0–9).
NO_DIGIT = 10

#: Side in pixels of the up-sampled digit inside its frame (as in MNIST).
DIGIT_SIZE = 20

#: Pixels at least this bright count as the digit's ink in :func:`canvas`'s label map.
INK = 0.5


@lru_cache(maxsize=4)
def _load(size):
    from scipy import ndimage as ndi
    from sklearn.datasets import load_digits

    bunch = load_digits()  # bundled with scikit-learn, read from its package data
    small = bunch.images / 16.0  # (1797, 8, 8) in [0, 1]
    # bilinear, pixel areas aligned (grid_mode), zero outside: 8x8 -> 20x20 stays in [0, 1]
    big = ndi.zoom(small, (1, DIGIT_SIZE / 8, DIGIT_SIZE / 8), order=1, grid_mode=True,
                   mode="grid-constant")
    images = np.zeros((len(small), size, size), np.float32)
    start = (size - DIGIT_SIZE) // 2
    images[:, start:start + DIGIT_SIZE, start:start + DIGIT_SIZE] = np.clip(big, 0, 1)
    images.flags.writeable = False
    labels = bunch.target.astype(np.int64)
    labels.flags.writeable = False
    return images, labels


def load(*, size=32):
    """All 1,797 digits, each a 20×20 digit centred in a ``size``×``size`` frame.

    Parameters
    ----------
    size : int
        Side of the frame in pixels, at least 20 (28 is MNIST's frame, 32 LeNet's input).

    Returns
    -------
    images : (1797, size, size) ndarray of float32
        Intensities in [0, 1]: background 0, ink up to about 0.9.
    labels : (1797,) ndarray of int64
        The digit, 0–9 (about 180 of each).

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> images, labels = load()
    >>> images.shape, images.dtype, labels[:5].tolist()
    ((1797, 32, 32), dtype('float32'), [0, 1, 2, 3, 4])
    >>> float(images[:, :6].max())  # a 6-pixel empty margin around the 20x20 digit
    0.0
    """
    size = as_int("size", size, low=DIGIT_SIZE, high=256)
    images, labels = _load(size)
    return images.copy(), labels.copy()


def _shift(images, jitter, rng):
    """Move each frame's content by up to ``jitter`` pixels per axis (the margin is empty)."""
    if jitter == 0:
        return images.copy()
    out = np.empty_like(images)
    shifts = rng.integers(-jitter, jitter + 1, size=(len(images), 2))
    for i, (dy, dx) in enumerate(shifts):
        out[i] = np.roll(images[i], (int(dy), int(dx)), axis=(0, 1))
    return out


def split(*, size=32, test_fraction=0.25, no_digit=0.0, jitter=0, rng=None):
    """A seeded, stratified train/test split of the digits, optionally with a "no digit" class.

    Parameters
    ----------
    size : int
        Frame side in pixels (see :func:`load`).
    test_fraction : float in (0, 1)
        Share of each digit class held out for testing.
    no_digit : float >= 0
        Number of :data:`NO_DIGIT` frames added to each part per digit in that part (1.0:
        as many "no digit" frames as digits). They are made by :func:`no_digit_patches` from the
        part's own digits, so the test part shares no digit with the training part.
    jitter : int
        Move each digit by up to this many pixels per axis (uniform, seeded), so that a network
        also recognises digits that are a little off-centre, as they are on a canvas swept with
        a stride. At most the frame's margin, ``(size - 20) // 2``.
    rng : int or numpy.random.Generator, optional
        Same seed, same split, bit for bit; and the same held-out digits whatever
        ``no_digit`` and ``jitter`` are, so models with and without "no digit" are tested on
        the same digits.

    Returns
    -------
    x_train : (N_train, size, size) ndarray of float32
    y_train : (N_train,) ndarray of int64
        Classes 0–9, and :data:`NO_DIGIT` (10) where ``no_digit > 0``.
    x_test : (N_test, size, size) ndarray of float32
    y_test : (N_test,) ndarray of int64

    Notes
    -----
    The images have no channel axis; a torch model wants ``x_train[:, None]``, shape
    ``(N, 1, size, size)``. The training part is shuffled; the test part lists its digits in
    their order in :func:`load`, then its "no digit" frames.

    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> x_train, y_train, x_test, y_test = split(rng=0)
    >>> x_train.shape, x_test.shape
    ((1347, 32, 32), (450, 32, 32))
    >>> x_train, y_train, x_test, y_test = split(no_digit=0.5, rng=0)
    >>> int((y_train == NO_DIGIT).sum()), int((y_test == NO_DIGIT).sum())
    (674, 225)
    """
    size = as_int("size", size, low=DIGIT_SIZE, high=256)
    test_fraction = as_real("test_fraction", test_fraction, low=0, high=1, low_inclusive=False)
    if test_fraction >= 1:
        raise ValueError(f"test_fraction must be < 1, got {test_fraction}")
    no_digit = as_real("no_digit", no_digit, low=0, high=100)
    jitter = as_int("jitter", jitter, low=0, high=(size - DIGIT_SIZE) // 2)
    # one stream per step: the same seed holds out the same digits, in the same order,
    # whatever no_digit and jitter are
    split_rng, order_rng, shift_rng, patch_rng = (
        np.random.default_rng(seed) for seed in np.random.default_rng(rng).integers(2**63, size=4))
    images, labels = _load(size)

    test = np.zeros(len(labels), bool)
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        n_test = max(1, int(round(test_fraction * len(members))))
        test[split_rng.permutation(members)[:n_test]] = True
    parts = []
    for mask in (~test, test):
        x, y = _shift(images[mask], jitter, shift_rng), labels[mask]
        if no_digit > 0:
            n = int(round(no_digit * len(x)))
            x = np.concatenate([x, no_digit_patches(images[mask], n, rng=patch_rng)])
            y = np.concatenate([y, np.full(n, NO_DIGIT, np.int64)])
        parts.append((x, y))
    order = order_rng.permutation(len(parts[0][1]))
    (x_train, y_train), (x_test, y_test) = parts
    return x_train[order], y_train[order], x_test, y_test


def no_digit_patches(images, n, *, min_offset=4, empty=0.2, rng=None):
    """``n`` frames of the class "no digit": empty frames and frames off-centre on digits.

    An off-centre frame is cut from a 3×3 block of frames: a random digit of ``images`` in the
    middle and, each with probability 1/3, random digits in the eight neighbouring frames (the
    closest that :func:`canvas` ever puts two digits). The cut is shifted from the middle frame
    by ``(dy, dx)`` with ``min_offset <= max(|dy|, |dx|)`` and ``|dy|, |dx| <= size - min_offset``,
    so it is at least ``min_offset`` pixels off every digit: it shows parts of one to four
    digits, or nothing.

    Parameters
    ----------
    images : (N, size, size) ndarray of float
        Centred digit frames, e.g. from :func:`load` or one part of :func:`split`.
    n : int
        Number of frames to make.
    min_offset : int
        How far (pixels, per axis, the larger of the two) a cut must be from any digit's frame.
        The default 4 is one output step of FCLeNet: next to the window on a digit, its
        neighbours must say "no digit". (Pair it with ``jitter=2`` for the digits, the most a
        stride-4 window can be off a digit; a shift of 3 is left to the network.)
    empty : float in [0, 1]
        Share of completely empty (all-zero) frames.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    (n, size, size) ndarray of float32

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> images, _ = load()
    >>> patches = no_digit_patches(images[:50], 10, rng=0)
    >>> patches.shape, bool(patches.max() > 0.5), float(patches.min())
    ((10, 32, 32), True, 0.0)
    """
    images = as_array("images", images, min_ndim=3, max_ndim=3)
    check_finite("images", images)
    size = images.shape[1]
    if images.shape[2] != size:
        raise ValueError(f"images must be square frames (N, size, size), got {images.shape}")
    n = as_int("n", n, low=0)
    min_offset = as_int("min_offset", min_offset, low=1, high=size // 2)
    empty = as_real("empty", empty, low=0, high=1)
    rng = np.random.default_rng(rng)

    out = np.zeros((n, size, size), np.float32)
    n_empty = int(round(empty * n))
    reach = size - min_offset
    block = np.zeros((3 * size, 3 * size), np.float32)
    for i in range(n_empty, n):
        block[:] = 0
        for r in range(3):
            for c in range(3):
                if (r, c) == (1, 1) or rng.random() < 1 / 3:
                    k = rng.integers(len(images))
                    block[r * size:(r + 1) * size, c * size:(c + 1) * size] = images[k]
        while True:
            dy, dx = rng.integers(-reach, reach + 1, size=2)
            if max(abs(dy), abs(dx)) >= min_offset:
                break
        out[i] = block[size + dy:2 * size + dy, size + dx:2 * size + dx]
    return out[rng.permutation(n)]


def sampler(images, labels, *, jitter=2):
    """A ``data(rng, batch_size)`` function for :func:`mlseg.training.fit`: random digits, each
    moved by a fresh random shift of up to ``jitter`` pixels per axis every time it is drawn.

    Shifting is the cheapest augmentation there is, and the one a dense classifier needs: on a
    canvas swept with stride 4 the windows are up to 2 pixels off every digit. Frames of class
    :data:`NO_DIGIT` are left where they are (a shift could bring them onto a digit).

    Parameters
    ----------
    images : (N, size, size) ndarray of float
        Frames, e.g. the training part of :func:`split` (with ``jitter=0``).
    labels : (N,) ndarray of int
    jitter : int
        At most the frame's empty margin, ``(size - 20) // 2``.

    Returns
    -------
    callable
        ``data(rng, batch_size) -> (inputs (B, 1, size, size) float32, targets (B,) int64)``,
        drawing frames uniformly with replacement.

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> images, labels = load()
    >>> data = sampler(images, labels, jitter=2)
    >>> x, y = data(np.random.default_rng(0), 16)
    >>> x.shape, y.shape, x.dtype
    ((16, 1, 32, 32), (16,), dtype('float32'))
    """
    images = as_array("images", images, min_ndim=3, max_ndim=3)
    check_finite("images", images)
    size = images.shape[1]
    if images.shape[2] != size:
        raise ValueError(f"images must be square frames (N, size, size), got {images.shape}")
    labels = as_label_map("labels", labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},), one per image, "
                         f"got {labels.shape}")
    jitter = as_int("jitter", jitter, low=0, high=max(0, (size - DIGIT_SIZE) // 2))
    images = images.astype(np.float32)
    labels = labels.astype(np.int64)

    def data(rng, batch_size):
        index = rng.integers(len(images), size=batch_size)
        shifts = rng.integers(-jitter, jitter + 1, size=(batch_size, 2))
        inputs = np.empty((batch_size, 1, size, size), np.float32)
        for b, (k, (dy, dx)) in enumerate(zip(index, shifts)):
            if labels[k] == NO_DIGIT:
                dy = dx = 0
            inputs[b, 0] = np.roll(images[k], (int(dy), int(dx)), axis=(0, 1))
        return inputs, labels[index]

    return data


def canvas(images, labels, *, shape=(128, 128), n=4, rng=None):
    """A blank image with ``n`` digits at random, non-overlapping places.

    Each digit keeps its whole ``size``×``size`` frame (the 20×20 digit and its empty margin);
    frames do not overlap, so a window placed exactly on a digit's frame sees that digit alone.

    Parameters
    ----------
    images : (N, size, size) ndarray of float
        Digit frames to draw from (without replacement while there are enough), e.g. the test
        part of :func:`split` made with ``jitter=0``.
    labels : (N,) ndarray of int
        Their classes.
    shape : tuple of int
        ``(H, W)`` of the canvas.
    n : int
        Number of digits.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    image : (H, W) ndarray of float32
    label_map : (H, W) ndarray of int64
        The digit's class on its ink (pixels at least 0.5 bright), :data:`NO_DIGIT` elsewhere.
    corners : (n, 2) ndarray of int64
        Row and column of the top-left corner of each digit's frame:
        ``image[r:r + size, c:c + size]`` is that digit's frame, exactly.
    classes : (n,) ndarray of int64
        The class of each digit.

    Notes
    -----
    A fully convolutional LeNet (stride 4) reads the window at ``(r, c)`` in its output pixel
    ``(r / 4, c / 4)``: the digit's own window when ``r`` and ``c`` are multiples of 4, and
    otherwise windows up to 2 pixels off per axis.

    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> images, labels = load()
    >>> image, label_map, corners, classes = canvas(images, labels, n=3, rng=0)
    >>> image.shape, corners.shape
    ((128, 128), (3, 2))
    >>> r, c = corners[0]
    >>> bool((image[r:r + 32, c:c + 32] > 0).any())
    True
    """
    images = as_array("images", images, min_ndim=3, max_ndim=3)
    check_finite("images", images)
    size = images.shape[1]
    if images.shape[2] != size:
        raise ValueError(f"images must be square frames (N, size, size), got {images.shape}")
    labels = as_label_map("labels", labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},), one per image, "
                         f"got {labels.shape}")
    try:
        height, width = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"shape must be a pair (H, W) of integers, got {shape!r}") from None
    if height < size or width < size:
        raise ValueError(f"shape must be at least the frame size {size} per axis, got {shape!r}")
    n = as_int("n", n, low=0)
    if n * size * size > height * width:
        raise ValueError(f"n={n} frames of {size}x{size} cannot fit on a {height}x{width} canvas")
    rng = np.random.default_rng(rng)

    for _attempt in range(100):
        corners = []
        while len(corners) < n:
            for _try in range(200):
                r, c = int(rng.integers(height - size + 1)), int(rng.integers(width - size + 1))
                if all(abs(r - r2) >= size or abs(c - c2) >= size for r2, c2 in corners):
                    corners.append((r, c))
                    break
            else:
                break  # crowded: start again
        if len(corners) == n:
            break
    else:
        raise ValueError(f"could not place n={n} non-overlapping {size}x{size} frames on a "
                         f"{height}x{width} canvas; use fewer digits or a larger shape")
    picks = rng.choice(len(images), size=n, replace=n > len(images))
    image = np.zeros((height, width), np.float32)
    label_map = np.full((height, width), NO_DIGIT, np.int64)
    for (r, c), k in zip(corners, picks):
        frame = images[k].astype(np.float32)
        image[r:r + size, c:c + size] = frame
        label_map[r:r + size, c:c + size][frame >= INK] = labels[k]
    corners = np.asarray(corners, np.int64).reshape(n, 2)
    return image, label_map, corners, labels[picks].astype(np.int64)
