"""Grade a whole class's exercise notebooks: ``python -m mlseg grade SUBMISSIONS --out grades.csv``.

How it stays fair and safe:

* ``SUBMISSIONS/<student>/<NN_topic>.ipynb`` files are only read, never written, moved or
  executed in place: each one runs in its own Jupyter kernel, started in a fresh temporary folder,
  inside its own worker process (so a crash, a runaway loop or a malformed file touches nothing
  else). Submissions are graded in parallel (``--jobs``).
* The student's cells run in order with a per-cell time limit; a cell that does not stop is
  interrupted, and if it ignores the interrupt the kernel is restarted and the good cells are
  replayed without it. The whole notebook has its own limit.
* The student's own check cells are skipped. The grader generates the cases with a seed the
  students never see, computes the expected answers with the pristine library in the worker
  process (which never runs student code), sends only the inputs into the kernel and compares
  the returned values outside it. Faking or monkeypatching ``check`` in a notebook gains nothing.
* Points per exercise come from the check cells' metadata in ``solutions/``
  (``{"mlseg": {"exercise": "dice", "points": 2}}``); partial credit is the fraction of grading
  cases passed times the points.
* ``grades.csv`` (one row per student, notebook and exercise) is written atomically and is
  byte-identical for the same submissions and seed; a per-student summary sits next to it and,
  with ``--feedback DIR``, a readable feedback file per student.

Students use the same engine on their own notebook with the public seed:
``python -m mlseg check exercises/02_evaluation.ipynb``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import checks
from .checks.library_calls import find_library_calls

__all__ = ["NotebookSpec", "ExerciseRow", "load_specs", "grade", "grade_notebook",
           "STATUSES", "SEED_VARIABLE"]

#: The statuses a gradebook row can have.
STATUSES = ("passed", "partial", "failed", "error", "timeout", "missing")

#: Environment variable holding the instructor's grading seed (``--seed`` wins).
SEED_VARIABLE = "MLSEG_GRADING_SEED"

CSV_COLUMNS = ["student", "notebook", "exercise", "score", "max_score", "status", "detail"]


@dataclass
class NotebookSpec:
    """The graded exercises of one course notebook, in order, with their points."""

    notebook: str
    exercises: list  # of (name, points, case time limit in s or None for --case-timeout)

    @property
    def max_score(self):
        return sum(points for _, points, _ in self.exercises)


@dataclass
class ExerciseRow:
    """One row of the gradebook."""

    student: str
    notebook: str
    exercise: str
    score: float
    max_score: float
    status: str
    detail: str
    cases: list = field(default_factory=list)  # CaseResult dicts, for the feedback file


def spec_from_cells(cells, notebook, where=None):
    """The graded exercises of a notebook, read from its check cells' metadata
    (``{"mlseg": {"exercise": "dice", "points": 2, "timeout": 30}}``, timeout optional)."""
    where = where or notebook
    exercises = []
    for cell in cells:
        meta = (cell.get("metadata") or {}).get("mlseg")
        if cell.get("cell_type") != "code" or not meta:
            continue
        if not isinstance(meta, dict):
            raise ValueError(f"{where}: a check cell's mlseg metadata must be a dict, got {meta!r}")
        name, points, limit = meta.get("exercise"), meta.get("points"), meta.get("timeout")
        if name not in checks.EXERCISES:
            raise ValueError(f"{where}: check cell names unknown exercise {name!r}")
        for label, value in (("points", points), ("timeout", limit)):
            if value is None and label == "timeout":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{where}: the {label} of exercise {name!r} must be a positive "
                                 f"number, got {value!r}")
        exercises.append((name, points, limit))
    return NotebookSpec(notebook, exercises)


def load_specs(root=None):
    """Read the graded exercises (name, points, time limit) of every
    ``solutions/NN_topic.ipynb``.

    Returns
    -------
    dict of str to NotebookSpec
        Keyed by notebook file name, e.g. ``"02_evaluation.ipynb"``.
    """
    import nbformat

    from .exercises import find_root

    root = find_root(root)
    specs = {}
    for path in sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        specs[path.name] = spec_from_cells(nb.cells, path.name, path.name)
    if not specs:
        raise FileNotFoundError(f"no solution notebooks in {root / 'solutions'}")
    return specs


# --------------------------------------------------------------------------------------------
# Values crossing the kernel boundary: plain JSON, never pickle (the kernel runs student code)
# --------------------------------------------------------------------------------------------


#: The largest array (in bytes) an answer may return; larger ones are reported, not graded.
MAX_ARRAY_BYTES = 256 * 2**20


def _encode_array(array, kind):
    if array.dtype.kind not in "biuf" or array.dtype.byteorder == ">":
        if array.dtype.kind not in "biuf":
            return {"__repr__": f"an array of dtype {array.dtype} (expected numbers or bools)"}
        array = array.astype(array.dtype.newbyteorder("<"))
    if array.nbytes > MAX_ARRAY_BYTES:
        return {"__repr__": f"an array of shape {array.shape} ({array.nbytes / 2**20:.0f} MB, "
                            f"over the {MAX_ARRAY_BYTES // 2**20} MB limit)"}
    data = base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")
    return {kind: data, "dtype": array.dtype.str, "shape": list(array.shape)}


def encode_value(value):
    """An exact, JSON-safe form of an answer's return value.

    Numbers (NaN and infinities included), strings, None, tuples, lists, dicts with string keys,
    numpy arrays and torch tensors of any size (bit for bit, dtype and shape kept) cross the
    kernel boundary; anything else becomes a description that compares as wrong.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.generic):
        return encode_value(value.item())
    if isinstance(value, np.ndarray):
        return _encode_array(value, "__ndarray__")
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        try:
            return _encode_array(checks.as_numpy(value), "__tensor__")
        except Exception as error:  # noqa: BLE001 - an odd tensor becomes a description
            return {"__repr__": f"a tensor that could not be read ({error})"[:200]}
    if isinstance(value, (tuple, list)):
        items = [encode_value(v) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode_value(v) for k, v in value.items()}}
    return {"__repr__": f"{type(value).__name__}: {repr(value)[:80]}"}


class _Opaque:
    """Stands for a value that could not cross the kernel boundary (compares as wrong)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _decode_array(obj, kind):
    raw = base64.b64decode(obj[kind])
    array = np.frombuffer(raw, dtype=np.dtype(obj["dtype"])).reshape(obj["shape"]).copy()
    if kind == "__tensor__":
        try:
            import torch
        except ImportError:
            return array
        return torch.from_numpy(array)
    return array


def decode_value(obj):
    """Inverse of :func:`encode_value` (a tensor comes back as a CPU tensor where torch is
    installed, else as a numpy array)."""
    if isinstance(obj, list):
        return [decode_value(v) for v in obj]
    if isinstance(obj, dict):
        if "__float__" in obj:
            return float(obj["__float__"])
        for kind in ("__ndarray__", "__tensor__"):
            if kind in obj:
                return _decode_array(obj, kind)
        if "__tuple__" in obj:
            return tuple(decode_value(v) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: decode_value(v) for k, v in obj["__dict__"].items()}
        return _Opaque(str(obj.get("__repr__", "?")))
    return obj


def answer_in_kernel(fn, cases_path, out_path, timeout, name=None):
    """Kernel side of grading: call the notebook's function ``fn`` on the pickled cases and
    write what it returned (JSON) to ``out_path``. Judging happens outside the kernel; calls
    of the library function that exercise ``name`` re-implements are reported."""
    if fn is None or not callable(fn):
        result = {"missing": True}
    else:
        with open(cases_path, "rb") as handle:
            cases = pickle.load(handle)
        forbidden = checks.EXERCISES[name].forbidden if name in checks.EXERCISES else ()
        calls = checks.call_all(fn, cases, timeout, forbidden)
        result = {"calls": [{"got": encode_value(c.got), "problem": c.problem,
                             "seconds": c.seconds, "output": c.output[-2000:]} for c in calls]}
    with open(out_path, "w") as handle:
        json.dump(result, handle)


# --------------------------------------------------------------------------------------------
# One notebook, in a worker process that owns a kernel
# --------------------------------------------------------------------------------------------


class _Kernel:
    """A Jupyter kernel in its own temporary folder, with timed execution and restart."""

    def __init__(self):
        from jupyter_client.manager import KernelManager

        self.cwd = Path(tempfile.mkdtemp(prefix="mlseg-grade-"))
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(self.cwd), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.kc = None

    def ready(self):
        if self.kc is None:
            self.kc = self.km.client()
            self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        return self

    def run(self, code, timeout):
        """Execute ``code``; return ``(status, detail)`` with status ok, error (detail: the
        exception), timeout (interrupted) or stuck (ignored the interrupt)."""
        try:
            reply = self.kc.execute_interactive(code, timeout=timeout, store_history=False,
                                                allow_stdin=False, output_hook=lambda msg: None)
        except TimeoutError:
            self.km.interrupt_kernel()
            try:
                self.kc.execute_interactive("pass", timeout=3, output_hook=lambda msg: None)
                return "timeout", None
            except TimeoutError:
                return "stuck", None
        content = reply["content"]
        if content["status"] == "ok":
            return "ok", None
        ename, evalue = content.get("ename", "Error"), content.get("evalue", "")
        return "error", f"{ename}: {evalue}".rstrip(": ")

    def restart(self):
        self.km.restart_kernel(now=True)
        self.kc.wait_for_ready(timeout=60)

    def close(self):
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)
        finally:
            shutil.rmtree(self.cwd, ignore_errors=True)


class _KernelPool:
    """Hands out fresh kernels, one per submission; the next one boots while this one works."""

    def __init__(self):
        self.spare = None

    def take(self, spare=True):
        kernel = self.spare if self.spare is not None else _Kernel()
        # the spare was never used: each submission still gets a kernel of its own
        self.spare = _Kernel() if spare else None
        return kernel.ready()

    def close(self):
        if self.spare is not None:
            self.spare.close()
            self.spare = None


def _read_notebook(path):
    """Parse a submission; return ``(notebook, None)`` or ``(None, reason)``."""
    import nbformat

    try:
        data = Path(path).read_bytes()
    except OSError as error:
        return None, f"cannot read the file: {error.strerror}"
    if not data.strip():
        return None, "empty file"
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"not valid JSON ({error.__class__.__name__}: {str(error)[:60]})"
    if not isinstance(raw, dict) or "cells" not in raw:
        return None, "not a Jupyter notebook (no cells)"
    try:
        return nbformat.from_dict(nbformat.reader.reads(json.dumps(raw))), None
    except Exception as error:  # noqa: BLE001 - any malformed notebook
        return None, f"not a valid notebook ({str(error)[:80]})"


def _code_cells(nb):
    """(label, source) of the code cells to run: the student's own check cells are skipped.

    The label names the cell as a student finds it: its number counting every cell from 1 and
    its first line.
    """
    cells = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        if (cell.get("metadata") or {}).get("mlseg"):
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        source = str(source)
        first = next((line.strip() for line in source.splitlines() if line.strip()), "")
        first = first if len(first) <= 40 else first[:37] + "..."
        cells.append((f"cell {number} ({first!r})" if first else f"cell {number}", source))
    return cells


def prepare(spec, seed, folder):
    """Cases and reference answers of every exercise of a notebook, computed once per class.

    The cases are pickled into ``folder`` (the kernels read them); the reference answers stay
    outside the kernels. Returns ``{exercise: (cases_path, cases, expected)}``.
    """
    prepared = {}
    for name, _, _ in spec.exercises:
        exercise = checks.EXERCISES[name]
        cases = exercise.cases(np.random.default_rng(int(seed)))
        expected = [checks.expected_answer(exercise, case) for case in cases]
        path = Path(folder) / f"{spec.notebook}.{name}.cases.pkl"
        with open(path, "wb") as handle:
            pickle.dump(cases, handle)
        prepared[name] = (str(path), cases, expected)
    return prepared


def grade_notebook(path, spec, prepared, *, take_kernel=None, cell_timeout=10.0, timeout=120.0,
                   case_timeout=checks.CASE_TIMEOUT):
    """Grade one submitted notebook against ``spec``; returns ``(rows, notes)``.

    The notebook runs in a new kernel (from ``take_kernel``); this function itself never runs
    student code. ``prepared`` is what :func:`prepare` returned for the notebook.
    """
    deadline = time.monotonic() + timeout
    nb, reason = _read_notebook(path)
    if nb is None:
        return _rows_for_all(spec, "error", reason), []
    notes = []
    kernel = (take_kernel or (lambda: _Kernel().ready()))()
    try:
        good = []
        for label, source in _code_cells(nb):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                notes.append(f"notebook time limit of {timeout:g} s reached at {label}")
                break
            limit = min(cell_timeout, remaining)
            status, detail = kernel.run(source, limit)
            if status == "ok":
                good.append(source)
            elif status == "error":
                notes.append(f"{label} raised {detail}")
            else:
                notes.append(f"{label} timed out after {limit:g} s")
                if status == "stuck":
                    notes[-1] += " and ignored the interrupt: kernel restarted without it"
                    _replay(kernel, good, cell_timeout)
        sources = [source for _, source in _code_cells(nb)]
        rows = []
        for name, points, limit in spec.exercises:
            called = find_library_calls(sources, name, [
                checks.dotted_name(f) for f in checks.EXERCISES[name].forbidden])
            if called:
                rows.append(_library_row(name, points, called))
                continue
            remaining = deadline - time.monotonic()
            rows.append(_grade_exercise(kernel, name, points, prepared[name],
                                        limit or case_timeout, remaining, good, cell_timeout,
                                        notes))
        return rows, notes
    finally:
        kernel.close()


def _replay(kernel, good, cell_timeout):
    kernel.restart()
    for source in good:
        kernel.run(source, cell_timeout)


def _grade_exercise(kernel, name, points, prepared, case_timeout, remaining, good,
                    cell_timeout, notes):
    exercise = checks.EXERCISES[name]
    cases_path, cases, expected = prepared
    if remaining <= 0:
        return _row(name, points, "timeout", "not graded: the notebook time limit was reached")
    out_path = kernel.cwd / f".{name}.{time.monotonic_ns()}.json"
    code = (f"__import__('mlseg.grading', fromlist=['_']).answer_in_kernel("
            f"globals().get({name!r}), {cases_path!r}, {str(out_path)!r}, {case_timeout!r}, "
            f"{name!r})")
    limit = min(remaining, case_timeout * (checks.MAX_TIMEOUTS + 1) + 0.05 * len(cases) + 10)
    status, detail = kernel.run(code, limit)
    if status in ("timeout", "stuck"):
        if status == "stuck":
            _replay(kernel, good, cell_timeout)
        return _row(name, points, "timeout", f"{name} did not return within {limit:.0f} s "
                    "(an infinite loop that ignores the time limit?)")
    if status == "error" or not out_path.exists():
        return _row(name, points, "error", f"could not run {name}: {detail}")
    try:
        result = json.loads(out_path.read_text())
        calls = result.get("calls", [])
        if not result.get("missing") and len(calls) != len(cases):
            raise ValueError("wrong number of results")
    except (ValueError, AttributeError, TypeError):
        return _row(name, points, "error", "the grading results were tampered with")
    if result.get("missing"):
        why = f"no function named {name} in the notebook"
        broken = [n for n in notes if "raised" in n or "timed out" in n]
        if broken:
            why += f" ({broken[0]})"
        return _row(name, points, "missing", why)
    results = []
    for case, raw, want in zip(cases, calls, expected):
        try:
            call = checks.Call(decode_value(raw["got"]), raw["problem"], float(raw["seconds"]),
                               str(raw["output"]))
        except (KeyError, TypeError, ValueError):
            call = checks.Call(None, "unreadable result")
        results.append(checks.judge(exercise, case, call, expected=want))
    library = [r.detail for r in results if r.detail.startswith(checks.LIBRARY_CALL)]
    if library:
        return _row(name, points, "failed", f"{name} {library[0]}")
    return _summarise(name, points, results)


def _library_row(name, points, called):
    """No credit for an answer whose code uses the function it is meant to write."""
    return _row(name, points, "failed",
                f"{name} {checks.library_call_message(called)} (found in your code)")


def _summarise(name, points, results):
    passed = sum(r.passed for r in results)
    total = len(results)
    score = round(points * passed / total, 2) if total else 0.0
    failed = [r for r in results if not r.passed]
    if not failed:
        status, detail = "passed", f"{passed}/{total} cases passed"
    else:
        first = failed[0]
        problems = [r.detail for r in failed]
        if passed:
            status = "partial"
        elif all(p.startswith(("timed out", "not run")) for p in problems):
            status = "timeout"
        elif all(p.startswith(("raised", "not run", "timed out")) for p in problems):
            status = "error"
        else:
            status = "failed"
        detail = f"{passed}/{total} cases passed; first failure: case '{first.case}': " \
                 f"{first.detail}"
    cases = [{"case": r.case, "passed": r.passed, "detail": r.detail} for r in results]
    return _row(name, points, status, detail, score=score, cases=cases)


def _row(name, points, status, detail, *, score=0.0, cases=None):
    detail = " ".join(str(detail).split())[:300]  # one line
    return {"exercise": name, "score": score, "max_score": points, "status": status,
            "detail": detail, "cases": cases or []}


def _rows_for_all(spec, status, detail):
    return [_row(name, points, status, detail) for name, points, _ in spec.exercises]


def _serve():
    """A worker process: grade the jobs it reads on stdin (one JSON line each), one fresh kernel
    per submission, answering with one line per finished job on stdout."""
    pool = _KernelPool()
    loaded = {}
    try:
        for line in sys.stdin:
            job = json.loads(line)
            if job["prepared"] not in loaded:
                with open(job["prepared"], "rb") as handle:
                    loaded[job["prepared"]] = pickle.load(handle)
            prepared = loaded[job["prepared"]][job["notebook"]]
            spec = NotebookSpec(job["notebook"], [tuple(e) for e in job["exercises"]])
            take = (lambda more=job["more"]: pool.take(spare=more))
            rows, notes = grade_notebook(job["path"], spec, prepared, take_kernel=take,
                                         cell_timeout=job["cell_timeout"],
                                         timeout=job["timeout"],
                                         case_timeout=job["case_timeout"])
            tmp = Path(job["result"] + ".tmp")
            tmp.write_text(json.dumps({"rows": rows, "notes": notes}))
            tmp.replace(job["result"])
            sys.stdout.write(json.dumps({"done": job["id"]}) + "\n")
            sys.stdout.flush()
    finally:
        pool.close()


# --------------------------------------------------------------------------------------------
# A class: discovery, parallel workers, gradebook and feedback
# --------------------------------------------------------------------------------------------


@dataclass
class GradeRun:
    """What :func:`grade` did: the rows, per-student notes, and the time it took."""

    rows: list
    notes: dict
    seconds: float

    def counts(self):
        return Counter(row.status for row in self.rows)


def _discover(submissions, specs):
    """Students, the notebooks to grade, and what was found but not graded."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS must be a folder of student folders, got "
                                f"{str(submissions)!r}")
    students, notes, jobs = [], {}, []
    for entry in sorted(submissions.iterdir(), key=lambda p: p.name):
        if not entry.is_dir() or entry.is_symlink():
            notes.setdefault("(top level)", []).append(
                f"{entry.name}: not a student folder, not graded")
            continue
        student = entry.name
        students.append(student)
        found = set()
        for item in sorted(entry.rglob("*"), key=lambda p: str(p)):
            rel = item.relative_to(entry)
            if item.is_dir() or ".ipynb_checkpoints" in rel.parts:
                continue
            if len(rel.parts) == 1 and item.name in specs and not item.is_symlink():
                found.add(item.name)
                jobs.append((student, item.name, item))
            else:
                why = "not one of the course's exercise notebooks" if item.suffix == ".ipynb" \
                    else "not a notebook"
                notes.setdefault(student, []).append(f"{rel}: {why}, not graded")
        if not found:
            notes.setdefault(student, []).append("no exercise notebooks found in the folder")
    if not students:
        raise ValueError(f"SUBMISSIONS {str(submissions)!r} holds no student folders: expected "
                         "SUBMISSIONS/<student>/<NN_topic>.ipynb, one folder per student")
    return students, notes, jobs


class _Worker:
    """A worker process (and the kernels it starts), in a process group of its own so that it
    can be killed whole when a notebook overruns its limit."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.proc = None
        self.stderr = None

    def _start(self):
        import threading

        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlseg.grading", "--serve"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            cwd=self.workdir, text=True, bufsize=1)
        threading.Thread(target=self._drain, args=(self.proc, self.stderr), daemon=True).start()

    @staticmethod
    def _drain(proc, sink):
        for line in proc.stderr:
            sink.write(line)

    def run(self, job, hard_timeout):
        """Grade one job; returns ``(data, None)`` or ``(None, reason)``."""
        import select

        if self.proc is None or self.proc.poll() is not None:
            self._start()
        result = Path(job["result"])
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + hard_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                return None, f"notebook took longer than {job['timeout']:g} s; stopped"
            ready, _, _ = select.select([self.proc.stdout], [], [], min(remaining, 1.0))
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if not line:  # the worker died
                self.stop()
                return None, f"grading crashed: {self._last_error()}"
            try:
                done = json.loads(line).get("done") == job["id"]
            except (ValueError, AttributeError):
                done = False  # a stray line: keep waiting for ours
            if done and result.exists():
                return json.loads(result.read_text()), None

    def _last_error(self):
        if self.stderr is None:
            return "no message"
        self.stderr.seek(0)
        lines = [line.strip() for line in self.stderr.read().splitlines() if line.strip()]
        return lines[-1][:200] if lines else "no message"

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.proc = None

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()  # the worker finishes, shuts its spare kernel down, exits
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        self.stop()


def _grade_jobs(jobs, *, specs, seed, workers, cell_timeout, timeout, case_timeout, workdir,
                progress):
    """Grade ``jobs`` (student, notebook, path) on ``workers`` worker processes.

    Returns ``{(student, notebook): (data, failure)}``.
    """
    import queue
    import threading

    from tqdm.auto import tqdm

    prepared_path = Path(workdir) / "prepared.pkl"
    needed = sorted({notebook for _, notebook, _ in jobs})
    with open(prepared_path, "wb") as handle:
        pickle.dump({nb: prepare(specs[nb], seed, workdir) for nb in needed}, handle)
    todo = queue.Queue()
    for number, (student, notebook, path) in enumerate(jobs):
        todo.put((student, notebook, {
            "id": number, "path": str(Path(path).resolve()), "notebook": notebook,
            "exercises": specs[notebook].exercises, "cell_timeout": cell_timeout,
            "timeout": timeout, "case_timeout": case_timeout, "prepared": str(prepared_path),
            "result": str(Path(workdir) / f"result-{number}.json"),
        }))
    results, lock = {}, threading.Lock()
    bar = tqdm(total=len(jobs), desc="grading", unit="notebook", disable=not progress)

    def slot():
        worker = _Worker(workdir)
        try:
            while True:
                try:
                    student, notebook, job = todo.get_nowait()
                except queue.Empty:
                    return
                job["more"] = todo.qsize() >= len(threads)  # boot a spare kernel meanwhile?
                outcome = worker.run(job, timeout + 30)
                with lock:
                    results[(student, notebook)] = outcome
                    bar.update(1)
        finally:
            worker.close()

    threads = [threading.Thread(target=slot) for _ in range(max(1, min(workers, len(jobs))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bar.close()
    return results


def grade(submissions, *, out, seed, root=None, jobs=1, cell_timeout=10.0, timeout=120.0,
          case_timeout=checks.CASE_TIMEOUT, feedback=None, progress=True):
    """Grade every student's notebooks; write the gradebook, the summary and feedback files.

    Parameters
    ----------
    submissions : path
        ``SUBMISSIONS/<student>/<NN_topic>.ipynb``. Only read, never modified.
    out : path
        The gradebook CSV; the per-student summary goes next to it (``<out>_summary.csv``).
    seed : int
        The grading seed (keep it from the students; it must differ from the public one).
    root : path, optional
        The course folder holding ``solutions/`` (default: found upwards from the current one).
    jobs : int
        Submissions graded in parallel.
    cell_timeout, timeout, case_timeout : float
        Limits in seconds: per cell, per notebook, per grading case.
    feedback : path, optional
        Folder for one ``<student>.md`` feedback file each.
    progress : bool
        Show a progress bar.

    Returns
    -------
    GradeRun
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if int(seed) == checks.PUBLIC_SEED:
        raise ValueError(f"seed must differ from the public seed {checks.PUBLIC_SEED} that the "
                         "students' check cells use")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    for label, value in (("cell_timeout", cell_timeout), ("timeout", timeout),
                         ("case_timeout", case_timeout)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
            raise ValueError(f"{label} must be a positive number of seconds, got {value!r}")
    start = time.monotonic()
    specs = load_specs(root)
    students, notes, found = _discover(submissions, specs)
    with tempfile.TemporaryDirectory(prefix="mlseg-grading-") as workdir:
        outcomes = _grade_jobs(found, specs=specs, seed=int(seed), workers=jobs,
                               cell_timeout=cell_timeout, timeout=timeout,
                               case_timeout=case_timeout, workdir=workdir, progress=progress)
    results = {}
    for (student, notebook), (data, failure) in sorted(outcomes.items()):
        if data is None:
            status = "timeout" if "longer than" in failure else "error"
            results[(student, notebook)] = _rows_for_all(specs[notebook], status, failure)
            notes.setdefault(student, []).append(f"{notebook}: {failure}")
        else:
            results[(student, notebook)] = data["rows"]
            notes.setdefault(student, []).extend(f"{notebook}: {n}" for n in data["notes"])

    rows = []
    for student in students:
        for notebook, spec in specs.items():
            graded = results.get((student, notebook))
            if graded is None:
                graded = _rows_for_all(spec, "missing", "notebook not submitted")
            for row in graded:
                rows.append(ExerciseRow(student, notebook, row["exercise"], row["score"],
                                        row["max_score"], row["status"], row["detail"],
                                        row.get("cases", [])))
    run_info = GradeRun(rows, notes, time.monotonic() - start)
    out = Path(out)
    _write_atomic(out, _gradebook_csv(rows))
    _write_atomic(_summary_path(out), _summary_csv(rows, specs, students))
    if feedback is not None:
        feedback = Path(feedback)
        feedback.mkdir(parents=True, exist_ok=True)
        for student in students:
            _write_atomic(feedback / f"{student}.md",
                          _feedback_text(student, rows, notes.get(student, []), specs))
    return run_info


def _summary_path(out):
    return out.with_name(out.stem + "_summary" + (out.suffix or ".csv"))


def _fmt(score):
    return f"{score:.2f}"


def _gradebook_csv(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([r.student, r.notebook, r.exercise, _fmt(r.score), _fmt(r.max_score),
                         r.status, r.detail])
    return buffer.getvalue()


def _summary_csv(rows, specs, students):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    notebooks = list(specs)
    writer.writerow(["student", "total", "max_total", *notebooks])
    for student in students:
        mine = [r for r in rows if r.student == student]
        per = [_fmt(sum(r.score for r in mine if r.notebook == nb)) for nb in notebooks]
        writer.writerow([student, _fmt(sum(r.score for r in mine)),
                         _fmt(sum(r.max_score for r in mine)), *per])
    return buffer.getvalue()


def _feedback_text(student, rows, notes, specs):
    mine = [r for r in rows if r.student == student]
    total, most = sum(r.score for r in mine), sum(r.max_score for r in mine)
    lines = [f"# Feedback for {student}", "", f"**Total: {_fmt(total)} / {_fmt(most)} points**",
             ""]
    for notebook in specs:
        part = [r for r in mine if r.notebook == notebook]
        got = sum(r.score for r in part)
        lines += [f"## {notebook}: {_fmt(got)} / {_fmt(specs[notebook].max_score)}", "",
                  "| exercise | score | status | detail |", "|---|---|---|---|"]
        for r in part:
            detail = r.detail.replace("|", "\\|")
            lines.append(f"| {r.exercise} | {_fmt(r.score)} / {_fmt(r.max_score)} | {r.status} "
                         f"| {detail} |")
        hints = [_hint(r) for r in part if r.status != "passed"]
        hints = [h for h in hints if h]
        if hints:
            lines += ["", "Hints:", *[f"- {h}" for h in hints]]
        lines.append("")
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def _hint(row):
    description = checks.EXERCISES[row.exercise].description
    if row.status == "missing":
        return f"{row.exercise}: define `{description}` in the notebook."
    if row.status == "timeout":
        return f"{row.exercise}: look for a loop that never ends."
    if row.status == "error":
        return f"{row.exercise}: it raises an exception; run its check cell to see the case."
    failing = [c for c in row.cases if not c["passed"]]
    if failing:
        families = list(dict.fromkeys(checks.case_family(c["case"]) for c in failing))
        hint = checks.EXERCISES[row.exercise].hint
        return (f"{row.exercise}: wrong on these kinds of case: {'; '.join(families[:6])}; "
                f"expected `{description}`." + (f" {hint}" if hint else ""))
    return None


def _write_atomic(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------------
# Self-check for students: the same engine, the public seed
# --------------------------------------------------------------------------------------------


def self_check(path, *, root=None, cell_timeout=30.0, timeout=300.0):
    """Grade one notebook with the public seed (what ``python -m mlseg check`` prints).

    Works on a notebook anywhere (a copy outside the course folder, a Colab download with
    another file name): inside the course the points come from ``solutions/``, elsewhere from
    the notebook's own check cells.

    Returns
    -------
    (rows, notes)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such notebook: {path}")
    nb, reason = _read_notebook(path)
    if nb is None:
        raise ValueError(f"{path} cannot be checked: {reason}")
    try:
        spec = load_specs(root).get(path.name)
    except FileNotFoundError:
        if root is not None:
            raise
        spec = None
    if spec is None:
        spec = spec_from_cells(nb.cells, path.name, str(path))
    if not spec.exercises:
        raise ValueError(f"{path} has no check cells (code cells with mlseg exercise metadata): "
                         "is it one of the course's exercise notebooks?")
    with tempfile.TemporaryDirectory(prefix="mlseg-check-") as workdir:
        outcomes = _grade_jobs([("you", path.name, path)], specs={path.name: spec},
                               seed=checks.PUBLIC_SEED, workers=1, cell_timeout=cell_timeout,
                               timeout=timeout, case_timeout=checks.CASE_TIMEOUT,
                               workdir=workdir, progress=False)
    data, failure = outcomes[("you", path.name)]
    if data is None:
        return _rows_for_all(spec, "error", failure), [failure]
    return data["rows"], data["notes"]


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        _serve()
