"""Tests of mlseg.metrics: hand-computed scenarios, the lecture's figures, oracles and errors."""

import math

import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy.spatial.distance import cdist

from mlseg import metrics as m

NAN = float("nan")


def squares_14x14():
    reference = np.zeros((14, 14), bool)
    reference[5:9, 5:9] = True
    prediction = np.zeros((14, 14), bool)
    prediction[4:10, 4:10] = True
    return reference, prediction


def blobs(shape, rng, sigma=1.5, level=0.5):
    """Two random smooth blobs (a pair of masks) on a grid of ``shape``."""
    a = ndi.gaussian_filter(rng.random(shape), sigma) > level
    b = ndi.gaussian_filter(rng.random(shape), sigma) > level
    return a, b


# --- hand-computed scenarios -----------------------------------------------------------------


def test_confusion_counts_four_pixel_example():
    assert m.confusion([1, 1, 0, 0], [1, 0, 1, 0]) == m.Confusion(tp=1, fp=1, fn=1, tn=1)


def test_ratios_on_a_ten_pixel_line_hand_computed():
    reference = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    prediction = np.array([0, 1, 1, 1, 1, 1, 0, 0, 0, 0], bool)
    # TP=3, FP=2, FN=1, TN=4
    assert m.confusion(reference, prediction) == (3, 2, 1, 4)
    assert m.accuracy(reference, prediction) == pytest.approx(7 / 10)
    assert m.precision(reference, prediction) == pytest.approx(3 / 5)
    assert m.recall(reference, prediction) == pytest.approx(3 / 4)
    assert m.specificity(reference, prediction) == pytest.approx(4 / 6)
    assert m.dice(reference, prediction) == pytest.approx(6 / 9)
    assert m.iou(reference, prediction) == pytest.approx(3 / 6)
    assert m.volume_similarity(reference, prediction) == pytest.approx(1 - 1 / 9)


def test_on_2_pixels_2mm_away():
    reference = np.zeros((5, 5), bool)
    reference[2, 1] = True
    prediction = np.zeros((5, 5), bool)
    prediction[2, 3] = True
    assert m.hausdorff(reference, prediction) == 2.0
    assert m.hausdorff(reference, prediction, spacing=(1.0, 3.0)) == 6.0
    assert m.assd(reference, prediction) == 2.0
    assert m.masd(reference, prediction) == 2.0
    assert m.nsd(reference, prediction, 1.9) == 0.0
    assert m.nsd(reference, prediction, 2.0) == 1.0


def test_diagonal_neighbours_with_anisotropic_spacing():
    reference = np.zeros((4, 4, 4), bool)
    reference[1, 1, 1] = True
    prediction = np.zeros((4, 4, 4), bool)
    prediction[2, 2, 2] = True
    expected = math.sqrt(0.5**2 + 2.0**2 + 3.0**2)
    assert m.hausdorff(reference, prediction, spacing=(0.5, 2, 3)) == pytest.approx(expected)


def test_identical_masks_have_perfect_scores():
    reference, _ = squares_14x14()
    assert m.dice(reference, reference) == 1.0
    assert m.hausdorff(reference, reference) == 0.0
    assert m.assd(reference, reference) == 0.0
    assert m.nsd(reference, reference, 0.0) == 1.0
    assert m.nsd(reference, reference, 0.0, method="surfel") == 1.0


def test_full_mask_has_no_negatives_so_specificity_is_nan():
    full = np.ones((3, 3), bool)
    assert math.isnan(m.specificity(full, full))
    assert m.accuracy(full, full) == 1.0


def test_mask_touching_the_image_border_keeps_its_border_voxels_as_boundary():
    mask = np.zeros((4, 6), bool)
    mask[:, :3] = True
    expected = mask & ~ndi.binary_erosion(mask, ndi.generate_binary_structure(2, 1))
    np.testing.assert_array_equal(m.boundary(mask), expected)
    assert m.boundary(mask)[0, 1]  # on the image border


def test_hd95_differs_from_pooled_variant_when_directions_disagree():
    reference = np.zeros((1, 40), bool)
    reference[0, 10:30] = True
    prediction = np.zeros((1, 40), bool)
    prediction[0, 10:30] = True
    prediction[0, 38] = True  # a lone outlier far away
    d = m.surface_distances(reference, prediction)
    directed = max(np.percentile(d.reference_to_prediction, 95),
                   np.percentile(d.prediction_to_reference, 95))
    pooled = np.percentile(np.concatenate(d[:2]), 95)
    assert m.hd95(reference, prediction) == pytest.approx(directed)
    assert m.hausdorff(reference, prediction, percentile=95, pooled=True) == pytest.approx(pooled)
    assert m.hausdorff(reference, prediction, percentile=95, pooled=True) <= m.hd95(
        reference, prediction
    )


# --- the lecture's figures ----------------------------------------------------------------------


def test_spatial_alignment_figure_reproduces_printed_digits():
    reference, prediction = squares_14x14()
    assert round(m.dice(reference, prediction), 2) == 0.62
    assert round(m.iou(reference, prediction), 2) == 0.44
    assert round(m.hausdorff(reference, prediction), 2) == 1.41
    assert round(m.hd95(reference, prediction), 2) == 1.41
    assert round(m.assd(reference, prediction), 2) == 1.05
    assert round(m.masd(reference, prediction), 2) == 1.04
    assert m.nsd(reference, prediction, 1.0) == 0.875  # (12 + 16) / (12 + 20) boundary voxels
    assert round(m.nsd(reference, prediction, 1.0, method="surfel"), 2) == 0.92


EMPTY_TABLE = {
    # scenario: (dice, iou, precision, recall, nsd, hd, hd95, assd, masd)
    "reference empty": (0, 0, 0, NAN, 0, NAN, NAN, NAN, NAN),
    "prediction empty": (0, 0, NAN, 0, 0, NAN, NAN, NAN, NAN),
    "both empty": (NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN),
}


def empty_pair(scenario):
    four = np.zeros((6, 6), bool)
    four[2:4, 2:4] = True  # 4 pixels, as in the lecture's table
    none = np.zeros((6, 6), bool)
    return {
        "reference empty": (none, four),
        "prediction empty": (four, none),
        "both empty": (none, none),
    }[scenario]


@pytest.mark.parametrize("scenario", list(EMPTY_TABLE))
def test_empty_label_maps_follow_the_lecture_table(scenario):
    reference, prediction = empty_pair(scenario)
    got = (
        m.dice(reference, prediction), m.iou(reference, prediction),
        m.precision(reference, prediction), m.recall(reference, prediction),
        m.nsd(reference, prediction, 1.0), m.hausdorff(reference, prediction),
        m.hd95(reference, prediction), m.assd(reference, prediction),
        m.masd(reference, prediction),
    )
    for value, expected in zip(got, EMPTY_TABLE[scenario]):
        assert isinstance(value, float)
        assert not math.isinf(value)
        if math.isnan(expected):
            assert math.isnan(value)
        else:
            assert value == expected
    assert m.nsd(reference, prediction, 1.0, method="surfel") == pytest.approx(
        EMPTY_TABLE[scenario][4], nan_ok=True
    )


def test_empty_table_confusion_counts():
    assert m.confusion(*empty_pair("reference empty"))[:3] == (0, 4, 0)
    assert m.confusion(*empty_pair("prediction empty"))[:3] == (0, 0, 4)
    assert m.confusion(*empty_pair("both empty"))[:3] == (0, 0, 0)


# --- oracles -------------------------------------------------------------------------------------


def brute_force(reference, prediction, spacing, percentile=95, tolerance=1.5):
    """HD, HD95, ASSD, MASD and NSD from all pairwise distances of scipy-eroded boundaries."""
    structure = ndi.generate_binary_structure(reference.ndim, 1)
    ref_b = reference & ~ndi.binary_erosion(reference, structure)
    pred_b = prediction & ~ndi.binary_erosion(prediction, structure)
    ref_pts = np.argwhere(ref_b) * np.asarray(spacing)
    pred_pts = np.argwhere(pred_b) * np.asarray(spacing)
    pairwise = cdist(ref_pts, pred_pts)
    a, b = pairwise.min(axis=1), pairwise.min(axis=0)
    return {
        "hd": max(a.max(), b.max()),
        "hd95": max(np.percentile(a, percentile), np.percentile(b, percentile)),
        "assd": (a.sum() + b.sum()) / (a.size + b.size),
        "masd": (a.mean() + b.mean()) / 2,
        "nsd": ((a <= tolerance).sum() + (b <= tolerance).sum()) / (a.size + b.size),
    }


@pytest.mark.parametrize(
    "shape, spacing",
    [((24, 31), (1.0, 1.0)), ((24, 31), (0.7, 2.3)), ((11, 14, 9), (1.0, 0.8, 2.5)),
     ((60, 3), (0.5, 1.0)), ((40,), (2.0,))],
)
def test_surface_distances_match_brute_force_pairwise_distances(shape, spacing):
    rng = np.random.default_rng(sum(shape))
    for _ in range(6):
        reference, prediction = blobs(shape, rng, sigma=1.2)
        if not reference.any() or not prediction.any():
            continue
        expected = brute_force(reference, prediction, spacing)
        assert m.hausdorff(reference, prediction, spacing=spacing) == pytest.approx(
            expected["hd"], rel=1e-12)
        assert m.hd95(reference, prediction, spacing=spacing) == pytest.approx(
            expected["hd95"], rel=1e-12)
        assert m.assd(reference, prediction, spacing=spacing) == pytest.approx(
            expected["assd"], rel=1e-12)
        assert m.masd(reference, prediction, spacing=spacing) == pytest.approx(
            expected["masd"], rel=1e-12)
        assert m.nsd(reference, prediction, 1.5, spacing=spacing) == pytest.approx(
            expected["nsd"], rel=1e-12)


def test_kdtree_and_distance_transform_paths_agree(monkeypatch):
    """Both exact strategies in _nearest_distances give the same numbers."""
    rng = np.random.default_rng(7)
    z, y, x = np.ogrid[:50, :50, :50]
    small_in_large = (z - 25) ** 2 + (y - 24) ** 2 + (x - 26) ** 2 < 14**2  # sparse: k-d tree
    other = np.roll(small_in_large, (2, -3, 1), axis=(0, 1, 2))
    noisy_a, noisy_b = rng.random((20, 20, 20)) > 0.5, rng.random((20, 20, 20)) > 0.5  # dense
    seen = []
    original = m._nearest_distances

    def spy(flat_from, flat_to, edge_to, spacing, bound=None):
        seen.append(flat_to.size * m._KDTREE_FACTOR < edge_to.size)
        return original(flat_from, flat_to, edge_to, spacing, bound)

    monkeypatch.setattr(m, "_nearest_distances", spy)
    for a, b in [(small_in_large, other), (noisy_a, noisy_b)]:
        expected = brute_force(a, b, (1.0, 2.0, 0.5))
        assert m.assd(a, b, spacing=(1.0, 2.0, 0.5)) == pytest.approx(expected["assd"])
        assert m.hausdorff(a, b, spacing=(1.0, 2.0, 0.5)) == pytest.approx(expected["hd"])
        assert m.nsd(a, b, 1.5, spacing=(1.0, 2.0, 0.5)) == pytest.approx(expected["nsd"])
        # a tolerance equal to a distance that occurs: <= counts it, the bounded query too
        assert m.nsd(a, b, 2.0, spacing=(1.0, 2.0, 0.5)) == pytest.approx(
            brute_force(a, b, (1.0, 2.0, 0.5), tolerance=2.0)["nsd"])
    assert True in seen and False in seen


@pytest.mark.parametrize("shape, spacing",
                         [((30, 27), (1.0, 0.7)), ((12, 13, 11), (1.0, 0.7, 2.5))])
def test_surfel_nsd_matches_deepmind_surface_distance(shape, spacing):
    surface_distance = pytest.importorskip("surface_distance")  # a dev dependency
    rng = np.random.default_rng(3)
    for _ in range(8):
        reference, prediction = blobs(shape, rng)
        if not reference.any() or not prediction.any():
            continue
        distances = surface_distance.compute_surface_distances(reference, prediction, spacing)
        for tolerance in (0.5, 1.5):
            expected = surface_distance.compute_surface_dice_at_tolerance(distances, tolerance)
            got = m.nsd(reference, prediction, tolerance, spacing=spacing, method="surfel")
            assert got == pytest.approx(expected, abs=1e-6)


def test_boundary_matches_scipy_erosion_in_3d():
    rng = np.random.default_rng(1)
    mask = rng.random((9, 10, 11)) > 0.4
    structure = ndi.generate_binary_structure(3, 1)
    np.testing.assert_array_equal(m.boundary(mask), mask & ~ndi.binary_erosion(mask, structure))


def test_distance_map_is_zero_on_boundary_and_matches_scipy():
    reference, _ = squares_14x14()
    dmap = m.distance_map(reference, spacing=(1.0, 2.0))
    edge = m.boundary(reference)
    assert np.all(dmap[edge] == 0)
    np.testing.assert_allclose(dmap, ndi.distance_transform_edt(~edge, sampling=(1.0, 2.0)))
    assert np.isnan(m.distance_map(np.zeros((3, 3)))).all()


# --- properties ----------------------------------------------------------------------------------


def test_symmetries_and_identities_on_random_pairs():
    rng = np.random.default_rng(11)
    for shape in [(30, 30), (10, 12, 14)]:
        for _ in range(5):
            a, b = blobs(shape, rng)
            if not a.any() or not b.any():
                continue
            assert m.dice(a, b) == m.dice(b, a)
            assert m.iou(a, b) == m.iou(b, a)
            assert m.precision(a, b) == m.recall(b, a)
            assert m.hausdorff(a, b) == m.hausdorff(b, a)
            assert m.hd95(a, b) == m.hd95(b, a)
            assert m.assd(a, b) == pytest.approx(m.assd(b, a))
            assert m.masd(a, b) == pytest.approx(m.masd(b, a))
            assert m.nsd(a, b, 1.0) == pytest.approx(m.nsd(b, a, 1.0))
            iou = m.iou(a, b)
            assert m.dice(a, b) == m.f1(a, b) == pytest.approx(2 * iou / (1 + iou))
            p, r = m.precision(a, b), m.recall(a, b)
            assert m.dice(a, b) == pytest.approx(2 * p * r / (p + r))
            assert m.hd95(a, b) <= m.hausdorff(a, b)


def test_integer_and_float_zero_one_masks_are_accepted_and_inputs_not_modified():
    reference, prediction = squares_14x14()
    ref_int, pred_float = reference.astype(np.int32), prediction.astype(np.float32)
    before = ref_int.copy(), pred_float.copy()
    assert m.dice(ref_int, pred_float) == m.dice(reference, prediction)
    assert m.assd(ref_int, pred_float) == m.assd(reference, prediction)
    np.testing.assert_array_equal(before[0], ref_int)
    np.testing.assert_array_equal(before[1], pred_float)


# --- evaluate ------------------------------------------------------------------------------------


def test_evaluate_matches_the_binary_functions_label_by_label():
    rng = np.random.default_rng(5)
    reference = rng.integers(0, 4, (20, 20))
    reference = ndi.median_filter(reference, 5)
    prediction = np.roll(reference, 1, axis=0)
    table = m.evaluate(reference, prediction, spacing=(1.0, 2.0), tolerance=2.0)
    present = sorted((set(np.unique(reference)) | set(np.unique(prediction))) - {0})
    assert list(table.index) == present
    for label in present:
        ref, pred = reference == label, prediction == label
        row = table.loc[label]
        assert row["dice"] == pytest.approx(m.dice(ref, pred))
        assert row["hd95"] == pytest.approx(m.hd95(ref, pred, spacing=(1.0, 2.0)))
        assert row["nsd"] == pytest.approx(m.nsd(ref, pred, 2.0, spacing=(1.0, 2.0)))
        assert row["masd"] == pytest.approx(m.masd(ref, pred, spacing=(1.0, 2.0)))
        assert row["reference_voxels"] == ref.sum()


def test_evaluate_mean_ignores_nan_only_when_asked():
    reference = np.zeros((8, 8), int)
    reference[1:4, 1:4] = 1
    prediction = reference.copy()
    # label 2 exists in neither map: every measure of it is NaN
    strict = m.evaluate(reference, prediction, labels=[1, 2], metrics=["dice", "hd"],
                        aggregate="mean")
    lenient = m.evaluate(reference, prediction, labels=[1, 2], metrics=["dice", "hd"],
                         aggregate="nanmean")
    assert math.isnan(strict.loc["mean", "dice"])
    assert lenient.loc["mean", "dice"] == 1.0
    assert list(strict.columns) == ["reference_voxels", "prediction_voxels", "dice", "hd"]


def test_evaluate_skips_distances_when_not_asked(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("distances computed")

    monkeypatch.setattr(m, "_surface_distances", boom)
    table = m.evaluate(np.eye(4, dtype=int), np.eye(4, dtype=int), metrics=["dice", "iou"])
    assert table.loc[1, "dice"] == 1.0


# --- validation ----------------------------------------------------------------------------------


GOOD = np.zeros((4, 4), bool)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: m.dice(GOOD, np.zeros((4, 5), bool)), ValueError, "same shape"),
        (lambda: m.dice(GOOD, np.full((4, 4), 2)), ValueError, "prediction must be a binary"),
        (lambda: m.dice(np.full((4, 4), np.nan), GOOD), ValueError, "reference must not contain"),
        (lambda: m.dice(np.full((4, 4), np.inf), GOOD), ValueError, "NaN or infinity"),
        (lambda: m.dice(np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2, 2))), ValueError, "1 to 3"),
        (lambda: m.dice(np.bool_(True), np.bool_(True)), ValueError, "1 to 3"),
        (lambda: m.dice("abc", GOOD), TypeError, "reference must be an array"),
        (lambda: m.dice(np.array(["a"] * 16).reshape(4, 4), GOOD), TypeError, "dtype"),
        (lambda: m.hausdorff(GOOD, GOOD, spacing=(1.0,)), ValueError, "one entry per axis"),
        (lambda: m.hausdorff(GOOD, GOOD, spacing=(1.0, 0.0)), ValueError, "positive"),
        (lambda: m.hausdorff(GOOD, GOOD, spacing=(1.0, -2)), ValueError, "positive"),
        (lambda: m.hausdorff(GOOD, GOOD, spacing=1.0), TypeError, "spacing"),
        (lambda: m.hausdorff(GOOD, GOOD, percentile=101), ValueError, "percentile"),
        (lambda: m.hausdorff(GOOD, GOOD, percentile=-1), ValueError, "percentile"),
        (lambda: m.nsd(GOOD, GOOD, -0.5), ValueError, "tolerance"),
        (lambda: m.nsd(GOOD, GOOD, float("nan")), ValueError, "tolerance"),
        (lambda: m.nsd(GOOD, GOOD, 1.0, method="mesh"), ValueError, "method"),
        (lambda: m.evaluate(GOOD, GOOD, metrics=["dice", "auc"]), ValueError, "auc"),
        (lambda: m.evaluate(GOOD, GOOD, labels=[1.5]), TypeError, "labels"),
        (lambda: m.evaluate(np.full((4, 4), 0.5), GOOD), ValueError, "integer labels"),
        (lambda: m.evaluate(GOOD, GOOD, aggregate="median"), ValueError, "aggregate"),
        (lambda: m.boundary(np.zeros((3, 3, 3, 3))), ValueError, "mask"),
    ],
)
def test_bad_input_gets_a_clear_error_naming_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_evaluate_subjects_averages_each_label_over_the_subjects_that_have_it():
    rng = np.random.default_rng(3)
    refs = rng.integers(0, 3, (5, 12, 12))
    refs[[1, 3]] = np.where(refs[[1, 3]] == 2, 0, refs[[1, 3]])   # label 2 absent in two
    preds = np.where(rng.random(refs.shape) < 0.2, rng.integers(0, 3, refs.shape), refs)
    table = m.evaluate_subjects(refs, preds, labels=[1, 2], spacing=(2.0, 1.0),
                                      metrics=["dice", "hd95"])
    for label in (1, 2):
        have = [k for k in range(5) if (refs[k] == label).any()]
        dices = [m.dice(refs[k] == label, preds[k] == label) for k in have]
        hd = [m.hd95(refs[k] == label, preds[k] == label, spacing=(2.0, 1.0))
              for k in have]
        assert table.loc[label, "dice"] == pytest.approx(np.mean(dices))
        assert table.loc[label, "hd95"] == pytest.approx(np.mean(hd))
        assert table.loc[label, "subjects"] == len(have)
    # the two subjects without label 2 but with 2s predicted are counted, not averaged in
    assert table.loc[2, "subjects"] == 3
    assert table.loc[2, "false_positive_subjects"] == sum(
        (preds[k] == 2).any() for k in (1, 3))


def test_evaluate_subjects_names_its_bad_input():
    maps = np.zeros((2, 4, 4), int)
    with pytest.raises(ValueError, match="one map per subject"):
        m.evaluate_subjects(maps, maps[:1], labels=[1])
    with pytest.raises(ValueError, match="references is empty"):
        m.evaluate_subjects([], [], labels=[1])
    with pytest.raises(TypeError, match="labels"):
        m.evaluate_subjects(maps, maps, labels=1)
    with pytest.raises(TypeError, match="metrics"):
        m.evaluate_subjects(maps, maps, labels=[1], metrics="dice")
    # a label no subject has: NaN, not an error
    assert np.isnan(m.evaluate_subjects(maps, maps, labels=[1]).loc[1, "dice"])
