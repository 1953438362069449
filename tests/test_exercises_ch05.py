"""Chapter 05's exercises: right answers pass (numpy or torch), typical mistakes are named,
library calls get no credit, and the predict/choice questions never reveal their answer."""

import math
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
NOTEBOOK = "05_unet.ipynb"


def unpool_numpy(pooled, indices, shape):
    b, c = pooled.shape[:2]
    out = np.zeros((b, c, math.prod(shape)), pooled.dtype)
    for i in range(b):
        for j in range(c):
            out[i, j, indices[i, j].ravel()] = pooled[i, j].ravel()
    return out.reshape(b, c, *shape)


def unpool_torch(pooled, indices, shape):
    pooled, indices = torch.as_tensor(pooled), torch.as_tensor(indices)
    out = torch.zeros(*pooled.shape[:2], math.prod(shape), dtype=pooled.dtype)
    out.scatter_(2, indices.flatten(2), pooled.flatten(2))
    return out.reshape(*pooled.shape[:2], *shape)


def unet_output_size(size, depth):
    for level in range(depth):
        size -= 4
        if size < 1 or (level < depth - 1 and size % 2):
            return None
        if level < depth - 1:
            size //= 2
    for _ in range(depth - 1):
        size = 2 * size - 4
    return size if size >= 1 else None


def tile_plan(length, out, margin, overlap):
    step = out - overlap
    count = max(1, -(-(length - overlap) // step))
    end = (count - 1) * step + out
    return list(range(0, count * step, step)), margin, margin + end - length


def failed(name, answer):
    return [r.case for r in run_checks(name, answer) if not r.passed]


def test_right_answers_pass_in_numpy_and_in_torch(capsys):
    check("unpool_with_indices", unpool_numpy)
    check("unpool_with_indices", unpool_torch)
    check("unet_output_size", unet_output_size)
    check("unet_output_size", lambda s, d: torch.tensor(unet_output_size(s, d))
          if unet_output_size(s, d) else None)
    check("tile_plan", tile_plan)
    check("tile_plan", lambda *a: (np.array(tile_plan(*a)[0]), *tile_plan(*a)[1:]))
    check("why_checkerboard", lambda: "c")
    check("predict_dilated_field", lambda: 7.0)
    assert capsys.readouterr().out.count("checks passed") == 8


def test_the_index_is_used_in_the_library_as_in_the_slide():
    from mlseg.models.layers import max_pool_with_indices, max_unpool

    x = torch.rand(2, 3, 7, 9)
    pooled, indices = max_pool_with_indices(x)
    assert torch.equal(unpool_torch(pooled, indices, (7, 9)),
                       max_unpool(pooled, indices, output_size=(7, 9)))


def test_top_left_unpooling_ignores_the_indices():
    def top_left(pooled, indices, shape):
        out = np.zeros((*pooled.shape[:2], *shape), pooled.dtype)
        f = shape[0] // pooled.shape[2]
        out[..., :f * pooled.shape[2]:f, :f * pooled.shape[3]:f] = pooled
        return out

    with pytest.raises(CheckFailed, match="case 'the slide's 2x2 example") as info:
        check("unpool_with_indices", top_left)
    assert "flatten the" in str(info.value)  # the hint


def test_nearest_upsampling_is_not_unpooling():
    def repeat(pooled, indices, shape):
        f = shape[0] // pooled.shape[2]
        return pooled.repeat(f, axis=2).repeat(f, axis=3)

    assert failed("unpool_with_indices", repeat)[0].startswith("the slide's")


def test_factor_times_the_pooled_size_fails_only_on_odd_sizes():
    def factor_size(pooled, indices, shape):
        f = shape[0] // pooled.shape[2]
        return unpool_numpy(pooled, indices, tuple(f * s for s in pooled.shape[2:]))

    cases = failed("unpool_with_indices", factor_size)
    assert cases == ["odd sizes, 7x9: the last row and column were never pooled"]


def test_indices_over_the_whole_batch_fail_on_several_channels():
    def whole_tensor(pooled, indices, shape):
        out = np.zeros(pooled.shape[0] * pooled.shape[1] * math.prod(shape), pooled.dtype)
        out[indices.ravel()] = pooled.ravel()
        return out.reshape(*pooled.shape[:2], *shape)

    cases = failed("unpool_with_indices", whole_tensor)
    assert "several images and channels, (2, 3, 6, 6)" in cases
    assert not any(c.startswith("the slide's") for c in cases)


def test_filling_with_the_minimum_fails_on_negative_values():
    def min_fill(pooled, indices, shape):
        out = unpool_numpy(pooled, indices, shape)
        return np.where(out == 0, pooled.min(), out)

    assert "all values negative: the other pixels are zero, not the minimum" in failed(
        "unpool_with_indices", min_fill)


def test_forgetting_that_pooling_needs_an_even_size_fails():
    def rounds_down(size, depth):
        for level in range(depth):
            size -= 4
            if level < depth - 1:
                size //= 2
        for _ in range(depth - 1):
            size = 2 * size - 4
        return size if size >= 1 else None

    cases = failed("unet_output_size", rounds_down)
    assert "depth 3, 50 pixels: odd before a pooling, does not fit" in cases
    assert "the U-Net paper: 572 pixels, depth 5" not in cases


def test_two_pixels_per_convolution_pair_is_caught():
    def two_per_pair(size, depth):  # one pixel off per side for the pair, not per convolution
        for level in range(depth):
            size -= 2
            if size < 1 or (level < depth - 1 and size % 2):
                return None
            if level < depth - 1:
                size //= 2
        for _ in range(depth - 1):
            size = 2 * size - 2
        return size

    results = run_checks("unet_output_size", two_per_pair)
    assert not results[0].passed and "this size fits" in results[0].detail  # 570 // 2 is odd
    assert not results[1].passed and "expected 6, got 8" in results[1].detail  # depth 1
    with pytest.raises(CheckFailed, match="two 3x3 convolutions take 4 pixels off"):
        check("unet_output_size", two_per_pair)


def test_an_exclusive_end_misses_the_last_tile():
    def exclusive(length, out, margin, overlap):
        step = out - overlap
        starts = list(range(0, max(1, length - out), step))
        return starts, margin, margin + starts[-1] + out - length

    cases = failed("tile_plan", exclusive)
    assert "tiles that fit exactly: 3 steps of 10 plus one output" in cases
    assert "the image is one tile's output exactly: one tile" not in cases


def test_padding_only_by_the_margin_is_named():
    results = run_checks("tile_plan", lambda *a: (tile_plan(*a)[0], a[2], a[2]))
    bad = [r for r in results if not r.passed]
    assert bad and "starts right; expected padding" in bad[0].detail
    assert "a 50-pixel image" in bad[0].case


def test_the_library_gets_no_credit():
    from mlseg.models import layers, unet

    def library_unpool(pooled, indices, shape):
        p = torch.as_tensor(pooled)
        return layers.max_unpool(p, torch.as_tensor(indices),
                                 factor=shape[0] // p.shape[2], output_size=shape)

    def library_size(size, depth):
        try:
            return unet.output_size(size, depth=depth)
        except ValueError:
            return None

    def library_method(size, depth):
        try:
            return unet.UNet(depth=depth, padding="valid").output_size(size)
        except ValueError:
            return None

    for name, answer in (("unpool_with_indices", library_unpool),
                         ("unet_output_size", library_size),
                         ("unet_output_size", library_method)):
        with pytest.raises(CheckFailed, match="calls the library's"):
            check(name, answer)


def test_the_predict_and_choice_questions_never_reveal_the_answer():
    for letter in "ABD":
        detail = run_checks("why_checkerboard", lambda letter=letter: letter)[0].detail
        assert "'C'" not in detail and "C " not in detail
    for value, why in ((5, "two ordinary"), (9, "both"), (6, "spans 5"), (8, None)):
        result = run_checks("predict_dilated_field", lambda value=value: value)[0]
        assert not result.passed and "7" not in result.detail
        if why:
            assert why in result.detail
    assert "one letter" in run_checks("why_checkerboard", lambda: 3)[0].detail


def test_the_chapter_is_indexed_and_importing_the_engine_loads_no_torch():
    assert checks.CHAPTERS["ch05_unet"] == ("unpool_with_indices", "unet_output_size",
                                            "tile_plan", "why_checkerboard",
                                            "predict_dilated_field")
    code = "import sys, mlseg.checks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


# --- a class of chapter-05 submissions -----------------------------------------------------


def _solution():
    return nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class05")
    students = {
        "ada": _solution(),
        "ben": replace_answer(_solution(), "unpool_with_indices",
                        "def unpool_with_indices(pooled, indices, shape):\n"
                        "    p, i = torch.as_tensor(pooled), torch.as_tensor(indices)\n"
                        "    out = torch.zeros(*p.shape[:2], int(np.prod(shape)))\n"
                        "    out.scatter_(2, i.flatten(2), p.flatten(2))\n"
                        "    return out.reshape(*p.shape[:2], *shape)"),
        "cy": replace_answer(_solution(), "unet_output_size",
                       "from mlseg.models.unet import output_size\n"
                       "def unet_output_size(size, depth):\n"
                       "    try:\n"
                       "        return output_size(size, depth=depth)\n"
                       "    except ValueError:\n"
                       "        return None"),
        "dee": replace_answer(_solution(), "predict_dilated_field",
                        "def predict_dilated_field():\n"
                        "    return 5"),
        "eve": nbformat.read(ROOT / "exercises" / NOTEBOOK, as_version=4),
    }
    return grade_class(tmp, NOTEBOOK, students, seed=43)


def test_chapter_05_submissions_are_graded(graded):
    names = checks.CHAPTERS["ch05_unet"]
    assert all(graded[("ada", n)]["status"] == "passed" for n in names)
    assert graded[("ben", "unpool_with_indices")]["status"] == "passed"  # a torch answer
    cy = graded[("cy", "unet_output_size")]
    assert (cy["status"], cy["score"]) == ("failed", "0.00")
    assert "mlseg.models.unet.output_size" in cy["detail"]
    dee = graded[("dee", "predict_dilated_field")]
    assert dee["status"] == "failed" and "two ordinary" in dee["detail"]
    assert "7" not in dee["detail"]
    assert {graded[("eve", n)]["status"] for n in names} == {"error"}  # the unfilled release
