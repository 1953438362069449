"""Chapter 02's exercises: does each check pass a right answer written here, and does it catch the
typical wrong ones by the case that shows the mistake, with a hint and without the answer?"""

import numpy as np
import pytest
from _helpers import failing  # noqa: E402
from scipy import ndimage as ndi
from scipy.spatial.distance import cdist

from mlseg import checks
from mlseg.checks import check, failure_message, run_checks

# --- right answers, written the way a student would (no mlseg inside) -----------------------


def my_confusion_matrix(reference, prediction, n_labels):
    matrix = np.zeros((n_labels, n_labels), int)
    for i in range(n_labels):
        for j in range(n_labels):
            matrix[i, j] = np.sum((reference == i) & (prediction == j))
    return matrix


def _counts(reference, prediction):
    r, p = np.asarray(reference, bool), np.asarray(prediction, bool)
    return (r & p).sum(), (~r & p).sum(), (r & ~p).sum()


def my_dice(reference, prediction):
    tp, fp, fn = _counts(reference, prediction)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def my_iou(reference, prediction):
    tp, fp, fn = _counts(reference, prediction)
    return tp / (tp + fp + fn) if tp + fp + fn else float("nan")


def my_volume_similarity(reference, prediction):
    tp, fp, fn = _counts(reference, prediction)
    return 1 - abs(fn - fp) / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def _boundary(mask):
    return mask & ~ndi.binary_erosion(mask, ndi.generate_binary_structure(mask.ndim, 1))


def my_mean_signed_distance(reference, prediction, spacing=None):
    """Brute force: every pair of boundary points, in mm."""
    if not reference.any() or not prediction.any():
        return float("nan")
    spacing = np.ones(reference.ndim) if spacing is None else np.asarray(spacing, float)
    pred_points = np.argwhere(_boundary(prediction))
    distances = cdist(pred_points * spacing, np.argwhere(_boundary(reference)) * spacing)
    nearest = distances.min(axis=1)
    inside = reference[tuple(pred_points.T)]
    return float(np.mean(np.where(inside, -nearest, nearest)))


def my_predict_shifted_nsd():
    # reference: 7 pixels on the shared sides + (5, 7) and (7, 5) one pixel from them;
    # prediction: row 8 and column 8 pixels from (4, 8) and (8, 4) on
    return (9 + 9) / (12 + 20)


RIGHT = {"confusion_matrix": my_confusion_matrix, "dice": my_dice, "iou": my_iou,
         "volume_similarity": my_volume_similarity,
         "mean_signed_distance": my_mean_signed_distance,
         "predict_shifted_nsd": my_predict_shifted_nsd}


def test_the_chapter_has_the_exercises_of_the_index():
    assert set(RIGHT) == set(checks.CHAPTERS["ch02_evaluation"])


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_an_independent_right_answer_passes(name, capsys):
    check(name, RIGHT[name])
    n = len(run_checks(name, RIGHT[name]))
    assert capsys.readouterr().out == f"{name}: {n}/{n} checks passed\n"


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_a_right_answer_also_passes_the_graders_cases(name):
    assert all(r.passed for r in run_checks(name, RIGHT[name], seed=31337))


# --- typical wrong answers, each caught by the case that shows the mistake --------------------


def test_a_transposed_confusion_matrix_fails_where_a_label_is_only_predicted():
    cases, _ = failing("confusion_matrix", lambda r, p, n: my_confusion_matrix(p, r, n))
    assert "label 2 only in the prediction: rows are the reference" in cases
    assert "identical maps: everything on the diagonal" not in cases


def test_a_matrix_sized_from_the_data_fails_when_the_last_label_is_absent():
    def sized_from_data(reference, prediction, n_labels):
        return my_confusion_matrix(reference, prediction, int(max(reference.max(),
                                                                  prediction.max())) + 1)

    cases, message = failing("confusion_matrix", sized_from_data)
    assert "the last label 4 absent from both maps: its row and column stay 0" in cases
    assert "expected shape (5, 5), got (4, 4)" in message


def test_binary_confusion_matrix_is_tn_fp_fn_tp():
    from mlseg import metrics
    from mlseg.checks.ch02_evaluation import _confusion_matrix, _squares

    reference, prediction = _squares()
    tp, fp, fn, tn = metrics.confusion(reference, prediction)
    assert _confusion_matrix(reference, prediction, 2).tolist() == [[tn, fp], [fn, tp]]


def test_confusion_matrix_accepts_nested_lists():
    assert all(r.passed for r in run_checks(
        "confusion_matrix", lambda r, p, n: my_confusion_matrix(r, p, n).tolist()))


def test_unsigned_distance_fails_on_a_prediction_that_is_too_small():
    def unsigned(reference, prediction, spacing=None):
        return abs(my_mean_signed_distance(reference, prediction, spacing))

    cases, message = failing("mean_signed_distance", unsigned)
    assert "prediction one pixel too small all around" in cases
    assert "prediction one pixel too large all around" not in cases
    assert "a minus sign" in message  # the hint


def test_signed_distance_with_the_sign_reversed_fails_on_a_prediction_too_large():
    cases, _ = failing("mean_signed_distance",
                       lambda r, p, spacing=None: -my_mean_signed_distance(r, p, spacing))
    assert "prediction one pixel too large all around" in cases
    assert "3D, prediction one voxel too large" in cases


def test_signed_distance_ignoring_spacing_fails_on_anisotropic_cases():
    cases, message = failing("mean_signed_distance",
                             lambda r, p, spacing=None: my_mean_signed_distance(r, p))
    assert "prediction one pixel too large, anisotropic spacing (0.5, 2.0)" in cases
    assert "random 2D anisotropic spacing" in message or "random 3D anisotropic spacing" in message
    assert "identical squares" not in cases


def test_signed_distance_from_the_reference_side_fails():
    def wrong_direction(reference, prediction, spacing=None):
        return -my_mean_signed_distance(prediction, reference, spacing)

    cases, _ = failing("mean_signed_distance", wrong_direction)
    assert cases and "identical squares" not in cases


def test_signed_distance_of_zero_for_an_empty_mask_fails_on_the_lecture_table():
    def zero_when_empty(reference, prediction, spacing=None):
        value = my_mean_signed_distance(reference, prediction, spacing)
        return 0.0 if np.isnan(value) else value

    cases, _ = failing("mean_signed_distance", zero_when_empty)
    assert cases[:3] == ["reference empty", "prediction empty", "both empty"]


def test_signed_distance_cases_cover_3d_borders_one_row_and_no_spacing():
    names = [c.name for c in checks.EXERCISES["mean_signed_distance"].cases(
        np.random.default_rng(checks.PUBLIC_SEED))]
    for words in ("3D", "border", "1-row", "no spacing given (1 mm)", "anisotropic spacing"):
        assert any(words in n for n in names), words


def test_signed_distance_reference_agrees_with_the_brute_force_on_random_masks():
    from mlseg.checks.ch02_evaluation import _mean_signed_distance

    rng = np.random.default_rng(0)
    for _ in range(20):
        shape = tuple(rng.integers(3, 12, size=int(rng.integers(2, 4))))
        a, b = rng.random(shape) < 0.4, rng.random(shape) < 0.4
        spacing = tuple(rng.uniform(0.3, 3, size=len(shape)))
        assert _mean_signed_distance(a, b, spacing) == pytest.approx(
            my_mean_signed_distance(a, b, spacing), nan_ok=True)


@pytest.mark.parametrize("value, words", [
    (0.875, "centred 6x6 square"), (0.92, "other convention"), (0.553, "surface-element"),
    (0.615, "Dice"), (0.75, "reference's side only"), (0.45, "prediction's side only"),
    (0.6, None)])
def test_predict_shifted_nsd_explains_the_slips_without_the_answer(value, words):
    results = run_checks("predict_shifted_nsd", lambda: value)
    assert not results[0].passed
    message = failure_message("predict_shifted_nsd", results)
    if words:
        assert words in message
    for shown in ("0.5625", "0.562", "0.563", "0.56", "9/32", "18/32"):
        assert shown not in message


def test_predict_shifted_nsd_never_prints_the_expected_value():
    expected = checks.EXERCISES["predict_shifted_nsd"].reference()
    assert expected == pytest.approx(0.5625)
    for value in np.linspace(0, 1, 201):
        message = failure_message("predict_shifted_nsd",
                                  run_checks("predict_shifted_nsd", lambda v=value: v)) or ""
        assert "0.562" not in message and "0.563" not in message


def test_predict_shifted_nsd_is_judged_at_three_decimals():
    assert run_checks("predict_shifted_nsd", lambda: 0.5625)[0].passed
    assert run_checks("predict_shifted_nsd", lambda: 0.563)[0].passed
    assert not run_checks("predict_shifted_nsd", lambda: 0.56)[0].passed


def test_the_lecture_prediction_2_keeps_dice_but_not_the_distances():
    from mlseg import metrics
    from mlseg.checks.ch02_evaluation import _shifted_squares, _squares

    centred, shifted = _squares(), _shifted_squares()
    assert metrics.dice(*centred) == metrics.dice(*shifted)
    assert metrics.nsd(*shifted, 1.0) < metrics.nsd(*centred, 1.0)
    assert metrics.hausdorff(*shifted) > metrics.hausdorff(*centred)


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
