"""Package-level promises: a fast import, lazy submodules, the README's commands."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mlseg

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlseg"


def module_names_in_the_folder():
    """Every public module file and package in mlseg/, found on disk (not from mlseg itself)."""
    names = {p.stem for p in PACKAGE.glob("*.py")}
    names |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    return sorted(n for n in names if not n.startswith("_"))


MODULES = module_names_in_the_folder()


def test_import_mlseg_loads_no_heavy_library():
    code = ("import sys, mlseg, mlseg.metrics, mlseg.checks, mlseg.phantoms; "
            "heavy = [m for m in ('torch', 'sklearn', 'scipy', 'matplotlib', 'pandas', "
            "'skimage', 'ipywidgets') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bare_import_mlseg_imports_no_submodule_and_no_heavy_library():
    code = ("import sys, mlseg; names = dir(mlseg); "
            "loaded = [m for m in sys.modules if m.startswith('mlseg.') or m.split('.')[0] in "
            "('numpy', 'scipy', 'torch', 'sklearn', 'pandas', 'matplotlib')]; "
            "print(sorted(loaded), 'atlas' in names)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] True"


def test_submodules_load_on_first_use():
    assert mlseg.metrics.dice([1], [1]) == 1.0
    assert "metrics" in dir(mlseg)


def test_the_folder_scan_finds_the_modules_we_know():
    assert {"metrics", "atlas", "thresholding", "region_growing", "forests", "checks",
            "exercises"} <= set(MODULES)
    assert "__main__" not in MODULES and "_validation" not in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_every_module_in_the_folder_is_reachable_as_an_attribute_and_listed(name):
    assert name in dir(mlseg), f"add {name!r} to _SUBMODULES in mlseg/__init__.py"
    assert name in mlseg.__all__
    assert getattr(mlseg, name) is importlib.import_module(f"mlseg.{name}")


def test_planned_modules_that_do_not_exist_yet_are_absent_not_broken():
    for name in mlseg._SUBMODULES:
        if name in MODULES:
            continue
        assert name not in dir(mlseg)
        assert not hasattr(mlseg, name)  # an AttributeError, not an ImportError
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        mlseg.nonsense  # noqa: B018


def test_version_has_one_place_and_the_distribution_is_mlseg_course():
    text = (ROOT / "pyproject.toml").read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^name = "mlseg-course"$', project, re.M)
    assert not re.search(r"^version\s*=", project, re.M), "the version lives in mlseg/__init__.py"
    assert re.search(r'^dynamic = \["version"\]', project, re.M)
    assert 'version = {attr = "mlseg.__version__"}' in text
    assert re.search(r'^mlseg = "mlseg.__main__:main"$', text, re.M)  # the console script
    assert re.fullmatch(r"\d+\.\d+\.\d+", mlseg.__version__)


def test_installed_metadata_matches_the_package_when_installed_as_mlseg_course():
    from importlib import metadata

    try:
        installed = metadata.version("mlseg-course")
    except metadata.PackageNotFoundError:
        pytest.skip("the distribution mlseg-course is not installed (pip install -e .)")
    assert installed == mlseg.__version__


def test_readme_installs_the_right_distribution():
    readme = (ROOT / "README.md").read_text()
    # `pip install mlseg` would install an unrelated package of that name from the index
    assert not re.search(r"pip install (-\w+ )*['\"]?mlseg(?![\w-])", readme)
    assert "mlseg-course" in readme
    assert "--allow-root" in readme  # jupyter lab as root, e.g. in a container
    assert "[project.urls]" in readme and "python -m mlseg exercises" in readme


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
