"""U-Net, its encoder–decoder without skip connections, and a two-pathway multi-scale network
(lecture: "Encoder-decoder network" → "U-Net architecture" → "Padding effects" → "Multi-scale
processing").

``UNet`` halves the resolution ``depth - 1`` times in its encoder and doubles it back in its
decoder; at each resolution the decoder concatenates the encoder's features (the skip
connections), which bring back the detail the down-sampling lost. ``skips=False`` leaves them
out: the plain encoder–decoder (DeconvNet-style) that has to rebuild every edge from the coarse
code. With ``padding="valid"`` (the U-Net paper) no convolution looks outside the image: the
output is smaller than the input, by a fixed margin (:func:`output_size`, :func:`input_size`),
and overlapping tiles give exactly the whole-image result (:func:`mlseg.inference.sliding_window`).

Every model returns **log-probabilities** ``(B, num_classes, ...)`` (``log_softmax`` over axis
1), like every ``mlseg`` model. They are also logits: ``softmax`` of them gives the
probabilities, ``F.cross_entropy`` on them gives the same loss as ``F.nll_loss`` (``loss="nll"``
in :func:`mlseg.training.fit`), ``argmax(axis=1)`` the labels.

Taught in: notebooks/05_unet.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_int, check_choice
from . import seeded
from .layers import average_unpool, transpose_conv

__all__ = ["UNet", "MultiScaleNet", "DoubleConv", "Down", "Up", "output_size", "input_size",
           "PADDINGS", "NORMS"]

PADDINGS = ("same", "valid")  #: ``"same"``: 3×3 convolutions padded by 1; ``"valid"``: unpadded
NORMS = ("batch", "instance", None)  #: normalisation after every convolution


# --- blocks --------------------------------------------------------------------------------------

def _norm(norm, channels, spatial_dims):
    if norm is None:
        return []
    if norm == "batch":
        return [(nn.BatchNorm2d, nn.BatchNorm3d)[spatial_dims - 2](channels)]
    return [(nn.InstanceNorm2d, nn.InstanceNorm3d)[spatial_dims - 2](channels, affine=True)]


class DoubleConv(nn.Sequential):
    """(conv 3×3 => norm => ReLU) * 2"""

    def __init__(self, in_channels, out_channels, *, spatial_dims=2, padding="same",
                 norm="batch"):
        conv = (nn.Conv2d, nn.Conv3d)[spatial_dims - 2]
        pad = 1 if padding == "same" else 0
        super().__init__(
            conv(in_channels, out_channels, 3, padding=pad, bias=norm is None),
            *_norm(norm, out_channels, spatial_dims), nn.ReLU(inplace=True),
            conv(out_channels, out_channels, 3, padding=pad, bias=norm is None),
            *_norm(norm, out_channels, spatial_dims), nn.ReLU(inplace=True))


class Down(nn.Sequential):
    """max pool 2×2 => DoubleConv"""

    def __init__(self, in_channels, out_channels, *, spatial_dims=2, padding="same",
                 norm="batch"):
        pool = (nn.MaxPool2d, nn.MaxPool3d)[spatial_dims - 2]
        super().__init__(pool(2), DoubleConv(in_channels, out_channels, spatial_dims=spatial_dims,
                                             padding=padding, norm=norm))


def _center_crop(x, size):
    """The central ``size`` of the spatial axes of ``x`` (valid padding: the skip is larger)."""
    starts = [(have - want) // 2 for have, want in zip(x.shape[2:], size)]
    return x[(Ellipsis, *(slice(s, s + n) for s, n in zip(starts, size)))]


class Up(nn.Module):
    """up-conv 2×2 => concat with the (centre-cropped) skip => DoubleConv"""

    def __init__(self, in_channels, out_channels, *, spatial_dims=2, padding="same",
                 norm="batch", skip=True):
        super().__init__()
        self.up = transpose_conv(in_channels, out_channels, spatial_dims=spatial_dims,
                                 kernel_size=2, stride=2)
        joined = 2 * out_channels if skip else out_channels
        self.conv = DoubleConv(joined, out_channels, spatial_dims=spatial_dims, padding=padding,
                               norm=norm)

    def forward(self, x, skip=None):                     # (B, 2c, h, w), skip (B, c, H, W)
        x = self.up(x)                                   # (B, c, 2h, 2w)
        if skip is not None:
            skip = _center_crop(skip, x.shape[2:])       # (B, c, 2h, 2w); H = 2h unless valid
            x = torch.cat([skip, x], dim=1)              # (B, 2c, 2h, 2w)
        return self.conv(x)                              # (B, c, 2h, 2w), 2h - 4 if valid


# --- the size arithmetic of padding="valid" ------------------------------------------------------

def _output_length(n, depth, padding):
    """Output pixels along one axis for ``n`` input pixels, or None if ``n`` does not fit."""
    if padding == "same":
        return n if n % 2 ** (depth - 1) == 0 else None
    for level in range(depth):                           # encoder
        n -= 4                                           # two unpadded 3×3 convolutions
        if n < 1:
            return None
        if level < depth - 1:
            if n % 2:                                    # max pooling wants an even size
                return None
            n //= 2
    for _ in range(depth - 1):                           # decoder
        n = 2 * n - 4                                    # up-conv 2×2, two 3×3 convolutions
        if n < 1:
            return None
    return n


def _sizes(name, size):
    """``size`` as a tuple of ints, and whether it was a single int."""
    if isinstance(size, (tuple, list)):
        return tuple(as_int(f"{name}[{i}]", s, low=1) for i, s in enumerate(size)), False
    return (as_int(name, size, low=1),), True


def _check_arithmetic_args(depth, padding):
    depth = as_int("depth", depth, low=1, high=8)
    check_choice("padding", padding, PADDINGS)
    return depth, padding


def output_size(size, *, depth, padding="valid"):
    """Output size of a :class:`UNet` for an input of ``size`` pixels.

    With ``padding="same"`` the output has the input's size, which must be a multiple of
    ``2 ** (depth - 1)``. With ``padding="valid"`` every 3×3 convolution takes 2 pixels off,
    every max pooling halves (and wants an even size), every up-conv doubles: 572 → 388 for
    the paper's five levels.

    Parameters
    ----------
    size : int or sequence of int
        Input pixels per spatial axis (one int for all axes alike).
    depth : int
        Number of resolution levels of the U-Net.
    padding : {"valid", "same"}

    Returns
    -------
    int or tuple of int
        Like ``size``.

    Notes
    -----
    Raises ``ValueError`` naming the nearest sizes that work when ``size`` does not fit.

    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> output_size(572, depth=5)       # the U-Net paper's figure
    388
    >>> output_size((64, 96), depth=3, padding="same")
    (64, 96)
    >>> output_size(50, depth=3)
    Traceback (most recent call last):
    ...
    ValueError: size 50 does not fit a U-Net with depth=3, padding='valid': ...
    """
    depth, padding = _check_arithmetic_args(depth, padding)
    sizes, single = _sizes("size", size)
    out = []
    for n in sizes:
        m = _output_length(n, depth, padding)
        if m is None:
            below = next((k for k in range(n - 1, 0, -1) if _output_length(k, depth, padding)),
                         None)
            above = next(k for k in range(n + 1, n + 10 ** 4)
                         if _output_length(k, depth, padding))
            near = (f"the nearest sizes that fit are {below} and {above}" if below else
                    f"the smallest size that fits is {above}")
            why = (f"a multiple of {2 ** (depth - 1)}" if padding == "same" else
                   "a size whose feature maps stay even before every pooling and whose "
                   "output is not empty")
            raise ValueError(f"size {n} does not fit a U-Net with depth={depth}, "
                             f"padding={padding!r}: it needs {why}; {near}")
        out.append(m)
    return out[0] if single else tuple(out)


def input_size(size, *, depth, padding="valid"):
    """The smallest input size whose :func:`output_size` is at least ``size``.

    The U-Net paper's tiling arithmetic: to label an ``size``-pixel tile, feed this many
    pixels (the image, mirror-padded at its border). When ``size`` is itself an output size
    that occurs, the output is exactly ``size``.

    Parameters
    ----------
    size : int or sequence of int
        Wanted output pixels per spatial axis.
    depth : int
    padding : {"valid", "same"}

    Returns
    -------
    int or tuple of int
        Like ``size``.

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> input_size(388, depth=5)
    572
    >>> input_size(100, depth=3), output_size(input_size(100, depth=3), depth=3)
    (140, 100)
    >>> input_size(30, depth=3, padding="same")
    32
    """
    depth, padding = _check_arithmetic_args(depth, padding)
    sizes, single = _sizes("size", size)
    out = []
    for wanted in sizes:
        n = wanted
        while (_output_length(n, depth, padding) or 0) < wanted:
            n += 1
        out.append(n)
    return out[0] if single else tuple(out)


# --- the models ----------------------------------------------------------------------------------

def _check_model_args(in_channels, num_classes, spatial_dims, width, norm):
    check_choice("norm", norm, NORMS)
    return (as_int("in_channels", in_channels, low=1), as_int("num_classes", num_classes, low=2),
            as_int("spatial_dims", spatial_dims, low=2, high=3), as_int("width", width, low=1))


def _check_input(model, x):
    """A (B, C, H, W) or (B, C, D, H, W) tensor, as the model's spatial_dims says."""
    if not isinstance(x, torch.Tensor) or x.ndim != model.spatial_dims + 2:
        axes = "(B, C, H, W)" if model.spatial_dims == 2 else "(B, C, D, H, W)"
        got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{type(model).__name__} with spatial_dims={model.spatial_dims} takes "
                         f"a tensor {axes}, got {got}")


class UNet(nn.Module):
    """DoubleConv => Down * (depth - 1) => Up * (depth - 1), each Up joined by a skip => conv 1×1.

    Parameters
    ----------
    in_channels : int
        Image channels (1 for a T1 slice).
    num_classes : int
        5 for {0 background, 1 CSF, 2 GM, 3 WM, 4 lesion}.
    spatial_dims : {2, 3}
        2D images ``(B, C, H, W)`` or 3D volumes ``(B, C, D, H, W)``.
    depth : int
        Resolution levels: ``depth - 1`` max poolings, so sizes must fit ``2 ** (depth - 1)``
        (see :func:`output_size`). The paper's U-Net has 5.
    width : int
        Feature maps at full resolution, doubled at each level: 16-32-64 for depth 3.
    padding : {"same", "valid"}
        ``"same"``: the output has the input's size (multiples of ``2 ** (depth - 1)``);
        ``"valid"``: unpadded convolutions, the output is smaller (:meth:`output_size`).
    norm : {"batch", "instance", None}
        Normalisation after every 3×3 convolution. Instance normalisation depends on the whole
        input, so tiled inference no longer equals whole-image inference exactly.
    skips : bool
        ``False``: the encoder–decoder without skip connections (DeconvNet-style).
    seed : int, optional
        Initial weights from this seed (torch's global random state is left alone).

    Attributes
    ----------
    downsampling : int
        ``2 ** (depth - 1)``, the factor between the input and the coarsest feature maps.

    Notes
    -----
    ``forward`` returns log-probabilities ``(B, num_classes, ...)`` (``log_softmax`` over axis
    1; also valid logits): train with ``loss="nll"`` in :func:`mlseg.training.fit`. An input
    whose size does not fit raises a ``ValueError`` naming the nearest sizes that do.

    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> model = UNet(1, 5, seed=0)
    >>> model(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 5, 64, 64])
    >>> valid = UNet(1, 5, padding="valid", seed=0)
    >>> valid.output_size(140), valid.input_size(100)
    (100, 140)
    >>> valid(torch.zeros(1, 1, 140, 140)).shape
    torch.Size([1, 5, 100, 100])
    >>> UNet(1, 5, spatial_dims=3, depth=2, width=4, seed=0)(torch.zeros(1, 1, 8, 8, 8)).shape
    torch.Size([1, 5, 8, 8, 8])
    """

    def __init__(self, in_channels=1, num_classes=5, *, spatial_dims=2, depth=3, width=16,
                 padding="same", norm="batch", skips=True, seed=None):
        super().__init__()
        in_channels, num_classes, spatial_dims, width = _check_model_args(
            in_channels, num_classes, spatial_dims, width, norm)
        depth, padding = _check_arithmetic_args(depth, padding)
        if not isinstance(skips, bool):
            raise TypeError(f"skips must be True or False, got {skips!r}")
        self.spatial_dims, self.depth, self.padding = spatial_dims, depth, padding
        self.skips = skips
        self.downsampling = 2 ** (depth - 1)
        options = {"spatial_dims": spatial_dims, "padding": padding, "norm": norm}
        widths = [width * 2 ** level for level in range(depth)]   # e.g. 16, 32, 64
        conv = (nn.Conv2d, nn.Conv3d)[spatial_dims - 2]
        with seeded(seed):
            self.first = DoubleConv(in_channels, widths[0], **options)
            self.downs = nn.ModuleList(
                [Down(widths[i], widths[i + 1], **options) for i in range(depth - 1)])
            self.ups = nn.ModuleList(
                [Up(widths[i + 1], widths[i], skip=skips, **options)
                 for i in reversed(range(depth - 1))])
            self.head = conv(widths[0], num_classes, 1)

    def forward(self, x):                                # depth 3, width 16, padding "same":
        _check_input(self, x)
        try:
            self.output_size(tuple(x.shape[2:]))
        except ValueError as error:
            raise ValueError(f"UNet input of shape {tuple(x.shape)}: {error}") from None
        x = self.first(x)                                # (B, 16, H, W)
        skips = []
        for down in self.downs:
            skips.append(x)                              # the encoder's map at this resolution
            x = down(x)                                  # (B, 32, H/2, W/2), (B, 64, H/4, W/4)
        for up in self.ups:
            skip = skips.pop() if self.skips else None   # same resolution, deepest first
            x = up(x, skip)                              # (B, 32, H/2, W/2), (B, 16, H, W)
        x = self.head(x)                                 # (B, classes, H, W)
        return F.log_softmax(x, dim=1)

    def output_size(self, size):
        """:func:`output_size` for this network's depth and padding."""
        return output_size(size, depth=self.depth, padding=self.padding)

    def input_size(self, size):
        """:func:`input_size` for this network's depth and padding."""
        return input_size(size, depth=self.depth, padding=self.padding)


class MultiScaleNet(nn.Module):
    """[DoubleConv * 2 on the image, DoubleConv * 2 on the image down-sampled 2× => unpool]
    => concat => conv 1×1 => ReLU => conv 1×1.

    Two pathways, as in DeepMedic: the normal pathway sees 9×9 pixels of the image at full
    resolution; the context pathway sees a copy average-pooled by 2, so its four 3×3
    convolutions cover 18×18 pixels of the image, with the same number of weights. Its
    features are up-sampled back (average unpooling) and fused with the normal pathway's
    before the classifier.

    Parameters
    ----------
    in_channels : int
    num_classes : int
    spatial_dims : {2, 3}
    width : int
        Feature maps of each pathway.
    norm : {"batch", "instance", None}
    context : bool
        ``False`` leaves the context pathway out: the single normal pathway (9×9 pixels), the
        baseline that shows what the context adds.
    factor : int
        Down-sampling of the context pathway's copy (DeepMedic uses 3): its four 3×3
        convolutions then cover ``8 * factor + factor`` pixels of the image, e.g. 18 for 2 and
        36 for 4.
    seed : int, optional
        Initial weights from this seed.

    Attributes
    ----------
    downsampling : int
        ``factor``: sizes must be multiples of it.

    Notes
    -----
    ``forward`` returns log-probabilities ``(B, num_classes, ...)`` of the input's size
    (``log_softmax`` over axis 1; also valid logits). Convolutions are padded ("same").

    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> model = MultiScaleNet(1, 5, seed=0)
    >>> model(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 5, 64, 64])
    """

    def __init__(self, in_channels=1, num_classes=5, *, spatial_dims=2, width=16, norm="batch",
                 context=True, factor=2, seed=None):
        super().__init__()
        in_channels, num_classes, spatial_dims, width = _check_model_args(
            in_channels, num_classes, spatial_dims, width, norm)
        if not isinstance(context, bool):
            raise TypeError(f"context must be True or False, got {context!r}")
        self.factor = as_int("factor", factor, low=2)
        self.spatial_dims, self.downsampling = spatial_dims, self.factor
        options = {"spatial_dims": spatial_dims, "norm": norm}
        conv = (nn.Conv2d, nn.Conv3d)[spatial_dims - 2]
        with seeded(seed):
            self.normal = nn.Sequential(DoubleConv(in_channels, width, **options),
                                        DoubleConv(width, width, **options))
            self.context = nn.Sequential(DoubleConv(in_channels, width, **options),
                                         DoubleConv(width, width, **options)) if context else None
            self.fuse = conv((1 + context) * width, width, 1)
            self.head = conv(width, num_classes, 1)

    def forward(self, x):                                # (B, C, H, W)
        _check_input(self, x)
        if any(n % self.factor for n in x.shape[2:]):
            raise ValueError(f"MultiScaleNet down-samples the image by factor={self.factor}, so "
                             f"its sizes must be multiples of {self.factor}, got an input of "
                             f"shape {tuple(x.shape)}")
        pool = (F.avg_pool2d, F.avg_pool3d)[self.spatial_dims - 2]
        x_in, x = x, self.normal(x)                      # (B, w, H, W), sees 9×9 pixels
        if self.context is not None:
            context = pool(x_in, self.factor)            # (B, C, H/f, W/f), the coarse copy
            context = self.context(context)              # (B, w, H/f, W/f), sees 9f×9f pixels
            context = average_unpool(context, factor=self.factor)  # (B, w, H, W)
            x = torch.cat([x, context], dim=1)           # (B, 2w, H, W)
        x = F.relu(self.fuse(x))                         # (B, w, H, W)
        x = self.head(x)                                 # (B, classes, H, W)
        return F.log_softmax(x, dim=1)
