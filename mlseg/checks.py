"""Automatic checks of exercise answers against the library's reference implementations.

A check cell in an exercise notebook reads::

    check("dice", dice)

It runs the student's ``dice`` on fixed edge cases (empty masks included) and on seeded random
cases, compares each result with :mod:`mlseg.metrics`, prints one line
(``dice: 10/10 checks passed``) and raises :class:`CheckFailed` naming the first failing case.
Every case has a time limit (an infinite loop fails the check instead of hanging the notebook),
the student's prints are captured, and inputs are passed as copies (modifying one in place is
reported). :func:`run_checks` is the non-raising variant used for grading.

Taught in: every exercise notebook (``exercises/NN_topic.ipynb``).
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["check", "run_checks", "CheckFailed", "CaseResult", "EXERCISES", "PUBLIC_SEED"]

#: Seed of the random cases shown to students; graders use another one.
PUBLIC_SEED = 2024

#: Default time limit of one case, in seconds.
CASE_TIMEOUT = 5.0

#: After this many cases have timed out, the remaining ones fail without being run.
MAX_TIMEOUTS = 2


class CheckFailed(Exception):
    """Raised by :func:`check` when an answer fails a case; the message names the case."""


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
    """What an exercise expects: its cases, its reference answer, how to compare."""

    name: str
    reference: Callable[..., Any]
    cases: Callable[[np.random.Generator], list]
    compare: Callable[[Any, Any], str | None]
    description: str = ""


EXERCISES: dict[str, Exercise] = {}


def register(name, *, reference, cases, compare, description=""):
    """Add an exercise to :data:`EXERCISES` (used by the chapter sections below)."""
    EXERCISES[name] = Exercise(name, reference, cases, compare, description)


# --------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------


def _as_float(value):
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
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"expected an array of shape {np.shape(expected)}, got {type(got).__name__}"
    expected = np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        return f"expected shape {expected.shape}, got {got.shape}"
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        return (f"{int(bad.sum())} of {bad.size} values differ; first at {where}: expected "
                f"{expected[where]!r}, got {got[where]!r}")
    return None


def rounded(decimals):
    """A comparison that accepts a number equal to the expected one at ``decimals`` digits."""

    def compare(got, expected):
        try:
            got = _as_float(got)
        except TypeError as error:
            return str(error)
        if abs(got - expected) > 0.5 * 10**-decimals + 1e-12:
            return f"not quite: {got!r} is not {expected:.{decimals}f} at {decimals} decimals"
        return None

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


def call_answer(fn, case, timeout):
    """Call ``fn`` on a copy of ``case``'s inputs with a time limit, capturing what it prints."""
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    captured = io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            if _can_use_signals():
                with _time_limit(timeout):
                    got = fn(*args, **kwargs)
            else:
                got = _call_in_thread(fn, args, kwargs, timeout)
    except CaseTimeout as error:
        return Call(None, str(error), time.perf_counter() - start, captured.getvalue())
    except Exception as error:  # noqa: BLE001 - the student's exception is the result
        detail = f"raised {type(error).__name__}: {error}".rstrip(": ")
        return Call(None, detail, time.perf_counter() - start, captured.getvalue())
    seconds = time.perf_counter() - start
    for i, (before, after) in enumerate(zip(case.args, args)):
        if not _same(before, after):
            return Call(None, f"modified its input argument {i + 1} in place; work on a copy",
                        seconds, captured.getvalue())
    return Call(got, None, seconds, captured.getvalue())


def call_all(fn, cases, timeout):
    """:func:`call_answer` on every case; after :data:`MAX_TIMEOUTS` time-outs the rest are
    not run (the student should not wait for every case to time out)."""
    calls, timeouts = [], 0
    for case in cases:
        if timeouts >= MAX_TIMEOUTS:
            calls.append(Call(None, f"not run: {timeouts} earlier cases timed out"))
            continue
        call = call_answer(fn, case, timeout)
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


def run_checks(name, answer, *, seed=PUBLIC_SEED, timeout=CASE_TIMEOUT):
    """Run every case of exercise ``name`` on ``answer``; never raises for a wrong answer.

    Parameters
    ----------
    name : str
        The exercise, a key of :data:`EXERCISES` (e.g. ``"dice"``).
    answer : callable
        The student's function.
    seed : int
        Seed of the random cases (the public one by default; graders pass their own).
    timeout : float
        Time limit of each case in seconds.

    Returns
    -------
    list of CaseResult
        One per case, in order: the fixed edge cases first, then the random ones.

    Examples
    --------
    >>> from mlseg import metrics
    >>> results = run_checks("dice", metrics.dice)
    >>> all(r.passed for r in results)
    True
    """
    if not isinstance(name, str) or name not in EXERCISES:
        raise ValueError(f"name must be one of {sorted(EXERCISES)}, got {name!r}")
    if not callable(answer):
        raise TypeError(
            f"answer for {name!r} must be a function, got {type(answer).__name__}: did you "
            "pass the result of calling it instead of the function itself?"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    exercise = EXERCISES[name]
    cases = exercise.cases(np.random.default_rng(int(seed)))
    calls = call_all(answer, cases, float(timeout))
    return [judge(exercise, case, call) for case, call in zip(cases, calls)]


def check(name, answer, *, seed=PUBLIC_SEED, timeout=CASE_TIMEOUT):
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
    >>> from mlseg import metrics
    >>> check("iou", metrics.iou)
    iou: 15/15 checks passed
    """
    results = run_checks(name, answer, seed=seed, timeout=timeout)
    passed = sum(r.passed for r in results)
    failed = [r for r in results if not r.passed]
    if failed:
        first = failed[0]
        message = f"{name}: case '{first.case}' failed: {first.detail} ({passed}/{len(results)} " \
                  "checks passed)"
        if first.output.strip():
            lines = first.output.strip().splitlines()
            message += "\nyour function printed:\n" + "\n".join(lines[:10])
        raise CheckFailed(message)
    print(f"{name}: {passed}/{len(results)} checks passed")


# --------------------------------------------------------------------------------------------
# Chapter 02: evaluation measures
# --------------------------------------------------------------------------------------------


def _random_mask(rng, shape, fill):
    from scipy import ndimage as ndi

    sigma = max(1.0, min(shape) / 8)
    field_ = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    return field_ > np.quantile(field_, 1 - fill)


def _mask_pairs(rng, *, n_random=6, with_spacing=False):
    """Edge cases of the lecture's empty-mask table and more, then random 2D/3D pairs."""
    z = np.zeros((6, 6), bool)
    four = z.copy()
    four[2:4, 2:4] = True
    line = np.zeros((1, 9), bool)
    line[0, 2:7] = True
    corner = z.copy()
    corner[:3, :3] = True
    pairs = [
        ("reference empty", z, four),
        ("prediction empty", four, z),
        ("both empty", z, z.copy()),
        ("identical squares", four, four.copy()),
        ("disjoint squares", four, np.roll(four, 3, axis=1)),
        ("one pixel vs a square", np.eye(6, dtype=bool) & four, four),
        ("mask touching the image border", corner, four),
        ("a 1-row image", line, np.roll(line, 1)),
        ("14x14 squares (lecture)", *_squares()),
    ]
    for i in range(n_random):
        shape = tuple(int(s) for s in rng.integers(8, 24, size=2 if i % 2 == 0 else 3))
        a = _random_mask(rng, shape, rng.uniform(0.1, 0.5))
        b = _random_mask(rng, shape, rng.uniform(0.1, 0.5))
        pairs.append((f"random {len(shape)}D {'x'.join(map(str, shape))} #{i + 1}", a, b))
    cases = []
    for name, a, b in pairs:
        kwargs = {}
        if with_spacing:
            ndim = a.ndim
            if name.startswith("random") or name.startswith("disjoint"):
                kwargs = {"spacing": tuple(float(s) for s in rng.uniform(0.5, 3.0, size=ndim))}
            else:
                kwargs = {"spacing": (1.0,) * ndim}
        cases.append(Case(name, (a, b), kwargs))
    return cases


def _squares():
    reference = np.zeros((14, 14), bool)
    reference[5:9, 5:9] = True
    prediction = np.zeros((14, 14), bool)
    prediction[4:10, 4:10] = True
    return reference, prediction


def _register_chapter_02():
    from . import metrics

    register("confusion", reference=metrics.confusion, cases=_mask_pairs, compare=compare_ints,
             description="confusion(reference, prediction) -> (tp, fp, fn, tn)")
    for name in ("dice", "iou", "volume_similarity"):
        register(name, reference=getattr(metrics, name), cases=_mask_pairs, compare=compare_float,
                 description=f"{name}(reference, prediction) -> float (NaN for 0/0)")
    register("hausdorff", reference=lambda r, p, spacing=None: metrics.hausdorff(
                 r, p, spacing=spacing),
             cases=lambda rng: _mask_pairs(rng, with_spacing=True), compare=compare_float,
             description="hausdorff(reference, prediction, spacing=...) -> float in mm")
    register("predict_alignment_nsd",
             reference=lambda: metrics.nsd(*_squares(), 1.0),
             cases=lambda rng: [Case("the 14x14 squares, tolerance 1 mm")],
             compare=rounded(3),
             description="predict_alignment_nsd() -> NSD of the 14x14 squares at 1 mm")


_register_chapter_02()


# --------------------------------------------------------------------------------------------
# Chapter 01: imaging challenges
# --------------------------------------------------------------------------------------------


def _images(rng, n_random=5):
    """Small images: constant, ramps, a brain slice, odd sizes, then random ones."""
    from . import phantoms

    ramp = np.linspace(0, 1, 48).reshape(6, 8)
    brain, _ = phantoms.brain_slice(size=32, rng=int(rng.integers(1000)))
    images = [("constant 4x4", np.full((4, 4), 0.5)), ("ramp 6x8", ramp),
              ("brain slice 32x32", brain.astype(float)),
              ("odd size 7x10", np.arange(70, dtype=float).reshape(7, 10) / 70)]
    for i in range(n_random):
        shape = tuple(int(v) for v in rng.integers(4, 20, size=2))
        images.append((f"random {shape[0]}x{shape[1]} #{i + 1}", rng.random(shape)))
    return images


def _block_average_cases(rng):
    cases = []
    for name, image in _images(rng):
        for factor in (1, 2, 3):
            if min(image.shape) >= factor:
                cases.append(Case(f"{name}, factor {factor}", (image, factor)))
    return cases


def _rician_cases(rng):
    cases = []
    for name, image in _images(rng, n_random=3):
        sigma = float(rng.choice([0.0, 0.05, 0.3]))
        seed = int(rng.integers(0, 2**31))
        cases.append(Case(f"{name}, sigma {sigma}, seed {seed}", (image, sigma, seed)))
    return cases


def _bias_cases(rng):
    cases = [Case("no bias 4x4", ((4, 4), (0.0, 0.0, 0.0, 0.0, 0.0))),
             Case("left-right 3x5", ((3, 5), (0.5, 0.0, 0.0, 0.0, 0.0))),
             Case("up-down 6x2", ((6, 2), (0.0, -0.7, 0.0, 0.0, 0.0))),
             Case("single pixel row 1x7", ((1, 7), (0.2, 0.3, 0.1, 0.0, 0.0)))]
    for i in range(5):
        shape = tuple(int(v) for v in rng.integers(2, 40, size=2))
        coefficients = tuple(float(v) for v in rng.uniform(-0.8, 0.8, size=5))
        cases.append(Case(f"random {shape[0]}x{shape[1]} #{i + 1}", (shape, coefficients)))
    return cases


def _register_chapter_01():
    from . import imaging

    register("block_average", reference=imaging.block_average, cases=_block_average_cases,
             compare=compare_array,
             description="block_average(image, factor) -> the mean of each factor x factor block")
    register("rician_noise",
             reference=lambda image, sigma, seed: imaging.rician_noise(image, sigma, rng=seed),
             cases=_rician_cases, compare=compare_array,
             description="rician_noise(image, sigma, seed) -> sqrt((image + n1)**2 + n2**2)")
    register("polynomial_bias", reference=imaging.polynomial_bias, cases=_bias_cases,
             compare=compare_array,
             description="polynomial_bias(shape, coefficients) -> exp(c0 x + c1 y + c2 x y + "
                         "c3 x^2 + c4 y^2)")


_register_chapter_01()


# --------------------------------------------------------------------------------------------
# Chapter 03: classical methods
# --------------------------------------------------------------------------------------------


def _range_cases(rng):
    from . import phantoms

    brain, _ = phantoms.brain_slice(size=32, rng=int(rng.integers(1000)))
    brain8 = np.round(brain / brain.max() * 255).astype(np.uint8)
    cases = [Case("8-bit brain, grey matter window", (brain8, 100, 180)),
             Case("window of one value", (np.array([[1, 2], [2, 3]]), 2, 2)),
             Case("empty window", (np.arange(12.0).reshape(3, 4), 20, 30)),
             Case("everything", (np.arange(12.0).reshape(3, 4), -1, 100)),
             Case("3D volume", (np.arange(24.0).reshape(2, 3, 4), 5, 17))]
    for i in range(4):
        image = rng.random(tuple(int(v) for v in rng.integers(3, 15, size=2)))
        lower, upper = sorted(float(v) for v in rng.random(2))
        cases.append(Case(f"random #{i + 1}", (image, lower, upper)))
    return cases


def _region_cases(rng):
    from scipy import ndimage as ndi

    from . import phantoms

    brain, _ = phantoms.brain_slice(size=32, rng=int(rng.integers(1000)))
    stripes = np.array([[1, 1, 0, 1, 1],
                        [1, 0, 0, 1, 1],
                        [1, 1, 1, 1, 0]], float)
    cases = [Case("two stripes joined at the bottom", (stripes, (0, 0), 0.5, 1.5)),
             Case("diagonal neighbours do not count", (np.eye(4), (0, 0), 0.5, 1.5)),
             Case("seed outside the window grows nothing", (stripes, (0, 2), 0.5, 1.5)),
             Case("brain slice", (brain, (16, 20), float(brain[16, 20]) - 0.08,
                                  float(brain[16, 20]) + 0.08))]
    for i in range(4):
        shape = tuple(int(v) for v in rng.integers(5, 25, size=2))
        image = ndi.gaussian_filter(rng.random(shape), 1.0)
        seed = tuple(int(rng.integers(n)) for n in shape)
        lower = float(image[seed]) - float(rng.uniform(0.01, 0.1))
        cases.append(Case(f"random {shape[0]}x{shape[1]} #{i + 1}",
                          (image, seed, lower, lower + float(rng.uniform(0.05, 0.2)))))
    return cases


def _vote_cases(rng):
    cases = [Case("unanimous", ([np.ones((2, 2), int)] * 3,)),
             Case("a tie goes to the smaller label", ([np.array([[2]]), np.array([[1]])],)),
             Case("three atlases, one voxel each way", (
                 [np.array([1, 2, 0]), np.array([1, 3, 0]), np.array([2, 3, 1])],)),
             Case("one atlas", ([np.array([[0, 4], [2, 2]])],))]
    for i in range(4):
        shape = tuple(int(v) for v in rng.integers(2, 12, size=2))
        n = int(rng.integers(2, 7))
        maps = [rng.integers(0, 5, size=shape) for _ in range(n)]
        cases.append(Case(f"{n} random label maps {shape[0]}x{shape[1]} #{i + 1}", (maps,)))
    return cases


def _register_chapter_03():
    from . import atlas, region_growing, thresholding

    register("threshold_range", reference=thresholding.threshold_range, cases=_range_cases,
             compare=compare_array,
             description="threshold_range(image, lower, upper) -> lower <= image <= upper")
    register("region_grow_queue",
             reference=lambda image, seed, lower, upper: region_growing.region_grow(
                 image, seed, lower=lower, upper=upper, connectivity=1),
             cases=_region_cases, compare=compare_array,
             description="region_grow_queue(image, seed, lower, upper) -> bool mask (4-neighbours)")
    register("majority_vote", reference=atlas.majority_vote, cases=_vote_cases,
             compare=compare_array,
             description="majority_vote(label_maps) -> most frequent label, ties: the smallest")


_register_chapter_03()
