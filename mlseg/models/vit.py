"""A vision transformer (ViT) for segmentation, written out from the patches up (lecture:
"Vision transformers" → "Transformers for image segmentation").

Read it top to bottom:

1. :func:`patchify` cuts a ``(B, C, H, W)`` batch into ``N = (H/p)·(W/p)`` patches of
   ``p × p`` pixels, each flattened to a vector of ``C·p·p`` numbers: a *sequence of tokens*
   ``(B, N, C·p·p)``; :func:`unpatchify` puts them back.
2. :class:`PatchEmbedding` maps every patch vector to ``dim`` features with one linear layer —
   which is exactly a convolution whose kernel and stride are both ``p`` (:func:`as_conv`).
3. Attention itself does not know where a token came from, so a *position embedding* is added:
   learned (one vector per grid cell) or fixed 2D sine–cosine
   (:func:`sincos_position_embedding`); for another image size the grid of position vectors is
   resized like an image (:func:`interpolate_positions`).
4. :func:`attention` is ``softmax(q kᵀ / √d) v``; :class:`Attention` runs it in ``heads``
   parallel heads on projections of the tokens (multi-head self-attention) and can keep its
   attention maps ``(B, heads, N, N)`` for plotting.
5. :class:`Block` is the pre-norm transformer block: ``x + attn(norm(x))``, ``x + mlp(norm(x))``.
6. :class:`Transformer` adds the positions and stacks the blocks.
   :class:`ViTSegmenter` (SETR/Segmenter-style): patch tokens → transformer → every token
   predicts the labels of its own ``p × p`` patch → a full-resolution map.
   :class:`HybridSegmenter` (TransUNet/UNETR-style): a small convolutional stem makes features
   at 1, 1/2 and 1/4 of the resolution, the transformer works on 1/8-resolution tokens, and a
   U-Net decoder up-samples with the stem's features as skip connections — the fine detail
   comes from the convolutions, the global context from attention.

Both segmenters return **log-probabilities** ``(B, num_classes, H, W)`` (``log_softmax`` over
axis 1), like every ``mlseg`` model: train with ``loss="nll"`` in :func:`mlseg.training.fit`,
take ``argmax(axis=1)`` for the labels.

Taught in: notebooks/06_transformers.ipynb
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_int, as_shape, check_choice
from . import seeded
from .unet import DoubleConv, Down, Up

__all__ = ["patchify", "unpatchify", "PatchEmbedding", "as_conv", "sincos_position_embedding",
           "interpolate_positions", "attention", "Attention", "MLP", "Block", "Transformer",
           "ViTSegmenter", "HybridSegmenter", "POSITIONS"]

POSITIONS = ("learned", "sincos")  #: learned position vectors, or fixed 2D sine–cosine ones


# --- checks --------------------------------------------------------------------------------------

def _check_images(name, images, *, channels=None):
    """A float tensor ``(B, C, H, W)`` (with ``channels`` channels when given)."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor (B, C, H, W), got "
                        f"{type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"{name} must be a tensor (B, C, H, W), got shape {tuple(images.shape)}")
    if channels is not None and images.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s) (axis 1), got shape "
                         f"{tuple(images.shape)}")


def _grid(name, size, patch):
    """``(H/p, W/p)`` for an image size ``(H, W)``; a ``ValueError`` naming ``name`` if ``p``
    does not divide it."""
    height, width = size
    if height % patch or width % patch:
        raise ValueError(f"{name} must be divisible by the patch size {patch}, got "
                         f"{height}x{width}")
    return height // patch, width // patch


# --- 1. patches ----------------------------------------------------------------------------------

def patchify(images, patch):
    """Cut images into non-overlapping ``patch × patch`` patches, one flat vector each.

    Parameters
    ----------
    images : (B, C, H, W) tensor
        ``H`` and ``W`` multiples of ``patch``.
    patch : int
        Patch side ``p`` in pixels.

    Returns
    -------
    (B, N, C·p·p) tensor
        ``N = (H/p)·(W/p)`` tokens in row-major order over the patch grid (token ``i·W/p + j``
        is the patch in grid row ``i``, column ``j``); each vector lists its patch channel by
        channel, row by row — the order of a convolution kernel ``(C, p, p)``.

    Notes
    -----
    A size not divisible by ``patch`` raises a ``ValueError``.

    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> images = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> patchify(images, 2)
    tensor([[[ 0.,  1.,  4.,  5.],
             [ 2.,  3.,  6.,  7.],
             [ 8.,  9., 12., 13.],
             [10., 11., 14., 15.]]])
    """
    patch = as_int("patch", patch, low=1)
    _check_images("images", images)
    b, c, height, width = images.shape
    rows, cols = _grid("images' height and width", (height, width), patch)
    x = images.reshape(b, c, rows, patch, cols, patch)   # (B, C, h, p, w, p)
    x = x.permute(0, 2, 4, 1, 3, 5)                      # (B, h, w, C, p, p)
    return x.reshape(b, rows * cols, c * patch * patch)  # (B, N, C·p·p)


def unpatchify(tokens, patch, shape):
    """Put patch vectors back into images: the inverse of :func:`patchify`.

    Parameters
    ----------
    tokens : (B, N, C·p·p) tensor
    patch : int
    shape : (H, W)
        Image size; ``N`` must be ``(H/p)·(W/p)``. The channels ``C`` follow from the vector
        length.

    Returns
    -------
    (B, C, H, W) tensor

    Notes
    -----
    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> images = torch.rand(2, 3, 8, 12)
    >>> torch.equal(unpatchify(patchify(images, 4), 4, (8, 12)), images)
    True
    """
    patch = as_int("patch", patch, low=1)
    height, width = as_shape("shape", shape, min_ndim=2, max_ndim=2)
    rows, cols = _grid("shape", (height, width), patch)
    if not isinstance(tokens, torch.Tensor) or tokens.ndim != 3:
        got = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
        raise ValueError(f"tokens must be a tensor (B, N, C*p*p), got {got}")
    b, n, length = tokens.shape
    if n != rows * cols or length % (patch * patch):
        raise ValueError(f"tokens of shape {tuple(tokens.shape)} do not make {height}x{width} "
                         f"images of {patch}x{patch} patches: that needs N = {rows * cols} "
                         f"tokens of C*{patch * patch} numbers")
    c = length // (patch * patch)
    x = tokens.reshape(b, rows, cols, c, patch, patch)   # (B, h, w, C, p, p)
    x = x.permute(0, 3, 1, 4, 2, 5)                      # (B, C, h, p, w, p)
    return x.reshape(b, c, height, width)                # (B, C, H, W)


class PatchEmbedding(nn.Module):
    """patchify => linear C·p·p → dim, the same for every patch.

    Parameters
    ----------
    in_channels : int
    dim : int
        Features per token.
    patch : int
        Patch side ``p``.
    seed : int, optional
        Initial weights from this seed.

    Notes
    -----
    ``forward`` maps ``(B, C, H, W)`` to ``(B, N, dim)``. The same linear map applied to every
    patch is a convolution with kernel ``p`` and stride ``p``: see :func:`as_conv`.

    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> embedding = PatchEmbedding(1, 32, patch=8, seed=0)
    >>> embedding(torch.zeros(2, 1, 128, 128)).shape     # 16 × 16 = 256 tokens
    torch.Size([2, 256, 32])
    """

    def __init__(self, in_channels, dim, *, patch, seed=None):
        super().__init__()
        self.in_channels = as_int("in_channels", in_channels, low=1)
        self.patch = as_int("patch", patch, low=1)
        dim = as_int("dim", dim, low=1)
        with seeded(seed):
            self.linear = nn.Linear(self.in_channels * self.patch ** 2, dim)

    def forward(self, x):                                # (B, C, H, W)
        _check_images("images", x, channels=self.in_channels)
        x = patchify(x, self.patch)                      # (B, N, C·p·p)
        return self.linear(x)                            # (B, N, dim)


def as_conv(embedding):
    """The ``nn.Conv2d`` (kernel = stride = patch) that computes what ``embedding`` computes.

    The linear layer's weight ``(dim, C·p·p)`` is reshaped to a kernel ``(dim, C, p, p)`` (the
    order in which :func:`patchify` flattened each patch); the bias is copied. The convolution
    gives a map ``(B, dim, H/p, W/p)``; ``flatten(2).transpose(1, 2)`` makes it the token
    sequence ``(B, N, dim)`` again.

    Parameters
    ----------
    embedding : PatchEmbedding

    Returns
    -------
    torch.nn.Conv2d
        On the device and dtype of ``embedding``; ``embedding`` is not modified.

    Notes
    -----
    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> embedding = PatchEmbedding(3, 16, patch=4, seed=0)
    >>> conv = as_conv(embedding)
    >>> conv.kernel_size, conv.stride
    ((4, 4), (4, 4))
    >>> x = torch.rand(2, 3, 32, 32)
    >>> torch.allclose(embedding(x), conv(x).flatten(2).transpose(1, 2), atol=1e-5)
    True
    """
    if not isinstance(embedding, PatchEmbedding):
        raise TypeError(f"embedding must be a PatchEmbedding, got {type(embedding).__name__}")
    linear, p, c = embedding.linear, embedding.patch, embedding.in_channels
    conv = nn.Conv2d(c, linear.out_features, kernel_size=p, stride=p)
    conv.to(device=linear.weight.device, dtype=linear.weight.dtype)
    with torch.no_grad():
        conv.weight.copy_(linear.weight.reshape(linear.out_features, c, p, p))
        conv.bias.copy_(linear.bias)
    return conv


# --- 2. positions --------------------------------------------------------------------------------

def sincos_position_embedding(grid, dim):
    """Fixed 2D sine–cosine position vectors, one per cell of a ``grid`` of patches.

    The first half of each vector encodes the row ``r``, the second half the column ``c``, each
    as ``[sin(r ω_1), …, sin(r ω_k), cos(r ω_1), …, cos(r ω_k)]`` with frequencies
    ``ω_i = 10000^(-(i - 1)/k)``, ``k = dim / 4`` (as in MAE). Nearby cells get similar vectors;
    nothing is learned.

    Parameters
    ----------
    grid : int or (rows, cols)
        Patches per side (an int for a square grid). Rows and columns may also be fractional
        coordinates given as a float tensor ``(..., 2)`` of ``(row, col)`` pairs, which is how
        :mod:`mlseg.models.promptable` encodes clicks in the same coordinates as the patches.
    dim : int
        Vector length, a multiple of 4.

    Returns
    -------
    (rows·cols, dim) float32 tensor
        Row-major over the grid, like the tokens of :func:`patchify`; ``(..., dim)`` for a tensor
        of coordinates.

    Notes
    -----
    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> pos = sincos_position_embedding((2, 3), 8)
    >>> pos.shape
    torch.Size([6, 8])
    >>> pos[0].tolist()                              # cell (0, 0): sin 0 = 0, cos 0 = 1
    [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    """
    dim = as_int("dim", dim, low=4)
    if dim % 4:
        raise ValueError(f"dim must be a multiple of 4 (sin and cos of rows and columns), "
                         f"got {dim}")
    if isinstance(grid, torch.Tensor):
        if grid.shape[-1:] != (2,):
            raise ValueError(f"grid as a tensor must hold (row, col) pairs, shape (..., 2), "
                             f"got {tuple(grid.shape)}")
        coords = grid.to(torch.float32)                  # (..., 2)
    else:
        rows, cols = (grid, grid) if not hasattr(grid, "__iter__") else grid
        rows, cols = as_shape("grid", (rows, cols), min_ndim=2, max_ndim=2)
        r, c = torch.meshgrid(torch.arange(rows, dtype=torch.float32),
                              torch.arange(cols, dtype=torch.float32), indexing="ij")
        coords = torch.stack([r, c], dim=-1).reshape(rows * cols, 2)
    k = dim // 4
    omega = 10000.0 ** (-torch.arange(k, dtype=torch.float32) / k)       # (k,)
    angles = coords[..., :, None] * omega.to(coords.device)              # (..., 2, k)
    pos = torch.cat([angles.sin(), angles.cos()], dim=-1)                # (..., 2, 2k)
    return pos.flatten(-2)                                               # (..., dim)


def interpolate_positions(pos, old_grid, new_grid):
    """Resize position vectors from one patch grid to another (another image size).

    The ``(rows·cols, dim)`` vectors are laid out as a ``dim``-channel image of the old grid
    and resized bicubically (``align_corners=False``) to the new grid, as ViTs do to run on
    images of another size than they were trained on.

    Parameters
    ----------
    pos : (N, dim) or (1, N, dim) tensor
        ``N = rows·cols`` of ``old_grid``.
    old_grid, new_grid : (rows, cols)

    Returns
    -------
    tensor
        ``(N', dim)`` or ``(1, N', dim)`` like ``pos``, ``N'`` the cells of ``new_grid``; an
        unchanged grid returns ``pos`` itself. Gradients flow through the resizing.

    Notes
    -----
    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> pos = sincos_position_embedding((16, 16), 64)
    >>> interpolate_positions(pos, (16, 16), (24, 20)).shape
    torch.Size([480, 64])
    """
    old_rows, old_cols = as_shape("old_grid", old_grid, min_ndim=2, max_ndim=2)
    new_rows, new_cols = as_shape("new_grid", new_grid, min_ndim=2, max_ndim=2)
    if not isinstance(pos, torch.Tensor) or pos.ndim not in (2, 3) \
            or (pos.ndim == 3 and pos.shape[0] != 1):
        got = tuple(pos.shape) if isinstance(pos, torch.Tensor) else type(pos).__name__
        raise ValueError(f"pos must be a tensor (N, dim) or (1, N, dim), got {got}")
    if pos.shape[-2] != old_rows * old_cols:
        raise ValueError(f"pos has {pos.shape[-2]} vectors but old_grid {old_rows}x{old_cols} "
                         f"has {old_rows * old_cols} cells")
    if (old_rows, old_cols) == (new_rows, new_cols):
        return pos
    dim = pos.shape[-1]
    x = pos.reshape(1, old_rows, old_cols, dim).permute(0, 3, 1, 2)   # (1, dim, rows, cols)
    x = F.interpolate(x, size=(new_rows, new_cols), mode="bicubic", align_corners=False)
    x = x.permute(0, 2, 3, 1).reshape(new_rows * new_cols, dim)       # (N', dim)
    return x if pos.ndim == 2 else x[None]


# --- 3. attention --------------------------------------------------------------------------------

def attention(q, k, v):
    """Scaled dot-product attention ``softmax(q kᵀ / √d) v``; returns the output and the weights.

    Every query row takes a weighted mean of the value rows; the weights (one probability
    distribution over the keys per query) come from how well the query matches each key.

    Parameters
    ----------
    q : (..., N, d) tensor
    k, v : (..., M, d) tensors

    Returns
    -------
    out : (..., N, d) tensor
    weights : (..., N, M) tensor
        Rows sum to 1: the attention map.

    Notes
    -----
    The same as ``torch.nn.functional.scaled_dot_product_attention(q, k, v)`` (which does not
    return the weights).

    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> q = torch.tensor([[1.0, 0.0]]); k = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    >>> v = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    >>> out, weights = attention(q, k, v)
    >>> [round(w, 3) for w in weights[0].tolist()]   # softmax([1, -1] / √2)
    [0.804, 0.196]
    >>> [round(o, 3) for o in out[0].tolist()]       # 0.804 · v[0] + 0.196 · v[1]
    [0.804, 0.804]
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])   # (..., N, M)
    weights = scores.softmax(dim=-1)                            # (..., N, M), rows sum to 1
    return weights @ v, weights                                 # (..., N, d)


class Attention(nn.Module):
    """qkv projection => split into heads => softmax(q kᵀ / √d) v per head => merge => projection.

    Parameters
    ----------
    dim : int
        Token features, a multiple of ``heads``.
    heads : int
        Each head attends with ``d = dim / heads`` features of its own.
    seed : int, optional

    Attributes
    ----------
    last_attention : (B, heads, N, N) tensor or None
        The attention maps of the last ``forward`` with ``return_attention=True`` (detached),
        e.g. to plot which patches the token of one patch looked at.

    Notes
    -----
    ``forward(x, return_attention=False)`` maps tokens ``(B, N, dim)`` to ``(B, N, dim)``; with
    ``return_attention=True`` it returns ``(out, weights)`` and keeps the weights in
    :attr:`last_attention`.

    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> attn = Attention(64, heads=4, seed=0)
    >>> out, weights = attn(torch.rand(2, 10, 64), return_attention=True)
    >>> out.shape, weights.shape
    (torch.Size([2, 10, 64]), torch.Size([2, 4, 10, 10]))
    """

    def __init__(self, dim, *, heads, seed=None):
        super().__init__()
        dim, self.heads = as_int("dim", dim, low=1), as_int("heads", heads, low=1)
        if dim % self.heads:
            raise ValueError(f"dim must be a multiple of heads, got dim={dim}, "
                             f"heads={self.heads}")
        self.last_attention = None
        with seeded(seed):
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)

    def forward(self, x, return_attention=False):              # (B, N, D)
        b, n, dim = x.shape
        d = dim // self.heads
        qkv = self.qkv(x)                                       # (B, N, 3D)
        qkv = qkv.reshape(b, n, 3, self.heads, d)               # (B, N, 3, heads, d)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)                    # each (B, heads, N, d)
        x, weights = attention(q, k, v)                         # (B, heads, N, d), (.., N, N)
        x = x.transpose(1, 2).reshape(b, n, dim)                # (B, N, D): heads side by side
        x = self.proj(x)                                        # (B, N, D)
        if return_attention:
            self.last_attention = weights.detach()
            return x, weights
        return x


class MLP(nn.Sequential):
    """linear dim → hidden => GELU => linear hidden → dim (on every token alone)"""

    def __init__(self, dim, hidden):
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class Block(nn.Module):
    """x + attention(norm(x)) => x + mlp(norm(x))   (a pre-norm transformer block)

    Parameters
    ----------
    dim : int
    heads : int
    mlp_ratio : int
        The MLP's hidden layer has ``mlp_ratio · dim`` units.
    seed : int, optional

    Notes
    -----
    ``forward(x, return_attention=False)``: tokens ``(B, N, dim)`` in and out; with
    ``return_attention=True`` also the attention maps ``(B, heads, N, N)``.

    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> Block(32, heads=2, seed=0)(torch.rand(1, 5, 32)).shape
    torch.Size([1, 5, 32])
    """

    def __init__(self, dim, *, heads, mlp_ratio=4, seed=None):
        super().__init__()
        mlp_ratio = as_int("mlp_ratio", mlp_ratio, low=1)
        with seeded(seed):
            self.norm1 = nn.LayerNorm(dim)
            self.attn = Attention(dim, heads=heads)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = MLP(dim, mlp_ratio * dim)

    def forward(self, x, return_attention=False):      # (B, N, D)
        a = self.attn(self.norm1(x), return_attention=return_attention)
        a, weights = a if return_attention else (a, None)
        x = x + a                                       # (B, N, D): tokens talk to each other
        x = x + self.mlp(self.norm2(x))                 # (B, N, D): each token alone
        return (x, weights) if return_attention else x


# --- 4. segmenters -------------------------------------------------------------------------------

def _check_segmenter_args(in_channels, num_classes, image_size, dim, depth, heads, positions):
    in_channels = as_int("in_channels", in_channels, low=1)
    num_classes = as_int("num_classes", num_classes, low=2)
    if isinstance(image_size, (tuple, list)):
        image_size = as_shape("image_size", image_size, min_ndim=2, max_ndim=2)
    else:
        image_size = (as_int("image_size", image_size, low=1),) * 2
    dim, depth = as_int("dim", dim, low=4), as_int("depth", depth, low=0)
    heads = as_int("heads", heads, low=1)
    if dim % heads or (dim // heads) < 1:
        raise ValueError(f"dim must be a multiple of heads, got dim={dim}, heads={heads}")
    check_choice("positions", positions, POSITIONS)
    if positions == "sincos" and dim % 4:
        raise ValueError(f"dim must be a multiple of 4 for positions='sincos', got {dim}")
    return in_channels, num_classes, image_size, dim, depth, heads


class Transformer(nn.Module):
    """+ position embedding => Block * depth => LayerNorm   (tokens of a grid of patches)

    Parameters
    ----------
    grid : (rows, cols)
        The patch grid the position vectors are made for.
    dim : int
    depth : int
        Number of :class:`Block`.
    heads : int
    positions : {"learned", "sincos"}
        Learned vectors (a parameter ``pos``, initialised small and random) or the fixed
        :func:`sincos_position_embedding` (a buffer ``pos``).
    seed : int, optional

    Notes
    -----
    ``forward(x, grid, return_attention=False)`` takes tokens ``(B, N, dim)`` of a ``grid``
    (``N = rows·cols``; the position vectors are interpolated when it is not the model's
    grid) and returns ``(B, N, dim)``, and with ``return_attention=True`` also the list of the
    blocks' attention maps ``(B, heads, N, N)``.

    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> encoder = Transformer((4, 4), 32, depth=2, heads=2, positions="sincos", seed=0)
    >>> encoder(torch.zeros(3, 16, 32), (4, 4)).shape
    torch.Size([3, 16, 32])
    """

    def __init__(self, grid, dim, *, depth, heads, positions="learned", seed=None):
        super().__init__()
        self.grid = as_shape("grid", grid, min_ndim=2, max_ndim=2)
        dim, depth = as_int("dim", dim, low=1), as_int("depth", depth, low=0)
        check_choice("positions", positions, POSITIONS)
        rows, cols = self.grid
        with seeded(seed):
            if positions == "learned":                   # (1, N, D), trained
                self.pos = nn.Parameter(torch.empty(1, rows * cols, dim))
                nn.init.trunc_normal_(self.pos, std=0.02)
            else:                                        # (1, N, D), fixed
                self.register_buffer("pos", sincos_position_embedding(self.grid, dim)[None])
            self.blocks = nn.ModuleList([Block(dim, heads=heads) for _ in range(depth)])
            self.norm = nn.LayerNorm(dim)

    def forward(self, x, grid, return_attention=False):            # (B, N, D)
        x = x + interpolate_positions(self.pos, self.grid, grid)    # (B, N, D)
        maps = []
        for block in self.blocks:
            x = block(x, return_attention=return_attention)         # (B, N, D)
            if return_attention:
                x, weights = x
                maps.append(weights)
        x = self.norm(x)
        return (x, maps) if return_attention else x


class ViTSegmenter(nn.Module):
    """patch embedding => + positions => Block * depth => per-patch pixel features
    => unpatchify => conv 3×3 => log-probabilities.

    SETR/Segmenter-style: only the transformer sees more than one patch. Each output token
    predicts ``hidden`` features for every pixel of its ``p × p`` patch (one linear layer),
    :func:`unpatchify` lays them out at full resolution, and a 3×3 convolution smooths across
    the seams between patches before the per-pixel classifier.

    Parameters
    ----------
    in_channels : int
    num_classes : int
    image_size : int or (H, W)
        Training image size, a multiple of ``patch``; it sets the grid of learned positions.
        Other sizes (multiples of ``patch``) work too: the positions are interpolated.
    patch : int
        Patch side in pixels: ``(H/p)·(W/p)`` tokens (256 for 128² images and ``p = 8``).
    dim : int
        Token features.
    depth : int
        Transformer blocks.
    heads : int
        Attention heads per block; ``dim`` must be a multiple.
    positions : {"learned", "sincos"}
        Learned position vectors (initialised small and random) or fixed sine–cosine ones.
    hidden : int
        Features per pixel before the classifier.
    seed : int, optional
        Initial weights from this seed (torch's global random state is left alone).

    Attributes
    ----------
    grid : (rows, cols)
        The patch grid of ``image_size``.

    Notes
    -----
    ``forward(x, return_attention=False)`` returns log-probabilities ``(B, num_classes, H, W)``
    (``log_softmax`` over axis 1): train with ``loss="nll"`` in :func:`mlseg.training.fit`.
    With ``return_attention=True`` it also returns a list (one per block) of attention maps
    ``(B, heads, N, N)``; each block's :class:`Attention` keeps its own in ``last_attention``.
    An ``image_size`` or an input not divisible by ``patch`` raises a ``ValueError``.

    A recipe for the course's 128² brain slices (:func:`mlseg.phantoms.brain_split`), as in
    the notebook: ``fit(model, (images[:, None], labels), iterations=380, batch_size=4,
    lr=3e-3, seed=0, loss="dice_ce")`` with the default sizes (290k parameters) reaches a mean
    Dice of 0.89 over CSF, grey and white matter on the split's test subjects (CSF 0.83), in
    about 35 s on two CPU cores (0.09 s an iteration; 60–75 s with one thread on a busy
    machine). Small batches and more steps beat large batches at the same cost: 260 batches
    of 8 take longer and reach 0.85. The lesion is not found (Dice 0) in training this short.

    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> model = ViTSegmenter(1, 5, image_size=64, patch=8, dim=32, depth=1, heads=2, seed=0)
    >>> model(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 5, 64, 64])
    >>> out, maps = model(torch.zeros(1, 1, 64, 64), return_attention=True)
    >>> len(maps), maps[0].shape                 # 8 × 8 = 64 patches attend to 64 patches
    (1, torch.Size([1, 2, 64, 64]))
    """

    def __init__(self, in_channels=1, num_classes=5, *, image_size=128, patch=8, dim=64,
                 depth=4, heads=4, positions="learned", hidden=16, seed=None):
        super().__init__()
        in_channels, num_classes, image_size, dim, depth, heads = _check_segmenter_args(
            in_channels, num_classes, image_size, dim, depth, heads, positions)
        self.patch = as_int("patch", patch, low=1)
        self.hidden = as_int("hidden", hidden, low=1)
        self.grid = _grid("image_size", image_size, self.patch)
        self.in_channels = in_channels
        with seeded(seed):
            self.embed = PatchEmbedding(in_channels, dim, patch=self.patch)
            self.transformer = Transformer(self.grid, dim, depth=depth, heads=heads,
                                            positions=positions)
            self.pixels = nn.Linear(dim, self.hidden * self.patch ** 2)
            self.smooth = nn.Conv2d(self.hidden, self.hidden, 3, padding=1)
            self.head = nn.Conv2d(self.hidden, num_classes, 1)

    def forward(self, x, return_attention=False):               # (B, C, H, W), e.g. 128²
        _check_images("x", x, channels=self.in_channels)
        size = tuple(x.shape[2:])
        grid = _grid("the input's height and width", size, self.patch)
        x = self.embed(x)                                       # (B, N, D), N = 16·16
        x = self.transformer(x, grid, return_attention)         # (B, N, D)
        x, maps = x if return_attention else (x, None)
        x = self.pixels(x)                                      # (B, N, hidden·p·p)
        x = unpatchify(x, self.patch, size)                     # (B, hidden, H, W)
        x = F.gelu(self.smooth(x))                              # (B, hidden, H, W)
        x = self.head(x)                                        # (B, classes, H, W)
        x = F.log_softmax(x, dim=1)
        return (x, maps) if return_attention else x


class HybridSegmenter(nn.Module):
    """conv stem (1, 1/2, 1/4 resolution) => patch embedding 2×2 => + positions
    => Block * depth => Up + skip 1/4 => Up + skip 1/2 => Up + skip 1 => conv 1×1.

    TransUNet/UNETR-style: convolutions keep the detail, the transformer adds global context on
    1/8-resolution tokens (256 tokens for a 128² image), and a U-Net decoder brings the
    resolution back, joining the stem's features at each scale (skip connections).

    Parameters
    ----------
    in_channels : int
    num_classes : int
    image_size : int or (H, W)
        Training image size, a multiple of 8 (sets the grid of learned positions).
    width : int
        Feature maps of the stem at full resolution, doubled at 1/2 and 1/4.
    dim : int
        Token features.
    depth : int
        Transformer blocks.
    heads : int
    positions : {"learned", "sincos"}
    seed : int, optional

    Attributes
    ----------
    grid : (rows, cols)
        The token grid of ``image_size`` (1/8 of it).

    Notes
    -----
    ``forward(x, return_attention=False)`` returns log-probabilities ``(B, num_classes, H, W)``
    (and, with ``return_attention=True``, the list of attention maps of the blocks). The stem
    and decoder are the U-Net's blocks (:class:`mlseg.models.unet.DoubleConv`, ``Down``,
    ``Up``) with batch normalisation.

    A recipe for the course's 128² brain slices, as in the notebook: ``fit(model,
    (images[:, None], labels), iterations=135, batch_size=4, lr=3e-3, seed=0,
    loss="dice_ce")`` with the default sizes (380k parameters) reaches a mean Dice of 0.935
    over CSF, grey and white matter on the split's test subjects (CSF 0.89), in about 35 s on
    two CPU cores (0.25 s an iteration; about 60 s with one thread on a busy machine); 200
    iterations give 0.943. Too little training — 70 batches of 8, a thinner stem
    (``width=8``) or one block — can stop on a plateau where CSF is labelled background (CSF
    0.51 after 70 batches of 8: CSF is as dark as the background around the head; telling
    them apart takes context).

    Taught in: notebooks/06_transformers.ipynb

    Examples
    --------
    >>> model = HybridSegmenter(1, 5, image_size=64, width=8, dim=32, depth=1, heads=2, seed=0)
    >>> model(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 5, 64, 64])
    """

    def __init__(self, in_channels=1, num_classes=5, *, image_size=128, width=16, dim=64,
                 depth=2, heads=4, positions="learned", seed=None):
        super().__init__()
        in_channels, num_classes, image_size, dim, depth, heads = _check_segmenter_args(
            in_channels, num_classes, image_size, dim, depth, heads, positions)
        width = as_int("width", width, low=1)
        self.grid = _grid("image_size", image_size, 8)
        self.in_channels = in_channels
        with seeded(seed):
            self.stem = DoubleConv(in_channels, width)               # full resolution
            self.down1 = Down(width, 2 * width)                      # 1/2
            self.down2 = Down(2 * width, 4 * width)                  # 1/4
            self.embed = PatchEmbedding(4 * width, dim, patch=2)     # 1/8 tokens
            self.transformer = Transformer(self.grid, dim, depth=depth, heads=heads,
                                            positions=positions)
            self.up1 = Up(dim, 4 * width)
            self.up2 = Up(4 * width, 2 * width)
            self.up3 = Up(2 * width, width)
            self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x, return_attention=False):               # (B, C, H, W), e.g. 128²
        _check_images("x", x, channels=self.in_channels)
        height, width = x.shape[2:]
        rows, cols = _grid("the input's height and width", (height, width), 8)
        s1 = self.stem(x)                                       # (B, w, H, W)
        s2 = self.down1(s1)                                     # (B, 2w, H/2, W/2)
        s4 = self.down2(s2)                                     # (B, 4w, H/4, W/4)
        t = self.embed(s4)                                      # (B, N, D), N = H/8 · W/8
        t = self.transformer(t, (rows, cols), return_attention)  # (B, N, D)
        t, maps = t if return_attention else (t, None)
        x = t.transpose(1, 2).reshape(len(t), -1, rows, cols)   # (B, D, H/8, W/8)
        x = self.up1(x, s4)                                     # (B, 4w, H/4, W/4)
        x = self.up2(x, s2)                                     # (B, 2w, H/2, W/2)
        x = self.up3(x, s1)                                     # (B, w, H, W)
        x = self.head(x)                                        # (B, classes, H, W)
        x = F.log_softmax(x, dim=1)
        return (x, maps) if return_attention else x
