"""Reading an answer's code: does it use the library function it is meant to re-implement?"""

import pytest

from mlseg.checks.library_calls import find_library_calls

DICE = ["mlseg.metrics.dice"]


@pytest.mark.parametrize("cells", [
    ["import mlseg", "def dice(a, b):\n    return mlseg.metrics.dice(a, b)"],
    ["import mlseg.metrics", "def dice(a, b):\n    return mlseg.metrics.dice(a, b)"],
    ["import mlseg.metrics as mm", "def dice(a, b):\n    return mm.dice(a, b)"],
    ["from mlseg.metrics import dice as d", "def dice(a, b):\n    return d(a, b)"],
    ["from mlseg import metrics", "def dice(a, b):\n    return getattr(metrics, 'dice')(a, b)"],
    ["import importlib", "def dice(a, b):\n"
     "    return importlib.import_module('mlseg.metrics').dice(a, b)"],
    ["def dice(a, b):\n    return __import__('mlseg.metrics', fromlist=['x']).dice(a, b)"],
    ["def dice(a, b):\n    import mlseg.metrics as m\n    f = m.dice\n    return f(a, b)"],
    ["from mlseg import metrics as M", "def helper(a, b):\n    return M.dice(a, b) * 1.0",
     "def dice(a, b):\n    return helper(a, b)"],
    ["from mlseg import metrics", "dice = lambda a, b: metrics.dice(a, b)"],
    ["from mlseg import metrics", "dice = metrics.dice"],
    ["from mlseg.metrics import dice"],
    ["%matplotlib inline\nfrom mlseg import metrics as m",
     "def dice(a, b):\n    return m.dice(a, b)"],
], ids=["import mlseg", "import mlseg.metrics", "import as", "from-import as", "getattr",
        "import_module", "__import__", "local import and alias", "through a helper", "lambda",
        "alias", "imported under the name", "after a magic"])
def test_every_import_style_is_found(cells):
    assert find_library_calls(cells, "dice", DICE) == DICE


@pytest.mark.parametrize("cells", [
    ["def dice(a, b):\n    return 2.0"],
    ["from mlseg import metrics", "def dice(a, b):\n    tp, fp, fn, tn = metrics.confusion(a, b)\n"
     "    return 2 * tp / (2 * tp + fp + fn)"],
    ["from mlseg import metrics", "def dice(a, b):\n    return 1.0",
     "print(metrics.dice(x, y), dice(x, y))  # comparing with the library is fine"],
    ["from mlseg.metrics import dice", "def dice(a, b):\n    return 1.0"],
    ["from mlseg.metrics import *", "def dice(a, b):\n    return 1.0"],
    ["def dice(a, b):\n    return (", "def dice(a, b):\n    return 0.5"],
], ids=["plain", "another library function", "the library used outside the answer",
        "import shadowed by the def", "star import shadowed", "a cell that does not parse"])
def test_honest_answers_are_not_flagged(cells):
    assert find_library_calls(cells, "dice", DICE) == []


def test_the_last_definition_counts():
    cells = ["from mlseg import metrics", "def dice(a, b):\n    return metrics.dice(a, b)",
             "def dice(a, b):\n    return 0.5"]
    assert find_library_calls(cells, "dice", DICE) == []
    assert find_library_calls(cells[::-1][1:] + cells[1:2], "dice", DICE) == DICE
