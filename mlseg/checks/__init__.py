"""Automatic checks of exercise answers against the library's reference implementations.

A check cell in an exercise notebook reads::

    check("dice", dice)

It runs the student's ``dice`` on fixed edge cases (empty masks included) and on seeded random
cases, compares each result with :mod:`mlseg.metrics`, prints one line
(``dice: 10/10 checks passed``) and raises :class:`CheckFailed` naming the failing cases, what is
special about them, and a hint. Every case has a time limit (an infinite loop fails the check
instead of hanging the notebook), the student's prints are captured, inputs are passed as copies
(modifying one in place is reported), and an answer that calls the very library function it is
meant to re-implement gets no credit. :func:`run_checks` is the non-raising variant used for
grading.

This module is only the engine: it imports numpy and nothing of the course. The exercises of each
chapter live in their own module (``ch02_evaluation``, ...), imported the first time one of their
exercises is named (:data:`EXERCISES` loads them on demand, see :data:`CHAPTERS`).

Taught in: every exercise notebook (``exercises/NN_topic.ipynb``).
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import io
import math
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["check", "run_checks", "CheckFailed", "CaseResult", "EXERCISES", "CHAPTERS",
           "PUBLIC_SEED", "register"]

#: Seed of the random cases shown to students; graders use another one.
PUBLIC_SEED = 2024

#: Default time limit of one case, in seconds.
CASE_TIMEOUT = 5.0

#: After this many cases have timed out, the remaining ones fail without being run.
MAX_TIMEOUTS = 2

#: The chapter modules of :mod:`mlseg.checks` and the exercises each defines. A module is
#: imported only when one of its exercises is named, so importing the engine loads no chapter
#: code (and never torch). ``tests/test_checks.py`` checks that this index matches what the
#: modules register.
CHAPTERS = {
    "ch01_imaging": ("block_average", "thick_slices", "rician_noise", "fit_bias",
                     "predict_partial_volume"),
    "ch02_evaluation": ("confusion_matrix", "dice", "iou", "volume_similarity",
                        "mean_signed_distance", "predict_shifted_nsd"),
    "ch04_dense": ("fcn_geometry", "to_fully_convolutional", "sliding_window_map",
                   "why_no_digit_class"),
    "ch05_unet": ("unpool_with_indices", "transpose_conv_size", "why_checkerboard", "up_block",
                  "unet_output_size", "predict_dilated_field", "receptive_field", "tile_plan",
                  "tiled_apply"),
    "ch03_classical": ("otsu_two_thresholds", "region_grow_3d", "locally_weighted_vote",
                       "best_split", "predict_region_size"),
    "ch06_transformers": ("patchify", "unpatchify", "attention", "multi_head_attention",
                          "sincos_positions", "encode_clicks", "predict_attention_weights",
                          "why_transformers_need_data"),
}


class CheckFailed(Exception):
    """Raised by :func:`check` when an answer fails a case; the message names the cases."""


class CaseTimeout(BaseException):
    """Raised inside a case that ran past its time limit (a BaseException, so that a student's
    ``except Exception`` cannot swallow it)."""


@dataclass
class CaseResult:
    """The outcome of one case of one exercise."""

    exercise: str
    case: str
    passed: bool
    detail: str = ""
    seconds: float = 0.0
    output: str = ""


@dataclass
class Case:
    """One input of an exercise: positional and keyword arguments for the answer."""

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass
class Exercise:
    """What an exercise expects: its cases, its reference answer, how to compare.

    ``forbidden`` are the library functions the exercise asks the student to write: an answer
    that calls one of them gets no credit. ``timeout`` is the time limit of one case in seconds
    (the grader takes it from the check cell's metadata, ``{"mlseg": {"timeout": ...}}``).
    """

    name: str
    reference: Callable[..., Any]
    cases: Callable[[np.random.Generator], list]
    compare: Callable[[Any, Any], str | None]
    description: str = ""
    hint: str = ""
    forbidden: tuple = ()
    timeout: float = CASE_TIMEOUT


class _Registry(Mapping):
    """``{name: Exercise}``, importing a chapter's module the first time one of its exercises
    is looked up."""

    def __init__(self):
        self._loaded = {}

    def _load(self, name):
        if name not in self._loaded:
            for module, names in CHAPTERS.items():
                if name in names:
                    importlib.import_module(f"{__name__}.{module}")
                    break
        return self._loaded.get(name)

    def __getitem__(self, name):
        exercise = self._load(name) if isinstance(name, str) else None
        if exercise is None:
            raise KeyError(name)
        return exercise

    def __contains__(self, name):
        return isinstance(name, str) and any(name in names for names in CHAPTERS.values())

    def __iter__(self):
        return iter(sorted(n for names in CHAPTERS.values() for n in names))

    def __len__(self):
        return sum(len(names) for names in CHAPTERS.values())


#: Every exercise by name (chapter modules load on first use).
EXERCISES = _Registry()


def register(name, *, reference, cases, compare, description="", hint="", forbidden=None,
             timeout=CASE_TIMEOUT):
    """Add an exercise to :data:`EXERCISES` (called by the chapter modules).

    ``forbidden`` defaults to ``(reference,)`` when the reference is a library function.
    """
    if forbidden is None:
        forbidden = (reference,) if _is_library_function(reference) else ()
    EXERCISES._loaded[name] = Exercise(name, reference, cases, compare, description, hint,
                                       tuple(forbidden), float(timeout))


def _is_library_function(fn):
    module = getattr(fn, "__module__", "") or ""
    return module.startswith("mlseg.") and getattr(fn, "__name__", "") != "<lambda>"


def dotted_name(fn):
    """``"mlseg.metrics.dice"`` for a library function or class (how feedback names it)."""
    return f"{fn.__module__}.{fn.__qualname__}"


def _code_of(obj):
    """The code object whose running means ``obj`` is used: a function's own code, a class's
    ``__init__`` (constructing it) — e.g. forbidding ``FCLeNet`` forbids building one."""
    if isinstance(obj, type):
        obj = obj.__dict__.get("__init__")
    return getattr(obj, "__code__", None)


# --------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------


def as_numpy(value):
    """A torch tensor (on any device, with or without grad) as a numpy array; else unchanged."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu()
        if not value.dtype.is_floating_point or value.dtype.itemsize >= 4:
            return value.numpy()
        return value.float().numpy()  # float16/bfloat16: numpy lacks bfloat16
    return value


def _as_float(value):
    value = as_numpy(value)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"expected a number, got the bool {value!r}")
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise TypeError(f"expected a single number, got an array of shape {value.shape}")
        value = value.reshape(()).item()
    if hasattr(value, "item") and not isinstance(value, (int, float)):  # numpy / torch scalars
        value = value.item()
    if not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def compare_float(got, expected, *, rtol=1e-6, atol=1e-9):
    """``None`` if ``got`` equals ``expected`` (NaN equals NaN), else the reason it does not."""
    try:
        got = _as_float(got)
    except TypeError as error:
        return str(error)
    expected = float(expected)
    if math.isnan(expected) or math.isnan(got):
        if math.isnan(expected) and math.isnan(got):
            return None
        return f"expected {expected!r}, got {got!r}"
    if math.isinf(got):
        return f"expected {expected!r}, got {got!r} (never inf: use NaN for undefined)"
    if not math.isclose(got, expected, rel_tol=rtol, abs_tol=atol):
        return f"expected {expected!r}, got {got!r}"
    return None


def compare_ints(got, expected):
    """``None`` if ``got`` is a sequence of integers equal to ``expected``."""
    try:
        values = [int(v) for v in got]
        if any(float(v) != int(v) for v in got):
            raise ValueError
    except (TypeError, ValueError):
        return f"expected a tuple of {len(expected)} integers {tuple(expected)}, got {got!r}"
    if len(values) != len(expected):
        return f"expected {len(expected)} numbers {tuple(expected)}, got {len(values)}: {got!r}"
    if tuple(values) != tuple(expected):
        return f"expected {tuple(int(v) for v in expected)}, got {tuple(values)}"
    return None


def compare_array(got, expected, *, rtol=1e-5, atol=1e-8):
    """``None`` if ``got`` is an array of the expected shape and values, else the reason."""
    try:
        got = np.asarray(as_numpy(got), dtype=float)
    except (TypeError, ValueError):
        return f"expected an array of shape {np.shape(expected)}, got {type(got).__name__}"
    expected = np.asarray(as_numpy(expected), dtype=float)
    if got.shape != expected.shape:
        return f"expected shape {expected.shape}, got {got.shape}"
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        return (f"{int(bad.sum())} of {bad.size} values differ; first at {where}: expected "
                f"{expected[where]!r}, got {got[where]!r}")
    return None


def rounded(decimals, *, known=None):
    """A comparison for "predict the number" questions: accepts a number equal to the expected
    one at ``decimals`` digits and never reveals the expected value.

    ``known`` maps values a student may reasonably give (another convention, a classic slip) to
    what to tell them, e.g. ``{0.92: "that is the surface-element NSD; ..."}``.

    Examples
    --------
    >>> compare = rounded(2, known={0.5: "that is half of it"})
    >>> compare(0.874, 0.875) is None
    True
    >>> compare(0.5, 0.875)
    'not quite: 0.5 (at 2 decimals) is not the value; that is half of it'
    >>> compare(0.7, 0.875)
    'not quite: 0.7 (at 2 decimals) is not the value'
    """

    def compare(got, expected):
        try:
            got = _as_float(got)
        except TypeError as error:
            return str(error)
        tolerance = 0.5 * 10**-decimals + 1e-12
        if math.isnan(got) or abs(got - expected) > tolerance:
            message = f"not quite: {got!r} (at {decimals} decimals) is not the value"
            for value, why in (known or {}).items():
                if abs(got - value) <= tolerance:
                    message += f"; {why}"
                    break
            return message
        return None

    return compare


def choice(*, known=None):
    """A comparison for multiple-choice questions answered with a letter (``"B"``); accepts
    either case, never reveals the right letter; ``known`` maps wrong letters to what to tell
    the student about them.

    Examples
    --------
    >>> compare = choice(known={"A": "more training would not change this"})
    >>> compare("b", "B") is None
    True
    >>> compare("A", "B")
    "not this one: 'A'; more training would not change this"
    """

    def compare(got, expected):
        if not isinstance(got, str) or len(got.strip()) != 1:
            return f"expected one letter such as 'A', got {got!r}"
        letter = got.strip().upper()
        if letter == expected:
            return None
        why = (known or {}).get(letter)
        return f"not this one: {letter!r}" + (f"; {why}" if why else "")

    return compare


# --------------------------------------------------------------------------------------------
# Running one case with a time limit, captured output and protected inputs
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _time_limit(seconds):
    """Raise :class:`CaseTimeout` in the main thread after ``seconds`` (POSIX signals).

    Elsewhere (a worker thread, Windows) the limit is applied by :func:`_call_in_thread`.
    """

    def on_alarm(signum, frame):
        raise CaseTimeout(f"timed out after {seconds:g} s (an infinite loop?)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _can_use_signals():
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _call_in_thread(fn, args, kwargs, seconds):
    box = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - reported to the student
            box["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise CaseTimeout(f"timed out after {seconds:g} s (an infinite loop?)")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(
            a, b, equal_nan=a.dtype.kind == "f")
    return True


@dataclass
class Call:
    """What an answer did on one case, before it is judged: returned ``got``, or a ``problem``
    (raised, timed out, modified its input)."""

    got: Any = None
    problem: str | None = None
    seconds: float = 0.0
    output: str = ""


#: How a case's problem starts when the answer called a forbidden library function.
LIBRARY_CALL = "calls the library's"


def library_call_message(names):
    """The problem of an answer that called the function(s) it is meant to re-implement."""
    listed = ", ".join(f"`{n}`" for n in sorted(set(names)))
    return (f"{LIBRARY_CALL} {listed}, the function this exercise asks you to write: no credit "
            "for an answer that calls it; write it yourself (numpy and scipy are fine)")


@contextlib.contextmanager
def _watch_calls(functions):
    """Record every call of ``functions`` made inside the block, whatever name or import style
    reached them (the code objects are watched, not the names). Yields a list of the dotted
    names called."""
    codes = {_code_of(f): dotted_name(f) for f in functions if _code_of(f) is not None}
    hits = []
    if not codes:
        yield hits
        return
    monitoring = getattr(sys, "monitoring", None)  # Python >= 3.12: only these codes pay
    tool = None
    if monitoring is not None:
        tool = next((t for t in (5, 4, 3, 2) if monitoring.get_tool(t) is None), None)
    if tool is not None:
        start = monitoring.events.PY_START
        monitoring.use_tool_id(tool, "mlseg-checks")
        monitoring.register_callback(tool, start, lambda code, offset: hits.append(codes[code]))
        for code in codes:
            monitoring.set_local_events(tool, code, start)
        try:
            yield hits
        finally:
            for code in codes:
                monitoring.set_local_events(tool, code, 0)
            monitoring.register_callback(tool, start, None)
            monitoring.free_tool_id(tool)
        return

    def hook(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            hits.append(codes[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(hook)
    threading.setprofile(hook)  # the worker thread of _call_in_thread
    try:
        yield hits
    finally:
        sys.setprofile(previous)
        threading.setprofile(None)


def call_answer(fn, case, timeout, forbidden=()):
    """Call ``fn`` on a copy of ``case``'s inputs with a time limit, capturing what it prints;
    a call of one of the ``forbidden`` library functions is the problem of the case."""
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    captured = io.StringIO()
    start = time.perf_counter()
    with _watch_calls(forbidden) as called:
        try:
            with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                if _can_use_signals():
                    with _time_limit(timeout):
                        got = fn(*args, **kwargs)
                else:
                    got = _call_in_thread(fn, args, kwargs, timeout)
            problem = None
        except CaseTimeout as error:
            got, problem = None, str(error)
        except Exception as error:  # noqa: BLE001 - the student's exception is the result
            got, problem = None, f"raised {type(error).__name__}: {error}".rstrip(": ")
    seconds = time.perf_counter() - start
    if called:
        return Call(None, library_call_message(called), seconds, captured.getvalue())
    if problem is not None:
        return Call(None, problem, seconds, captured.getvalue())
    for i, (before, after) in enumerate(zip(case.args, args)):
        if not _same(before, after):
            return Call(None, f"modified its input argument {i + 1} in place; work on a copy",
                        seconds, captured.getvalue())
    return Call(got, None, seconds, captured.getvalue())


def call_all(fn, cases, timeout, forbidden=()):
    """:func:`call_answer` on every case; after :data:`MAX_TIMEOUTS` time-outs the rest are
    not run (the student should not wait for every case to time out)."""
    calls, timeouts = [], 0
    for case in cases:
        if timeouts >= MAX_TIMEOUTS:
            calls.append(Call(None, f"not run: {timeouts} earlier cases timed out"))
            continue
        call = call_answer(fn, case, timeout, forbidden)
        timeouts += bool(call.problem and call.problem.startswith("timed out"))
        calls.append(call)
    return calls


def expected_answer(exercise, case):
    """The reference implementation's answer on ``case``."""
    return exercise.reference(*case.args, **case.kwargs)


def judge(exercise, case, call, expected=None):
    """Compare what an answer returned on ``case`` with the reference answer (computed here
    unless ``expected`` is given, as the grader does once for a whole class)."""
    if call.problem is not None:
        return CaseResult(exercise.name, case.name, False, call.problem, call.seconds,
                          call.output)
    if expected is None:
        expected = expected_answer(exercise, case)
    problem = exercise.compare(call.got, expected)
    return CaseResult(exercise.name, case.name, problem is None, problem or "", call.seconds,
                      call.output)


def _exercise(name):
    if not isinstance(name, str) or name not in EXERCISES:
        raise ValueError(f"name must be one of the course's exercises {sorted(EXERCISES)}, "
                         f"got {name!r}")
    return EXERCISES[name]


def run_checks(name, answer, *, seed=PUBLIC_SEED, timeout=None):
    """Run every case of exercise ``name`` on ``answer``; never raises for a wrong answer.

    Parameters
    ----------
    name : str
        The exercise, a key of :data:`EXERCISES` (e.g. ``"dice"``).
    answer : callable
        The student's function.
    seed : int
        Seed of the random cases (the public one by default; graders pass their own).
    timeout : float, optional
        Time limit of each case in seconds (default: the exercise's own, usually 5 s).

    Returns
    -------
    list of CaseResult
        One per case, in order: the fixed edge cases first, then the random ones.

    Examples
    --------
    >>> results = run_checks("dice", lambda reference, prediction: 1.0)
    >>> [r.case for r in results if not r.passed][:2]
    ['reference empty', 'prediction empty']
    """
    exercise = _exercise(name)
    if not callable(answer):
        raise TypeError(
            f"answer for {name!r} must be a function, got {type(answer).__name__}: did you "
            "pass the result of calling it instead of the function itself?"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if timeout is None:
        timeout = exercise.timeout
    if isinstance(timeout, bool) or not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    cases = exercise.cases(np.random.default_rng(int(seed)))
    calls = call_all(answer, cases, float(timeout), exercise.forbidden)
    return [judge(exercise, case, call) for case, call in zip(cases, calls)]


def case_family(case):
    """What kind of case a case name describes, without its sizes and number.

    Examples
    --------
    >>> case_family("random 3D 12x9x20 #4")
    'random 3D'
    """
    words = [w for w in case.split() if not w.startswith("#")
             and not re.fullmatch(r"\d+(x\d+)+,?", w)]
    return " ".join(words) or case


def failure_message(name, results):
    """What :func:`check` says about failed ``results``: the first failing case and why, every
    family of failing cases, and the exercise's hint. ``None`` if every case passed."""
    failed = [r for r in results if not r.passed]
    if not failed:
        return None
    passed = len(results) - len(failed)
    first = failed[0]
    if first.detail.startswith(LIBRARY_CALL):
        return f"{name}: {first.detail}"
    lines = [f"{name}: case '{first.case}' failed: {first.detail} ({passed}/{len(results)} "
             "checks passed)"]
    families = list(dict.fromkeys(case_family(r.case) for r in failed))
    if len(failed) > 1:
        lines.append("failing cases: " + "; ".join(families[:8])
                     + (f"; and {len(families) - 8} more kinds" if len(families) > 8 else ""))
    hint = EXERCISES[name].hint
    if hint:
        lines.append(f"hint: {hint}")
    if first.output.strip():
        printed = first.output.strip().splitlines()
        lines.append("your function printed:\n" + "\n".join(printed[:10]))
    return "\n".join(lines)


def check(name, answer, *, seed=PUBLIC_SEED, timeout=None):
    """Check a student's answer; print one line, raise :class:`CheckFailed` if a case fails.

    Parameters
    ----------
    name : str
        The exercise, a key of :data:`EXERCISES`.
    answer : callable
        The student's function.
    seed, timeout
        As in :func:`run_checks`.

    Examples
    --------
    >>> import numpy as np
    >>> def iou(reference, prediction):
    ...     union = np.logical_or(reference, prediction).sum()
    ...     return np.logical_and(reference, prediction).sum() / union if union else np.nan
    >>> check("iou", iou)
    iou: 15/15 checks passed
    """
    results = run_checks(name, answer, seed=seed, timeout=timeout)
    message = failure_message(name, results)
    if message is not None:
        raise CheckFailed(message)
    print(f"{name}: {len(results)}/{len(results)} checks passed")
