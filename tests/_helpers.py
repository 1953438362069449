"""Helpers shared by the exercise tests (not a test module)."""

from mlseg.checks import failure_message, run_checks


def failing(name, answer):
    """The names of the cases ``answer`` fails, and the message its check would raise."""
    results = run_checks(name, answer)
    return [r.case for r in results if not r.passed], failure_message(name, results) or ""


def replace_answer(nb, name, source):
    """The notebook with the code cell that defines ``name`` replaced by ``source``."""
    for cell in nb.cells:
        if cell.cell_type == "code" and f"def {name}(" in cell.source:
            cell.source = source
            return nb
    raise AssertionError(f"no cell defines {name}")


def grade_class(folder, notebook, students, *, seed):
    """Grade ``{student: notebook object}`` with ``python -m mlseg grade`` (2 jobs, one torch
    thread each); return the gradebook rows of ``notebook`` by (student, exercise)."""
    import csv
    import os
    import subprocess
    import sys
    from pathlib import Path

    import nbformat

    root = Path(__file__).resolve().parents[1]
    for student, nb in students.items():
        (folder / "class" / student).mkdir(parents=True)
        nbformat.write(nb, str(folder / "class" / student / notebook))
    out = folder / "grades.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "mlseg", "grade", str(folder / "class"), "--out", str(out),
         "--jobs", "2", "--seed", str(seed), "--quiet", "--case-timeout", "10",
         "--timeout", "120"],
        cwd=root, capture_output=True, text=True, timeout=600,
        env={**os.environ, "MLSEG_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    with open(out, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["notebook"] == notebook]
    return {(r["student"], r["exercise"]): r for r in rows}
