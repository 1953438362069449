"""Up- and down-sampling, one small function each (lecture: "Up-sampling" → "Atrous spatial
pyramid pooling").

Fixed operations, applied to a batch ``(B, C, H, W)`` (or ``(B, C, D, H, W)`` in 3D):

- :func:`average_unpool` — every value copied into its ``factor × factor`` block ("average
  unpooling", nearest-neighbour up-sampling);
- :func:`max_pool_with_indices` and :func:`max_unpool` — each value put back into one pixel of
  its block, the others zero: the top-left pixel (the slide's "max unpooling"), or, given the
  indices remembered by the max pooling, the pixel the maximum came from ("unpooling with
  spatial information", as in DeconvNet);
- :func:`bilinear_upsample` — bilinear (trilinear in 3D) interpolation.

Learned operations, returned as ordinary torch layers:

- :func:`strided_conv` — "learned down-sampling", a convolution with stride 2;
- :func:`transpose_conv` — "learned up-sampling"; with a kernel that the stride does not divide
  its outputs overlap unevenly, which :func:`transpose_conv_overlap` counts (the checkerboard
  artefact);
- :func:`dilated_conv` — a larger receptive field at the same cost, and :class:`ASPP`, parallel
  dilated convolutions plus image pooling (DeepLab's atrous spatial pyramid pooling).

Receptive field and stride of a stack of these layers: :func:`mlseg.models.output_geometry`
(chapter 04; 2D convolutions and poolings, dilation included).

Taught in: notebooks/05_unet.ipynb
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_int, as_shape
from . import seeded

__all__ = ["average_unpool", "max_pool_with_indices", "max_unpool", "bilinear_upsample",
           "strided_conv", "transpose_conv", "dilated_conv", "ASPP", "transpose_conv_overlap"]


# --- validators ----------------------------------------------------------------------------------

def _as_batch(name, x):
    """A (B, C, H, W) or (B, C, D, H, W) float tensor; returns its number of spatial axes."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, C, H, W) or "
                        f"(B, C, D, H, W), got {type(x).__name__}")
    if x.ndim not in (4, 5):
        raise ValueError(f"{name} must have shape (B, C, H, W) or (B, C, D, H, W), got shape "
                         f"{tuple(x.shape)}; add the batch and channel axes with x[None, None]")
    return x.ndim - 2


def _as_spatial_dims(spatial_dims):
    return as_int("spatial_dims", spatial_dims, low=2, high=3)


def _conv_class(spatial_dims, *, transpose=False):
    if transpose:
        return (nn.ConvTranspose2d, nn.ConvTranspose3d)[spatial_dims - 2]
    return (nn.Conv2d, nn.Conv3d)[spatial_dims - 2]


def _channels(in_channels, out_channels):
    return (as_int("in_channels", in_channels, low=1),
            as_int("out_channels", out_channels, low=1))


# --- fixed up- and down-sampling -----------------------------------------------------------------

def average_unpool(x, *, factor=2):
    """Average unpooling: copy every value into its ``factor × factor`` block.

    The inverse of average pooling in the sense that ``avg_pool(average_unpool(x)) == x``;
    the same as nearest-neighbour up-sampling.

    Parameters
    ----------
    x : (B, C, H, W) or (B, C, D, H, W) tensor
    factor : int
        Up-sampling factor along every spatial axis.

    Returns
    -------
    (B, C, factor·H, factor·W) or (B, C, factor·D, factor·H, factor·W) tensor

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    The slide's example:

    >>> x = torch.tensor([[1., 2.], [3., 4.]])[None, None]   # (1, 1, 2, 2)
    >>> average_unpool(x)[0, 0]
    tensor([[1., 1., 2., 2.],
            [1., 1., 2., 2.],
            [3., 3., 4., 4.],
            [3., 3., 4., 4.]])
    """
    _as_batch("x", x)
    factor = as_int("factor", factor, low=1)
    return F.interpolate(x, scale_factor=factor, mode="nearest")


def max_pool_with_indices(x, *, factor=2):
    """Max pooling that also returns where each maximum came from (for :func:`max_unpool`).

    Parameters
    ----------
    x : (B, C, H, W) or (B, C, D, H, W) tensor
    factor : int
        Pooling window and stride.

    Returns
    -------
    pooled : (B, C, H // factor, W // factor) tensor (3D likewise)
    indices : int64 tensor of the same shape
        Position of each maximum in its ``(H, W)`` (or ``(D, H, W)``) plane, flattened.

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> x = torch.tensor([[0., 1., 0., 0.],
    ...                   [0., 0., 0., 2.],
    ...                   [3., 0., 0., 0.],
    ...                   [0., 0., 4., 0.]])[None, None]
    >>> pooled, indices = max_pool_with_indices(x)
    >>> pooled[0, 0]
    tensor([[1., 2.],
            [3., 4.]])
    >>> indices[0, 0]  # row * 4 + column of each maximum
    tensor([[ 1,  7],
            [ 8, 14]])
    """
    spatial_dims = _as_batch("x", x)
    factor = as_int("factor", factor, low=1)
    pool = (F.max_pool2d, F.max_pool3d)[spatial_dims - 2]
    return pool(x, factor, return_indices=True)


def max_unpool(x, indices=None, *, factor=2, output_size=None):
    """Max unpooling: every value goes to one pixel of its ``factor × factor`` block, the rest
    are zero.

    Without ``indices`` each value goes to the top-left pixel of its block (the slide's "max
    unpooling"). With the ``indices`` of the max pooling that made ``x`` (see
    :func:`max_pool_with_indices`), each value goes back to where its maximum was: "unpooling
    with spatial information", the up-sampling of DeconvNet.

    Parameters
    ----------
    x : (B, C, H, W) or (B, C, D, H, W) tensor
    indices : int64 tensor of the same shape, optional
    factor : int
        Up-sampling factor (the pooling window and stride).
    output_size : sequence of int, optional
        Spatial size of the result when the pooled image's size was not a multiple of
        ``factor``; default ``factor`` times the size of ``x``.

    Returns
    -------
    tensor of shape (B, C, *output_size)

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    The slide's example:

    >>> x = torch.tensor([[1., 2.], [3., 4.]])[None, None]
    >>> max_unpool(x)[0, 0]
    tensor([[1., 0., 2., 0.],
            [0., 0., 0., 0.],
            [3., 0., 4., 0.],
            [0., 0., 0., 0.]])

    With the pooling's indices, the values return to where they came from:

    >>> image = torch.tensor([[0., 1., 0., 0.],
    ...                       [0., 0., 0., 2.],
    ...                       [3., 0., 0., 0.],
    ...                       [0., 0., 4., 0.]])[None, None]
    >>> torch.equal(max_unpool(*max_pool_with_indices(image)), image)
    True
    """
    spatial_dims = _as_batch("x", x)
    factor = as_int("factor", factor, low=1)
    size = tuple(factor * s for s in x.shape[2:])
    if output_size is not None:
        output_size = as_shape("output_size", output_size, min_ndim=spatial_dims,
                               max_ndim=spatial_dims)
        if any(not factor * s <= o < factor * (s + 1) for s, o in zip(x.shape[2:], output_size)):
            raise ValueError(f"output_size must be between factor * size and factor * (size + 1)"
                             f" - 1 on every axis (size {tuple(x.shape[2:])}, factor {factor}),"
                             f" got {output_size}")
        size = output_size
    if indices is None:
        out = x.new_zeros((*x.shape[:2], *size))
        corners = (Ellipsis, *(slice(0, factor * s, factor) for s in x.shape[2:]))
        out[corners] = x                                 # the top-left pixel of every block
        return out
    if not isinstance(indices, torch.Tensor) or indices.shape != x.shape:
        got = tuple(indices.shape) if isinstance(indices, torch.Tensor) else type(indices).__name__
        raise ValueError(f"indices must be a tensor of the shape of x {tuple(x.shape)} (from "
                         f"max_pool_with_indices), got {got}")
    unpool = (F.max_unpool2d, F.max_unpool3d)[spatial_dims - 2]
    return unpool(x, indices, factor, output_size=size)


def bilinear_upsample(x, *, factor=2, align_corners=False):
    """Bilinear (trilinear in 3D) up-sampling by ``factor``.

    Parameters
    ----------
    x : (B, C, H, W) or (B, C, D, H, W) tensor
    factor : int
    align_corners : bool
        ``False`` (default): pixels are squares and the image's outer edges stay where they
        were, so the corner values are repeated; ``True``: the corner pixel centres stay where
        they were and the values in between are interpolated evenly.

    Returns
    -------
    (B, C, factor·H, factor·W) or (B, C, factor·D, factor·H, factor·W) tensor

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> x = torch.tensor([[1., 2.], [3., 4.]])[None, None]
    >>> bilinear_upsample(x)[0, 0]
    tensor([[1.0000, 1.2500, 1.7500, 2.0000],
            [1.5000, 1.7500, 2.2500, 2.5000],
            [2.5000, 2.7500, 3.2500, 3.5000],
            [3.0000, 3.2500, 3.7500, 4.0000]])
    """
    spatial_dims = _as_batch("x", x)
    factor = as_int("factor", factor, low=1)
    mode = ("bilinear", "trilinear")[spatial_dims - 2]
    return F.interpolate(x, scale_factor=factor, mode=mode, align_corners=bool(align_corners))


# --- learned up- and down-sampling (torch layers) ------------------------------------------------

def strided_conv(in_channels, out_channels, *, spatial_dims=2, kernel_size=3, stride=2,
                 seed=None):
    """A convolution with stride ``stride``: "learned down-sampling".

    Padded by ``(kernel_size - 1) // 2``, so a ``(B, C, H, W)`` input gives
    ``(B, out_channels, ceil(H / stride), ceil(W / stride))`` for an odd kernel (and
    ``H / stride`` for ``kernel_size == stride``).

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : {2, 3}
    kernel_size : int
    stride : int
    seed : int, optional
        Initial weights from this seed (torch's global random state is left alone).

    Returns
    -------
    torch.nn.Conv2d or torch.nn.Conv3d

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> down = strided_conv(8, 16, seed=0)
    >>> down
    Conv2d(8, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
    >>> down(torch.zeros(1, 8, 64, 64)).shape
    torch.Size([1, 16, 32, 32])
    """
    in_channels, out_channels = _channels(in_channels, out_channels)
    spatial_dims = _as_spatial_dims(spatial_dims)
    kernel_size = as_int("kernel_size", kernel_size, low=1)
    stride = as_int("stride", stride, low=1)
    with seeded(seed):
        return _conv_class(spatial_dims)(in_channels, out_channels, kernel_size, stride=stride,
                                         padding=(kernel_size - 1) // 2)


def transpose_conv(in_channels, out_channels, *, spatial_dims=2, kernel_size=2, stride=2,
                   seed=None):
    """A transpose convolution that multiplies the size by ``stride``: "learned up-sampling".

    Every input pixel adds a copy of the kernel, scaled by its value, to the output at
    ``stride`` times its position. Padding and output padding are chosen so that ``(B, C, H, W)``
    gives exactly ``(B, out_channels, stride·H, stride·W)``. With ``kernel_size == stride``
    (U-Net's "up-conv 2×2") the copies tile the output; with a kernel the stride does not
    divide they overlap unevenly (see :func:`transpose_conv_overlap`).

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : {2, 3}
    kernel_size : int
    stride : int
    seed : int, optional
        Initial weights from this seed.

    Returns
    -------
    torch.nn.ConvTranspose2d or torch.nn.ConvTranspose3d

    Notes
    -----
    Raises ``ValueError`` for ``stride == 1`` with an even kernel: no padding keeps the size.

    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> up = transpose_conv(16, 8, seed=0)
    >>> up(torch.zeros(1, 16, 32, 32)).shape
    torch.Size([1, 8, 64, 64])
    >>> transpose_conv(16, 8, kernel_size=3, seed=0)(torch.zeros(1, 16, 32, 32)).shape
    torch.Size([1, 8, 64, 64])
    """
    in_channels, out_channels = _channels(in_channels, out_channels)
    spatial_dims = _as_spatial_dims(spatial_dims)
    kernel_size = as_int("kernel_size", kernel_size, low=1)
    stride = as_int("stride", stride, low=1)
    # output = (H - 1)·stride - 2·padding + kernel_size + output_padding  =  stride·H
    padding = max(0, -(-(kernel_size - stride) // 2))
    output_padding = stride - kernel_size + 2 * padding
    if output_padding >= stride:
        raise ValueError(f"a transpose convolution with kernel_size={kernel_size} and "
                         f"stride={stride} cannot give exactly stride times the input size; "
                         "use an odd kernel_size with stride 1")
    with seeded(seed):
        return _conv_class(spatial_dims, transpose=True)(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            output_padding=output_padding)


def dilated_conv(in_channels, out_channels, *, spatial_dims=2, kernel_size=3, dilation=2,
                 seed=None):
    """A dilated ("atrous") convolution, padded to keep the size.

    The kernel's taps are ``dilation`` pixels apart: a 3×3 kernel with dilation ``d`` sees
    ``2d + 1`` pixels per side with 9 weights. Stacking dilations 1, 2, 4, ... grows the
    receptive field exponentially without down-sampling.

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : {2, 3}
    kernel_size : int
        Odd.
    dilation : int
    seed : int, optional
        Initial weights from this seed.

    Returns
    -------
    torch.nn.Conv2d or torch.nn.Conv3d
        Padding ``dilation · (kernel_size - 1) / 2``: ``(B, C, H, W)`` → ``(B, out_channels,
        H, W)``.

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> conv = dilated_conv(1, 1, dilation=4, seed=0)
    >>> conv(torch.zeros(1, 1, 32, 32)).shape
    torch.Size([1, 1, 32, 32])

    Three 3×3 convolutions with dilations 1, 2 and 4 see 15 pixels per side
    (:func:`mlseg.models.output_geometry`), three plain ones 7:

    >>> from mlseg.models import output_geometry
    >>> stack = [dilated_conv(1, 1, dilation=d) for d in (1, 2, 4)]
    >>> output_geometry(stack, size=32)
    Geometry(size=32, stride=1, receptive_field=15)
    """
    in_channels, out_channels = _channels(in_channels, out_channels)
    spatial_dims = _as_spatial_dims(spatial_dims)
    kernel_size = as_int("kernel_size", kernel_size, low=1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (to keep the size), got {kernel_size}")
    dilation = as_int("dilation", dilation, low=1)
    with seeded(seed):
        return _conv_class(spatial_dims)(in_channels, out_channels, kernel_size,
                                         dilation=dilation,
                                         padding=dilation * (kernel_size - 1) // 2)


class ASPP(nn.Module):
    """[conv 1×1, conv 3×3 dilated r₁, r₂, ..., image pooling => conv 1×1] => concat => conv 1×1.

    Atrous spatial pyramid pooling (DeepLab v3): parallel branches look at the same features
    with different receptive fields — a 1×1 convolution, one 3×3 convolution per dilation rate,
    and the mean over the whole image (image pooling, copied back to every pixel) — and a 1×1
    convolution fuses them. Every convolution is followed by a ReLU.

    Parameters
    ----------
    in_channels, out_channels : int
    rates : sequence of int
        Dilation rates of the 3×3 branches (DeepLab uses 6, 12, 18 on 1/16-resolution maps of
        large images; small images want small rates).
    spatial_dims : {2, 3}
    seed : int, optional
        Initial weights from this seed.

    Notes
    -----
    ``(B, in_channels, H, W)`` → ``(B, out_channels, H, W)`` for any ``H, W``.

    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> aspp = ASPP(16, 8, rates=(1, 2, 4), seed=0)
    >>> aspp(torch.zeros(2, 16, 20, 24)).shape
    torch.Size([2, 8, 20, 24])
    >>> len(aspp.branches)  # 1×1 and three dilated 3×3
    4
    """

    def __init__(self, in_channels, out_channels, *, rates=(1, 2, 4), spatial_dims=2,
                 seed=None):
        super().__init__()
        in_channels, out_channels = _channels(in_channels, out_channels)
        spatial_dims = _as_spatial_dims(spatial_dims)
        if isinstance(rates, (str, bytes)) or not hasattr(rates, "__len__") or not rates:
            raise TypeError(f"rates must be a non-empty sequence of dilation rates, got {rates!r}")
        rates = tuple(as_int(f"rates[{i}]", rate, low=1) for i, rate in enumerate(rates))
        conv = _conv_class(spatial_dims)
        with seeded(seed):
            self.branches = nn.ModuleList(
                [conv(in_channels, out_channels, 1)]
                + [dilated_conv(in_channels, out_channels, spatial_dims=spatial_dims,
                                dilation=rate) for rate in rates])
            self.pool_conv = conv(in_channels, out_channels, 1)
            self.project = conv(out_channels * (len(rates) + 2), out_channels, 1)

    def forward(self, x):                                # (B, C, H, W)
        size = x.shape[2:]
        spatial = tuple(range(2, x.ndim))
        branches = [F.relu(conv(x)) for conv in self.branches]  # each (B, out, H, W)
        pooled = x.mean(dim=spatial, keepdim=True)       # (B, C, 1, 1): the whole image
        pooled = F.relu(self.pool_conv(pooled))          # (B, out, 1, 1)
        branches.append(pooled.expand(-1, -1, *size))    # (B, out, H, W)
        x = torch.cat(branches, dim=1)                   # (B, out · (rates + 2), H, W)
        return F.relu(self.project(x))                   # (B, out, H, W)


# --- the checkerboard artefact -------------------------------------------------------------------

def transpose_conv_overlap(size, *, kernel_size, stride, spatial_dims=2):
    """How many kernel copies a transpose convolution adds up at each output pixel.

    The output of :func:`transpose_conv` (all weights one, no bias) on an input of ones, of
    ``size`` pixels per side. Uniform when ``stride`` divides ``kernel_size``; otherwise some
    output pixels receive more copies than their neighbours, a regular pattern — the
    checkerboard artefact of learned up-sampling (Odena et al., 2016).

    Parameters
    ----------
    size : int
        Input pixels per side.
    kernel_size, stride : int
    spatial_dims : {2, 3}

    Returns
    -------
    (stride·size, stride·size) ndarray of int64 (3D: three axes)

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> transpose_conv_overlap(3, kernel_size=2, stride=2)
    array([[1, 1, 1, 1, 1, 1],
           [1, 1, 1, 1, 1, 1],
           [1, 1, 1, 1, 1, 1],
           [1, 1, 1, 1, 1, 1],
           [1, 1, 1, 1, 1, 1],
           [1, 1, 1, 1, 1, 1]])
    >>> transpose_conv_overlap(3, kernel_size=3, stride=2)
    array([[1, 2, 1, 2, 1, 1],
           [2, 4, 2, 4, 2, 2],
           [1, 2, 1, 2, 1, 1],
           [2, 4, 2, 4, 2, 2],
           [1, 2, 1, 2, 1, 1],
           [1, 2, 1, 2, 1, 1]])
    """
    size = as_int("size", size, low=1)
    spatial_dims = _as_spatial_dims(spatial_dims)
    layer = transpose_conv(1, 1, spatial_dims=spatial_dims, kernel_size=kernel_size,
                           stride=stride, seed=0)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
        counts = layer(torch.ones((1, 1) + (size,) * spatial_dims))
    return np.rint(counts[0, 0].numpy()).astype(np.int64)
