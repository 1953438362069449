"""Checks of chapter 05: the cases of its exercises and their reference answers.

Loaded by :mod:`mlseg.checks` the first time one of these exercises is named; torch is imported
here, never by the engine.
"""

from __future__ import annotations

import numpy as np

from . import Case, as_numpy, choice, compare_array, register, rounded


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


def _register():
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


_register()
