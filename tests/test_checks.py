"""Tests of mlseg.checks: does a check pass right answers and catch every kind of wrong one?"""

import threading
import time

import numpy as np
import pytest

from mlseg import checks, metrics
from mlseg.checks import CheckFailed, check, run_checks


@pytest.mark.parametrize("name", ["confusion", "dice", "iou", "volume_similarity", "hausdorff"])
def test_library_reference_passes_its_own_check(name, capsys):
    check(name, getattr(metrics, name))
    out = capsys.readouterr().out
    n = len(run_checks(name, getattr(metrics, name)))
    assert out == f"{name}: {n}/{n} checks passed\n"
    assert n >= 8


def test_cases_include_the_lecture_empty_table():
    names = [r.case for r in run_checks("dice", metrics.dice)]
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
        return metrics.dice(prediction, prediction)

    with pytest.raises(CheckFailed, match="modified its input argument 1 in place"):
        check("dice", sneaky)


def test_student_prints_are_captured_and_shown_only_on_failure(capsys):
    def chatty(reference, prediction):
        print("debugging!")
        return metrics.dice(reference, prediction)

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
        metrics.dice(r, p)) if not np.isnan(metrics.dice(r, p)) else np.nan))
    assert all(r.passed for r in run_checks("iou", lambda r, p: np.array(metrics.iou(r, p))))


def test_confusion_accepts_lists_and_arrays_but_checks_the_order():
    assert all(r.passed for r in run_checks(
        "confusion", lambda r, p: list(metrics.confusion(r, p))))
    swapped = run_checks("confusion", lambda r, p: metrics.confusion(p, r))
    assert not all(r.passed for r in swapped)


def test_hausdorff_cases_use_anisotropic_spacing():
    spacings = [c.kwargs["spacing"] for c in checks.EXERCISES["hausdorff"].cases(
        np.random.default_rng(checks.PUBLIC_SEED))]
    assert any(len(set(s)) > 1 for s in spacings)
    ignores_spacing = run_checks("hausdorff", lambda r, p, spacing=None: metrics.hausdorff(r, p))
    assert not all(r.passed for r in ignores_spacing)


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
    answers = {c.args[0].tobytes() + c.args[1].tobytes(): metrics.dice(*c.args) for c in public}

    def memorised(reference, prediction):
        return answers.get(reference.tobytes() + prediction.tobytes(), 0.123)

    assert all(r.passed for r in run_checks("dice", memorised))
    assert not all(r.passed for r in run_checks("dice", memorised, seed=99))


def test_predict_the_number_is_judged_at_three_decimals():
    assert run_checks("predict_alignment_nsd", lambda: 0.875)[0].passed
    assert run_checks("predict_alignment_nsd", lambda: 0.8751)[0].passed
    assert not run_checks("predict_alignment_nsd", lambda: 0.92)[0].passed


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: check("dise", metrics.dice), ValueError, "name must be one of"),
        (lambda: check("dice", 0.5), TypeError, "must be a function"),
        (lambda: check("dice", metrics.dice, seed="x"), TypeError, "seed"),
        (lambda: check("dice", metrics.dice, timeout=0), ValueError, "timeout"),
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
