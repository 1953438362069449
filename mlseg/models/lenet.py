"""LeNet, and the same network made fully convolutional (lecture: "Segmentation via dense
classification" → "Fully convolutional LeNet").

``LeNet`` classifies one 32×32 image. ``FCLeNet`` has the same weights with the fully connected
layers written as convolutions (fc1 → a 5×5 convolution, fc2 and fc3 → 1×1 convolutions), so on
a larger image it slides the classifier over every 32×32 window at a stride of 4 pixels in one
pass: a 64×64 input gives a 9×9 map of class log-probabilities. ``DilatedFCLeNet`` (from
:func:`dense_fclenet`) runs the same weights "à trous" and answers at every pixel (stride 1).

Taught in: notebooks/04_dense_classification.ipynb
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from . import seeded

__all__ = ["LeNet", "FCLeNet", "fully_convolutional", "output_geometry", "Geometry",
           "FCLENET_LAYERS", "DilatedFCLeNet", "dense_fclenet"]


def _check_num_classes(num_classes):
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    return int(num_classes)


class LeNet(nn.Module):
    """conv 5×5 → pool → conv 5×5 → pool → fc 400→120 → fc 120→84 → fc 84→classes.

    The network of the lecture's slide, for a ``(B, 1, 32, 32)`` batch.

    Parameters
    ----------
    num_classes : int
        Outputs of fc3 (10 digits; 11 with "no digit").
    seed : int, optional
        Draw the initial weights from this seed (torch's global random state is left alone).

    Notes
    -----
    ``forward`` returns log-probabilities ``(B, num_classes)`` (``log_softmax``): train with
    ``loss="nll"``. The slide's ``x.view(x.size(0), -1)`` is written ``torch.flatten(x, 1)``,
    which also works on channels-last tensors. Any input other than 32×32 raises a
    ``ValueError``: fc1 wants exactly 16×5×5 = 400 features (the lecture's 64×64 question).

    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> model = LeNet(seed=0)
    >>> model(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 10])
    >>> sum(p.numel() for p in model.parameters())
    61706
    """

    def __init__(self, *, num_classes=10, seed=None):
        super().__init__()
        num_classes = _check_num_classes(num_classes)
        with seeded(seed):
            self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
            self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        height, width = x.shape[-2:]                # (B, 1, 32, 32)
        x = F.relu(self.conv1(x))                   # (B, 6, 28, 28)
        x = F.max_pool2d(x, 2)                      # (B, 6, 14, 14)
        x = F.relu(self.conv2(x))                   # (B, 16, 10, 10)
        x = F.max_pool2d(x, 2)                      # (B, 16, 5, 5)
        features = x.shape[1:]
        x = torch.flatten(x, 1)                     # (B, 400)
        if x.shape[1] != self.fc1.in_features:
            raise ValueError(
                f"LeNet's fc1 takes 400 = 16x5x5 features (a 32x32 input), got "
                f"{x.shape[1]} = {'x'.join(map(str, features))} from a {height}x{width} input; "
                "FCLeNet (see fully_convolutional) takes any size from 32x32 up")
        x = F.relu(self.fc1(x))                     # (B, 120)
        x = F.relu(self.fc2(x))                     # (B, 84)
        x = self.fc3(x)                             # (B, classes)
        return F.log_softmax(x, dim=1)


class FCLeNet(nn.Module):
    """conv 5×5 → pool → conv 5×5 → pool → conv 5×5 16→120 → conv 1×1 120→84 → conv 1×1 84→classes.

    LeNet with its fully connected layers as convolutions. On a ``(B, 1, H, W)`` batch it returns
    a map ``(B, num_classes, (H - 28) // 4, (W - 28) // 4)`` of log-probabilities (for H and W
    multiples of 4): output pixel ``(i, j)`` is LeNet's answer for the window
    ``x[..., 4i:4i + 32, 4j:4j + 32]`` (stride 4, receptive field 32).

    Parameters
    ----------
    num_classes : int
    seed : int, optional
        Initial weights from this seed; usually the weights come from a trained LeNet through
        :func:`fully_convolutional` instead.

    Notes
    -----
    ``log_softmax`` runs over the channel axis (axis 1), one distribution per output pixel;
    train with ``loss="nll"`` on targets ``(B, H', W')``.

    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> model = FCLeNet(seed=0)
    >>> model(torch.zeros(1, 1, 32, 32)).shape
    torch.Size([1, 10, 1, 1])
    >>> model(torch.zeros(1, 1, 64, 64)).shape  # the lecture's question
    torch.Size([1, 10, 9, 9])
    """

    def __init__(self, *, num_classes=10, seed=None):
        super().__init__()
        num_classes = _check_num_classes(num_classes)
        with seeded(seed):
            self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
            self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
            self.conv3 = nn.Conv2d(16, 120, kernel_size=5)
            self.conv4 = nn.Conv2d(120, 84, kernel_size=1)
            self.conv5 = nn.Conv2d(84, num_classes, kernel_size=1)

    def forward(self, x):                           # 32x32 input | 64x64 input
        x = F.relu(self.conv1(x))                   # (B, 6, 28, 28)   | (B, 6, 60, 60)
        x = F.max_pool2d(x, 2)                      # (B, 6, 14, 14)   | (B, 6, 30, 30)
        x = F.relu(self.conv2(x))                   # (B, 16, 10, 10)  | (B, 16, 26, 26)
        x = F.max_pool2d(x, 2)                      # (B, 16, 5, 5)    | (B, 16, 13, 13)
        x = F.relu(self.conv3(x))                   # (B, 120, 1, 1)   | (B, 120, 9, 9)
        x = F.relu(self.conv4(x))                   # (B, 84, 1, 1)    | (B, 84, 9, 9)
        x = self.conv5(x)                           # (B, classes, 1, 1) | (B, classes, 9, 9)
        return F.log_softmax(x, dim=1)


def fully_convolutional(lenet):
    """The :class:`FCLeNet` that computes exactly what ``lenet`` computes, on every window.

    fc1's weight ``(120, 400)`` becomes conv3's kernel ``(120, 16, 5, 5)`` (the order in which
    ``flatten`` read the ``(16, 5, 5)`` feature maps); fc2 and fc3 become 1×1 kernels. Biases
    are copied. Nothing is trained: on a 32×32 input both networks give the same output (up to
    float rounding).

    Parameters
    ----------
    lenet : LeNet

    Returns
    -------
    FCLeNet
        On the same device and dtype as ``lenet``, in the same train/eval mode; ``lenet`` is
        not modified.

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> lenet = LeNet(seed=0)
    >>> fcn = fully_convolutional(lenet)
    >>> x = torch.rand(3, 1, 32, 32)
    >>> torch.allclose(lenet(x), fcn(x).flatten(1), atol=1e-5)
    True
    """
    if not isinstance(lenet, LeNet):
        raise TypeError(f"lenet must be a LeNet, got {type(lenet).__name__}")
    weight = lenet.fc1.weight
    fcn = FCLeNet(num_classes=lenet.fc3.out_features, seed=0)  # seed: leave global RNG alone
    fcn.to(device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        for name in ("conv1", "conv2"):
            getattr(fcn, name).weight.copy_(getattr(lenet, name).weight)
            getattr(fcn, name).bias.copy_(getattr(lenet, name).bias)
        fcn.conv3.weight.copy_(lenet.fc1.weight.reshape(120, 16, 5, 5))
        fcn.conv4.weight.copy_(lenet.fc2.weight[:, :, None, None])
        fcn.conv5.weight.copy_(lenet.fc3.weight[:, :, None, None])
        for conv, fc in (("conv3", "fc1"), ("conv4", "fc2"), ("conv5", "fc3")):
            getattr(fcn, conv).bias.copy_(getattr(lenet, fc).bias)
    return fcn.train(lenet.training)


#: FCLeNet's layers as ``(kernel, stride)`` pairs: conv5, pool2, conv5, pool2, conv5, conv1, conv1.
FCLENET_LAYERS = ((5, 1), (2, 2), (5, 1), (2, 2), (5, 1), (1, 1), (1, 1))


class Geometry(NamedTuple):
    """What :func:`output_geometry` returns."""

    size: int  #: output pixels per side
    stride: int  #: input pixels between two neighbouring output pixels
    receptive_field: int  #: input pixels per side that one output pixel sees


def _layer(index, layer):
    """(kernel, stride, padding, dilation) of a conv/pool module or a (kernel, stride[, pad])."""
    name = f"layers[{index}]"
    if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        def first(value):
            return int(value[0] if isinstance(value, tuple) else value)
        stride = layer.stride if layer.stride is not None else layer.kernel_size
        if isinstance(layer.padding, str):
            raise ValueError(f"{name} has padding={layer.padding!r}; give the padding in pixels")
        dilation = first(getattr(layer, "dilation", 1))
        return first(layer.kernel_size), first(stride), first(layer.padding), dilation
    if isinstance(layer, tuple) and len(layer) in (2, 3) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in layer):
        kernel, stride, padding = (*layer, 0)[:3]
        if kernel < 1 or stride < 1 or padding < 0:
            raise ValueError(f"{name} must have kernel >= 1, stride >= 1, padding >= 0, "
                             f"got {layer!r}")
        return int(kernel), int(stride), int(padding), 1
    raise TypeError(f"{name} must be a Conv2d/MaxPool2d/AvgPool2d module or a tuple "
                    f"(kernel, stride[, padding]) of integers, got {layer!r}")


def output_geometry(layers, *, size):
    """Output size, stride and receptive field of a stack of convolutions and poolings.

    For each layer with kernel ``k``, stride ``s``, padding ``p`` (and dilation ``d``):
    ``size ← (size + 2p - d(k - 1) - 1) // s + 1``, ``field ← field + d(k - 1) · stride``,
    ``stride ← stride · s`` (starting from size, field 1, stride 1). ReLUs and 1×1
    convolutions change none of them.

    Parameters
    ----------
    layers : sequence
        ``nn.Conv2d``, ``nn.MaxPool2d`` or ``nn.AvgPool2d`` modules, or ``(kernel, stride)`` /
        ``(kernel, stride, padding)`` tuples, in order; e.g. :data:`FCLENET_LAYERS`.
    size : int
        Input pixels per side.

    Returns
    -------
    Geometry
        ``(size, stride, receptive_field)``.

    Notes
    -----
    Raises ``ValueError`` when the input is too small for some layer (its output would be
    empty).

    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> output_geometry(FCLENET_LAYERS, size=32)
    Geometry(size=1, stride=4, receptive_field=32)
    >>> output_geometry(FCLENET_LAYERS, size=64)
    Geometry(size=9, stride=4, receptive_field=32)
    """
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    if isinstance(layers, nn.Module) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a sequence of layers, got {type(layers).__name__}")
    out, stride, field = int(size), 1, 1
    for index, layer in enumerate(layers):
        kernel, step, padding, dilation = _layer(index, layer)
        span = dilation * (kernel - 1) + 1
        if out + 2 * padding < span:
            raise ValueError(f"size {size} is too small: layers[{index}] needs {span} pixels "
                             f"but gets {out + 2 * padding}")
        out = (out + 2 * padding - span) // step + 1
        field += (span - 1) * stride
        stride *= step
    return Geometry(out, stride, field)


class DilatedFCLeNet(nn.Module):
    """conv 5×5 → pool 2×2 stride 1 → conv 5×5 dilation 2 → pool 2×2 dilation 2 stride 1 →
    conv 5×5 dilation 4 → conv 1×1 → conv 1×1.

    FCLeNet "à trous": the same layers and weights, with the poolings' stride 2 removed and the
    later layers dilated instead. It returns LeNet's answer for *every* 32×32 window, one pixel
    apart: on a ``(B, 1, H, W)`` batch a map ``(B, num_classes, H - 31, W - 31)`` whose pixel
    ``(i, j)`` is LeNet on ``x[..., i:i + 32, j:j + 32]`` (stride 1, receptive field 32).
    FCLeNet's map is every fourth pixel of it: ``dense[..., ::4, ::4]``.

    Why dilation: without its stride, a pooling layer keeps every position instead of every
    other one, so the next layer finds the inputs it used to read side by side two pixels apart
    (dilation 2); after the second pooling, four apart (dilation 4). Nothing is retrained.
    Removing the poolings altogether instead (the lecture's last FCLeNet) also gives a dense
    map, but a different network: its weights meet features they were not trained on.

    Parameters
    ----------
    num_classes : int
    seed : int, optional
        Initial weights from this seed; usually the weights come from a trained FCLeNet
        through :func:`dense_fclenet` instead.

    Notes
    -----
    Convolutions and poolings have no padding, so only windows that fit inside the image are
    answered; pad the image by 16 pixels (top, left) and 15 (bottom, right) for a map of its
    own size, one window centred near each pixel.

    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> model = DilatedFCLeNet(seed=0)
    >>> model(torch.zeros(1, 1, 32, 32)).shape
    torch.Size([1, 10, 1, 1])
    >>> model(torch.zeros(1, 1, 64, 64)).shape  # 33x33 windows, FCLeNet's 9x9 among them
    torch.Size([1, 10, 33, 33])
    >>> output_geometry([model.conv1, model.pool1, model.conv2, model.pool2, model.conv3],
    ...                 size=64)
    Geometry(size=33, stride=1, receptive_field=32)
    """

    def __init__(self, *, num_classes=10, seed=None):
        super().__init__()
        num_classes = _check_num_classes(num_classes)
        with seeded(seed):
            self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
            self.pool1 = nn.MaxPool2d(2, stride=1)
            self.conv2 = nn.Conv2d(6, 16, kernel_size=5, dilation=2)
            self.pool2 = nn.MaxPool2d(2, stride=1, dilation=2)
            self.conv3 = nn.Conv2d(16, 120, kernel_size=5, dilation=4)
            self.conv4 = nn.Conv2d(120, 84, kernel_size=1)
            self.conv5 = nn.Conv2d(84, num_classes, kernel_size=1)

    def forward(self, x):                           # 32x32 input | 64x64 input
        x = F.relu(self.conv1(x))                   # (B, 6, 28, 28)   | (B, 6, 60, 60)
        x = self.pool1(x)                           # (B, 6, 27, 27)   | (B, 6, 59, 59)
        x = F.relu(self.conv2(x))                   # (B, 16, 19, 19)  | (B, 16, 51, 51)
        x = self.pool2(x)                           # (B, 16, 17, 17)  | (B, 16, 49, 49)
        x = F.relu(self.conv3(x))                   # (B, 120, 1, 1)   | (B, 120, 33, 33)
        x = F.relu(self.conv4(x))                   # (B, 84, 1, 1)    | (B, 84, 33, 33)
        x = self.conv5(x)                           # (B, classes, 1, 1) | (B, classes, 33, 33)
        return F.log_softmax(x, dim=1)


def dense_fclenet(fclenet):
    """The :class:`DilatedFCLeNet` with ``fclenet``'s weights: its answer at every pixel.

    The parameters have the same names and shapes in both networks (dilation and the poolings'
    stride hold no weights), so they are copied one to one.

    Parameters
    ----------
    fclenet : FCLeNet
        E.g. ``fully_convolutional(lenet)``.

    Returns
    -------
    DilatedFCLeNet
        On the same device and dtype as ``fclenet``, in the same train/eval mode; ``fclenet``
        is not modified.

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> fcn = FCLeNet(seed=0)
    >>> dense = dense_fclenet(fcn)
    >>> x = torch.rand(1, 1, 48, 60)
    >>> torch.allclose(dense(x)[..., ::4, ::4], fcn(x), atol=1e-5)
    True
    """
    if not isinstance(fclenet, FCLeNet):
        hint = " (make it fully convolutional first: fully_convolutional(lenet))" \
            if isinstance(fclenet, LeNet) else ""
        raise TypeError(f"fclenet must be an FCLeNet, got {type(fclenet).__name__}{hint}")
    weight = fclenet.conv1.weight
    dense = DilatedFCLeNet(num_classes=fclenet.conv5.out_channels, seed=0)  # leave global RNG
    dense.to(device=weight.device, dtype=weight.dtype)
    dense.load_state_dict(fclenet.state_dict())  # copies
    return dense.train(fclenet.training)
