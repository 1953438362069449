"""Tests of mlseg.checks: does a check pass right answers and catch every kind of wrong one?"""

import importlib
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy.spatial.distance import cdist

from mlseg import checks, metrics
from mlseg.checks import CheckFailed, check, run_checks

# Answers written the way a student would, independent of mlseg (calling the library is
# forbidden in an answer, and these double as oracles for the library's own values).


def my_confusion(reference, prediction):
    r, p = np.asarray(reference, bool), np.asarray(prediction, bool)
    return (int((r & p).sum()), int((~r & p).sum()), int((r & ~p).sum()), int((~r & ~p).sum()))


def my_dice(reference, prediction):
    tp, fp, fn, _ = my_confusion(reference, prediction)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def my_iou(reference, prediction):
    tp, fp, fn, _ = my_confusion(reference, prediction)
    return tp / (tp + fp + fn) if tp + fp + fn else float("nan")


def my_confusion_matrix(reference, prediction, n_labels):
    matrix = np.zeros((n_labels, n_labels), int)
    for r, p in zip(np.ravel(reference), np.ravel(prediction)):
        matrix[r, p] += 1
    return matrix


def my_mean_signed_distance(reference, prediction, spacing=None):
    """Brute force: every pair of boundary points, distances in mm, minus inside the reference."""
    r, p = np.asarray(reference, bool), np.asarray(prediction, bool)
    if not r.any() or not p.any():
        return float("nan")
    spacing = np.ones(r.ndim) if spacing is None else np.asarray(spacing, float)

    def boundary(mask):
        inner = ndi.binary_erosion(mask, ndi.generate_binary_structure(mask.ndim, 1))
        return np.argwhere(mask & ~inner)

    edge = boundary(p)
    d = cdist(edge * spacing, boundary(r) * spacing).min(axis=1)
    return float(np.mean(np.where(r[tuple(edge.T)], -d, d)))


def my_rician_noise(image, sigma, rng):
    rng = np.random.default_rng(rng)
    real, imaginary = rng.normal(0, sigma, (2, *image.shape))
    return np.abs(image + real + 1j * imaginary)


MINE = {"confusion_matrix": my_confusion_matrix, "dice": my_dice, "iou": my_iou,
        "mean_signed_distance": my_mean_signed_distance, "rician_noise": my_rician_noise}

#: Exercises whose answers are random: their reference is the distribution (the exact moments),
#: not a sample; the library's sampler is what must pass their cases.
SAMPLERS = {"rician_noise": lambda image, sigma, rng: __import__(
    "mlseg.imaging", fromlist=["_"]).rician_noise(image, sigma, rng=rng)}


@pytest.mark.parametrize("name", sorted(MINE))
def test_an_independent_right_answer_passes(name, capsys):
    check(name, MINE[name])
    out = capsys.readouterr().out
    n = len(run_checks(name, MINE[name]))
    assert out == f"{name}: {n}/{n} checks passed\n"
    assert n >= 8


@pytest.mark.parametrize("name", sorted(checks.EXERCISES))
def test_every_reference_passes_its_own_cases(name):
    exercise = checks.EXERCISES[name]
    cases = exercise.cases(np.random.default_rng(checks.PUBLIC_SEED))
    assert cases, name
    for case in cases:
        call = checks.call_answer(SAMPLERS.get(name, exercise.reference), case, 30)
        assert checks.judge(exercise, case, call).passed, case.name


def test_the_chapter_index_matches_what_the_modules_register():
    for module, names in checks.CHAPTERS.items():
        registered = dict(checks.EXERCISES._loaded)
        importlib.import_module(f"mlseg.checks.{module}")
        assert all(checks.EXERCISES[n].name == n for n in names)
        assert set(checks.EXERCISES._loaded) - set(registered) <= set(names), module
    assert len(checks.EXERCISES) == len(set(checks.EXERCISES)) == len(checks.EXERCISES._loaded)


def test_importing_the_engine_loads_no_chapter_code_and_never_torch():
    code = ("import sys, mlseg.checks as c\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(('mlseg.', 'torch', "
            "'scipy', 'sklearn', 'matplotlib', 'pandas')))\n"
            "print(loaded)\n"
            "c.EXERCISES['dice']\n"
            "print(sorted(m for m in sys.modules if m.startswith('mlseg.checks.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == "['mlseg.checks']"
    assert out[1] == "['mlseg.checks.ch02_evaluation']"


def _dice_alias(reference, prediction):
    from mlseg.metrics import dice as d

    return d(reference, prediction)


def _dice_dynamic(reference, prediction):
    module = importlib.import_module("mlseg." + "metrics")
    return getattr(module, "di" + "ce")(reference, prediction)


def _dice_via_helper(reference, prediction):
    return _dice_alias(reference, prediction) + 0.0


@pytest.mark.parametrize("answer", [
    metrics.dice, lambda r, p: metrics.dice(r, p), _dice_alias, _dice_dynamic, _dice_via_helper,
], ids=["the function itself", "attribute", "from-import alias", "import_module + getattr",
        "through a helper"])
def test_an_answer_that_calls_the_library_function_gets_no_credit(answer):
    results = run_checks("dice", answer)
    assert not any(r.passed for r in results)
    assert all("`mlseg.metrics.dice`" in r.detail for r in results)
    with pytest.raises(CheckFailed, match="calls the library's `mlseg.metrics.dice`, the "
                                          "function this exercise asks you to write"):
        check("dice", answer)


def test_calling_other_library_functions_is_allowed():
    def dice_from_confusion(reference, prediction):
        tp, fp, fn, _ = metrics.confusion(reference, prediction)
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")

    assert all(r.passed for r in run_checks("dice", dice_from_confusion))


def test_library_calls_are_caught_off_the_main_thread_too():
    box = {}
    thread = threading.Thread(target=lambda: box.update(r=run_checks("dice", _dice_alias)))
    thread.start()
    thread.join(30)
    assert box["r"] and all("`mlseg.metrics.dice`" in r.detail for r in box["r"])


def test_a_failure_lists_every_failing_family_and_the_hint():
    def dice_2d_only(reference, prediction):
        if reference.ndim == 3:
            return 0.5
        return my_dice(reference, prediction) if reference.any() or prediction.any() else 0.0

    with pytest.raises(CheckFailed) as info:
        check("dice", dice_2d_only)
    message = str(info.value)
    assert "case 'both empty' failed: expected nan, got 0.0" in message
    assert "failing cases: both empty; random 3D\n" in message
    assert f"hint: {checks.EXERCISES['dice'].hint}" in message and "NaN" in message


def test_cases_include_the_lecture_empty_table():
    names = [r.case for r in run_checks("dice", my_dice)]
    assert {"reference empty", "prediction empty", "both empty"} <= set(names)


def test_dice_that_returns_zero_for_both_empty_fails_naming_the_case():
    def dice_zero_when_empty(reference, prediction):
        total = reference.sum() + prediction.sum()
        return 2 * (reference & prediction).sum() / total if total else 0.0

    with pytest.raises(CheckFailed, match="case 'both empty' failed: expected nan, got 0.0"):
        check("dice", dice_zero_when_empty)


def test_dice_returning_iou_fails_on_the_first_partial_overlap():
    with pytest.raises(CheckFailed) as info:
        check("dice", metrics.iou)
    assert "disjoint" not in str(info.value)  # 0 == 0 there
    assert "checks passed)" in str(info.value)


def test_infinite_loop_fails_the_check_instead_of_hanging():
    def forever(reference, prediction):
        while True:
            pass

    start = time.perf_counter()
    results = run_checks("dice", forever, timeout=0.3)
    elapsed = time.perf_counter() - start
    assert not any(r.passed for r in results)
    assert results[0].detail.startswith("timed out after 0.3 s")
    assert results[-1].detail.startswith("not run")  # gives up after a few time-outs
    assert elapsed < 3


def test_infinite_loop_that_catches_exception_still_times_out():
    def stubborn(reference, prediction):
        while True:
            try:
                time.sleep(0.01)
            except Exception:  # a student's catch-all must not swallow the time limit
                pass

    results = run_checks("iou", stubborn, timeout=0.2)
    assert results[0].detail.startswith("timed out")


def test_time_limit_also_works_off_the_main_thread():
    box = {}

    def worker():
        box["results"] = run_checks("dice", lambda r, p: time.sleep(10), timeout=0.2)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(5)
    assert not thread.is_alive()
    assert box["results"][0].detail.startswith("timed out")


def test_modifying_an_input_in_place_is_reported():
    def sneaky(reference, prediction):
        reference[...] = prediction
        return my_dice(prediction, prediction)

    with pytest.raises(CheckFailed, match="modified its input argument 1 in place"):
        check("dice", sneaky)


def test_student_prints_are_captured_and_shown_only_on_failure(capsys):
    def chatty(reference, prediction):
        print("debugging!")
        return my_dice(reference, prediction)

    check("dice", chatty)
    assert "debugging" not in capsys.readouterr().out

    def chatty_wrong(reference, prediction):
        print("debugging!")
        return 0.5

    with pytest.raises(CheckFailed, match="your function printed:\ndebugging!"):
        check("dice", chatty_wrong)


def test_exceptions_from_the_answer_are_reported_by_type():
    def unfinished(reference, prediction):
        raise NotImplementedError

    results = run_checks("iou", unfinished)
    assert all(r.detail == "raised NotImplementedError" for r in results)


@pytest.mark.parametrize("bad", [np.array([0.5, 0.5]), "0.5", True, None, [0.5]])
def test_wrong_return_types_fail_with_a_reason(bad):
    results = run_checks("dice", lambda r, p: bad)
    assert not results[3].passed  # "identical squares"
    assert results[3].detail


def test_numpy_scalars_and_zero_d_arrays_are_accepted():
    assert all(r.passed for r in run_checks("dice", lambda r, p: np.float32(
        my_dice(r, p)) if not np.isnan(my_dice(r, p)) else np.nan))
    assert all(r.passed for r in run_checks("iou", lambda r, p: np.array(my_iou(r, p))))


def test_confusion_matrix_accepts_lists_and_arrays_but_checks_the_order():
    assert all(r.passed for r in run_checks(
        "confusion_matrix", lambda r, p, n: my_confusion_matrix(r, p, n).tolist()))
    swapped = run_checks("confusion_matrix", lambda r, p, n: my_confusion_matrix(p, r, n))
    assert not all(r.passed for r in swapped)


def test_distance_cases_use_anisotropic_spacing():
    spacings = [c.kwargs.get("spacing") for c in checks.EXERCISES["mean_signed_distance"].cases(
        np.random.default_rng(checks.PUBLIC_SEED))]
    assert any(s is not None and len(set(s)) > 1 for s in spacings)
    assert None in spacings  # and the default
    ignores_spacing = run_checks("mean_signed_distance",
                                 lambda r, p, spacing=None: my_mean_signed_distance(r, p))
    assert not all(r.passed for r in ignores_spacing)


def test_a_random_answer_is_judged_by_its_distribution():
    assert all(r.passed for r in run_checks("rician_noise", my_rician_noise, seed=99))
    gaussian = run_checks("rician_noise", lambda image, sigma, rng: image + np.random.default_rng(
        rng).normal(0, sigma, image.shape))
    assert not all(r.passed for r in gaussian)


def test_seed_changes_the_random_cases_but_not_the_fixed_ones():
    a = checks.EXERCISES["dice"].cases(np.random.default_rng(1))
    b = checks.EXERCISES["dice"].cases(np.random.default_rng(2))
    assert [c.name for c in a][:9] == [c.name for c in b][:9]
    assert any(c.args[0].shape != d.args[0].shape or not np.array_equal(c.args[0], d.args[0])
               for c, d in zip(a[9:], b[9:]))
    again = checks.EXERCISES["dice"].cases(np.random.default_rng(1))
    assert all(np.array_equal(c.args[0], d.args[0]) for c, d in zip(a, again))


def test_hard_coding_the_public_cases_fails_with_another_seed():
    public = checks.EXERCISES["dice"].cases(np.random.default_rng(checks.PUBLIC_SEED))
    answers = {c.args[0].tobytes() + c.args[1].tobytes(): my_dice(*c.args) for c in public}

    def memorised(reference, prediction):
        return answers.get(reference.tobytes() + prediction.tobytes(), 0.123)

    assert all(r.passed for r in run_checks("dice", memorised))
    assert not all(r.passed for r in run_checks("dice", memorised, seed=99))


def test_predict_the_number_is_judged_at_three_decimals():
    assert run_checks("predict_shifted_nsd", lambda: 0.5625)[0].passed
    assert run_checks("predict_shifted_nsd", lambda: 0.5627)[0].passed
    other = run_checks("predict_shifted_nsd", lambda: 0.92)[0]
    assert not other.passed and "other convention" in other.detail
    assert "0.56" not in other.detail


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: check("dise", my_dice), ValueError, "name must be one of"),
        (lambda: check("dice", 0.5), TypeError, "must be a function"),
        (lambda: check("dice", my_dice, seed="x"), TypeError, "seed"),
        (lambda: check("dice", my_dice, timeout=0), ValueError, "timeout"),
        (lambda: check("dice", my_dice, timeout=True), ValueError, "timeout"),
    ],
)
def test_bad_arguments_to_check(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_infinite_loop_in_a_real_kernel_fails_the_check_and_the_notebook_goes_on(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from mlseg.checks import check\n"
            "def dice(reference, prediction):\n"
            "    while True:\n"
            "        pass\n"
            "check('dice', dice, timeout=0.3)"),
        nbformat.v4.new_code_cell("print('still alive')"),
    ]
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    error = nb.cells[0].outputs[-1]
    assert error.ename == "CheckFailed" and "timed out after 0.3 s" in error.evalue
    assert nb.cells[1].outputs[0].text == "still alive\n"
