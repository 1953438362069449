"""Grading a class: every sample submission is built here, graded once, and checked row by row."""

import csv
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from mlseg import grading

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "02_evaluation.ipynb"
EXERCISES = ["confusion_matrix", "dice", "iou", "volume_similarity", "mean_signed_distance",
             "predict_shifted_nsd"]
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


def unfilled_release(folder):
    """The exercise notebooks a student downloads: generated from the solutions (what
    ``exercises/`` holds once released; tests/test_exercises.py checks they agree)."""
    from mlseg.exercises import make_exercise

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")):
        nbformat.write(make_exercise(nbformat.read(path, as_version=4)), str(folder / path.name))
    return folder


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
    unfilled_release(folder / "bob")
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
    put("oscar", replace_function(solution(), "dice", "import mlseg.metrics as mm\n"
                                  "return mm.dice(reference, prediction)"))
    sneaky = replace_function(solution(), "iou", "return getattr(__import__('mlseg.metr' + 'ics', "
                              "fromlist=['x']), 'i' + 'ou')(reference, prediction)")
    put("pat", sneaky)
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
                        "ivan", "judy", "ken", "leo", "mallory", "nina", "oscar", "pat"]
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
    assert last.startswith(f"graded 16 students, {len(graded['rows'])} exercises:")
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


def test_self_check_uses_the_same_engine_with_the_public_seed(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mlseg", "check", f"solutions/{NOTEBOOK}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "total 10.00 / 10" in done.stdout
    release = unfilled_release(tmp_path / "exercises")
    todo = subprocess.run([sys.executable, "-m", "mlseg", "check", str(release / NOTEBOOK)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert todo.returncode == 1
    assert "raised NotImplementedError" in todo.stdout


@pytest.mark.parametrize("value", [
    0.5, float("nan"), float("inf"), -float("inf"), 3, 2**80, "text", None, True,
    (1, 2.5, float("nan")), [1, [2, 3]], {"dice": 0.5, "hd": float("nan")},
    np.float32(0.25), np.array(0.75), np.array([[1, 2], [3, 4]]),
    np.random.default_rng(0).random((128, 128)) > 0.5,
    np.random.default_rng(1).standard_normal((300, 301)),
    np.random.default_rng(2).standard_normal((64, 64)).astype(np.float32),
    np.array([np.nan, np.inf, -0.0, 1e-310]), np.arange(12, dtype=">i4").reshape(3, 4),
    np.zeros((0, 5)),
], ids=lambda v: type(v).__name__ + str(getattr(v, "shape", "")))
def test_values_cross_the_kernel_boundary_exactly_as_plain_json(value):
    text = json.dumps(grading.encode_value(value))  # only JSON crosses
    back = grading.decode_value(json.loads(text))
    if isinstance(value, np.ndarray):
        assert isinstance(back, np.ndarray)
        assert back.shape == value.shape and back.dtype == value.dtype.newbyteorder("=")
        assert back.tobytes() == value.astype(back.dtype).tobytes()  # bit for bit
    elif isinstance(value, float) and np.isnan(value):
        assert np.isnan(back)
    elif isinstance(value, (tuple, dict)):
        assert type(back) is type(value)
        assert repr(back) == repr(value)
    else:
        assert back == value and type(back) is type(value.item() if isinstance(
            value, np.generic) else value)


def test_torch_tensors_cross_the_boundary_as_tensors():
    torch = pytest.importorskip("torch")
    for tensor in [torch.arange(20000, dtype=torch.float32).reshape(100, 200) / 7,
                   torch.rand(3, 3, requires_grad=True), torch.tensor([True, False]),
                   torch.tensor(1.5, dtype=torch.float16)]:
        back = grading.decode_value(json.loads(json.dumps(grading.encode_value(tensor))))
        assert isinstance(back, torch.Tensor) and back.shape == tensor.shape
        assert torch.equal(back, tensor.detach().to(back.dtype))


def test_unreadable_values_become_descriptions_that_compare_as_wrong():
    opaque = grading.decode_value(grading.encode_value(object()))
    assert "object" in repr(opaque)
    assert grading.checks.compare_array(opaque, np.zeros(2)) is not None
    huge = grading.encode_value(np.lib.stride_tricks.as_strided(np.zeros(1), (2**20, 2**9), (0, 0)))
    assert "limit" in huge["__repr__"]


def test_a_128x128_mask_and_a_tensor_answer_are_graded_exactly_in_a_real_kernel(tmp_path):
    """A student's answers return big arrays (numpy, then torch): full marks, and a one-pixel
    error is caught."""
    from mlseg import checks, imaging, region_growing

    rng = np.random.default_rng(5)
    image = rng.random((256, 256))
    volume = image[None, :128, :128]  # a one-slice volume of 128x128 voxels
    cases = {"region_grow_3d": [checks.Case("1x128x128 volume", (volume, (0, 5, 5), 0.3))],
             "block_average": [checks.Case("256x256, factor 2", (image, 2))]}
    expected = {"region_grow_3d": [region_growing.region_grow(volume, (0, 5, 5), tolerance=0.3)],
                "block_average": [imaging.block_average(image, 2)]}
    prepared = {}
    for name in cases:
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(pickle.dumps(cases[name]))
        prepared[name] = (str(path), cases[name], expected[name])
    spec = grading.NotebookSpec("big.ipynb", [("region_grow_3d", 1, None),
                                              ("block_average", 1, 20)])
    grow = ("def region_grow_3d(volume, seed, tolerance):\n"
            "    from scipy import ndimage as ndi\n"
            "    accepted = abs(volume - volume[tuple(seed)]) <= tolerance\n"
            "    components, _ = ndi.label(accepted)\n"
            "    return {wrap}(components == components[tuple(seed)])\n")
    answers = {
        "numpy": grow.format(wrap="") +
                 "def block_average(image, factor):\n"
                 "    h, w = image.shape\n"
                 "    return image.reshape(h // factor, factor, w // factor, factor).mean((1, 3))",
        "torch": "import torch\n" + grow.format(wrap="torch.from_numpy") +
                 "def block_average(image, factor):\n"
                 "    t = torch.from_numpy(image)[None, None]\n"
                 "    return torch.nn.functional.avg_pool2d(t, factor)[0, 0]",
        "one pixel off": "def region_grow_3d(volume, seed, tolerance):\n"
                         "    from scipy import ndimage as ndi\n"
                         "    accepted = abs(volume - volume[tuple(seed)]) <= tolerance\n"
                         "    components, _ = ndi.label(accepted)\n"
                         "    m = components == components[tuple(seed)]\n"
                         "    m[0, 127, 127] = not m[0, 127, 127]\n"
                         "    return m\n"
                         "def block_average(image, factor):\n"
                         "    return image[::factor, ::factor]",
    }
    scores = {}
    for label, code in answers.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(code)]
        path = tmp_path / f"{label}.ipynb"
        nbformat.write(nb, str(path))
        rows, notes = grading.grade_notebook(path, spec, prepared, cell_timeout=60, timeout=120,
                                             case_timeout=10)
        scores[label] = {r["exercise"]: (r["status"], r["detail"]) for r in rows}
    assert scores["numpy"] == scores["torch"] == {
        "region_grow_3d": ("passed", "1/1 cases passed"),
        "block_average": ("passed", "1/1 cases passed")}
    wrong = scores["one pixel off"]
    assert wrong["region_grow_3d"][0] == "failed"
    assert "1 of 16384 values differ; first at (0, 127, 127)" in wrong["region_grow_3d"][1]
    assert wrong["block_average"][0] == "failed"


def test_an_answer_calling_the_library_scores_zero_with_the_reason(graded):
    oscar = graded["table"][("oscar", "dice")]
    assert (oscar["score"], oscar["status"]) == ("0.00", "failed")
    assert "`mlseg.metrics.dice`, the function this exercise asks you to write" in oscar["detail"]
    assert statuses(graded, "oscar")["iou"] == "passed"
    pat = graded["table"][("pat", "iou")]  # a name built from strings: caught while it runs
    assert (pat["score"], pat["status"]) == ("0.00", "failed")
    assert "`mlseg.metrics.iou`" in pat["detail"]
    feedback = (graded["tmp"] / "feedback" / "oscar.md").read_text()
    assert "mlseg.metrics.dice" in feedback and "no credit" in feedback


def test_per_exercise_time_limits_come_from_the_check_cell_metadata(tmp_path):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    slow = replace_function(solution(), "dice",
                            "import time\n"
                            "if reference.shape == (14, 14):\n"
                            "    time.sleep(0.8)\n"
                            "tp = (reference & prediction).sum()\n"
                            "total = reference.sum() + prediction.sum()\n"
                            "return 2 * tp / total if total else float('nan')")
    (tmp_path / "class" / "sam").mkdir(parents=True)
    nbformat.write(slow, str(tmp_path / "class" / "sam" / NOTEBOOK))
    statuses_by_limit = {}
    for limit in (None, 3):
        spec_nb = solution()
        for cell in spec_nb.cells:
            if cell.metadata.get("mlseg", {}).get("exercise") == "dice" and limit:
                cell.metadata["mlseg"]["timeout"] = limit
        nbformat.write(spec_nb, str(course / "solutions" / NOTEBOOK))
        run = grading.grade(tmp_path / "class", out=tmp_path / f"g{limit}.csv", seed=5,
                            root=course, case_timeout=0.3, progress=False)
        row = next(r for r in run.rows if r.exercise == "dice")
        statuses_by_limit[limit] = (row.status, row.detail)
    assert statuses_by_limit[None][0] == "partial"
    assert "timed out after 0.3 s" in statuses_by_limit[None][1]
    assert statuses_by_limit[3][0] == "passed"


def test_metadata_with_bad_points_or_timeout_is_an_error():
    cell = nbformat.v4.new_code_cell("check('dice', dice)")
    for meta, words in [({"exercise": "dise", "points": 1}, "unknown exercise 'dise'"),
                        ({"exercise": "dice", "points": 0}, "points"),
                        ({"exercise": "dice", "points": 1, "timeout": "5"}, "timeout")]:
        cell.metadata = {"mlseg": meta}
        with pytest.raises(ValueError, match=words):
            grading.spec_from_cells([cell], "x.ipynb")


def test_grading_a_folder_without_student_folders_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "02_evaluation.ipynb").write_text("{}")
    proc = subprocess.run([sys.executable, "-m", "mlseg", "grade", str(tmp_path / "empty"),
                           "--out", str(tmp_path / "g.csv"), "--seed", "5"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "no student folders" in proc.stderr
    assert not (tmp_path / "g.csv").exists()


def test_check_works_on_a_copy_outside_the_course_folder(tmp_path):
    """A student's download, renamed, checked from another folder: the points come from the
    notebook's own check cells."""
    copy = tmp_path / "my work (1).ipynb"
    shutil.copy(ROOT / "solutions" / NOTEBOOK, copy)
    done = subprocess.run([sys.executable, "-m", "mlseg", "check", copy.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "total 10.00 / 10" in done.stdout
    empty = tmp_path / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), str(empty))
    none = subprocess.run([sys.executable, "-m", "mlseg", "check", str(empty)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert none.returncode == 2 and "no check cells" in none.stderr


def test_notebook_time_limit_stops_grading_and_reports_timeouts(tmp_path):
    nb = insert_after(solution(), "confusion_matrix", "import time\ntime.sleep(2.5)")
    nb = insert_after(nb, "dice", "import time\ntime.sleep(2.5)")
    (tmp_path / "class" / "slow").mkdir(parents=True)
    nbformat.write(nb, str(tmp_path / "class" / "slow" / NOTEBOOK))
    run = grading.grade(tmp_path / "class", out=tmp_path / "g.csv", seed=3, cell_timeout=10,
                        timeout=4, case_timeout=0.5, progress=False)
    by_exercise = {r.exercise: r for r in run.rows}
    assert by_exercise["mean_signed_distance"].status == "timeout"
    assert "time limit" in by_exercise["mean_signed_distance"].detail
    assert any("notebook time limit of 4 s reached" in n for n in run.notes["slow"])
    assert run.seconds < 30
