"""Generate the exercise notebooks from the solution notebooks (the single source).

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
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat

__all__ = ["make_exercise", "generate", "find_root", "notebook_bytes"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_PLACEHOLDER = "raise NotImplementedError"
MARKDOWN_PLACEHOLDER = "YOUR ANSWER HERE"

_KEPT_CELL_METADATA = ("tags", "mlseg")


class SolutionMarkerError(ValueError):
    """A solution cell has unbalanced or nested BEGIN/END SOLUTION markers."""


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


def generate(root=None, *, check=False):
    """Write (or with ``check=True`` only compare) ``exercises/`` from ``solutions/``.

    Returns
    -------
    list of str
        The exercise notebooks that were out of date (written, or found different when checking),
        plus stale exercise notebooks that have no solution any more.
    """
    root = find_root(root)
    solutions = sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb"))
    out_dir = root / "exercises"
    changed = []
    expected_names = set()
    for path in solutions:
        expected_names.add(path.name)
        solution = nbformat.read(path, as_version=4)
        try:
            data = notebook_bytes(make_exercise(solution))
        except SolutionMarkerError as error:
            raise SolutionMarkerError(f"{path}: {error}") from None
        target = out_dir / path.name
        if not target.exists() or target.read_bytes() != data:
            changed.append(str(target.relative_to(root)))
            if not check:
                out_dir.mkdir(exist_ok=True)
                tmp = target.with_suffix(".ipynb.tmp")
                tmp.write_bytes(data)
                tmp.replace(target)
    if out_dir.is_dir():
        for stale in sorted(out_dir.glob("[0-9][0-9]_*.ipynb")):
            if stale.name not in expected_names:
                changed.append(f"{stale.relative_to(root)} (no solution any more)")
                if not check:
                    stale.unlink()
    return changed
