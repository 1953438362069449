"""Grading a class: every sample submission is built here, graded once, and checked row by row."""

import csv
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mlseg import grading

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "02_evaluation.ipynb"
EXERCISES = ["confusion", "dice", "iou", "volume_similarity", "hausdorff",
             "predict_alignment_nsd"]
LIMITS = ["--cell-timeout", "3", "--case-timeout", "0.5", "--timeout", "60"]


def solution():
    return nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)


def replace_function(nb, name, body):
    """Replace the cell defining ``name`` by ``def name(...)`` with another body."""
    for cell in nb.cells:
        if cell.cell_type == "code" and f"def {name}(" in cell.source:
            signature = cell.source.split(f"def {name}(", 1)[1].split(")", 1)[0]
            cell.source = f"def {name}({signature}):\n" + "".join(
                f"    {line}\n" for line in body.splitlines())
            return nb
    raise AssertionError(f"no cell defines {name}")


def insert_after(nb, name, source):
    """Insert a code cell after the cell that defines ``name``."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and f"def {name}(" in cell.source:
            nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
            return nb
    raise AssertionError(f"no cell defines {name}")


def without_check_cells(nb):
    nb.cells = [c for c in nb.cells if "mlseg" not in c.metadata]
    return nb


def build_class(folder):
    """The sample submissions of issue 3, one student each."""
    folder = Path(folder)

    def put(student, nb=None, *, raw=None, name=NOTEBOOK):
        path = folder / student / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if raw is not None:
            path.write_bytes(raw)
        else:
            nbformat.write(nb, str(path))

    put("alice", solution())
    (folder / "alice" / "scratch.py").write_text("print('my notes')\n")
    shutil.copytree(ROOT / "exercises", folder / "bob")  # the unfilled release
    put("carol", replace_function(solution(), "iou", "return 0.5"))
    put("dave", replace_function(solution(), "dice", "while True:\n    pass"))
    put("erin", insert_after(solution(), "dice", "while True:\n    pass"))
    put("frank", insert_after(solution(), "iou",
                              "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
                              "    except KeyboardInterrupt:\n        pass"))
    put("grace", insert_after(solution(), "dice", "raise RuntimeError('oops')"))
    fake = without_check_cells(replace_function(solution(), "dice", "return 1.0"))
    fake.cells.append(nbformat.v4.new_code_cell(
        "def check(name, fn, **kwargs):\n    print(f'{name}: 15/15 checks passed')\n"
        "check('dice', dice)"))
    put("heidi", fake)
    patched = replace_function(solution(), "dice", "return 1.0")
    patched.cells.insert(3, nbformat.v4.new_code_cell(
        "import mlseg.checks as c, mlseg.grading as g\n"
        "c.compare_float = lambda *a, **k: None\n"
        "c.judge = lambda *a, **k: None\n"
        "c.run_checks = lambda *a, **k: []\n"
        "c.EXERCISES['dice'].reference = lambda r, p: 1.0\n"))
    put("ivan", patched)
    put("judy", raw=b'{"cells": [ this is not json')
    put("ken", raw=b"")
    other = nbformat.v4.new_notebook()
    other.cells = [nbformat.v4.new_code_cell("def threshold(image, t):\n    return image > t")]
    put("leo", other)  # another chapter's notebook under this chapter's name
    (folder / "mallory").mkdir()
    (folder / "mallory" / "notes.txt").write_text("I forgot\n")
    put("nina", solution(), name="99_unknown.ipynb")
    (folder / "README.txt").write_text("submissions of the class\n")


def tree_digest(folder):
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        stat = path.lstat()
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(f"{stat.st_mode}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    submissions = tmp / "submissions"
    build_class(submissions)
    before = tree_digest(submissions)
    out = tmp / "grades.csv"
    env = {**os.environ, grading.SEED_VARIABLE: "777"}
    proc = subprocess.run(
        [sys.executable, "-m", "mlseg", "grade", str(submissions), "--out", str(out),
         "--jobs", "2", "--feedback", str(tmp / "feedback"), *LIMITS],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    table = {(r["student"], r["exercise"]): r for r in rows if r["notebook"] == NOTEBOOK}
    return {"tmp": tmp, "submissions": submissions, "before": before, "out": out,
            "rows": rows, "table": table, "stdout": proc.stdout, "stderr": proc.stderr}


def statuses(graded, student):
    return {e: graded["table"][(student, e)]["status"] for e in EXERCISES}


def test_gradebook_has_exactly_the_columns_and_one_row_per_student_and_exercise(graded):
    with open(graded["out"], newline="") as handle:
        header = next(csv.reader(handle))
    assert header == ["student", "notebook", "exercise", "score", "max_score", "status", "detail"]
    students = sorted({r["student"] for r in graded["rows"]})
    assert students == ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
                        "ivan", "judy", "ken", "leo", "mallory", "nina"]
    per_student = sum(len(spec.exercises) for spec in grading.load_specs(ROOT).values())
    assert len(graded["rows"]) == len(students) * per_student
    assert per_student > len(EXERCISES)  # chapter 01 too: not submitted here, so "missing"
    assert {r["status"] for r in graded["rows"]} <= set(grading.STATUSES)
    assert all("\n" not in r["detail"] and r["detail"] for r in graded["rows"])


def test_submissions_are_never_modified(graded):
    assert tree_digest(graded["submissions"]) == graded["before"]


def test_correct_answers_get_full_marks(graded):
    assert set(statuses(graded, "alice").values()) == {"passed"}
    total = sum(float(graded["table"][("alice", e)]["score"]) for e in EXERCISES)
    assert total == 10.0


def test_unfilled_release_scores_zero_with_error_not_a_crash(graded):
    for exercise in EXERCISES:
        row = graded["table"][("bob", exercise)]
        assert row["status"] in ("failed", "error") and float(row["score"]) == 0
        assert "NotImplementedError" in row["detail"]


def test_one_wrong_function_loses_only_its_points(graded):
    got = statuses(graded, "carol")
    assert got.pop("iou") in ("failed", "partial")
    assert set(got.values()) == {"passed"}
    iou = graded["table"][("carol", "iou")]
    assert float(iou["score"]) < float(iou["max_score"])
    assert "first failure" in iou["detail"]


def test_infinite_loop_inside_a_graded_function_is_a_timeout(graded):
    got = statuses(graded, "dave")
    assert got.pop("dice") == "timeout"
    assert set(got.values()) == {"passed"}
    assert "timed out" in graded["table"][("dave", "dice")]["detail"]


def test_top_level_while_true_cell_is_interrupted_and_the_rest_graded(graded):
    assert set(statuses(graded, "erin").values()) == {"passed"}
    feedback = (graded["tmp"] / "feedback" / "erin.md").read_text()
    assert "('while True:') timed out after 3 s" in feedback


def test_loop_ignoring_keyboard_interrupt_gets_the_kernel_killed_and_the_rest_graded(graded):
    assert set(statuses(graded, "frank").values()) == {"passed"}
    feedback = (graded["tmp"] / "feedback" / "frank.md").read_text()
    assert "kernel restarted" in feedback


def test_a_cell_that_raises_does_not_stop_the_rest(graded):
    assert set(statuses(graded, "grace").values()) == {"passed"}
    assert "RuntimeError: oops" in (graded["tmp"] / "feedback" / "grace.md").read_text()


def test_deleted_checks_and_a_fake_check_gain_nothing(graded):
    assert statuses(graded, "heidi")["dice"] != "passed"
    assert float(graded["table"][("heidi", "dice")]["score"]) < 2


def test_monkeypatching_mlseg_checks_in_the_notebook_gains_nothing(graded):
    assert statuses(graded, "ivan")["dice"] != "passed"
    assert statuses(graded, "ivan")["iou"] == "passed"


def test_invalid_json_and_empty_files_are_errors_with_a_reason(graded):
    for exercise in EXERCISES:
        assert graded["table"][("judy", exercise)]["status"] == "error"
        assert "not valid JSON" in graded["table"][("judy", exercise)]["detail"]
        assert graded["table"][("ken", exercise)]["detail"] == "empty file"


def test_another_chapters_notebook_has_missing_functions(graded):
    for exercise in EXERCISES:
        row = graded["table"][("leo", exercise)]
        assert row["status"] == "missing"
        assert f"no function named {exercise}" in row["detail"]


def test_folder_without_notebooks_and_unknown_files_are_reported_not_graded(graded):
    for student in ("mallory", "nina"):
        for exercise in EXERCISES:
            row = graded["table"][(student, exercise)]
            assert (row["status"], row["detail"]) == ("missing", "notebook not submitted")
    assert "notes.txt: not a notebook, not graded" in (
        graded["tmp"] / "feedback" / "mallory.md").read_text()
    assert "99_unknown.ipynb: not one of the course's exercise notebooks" in (
        graded["tmp"] / "feedback" / "nina.md").read_text()
    assert "scratch.py: not a notebook" in (graded["tmp"] / "feedback" / "alice.md").read_text()


def test_summary_and_final_line(graded):
    summary = graded["out"].with_name("grades_summary.csv")
    with open(summary, newline="") as handle:
        rows = {r["student"]: r for r in csv.DictReader(handle)}
    assert rows["alice"]["total"] == "10.00"
    max_total = sum(spec.max_score for spec in grading.load_specs(ROOT).values())
    assert float(rows["alice"]["max_total"]) == max_total
    assert rows["bob"]["total"] == "0.00"
    assert rows["alice"][NOTEBOOK] == "10.00"
    last = graded["stdout"].strip().splitlines()[-1]
    assert last.startswith(f"graded 14 students, {len(graded['rows'])} exercises:")
    for status in grading.STATUSES:
        assert f" {status}" in last
    assert " s; gradebook " in last


def test_feedback_file_is_readable_with_hints(graded):
    text = (graded["tmp"] / "feedback" / "carol.md").read_text()
    assert text.startswith("# Feedback for carol")
    assert "| iou |" in text and "Hints:" in text


def test_same_submissions_and_seed_give_a_byte_identical_gradebook(graded, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    for student in ("alice", "carol", "judy"):
        shutil.copytree(graded["submissions"] / student, small / student)
    outs = []
    for i in range(2):
        out = tmp_path / f"g{i}.csv"
        grading.grade(small, out=out, seed=777, jobs=2, cell_timeout=3, case_timeout=0.5,
                      timeout=60, progress=False)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    expected = [line for line in graded["out"].read_bytes().splitlines(keepends=True)
                if line.split(b",")[0] in (b"student", b"alice", b"carol", b"judy")]
    assert outs[0] == b"".join(expected)


def test_a_crash_while_writing_never_leaves_a_half_written_gradebook(tmp_path, monkeypatch):
    out = tmp_path / "grades.csv"
    out.write_text("previous gradebook\n")
    (tmp_path / "class" / "alice").mkdir(parents=True)

    def exploding(rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(grading, "_gradebook_csv", exploding)
    with pytest.raises(RuntimeError, match="disk full"):
        grading.grade(tmp_path / "class", out=out, seed=5, progress=False)
    assert out.read_text() == "previous gradebook\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class", "grades.csv"]


def test_write_atomic_removes_its_temporary_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "g.csv"
    target.write_text("old")

    def failing_replace(src, dst):
        raise OSError("crash")

    monkeypatch.setattr(grading.os, "replace", failing_replace)
    with pytest.raises(OSError):
        grading._write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["g.csv"]


def test_seed_is_required_and_must_not_be_the_public_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != grading.SEED_VARIABLE}
    proc = subprocess.run([sys.executable, "-m", "mlseg", "grade", str(tmp_path), "--out",
                           str(tmp_path / "g.csv")], cwd=ROOT, capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 2 and "--seed" in proc.stderr
    with pytest.raises(ValueError, match="public seed"):
        grading.grade(tmp_path, out=tmp_path / "g.csv", seed=grading.checks.PUBLIC_SEED)
    with pytest.raises(ValueError, match="jobs"):
        grading.grade(tmp_path, out=tmp_path / "g.csv", seed=1, jobs=0)
    with pytest.raises(FileNotFoundError, match="SUBMISSIONS"):
        grading.grade(tmp_path / "nowhere", out=tmp_path / "g.csv", seed=1, progress=False)


def test_self_check_uses_the_same_engine_with_the_public_seed():
    done = subprocess.run([sys.executable, "-m", "mlseg", "check", f"solutions/{NOTEBOOK}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "total 10.00 / 10" in done.stdout
    todo = subprocess.run([sys.executable, "-m", "mlseg", "check", f"exercises/{NOTEBOOK}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert todo.returncode == 1
    assert "raised NotImplementedError" in todo.stdout


def test_values_cross_the_kernel_boundary_as_plain_json():
    import numpy as np

    for value in [0.5, float("nan"), float("inf"), 3, (1, 2, 3, 4), np.float32(0.25),
                  np.array(0.75), np.array([[1, 2], [3, 4]])]:
        back = grading.decode_value(grading.encode_value(value))
        np.testing.assert_array_equal(np.asarray(back, dtype=float),
                                      np.asarray(value, dtype=float))
    opaque = grading.decode_value(grading.encode_value(object()))
    assert "object" in repr(opaque)


def test_notebook_time_limit_stops_grading_and_reports_timeouts(tmp_path):
    nb = insert_after(solution(), "confusion", "import time\ntime.sleep(2.5)")
    nb = insert_after(nb, "dice", "import time\ntime.sleep(2.5)")
    (tmp_path / "class" / "slow").mkdir(parents=True)
    nbformat.write(nb, str(tmp_path / "class" / "slow" / NOTEBOOK))
    run = grading.grade(tmp_path / "class", out=tmp_path / "g.csv", seed=3, cell_timeout=10,
                        timeout=4, case_timeout=0.5, progress=False)
    by_exercise = {r.exercise: r for r in run.rows}
    assert by_exercise["hausdorff"].status == "timeout"
    assert "time limit" in by_exercise["hausdorff"].detail
    assert any("notebook time limit of 4 s reached" in n for n in run.notes["slow"])
    assert run.seconds < 30
