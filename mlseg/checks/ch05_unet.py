"""Checks of chapter 05: the cases of its exercises and their reference answers.

Loaded by :mod:`mlseg.checks` the first time one of these exercises is named; torch is imported
here, never by the engine.
"""

from __future__ import annotations

import math

import numpy as np

from . import Case, as_numpy, choice, compare_array, register, rounded


class _KnownInt(int):
    """A reference answer that also knows what the classic slips give: ``slips`` lists
    ``(value, what to tell the student)``, in the order they are tried."""

    slips: tuple = ()


def _known_int(value, slips):
    result = _KnownInt(value)
    result.slips = tuple((int(v), why) for v, why in slips if int(v) != int(value))
    return result


class _KnownArray(np.ndarray):
    """A reference array that also knows what the classic slips give (``slips``: a list of
    ``(array, what to tell the student)``) and notes for the feedback (``notes``: a dict).
    Both survive pickling, as the grader pickles the reference answers."""

    def __new__(cls, array, slips=(), notes=None):
        result = np.asarray(array).view(cls)
        result.slips = [(np.asarray(a), why) for a, why in slips
                        if np.shape(a) != result.shape or not np.allclose(a, array)]
        result.notes = dict(notes or {})
        return result

    def __array_finalize__(self, obj):
        self.slips = getattr(obj, "slips", [])
        self.notes = getattr(obj, "notes", {})

    def __reduce__(self):
        rebuild, args, state = super().__reduce__()
        return rebuild, args, (state, self.slips, self.notes)

    def __setstate__(self, state):
        base, self.slips, self.notes = state
        super().__setstate__(base)


def _as_count(got):
    """``got`` as an int, or the reason it is not one."""
    got = as_numpy(got)
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.reshape(()).item()
    if hasattr(got, "item") and not isinstance(got, (int, float)):
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float)) or not math.isfinite(got) \
            or got != int(got):
        return None, f"expected an integer, got {got!r}"
    return int(got), None


def _compare_known_int(got, expected):
    """An integer equal to ``expected``; a known slip is named."""
    value, problem = _as_count(got)
    if problem:
        return problem
    if value == int(expected):
        return None
    message = f"expected {int(expected)}, got {value}"
    for slip, why in getattr(expected, "slips", ()):
        if value == slip:
            return f"{message}: {why}"
    return message


def _pooled(x, factor):
    """``x`` (numpy) max-pooled with the library: (pooled, indices, spatial shape) as numpy."""
    import torch

    from ..models.layers import max_pool_with_indices

    pooled, indices = max_pool_with_indices(torch.as_tensor(x), factor=factor)
    return pooled.numpy(), indices.numpy(), tuple(x.shape[2:])


def _unpool_cases(rng):
    image = np.array([[0., 1., 0., 0.],
                      [0., 0., 0., 2.],
                      [3., 0., 0., 0.],
                      [0., 0., 4., 0.]], np.float32)[None, None]
    cases = [Case("the slide's 2x2 example (1, 2, 3, 4 back to where they were)",
                  _pooled(image, 2))]
    families = [
        ("a random 8x8 map, factor 2", (1, 1, 8, 8), 2, False),
        ("several images and channels, (2, 3, 6, 6)", (2, 3, 6, 6), 2, False),
        ("factor 3, a 9x12 map", (1, 2, 9, 12), 3, False),
        ("odd sizes, 7x9: the last row and column were never pooled", (1, 2, 7, 9), 2, False),
        ("all values negative: the other pixels are zero, not the minimum", (1, 1, 6, 6), 2,
         True),
        ("3D, a (4, 6, 4) volume: indices count in the whole (D, H, W) volume", (1, 2, 4, 6, 4),
         2, False),
    ]
    for name, shape, factor, negative in families:
        x = rng.standard_normal(shape).astype(np.float32)
        if negative:
            x = -np.abs(x) - 1
        cases.append(Case(name, _pooled(x, factor)))
    return cases


def _unpool(pooled, indices, shape):
    import torch

    from ..models.layers import max_unpool

    pooled, indices = torch.as_tensor(pooled), torch.as_tensor(indices)
    factor = shape[0] // pooled.shape[2]
    return max_unpool(pooled, indices, factor=factor, output_size=shape).numpy()


def _unet_cases(rng):
    cases = [
        Case("the U-Net paper: 572 pixels, depth 5", (572, 5)),
        Case("depth 1: two 3x3 convolutions only", (10, 1)),
        Case("depth 3, 140 pixels", (140, 3)),
        Case("depth 2, 36 pixels (a tile of the notebook)", (36, 2)),
        Case("depth 3, 50 pixels: odd before a pooling, does not fit", (50, 3)),
        Case("depth 5, 140 pixels: the output would be empty", (140, 5)),
        Case("depth 4, 92 pixels: the smallest that fits", (92, 4)),
        Case("depth 4, 190 pixels: even at the first pooling, odd at the second", (190, 4)),
    ]
    for i in range(4):
        depth = int(rng.integers(2, 6))
        cases.append(Case(f"random: depth {depth} #{i + 1}", (int(rng.integers(30, 400)), depth)))
    return cases


def _unet_output(size, depth):
    from ..models.unet import output_size

    try:
        return output_size(size, depth=depth)
    except ValueError:
        return None


def _compare_size(got, expected):
    got = as_numpy(got)
    if expected is None:
        if got is None:
            return None
        return f"this size does not fit the network: expected None, got {got!r}"
    if got is None:
        return "this size fits: expected an integer, got None"
    try:
        value = int(got)
        if float(got) != value or isinstance(got, bool):
            raise ValueError
    except (TypeError, ValueError):
        return f"expected an integer, got {got!r}"
    if value != expected:
        return f"expected {expected}, got {value}"
    return None


def _tile_cases(rng):
    cases = [
        Case("the image is one tile's output exactly: one tile", (20, 20, 8, 0)),
        Case("a 50-pixel image, 20-pixel outputs, margin 8 (the notebook's example)",
             (50, 20, 8, 0)),
        Case("an image smaller than one tile's output", (13, 20, 8, 0)),
        Case("overlap 4: the step is 16", (50, 20, 8, 4)),
        Case("the U-Net paper: 388-pixel outputs, margin 92, a 512-pixel image",
             (512, 388, 92, 0)),
        Case("tiles that fit exactly: 3 steps of 10 plus one output", (40, 10, 2, 0)),
        Case("a same-padding network: margin 0", (100, 32, 0, 8)),
    ]
    for i in range(4):
        out = int(rng.integers(4, 60))
        cases.append(Case(f"random #{i + 1}", (int(rng.integers(1, 300)), out,
                                               int(rng.integers(0, 50)),
                                               int(rng.integers(0, out)))))
    return cases


def _tile_plan(length, out, margin, overlap):
    """The tiles of :func:`mlseg.inference.sliding_window` along one axis (down-sampling 1)."""
    from ..inference import tile_plan

    return tile_plan(length, out, margin, out - overlap)


def _compare_plan(got, expected):
    starts, before, after = expected
    try:
        got_starts, got_before, got_after = got
        got_starts = [int(s) for s in got_starts]
        got_before, got_after = int(got_before), int(got_after)
    except (TypeError, ValueError):
        return f"expected (starts, pad_before, pad_after): a list and two integers, got {got!r}"
    if len(got_starts) != len(starts):
        return f"expected {len(starts)} tiles, got {len(got_starts)}: starts {got_starts}"
    if got_starts != starts:
        return f"expected the tiles' outputs to start at {starts}, got {got_starts}"
    if (got_before, got_after) != (before, after):
        return (f"starts right; expected padding ({before}, {after}) before and after the "
                f"image, got ({got_before}, {got_after})")
    return None


def _dilated_field():
    """The receptive field of 3x3 convolutions with dilations 1 then 2, measured by the library."""
    from ..models import output_geometry
    from ..models.layers import dilated_conv

    stack = [dilated_conv(1, 1, dilation=d, seed=0) for d in (1, 2)]
    return output_geometry(stack, size=32).receptive_field


# --------------------------------------------------------------------------------------------
# The output size of a transpose convolution, measured with torch (no formula)
# --------------------------------------------------------------------------------------------


def _transpose_cases(rng):
    cases = [
        Case("U-Net's up-conv (kernel 2, stride 2): doubles the size", (28, 2, 2)),
        Case("kernel 3, stride 2, padding 1, output_padding 1: doubles too", (32, 3, 2),
             {"padding": 1, "output_padding": 1}),
        Case("kernel 3, stride 2, padding 1, no output_padding: one short of double",
             (32, 3, 2), {"padding": 1}),
        Case("kernel 4, stride 2, padding 1 (DCGAN's up-sampling)", (16, 4, 2), {"padding": 1}),
        Case("stride 1, kernel 5: undoes a valid convolution, 4 pixels more", (10, 5, 1)),
        Case("stride 1, padding 1: a 3x3 kernel keeps the size", (10, 3, 1), {"padding": 1}),
        Case("a single input pixel: the output is one copy of the kernel", (1, 5, 3)),
        Case("kernel 2, stride 3: gaps between the copies", (5, 2, 3)),
        Case("large: 100000 pixels, kernel 16, stride 8, padding 4", (100_000, 16, 8),
             {"padding": 4}),
    ]
    for i in range(4):
        kernel, stride = int(rng.integers(1, 8)), int(rng.integers(1, 5))
        kwargs = {"padding": int(rng.integers(0, kernel // 2 + 1)),
                  "output_padding": int(rng.integers(0, stride))}
        cases.append(Case(f"random #{i + 1}", (int(rng.integers(2, 200)), kernel, stride),
                          kwargs))
    return cases


def _transpose_size(size, kernel, stride, padding=0, output_padding=0):
    """The length torch's ``conv_transpose1d`` returns, measured on zeros; the slips' values
    come along to name them in the feedback."""
    import torch
    import torch.nn.functional as F

    x, weight = torch.zeros(1, 1, size), torch.zeros(1, 1, kernel)
    measured = F.conv_transpose1d(x, weight, stride=stride, padding=padding,
                                  output_padding=output_padding).shape[-1]
    n, k, s, p, op = size, kernel, stride, padding, output_padding
    return _known_int(measured, [
        ((n - 1) * s - 2 * p + k, "output_padding is missing: it adds its pixels at the end"),
        (n * s, "stride times the size holds only for the kernels and paddings made for it "
                "(2x2 stride 2; 4x4 stride 2 padding 1; 3x3 stride 2 padding 1 "
                "output_padding 1)"),
        ((n + 2 * p - k) // s + 1, "that is the ordinary convolution's size, which goes the "
                                   "other way (many pixels to few)"),
        (n * s - 2 * p + k + op, "the copies start at 0, stride, ..., (size - 1) * stride: "
                                 "there are size - 1 steps between the first and the last"),
        ((n - 1) * s + 2 * p + k + op, "padding is cut off the output of a transpose "
                                       "convolution (it pads the ordinary convolution's input)"),
        ((n - 1) * s - p + k + op, "padding is cut off both ends"),
    ])


# --------------------------------------------------------------------------------------------
# A U-Net decoder block: up-conv, copy and crop, concatenate, two valid 3x3 convolutions
# --------------------------------------------------------------------------------------------

#: The names of ``up_block``'s weights and where :class:`mlseg.models.unet.Up` keeps them.
UP_BLOCK_KEYS = {"up.weight": "up.weight", "up.bias": "up.bias",
                 "conv1.weight": "conv.0.weight", "conv1.bias": "conv.0.bias",
                 "conv2.weight": "conv.2.weight", "conv2.bias": "conv.2.bias"}


def _up_weights(rng, in_channels, out_channels, spatial_dims):
    """Random weights of a decoder block, scaled so that the values stay near one."""
    def draw(*shape, fan_in):
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)

    kernel2, kernel3 = (2,) * spatial_dims, (3,) * spatial_dims
    joined = 2 * out_channels
    return {
        "up.weight": draw(in_channels, out_channels, *kernel2, fan_in=in_channels),
        "up.bias": draw(out_channels, fan_in=4),
        "conv1.weight": draw(out_channels, joined, *kernel3, fan_in=joined * 3 ** spatial_dims),
        "conv1.bias": draw(out_channels, fan_in=4),
        "conv2.weight": draw(out_channels, out_channels, *kernel3,
                             fan_in=out_channels * 3 ** spatial_dims),
        "conv2.bias": draw(out_channels, fan_in=4),
    }


def _up_case(rng, name, batch, in_channels, out_channels, low, skip):
    """A case: x (batch, in_channels, *low), skip (batch, out_channels, *skip)."""
    x = rng.standard_normal((batch, in_channels, *low)).astype(np.float32)
    features = rng.standard_normal((batch, out_channels, *skip)).astype(np.float32)
    return Case(name, (x, features, _up_weights(rng, in_channels, out_channels, len(low))))


def _up_cases(rng):
    cases = [
        _up_case(rng, "the paper's block, small: 2 pixels cropped on every side",
                 1, 8, 4, (6, 6), (16, 16)),
        _up_case(rng, "no crop: the skip has the up-sampled size (same padding upstream)",
                 1, 4, 2, (5, 5), (10, 10)),
        _up_case(rng, "odd crop: the skip is 3 pixels larger (1 off the start, 2 off the end)",
                 1, 4, 2, (4, 4), (11, 11)),
        _up_case(rng, "not square: a different crop on each axis",
                 1, 6, 3, (7, 5), (17, 12)),
        _up_case(rng, "a batch of 2, 6 channels in, 4 out (not halving)", 2, 6, 4, (4, 5),
                 (12, 14)),
        _up_case(rng, "one channel in, one out", 1, 1, 1, (3, 3), (9, 9)),
        _up_case(rng, "3D (transfer): a (B, C, D, H, W) volume, conv_transpose3d and conv3d",
                 1, 4, 2, (3, 4, 3), (9, 10, 8)),
    ]
    for i in range(2):
        low = tuple(int(n) for n in rng.integers(3, 9, size=2))
        skip = tuple(2 * n + int(rng.integers(0, 6)) for n in low)
        cases.append(_up_case(rng, f"random 2D #{i + 1}", int(rng.integers(1, 3)),
                              int(rng.integers(1, 7)), int(rng.integers(1, 5)), low, skip))
    low = tuple(int(n) for n in rng.integers(3, 5, size=3))
    cases.append(_up_case(rng, "random 3D #1", 1, int(rng.integers(1, 4)),
                          int(rng.integers(1, 4)), low, tuple(2 * n + int(rng.integers(0, 4))
                                                             for n in low)))
    return cases


def _up_variant(x, skip, weights, *, skip_first=True, shift=0, top_left=False, biases=True,
                last_relu=True):
    """The decoder block written out with torch's functional layers, optionally with a slip."""
    import torch
    import torch.nn.functional as F

    x, skip = torch.as_tensor(x), torch.as_tensor(skip)
    w = {k: torch.as_tensor(v) for k, v in weights.items()}
    b = {k: (v if biases else None) for k, v in w.items()}
    dims = x.ndim - 2
    up_conv = (F.conv_transpose2d, F.conv_transpose3d)[dims - 2]
    conv = (F.conv2d, F.conv3d)[dims - 2]
    up = up_conv(x, w["up.weight"], b["up.bias"], stride=2)
    size = up.shape[2:]
    starts = [0 if top_left else (have - want) // 2 + shift
              for have, want in zip(skip.shape[2:], size)]
    if any(s < 0 or s + n > have for s, n, have in zip(starts, size, skip.shape[2:])):
        return None
    cropped = skip[(Ellipsis, *(slice(s, s + n) for s, n in zip(starts, size)))]
    joined = torch.cat([cropped, up] if skip_first else [up, cropped], dim=1)
    y = F.relu(conv(joined, w["conv1.weight"], b["conv1.bias"]))
    y = conv(y, w["conv2.weight"], b["conv2.bias"])
    return (F.relu(y) if last_relu else y).numpy()


def _shape_steps(x, skip, weights):
    """What the feedback says about the shapes: each step of the block, in words."""
    batch, _, *low = x.shape
    channels = weights["up.weight"].shape[1]
    up = [2 * n for n in low]
    middle, out = [n - 2 for n in up], [n - 4 for n in up]

    def shape(c, sizes):
        return "(" + ", ".join(str(v) for v in (batch, c, *sizes)) + ")"

    return (f"x {shape(x.shape[1], low)} -> up-conv {shape(channels, up)}; skip "
            f"{shape(skip.shape[1], skip.shape[2:])} cropped to {shape(channels, up)}; "
            f"concatenated {shape(2 * channels, up)}; 3x3 conv {shape(channels, middle)}; "
            f"3x3 conv {shape(channels, out)}")


def _up_block(x, skip, weights):
    """:class:`mlseg.models.unet.Up` (valid padding, no normalisation) with ``weights``
    loaded, on ``x`` and ``skip``; the classic slips' outputs come along for the feedback."""
    import torch

    from ..models import seeded
    from ..models.unet import Up

    dims = x.ndim - 2
    in_channels, out_channels = weights["up.weight"].shape[:2]
    with seeded(0):
        block = Up(int(in_channels), int(out_channels), spatial_dims=dims, padding="valid",
                   norm=None)
    block.load_state_dict({UP_BLOCK_KEYS[k]: torch.as_tensor(v) for k, v in weights.items()})
    with torch.no_grad():
        out = block.eval()(torch.as_tensor(x), torch.as_tensor(skip)).numpy()
    slips = [
        ({"skip_first": False}, "the concatenation's order: the cropped skip comes first, then "
                                "the up-sampled features (conv1's first input channels read "
                                "the skip)"),
        ({"shift": 1}, "the crop is one pixel late: it starts (have - want) // 2 pixels in, "
                       "rounding down, on every axis"),
        ({"shift": -1}, "the crop is one pixel early: it starts (have - want) // 2 pixels in, "
                        "on every axis"),
        ({"top_left": True}, "copy and crop takes the centre of the skip, not its top-left "
                             "corner"),
        ({"last_relu": False}, "each of the two convolutions is followed by a ReLU, the "
                               "second too"),
        ({"biases": False}, "the biases are missing (up.bias, conv1.bias, conv2.bias)"),
    ]
    known = []
    for options, why in slips:
        variant = _up_variant(x, skip, weights, **options)
        if variant is not None:  # (a crop one pixel early may not exist)
            known.append((variant, why))
    return _KnownArray(out, known, {"steps": _shape_steps(x, skip, weights)})


def _compare_known_array(got, expected, *, rtol=1e-5, atol=1e-5, shapes=None):
    """``got`` against ``expected`` (a :class:`_KnownArray`); a known slip is named."""
    problem = compare_array(got, expected, rtol=rtol, atol=atol)
    if problem is None:
        return None
    try:
        values = np.asarray(as_numpy(got), dtype=float)
    except (TypeError, ValueError):
        return problem
    if values.shape != expected.shape:
        extra = shapes(values.shape, expected) if shapes else None
        return f"{problem}" + (f"; {extra}" if extra else "")
    for slip, why in getattr(expected, "slips", ()):
        if np.allclose(values, slip, rtol=rtol, atol=atol):
            return f"{why}; {problem}"
    return problem


def _up_block_shapes(got, expected):
    steps = expected.notes.get("steps", "")
    out = expected.shape
    hints = []
    if len(got) != len(out):
        hints.append(f"expected {len(out)} axes, (B, C) and the spatial axes of x, got "
                     f"{len(got)}")
    elif tuple(got[2:]) == tuple(n + 4 for n in out[2:]):
        hints.append("the output has the up-sampled size: the two 3x3 convolutions are "
                     "unpadded (valid), each takes one pixel off every side")
    elif got[1] == 2 * out[1]:
        hints.append("twice the channels: the two convolutions bring the concatenation back "
                     "to conv2's output channels")
    return "; ".join(hints + [f"the shapes, step by step: {steps}"])


# --------------------------------------------------------------------------------------------
# The receptive field of a stack of (dilated, strided) layers
# --------------------------------------------------------------------------------------------


def _field_cases(rng):
    from ..models.lenet import FCLENET_LAYERS

    cases = [
        Case("an empty stack: a pixel sees itself", ([],)),
        Case("one convolution, kernel 3", ([(3, 1, 1)],)),
        Case("one convolution, kernel 3, dilated by 4: its taps span 9 pixels", ([(3, 1, 4)],)),
        Case("the notebook's stack: kernel 3, dilations 1, 2, 4",
             ([(3, 1, 1), (3, 1, 2), (3, 1, 4)],)),
        Case("five plain convolutions, kernel 3: the field grows linearly", ([(3, 1, 1)] * 5,)),
        Case("dilations 1, 2, 4, 8, 16: the field grows exponentially",
             ([(3, 1, d) for d in (1, 2, 4, 8, 16)],)),
        Case("a pooling (kernel 2, stride 2), then a convolution: it reads pixels 2 apart",
             ([(2, 2, 1), (3, 1, 1)],)),
        Case("stride 2 after a dilated convolution: it widens only what comes after",
             ([(3, 1, 2), (3, 2, 1), (3, 1, 1)],)),
        Case("dilation and stride in one layer", ([(3, 2, 2), (3, 1, 3)],)),
        Case("kernel 5 dilated by 3, then a 1-pixel kernel", ([(5, 1, 3), (1, 1, 1)],)),
        Case("FCLeNet of chapter 04 (dilation 1 everywhere)",
             ([(k, s, 1) for k, s in FCLENET_LAYERS],)),
    ]
    for i in range(4):
        stack = [(3, 1, 1), (3, 1, 2)]  # the stack of the predict-the-number question
        while stack in ([(3, 1, 1), (3, 1, 2)], [(3, 1, 2), (3, 1, 1)]):
            stack = [(int(rng.integers(1, 8)), int(rng.integers(1, 4)), int(rng.integers(1, 5)))
                     for _ in range(int(rng.integers(1, 7)))]
        cases.append(Case(f"random stack of {len(stack)} layers #{i + 1}", (stack,)))
    return cases


def _receptive_field(stack):
    """Measured by :func:`mlseg.models.output_geometry` on torch layers built from ``stack``;
    the slips' values come along to name them in the feedback."""
    from torch import nn

    from ..models import output_geometry, seeded

    stack = [tuple(int(v) for v in layer) for layer in stack]
    with seeded(0):
        layers = [nn.Conv2d(1, 1, k, stride=s, dilation=d) for k, s, d in stack]
    span = sum(d * (k - 1) + 1 for k, _, d in stack)
    size = span * math.prod(s for _, s, _ in stack) + 1  # large enough for every layer
    measured = output_geometry(layers, size=size).receptive_field

    def field(widen):
        total, jump = 1, 1
        for k, s, d in stack:
            total, jump = widen(total, jump, k, s, d)
        return total

    return _known_int(measured, [
        (field(lambda f, j, k, s, d: (f + (k - 1) * j, j * s)),
         "the dilation is missing: a k-tap kernel dilated by d spans (k - 1) * d + 1 pixels"),
        (field(lambda f, j, k, s, d: (f + (k - 1) * d, j * s)),
         "the strides are missing: after a stride-s layer, one step of a later layer is s "
         "input pixels (multiply the strides so far)"),
        (field(lambda f, j, k, s, d: (f + (k - 1) * d * j * s, j * s)),
         "a layer's own stride widens only the layers after it, not itself"),
        (field(lambda f, j, k, s, d: (f + ((k - 1) * d + 1) * j, j * s)),
         "a layer widens the field by its span minus one: start from a field of 1 and add "
         "(k - 1) * d times the strides so far"),
        (field(lambda f, j, k, s, d: (f + (k * d - 1) * j, j * s)),
         "a k-tap kernel dilated by d spans (k - 1) * d + 1 pixels, not k * d"),
        (field(lambda f, j, k, s, d: (f + ((k - 1) * d + 1) * j, j * s)) - 1,
         "layers share pixels: a layer widens the field by its span minus one; start from a "
         "field of 1 (one pixel sees itself)"),
    ])


# --------------------------------------------------------------------------------------------
# Overlap-tiled inference, stitched (a valid network, and a same-padding one)
# --------------------------------------------------------------------------------------------


class TileNetwork:
    """A small convolutional network (convolution, ReLU, convolution) as ``tiled_apply`` gets
    it: call it on **one** input tile, a ``(tile, tile)`` array (numpy or torch), and it returns
    the tile's output as numpy, ``(tile - 2 * margin, tile - 2 * margin)``. Anything else is
    refused, as a real network refuses a tile that does not fit the GPU's memory.

    ``padding="valid"``: unpadded convolutions, the output loses ``margin`` pixels on each side
    and does not depend on where the tile was cut. ``padding="same"``: zero-padded, ``margin``
    is 0, and the output near a tile's edge depends on the tile (the notebook's seams).
    """

    def __init__(self, kernels, *, tile, padding="valid", channels=4, seed=0):
        from torch import nn

        from ..models import seeded

        first, second = kernels
        pads = (first // 2, second // 2) if padding == "same" else (0, 0)
        with seeded(seed):
            self.module = nn.Sequential(
                nn.Conv2d(1, channels, first, padding=pads[0]), nn.ReLU(),
                nn.Conv2d(channels, 1, second, padding=pads[1])).eval()
        self.padding = padding
        self.margin = 0 if padding == "same" else (first + second - 2) // 2
        self.tile = int(tile)

    def __call__(self, tile):
        import torch

        array = np.asarray(as_numpy(tile), dtype=np.float32)
        if array.shape != (self.tile, self.tile):
            raise ValueError(f"this network takes one input tile of {self.tile}x{self.tile} "
                             f"pixels (out + 2 * margin), got an array of shape {array.shape}")
        with torch.no_grad():
            tensor = torch.from_numpy(np.ascontiguousarray(array))[None, None]
            return self.module(tensor)[0, 0].numpy()

    def __repr__(self):
        return (f"TileNetwork(padding={self.padding!r}, tile={self.tile}, "
                f"out={self.tile - 2 * self.margin}, margin={self.margin})")


def _tiled_case(rng, name, shape, kernels, out, overlap, padding="valid"):
    image = rng.random(shape).astype(np.float32)
    margin = 0 if padding == "same" else (sum(kernels) - 2) // 2
    network = TileNetwork(kernels, tile=out + 2 * margin, padding=padding,
                          seed=int(rng.integers(2**31)))
    return Case(name, (image, network, out, margin, overlap))


def _tiled_cases(rng):
    cases = [
        _tiled_case(rng, "one tile's output covers the image exactly", (20, 20), (3, 3), 20,
                    0),
        _tiled_case(rng, "tiles side by side, no overlap (the U-Net paper's overlap-tile)",
                    (48, 40), (3, 3), 16, 0),
        _tiled_case(rng, "overlap 6: average where the tiles' outputs overlap", (50, 44),
                    (5, 3), 16, 6),
        _tiled_case(rng, "an image smaller than one tile's output: mirrored past both ends",
                    (9, 13), (3, 3), 16, 0),
        _tiled_case(rng, "a network of 1-pixel kernels: no margin, nothing to mirror",
                    (30, 25), (1, 1), 12, 2),
        _tiled_case(rng, "a margin of 4 pixels (kernels 7 then 3) on a narrow image",
                    (30, 17), (7, 3), 10, 3),
        _tiled_case(rng, "not square, overlap 5", (37, 61), (5, 5), 18, 5),
        _tiled_case(rng, "same padding, overlap 8: the tiles disagree near their edges, the "
                         "average decides", (40, 50), (3, 3), 16, 8, padding="same"),
        _tiled_case(rng, "same padding, no overlap: margin 0, the last tiles mirrored",
                    (30, 35), (3, 5), 16, 0, padding="same"),
    ]
    for i in range(3):
        out = int(rng.integers(8, 25))
        kernels = [(3, 3), (5, 3), (3, 1), (5, 5)][int(rng.integers(0, 4))]
        shape = tuple(int(n) for n in rng.integers(10, 70, size=2))
        padding = ("valid", "same")[i == 2]
        cases.append(_tiled_case(rng, f"random, {padding} padding #{i + 1}", shape, kernels,
                                 out, int(rng.integers(0, out // 2 + 1)), padding=padding))
    return cases


def _stitch(image, network, out, margin, overlap, *, mode="reflect", combine="mean"):
    """Overlap-tiling written out, with one of the classic slips (for the feedback)."""
    from ..inference import tile_plan

    (rows, top, bottom), (columns, left, right) = (
        tile_plan(n, out, margin, out - overlap) for n in image.shape)
    padded = np.pad(image, ((top, bottom), (left, right)), mode=mode)
    total = np.zeros((rows[-1] + out, columns[-1] + out))
    count = np.zeros_like(total)
    tile = out + 2 * margin
    for r in rows:
        for c in columns:
            where = (slice(r, r + out), slice(c, c + out))
            score = network(padded[r:r + tile, c:c + tile])
            total[where] = score if combine == "last" else total[where] + score
            count[where] += 1
    total = total / count if combine == "mean" else total
    return total[:image.shape[0], :image.shape[1]], count[:image.shape[0], :image.shape[1]]


def _tiled_apply(image, network, out, margin, overlap):
    """:func:`mlseg.inference.sliding_window` on the network's torch module (constant
    blending). For a valid network it equals one pass over the whole mirror-padded image, which
    comes along (``notes["whole"]``) with the classic slips' results, for the feedback."""
    import torch

    from ..inference import sliding_window

    tile = out + 2 * margin
    result = sliding_window(network.module, image, tile=tile, overlap=overlap,
                            blend="constant", progress=False)[0]
    whole = None
    if network.padding == "valid":
        padded = np.pad(image, margin, mode="reflect")
        with torch.no_grad():
            whole = network.module(torch.from_numpy(padded)[None, None])[0, 0].numpy()
    _, count = _stitch(image, network, out, margin, overlap)
    border = np.ones(image.shape, bool)
    border[margin:image.shape[0] - margin, margin:image.shape[1] - margin] = False
    slips = [(_stitch(image, network, out, margin, overlap, **options)[0], why)
             for options, why in [
                 ({"mode": "constant"}, "the image is padded with zeros; mirror it: "
                                        "np.pad(image, ..., mode='reflect')"),
                 ({"mode": "symmetric"}, "mode='symmetric' repeats the border pixel; the "
                                         "library and the U-Net paper mirror about it: "
                                         "mode='reflect'"),
                 ({"mode": "edge"}, "the border pixel is repeated; mirror the image: "
                                    "mode='reflect'"),
                 ({"combine": "sum"}, "where tiles overlap, the outputs are summed: divide by "
                                      "the number of tiles that cover each pixel"),
                 ({"combine": "last"}, "each tile overwrites what the tiles before it wrote: "
                                       "average the overlapping outputs"),
             ]]
    return _KnownArray(result, slips, {"whole": whole, "overlap": count > 1, "border": border,
                                       "margin": margin})


def _compare_tiled(got, expected):
    """The stitched result against ``sliding_window``, then (valid networks) against the whole
    image; a known slip, or where the wrong pixels lie (where tiles overlap, near the image's
    border), is named."""
    notes = getattr(expected, "notes", {})
    problem = _compare_known_array(got, expected, shapes=_tiled_shapes)
    if problem is None:
        whole = notes.get("whole")
        difference = None if whole is None else compare_array(got, whole, rtol=1e-5,
                                                               atol=1e-5)
        return None if difference is None else (
            f"equal to sliding_window, but not to one pass over the whole mirror-padded "
            f"image: {difference}")
    try:
        values = np.asarray(as_numpy(got), dtype=float)
    except (TypeError, ValueError):
        return problem
    if values.shape != expected.shape or any(why in problem for _, why in expected.slips):
        return problem
    bad = ~np.isclose(values, expected, rtol=1e-5, atol=1e-5, equal_nan=True)
    if notes.get("overlap") is not None and notes["overlap"][bad].all():
        return ("the wrong values all lie where tiles overlap: average the overlapping outputs "
                f"(sum them and divide by how many tiles cover each pixel); {problem}")
    if notes.get("border") is not None and notes["margin"] and notes["border"][bad].all():
        return (f"the wrong values all lie within the margin ({notes['margin']} pixels) of the "
                f"image's border: how the image is padded (mirrored, mode='reflect'); {problem}")
    return problem


def _tiled_shapes(got, expected):
    if len(got) == 2 and all(g >= e for g, e in zip(got, expected.shape)):
        return ("larger than the image: crop the stitched tiles to the image's shape (the "
                "last tile may reach past its end)")
    return None


def _register():
    from torch import nn

    from .. import inference
    from ..models import layers, output_geometry, unet

    register("unpool_with_indices", reference=_unpool, cases=_unpool_cases,
             compare=lambda got, expected: compare_array(got, expected, rtol=0, atol=0),
             forbidden=(layers.max_unpool,),
             description="unpool_with_indices(pooled, indices, shape) -> (B, C, *shape) with "
                         "every pooled value back where its maximum was, zeros elsewhere",
             hint="start from zeros of shape (B, C, *shape); indices count positions in one "
                  "image's flattened spatial plane (row * width + column), so flatten the "
                  "spatial axes of both (reshape(B, C, -1)) and put each value at its index "
                  "within its own image and channel; the size is `shape`, not factor times "
                  "the pooled size.")
    register("unet_output_size", reference=_unet_output, cases=_unet_cases,
             compare=_compare_size,
             forbidden=(unet.output_size, unet.input_size, unet.UNet.output_size,
                        unet.UNet.input_size),
             description="unet_output_size(size, depth) -> output pixels of a valid U-Net, "
                         "or None when the size does not fit",
             hint="per encoder level: two 3x3 convolutions take 4 pixels off, then (except at "
                  "the bottom) a 2x2 pooling halves, which needs an even size; per decoder "
                  "level: the up-conv doubles, two 3x3 convolutions take 4 off; any size "
                  "below 1 on the way means None.")
    register("tile_plan", reference=_tile_plan, cases=_tile_cases, compare=_compare_plan,
             forbidden=(inference.sliding_window, inference.tile_plan),
             description="tile_plan(length, out, margin, overlap) -> (starts, pad_before, "
                         "pad_after) of the overlap-tile strategy along one axis",
             hint="the step is out - overlap; the first tile starts at 0, add tiles until one "
                  "reaches the end of the image (ceil((length - out) / step) more, never fewer "
                  "than none); the tiles' inputs reach `margin` beyond their outputs on both "
                  "sides, and the last tile's output may reach past the image, so pad after by "
                  "margin plus that overhang.")
    register("why_checkerboard", reference=lambda: "C", cases=lambda rng: [
                 Case("the question above the cell")],
             compare=choice(known={
                 "A": "the pattern stays with all weights equal to one: it is not in the "
                      "weights' values",
                 "B": "the pattern repeats over the whole output, not only at its border",
                 "D": "a transpose convolution has no pooling and needs no indices"}),
             description="why_checkerboard() -> 'A', 'B', 'C' or 'D'",
             hint="with all weights one and an input of ones, count how many copies of the "
                  "3x3 kernel land on each output pixel when they are placed 2 pixels apart.")
    register("predict_dilated_field", reference=_dilated_field, cases=lambda rng: [
                 Case("the question above the cell")],
             compare=rounded(0, known={
                 5: "that is two ordinary 3x3 convolutions: the dilation widens the second",
                 9: "that would be both convolutions dilated by 2",
                 6: "a 3x3 kernel dilated by 2 spans 5 pixels, and it adds 4 to the field"}),
             forbidden=(layers.dilated_conv, output_geometry),
             description="predict_dilated_field() -> the receptive field (pixels per side)",
             hint="a k x k kernel with dilation d spans (k - 1) * d + 1 pixels and widens the "
                  "field by (k - 1) * d at stride 1; start from a field of 1.")
    register("transpose_conv_size", reference=_transpose_size, cases=_transpose_cases,
             compare=_compare_known_int,
             forbidden=(layers.transpose_conv, layers.transpose_conv_overlap,
                        nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d),
             description="transpose_conv_size(size, kernel, stride, padding=0, "
                         "output_padding=0) -> output pixels of a transpose convolution",
             hint="each of the `size` input pixels adds a copy of the kernel, the copies "
                  "`stride` pixels apart: the last starts at (size - 1) * stride and ends "
                  "`kernel` pixels later; then `padding` pixels are cut off each end and "
                  "`output_padding` pixels added at the end.")
    register("up_block", reference=_up_block, cases=_up_cases,
             compare=lambda got, expected: _compare_known_array(got, expected,
                                                                shapes=_up_block_shapes),
             forbidden=(unet.Up, unet.Up.forward, unet.DoubleConv, unet._center_crop),
             description="up_block(x, skip, weights) -> U-Net's decoder block: up-conv 2x2, "
                         "copy and crop, concatenate, two valid 3x3 convolutions with ReLU",
             hint="up = conv_transpose2d(x, up.weight, up.bias, stride=2) (3D: "
                  "conv_transpose3d); crop `skip` to up's size starting (have - want) // 2 "
                  "pixels in on every axis; torch.cat([cropped skip, up], dim=1); then conv, "
                  "ReLU, conv, ReLU without padding (conv2d or conv3d).")
    register("receptive_field", reference=_receptive_field, cases=_field_cases,
             compare=_compare_known_int, forbidden=(output_geometry, layers.dilated_conv),
             description="receptive_field(stack) -> input pixels per side that one output "
                         "pixel sees, for layers (kernel, stride, dilation)",
             hint="start from a field of 1 and a jump of 1 (input pixels between neighbouring "
                  "outputs); each layer widens the field by (kernel - 1) * dilation * jump, "
                  "then multiplies the jump by its stride.")
    register("tiled_apply", reference=_tiled_apply, cases=_tiled_cases, compare=_compare_tiled,
             forbidden=(inference.sliding_window, inference.tile_plan), timeout=10,
             description="tiled_apply(image, network, out, margin, overlap) -> the network's "
                         "output for every pixel, stitched from overlapping tiles",
             hint="plan rows and columns with your tile_plan; np.pad(image, ((top, bottom), "
                  "(left, right)), mode='reflect'); the tile whose output starts at (r, c) is "
                  "padded[r:r + out + 2 * margin, c:c + out + 2 * margin]; add its output to a "
                  "sum and 1 to a count at [r:r + out, c:c + out]; divide; crop to the image.")


_register()
