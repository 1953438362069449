"""Package-level promises: a fast import, lazy submodules, the README's commands."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_mlseg_loads_no_heavy_library():
    code = ("import sys, mlseg, mlseg.metrics, mlseg.checks, mlseg.phantoms; "
            "heavy = [m for m in ('torch', 'sklearn', 'scipy', 'matplotlib', 'pandas', "
            "'skimage', 'ipywidgets') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_submodules_load_on_first_use():
    import mlseg

    assert mlseg.metrics.dice([1], [1]) == 1.0
    assert "metrics" in dir(mlseg)


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest" in readme and "python -m pytest" in ci
    assert re.search(r"pip install( --quiet)? torch==2\.13\.0", ci)
    assert ci.index("torch==2.13.0") < ci.index(".[dev]")


def test_readme_chapter_table_lists_existing_files():
    readme = (ROOT / "README.md").read_text()
    for folder in ("notebooks", "solutions", "exercises"):
        for path in (ROOT / folder).glob("*.ipynb"):
            assert f"{folder}/{path.name}" in readme, f"{folder}/{path.name} missing from README"


def test_code_passes_ruff():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "mlseg", "tests", "benchmarks"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
