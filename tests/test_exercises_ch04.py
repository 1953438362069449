"""Chapter 04's exercises: right answers pass (numpy or torch), typical mistakes are named,
library calls get no credit, and a class of chapter-04 submissions is graded."""

import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _helpers import grade_class, replace_answer  # noqa: E402

from mlseg import checks  # noqa: E402
from mlseg.checks import CheckFailed, check, run_checks  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "04_dense_classification.ipynb"


def fcn_geometry(layers, size):
    stride, field = 1, 1
    for kernel, step in layers:
        size = (size - kernel) // step + 1
        field += (kernel - 1) * stride
        stride *= step
    return size, stride, field


def to_fully_convolutional(state):
    new = {k: v.clone() for k, v in state.items() if k.startswith(("conv1", "conv2"))}
    for conv, fc in (("conv3", "fc1"), ("conv4", "fc2"), ("conv5", "fc3")):
        weight = state[f"{fc}.weight"]
        new[f"{conv}.weight"] = (weight.reshape(-1, 16, 5, 5) if fc == "fc1"
                                 else weight[:, :, None, None]).clone()
        new[f"{conv}.bias"] = state[f"{fc}.bias"].clone()
    return new


def sliding_window_numpy(model, canvas):
    """A plain loop, one window at a time, answered in numpy."""
    rows, columns = (canvas.shape[0] - 32) // 4 + 1, (canvas.shape[1] - 32) // 4 + 1
    out = None
    with torch.no_grad():
        for i in range(rows):
            for j in range(columns):
                window = torch.as_tensor(canvas[4 * i:4 * i + 32, 4 * j:4 * j + 32])
                scores = model(window[None, None])[0].numpy()
                if out is None:
                    out = np.zeros((len(scores), rows, columns), np.float32)
                out[:, i, j] = scores
    return out


def test_right_answers_pass_in_numpy_and_in_torch(capsys):
    check("fcn_geometry", fcn_geometry)
    check("to_fully_convolutional", to_fully_convolutional)
    check("sliding_window_map", sliding_window_numpy)
    check("why_no_digit_class", lambda: "b")
    assert capsys.readouterr().out.count("checks passed") == 4


def test_true_division_is_caught_where_pooling_rounds_down():
    def rounding_up(layers, size):
        stride, field = 1, 1
        for kernel, step in layers:
            size = -(-(size - kernel) // step) + 1
            field += (kernel - 1) * stride
            stride *= step
        return size, stride, field

    failed = [r.case for r in run_checks("fcn_geometry", rounding_up) if not r.passed]
    assert "FCLeNet, 70 pixels: pooling rounds down" in failed
    assert "FCLeNet, a 64x64 input (the lecture's question)" not in failed


def test_a_receptive_field_that_forgets_the_stride_so_far_fails():
    def no_stride(layers, size):
        s, stride, field = fcn_geometry(layers, size)
        return s, stride, 1 + sum(k - 1 for k, _ in layers)

    with pytest.raises(CheckFailed, match="case 'FCLeNet, a 32x32 input"):
        check("fcn_geometry", no_stride)


def test_fc1_reshaped_in_the_wrong_order_computes_something_else():
    def channels_last(state):
        new = to_fully_convolutional(state)
        new["conv3.weight"] = state["fc1.weight"].reshape(-1, 5, 5, 16).permute(0, 3, 1, 2)
        return new

    with pytest.raises(CheckFailed, match="loaded into FCLeNet, it computes something else"):
        check("to_fully_convolutional", channels_last)


def test_a_fully_connected_shape_is_named():
    def flat(state):
        new = to_fully_convolutional(state)
        new["conv4.weight"] = state["fc2.weight"]
        return new

    results = run_checks("to_fully_convolutional", flat)
    assert "conv4.weight: expected shape (84, 120, 1, 1), got (84, 120)" in results[0].detail


def test_ten_classes_hard_coded_fails_on_the_other_class_counts():
    def ten(state):
        new = to_fully_convolutional(state)
        new["conv5.weight"] = state["fc3.weight"].reshape(10, 84, 1, 1)
        return new

    results = run_checks("to_fully_convolutional", ten)
    assert [r.passed for r in results] == [True, False, False]
    assert "raised RuntimeError" in results[1].detail


def test_a_window_range_that_stops_early_misses_the_last_window():
    def exclusive_end(model, canvas):
        rows = len(range(0, canvas.shape[0] - 32, 4))
        columns = len(range(0, canvas.shape[1] - 32, 4))
        return sliding_window_numpy(model, canvas)[:, :rows, :columns]

    failed = [r.case for r in run_checks("sliding_window_map", exclusive_end) if not r.passed]
    assert any("64x64" in case for case in failed)
    assert not any("66x70" in case for case in failed)  # there the last window starts at 32


def test_transposed_maps_fail():
    results = run_checks("sliding_window_map",
                         lambda m, c: sliding_window_numpy(m, c).transpose(0, 2, 1))
    assert not results[2].passed and "expected shape" in results[2].detail  # 48x40


@pytest.mark.parametrize("answer", [
    lambda m, c: __import__("mlseg.models.lenet", fromlist=["x"]).fully_convolutional(m)(
        torch.as_tensor(c)[None, None])[0],
    lambda m, c: _through_fclenet(m, c),
], ids=["fully_convolutional", "building an FCLeNet"])
def test_the_sliding_window_may_not_use_the_library_conversion(answer):
    with pytest.raises(CheckFailed, match="calls the library's"):
        check("sliding_window_map", answer)


def _through_fclenet(model, canvas):
    from mlseg.models.lenet import FCLeNet

    fcn = FCLeNet(num_classes=model.fc3.out_features)
    fcn.load_state_dict(to_fully_convolutional(model.state_dict()))
    with torch.no_grad():
        return fcn(torch.as_tensor(canvas)[None, None])[0]


def test_the_multiple_choice_never_reveals_the_letter():
    for letter in "ACD":
        results = run_checks("why_no_digit_class", lambda letter=letter: letter)
        assert not results[0].passed
        assert "'B'" not in results[0].detail and "B " not in results[0].detail
    assert "one letter" in run_checks("why_no_digit_class", lambda: 2)[0].detail


def test_importing_the_engine_still_loads_no_torch():
    code = "import sys, mlseg.checks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


# --- a class of chapter-04 submissions -----------------------------------------------------


def _solution():
    return nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class04")
    students = {
        "ada": _solution(),
        "ben": replace_answer(_solution(), "sliding_window_map",
                        "import numpy as np\n"
                        "def sliding_window_map(model, canvas):\n"
                        "    rows, cols = (canvas.shape[0] - 32) // 4 + 1, "
                        "(canvas.shape[1] - 32) // 4 + 1\n"
                        "    out = []\n"
                        "    with torch.no_grad():\n"
                        "        for i in range(rows):\n"
                        "            for j in range(cols):\n"
                        "                w = torch.as_tensor(canvas[4*i:4*i+32, 4*j:4*j+32])\n"
                        "                out.append(model(w[None, None])[0].numpy())\n"
                        "    return np.array(out).T.reshape(-1, rows, cols)"),
        "cy": replace_answer(_solution(), "sliding_window_map",
                       "from mlseg.models import lenet as L\n"
                       "def sliding_window_map(model, canvas):\n"
                       "    with torch.no_grad():\n"
                       "        return L.fully_convolutional(model)(torch.as_tensor(canvas)"
                       "[None, None])[0]"),
        "dee": replace_answer(_solution(), "to_fully_convolutional",
                        "def to_fully_convolutional(state):\n"
                        "    return dict(state)"),
        "eve": nbformat.read(ROOT / "exercises" / NOTEBOOK, as_version=4),
    }
    return grade_class(tmp, NOTEBOOK, students, seed=41)


def test_chapter_04_submissions_are_graded_with_torch_answers(graded):
    names = checks.CHAPTERS["ch04_dense"]
    assert all(graded[("ada", n)]["status"] == "passed" for n in names)
    assert graded[("ben", "sliding_window_map")]["status"] == "passed"  # numpy answer
    cy = graded[("cy", "sliding_window_map")]
    assert (cy["status"], cy["score"]) == ("failed", "0.00")
    assert "mlseg.models.lenet.fully_convolutional" in cy["detail"]
    dee = graded[("dee", "to_fully_convolutional")]
    assert dee["status"] == "failed" and "keys must be FCLeNet's" in dee["detail"]
    assert {graded[("eve", n)]["status"] for n in names} == {"error"}  # the unfilled release
