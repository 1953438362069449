"""The teaching conventions of DESIGN.md, checked on the committed notebooks.

* Exercises are not answered next door: no solution block reappears in the companion notebook
  (``notebooks/NN_*.ipynb``), and no "predict the number" answer is written there.
* Each chapter has at least 4 checked exercises, a transfer and an interpretation question, and
  each exercise says how it builds on the lecture or the companion notebook.
* The data of a question printed in a solution notebook are the data its check uses.
"""

import difflib
import inspect
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from mlseg import checks
from mlseg.exercises import BEGIN, END

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
#: The chapters whose exercise texts were rewritten by issue 9 §1 to name what they build on.
REWRITTEN = [p for p in SOLUTIONS if p.name[:2] in ("01", "02", "03")]

#: A line of a solution is "non-trivial" when it is longer than this (normalised).
MIN_LINE = 15
#: Two lines are "the same" when difflib finds them at least this similar (so that
#: ``tp = int(np.sum(r & p))`` is caught next to ``tp = np.sum(r & p)``).
SIMILAR = 0.85
#: A solution leaks when more than this fraction of its non-trivial lines occur next door...
MAX_FRACTION = 0.5
#: ... or when this many of them occur one after the other (a copied block).
MAX_RUN = 4


def _strip_comment(line):
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            return line[:i]
    return line


def normalise(lines):
    """Lines stripped, comments and blank lines dropped, whitespace collapsed."""
    out = []
    for line in lines:
        line = " ".join(_strip_comment(line).split())
        if line:
            out.append(line)
    return out


def solution_blocks(path):
    """``{exercise function name: normalised lines between the markers}`` of a solution."""
    blocks = {}
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        name = re.search(r"def (\w+)\(", cell.source)
        inside, lines = False, []
        for line in cell.source.splitlines():
            if line.strip() == BEGIN:
                inside = True
            elif line.strip() == END:
                inside = False
            elif inside:
                lines.append(line)
        blocks[name[1] if name else f"cell {len(blocks)}"] = normalise(lines)
    return blocks


def companion(path):
    """The companion notebook of a solution notebook (same file name in notebooks/)."""
    notebook = ROOT / "notebooks" / path.name
    if not notebook.exists():
        pytest.skip(f"{path.name} has no companion notebook yet")
    return notebook


def code_lines(path):
    nb = nbformat.read(path, as_version=4)
    return normalise(line for cell in nb.cells if cell.cell_type == "code"
                     for line in cell.source.splitlines())


def leak(block, notebook_lines):
    """``None`` if ``block`` is not answered by ``notebook_lines``, else why it is."""
    lines = [line for line in block if len(line) > MIN_LINE]
    if not lines:
        return None
    candidates = set(notebook_lines)

    def occurs(line):
        return line in candidates or any(
            difflib.SequenceMatcher(None, line, other).ratio() >= SIMILAR for other in candidates)

    found = [occurs(line) for line in lines]
    run = longest = 0
    for hit in found:
        run = run + 1 if hit else 0
        longest = max(longest, run)
    fraction = sum(found) / len(found)
    if fraction > MAX_FRACTION or longest >= MAX_RUN:
        copied = [line for line, hit in zip(lines, found) if hit]
        return (f"{sum(found)} of {len(found)} lines ({longest} in a row) are in the companion "
                f"notebook: {copied[:4]}")
    return None


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_no_solution_is_answered_in_the_companion_notebook(path):
    notebook = code_lines(companion(path))
    blocks = solution_blocks(path)
    assert len(blocks) >= 4
    leaks = {name: why for name, block in blocks.items() if (why := leak(block, notebook))}
    assert not leaks, leaks


# The answers of the previous release, which the companion notebooks did contain (kept here, so
# that the test shows it would have caught them).
OLD_CONFUSION = '''
    reference = np.asarray(reference, bool)
    prediction = np.asarray(prediction, bool)
    tp = int(np.sum(reference & prediction))
    fp = int(np.sum(~reference & prediction))
    fn = int(np.sum(reference & ~prediction))
    tn = int(np.sum(~reference & ~prediction))
    return tp, fp, fn, tn
'''
OLD_HAUSDORFF = '''
    reference = np.asarray(reference, bool)
    prediction = np.asarray(prediction, bool)
    if not reference.any() or not prediction.any():
        return float("nan")
    if spacing is None:
        spacing = (1.0,) * reference.ndim
    structure = ndi.generate_binary_structure(reference.ndim, 1)
    ref_edge = reference & ~ndi.binary_erosion(reference, structure)
    pred_edge = prediction & ~ndi.binary_erosion(prediction, structure)
    to_pred = ndi.distance_transform_edt(~pred_edge, sampling=spacing)
    to_ref = ndi.distance_transform_edt(~ref_edge, sampling=spacing)
    return float(max(to_pred[ref_edge].max(), to_ref[pred_edge].max()))
'''
OLD_REGION_GROW = '''
    image = np.asarray(image)
    seed = tuple(seed)
    region = np.zeros(image.shape, bool)
    if not lower <= image[seed] <= upper:
        return region
    region[seed] = True
    queue = deque([seed])
    while queue:
        r, c = queue.popleft()
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < image.shape[0] and 0 <= nc < image.shape[1] and not region[nr, nc] \\
                    and lower <= image[nr, nc] <= upper:
                region[nr, nc] = True
                queue.append((nr, nc))
    return region
'''


@pytest.mark.parametrize("notebook, old", [
    ("02_evaluation.ipynb", OLD_CONFUSION),
    ("02_evaluation.ipynb", OLD_HAUSDORFF),
    ("03_classical_methods.ipynb", OLD_REGION_GROW),
], ids=["confusion", "hausdorff", "region_grow_queue"])
def test_the_leak_test_catches_the_old_exercises_answered_next_door(notebook, old):
    why = leak(normalise(old.splitlines()), code_lines(ROOT / "notebooks" / notebook))
    assert why is not None and "are in the companion notebook" in why


def test_the_leak_test_lets_a_shared_line_or_two_pass():
    notebook = normalise(["tp = np.sum(reference & prediction)", "x = compute(1, 2, 3, 4)"])
    block = normalise(["reference = np.asarray(reference, bool)", "tp = np.sum(reference & "
                       "prediction)  # as in the notebook", "total = reference.sum() + "
                       "prediction.sum()", "return 2 * tp / total if total else float('nan')"])
    assert leak(block, notebook) is None
    assert leak(block[:2], notebook) is None  # half is not more than half
    assert leak(block[1:3], notebook) is None


# --- "predict the number": the answer is not written in the companion notebook -----------------


def _rounded_decimals(exercise):
    compare = exercise.compare
    if getattr(compare, "__qualname__", "") != "rounded.<locals>.compare":
        return None
    return inspect.getclosurevars(compare).nonlocals["decimals"]


def _graded(path):
    nb = nbformat.read(path, as_version=4)
    return [c.metadata["mlseg"]["exercise"] for c in nb.cells
            if c.cell_type == "code" and "mlseg" in c.metadata]


def _sources(path):
    nb = nbformat.read(path, as_version=4)
    return "\n".join(cell.source for cell in nb.cells)


def written_in(value, decimals, text):
    """Is ``value`` written in ``text`` at ``decimals`` digits or more (as 0.875, .875, 0.8750)?"""
    rounded = f"{value:.{decimals}f}"
    whole, _, fraction = rounded.partition(".")
    pattern = rf"(?<![\d.])(?:{whole})?\.{fraction}0*(?!\d)"
    return re.search(pattern, text) is not None


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_predict_the_number_answers_are_not_written_in_the_companion_notebook(path):
    text = _sources(companion(path))
    predictions = [name for name in _graded(path)
                   if _rounded_decimals(checks.EXERCISES[name]) is not None]
    for name in predictions:  # (a multiple-choice letter is no number to look for)
        exercise = checks.EXERCISES[name]
        decimals = _rounded_decimals(exercise)
        if decimals == 0:
            continue  # a count: small integers are everywhere; the question's data are new
        expected = exercise.reference()
        assert not written_in(expected, decimals, text), name


def test_the_old_nsd_question_would_have_been_caught():
    text = _sources(ROOT / "notebooks" / "02_evaluation.ipynb")
    assert written_in(0.875, 3, text)  # the old predict_alignment_nsd, explained next door
    assert not written_in(0.5625, 3, "NSD = 0.56 and 0.5629")


# --- the shape of every chapter --------------------------------------------------------------


def _exercise_markdown(path):
    """``{exercise: the markdown introducing it}``: the heading cell before its function."""
    nb = nbformat.read(path, as_version=4)
    text, found = "", {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = cell.source if cell.source.startswith("## Exercise") else text + cell.source
        elif "mlseg" in cell.metadata:
            found[cell.metadata["mlseg"]["exercise"]] = text
    return found


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_chapter_has_four_exercises_a_transfer_and_an_interpretation(path):
    markdown = _exercise_markdown(path)
    assert len(markdown) >= 4
    headings = [text.splitlines()[0] for text in markdown.values()]
    assert any("transfer" in h for h in headings), headings
    assert any("interpretation" in h for h in headings), headings
    assert all(h.startswith("## Exercise") and "point" in h for h in headings), headings


@pytest.mark.parametrize("path", REWRITTEN, ids=lambda p: p.name)
def test_every_exercise_ties_itself_to_the_lecture_or_the_notebook(path):
    for name, text in _exercise_markdown(path).items():
        assert "notebook" in text or "lecture" in text, name


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_graded_exercise_has_a_hint_and_forbids_what_it_reimplements(path):
    for name in _graded(path):
        exercise = checks.EXERCISES[name]
        assert exercise.hint, name
        multiple_choice = getattr(exercise.compare, "__qualname__", "").startswith("choice.")
        assert exercise.forbidden or multiple_choice, name  # a letter re-implements nothing


@pytest.mark.parametrize("name", sorted(checks.EXERCISES))
def test_a_failed_check_shows_the_exercises_hint(name):
    hint = checks.EXERCISES[name].hint
    assert len(hint) > 40, name
    with pytest.raises(checks.CheckFailed) as info:
        checks.check(name, lambda *args, **kwargs: "wrong")
    assert f"hint: {hint}" in str(info.value)


def test_the_questions_in_the_notebooks_use_the_checks_data():
    from mlseg.checks.ch02_evaluation import _shifted_squares
    from mlseg.checks.ch03_classical import GROW_IMAGE

    sources = _sources(ROOT / "solutions" / "03_classical_methods.ipynb")
    printed = re.search(r"grow_image = np\.array\((\[\[.*?\]\])\)", sources, re.S)[1]
    assert np.array_equal(np.array(eval(printed)), GROW_IMAGE)  # noqa: S307 - our own notebook
    sources = _sources(ROOT / "solutions" / "02_evaluation.ipynb")
    _, shifted = _shifted_squares()
    rows, columns = np.nonzero(shifted)
    assert f"shifted[{rows.min()}:{rows.max() + 1}, {columns.min()}:{columns.max() + 1}] = True" \
        in sources
    sources = _sources(ROOT / "solutions" / "01_imaging_challenges.ipynb")
    from mlseg.checks import ch01_imaging as ch01

    for number in (ch01.SHEET_MM, ch01.SHEET_INTENSITY, ch01.SURROUNDING_INTENSITY,
                   ch01.SLICE_MM):
        assert re.search(rf"\b{number} mm|intensity {number}\b|{number} mm thick", sources), number
