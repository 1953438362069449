"""The exercise machinery: solutions/ is the single source, exercises/ is generated from it."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mlseg import checks
from mlseg.exercises import (
    SolutionMarkerError,
    generate,
    make_exercise,
    notebook_bytes,
    strip_solution,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def test_strip_solution_keeps_the_indentation_of_the_begin_marker():
    source = "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n" \
             "    ### END SOLUTION\n\nprint(1)"
    assert strip_solution(source) == \
        "def f(x):\n    '''doc'''\n    raise NotImplementedError\n\nprint(1)"


def test_strip_solution_handles_several_blocks_and_markdown():
    source = ("### BEGIN SOLUTION\na\n### END SOLUTION\nb\n"
              "  ### BEGIN SOLUTION\nc\n  ### END SOLUTION")
    assert strip_solution(source, placeholder="YOUR ANSWER HERE") == \
        "YOUR ANSWER HERE\nb\n  YOUR ANSWER HERE"


@pytest.mark.parametrize("source, words", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
])
def test_unbalanced_markers_are_an_error(source, words):
    with pytest.raises(SolutionMarkerError, match=words):
        strip_solution(source)


def sample_solution():
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "widgets": {"state": "volatile"}, "language_info": {"version": "3.11.7"}}
    md = nbformat.v4.new_markdown_cell(
        "[![Open In Colab](badge.svg)](https://colab.research.google.com/github/o/r/blob/main/"
        "solutions/02_evaluation.ipynb)")
    answer = nbformat.v4.new_code_cell(
        "def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION", execution_count=3)
    answer.outputs = [nbformat.v4.new_output("stream", text="secret output 42\n")]
    answer.metadata = {"execution": {"iopub.status.busy": "2026-01-01"}, "tags": ["keep"],
                       "mlseg": {"exercise": "f", "points": 1}}
    nb.cells = [md, answer]
    return nb


def test_make_exercise_clears_answers_outputs_and_unstable_metadata():
    solution = sample_solution()
    before = nbformat.writes(solution)
    exercise = make_exercise(solution)
    assert nbformat.writes(solution) == before  # the input is not modified
    cell = exercise.cells[1]
    assert cell.source == "def f():\n    raise NotImplementedError"
    assert cell.outputs == [] and cell.execution_count is None
    assert dict(cell.metadata) == {"tags": ["keep"], "mlseg": {"exercise": "f", "points": 1}}
    assert "widgets" not in exercise.metadata
    assert "exercises/02_evaluation.ipynb" in exercise.cells[0].source
    assert "42" not in nbformat.writes(exercise)


def test_generate_writes_deterministic_bytes_and_check_mode_writes_nothing(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(sample_solution(), str(tmp_path / "solutions" / "02_evaluation.ipynb"))
    assert generate(tmp_path, check=True) == ["exercises/02_evaluation.ipynb"]
    assert not (tmp_path / "exercises").exists()
    assert generate(tmp_path) == ["exercises/02_evaluation.ipynb"]
    first = (tmp_path / "exercises" / "02_evaluation.ipynb").read_bytes()
    assert generate(tmp_path) == []  # nothing to do the second time
    assert generate(tmp_path, check=True) == []
    assert (tmp_path / "exercises" / "02_evaluation.ipynb").read_bytes() == first
    (tmp_path / "exercises" / "02_evaluation.ipynb").write_text("edited by hand")
    assert generate(tmp_path, check=True) == ["exercises/02_evaluation.ipynb"]
    (tmp_path / "exercises" / "09_stale.ipynb").write_text("{}")
    assert "exercises/09_stale.ipynb (no solution any more)" in generate(tmp_path, check=True)


def test_committed_exercises_are_exactly_what_the_solutions_generate():
    assert SOLUTIONS, "no solution notebooks found"
    assert generate(ROOT, check=True) == [], "run `python -m mlseg exercises` and commit"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_check_cell_names_a_known_exercise_with_points(path):
    nb = nbformat.read(path, as_version=4)
    graded = [c for c in nb.cells if c.cell_type == "code" and "mlseg" in c.metadata]
    assert graded, f"{path.name} has no check cells"
    for cell in graded:
        meta = cell.metadata["mlseg"]
        assert meta["exercise"] in checks.EXERCISES
        assert isinstance(meta["points"], int) and meta["points"] > 0
        assert cell.source.strip() == f'check("{meta["exercise"]}", {meta["exercise"]})'
    # each exercise appears once and its function is defined between solution markers
    names = [c.metadata["mlseg"]["exercise"] for c in graded]
    assert len(names) == len(set(names))
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in names:
        assert f"def {name}(" in sources


def test_colab_badge_and_setup_cell_open_every_notebook():
    for path in [*SOLUTIONS, *sorted((ROOT / "notebooks").glob("*.ipynb")),
                 *sorted((ROOT / "exercises").glob("*.ipynb"))]:
        nb = nbformat.read(path, as_version=4)
        folder = path.parent.name
        assert f"/blob/main/{folder}/{path.name}" in nb.cells[0].source, path
        assert "google.colab" in nb.cells[1].source, path


def run_notebook(path, tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_generated_exercises_fail_their_checks_with_not_implemented_and_nothing_else(
        path, tmp_path):
    exercise = ROOT / "exercises" / path.name
    nb = run_notebook(exercise, tmp_path)
    failing_checks = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "mlseg" in cell.metadata:  # a check cell: must fail because of the placeholder
            assert len(errors) == 1, f"check cell {index} did not fail"
            assert errors[0].ename == "CheckFailed"
            assert "raised NotImplementedError" in errors[0].evalue
            failing_checks += 1
        else:
            assert not errors, f"cell {index} raised {errors[0].ename}: {errors[0].evalue}"
    graded = [c for c in nb.cells if c.cell_type == "code" and "mlseg" in c.metadata]
    assert failing_checks == len(graded) >= 3


def test_solution_notebooks_are_committed_executed_with_all_checks_passing():
    for path in SOLUTIONS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and "mlseg" in cell.metadata:
                text = "".join(o.get("text", "") for o in cell.outputs)
                name = cell.metadata["mlseg"]["exercise"]
                assert f"{name}: " in text and "checks passed" in text, (path.name, name)


def test_cli_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "mlseg", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "exercises" in out


def test_cli_check_exit_codes(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    cmd = [sys.executable, "-m", "mlseg", "exercises", "--root", str(tmp_path)]
    stale = subprocess.run([*cmd, "--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and "out of date" in stale.stdout
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    fresh = subprocess.run([*cmd, "--check"], capture_output=True, text=True)
    assert fresh.returncode == 0
    digest = hashlib.sha256(notebook_bytes(make_exercise(nbformat.read(
        SOLUTIONS[0], as_version=4)))).hexdigest()
    written = hashlib.sha256((tmp_path / "exercises" / SOLUTIONS[0].name).read_bytes())
    assert written.hexdigest() == digest
    nowhere = subprocess.run([sys.executable, "-m", "mlseg", "exercises", "--root", "/"],
                             capture_output=True, text=True)
    assert nowhere.returncode == 2 and "no solutions/ folder" in nowhere.stderr
