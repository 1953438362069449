"""Checks of chapter 04: the cases of its exercises and their reference answers.

Loaded by :mod:`mlseg.checks` the first time one of these exercises is named; torch is imported
here, never by the engine.
"""

from __future__ import annotations

import numpy as np

from . import Case, choice, compare_array, compare_ints, register


def _geometry_cases(rng):
    from ..models.lenet import FCLENET_LAYERS

    fclenet = list(FCLENET_LAYERS)
    cases = [
        Case("FCLeNet, a 32x32 input (one window)", (fclenet, 32)),
        Case("FCLeNet, a 64x64 input (the lecture's question)", (fclenet, 64)),
        Case("FCLeNet, 70 pixels: pooling rounds down", (fclenet, 70)),
        Case("a single 3x3 convolution", ([(3, 1)], 10)),
        Case("1x1 convolutions change nothing", ([(1, 1), (1, 1)], 7)),
        Case("PatchNet: four 5x5 convolutions and a 1x1, no pooling",
             ([(5, 1)] * 4 + [(1, 1)], 17)),
        Case("VGG-like: two 3x3 convolutions and a pool, twice",
             ([(3, 1), (3, 1), (2, 2)] * 2, 40)),
        Case("strided 3x3 convolutions only (learned down-sampling)", ([(3, 2)] * 3, 33)),
    ]
    for i in range(4):
        layers = [(int(rng.integers(1, 8)), int(rng.integers(1, 4)))
                  for _ in range(int(rng.integers(2, 7)))]
        size = 1
        for kernel, stride in reversed(layers):  # the smallest input that fits, then more
            size = (size - 1) * stride + kernel
        size += int(rng.integers(0, 20))
        cases.append(Case(f"random stack of {len(layers)} layers #{i + 1}", (layers, size)))
    return cases


def _geometry(layers, size):
    from ..models.lenet import output_geometry

    return tuple(output_geometry([tuple(layer) for layer in layers], size=size))


def _lenet_states(rng):
    from ..models.lenet import LeNet

    cases = []
    for num_classes, what in ((10, "10 digits"), (11, "11 classes: digits and 'no digit'"),
                              (2, "2 classes: object and background, as on the slide")):
        seed = int(rng.integers(0, 2**31))
        state = LeNet(num_classes=num_classes, seed=seed).state_dict()
        cases.append(Case(f"random LeNet, {what}", (state,)))
    return cases


def _fully_convolutional_state(state):
    from ..models.lenet import LeNet, fully_convolutional

    lenet = LeNet(num_classes=state["fc3.weight"].shape[0])
    lenet.load_state_dict(state)
    return fully_convolutional(lenet).state_dict()


def _compare_fcn_state(got, expected):
    """Load the answer into an FCLeNet and compare its outputs on hidden inputs to 1e-4."""
    import torch

    from ..models.lenet import FCLeNet
    from . import as_numpy

    if not isinstance(got, dict):
        return f"expected a state dict (a dict of tensors), got {type(got).__name__}"
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    if missing or extra:
        return (f"the keys must be FCLeNet's: missing {missing[:4]}, unexpected {extra[:4]}")
    state = {}
    for key, value in expected.items():
        answer = as_numpy(got[key])
        if not isinstance(answer, np.ndarray) or answer.dtype.kind != "f":
            return f"{key}: expected a float tensor, got {type(got[key]).__name__}"
        if tuple(answer.shape) != tuple(value.shape):
            return (f"{key}: expected shape {tuple(value.shape)}, got {tuple(answer.shape)} "
                    "(a convolution's weight is (out channels, in channels, height, width))")
        state[key] = torch.as_tensor(answer, dtype=value.dtype)
    classes = expected["conv5.weight"].shape[0]
    mine, theirs = FCLeNet(num_classes=classes), FCLeNet(num_classes=classes)
    mine.load_state_dict(state)
    theirs.load_state_dict(expected)
    x = torch.rand(2, 1, 64, 72, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        difference = float((mine(x) - theirs(x)).abs().max())
    if difference > 1e-4:
        return (f"loaded into FCLeNet, it computes something else: on hidden 64x72 inputs the "
                f"log-probabilities differ by up to {difference:.3g}")
    return None


def _canvas_cases(rng):
    from .. import digits
    from ..models.lenet import LeNet

    images, labels = digits.load(size=32)
    canvas, *_ = digits.canvas(images, labels, shape=(64, 64), n=2, rng=int(rng.integers(1000)))
    shapes = [("one window, 32x32", (32, 32), 10), ("64x64 (the lecture's question)", (64, 64), 10),
              ("not square, 48x40", (48, 40), 10),
              ("sizes not multiples of 4, 66x70: the last windows must fit", (66, 70), 10),
              ("an 11-class LeNet ('no digit' too), 40x52", (40, 52), 11)]
    cases = []
    for name, shape, classes in shapes:
        model = LeNet(num_classes=classes, seed=int(rng.integers(0, 2**31))).eval()
        image = rng.random(shape).astype(np.float32)
        cases.append(Case(f"random weights, random image, {name}", (model, image)))
    model = LeNet(seed=int(rng.integers(0, 2**31))).eval()
    cases.append(Case("a canvas of digits, 64x64", (model, canvas.astype(np.float32))))
    return cases


def _sliding_window_map(model, canvas):
    import torch

    from ..models.lenet import fully_convolutional

    with torch.no_grad():
        return fully_convolutional(model)(torch.as_tensor(canvas)[None, None])[0]


def _register():
    from ..models import lenet

    register("fcn_geometry", reference=_geometry, cases=_geometry_cases, compare=compare_ints,
             forbidden=(lenet.output_geometry,),
             description="fcn_geometry(layers, size) -> (output size, stride, receptive field)",
             hint="go through the layers in order, starting from (size, stride 1, field 1): "
                  "a layer with kernel k and stride s makes size (size - k) // s + 1, widens "
                  "the field by (k - 1) times the stride so far, then multiplies the stride "
                  "by s.")
    register("to_fully_convolutional", reference=_fully_convolutional_state,
             cases=_lenet_states, compare=_compare_fcn_state,
             forbidden=(lenet.fully_convolutional,),
             description="to_fully_convolutional(state) -> FCLeNet's state dict (conv1..conv5)",
             hint="conv1 and conv2 are copied; fc1's weight (120, 400) reads the (16, 5, 5) "
                  "feature maps in flatten's order, so it becomes a (120, 16, 5, 5) kernel; "
                  "fc2 and fc3 become 1x1 kernels (add two trailing axes); biases are copied; "
                  "the number of classes comes from fc3.")
    register("sliding_window_map", reference=_sliding_window_map, cases=_canvas_cases,
             compare=lambda got, expected: compare_array(got, expected, rtol=1e-4, atol=1e-4),
             forbidden=(lenet.fully_convolutional, lenet.FCLeNet), timeout=20,
             description="sliding_window_map(model, canvas) -> (classes, H', W') log-probs "
                         "of LeNet on every 32x32 window at stride 4",
             hint="window (i, j) is canvas[4i:4i + 32, 4j:4j + 32]; there are (H - 32) // 4 + "
                  "1 rows of windows; give the model a (N, 1, 32, 32) batch and put its "
                  "(N, classes) answers back on the (classes, rows, columns) grid.")
    register("why_no_digit_class", reference=lambda: "B", cases=lambda rng: [
                 Case("the question above the cell")],
             compare=choice(known={
                 "A": "a better-trained network still has to choose among the ten digits",
                 "C": "max-pooling shifts features by a pixel or two; it does not invent "
                      "digits",
                 "D": "the receptive field (32 pixels) is exactly one digit's frame"}),
             description="why_no_digit_class() -> 'A', 'B', 'C' or 'D'",
             hint="what must the ten probabilities of a window add up to, whatever it shows?")


_register()
