"""Time `python -m mlseg grade` on a class of chapter-02 submissions.

Run:  python benchmarks/bench_grading.py [--students 30] [--jobs 2]

The class mixes correct, unfinished and partly wrong notebooks (built from solutions/ and
exercises/). Goal (issue 3): at most 2 s per submission with --jobs 2 on 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def make_class(folder, students):
    solution = nbformat.read(ROOT / "solutions" / "02_evaluation.ipynb", as_version=4)
    wrong = nbformat.read(ROOT / "solutions" / "02_evaluation.ipynb", as_version=4)
    for cell in wrong.cells:
        if cell.cell_type == "code" and "def iou(" in cell.source:
            cell.source = "def iou(reference, prediction):\n    return 0.5\n"
    for i in range(students):
        student = Path(folder) / f"student{i:02d}"
        student.mkdir(parents=True)
        target = student / "02_evaluation.ipynb"
        if i % 3 == 0:
            shutil.copy(ROOT / "exercises" / "02_evaluation.ipynb", target)
        else:
            nbformat.write(solution if i % 3 == 1 else wrong, str(target))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        make_class(Path(tmp) / "submissions", args.students)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mlseg", "grade", str(Path(tmp) / "submissions"),
                        "--out", str(Path(tmp) / "grades.csv"), "--seed", "12345",
                        "--jobs", str(args.jobs), "--quiet"], cwd=ROOT, check=True)
        elapsed = time.perf_counter() - start
    per = elapsed / args.students
    print(f"{args.students} submissions, --jobs {args.jobs}: {elapsed:.1f} s in all, "
          f"{per:.2f} s per submission (goal <= 2 s): {'met' if per <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
