"""Checks of chapter 03: the cases of its exercises and their reference answers.

Loaded by :mod:`mlseg.checks` the first time one of these exercises is named.

Three references have no library function yet and live here as private functions (to be moved
into the library): :func:`_otsu_two_thresholds` (:mod:`mlseg.thresholding`; the library's
``multi_otsu`` follows scikit-image, whose thresholds on integer images are the first level of
the *upper* class, one more than this course's ``class 0 = image <= t`` convention),
:func:`_locally_weighted_vote` (:mod:`mlseg.atlas`) and :func:`_best_split`
(:mod:`mlseg.forests`).
"""

from __future__ import annotations

import numpy as np

from . import Case, compare_array, compare_float, compare_ints, register, rounded

# --------------------------------------------------------------------------------------------
# Exercise 1 · Otsu with two thresholds (three classes)
# --------------------------------------------------------------------------------------------


def _otsu_two_thresholds(image):
    """The two thresholds ``t1 < t2`` (integer gray levels) that split an integer image into
    ``image <= t1``, ``t1 < image <= t2`` and ``image > t2`` with the largest between-class
    variance ``sum_k w_k (mu_k - mu)**2``.

    Candidates are ``image.min() <= t1 < t2 < image.max()``; an empty class adds nothing. The
    result is the first best pair (smallest ``t1``, then ``t2``); pairs whose variance is equal
    up to rounding (e.g. thresholds anywhere in a gap of the histogram) are listed in its
    ``equally_good``.

    Examples
    --------
    >>> _otsu_two_thresholds(np.array([0, 0, 1, 5, 5, 6, 9, 9, 9]))
    (1, 6)
    """
    values = np.asarray(image).astype(np.int64).ravel()
    low = int(values.min())
    counts = np.bincount(values - low).astype(float)
    levels = np.arange(counts.size, dtype=float) + low
    p = counts / counts.sum()
    w = np.cumsum(p)  # weight of the classes "<= t"
    m = np.cumsum(p * levels)  # their first moment
    mu = m[-1]
    # every pair (t1, t2): classes (.., t1], (t1, t2], (t2, ..)
    w0, m0 = w[:, None], m[:, None]
    w1, m1 = w[None, :] - w0, m[None, :] - m0
    w2, m2 = 1.0 - w[None, :], mu - m[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = sum(np.where(wk > 1e-12, mk**2 / wk, 0.0) for wk, mk in
                      ((w0, m0), (w1, m1), (w2, m2))) - mu**2
    t1, t2 = np.meshgrid(np.arange(counts.size), np.arange(counts.size), indexing="ij")
    between = np.where((t1 < t2) & (t2 < counts.size - 1), between, -np.inf)
    best = between.max()
    tied = np.argwhere(between >= best - 1e-9 * max(abs(best), 1.0)) + low
    result = _Thresholds(int(t) for t in tied[0])
    result.equally_good = tuple((int(a), int(b)) for a, b in tied)
    return result


class _Thresholds(tuple):
    """The best thresholds, knowing every other, equally good, pair."""

    equally_good: tuple = ()


def _compare_thresholds(got, expected):
    """Accept the best pair of thresholds, or any equally good one."""
    for candidate in expected.equally_good or (tuple(expected),):
        if compare_ints(got, candidate) is None:
            return None
    return compare_ints(got, expected)


def _otsu_cases(rng):
    from .. import phantoms

    brain, labels = phantoms.brain_slice(size=64, rng=int(rng.integers(1000)))
    brain8 = np.round(np.clip(brain / brain.max(), 0, 1) * 255).astype(np.uint8)
    tissues = np.concatenate([rng.normal(mean, 10, size=n) for mean, n in
                              ((30, 300), (60, 500), (90, 200))])
    gaps = np.repeat(np.array([10, 20, 30, 60, 70, 100], np.uint8), [5, 9, 4, 6, 8, 3])
    cases = [
        Case("three overlapping tissues (no gap between them)",
             (np.clip(np.round(tissues), 0, 255).astype(np.uint8).reshape(20, 50),)),
        Case("gray levels with gaps (some thresholds leave a class empty)",
             (gaps.reshape(5, 7),)),
        Case("three gray levels only", (np.array([[3, 3, 7], [7, 9, 9]], np.uint8),)),
        Case("a 1-row image", (np.array([[0, 1, 1, 2, 5, 6, 6, 9, 12, 13]], np.uint8),)),
        Case("not starting at 0 (levels 200 to 230)",
             (np.array([200, 201, 203, 210, 212, 213, 220, 229, 230, 230], np.int16),)),
        Case("8-bit brain slice, inside the head", (brain8[labels > 0],)),
        Case("3D volume", (rng.integers(0, 40, size=(4, 6, 5)).astype(np.uint8),)),
    ]
    for i in range(3):
        shape = tuple(int(s) for s in rng.integers(5, 30, size=2))
        levels = int(rng.integers(8, 64))
        cases.append(Case(f"random {shape[0]}x{shape[1]} #{i + 1}",
                          (rng.integers(0, levels, size=shape).astype(np.uint8),)))
    return cases


# --------------------------------------------------------------------------------------------
# Exercise 2 · region growing in 3D (6-connectivity, a tolerance around the seed)
# --------------------------------------------------------------------------------------------


def _region_cases(rng):
    from scipy import ndimage as ndi

    from .. import phantoms

    island = np.zeros((5, 5, 5))
    island[2, 2, 2] = 1.0
    edge = np.zeros((3, 3, 3))
    edge[0, 0, 0] = edge[1, 1, 0] = 1.0  # neighbours along an edge only (18-connected)
    corner = np.zeros((3, 3, 3))
    corner[0, 0, 0] = corner[1, 1, 1] = 1.0  # neighbours at a corner only (26-connected)
    tube = np.zeros((6, 4, 4))
    tube[:, 1, 2] = 5.0  # a line of voxels along the slice axis
    ramp = np.broadcast_to(np.arange(8.0)[None, None, :], (3, 3, 8)).copy()
    steps = np.array([[[0, 1, 2, 3, 4]]], dtype=float)  # exactly at the tolerance, integers
    volume, _ = phantoms.brain_volume(spacing=(6.0, 6.0, 6.0), rng=int(rng.integers(1000)))
    seed = tuple(int(s) // 2 for s in volume.shape)
    cases = [
        Case("seed on a one-voxel island", (island, (2, 2, 2), 0.5)),
        Case("neighbours along an edge only: 18-connectivity would leak", (edge, (0, 0, 0), 0.5)),
        Case("neighbours at a corner only: 26-connectivity would leak", (corner, (1, 1, 1), 0.5)),
        Case("a tube along the slice axis (axis 0)", (tube, (0, 1, 2), 1.0)),
        Case("seed in a corner of the volume", (tube, (5, 3, 3), 0.0)),
        Case("a slow ramp: close to each neighbour, far from the seed", (ramp, (1, 1, 0), 2.0)),
        Case("voxels exactly at the tolerance are accepted", (steps, (0, 0, 2), 1.0)),
        Case("a one-slice volume 1x1x5", (steps, (0, 0, 0), 3.0)),
        Case("brain volume, seed in the middle", (volume, seed, 0.0731)),
    ]
    for i in range(3):
        shape = tuple(int(s) for s in rng.integers(4, 14, size=3))
        image = ndi.gaussian_filter(rng.random(shape), 1.0)
        seed = tuple(int(rng.integers(n)) for n in shape)
        cases.append(Case(f"random {'x'.join(map(str, shape))} #{i + 1}",
                          (image, seed, float(rng.uniform(0.02, 0.08)))))
    return cases


# --------------------------------------------------------------------------------------------
# Exercise 3 · locally weighted voting (label fusion)
# --------------------------------------------------------------------------------------------


def _locally_weighted_vote(target, atlas_images, atlas_labels, sigma):
    """Fuse propagated label maps, voxel by voxel, weighting each atlas by how much its
    (registered) image looks like the target there: ``w = exp(-(target - image)**2 /
    (2 sigma**2))``. The label with the largest total weight wins; ties go to the smallest
    label.

    Examples
    --------
    >>> target = np.array([0.0, 1.0])
    >>> images = [np.array([0.0, 0.0]), np.array([1.0, 1.0]), np.array([1.0, 1.0])]
    >>> labels = [np.array([1, 1]), np.array([2, 2]), np.array([2, 2])]
    >>> _locally_weighted_vote(target, images, labels, 0.2).tolist()  # plain vote: [2, 2]
    [1, 2]
    """
    target = np.asarray(target, dtype=float)
    images = np.stack([np.asarray(i, dtype=float) for i in atlas_images])
    labels = np.stack([np.asarray(m) for m in atlas_labels])
    weights = np.exp(-((images - target) ** 2) / (2 * sigma**2))
    values = np.unique(labels)
    votes = np.stack([np.where(labels == v, weights, 0.0).sum(axis=0) for v in values])
    return values[np.argmax(votes, axis=0)]


def _vote_cases(rng):
    from scipy import ndimage as ndi

    like = np.array([[0.2, 0.4], [0.6, 0.8]])
    unlike = 1 - like
    label_a, label_b = np.array([[1, 1], [2, 2]]), np.array([[3, 3], [3, 0]])
    cases = [
        Case("unanimous atlases", (like, [like, unlike, like], [label_a] * 3, 0.2)),
        Case("one atlas looks like the target, two others outvote it",
             (like, [like, unlike, unlike], [label_a, label_b, label_b], 0.1)),
        Case("a tie goes to the smaller label",
             (like, [unlike, unlike], [np.full((2, 2), 3), np.full((2, 2), 1)], 0.3)),
        Case("one atlas", (like, [unlike], [label_b], 0.2)),
        Case("a very large sigma: every atlas counts the same (majority vote)",
             (like, [like, unlike, unlike], [label_a, label_b, label_b], 1e3)),
        Case("labels 2 and 7 only (not 0..K-1)",
             (like, [like, unlike, like], [np.full((2, 2), 7), np.full((2, 2), 2),
                                           np.array([[2, 7], [7, 2]])], 0.2)),
        Case("a 1-row image", (like[:1], [like[:1], unlike[:1]], [label_a[:1], label_b[:1]],
                               0.5)),
    ]
    for i in range(4):
        shape = tuple(int(s) for s in rng.integers(3, 12, size=2 if i % 2 == 0 else 3))
        target = ndi.gaussian_filter(rng.random(shape), 1.0)
        n = int(rng.integers(2, 6))
        images = [np.clip(target + rng.normal(0, float(rng.uniform(0.01, 0.2)), shape), 0, 1)
                  for _ in range(n)]
        labels = [rng.integers(0, 4, size=shape) for _ in range(n)]
        cases.append(Case(f"{n} random atlases {len(shape)}D {'x'.join(map(str, shape))} "
                          f"#{i + 1}", (target, images, labels, float(rng.uniform(0.05, 0.3)))))
    return cases


# --------------------------------------------------------------------------------------------
# Exercise 4 · the forest's building block: the best split of one feature (Gini)
# --------------------------------------------------------------------------------------------


class _Threshold(float):
    """A best threshold that also knows every other, equally good, threshold."""

    equally_good: tuple = ()


def _gini(counts):
    n = counts.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n[..., 0] > 0, 1.0 - ((counts / np.maximum(n, 1)) ** 2).sum(axis=-1),
                        0.0)


def _best_split(values, labels):
    """The threshold ``t`` on one feature that splits samples into ``values <= t`` and
    ``values > t`` with the largest decrease of Gini impurity
    ``G(all) - n_left/n G(left) - n_right/n G(right)``, ``G = 1 - sum_k p_k**2``.

    Candidates are the midpoints between consecutive distinct values (as scikit-learn's trees);
    NaN when all values are equal. The result is the smallest best threshold; thresholds whose
    decrease is equal up to rounding are listed in its ``equally_good``.

    Examples
    --------
    >>> float(_best_split(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 0, 1, 1])))
    2.5
    """
    values = np.asarray(values, dtype=float).ravel()
    labels = np.asarray(labels).ravel()
    order = np.argsort(values, kind="stable")
    values, labels = values[order], labels[order]
    distinct = np.unique(values)
    if distinct.size < 2:
        return _Threshold(np.nan)
    classes = np.unique(labels)
    onehot = (labels[:, None] == classes[None, :]).astype(float)
    left = np.cumsum(onehot, axis=0)  # counts of the first i + 1 samples
    cut = np.flatnonzero(values[1:] != values[:-1])  # last index of each left part
    left = left[cut]
    right = onehot.sum(axis=0) - left
    n = values.size
    n_left = left.sum(axis=1)
    gain = _gini(onehot.sum(axis=0)) - (n_left * _gini(left) + (n - n_left) * _gini(right)) / n
    thresholds = (values[cut] + values[cut + 1]) / 2
    best = gain.max()
    tied = thresholds[gain >= best - 1e-9]
    result = _Threshold(tied[0])
    result.equally_good = tuple(float(t) for t in tied)
    return result


def _compare_threshold(got, expected):
    """Accept the best threshold, or any equally good one."""
    for candidate in getattr(expected, "equally_good", ()) or (float(expected),):
        if compare_float(got, candidate) is None:
            return None
    problem = compare_float(got, float(expected))
    if problem and "expected" in problem and getattr(expected, "equally_good", ()):
        return problem + (f" (or another threshold as good: "
                          f"{', '.join(f'{t:g}' for t in expected.equally_good[1:])})"
                          if len(expected.equally_good) > 1 else "")
    return problem


def _split_cases(rng):
    from .. import phantoms

    image, labels = phantoms.brain_slice(size=64, rng=int(rng.integers(1000)))
    picked = rng.choice(np.flatnonzero(labels.ravel() > 0), size=60, replace=False)
    cases = [
        Case("two classes, perfectly separable", (np.array([1.0, 2, 3, 7, 8, 9]),
                                                   np.array([0, 0, 0, 1, 1, 1]))),
        Case("unsorted values", (np.array([8.0, 1, 9, 3, 2, 7]), np.array([1, 0, 1, 0, 0, 1]))),
        Case("repeated values: a threshold cannot split equal values",
             (np.array([1.0, 1, 1, 2, 2, 3]), np.array([0, 0, 1, 1, 1, 1]))),
        Case("unbalanced: weigh each side by its number of samples",
             (np.array([0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
              np.array([0, 1, 1, 1, 1, 1, 1, 2, 0, 2]))),
        Case("three tissue classes", (np.array([0.1, 0.2, 0.25, 0.5, 0.55, 0.6, 0.9, 0.95]),
                                      np.array([1, 1, 1, 2, 2, 2, 3, 3]))),
        Case("three classes where Gini and entropy prefer different splits",
             (np.array([1.0, 2, 3, 4, 5, 6]), np.array([1, 2, 2, 1, 0, 2]))),
        Case("labels 4 and 9 (not 0..K-1)", (np.array([3.0, 1, 2, 5]), np.array([9, 4, 4, 9]))),
        Case("all samples of one class: every split is as good",
             (np.array([0.5, 1.5, 2.5]), np.array([2, 2, 2]))),
        Case("one value only: no split (nan)", (np.array([4.0, 4, 4]), np.array([0, 1, 0]))),
        Case("brain intensities of 60 pixels (CSF, GM, WM)",
             (image.ravel()[picked].astype(float), labels.ravel()[picked])),
    ]
    for i in range(3):
        n = int(rng.integers(5, 40))
        k = int(rng.integers(2, 4))
        labels = rng.integers(0, k, size=n)
        values = np.round(labels + rng.normal(0, 0.8, size=n), 1)
        cases.append(Case(f"random {n} samples, {k} classes #{i + 1}", (values, labels)))
    return cases


# --------------------------------------------------------------------------------------------
# Exercise 5 · predict the number: how far does region growing get?
# --------------------------------------------------------------------------------------------

#: The image of the question (printed in the exercise notebook), its seed and tolerance.
GROW_IMAGE = np.array([[6, 6, 6, 1, 1, 1, 1],
                       [6, 1, 6, 1, 6, 6, 1],
                       [6, 1, 6, 7, 1, 6, 1],
                       [1, 1, 1, 1, 6, 5, 1],
                       [1, 6, 6, 1, 1, 7, 1],
                       [1, 6, 6, 1, 1, 1, 1]])
GROW_SEED, GROW_TOLERANCE = (0, 0), 1


def _grown_size():
    from .. import region_growing

    return int(region_growing.region_grow(GROW_IMAGE, GROW_SEED, tolerance=GROW_TOLERANCE,
                                          connectivity=1).sum())


def _grown_size_slips():
    from .. import region_growing

    window = np.abs(GROW_IMAGE - GROW_IMAGE[GROW_SEED]) <= GROW_TOLERANCE
    return {
        int(region_growing.region_grow(GROW_IMAGE, GROW_SEED, tolerance=GROW_TOLERANCE,
                                       connectivity=2).sum()):
            "that is the region with diagonal neighbours (8-connectivity); here only the 4 "
            "face neighbours count",
        int(window.sum()): "that counts every pixel whose intensity is in the window; region "
                           "growing keeps only those connected to the seed",
        int(region_growing.region_grow(GROW_IMAGE, GROW_SEED, tolerance=0).sum()):
            "that keeps only pixels equal to the seed's intensity; the tolerance also accepts "
            "intensities within 1 of it",
    }


def _register_chapter_03():
    from .. import atlas, region_growing, thresholding

    register("otsu_two_thresholds", reference=_otsu_two_thresholds, cases=_otsu_cases,
             compare=_compare_thresholds, timeout=10,
             forbidden=(_otsu_two_thresholds, thresholding.otsu, thresholding.multi_otsu,
                        thresholding.otsu_segment),
             description="otsu_two_thresholds(image) -> (t1, t2), integer gray levels",
             hint="as in the notebook, work on the histogram (np.bincount of the gray levels "
                  "from image.min()): cumulative sums give every class weight and mean; class 0 "
                  "is image <= t1 (t1 itself included), class 2 is image > t2; try every pair "
                  "t1 < t2 and keep the largest sum_k w_k (mu_k - mu)^2. An empty class (w = 0) "
                  "adds 0, not nan (np.argmax picks a nan first).")
    register("region_grow_3d",
             reference=lambda volume, seed, tolerance: region_growing.region_grow(
                 volume, seed, tolerance=tolerance, connectivity=1),
             cases=_region_cases, compare=compare_array,
             forbidden=(region_growing.region_grow,),
             description="region_grow_3d(volume, seed, tolerance) -> bool mask (6-connected)",
             hint="accept a voxel when |volume[v] - volume[seed]| <= tolerance (compare with "
                  "the SEED's intensity, ends included); grow only through the 6 face "
                  "neighbours (±1 along one axis at a time), never diagonally, and stay inside "
                  "the volume on every axis.")
    register("locally_weighted_vote", reference=_locally_weighted_vote, cases=_vote_cases,
             compare=compare_array, forbidden=(_locally_weighted_vote, atlas.majority_vote),
             description="locally_weighted_vote(target, atlas_images, atlas_labels, sigma) -> "
                         "fused labels",
             hint="one weight per atlas and voxel, w = exp(-(target - atlas_image)^2 / "
                  "(2 sigma^2)); for every label, sum the weights of the atlases that vote for "
                  "it; np.argmax over the labels in increasing order keeps the smallest on a "
                  "tie, and returns an index into those labels, not a label.")
    register("best_split", reference=_best_split, cases=_split_cases,
             compare=_compare_threshold,
             forbidden=(_best_split,),
             description="best_split(values, labels) -> threshold of the largest Gini decrease",
             hint="sort the samples by value; candidate thresholds are the midpoints between "
                  "consecutive DISTINCT values; left = values <= t; the decrease is G(all) - "
                  "(n_left G(left) + n_right G(right)) / n with G = 1 - sum_k p_k^2 over the "
                  "classes present; nan when all values are equal.")
    register("predict_region_size", reference=_grown_size,
             cases=lambda rng: [Case("the 6x7 image, seed (0, 0), tolerance 1")],
             compare=rounded(0, known=_grown_size_slips()),
             forbidden=(region_growing.region_grow,),
             description="predict_region_size() -> number of pixels in the grown region",
             hint="start at the seed and add, one ring at a time, the up/down/left/right "
                  "neighbours whose intensity is within 1 of the seed's (6); a pixel touching "
                  "the region only at a corner is not a neighbour.")


_register_chapter_03()
