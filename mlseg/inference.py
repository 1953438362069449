"""Sliding-window (tiled) inference for images and volumes of any size (lecture: "Padding
effects": "If processing whole image at testing" / "If tiling the image at testing").

A large volume does not fit through a network at once, so it is cut into tiles, each tile is
labelled, and the tiles' outputs are put back together. How well that works depends on the
network's padding:

- a network with **valid** padding (U-Net as published) labels the centre of its input tile
  only, from pixels that are all real image: the U-Net paper's overlap-tile strategy, with the
  image mirrored at its border, gives exactly the whole-image result;
- a network with **same** padding sees zeros beyond every tile's edge, so its output changes
  near tile edges: tiles that merely touch show seams. Overlapping tiles, weighted by a
  Gaussian that trusts each tile's centre more than its edges, hide them.

Taught in: notebooks/05_unet.ipynb
"""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np
import torch

from ._validation import as_array, as_int, check_choice, check_finite

__all__ = ["sliding_window", "tile_plan", "tile_weights", "BLENDS"]

#: How overlapping tiles are weighted: equally, or by a Gaussian centred on each tile.
BLENDS = ("constant", "gaussian")


def tile_plan(length, out, margin, step):
    """Where the tiles go along one axis of :func:`sliding_window`.

    Tile outputs of ``out`` pixels start every ``step`` pixels (``step = out - overlap``, rounded
    down to the network's down-sampling factor) until they cover ``length`` pixels; the last one
    may reach past the image. The image is mirror-padded by the network's ``margin`` (the pixels
    a valid-padding network loses on each side) and to the end of the last tile.

    Parameters
    ----------
    length : int
        Image pixels along the axis.
    out : int
        Output pixels of one tile.
    margin : int
        Pixels the network loses on each side of a tile (0 for same padding).
    step : int
        Pixels between two tiles' outputs (1 to ``out``).

    Returns
    -------
    (starts, pad_before, pad_after)
        ``starts`` the first output pixel of each tile (list of int); the padding of the image.

    Examples
    --------
    >>> tile_plan(50, 20, 8, 20)  # 3 tiles of 20 output pixels, 8 lost on each side
    ([0, 20, 40], 8, 18)

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb
    """
    count = 1 + max(0, math.ceil((length - out) / step))
    extent = (count - 1) * step + out
    return [k * step for k in range(count)], margin, margin + extent - length


def tile_weights(shape, *, blend="gaussian"):
    """The weight of each pixel of a tile's output when overlapping tiles are averaged.

    ``"constant"``: all ones (a plain average). ``"gaussian"``: a Gaussian centred on the tile,
    standard deviation an eighth of the tile's size per axis (nnU-Net's choice), maximum 1; the
    tile's edge pixels, where a same-padding network sees the zeros of its padding, get little
    weight.

    Parameters
    ----------
    shape : sequence of int
        The tile output's spatial shape.
    blend : {"gaussian", "constant"}

    Returns
    -------
    ndarray of float32, of ``shape``

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> [round(float(w), 3) for w in tile_weights((8,))]
    [0.002, 0.05, 0.368, 1.0, 1.0, 0.368, 0.05, 0.002]
    >>> tile_weights((2, 3), blend="constant")
    array([[1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    """
    check_choice("blend", blend, BLENDS)
    shape = tuple(as_int(f"shape[{i}]", n, low=1) for i, n in enumerate(shape))
    weights = np.ones(shape, np.float64)
    if blend == "gaussian":
        for axis, n in enumerate(shape):
            x = np.arange(n) - (n - 1) / 2
            profile = np.exp(-0.5 * (x / (n / 8)) ** 2)
            weights = weights * profile.reshape([-1 if a == axis else 1
                                                 for a in range(len(shape))])
        weights /= weights.max()
    return weights.astype(np.float32)


def _per_axis(name, value, ndim, *, low):
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        value = (value,) * ndim
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be an integer or {ndim} integers (one per spatial axis), "
                        f"got {value!r}")
    if len(value) != ndim:
        raise ValueError(f"{name} must be an integer or {ndim} integers (one per spatial "
                         f"axis), got {len(value)}: {tuple(value)!r}")
    return tuple(as_int(f"{name}[{i}]", v, low=low) for i, v in enumerate(value))


def _model_spatial_dims(model):
    """Spatial axes of the model's first convolution (its weight is (out, in, *kernel))."""
    for parameter in model.parameters():
        if parameter.ndim >= 3:
            return parameter.ndim - 2
    return None


def _guess_output(model, tile):
    """The output size a tile should give: ``model.output_size(tile)`` where the model has one
    (``UNet``), else the tile itself (same padding). Only a guess: the first batch checks it."""
    size = getattr(model, "output_size", None)
    if callable(size):
        try:
            guess = size(tile)
        except (ValueError, TypeError):
            return tile
        if (isinstance(guess, tuple) and len(guess) == len(tile)
                and all(isinstance(g, int) and 0 < g <= t for g, t in zip(guess, tile))):
            return guess
    return tile


def _plan(shape, tile, out, overlap, factor):
    """The padding, the extent the tiles' outputs cover, and the tiles' corners (in the padded
    image), for tiles whose outputs have ``out`` pixels."""
    margin = tuple((t - o) // 2 for t, o in zip(tile, out))
    step = []
    for axis, (o, v) in enumerate(zip(out, overlap)):
        if v >= o:
            raise ValueError(f"overlap must be smaller than the tile's output ({o} "
                             f"pixels along axis {axis}), got overlap {overlap}")
        s = (o - v) // factor * factor
        if s < 1:
            raise ValueError(f"overlap {overlap} leaves a step of {o - v} pixels along "
                             f"axis {axis}, less than the network's down-sampling "
                             f"factor {factor}; use a smaller overlap or a larger tile")
        step.append(s)
    # the tiles' outputs start every `step`, the last one reaching past the image
    plans = [tile_plan(n, o, m, s) for n, o, m, s in zip(shape, out, margin, step)]
    counts = [len(starts) for starts, _, _ in plans]
    extent = [(c - 1) * s + o for c, s, o in zip(counts, step, out)]
    pad = [(0, 0)] + [(before, after) for _, before, after in plans]
    corners = list(itertools.product(*(range(0, c * s, s) for c, s in zip(counts, step))))
    return pad, extent, corners


def _run(model, padded, corners, tile):
    """The model on the tiles at ``corners`` of ``padded`` (C, ...): (B, K, *out)."""
    batch = torch.stack([padded[(slice(None), *(slice(a, a + t) for a, t in zip(corner, tile)))]
                         for corner in corners])                     # (B, C, *tile)
    try:
        scores = model(batch)                                        # (B, K, *out)
    except (ValueError, RuntimeError) as error:
        raise ValueError(f"tile {tile} does not suit the model (image with {padded.shape[0]} "
                         f"channel(s)): {error}") from None
    if (not isinstance(scores, torch.Tensor) or scores.ndim != len(tile) + 2
            or scores.shape[0] != len(corners)
            or any(o > t or (t - o) % 2 for o, t in zip(scores.shape[2:], tile))):
        got = (f"an output of shape {tuple(scores.shape)}" if isinstance(scores, torch.Tensor)
               else f"a {type(scores).__name__}")
        raise ValueError(
            f"sliding_window needs a dense model whose output (B, K, ...) is its input "
            f"tile, or the tile shrunk by the same margin on both sides; the tile "
            f"{tile} gave {got}")
    return scores


def sliding_window(model, image, *, tile, overlap=0, blend="constant", batch_size=4,
                   probabilities=False, device=None, progress=True):
    """Run ``model`` over ``image`` tile by tile; return its output for every pixel.

    The image is padded by mirroring (``numpy.pad(mode="reflect")``) wherever a tile reaches
    beyond it, cut into tiles whose outputs overlap by ``overlap`` pixels, the tiles are run
    ``batch_size`` at a time, and the outputs are averaged where they overlap, weighted by
    :func:`tile_weights`.

    Works for any model whose output has its input's size (same padding) or its input's size
    minus the same margin on both sides (valid padding, e.g. ``UNet(padding="valid")`` or
    ``PatchNet``): the margin is read off the first batch's output. (It is guessed first, from
    the model's ``output_size(tile)`` method where it has one, else as 0; a wrong guess costs
    one batch, run again.)

    Parameters
    ----------
    model : torch.nn.Module
        Run in eval mode (its mode is restored afterwards), without gradients.
    image : ndarray or tensor, (H, W), (C, H, W), (D, H, W) or (C, D, H, W)
        Any size, also smaller than a tile. With ``C`` channels when it has one axis more than
        the tile (one channel is added otherwise).
    tile : int or sequence of int
        The model's **input** tile, per spatial axis (an int: the same on every axis, as many
        axes as the model's first convolution has). Its size must suit the network, e.g. a
        multiple of ``2 ** (depth - 1)`` for a same-padding ``UNet``, a size from
        :meth:`mlseg.models.UNet.input_size` for a valid one.
    overlap : int or sequence of int
        Pixels by which neighbouring tiles' **outputs** overlap, smaller than the tile's
        output. The step between tiles (output minus overlap) is rounded down to a multiple of
        the model's ``downsampling`` attribute (1 when it has none), so every tile sees the same
        pooling grid; the overlap may therefore come out larger than asked for.
    blend : {"constant", "gaussian"}
        How overlapping outputs are weighted (:func:`tile_weights`).
    batch_size : int
        Tiles per forward pass.
    probabilities : bool
        ``False``: average the model's raw outputs (log-probabilities for ``mlseg`` models);
        ``True``: apply ``softmax`` over the class axis to each tile's output first and return
        probabilities (nnU-Net averages probabilities).
    device : str or torch.device, optional
        Where to run; the model is moved there. Default: where the model's parameters are
        (so the same call runs on a GPU when the model is on one). The padded image and the
        running sums of the tiles' outputs live there too; the result comes back to the CPU.
    progress : bool
        Show a progress bar (``tqdm.auto``) over the batches.

    Returns
    -------
    ndarray of float32, (K, H, W) or (K, D, H, W)
        The model's output (``K`` classes) for every pixel of ``image``: ``.argmax(axis=0)``
        gives the label map.

    Notes
    -----
    With a valid-padding network whose ``downsampling`` divides the step, the result equals
    running the network once on the whole mirror-padded image (up to float rounding), whatever
    the tile size. With a same-padding network it does not: the model sees its zero padding at
    every tile's edge, and, where a tile reaches past the image, the mirrored image instead of
    the zeros it sees at the image's border in one whole-image pass. Batch normalisation is
    fine (eval mode uses fixed statistics); instance normalisation depends on the tile.

    Raises ``ValueError`` for a tile that does not suit the network (the model's own message
    is included), an ``overlap`` not smaller than the tile's output, or a model that is not
    dense (e.g. ``FCLeNet``, whose output has a stride of 4).

    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> from mlseg.models.unet import UNet
    >>> model = UNet(1, 5, depth=2, width=4, padding="valid", seed=0).eval()
    >>> image = np.random.default_rng(0).random((50, 70), dtype=np.float32)
    >>> scores = sliding_window(model, image, tile=36, progress=False)   # 36 -> 20 pixels
    >>> scores.shape
    (5, 50, 70)

    The same as one pass over the whole image, mirrored by the margin of 8 pixels (and more
    at the far end, to a size the network takes):

    >>> whole = np.pad(image, ((8, 18), (8, 14)), mode="reflect")[None, None]  # 76 x 92
    >>> reference = model(torch.from_numpy(whole))[0, :, :50, :70].detach().numpy()
    >>> bool(np.abs(scores - reference).max() < 1e-5)
    True
    """
    from tqdm.auto import tqdm

    from .training import _as_device, _check_model, set_threads

    _check_model(model)
    check_choice("blend", blend, BLENDS)
    batch_size = as_int("batch_size", batch_size, low=1)
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    image = as_array("image", image, min_ndim=2, max_ndim=4)
    check_finite("image", image)
    image = image.astype(np.float32, copy=False)

    if isinstance(tile, (numbers.Integral, np.integer)) and not isinstance(tile, bool):
        spatial_dims = _model_spatial_dims(model)
        if spatial_dims is None:
            raise ValueError("tile must be given per spatial axis, e.g. (64, 64), for a model "
                             "without convolutions")
    elif isinstance(tile, (tuple, list)):
        spatial_dims = len(tile)
    else:
        raise TypeError(f"tile must be an integer or a sequence of integers, got {tile!r}")
    if spatial_dims not in (2, 3):
        raise ValueError(f"tile must have 2 or 3 axes, got {spatial_dims}: {tile!r}")
    tile = _per_axis("tile", tile, spatial_dims, low=1)
    overlap = _per_axis("overlap", overlap, spatial_dims, low=0)
    if image.ndim == spatial_dims:
        image = image[None]                              # (1, *spatial): one channel
    elif image.ndim != spatial_dims + 1:
        raise ValueError(f"image must have {spatial_dims} spatial axes (as tile {tile}) and "
                         f"optionally a channel axis first, got shape {image.shape}")
    shape = image.shape[1:]

    if device is None:
        parameter = next(model.parameters(), None)
        dev = parameter.device if parameter is not None else torch.device("cpu")
    else:
        dev = _as_device(device)
        model.to(dev)
    set_threads()
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            factor = getattr(model, "downsampling", 1)
            factor = factor if isinstance(factor, int) and factor >= 1 else 1
            # the tiles' output size: guessed, then checked on the first batch (a tile run on
            # its own, as a probe, can cost as much as a batch of four on a CPU)
            out = _guess_output(model, tile)
            try:
                pad, extent, corners = _plan(shape, tile, out, overlap, factor)
            except ValueError:                   # but is the guess right? measure, then say
                out = tuple(_run(model, torch.zeros((image.shape[0], *tile), device=dev),
                                 [(0,) * len(tile)], tile).shape[2:])
                pad, extent, corners = _plan(shape, tile, out, overlap, factor)
            padded = torch.from_numpy(np.pad(image, pad, mode="reflect")).to(dev)
            scores = _run(model, padded, corners[:batch_size], tile)
            if tuple(scores.shape[2:]) != out:   # a valid network without output_size()
                out = tuple(scores.shape[2:])
                pad, extent, corners = _plan(shape, tile, out, overlap, factor)
                padded = torch.from_numpy(np.pad(image, pad, mode="reflect")).to(dev)
                scores = _run(model, padded, corners[:batch_size], tile)
            # padded: (C, *extent + 2 margin), on the model's device, as are the sums below
            weights = torch.from_numpy(tile_weights(out, blend=blend)).to(dev)   # (*out)
            total = torch.zeros((scores.shape[1], *extent), dtype=torch.float32, device=dev)
            norm = torch.zeros(extent, dtype=torch.float32, device=dev)
            for first in tqdm(range(0, len(corners), batch_size), desc="tiles",
                              disable=not progress):
                batch = corners[first:first + batch_size]
                if first:
                    scores = _run(model, padded, batch, tile)        # (B, K, *out)
                if probabilities:
                    scores = scores.softmax(dim=1)
                scores = scores.float() * weights                    # (B, K, *out)
                for corner, score in zip(batch, scores):
                    where = tuple(slice(a, a + o) for a, o in zip(corner, out))
                    total[(slice(None), *where)] += score
                    norm[where] += weights
            inside = tuple(slice(0, n) for n in shape)
            result = total[(slice(None), *inside)] / norm[inside]   # (K, *shape)
    finally:
        model.train(was_training)
    return result.cpu().numpy()
