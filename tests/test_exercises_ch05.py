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
F = torch.nn.functional

from _helpers import failing, grade_class, replace_answer  # noqa: E402

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


def transpose_conv_size(size, kernel, stride, padding=0, output_padding=0):
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def up_block_torch(x, skip, weights):
    x, skip = torch.as_tensor(x), torch.as_tensor(skip)
    w = {k: torch.as_tensor(v) for k, v in weights.items()}
    dims = x.ndim - 2
    up = (F.conv_transpose2d, F.conv_transpose3d)[dims - 2](x, w["up.weight"], w["up.bias"],
                                                            stride=2)
    starts = [(have - want) // 2 for have, want in zip(skip.shape[2:], up.shape[2:])]
    cropped = skip[(..., *(slice(s, s + n) for s, n in zip(starts, up.shape[2:])))]
    conv = (F.conv2d, F.conv3d)[dims - 2]
    y = F.relu(conv(torch.cat([cropped, up], dim=1), w["conv1.weight"], w["conv1.bias"]))
    return F.relu(conv(y, w["conv2.weight"], w["conv2.bias"]))


AXES = "ijk"


def _valid_conv(x, weight, bias):
    """An unpadded cross-correlation in numpy, 2D or 3D: (B, C, ...) -> (B, O, ...)."""
    dims = x.ndim - 2
    windows = np.lib.stride_tricks.sliding_window_view(x, weight.shape[2:],
                                                       axis=tuple(range(2, x.ndim)))
    taps = "xyz"[:dims]
    out = np.einsum(f"bc{AXES[:dims]}{taps},oc{taps}->bo{AXES[:dims]}", windows, weight)
    return out + bias.reshape(-1, *(1,) * dims)


def up_block_numpy(x, skip, weights):
    """The block in float64 numpy: the 2x2 stride-2 up-conv writes each pixel's kernel copy
    into its own 2x2 block (an outer product, interleaved)."""
    x, skip = np.asarray(x, float), np.asarray(skip, float)
    w = {k: np.asarray(v, float) for k, v in weights.items()}
    dims, (batch, _, *low) = x.ndim - 2, x.shape
    spatial, taps = AXES[:dims], "xyz"[:dims]
    interleaved = "".join(a + t for a, t in zip(spatial, taps))
    up = np.einsum(f"bc{spatial},co{taps}->bo{interleaved}", x, w["up.weight"])
    up = up.reshape(batch, -1, *(2 * n for n in low)) + w["up.bias"].reshape(-1, *(1,) * dims)
    starts = [(have - want) // 2 for have, want in zip(skip.shape[2:], up.shape[2:])]
    cropped = skip[(..., *(slice(s, s + n) for s, n in zip(starts, up.shape[2:])))]
    y = np.maximum(_valid_conv(np.concatenate([cropped, up], axis=1), w["conv1.weight"],
                               w["conv1.bias"]), 0)
    return np.maximum(_valid_conv(y, w["conv2.weight"], w["conv2.bias"]), 0)


def receptive_field(stack):
    field, jump = 1, 1
    for kernel, stride, dilation in stack:
        field += (kernel - 1) * dilation * jump
        jump *= stride
    return field


def tiled_apply(image, network, out, margin, overlap, *, mode="reflect", crop=True):
    (rows, top, bottom), (columns, left, right) = (
        tile_plan(n, out, margin, overlap) for n in image.shape)
    padded = np.pad(image, ((top, bottom), (left, right)), mode=mode)
    total = np.zeros((rows[-1] + out, columns[-1] + out))
    count = np.zeros_like(total)
    tile = out + 2 * margin
    for r in rows:
        for c in columns:
            total[r:r + out, c:c + out] += network(padded[r:r + tile, c:c + tile])
            count[r:r + out, c:c + out] += 1
    return (total / count)[:image.shape[0], :image.shape[1]] if crop else total / count


def tiled_apply_torch(image, network, out, margin, overlap):
    """In torch: reflect-padding with F.pad, tiles given to the network as tensors."""
    (rows, top, bottom), (columns, left, right) = (
        tile_plan(n, out, margin, overlap) for n in image.shape)
    padded = torch.as_tensor(image)
    for axis, (before, after) in ((0, (top, bottom)), (1, (left, right))):
        while before or after:  # torch mirrors at most size - 1 pixels at a time
            n = padded.shape[axis] - 1
            step = (min(before, n), min(after, n))
            pads = (0, 0, *step) if axis == 0 else (*step, 0, 0)
            padded = F.pad(padded[None, None], pads, mode="reflect")[0, 0]
            before, after = before - step[0], after - step[1]
    total = torch.zeros(rows[-1] + out, columns[-1] + out)
    count = torch.zeros_like(total)
    tile = out + 2 * margin
    for r in rows:
        for c in columns:
            total[r:r + out, c:c + out] += torch.as_tensor(
                network(padded[r:r + tile, c:c + tile]))
            count[r:r + out, c:c + out] += 1
    return (total / count)[:image.shape[0], :image.shape[1]]


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
    check("transpose_conv_size", transpose_conv_size)
    check("transpose_conv_size", lambda *a, **k: torch.tensor(transpose_conv_size(*a, **k)))
    check("up_block", up_block_torch)
    check("up_block", up_block_numpy)
    check("receptive_field", receptive_field)
    check("receptive_field", lambda stack: np.int64(receptive_field(stack)))
    check("tiled_apply", tiled_apply)
    check("tiled_apply", tiled_apply_torch)
    assert capsys.readouterr().out.count("checks passed") == 16


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
    assert checks.CHAPTERS["ch05_unet"] == (
        "unpool_with_indices", "transpose_conv_size", "why_checkerboard", "up_block",
        "unet_output_size", "predict_dilated_field", "receptive_field", "tile_plan",
        "tiled_apply")
    code = "import sys, mlseg.checks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


# --- the size of a transpose convolution -------------------------------------------------------


def test_the_measured_transpose_size_is_the_textbook_formula():
    """The reference runs torch on zeros; the formula, an independent oracle, agrees."""
    from mlseg.checks.ch05_unet import _transpose_size

    rng = np.random.default_rng(0)
    for _ in range(100):
        kernel, stride = int(rng.integers(1, 9)), int(rng.integers(1, 5))
        size, padding = int(rng.integers(2, 50)), int(rng.integers(0, kernel // 2 + 1))
        output_padding = int(rng.integers(0, stride))
        assert _transpose_size(size, kernel, stride, padding, output_padding) == \
            transpose_conv_size(size, kernel, stride, padding, output_padding)


def test_forgetting_output_padding_is_named():
    cases, message = failing("transpose_conv_size",
                             lambda size, kernel, stride, padding=0, output_padding=0:
                             (size - 1) * stride - 2 * padding + kernel)
    assert cases[0] == "kernel 3, stride 2, padding 1, output_padding 1: doubles too"
    assert "expected 64, got 63: output_padding is missing" in message
    assert "U-Net's up-conv (kernel 2, stride 2): doubles the size" not in cases


def test_stride_times_size_passes_the_up_conv_and_fails_the_rest():
    cases, message = failing("transpose_conv_size", lambda size, kernel, stride, padding=0,
                             output_padding=0: size * stride)
    assert "U-Net's up-conv (kernel 2, stride 2): doubles the size" not in cases
    assert "stride 1, kernel 5: undoes a valid convolution, 4 pixels more" in cases
    assert "stride times the size holds only for" in message


def test_the_ordinary_convolutions_size_is_named():
    _, message = failing("transpose_conv_size", lambda size, kernel, stride, padding=0,
                         output_padding=0: (size + 2 * padding - kernel) // stride + 1)
    assert "expected 56, got 14: that is the ordinary convolution's size" in message


# --- the U-Net decoder block --------------------------------------------------------------------


def _cases(name):
    return checks.EXERCISES[name].cases(np.random.default_rng(checks.PUBLIC_SEED))


def test_the_up_block_reference_is_the_librarys_up_block(monkeypatch):
    from mlseg.checks.ch05_unet import _up_block
    from mlseg.models import unet

    case = _cases("up_block")[0]
    expected = _up_block(*case.args)
    assert np.allclose(expected, up_block_numpy(*case.args), rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(unet.Up, "forward", lambda self, x, skip=None: torch.zeros(1))
    assert _up_block(*case.args).shape == (1,)  # the reference's output is Up's


def test_the_up_block_cases_cover_odd_crops_channels_and_3d():
    cases = _cases("up_block")
    x, skip, weights = cases[0].args  # the shapes the notebook asks about
    assert (x.shape, skip.shape) == ((1, 8, 6, 6), (1, 4, 16, 16))
    assert any((s.shape[2] - 2 * x.shape[2]) % 2 for c in cases for x, s, _ in [c.args])
    assert any(w["up.weight"].shape[0] != 2 * w["up.weight"].shape[1]
               for c in cases for _, _, w in [c.args])
    assert any(c.args[0].ndim == 5 for c in cases) and any(c.args[0].shape[0] > 1 for c in cases)
    source = "".join(c.source for c in _solution().cells)
    assert "`x` of shape `(1, 8, 6, 6)` and `skip` of `(1, 4, 16, 16)`" in source


def _up_with(**slip):
    from mlseg.checks.ch05_unet import _up_variant

    return lambda x, skip, weights: _up_variant(x, skip, weights, **slip)


def test_a_wrong_concatenation_order_is_named():
    cases, message = failing("up_block", _up_with(skip_first=False))
    assert cases[0].startswith("the paper's block")
    assert "the concatenation's order: the cropped skip comes first" in message


def test_a_crop_one_pixel_off_is_named():
    _, message = failing("up_block", _up_with(shift=1))
    assert "the crop is one pixel late" in message


def test_rounding_the_odd_crop_up_fails_only_on_odd_crops():
    def round_up(x, skip, weights):
        size = [2 * n for n in x.shape[2:]]
        starts = [-(-(have - want) // 2) for have, want in zip(skip.shape[2:], size)]
        cropped = skip[(..., *(slice(s, s + n) for s, n in zip(starts, size)))]
        return up_block_torch(x, cropped, weights)

    cases, message = failing("up_block", round_up)
    assert "odd crop: the skip is 3 pixels larger (1 off the start, 2 off the end)" in cases
    assert "the paper's block, small: 2 pixels cropped on every side" not in cases
    assert "no crop: the skip has the up-sampled size (same padding upstream)" not in cases
    assert "one pixel late" in message


def test_padded_convolutions_get_the_shapes_step_by_step():
    def padded(x, skip, weights):
        w = {k: torch.as_tensor(v) for k, v in weights.items()}
        x, skip = torch.as_tensor(x), torch.as_tensor(skip)
        up = F.conv_transpose2d(x, w["up.weight"], w["up.bias"], stride=2)
        starts = [(h - n) // 2 for h, n in zip(skip.shape[2:], up.shape[2:])]
        cropped = skip[(..., *(slice(s, s + n) for s, n in zip(starts, up.shape[2:])))]
        y = F.relu(F.conv2d(torch.cat([cropped, up], 1), w["conv1.weight"], w["conv1.bias"],
                            padding=1))
        return F.relu(F.conv2d(y, w["conv2.weight"], w["conv2.bias"], padding=1))

    _, message = failing("up_block", padded)
    assert "expected shape (1, 4, 8, 8), got (1, 4, 12, 12)" in message
    assert "the two 3x3 convolutions are unpadded (valid)" in message
    assert ("x (1, 8, 6, 6) -> up-conv (1, 4, 12, 12); skip (1, 4, 16, 16) cropped to "
            "(1, 4, 12, 12); concatenated (1, 8, 12, 12); 3x3 conv (1, 4, 10, 10); 3x3 conv "
            "(1, 4, 8, 8)") in message


def test_a_top_left_crop_and_a_missing_relu_are_named():
    assert "takes the centre of the skip" in failing("up_block", _up_with(top_left=True))[1]
    assert "the second too" in failing("up_block", _up_with(last_relu=False))[1]


def test_a_2d_only_block_fails_only_the_3d_transfer():
    def flat_only(x, skip, weights):
        if np.ndim(x) != 4:
            raise ValueError("2D only")
        return up_block_torch(x, skip, weights)

    cases = failed("up_block", flat_only)
    assert cases and all("3D" in c for c in cases)


def test_the_reference_answers_keep_their_slips_through_pickling():
    """The grader pickles the reference answers for its workers."""
    import pickle

    from mlseg.checks.ch05_unet import _transpose_size, _up_block

    array = _up_block(*_cases("up_block")[0].args)
    again = pickle.loads(pickle.dumps(array))
    assert len(again.slips) == len(array.slips) >= 4 and again.notes == array.notes
    assert np.array_equal(again, array)
    size = pickle.loads(pickle.dumps(_transpose_size(32, 3, 2, 1, 1)))
    assert size == 64 and dict(size.slips)[63].startswith("output_padding")


# --- the receptive field of a stack --------------------------------------------------------------


def test_the_receptive_field_reference_is_measured_by_the_library():
    from mlseg.checks.ch05_unet import _receptive_field

    for case in _cases("receptive_field"):
        assert _receptive_field(*case.args) == receptive_field(*case.args), case.name


def test_forgetting_the_dilation_or_the_strides_is_named():
    cases, message = failing("receptive_field",
                             lambda stack: receptive_field([(k, s, 1) for k, s, _ in stack]))
    assert "the dilation is missing" in message
    assert "FCLeNet of chapter 04 (dilation 1 everywhere)" not in cases
    cases, message = failing("receptive_field",
                             lambda stack: receptive_field([(k, 1, d) for k, _, d in stack]))
    assert cases[0] == "a pooling (kernel 2, stride 2), then a convolution: it reads pixels 2 apart"
    assert "the strides are missing" in message


def test_summing_the_spans_fails_on_the_empty_stack():
    _, message = failing("receptive_field", lambda stack: sum((k - 1) * d + 1 for k, _, d in stack))
    assert "case 'an empty stack: a pixel sees itself' failed: expected 1, got 0" in message
    assert "start from a field of 1" in message


def test_the_receptive_field_cases_never_print_the_predict_question_answer():
    """Exercise 6 asks for two 3x3 layers with dilations 1 and 2: no case is that stack."""
    for seed in range(20):
        for case in checks.EXERCISES["receptive_field"].cases(np.random.default_rng(seed)):
            assert list(case.args[0]) not in ([(3, 1, 1), (3, 1, 2)], [(3, 1, 2), (3, 1, 1)])


# --- overlap-tiled inference -------------------------------------------------------------------


def test_the_tiled_reference_is_sliding_window_and_for_a_valid_network_the_whole_image():
    from mlseg.inference import sliding_window

    for case in _cases("tiled_apply"):
        image, network, out, margin, overlap = case.args
        expected = checks.EXERCISES["tiled_apply"].reference(*case.args)
        library = sliding_window(network.module, image, tile=out + 2 * margin,
                                 overlap=overlap, progress=False)[0]
        assert np.array_equal(np.asarray(expected), library), case.name
        if network.padding == "valid":
            padded = torch.from_numpy(np.pad(image, margin, mode="reflect"))[None, None]
            with torch.no_grad():
                whole = network.module(padded)[0, 0].numpy()
            assert np.abs(whole - library).max() < 1e-5, case.name
        else:  # the tiles see zeros at their edges: the answer depends on the tiling
            with torch.no_grad():
                whole = network.module(torch.from_numpy(image)[None, None])[0, 0].numpy()
            if overlap:
                assert np.abs(whole - library).max() > 1e-3, case.name


def test_the_network_takes_one_tile_only():
    def whole_image(image, network, out, margin, overlap):
        return network(np.pad(image, margin, mode="reflect"))

    _, message = failing("tiled_apply", whole_image)
    assert "raised ValueError: this network takes one input tile of 20x20 pixels" in message


def test_zero_padding_is_named():
    def zeros(image, network, out, margin, overlap):
        return tiled_apply(image, network, out, margin, overlap, mode="constant")

    cases, message = failing("tiled_apply", zeros)
    assert "the image is padded with zeros; mirror it" in message
    assert "a network of 1-pixel kernels: no margin, nothing to mirror" not in cases


def test_symmetric_mirroring_is_named():
    def symmetric(image, network, out, margin, overlap):
        return tiled_apply(image, network, out, margin, overlap, mode="symmetric")

    assert "mode='symmetric' repeats the border pixel" in failing("tiled_apply", symmetric)[1]


def test_summing_overlapping_outputs_is_named():
    def summed(image, network, out, margin, overlap):
        return tiled_apply(image, network, out, margin, overlap) * _counts(image.shape, out,
                                                                           overlap)

    cases, message = failing("tiled_apply", summed)
    assert "tiles side by side, no overlap (the U-Net paper's overlap-tile)" not in cases
    assert "where tiles overlap, the outputs are summed" in message


def _counts(shape, out, overlap):
    counts = []
    for n in shape:
        count = np.zeros(n)
        for start in tile_plan(n, out, 0, overlap)[0]:
            count[start:start + out] += 1
        counts.append(count)
    return np.outer(*counts)


def test_a_running_average_is_caught_by_the_same_padding_network():
    """For a valid network every overlapping output agrees, so any average passes; a
    same-padding network's tiles disagree, and only the plain average is the library's."""
    def running_average(image, network, out, margin, overlap):
        (rows, top, bottom), (columns, left, right) = (
            tile_plan(n, out, margin, overlap) for n in image.shape)
        padded = np.pad(image, ((top, bottom), (left, right)), mode="reflect")
        total = np.full((rows[-1] + out, columns[-1] + out), np.nan)
        tile = out + 2 * margin
        for r in rows:
            for c in columns:
                score, region = network(padded[r:r + tile, c:c + tile]), total[r:r + out,
                                                                               c:c + out]
                region[...] = np.where(np.isnan(region), score, (region + score) / 2)
        return total[:image.shape[0], :image.shape[1]]

    cases, message = failing("tiled_apply", running_average)
    assert cases and all("same padding" in c for c in cases)
    assert "the wrong values all lie where tiles overlap: average the overlapping" in message


def test_forgetting_to_crop_to_the_image_is_named():
    def uncropped(image, network, out, margin, overlap):
        return tiled_apply(image, network, out, margin, overlap, crop=False)

    _, message = failing("tiled_apply", uncropped)
    assert "larger than the image: crop the stitched tiles to the image's shape" in message


def test_the_library_gets_no_credit_for_the_new_exercises():
    from mlseg.inference import sliding_window
    from mlseg.models import output_geometry, unet
    from mlseg.models.lenet import output_geometry as geometry

    def measured(size, kernel, stride, padding=0, output_padding=0):
        layer = torch.nn.ConvTranspose1d(1, 1, kernel, stride, padding, output_padding)
        return layer(torch.zeros(1, 1, size)).shape[-1]

    def library_block(x, skip, weights):
        block = unet.Up(weights["up.weight"].shape[0], weights["up.weight"].shape[1],
                        spatial_dims=np.ndim(x) - 2, padding="valid", norm=None)
        return block(torch.as_tensor(x), torch.as_tensor(skip))

    def library_field(stack):
        layers = [torch.nn.Conv2d(1, 1, k, stride=s, dilation=d) for k, s, d in stack]
        return output_geometry(layers, size=10_000).receptive_field

    def library_tiles(image, network, out, margin, overlap):
        return sliding_window(network.module, image, tile=out + 2 * margin, overlap=overlap,
                              progress=False)[0]

    assert geometry is output_geometry
    for name, answer in (("transpose_conv_size", measured), ("up_block", library_block),
                         ("receptive_field", library_field), ("tiled_apply", library_tiles)):
        with pytest.raises(CheckFailed, match="calls the library's"):
            check(name, answer)


# --- a class of chapter-05 submissions -----------------------------------------------------


def _solution():
    return nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)


def _edited(nb, name, old, new):
    """The notebook with one line of ``name``'s solution changed (a typical slip)."""
    cell = next(c for c in nb.cells if c.cell_type == "code" and f"def {name}(" in c.source)
    assert old in cell.source
    return replace_answer(nb, name, cell.source.replace(old, new))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class05")
    ben = replace_answer(_solution(), "unpool_with_indices",
                         "def unpool_with_indices(pooled, indices, shape):\n"
                         "    p, i = torch.as_tensor(pooled), torch.as_tensor(indices)\n"
                         "    out = torch.zeros(*p.shape[:2], int(np.prod(shape)))\n"
                         "    out.scatter_(2, i.flatten(2), p.flatten(2))\n"
                         "    return out.reshape(*p.shape[:2], *shape)")
    ben = replace_answer(ben, "transpose_conv_size",
                         "def transpose_conv_size(size, kernel, stride, padding=0, "
                         "output_padding=0):\n"
                         "    return np.int64(stride * (size - 1) + kernel - 2 * padding "
                         "+ output_padding)")
    cy = replace_answer(_solution(), "unet_output_size",
                        "from mlseg.models.unet import output_size\n"
                        "def unet_output_size(size, depth):\n"
                        "    try:\n"
                        "        return output_size(size, depth=depth)\n"
                        "    except ValueError:\n"
                        "        return None")
    cy = replace_answer(cy, "tiled_apply",
                        "from mlseg.inference import sliding_window\n"
                        "def tiled_apply(image, network, out, margin, overlap):\n"
                        "    return sliding_window(network.module, image, tile=out + 2 * margin,"
                        " overlap=overlap, progress=False)[0]")
    dee = replace_answer(_solution(), "predict_dilated_field",
                         "def predict_dilated_field():\n"
                         "    return 5")
    dee = _edited(dee, "up_block", "torch.cat([cropped, up], dim=1)",
                  "torch.cat([up, cropped], dim=1)")
    dee = _edited(dee, "transpose_conv_size", " + output_padding", "")
    students = {"ada": _solution(), "ben": ben, "cy": cy, "dee": dee,
                "eve": nbformat.read(ROOT / "exercises" / NOTEBOOK, as_version=4)}
    return grade_class(tmp, NOTEBOOK, students, seed=43)


def test_chapter_05_submissions_are_graded(graded):
    names = checks.CHAPTERS["ch05_unet"]
    ada = {n: graded[("ada", n)] for n in names}
    assert all(row["status"] == "passed" for row in ada.values()), ada
    assert graded[("ben", "unpool_with_indices")]["status"] == "passed"  # a torch answer
    ben = graded[("ben", "transpose_conv_size")]
    assert ben["status"] == "passed", ben  # a numpy integer
    cy = graded[("cy", "unet_output_size")]
    assert (cy["status"], cy["score"]) == ("failed", "0.00")
    assert "mlseg.models.unet.output_size" in cy["detail"]
    cy = graded[("cy", "tiled_apply")]
    assert (cy["status"], cy["score"]) == ("failed", "0.00")
    assert "mlseg.inference.sliding_window" in cy["detail"]
    assert graded[("cy", "tile_plan")]["status"] == "passed"
    dee = graded[("dee", "predict_dilated_field")]
    assert dee["status"] == "failed" and "two ordinary" in dee["detail"]
    assert "7" not in dee["detail"]
    dee = graded[("dee", "up_block")]
    assert (dee["status"], dee["score"]) == ("failed", "0.00")
    assert "the concatenation's order" in dee["detail"]
    dee = graded[("dee", "transpose_conv_size")]
    assert dee["status"] == "partial" and 0 < float(dee["score"]) < 2
    assert "output_padding is missing" in dee["detail"]
    assert {graded[("eve", n)]["status"] for n in names} == {"error"}  # the unfilled release
