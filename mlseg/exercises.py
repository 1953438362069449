"""The release tool: exercise notebooks from the solutions, Colab links from ``pyproject.toml``.

Every solution notebook ``solutions/NN_topic.ipynb`` marks its answers::

    def dice(reference, prediction):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

:func:`make_exercise` replaces each marked block by ``raise NotImplementedError`` at the
indentation of the ``BEGIN`` line (in markdown cells by ``YOUR ANSWER HERE``), clears outputs and
execution counts, drops unstable metadata and points the Colab badge at ``exercises/``. The result
is written with deterministic bytes, so ``python -m mlseg exercises --check`` can tell whether
the committed ``exercises/`` are up to date.

The repository's URL has one place, ``[project.urls] Repository`` in ``pyproject.toml``. Every
notebook in ``notebooks/`` and ``solutions/`` opens with an "Open in Colab" badge and a setup
cell that pip-installs the course from that repository when it runs in Colab;
:func:`with_colab_links` rewrites the badge's link and the setup cell's requirement from it
(nothing else in the notebook changes, outputs included), and :func:`generate` applies it to
every notebook before it generates ``exercises/``.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import NamedTuple

import nbformat

__all__ = ["make_exercise", "generate", "find_root", "notebook_bytes", "Project",
           "read_project", "colab_url", "with_colab_links", "sync_colab_links",
           "ReleaseError", "SolutionMarkerError", "ColabLinkError"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_PLACEHOLDER = "raise NotImplementedError"
MARKDOWN_PLACEHOLDER = "YOUR ANSWER HERE"

_KEPT_CELL_METADATA = ("tags", "mlseg")


class ReleaseError(ValueError):
    """The course cannot be released as it is (the message says what to fix)."""


class SolutionMarkerError(ReleaseError):
    """A solution cell has unbalanced or nested BEGIN/END SOLUTION markers."""


class ColabLinkError(ReleaseError):
    """The repository URL is missing or not on GitHub, or a notebook lacks its Colab badge or
    its Colab setup cell."""


def strip_solution(source, *, placeholder=CODE_PLACEHOLDER, where="cell"):
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block in ``source``.

    Examples
    --------
    >>> source = "def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION"
    >>> print(strip_solution(source))
    def f():
        raise NotImplementedError
    """
    out, inside, begin_line = [], False, None
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise SolutionMarkerError(f"{where}: nested '{BEGIN}' at line {number}")
            inside, begin_line = True, number
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + placeholder)
        elif stripped == END:
            if not inside:
                raise SolutionMarkerError(f"{where}: '{END}' without '{BEGIN}' at line {number}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionMarkerError(f"{where}: '{BEGIN}' at line {begin_line} is never closed")
    return "\n".join(out)


def make_exercise(solution):
    """Return the exercise notebook for a solution notebook (a new object; the input is kept)."""
    nb = copy.deepcopy(solution)
    nb.metadata = nbformat.from_dict({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    for index, cell in enumerate(nb.cells):
        where = f"cell {index}"
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source, where=where)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = strip_solution(cell.source, placeholder=MARKDOWN_PLACEHOLDER,
                                         where=where)
            cell.source = re.sub(r"/solutions/(\d\d_\w+\.ipynb)", r"/exercises/\1", cell.source)
            cell.pop("attachments", None)
        cell.metadata = nbformat.from_dict(
            {k: v for k, v in cell.metadata.items() if k in _KEPT_CELL_METADATA})
    return nb


def notebook_bytes(nb):
    """Deterministic serialisation: sorted keys, one-space indent, trailing newline."""
    return (json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def find_root(start=None):
    """The course root: the first folder upwards from ``start`` holding ``solutions/``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir():
            return folder
    raise FileNotFoundError(
        f"no solutions/ folder found in {here} or above: run this from the course repository"
    )


# --------------------------------------------------------------------------------------------
# Colab links, generated from [project.urls] Repository in pyproject.toml
# --------------------------------------------------------------------------------------------

COLAB = "https://colab.research.google.com/github"
BRANCH = "main"
#: Folders whose notebooks carry a badge and a setup cell kept in sync with ``pyproject.toml``
#: (``exercises/`` get theirs from the solutions through :func:`make_exercise`).
LINKED_FOLDERS = ("notebooks", "solutions")

_GITHUB = re.compile(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?")
_BADGE = re.compile(r"(\[!\[Open in Colab\]\([^)\s]*\)\]\()(https://colab\.research\.google\.com/"
                    r"[^)\s]*)(\))", re.IGNORECASE)
_REQUIREMENT = re.compile(r"""(["'])[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]"']*\])? @ git\+[^"'\s]+\1""")
_SETUP = '"google.colab" in sys.modules'


class Project(NamedTuple):
    """What the Colab links are generated from: ``[project]`` of ``pyproject.toml``."""

    distribution: str  # the name pip installs, e.g. "mlseg-course"
    repository: str  # "https://github.com/<owner>/<repo>"

    @property
    def requirement(self):
        """The pip requirement of the Colab setup cell: the distribution from the repository."""
        return f"{self.distribution} @ git+{self.repository}"


def _toml_tables(text):
    """``{table: {key: string}}`` from the ``key = "string"`` lines of a TOML file.

    A fallback for Python 3.10, which has no :mod:`tomllib`; enough for ``[project] name`` and
    ``[project.urls]`` (other value types, inline tables and multi-line strings are skipped).
    """
    tables = {"": {}}
    current = tables[""]
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):  # a table header; [[arrays of tables]] are skipped
            header = re.fullmatch(r"\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(?:#.*)?", line)
            current = tables.setdefault(header[1], {}) if header else {}
            continue
        pair = re.fullmatch(r"""(?:([A-Za-z0-9_-]+)|"([^"]*)")\s*=\s*"""
                            r"""(?:"([^"\\]*)"|'([^']*)')\s*(?:#.*)?""", line)
        if pair:
            current[pair[1] or pair[2]] = pair[3] if pair[3] is not None else pair[4]
    return tables


def read_project(root=None):
    """The distribution name and the GitHub repository from the course's ``pyproject.toml``.

    Parameters
    ----------
    root : path, optional
        The folder holding ``pyproject.toml``; default: the course root found upwards from here.

    Returns
    -------
    Project
        ``repository`` normalised to ``https://github.com/<owner>/<repo>`` (no ``.git``).
    """
    root = find_root() if root is None else Path(root)
    path = root / "pyproject.toml"
    if not path.is_file():
        raise FileNotFoundError(f"no pyproject.toml in {root}: the Colab links are generated from "
                                "its [project.urls] Repository")
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tables = _toml_tables(text)
        project, urls = tables.get("project", {}), tables.get("project.urls", {})
    else:
        project = tomllib.loads(text).get("project", {})
        urls = project.get("urls", {})
    name, url = project.get("name"), urls.get("Repository")
    if not isinstance(name, str) or not name:
        raise ColabLinkError(f"{path}: [project] has no name")
    if not isinstance(url, str):
        raise ColabLinkError(f"{path}: [project.urls] has no "
                             'Repository = "https://github.com/<owner>/<repo>"')
    match = _GITHUB.fullmatch(url.strip())
    if not match:
        raise ColabLinkError(f"{path}: [project.urls] Repository must be a GitHub repository, "
                             f"https://github.com/<owner>/<repo> (Colab opens notebooks from "
                             f"GitHub), got {url!r}")
    return Project(name, f"https://github.com/{match[1]}/{match[2]}")


def colab_url(repository, path):
    """The link that opens the notebook ``path`` (relative to the repository) in Colab.

    Examples
    --------
    >>> colab_url("https://github.com/me/course", "notebooks/02_evaluation.ipynb")
    'https://colab.research.google.com/github/me/course/blob/main/notebooks/02_evaluation.ipynb'
    """
    match = _GITHUB.fullmatch(repository)
    if not match:
        raise ColabLinkError(f"repository must be https://github.com/<owner>/<repo>, "
                             f"got {repository!r}")
    return f"{COLAB}/{match[1]}/{match[2]}/blob/{BRANCH}/{path}"


def _set_source(cell, text):
    """Set a cell's source, keeping its form: a list of lines (as on disk) or one string."""
    if isinstance(cell["source"], list):
        cell["source"] = text.splitlines(keepends=True)
    else:
        cell["source"] = text


def with_colab_links(notebook, path, project):
    """A copy of ``notebook`` whose Colab badge opens ``path`` in ``project.repository`` and
    whose setup cell installs ``project.requirement``; every other cell is left as it is.

    Parameters
    ----------
    notebook : dict
        As read by ``json.load`` (sources as lists of lines) or by nbformat (strings).
    path : str
        The notebook's path in the repository, e.g. ``"notebooks/02_evaluation.ipynb"``.
    project : Project
        From :func:`read_project`.

    Raises
    ------
    ColabLinkError
        When the notebook has no badge (a markdown cell with
        ``[![Open In Colab](...)](https://colab.research.google.com/...)``), or no setup cell (a
        code cell with ``if "google.colab" in sys.modules:``) holding a requirement
        ``"<name> @ git+<url>"``.

    Examples
    --------
    >>> nb = {"cells": [
    ...     {"cell_type": "markdown", "source": "[![Open In Colab](b.svg)](https://colab."
    ...      "research.google.com/github/old/fork/blob/main/notebooks/01_x.ipynb)"},
    ...     {"cell_type": "code", "source": 'if "google.colab" in sys.modules:\\n'
    ...      '    pip("mlseg @ git+https://github.com/old/fork")'}]}
    >>> new = with_colab_links(nb, "notebooks/01_x.ipynb",
    ...                        Project("mlseg-course", "https://github.com/me/course"))
    >>> print(new["cells"][0]["source"].split("](")[-1])
    https://colab.research.google.com/github/me/course/blob/main/notebooks/01_x.ipynb)
    >>> print(new["cells"][1]["source"].splitlines()[-1])
        pip("mlseg-course @ git+https://github.com/me/course")
    """
    nb = copy.deepcopy(notebook)
    link = colab_url(project.repository, path)
    badge = setup = None
    for cell in nb["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if badge is None and cell["cell_type"] == "markdown" and _BADGE.search(source):
            badge = cell
            new = _BADGE.sub(lambda m: m[1] + link + m[3], source, count=1)
        elif setup is None and cell["cell_type"] == "code" and _SETUP in source:
            setup = cell
            new, count = _REQUIREMENT.subn(
                lambda m: f"{m[1]}{project.distribution}{m[2] or ''} @ git+{project.repository}"
                          f"{m[1]}", source)
            if count == 0:
                raise ColabLinkError(f"{path}: the Colab setup cell has no pip requirement "
                                     f'"<name> @ git+<url>" to point at {project.requirement!r}')
        else:
            continue
        if new != source:
            _set_source(cell, new)
    if badge is None:
        raise ColabLinkError(f"{path}: no 'Open In Colab' badge in a markdown cell "
                             f"([![Open In Colab](...badge.svg)]({link}))")
    if setup is None:
        raise ColabLinkError(f"{path}: no Colab setup cell (a code cell with "
                             f"`if {_SETUP}:` that pip-installs {project.requirement!r})")
    return nb


def _with_links_bytes(data, path, project):
    """The bytes of a notebook file with its Colab links in sync (``data`` if they already are)."""
    notebook = json.loads(data)
    synced = with_colab_links(notebook, path, project)
    if synced == notebook:
        return data
    if notebook_bytes(notebook) != data:
        raise ColabLinkError(
            f"{path} is not saved in Jupyter's JSON layout (one-space indent, sorted keys), so "
            "its Colab links cannot be rewritten without reformatting the whole file: open and "
            "save it in Jupyter first")
    return notebook_bytes(synced)


def _write(path, data):
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".ipynb.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _sync_links(root, project, check):
    """Sync the Colab links of ``notebooks/`` and ``solutions/``: (changed entries, new bytes of
    every notebook by path)."""
    changed, contents = [], {}
    for folder in LINKED_FOLDERS:
        for path in sorted((root / folder).glob("*.ipynb")):
            relative = f"{folder}/{path.name}"
            data = path.read_bytes()
            new = _with_links_bytes(data, relative, project)
            if new != data:
                changed.append(f"{relative} (Colab links)")
                if not check:
                    _write(path, new)
            contents[path] = new
    return changed, contents


def sync_colab_links(root=None, *, check=False):
    """Rewrite (or with ``check=True`` only compare) the Colab badge and setup cell of every
    notebook in ``notebooks/`` and ``solutions/`` from ``pyproject.toml``.

    Only those two cell sources change; every other byte of a notebook (outputs included) stays.
    :func:`generate` does this too, before it generates ``exercises/``.

    Returns
    -------
    list of str
        ``"<folder>/<name>.ipynb (Colab links)"`` for each notebook that was out of date.
    """
    root = find_root(root)
    changed, _ = _sync_links(root, read_project(root), check)
    return changed


def generate(root=None, *, check=False):
    """Sync the Colab links, then write (or with ``check=True`` only compare) ``exercises/``
    from ``solutions/``.

    The Colab badge and setup cell of every notebook in ``notebooks/`` and ``solutions/`` are
    rewritten from ``pyproject.toml`` (:func:`sync_colab_links`); the exercises are generated
    from the solutions with their links in sync (in check mode too, without writing them).

    Returns
    -------
    list of str
        What was out of date (written, or found different when checking): notebooks whose
        Colab links were out of date (``"notebooks/01_x.ipynb (Colab links)"``), exercise
        notebooks, and stale exercise notebooks that have no solution any more.
    """
    root = find_root(root)
    changed, contents = _sync_links(root, read_project(root), check)
    solutions = sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb"))
    out_dir = root / "exercises"
    expected_names = set()
    for path in solutions:
        expected_names.add(path.name)
        solution = nbformat.reads(contents[path].decode("utf-8"), as_version=4)
        try:
            data = notebook_bytes(make_exercise(solution))
        except SolutionMarkerError as error:
            raise SolutionMarkerError(f"{path}: {error}") from None
        target = out_dir / path.name
        if not target.exists() or target.read_bytes() != data:
            changed.append(str(target.relative_to(root)))
            if not check:
                _write(target, data)
    if out_dir.is_dir():
        for stale in sorted(out_dir.glob("[0-9][0-9]_*.ipynb")):
            if stale.name not in expected_names:
                changed.append(f"{stale.relative_to(root)} (no solution any more)")
                if not check:
                    stale.unlink()
    return changed
