"""Chapter 03's exercises: does each check pass a right answer written here, and does it catch the
typical wrong ones by the case that shows the mistake, with a hint and without the answer?"""

import re
from collections import deque

import numpy as np
import pytest
from _helpers import failing  # noqa: E402
from scipy import ndimage as ndi

from mlseg import checks
from mlseg.checks import check, failure_message, run_checks

# --- right answers, written the way a student would (no mlseg inside) -----------------------


def my_otsu_two_thresholds(image, *, upper_class_starts_at_t=False, nan_for_empty=False):
    """Loop over the levels present; class sums from a histogram (the notebook's way)."""
    values = np.asarray(image).ravel().astype(int)
    low = values.min()
    counts = np.bincount(values - low).astype(float)
    levels = np.arange(len(counts)) + low
    n, total = counts.sum(), (counts * levels).sum()
    cum_n, cum_s = np.cumsum(counts), np.cumsum(counts * levels)
    mu = total / n
    best, answer = -1.0, None
    for t1 in range(len(counts) - 2):
        for t2 in range(t1 + 1, len(counts) - 1):
            parts = [(cum_n[t1], cum_s[t1]), (cum_n[t2] - cum_n[t1], cum_s[t2] - cum_s[t1]),
                     (n - cum_n[t2], total - cum_s[t2])]
            between = 0.0
            for size, total_k in parts:
                if size > 0:
                    between += size / n * (total_k / size - mu) ** 2
                elif nan_for_empty:
                    between = float("nan")
            if between > best + 1e-9 or (nan_for_empty and np.isnan(between) and answer is None):
                best, answer = between, (int(levels[t1]), int(levels[t2]))
    if upper_class_starts_at_t:
        return answer[0] + 1, answer[1] + 1
    return answer


def my_region_grow_3d(volume, seed, tolerance, *, neighbours=None, relative=False, strict=False):
    if neighbours is None:
        neighbours = [(-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)]
    seed = tuple(seed)
    region = np.zeros(volume.shape, bool)
    region[seed] = True
    todo = deque([seed])
    while todo:
        voxel = todo.popleft()
        for step in neighbours:
            other = tuple(v + s for v, s in zip(voxel, step))
            if not all(0 <= o < n for o, n in zip(other, volume.shape)) or region[other]:
                continue
            base = volume[voxel] if relative else volume[seed]
            difference = abs(volume[other] - base)
            if difference < tolerance or (not strict and difference == tolerance):
                region[other] = True
                todo.append(other)
    return region


def my_locally_weighted_vote(target, atlas_images, atlas_labels, sigma, *, weighted=True,
                             largest_on_tie=False):
    fused = np.zeros(target.shape, int)
    for index in np.ndindex(target.shape):
        votes = {}
        for image, labels in zip(atlas_images, atlas_labels):
            weight = np.exp(-0.5 * ((target[index] - image[index]) / sigma) ** 2) if weighted \
                else 1.0
            votes[int(labels[index])] = votes.get(int(labels[index]), 0.0) + weight
        best = max(votes.values())
        winners = sorted(label for label, v in votes.items() if v == best)
        fused[index] = winners[-1] if largest_on_tie else winners[0]
    return fused


def _gini(labels):
    if len(labels) == 0:
        return 0.0
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return 1 - np.sum(p**2)


def _entropy(labels):
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log2(p))) if len(labels) else 0.0


def my_best_split(values, labels, *, impurity=_gini, weighted=True, midpoint=True):
    values, labels = np.asarray(values, float), np.asarray(labels)
    distinct = np.unique(values)
    if len(distinct) < 2:
        return float("nan")
    best, answer = -np.inf, None
    for a, b in zip(distinct[:-1], distinct[1:]):
        t = (a + b) / 2 if midpoint else a
        left, right = labels[values <= t], labels[values > t]
        if weighted:
            children = (len(left) * impurity(left) + len(right) * impurity(right)) / len(labels)
        else:
            children = impurity(left) + impurity(right)
        gain = impurity(labels) - children
        if gain > best + 1e-12:
            best, answer = gain, t
    return answer


def my_predict_region_size():
    # the 6s at the top left (0,0) (0,1) (0,2) (1,0) (2,0) (1,2) (2,2) and the 7 at (2,3);
    # the 6 at (1,4) touches (2,3) only at a corner
    return 8


RIGHT = {"otsu_two_thresholds": my_otsu_two_thresholds, "region_grow_3d": my_region_grow_3d,
         "locally_weighted_vote": my_locally_weighted_vote, "best_split": my_best_split,
         "predict_region_size": my_predict_region_size}


def test_the_chapter_has_the_exercises_of_the_index():
    assert set(RIGHT) == set(checks.CHAPTERS["ch03_classical"])


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_an_independent_right_answer_passes(name, capsys):
    check(name, RIGHT[name])
    n = len(run_checks(name, RIGHT[name]))
    assert capsys.readouterr().out == f"{name}: {n}/{n} checks passed\n"


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_a_right_answer_also_passes_the_graders_cases(name):
    for seed in (31337, 5, 6):
        assert all(r.passed for r in run_checks(name, RIGHT[name], seed=seed))


# --- Otsu with two thresholds --------------------------------------------------------------


def test_otsu_off_by_one_fails_where_the_histogram_has_no_gaps():
    cases, message = failing("otsu_two_thresholds", lambda image: my_otsu_two_thresholds(
        image, upper_class_starts_at_t=True))
    assert "three overlapping tissues (no gap between them)" in cases
    assert "t1 itself included" in message  # the hint names the convention


def test_otsu_with_nan_for_an_empty_class_fails_on_gaps():
    cases, _ = failing("otsu_two_thresholds", lambda image: my_otsu_two_thresholds(
        image, nan_for_empty=True))
    assert "gray levels with gaps (some thresholds leave a class empty)" in cases


def test_otsu_histogram_from_zero_without_the_offset_fails_when_levels_do_not_start_at_0():
    def forgets_offset(image):
        t1, t2 = my_otsu_two_thresholds(image)
        return t1 - int(np.min(image)), t2 - int(np.min(image))

    cases, _ = failing("otsu_two_thresholds", forgets_offset)
    assert "not starting at 0 (levels 200 to 230)" in cases


def test_otsu_accepts_any_thresholds_in_a_gap_of_the_histogram():
    from mlseg.checks.ch03_classical import _otsu_two_thresholds

    gaps = np.repeat(np.array([10, 20, 30, 60, 70, 100]), [5, 9, 4, 6, 8, 3])
    best = _otsu_two_thresholds(gaps)
    assert len(best.equally_good) > 1 and tuple(best) == best.equally_good[0]
    for pair in best.equally_good:
        assert checks.EXERCISES["otsu_two_thresholds"].compare(pair, best) is None


def test_otsu_reference_is_at_least_as_good_as_scikit_images_multi_otsu():
    """The library's ``thresholding.multi_otsu`` is scikit-image's; on integer images its
    thresholds are not always the last level of the lower class (the course's convention), so
    it serves as an oracle for the between-class variance, not for the thresholds."""
    from skimage.filters import threshold_multiotsu

    from mlseg.checks.ch03_classical import _otsu_two_thresholds

    def between(values, classes):
        return sum(np.mean(classes == k) * (values[classes == k].mean() - values.mean()) ** 2
                   for k in range(3) if np.any(classes == k))

    rng = np.random.default_rng(3)
    for _ in range(10):
        image = np.concatenate([rng.normal(m, 9, int(rng.integers(50, 300)))
                                for m in (40, 80, 150)])
        image = np.clip(np.round(image), 0, 255).astype(np.uint8)
        values = image.astype(float)
        t1, t2 = _otsu_two_thresholds(image)
        ours = between(values, (values > t1).astype(int) + (values > t2))
        s1, s2 = threshold_multiotsu(image, classes=3)
        theirs = max(between(values, (values > s1).astype(int) + (values > s2)),
                     between(values, np.digitize(values, [s1, s2])))
        assert ours >= theirs - 1e-9


# --- region growing in 3D --------------------------------------------------------------------


def test_region_growing_with_26_neighbours_leaks_through_corners():
    everything = [s for s in np.ndindex(3, 3, 3)]
    steps = [tuple(v - 1 for v in s) for s in everything if s != (1, 1, 1)]
    cases, _ = failing("region_grow_3d", lambda v, s, t: my_region_grow_3d(v, s, t,
                                                                            neighbours=steps))
    assert "neighbours at a corner only: 26-connectivity would leak" in cases
    assert "a tube along the slice axis (axis 0)" not in cases


def test_region_growing_with_18_neighbours_leaks_through_edges():
    steps = [tuple(v - 1 for v in s) for s in np.ndindex(3, 3, 3)
             if 0 < sum(abs(v - 1) for v in s) <= 2]
    cases, _ = failing("region_grow_3d", lambda v, s, t: my_region_grow_3d(v, s, t,
                                                                            neighbours=steps))
    assert "neighbours along an edge only: 18-connectivity would leak" in cases
    assert "neighbours at a corner only: 26-connectivity would leak" not in cases


def test_region_growing_slice_by_slice_misses_the_tube_along_the_slices():
    in_plane = [(0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)]
    cases, message = failing("region_grow_3d", lambda v, s, t: my_region_grow_3d(
        v, s, t, neighbours=in_plane))
    assert "a tube along the slice axis (axis 0)" in cases
    assert "6 face neighbours" in message


def test_region_growing_relative_to_the_neighbour_fails_on_a_slow_ramp():
    cases, _ = failing("region_grow_3d", lambda v, s, t: my_region_grow_3d(v, s, t,
                                                                            relative=True))
    assert "a slow ramp: close to each neighbour, far from the seed" in cases


def test_region_growing_with_a_strict_inequality_fails_at_the_tolerance():
    cases, _ = failing("region_grow_3d", lambda v, s, t: my_region_grow_3d(v, s, t, strict=True))
    assert "voxels exactly at the tolerance are accepted" in cases
    assert "seed on a one-voxel island" not in cases


def test_region_growing_with_scipy_label_is_a_fine_answer():
    def by_components(volume, seed, tolerance):
        accepted = np.abs(volume - volume[tuple(seed)]) <= tolerance
        components, _ = ndi.label(accepted, ndi.generate_binary_structure(3, 1))
        return components == components[tuple(seed)]

    assert all(r.passed for r in run_checks("region_grow_3d", by_components))


# --- locally weighted voting ---------------------------------------------------------------


def test_plain_majority_vote_fails_where_the_similar_atlas_is_outvoted():
    cases, _ = failing("locally_weighted_vote", lambda t, i, maps, s: my_locally_weighted_vote(
        t, i, maps, s, weighted=False))
    assert "one atlas looks like the target, two others outvote it" in cases
    assert "a very large sigma: every atlas counts the same (majority vote)" not in cases


def test_ties_broken_towards_the_larger_label_fail():
    cases, _ = failing("locally_weighted_vote", lambda t, i, maps, s: my_locally_weighted_vote(
        t, i, maps, s, largest_on_tie=True))
    assert cases == ["a tie goes to the smaller label"]


def test_returning_the_index_of_the_label_instead_of_the_label_fails():
    def index_not_label(target, images, labels, sigma):
        stack = np.stack(labels)
        weights = np.exp(-((np.stack(images) - target) ** 2) / (2 * sigma**2))
        values = np.unique(stack)
        votes = np.stack([((stack == v) * weights).sum(axis=0) for v in values])
        return np.argmax(votes, axis=0)

    cases, message = failing("locally_weighted_vote", index_not_label)
    assert "labels 2 and 7 only (not 0..K-1)" in cases
    assert "not a label" in message


# --- the best split of one feature ---------------------------------------------------------


def test_entropy_instead_of_gini_fails_where_they_disagree():
    cases, _ = failing("best_split", lambda v, y: my_best_split(v, y, impurity=_entropy))
    assert "three classes where Gini and entropy prefer different splits" in cases
    assert "two classes, perfectly separable" not in cases


def test_unweighted_children_fail_on_the_unbalanced_case():
    cases, _ = failing("best_split", lambda v, y: my_best_split(v, y, weighted=False))
    assert "unbalanced: weigh each side by its number of samples" in cases


def test_threshold_at_a_sample_instead_of_the_midpoint_fails():
    cases, message = failing("best_split", lambda v, y: my_best_split(v, y, midpoint=False))
    assert "two classes, perfectly separable" in cases
    assert "midpoints" in message


def test_splitting_between_equal_values_fails_on_repeated_values():
    def every_gap(values, labels):
        order = np.argsort(values, kind="stable")
        v, lab = np.asarray(values, float)[order], np.asarray(labels)[order]
        best, answer = -np.inf, float("nan")
        for i in range(1, len(v)):  # also between equal values: those splits do not exist
            gain = _gini(lab) - (i * _gini(lab[:i]) + (len(v) - i) * _gini(lab[i:])) / len(v)
            if gain > best + 1e-12:
                best, answer = gain, (v[i - 1] + v[i]) / 2
        return answer

    cases, _ = failing("best_split", every_gap)
    assert "repeated values: a threshold cannot split equal values" in cases


def test_best_split_reference_agrees_with_a_scikit_learn_stump():
    from sklearn.tree import DecisionTreeClassifier

    from mlseg.checks.ch03_classical import _best_split

    rng = np.random.default_rng(0)
    for _ in range(30):
        n = int(rng.integers(4, 40))
        labels = rng.integers(0, 3, size=n)
        values = (labels + rng.integers(-2, 3, size=n)).astype(float)  # float32-exact
        if np.unique(values).size < 2:
            continue
        stump = DecisionTreeClassifier(max_depth=1, random_state=0).fit(values[:, None], labels)
        threshold = stump.tree_.threshold[0]
        best = _best_split(values, labels)
        if stump.tree_.node_count == 1:  # a pure node: sklearn does not split
            assert len(set(labels)) == 1
            continue
        assert any(abs(threshold - t) < 1e-6 for t in best.equally_good), (threshold, best)


# --- predict the region size ------------------------------------------------------------------


@pytest.mark.parametrize("value, words", [
    (14, "8-connectivity"), (18, "every pixel whose intensity is in the window"),
    (7, "equal to the seed's intensity"), (10, None)])
def test_predict_region_size_explains_the_slips_without_the_answer(value, words):
    from mlseg.checks.ch03_classical import _grown_size_slips

    assert value in _grown_size_slips() or words is None
    results = run_checks("predict_region_size", lambda: value)
    assert not results[0].passed
    message = failure_message("predict_region_size", results)
    if words:
        assert words in message
    assert not re.search(r"(?<![\w.-])8(?![\w.-])", message)  # "8-connectivity" is fine


def test_predict_region_size_counts_face_neighbours_only():
    from mlseg.checks.ch03_classical import GROW_IMAGE, GROW_SEED

    region = my_region_grow_3d(GROW_IMAGE[None].astype(float), (0, *GROW_SEED), 1.0)
    assert region.sum() == checks.EXERCISES["predict_region_size"].reference() == 8


def test_case_names_say_what_is_special_and_cases_are_fast():
    import time

    for name in RIGHT:
        start = time.perf_counter()
        exercise = checks.EXERCISES[name]
        cases = exercise.cases(np.random.default_rng(7))
        for case in cases:
            checks.expected_answer(exercise, case)
        assert time.perf_counter() - start < 1.0, name
        assert len({c.name for c in cases}) == len(cases), name
