"""The exercise machinery: solutions/ is the single source, exercises/ is generated from it."""

import copy
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mlseg import checks
from mlseg.exercises import (
    ColabLinkError,
    Project,
    SolutionMarkerError,
    _toml_tables,
    generate,
    make_exercise,
    notebook_bytes,
    read_project,
    strip_solution,
    sync_colab_links,
    with_colab_links,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
LINKED = [*SOLUTIONS, *sorted((ROOT / "notebooks").glob("*.ipynb"))]
SETUP = ('# Setup: in Google Colab this installs mlseg; anywhere else it does nothing.\n'
         'import sys\n\nif "google.colab" in sys.modules:\n    import subprocess\n\n'
         '    subprocess.run([sys.executable, "-m", "pip", "install", "-q",\n'
         '                    "{requirement}"], check=True)')


def write_pyproject(root, repository="https://github.com/o/r", name="mlseg-course"):
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\ndynamic = ["version"]\n\n'
        f'[project.urls]\nRepository = "{repository}"\n')


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
    setup = nbformat.v4.new_code_cell(SETUP.format(requirement="mlseg-course @ git+https://"
                                                               "github.com/o/r"))
    answer = nbformat.v4.new_code_cell(
        "def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION", execution_count=3)
    answer.outputs = [nbformat.v4.new_output("stream", text="secret output 42\n")]
    answer.metadata = {"execution": {"iopub.status.busy": "2026-01-01"}, "tags": ["keep"],
                       "mlseg": {"exercise": "f", "points": 1}}
    nb.cells = [md, setup, answer]
    return nb


def test_make_exercise_clears_answers_outputs_and_unstable_metadata():
    solution = sample_solution()
    before = nbformat.writes(solution)
    exercise = make_exercise(solution)
    assert nbformat.writes(solution) == before  # the input is not modified
    cell = exercise.cells[2]
    assert cell.source == "def f():\n    raise NotImplementedError"
    assert cell.outputs == [] and cell.execution_count is None
    assert dict(cell.metadata) == {"tags": ["keep"], "mlseg": {"exercise": "f", "points": 1}}
    assert "widgets" not in exercise.metadata
    assert "exercises/02_evaluation.ipynb" in exercise.cells[0].source
    assert "42" not in nbformat.writes(exercise)


def test_generate_writes_deterministic_bytes_and_check_mode_writes_nothing(tmp_path):
    write_pyproject(tmp_path)
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


# --- Colab links, generated from [project.urls] Repository --------------------------------------


def test_read_project_takes_the_name_and_normalises_the_github_url(tmp_path):
    write_pyproject(tmp_path, repository="https://github.com/me/my-fork.git")
    assert read_project(tmp_path) == Project("mlseg-course", "https://github.com/me/my-fork")
    assert read_project(tmp_path).requirement == "mlseg-course @ git+https://github.com/me/my-fork"


def test_the_real_pyproject_names_the_distribution_and_the_repository():
    project = read_project(ROOT)
    assert project.distribution == "mlseg-course"
    assert project.repository.startswith("https://github.com/")


def test_the_python_310_fallback_reads_the_real_pyproject_as_tomllib_does():
    tomllib = pytest.importorskip("tomllib")
    text = (ROOT / "pyproject.toml").read_text()
    expected = tomllib.loads(text)["project"]
    tables = _toml_tables(text)
    assert tables["project"]["name"] == expected["name"]
    assert tables["project.urls"] == expected["urls"]


@pytest.mark.parametrize("content, error, words", [
    (None, FileNotFoundError, "no pyproject.toml"),
    ('[project]\nname = "x"\n', ColabLinkError, "has no Repository"),
    ('[project]\nname = "x"\n[project.urls]\nRepository = "https://gitlab.com/a/b"\n',
     ColabLinkError, "must be a GitHub repository"),
    ('[project.urls]\nRepository = "https://github.com/a/b"\n', ColabLinkError, "no name"),
])
def test_read_project_says_what_is_missing(tmp_path, content, error, words):
    if content is not None:
        (tmp_path / "pyproject.toml").write_text(content)
    with pytest.raises(error, match=words):
        read_project(tmp_path)


def on_disk(nb):
    """A notebook as json.load reads a file: sources as lists of lines."""
    return json.loads(nbformat.writes(nb))


def test_with_colab_links_rewrites_only_the_badge_link_and_the_requirement():
    nb = on_disk(sample_solution())
    nb["cells"][1]["source"] = SETUP.format(
        requirement="mlseg[dicom] @ git+https://github.com/old/place.git").splitlines(True)
    before = copy.deepcopy(nb)
    fork = Project("mlseg-course", "https://github.com/me/fork")
    new = with_colab_links(nb, "solutions/02_evaluation.ipynb", fork)
    assert nb == before  # the input is not modified
    assert new["cells"][0]["source"] == [
        "[![Open In Colab](badge.svg)](https://colab.research.google.com/github/me/fork/blob/"
        "main/solutions/02_evaluation.ipynb)"]
    setup = new["cells"][1]["source"]
    assert isinstance(setup, list) and len(setup) == len(before["cells"][1]["source"])
    assert setup[-1] == '                    "mlseg-course[dicom] @ git+https://github.com/me/' \
                        'fork"], check=True)'
    assert setup[:-1] == before["cells"][1]["source"][:-1]
    assert new["cells"][2] == before["cells"][2] and new["metadata"] == before["metadata"]


@pytest.mark.parametrize("drop, words", [
    (0, "no 'Open In Colab' badge"),
    (1, "no Colab setup cell"),
])
def test_with_colab_links_names_a_missing_badge_or_setup_cell(drop, words):
    nb = on_disk(sample_solution())
    del nb["cells"][drop]
    with pytest.raises(ColabLinkError, match=words):
        with_colab_links(nb, "notebooks/x.ipynb", Project("a", "https://github.com/o/r"))


def test_a_setup_cell_without_a_requirement_is_reported():
    nb = on_disk(sample_solution())
    nb["cells"][1]["source"] = ['if "google.colab" in sys.modules:\n', "    pass"]
    with pytest.raises(ColabLinkError, match="has no pip requirement"):
        with_colab_links(nb, "notebooks/x.ipynb", Project("a", "https://github.com/o/r"))


def test_committed_notebooks_are_saved_in_the_layout_the_link_sync_writes():
    """The sync rewrites two cell sources and re-serialises: that must change nothing else."""
    for path in [*LINKED, *sorted((ROOT / "exercises").glob("*.ipynb"))]:
        data = path.read_bytes()
        assert notebook_bytes(json.loads(data)) == data, path


def test_committed_notebooks_colab_links_match_pyproject():
    assert sync_colab_links(ROOT, check=True) == [], "run `python -m mlseg exercises` and commit"


def test_a_fork_url_rewrites_the_links_of_every_notebook_and_nothing_else(tmp_path):
    for folder in ("notebooks", "solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    write_pyproject(tmp_path, repository="https://github.com/me/fork")
    before = {p: p.read_bytes() for p in sorted(tmp_path.glob("*/*.ipynb"))}

    stale = generate(tmp_path, check=True)
    for path in LINKED:
        assert f"{path.parent.name}/{path.name} (Colab links)" in stale
    assert {p: p.read_bytes() for p in before} == before  # check mode writes nothing

    generate(tmp_path)
    for path, old in before.items():
        old_lines, new_lines = old.decode().splitlines(), path.read_text().splitlines()
        assert len(old_lines) == len(new_lines), path
        changed = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
        if path.parent.name == "exercises":  # sources stored as one string: one line each
            assert len(changed) == 2, path
        else:
            assert len(changed) == 2, (path, changed)
            badge, setup = (b for _, b in changed)
            folder = path.parent.name
            assert f"/github/me/fork/blob/main/{folder}/{path.name})" in badge
            assert '\\"mlseg-course @ git+https://github.com/me/fork\\"' in setup
    assert generate(tmp_path) == [] and sync_colab_links(tmp_path, check=True) == []


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
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    cmd = [sys.executable, "-m", "mlseg", "exercises", "--root", str(tmp_path)]
    stale = subprocess.run([*cmd, "--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and "out of date" in stale.stdout
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    fresh = subprocess.run([*cmd, "--check"], capture_output=True, text=True)
    assert fresh.returncode == 0
    digest = hashlib.sha256(notebook_bytes(make_exercise(nbformat.read(
        tmp_path / "solutions" / SOLUTIONS[0].name, as_version=4)))).hexdigest()
    written = hashlib.sha256((tmp_path / "exercises" / SOLUTIONS[0].name).read_bytes())
    assert written.hexdigest() == digest
    nowhere = subprocess.run([sys.executable, "-m", "mlseg", "exercises", "--root", "/"],
                             capture_output=True, text=True)
    assert nowhere.returncode == 2 and "no solutions/ folder" in nowhere.stderr
