"""One training loop for every deep-learning chapter: a fixed number of iterations, a decaying
learning rate, a seed that makes CPU runs bit-identical, and a history to plot.

The loop in :func:`fit` is written out in one screen: pick the iteration's learning rate, draw a
batch, compute the loss, step. Nothing stops early ("until the score is reached"): a fixed,
short schedule is what a notebook can afford and what makes runs comparable.

CPU choices: float32 in channels-last memory format (faster convolutions on CPUs), no bf16
autocast and no ``torch.compile`` (on laptops both cost more than they save). The number of CPU
threads is the ``MLSEG_THREADS`` environment variable, or all cores. The same code runs on CUDA
(e.g. Colab): :func:`device` picks the GPU when there is one.

Taught in: notebooks/04_dense_classification.ipynb (and every chapter after it)
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ._validation import as_array, as_int, as_label_map, as_real, check_finite, check_same_shape

__all__ = ["fit", "predict", "device", "set_threads", "learning_rates", "patch_sampler",
           "crop_sampler", "soft_dice_loss", "History", "SCHEDULES", "LOSSES"]

#: Learning-rate schedules of :func:`learning_rates` / :func:`fit`.
SCHEDULES = ("onecycle", "cosine", "constant")


def soft_dice_loss(output, targets, *, smooth=1e-6):
    """Cross-entropy plus one minus the mean soft Dice of the foreground classes.

    ``output`` (B, K, *spatial) are logits or log-probabilities (softmax and log-softmax give
    the same for both); ``targets`` (B, *spatial) class indices, class 0 the background. The soft
    Dice of class k is ``2 Σ p_k t_k / (Σ p_k + Σ t_k)`` over the whole batch (a class absent
    from the batch still counts: its Dice is 0 unless it is predicted nowhere), so small classes
    such as a lesion weigh as much as the large ones; the cross-entropy keeps the gradients
    useful while the Dice is still near 0.

    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> logits = torch.zeros(1, 3, 2, 2)
    >>> logits[0, 1, 0], logits[0, 2, 1] = 20.0, 20.0  # confident and right
    >>> targets = torch.tensor([[[1, 1], [2, 2]]])
    >>> round(float(soft_dice_loss(logits, targets)), 4)
    0.0
    """
    if not isinstance(output, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("soft_dice_loss takes torch tensors: output (B, K, ...) and targets "
                        f"(B, ...), got {type(output).__name__} and {type(targets).__name__}")
    if output.ndim < 3 or targets.shape != output.shape[:1] + output.shape[2:]:
        raise ValueError(f"output must be (B, K, *spatial) and targets (B, *spatial); got "
                         f"output {tuple(output.shape)} and targets {tuple(targets.shape)}")
    if output.shape[1] < 2:
        raise ValueError(f"output needs at least 2 classes (background + one), got "
                         f"{output.shape[1]}")
    probs = output.softmax(dim=1)
    onehot = F.one_hot(targets, output.shape[1]).movedim(-1, 1).to(probs.dtype)
    dims = (0, *range(2, output.ndim))
    overlap = (probs * onehot).sum(dim=dims)
    total = (probs + onehot).sum(dim=dims)
    dice = (2 * overlap + smooth) / (total + smooth)
    return F.cross_entropy(output, targets) + 1 - dice[1:].mean()


#: Named losses: ``"nll"`` for models that output log-probabilities (every ``mlseg`` model),
#: ``"cross_entropy"`` for models that output raw scores (logits), ``"dice_ce"``
#: (:func:`soft_dice_loss`) for either, when small classes matter.
LOSSES = {"nll": F.nll_loss, "cross_entropy": F.cross_entropy, "dice_ce": soft_dice_loss}


@dataclass
class History:
    """What :func:`fit` records; plain lists, ready for ``plt.plot``.

    Attributes
    ----------
    loss : list of float
        Training loss of each iteration's batch.
    lr : list of float
        Learning rate used at each iteration.
    seconds : list of float
        Wall-clock seconds of each iteration (batch, forward, backward, step).
    metric_iterations : list of int
        Iterations (counted from 1) after which ``callback`` was evaluated.
    metric : list of float
        ``callback(model)`` at those iterations.
    """

    loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    metric_iterations: list = field(default_factory=list)
    metric: list = field(default_factory=list)

    @property
    def total_seconds(self):
        """Seconds spent in all iterations together (callbacks excluded)."""
        return float(sum(self.seconds))


# --- small validators ----------------------------------------------------------------------

def _check_model(model):
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _as_inputs(name, value):
    """A float32 tensor (on the CPU unless it already lives elsewhere)."""
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must be a real-valued tensor, got dtype {value.dtype}")
        tensor = value.detach().to(torch.float32)
    else:
        array = as_array(name, value, min_ndim=1, max_ndim=8)
        tensor = torch.from_numpy(np.array(array, dtype=np.float32))
    if tensor.ndim == 0 or tensor.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} must not contain NaN or infinity")
    return tensor


def _as_targets(name, value):
    """Integer (or bool) targets → int64 class indices; float targets stay float32."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if value.dtype.is_floating_point:
            return value.to(torch.float32)
        return value.to(torch.int64)
    array = as_array(name, value, min_ndim=1, max_ndim=8)
    if np.issubdtype(array.dtype, np.floating):
        check_finite(name, array)
        return torch.from_numpy(np.array(array, dtype=np.float32))
    return torch.from_numpy(np.array(array, dtype=np.int64))


def _as_device(value):
    if value is None:
        return device()
    try:
        chosen = torch.device(value)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be None, 'cpu', 'cuda' or a torch.device, "
                         f"got {value!r}") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {value!r} was asked for, but CUDA is not available here")
    return chosen


def _channels_last(ndim):
    """The channels-last memory format for a 4D (2D images) or 5D (volumes) tensor, else None."""
    return {4: torch.channels_last, 5: torch.channels_last_3d}.get(ndim)


def _to_device(x, dev):
    x = x.to(dev, non_blocking=True)
    if dev.type == "cpu" and _channels_last(x.ndim) is not None:
        x = x.contiguous(memory_format=_channels_last(x.ndim))
    return x


# --- the public helpers -----------------------------------------------------------------------

def device():
    """``torch.device("cuda")`` when a GPU is available, else ``torch.device("cpu")``.

    Examples
    --------
    >>> device().type in ("cpu", "cuda")
    True
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_threads(n=None):
    """Set torch's number of CPU threads: ``n``, else ``MLSEG_THREADS``, else all cores.

    :func:`fit` and :func:`predict` call it, so ``MLSEG_THREADS=1`` in the environment makes
    every chapter use one thread (e.g. while other jobs share the machine).

    Parameters
    ----------
    n : int, optional

    Returns
    -------
    int
        The number of threads now in use.

    Examples
    --------
    >>> set_threads(1)
    1
    """
    if n is None:
        env = os.environ.get("MLSEG_THREADS", "").strip()
        if env:
            try:
                n = int(env)
            except ValueError:
                raise ValueError(f"the environment variable MLSEG_THREADS must be a positive "
                                 f"integer, got {env!r}") from None
            if n < 1:
                raise ValueError(f"the environment variable MLSEG_THREADS must be a positive "
                                 f"integer, got {env!r}")
        else:
            try:
                n = len(os.sched_getaffinity(0))
            except AttributeError:  # not on Linux
                n = os.cpu_count() or 1
    n = as_int("n", n, low=1)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def learning_rates(iterations, *, lr, schedule="onecycle"):
    """The learning rate of every iteration, as :func:`fit` uses it.

    - ``"onecycle"``: warm up from ``lr / 25`` to ``lr`` over the first 30 % of the iterations,
      then anneal to ``lr / 25 / 1e4`` (both halves cosine-shaped; as PyTorch's ``OneCycleLR``).
    - ``"cosine"``: from ``lr`` down to 0 along half a cosine.
    - ``"constant"``: ``lr`` throughout (the lecture's foil: the loss stops improving early).

    Parameters
    ----------
    iterations : int
    lr : float
        The peak (onecycle) or initial (cosine, constant) learning rate.
    schedule : {"onecycle", "cosine", "constant"}

    Returns
    -------
    (iterations,) ndarray of float64

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> learning_rates(5, lr=1.0, schedule="cosine").round(3).tolist()
    [1.0, 0.905, 0.655, 0.345, 0.095]
    >>> rates = learning_rates(101, lr=0.01)
    >>> int(rates.argmax()), float(rates.max())
    (30, 0.01)
    """
    iterations = as_int("iterations", iterations, low=1)
    lr = as_real("lr", lr, low=0, low_inclusive=False)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
    t = np.arange(iterations, dtype=np.float64)
    if schedule == "constant":
        return np.full(iterations, lr)
    if schedule == "cosine":
        return lr * 0.5 * (1 + np.cos(np.pi * t / iterations))

    def anneal(start, end, fraction):
        return end + (start - end) * 0.5 * (1 + np.cos(np.pi * fraction))

    if iterations == 1:
        return np.array([lr])
    peak = 0.3 * (iterations - 1)
    start, end = lr / 25, lr / 25 / 1e4
    up = anneal(start, lr, t / peak) if peak > 0 else np.full(iterations, lr)
    down = anneal(lr, end, (t - peak) / (iterations - 1 - peak))
    return np.where(t <= peak, up, down)


def _batches(data, batch_size):
    """Validate ``data``; return ``draw(rng) -> (inputs, targets)`` on the CPU."""
    if callable(data):
        def draw(rng):
            batch = data(rng, batch_size)
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                raise TypeError(f"data(rng, batch_size) must return a pair (inputs, targets), "
                                f"got {type(batch).__name__}")
            inputs = _as_inputs("inputs from data(rng, batch_size)", batch[0])
            targets = _as_targets("targets from data(rng, batch_size)", batch[1])
            if len(inputs) != len(targets):
                raise ValueError(f"data(rng, batch_size) returned {len(inputs)} inputs but "
                                 f"{len(targets)} targets")
            return inputs, targets
        return draw
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError("data must be a pair (inputs, targets) of arrays or tensors, or a "
                        f"callable data(rng, batch_size), got {type(data).__name__}")
    inputs, targets = _as_inputs("inputs", data[0]), _as_targets("targets", data[1])
    if len(inputs) != len(targets):
        raise ValueError(f"inputs and targets must have the same length, got {len(inputs)} "
                         f"inputs and {len(targets)} targets")
    n = len(inputs)
    if batch_size > n:
        raise ValueError(f"batch_size must be at most the number of samples ({n}), "
                         f"got {batch_size}")
    order, position = np.empty(0, np.int64), 0

    def draw(rng):
        # one shuffled pass (epoch) after another; the last incomplete batch of a pass is dropped
        nonlocal order, position
        if position + batch_size > len(order):
            order, position = rng.permutation(n), 0
        index = torch.from_numpy(order[position:position + batch_size])
        position += batch_size
        return inputs[index], targets[index]

    return draw


def fit(model, data, *, iterations, batch_size, lr, seed, schedule="onecycle", loss="nll",
        weight_decay=0.0, device=None, progress=True, callback=None, every=None):
    """Train ``model`` for a fixed number of iterations with AdamW; returns a :class:`History`.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place; moved to ``device`` (channels-last on the CPU), left in eval mode.
    data : (inputs, targets) pair, or callable
        Either arrays/tensors ``inputs (N, C, H, W)`` and ``targets`` of the same length —
        ``(N,)`` class indices for classification, ``(N, H', W')`` label maps for dense
        segmentation — sampled in seeded, shuffled batches (one pass after another); or a
        function ``data(rng, batch_size) -> (inputs, targets)`` that makes each batch on the
        fly (e.g. :func:`patch_sampler`), ``rng`` being a seeded ``numpy.random.Generator``.
        Integer targets become int64, float inputs float32.
    iterations : int
        Number of optimiser steps (batches).
    batch_size : int
        Samples per batch; at most ``N``.
    lr : float
        Peak learning rate of the schedule (see :func:`learning_rates`).
    seed : int
        Seeds the batches (numpy) and any torch randomness in the model (e.g. dropout). The
        initial weights are the model's own: build it with ``seed=`` too. Same seed, same model
        → the same weights bit for bit on the CPU (with the same number of threads).
    schedule : {"onecycle", "cosine", "constant"}
    loss : {"nll", "cross_entropy", "dice_ce"} or callable
        ``"nll"`` for models that output log-probabilities (every ``mlseg`` model);
        ``"cross_entropy"`` for models that output logits; ``"dice_ce"`` (either output) adds
        a soft Dice term for small classes (:func:`soft_dice_loss`); or
        ``loss(output, targets)`` giving a scalar tensor.
    weight_decay : float
        AdamW's decoupled weight decay.
    device : str or torch.device, optional
        Default :func:`device` (CUDA when available).
    progress : bool
        Show a progress bar with the running loss.
    callback : callable, optional
        ``callback(model) -> float``, e.g. validation accuracy (use :func:`predict` inside), run
        every ``every`` iterations and after the last, with the model in eval mode.
    every : int, optional
        Default: a tenth of the iterations.

    Returns
    -------
    History
        Per-iteration ``loss``, ``lr``, ``seconds``; ``metric`` at ``metric_iterations``.

    Notes
    -----
    Raises ``FloatingPointError`` as soon as the loss becomes NaN or infinite (usually a
    learning rate that is too high). Torch's global random state is left as it was.

    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> from mlseg.models import LeNet
    >>> x = np.random.default_rng(0).random((64, 1, 32, 32), dtype=np.float32)
    >>> y = np.arange(64) % 10
    >>> model = LeNet(seed=0)
    >>> history = fit(model, (x, y), iterations=3, batch_size=16, lr=1e-3, seed=0,
    ...               progress=False)
    >>> len(history.loss), len(history.lr)
    (3, 3)
    """
    from tqdm.auto import tqdm

    _check_model(model)
    iterations = as_int("iterations", iterations, low=1)
    batch_size = as_int("batch_size", batch_size, low=1)
    lr = as_real("lr", lr, low=0, low_inclusive=False)
    seed = as_int("seed", seed, low=0)
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
    if callable(loss):
        loss_fn = loss
    elif isinstance(loss, str) and loss in LOSSES:
        loss_fn = LOSSES[loss]
    else:
        raise ValueError(f"loss must be one of {list(LOSSES)} or a callable, got {loss!r}")
    weight_decay = as_real("weight_decay", weight_decay, low=0)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if callback is None and every is not None:
        raise ValueError("every is only used with a callback; pass callback=... too")
    every = as_int("every", every, low=1) if every is not None else max(1, iterations // 10)
    dev = _as_device(device)
    draw = _batches(data, batch_size)
    rates = learning_rates(iterations, lr=lr, schedule=schedule)
    set_threads()

    model.to(dev)
    if dev.type == "cpu":
        ndims = {p.ndim for p in model.parameters() if p.ndim in (4, 5)}
        if len(ndims) == 1:  # 2D or 3D convolutions (not both): their channels-last layout
            model.to(memory_format=_channels_last(ndims.pop()))
    optimizer = torch.optim.AdamW(model.parameters(), lr=rates[0], weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    history = History()
    cuda = [dev.index if dev.index is not None else torch.cuda.current_device()] \
        if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        model.train()
        bar = tqdm(range(iterations), desc="training", disable=not progress)
        for i in bar:
            start = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = float(rates[i])
            inputs, targets = draw(rng)
            inputs, targets = _to_device(inputs, dev), targets.to(dev, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            value = loss_fn(model(inputs), targets)
            value.backward()
            optimizer.step()
            value = value.item()
            history.seconds.append(time.perf_counter() - start)
            if not math.isfinite(value):
                raise FloatingPointError(f"the loss became {value} at iteration {i + 1}; "
                                         f"try a smaller lr (got lr={lr})")
            history.loss.append(value)
            history.lr.append(float(rates[i]))
            if callback is not None and ((i + 1) % every == 0 or i + 1 == iterations):
                model.eval()
                history.metric.append(float(callback(model)))
                history.metric_iterations.append(i + 1)
                model.train()
            if progress and (i % 10 == 0 or i + 1 == iterations):
                bar.set_postfix(loss=f"{value:.3f}", refresh=False)
    model.eval()
    return history


def predict(model, inputs, *, batch_size=256, device=None):
    """The model's outputs for ``inputs``, in batches, without gradients, as a numpy array.

    Parameters
    ----------
    model : torch.nn.Module
        Run in eval mode (its previous mode is restored afterwards).
    inputs : ndarray or tensor, (N, ...)
        Converted to float32.
    batch_size : int
    device : str or torch.device, optional
        Where to run; the model is moved there. Default: where the model's parameters are.

    Returns
    -------
    ndarray of float32
        ``(N, ...)``: for ``mlseg`` models log-probabilities, so ``.argmax(axis=1)`` gives the
        classes.

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> from mlseg.models import FCLeNet
    >>> predict(FCLeNet(seed=0), np.zeros((2, 1, 64, 64))).shape
    (2, 10, 9, 9)
    """
    _check_model(model)
    batch_size = as_int("batch_size", batch_size, low=1)
    inputs = _as_inputs("inputs", inputs)
    if device is None:
        parameter = next(model.parameters(), None)
        dev = parameter.device if parameter is not None else torch.device("cpu")
    else:
        dev = _as_device(device)
        model.to(dev)
    set_threads()
    was_training = model.training
    model.eval()
    outputs = []
    try:
        with torch.inference_mode():
            for start in range(0, len(inputs), batch_size):
                batch = _to_device(inputs[start:start + batch_size], dev)
                outputs.append(model(batch).float().cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(outputs)


def patch_sampler(images, labels, *, size=17, field=17, balance=True):
    """A ``data(rng, batch_size)`` function for :func:`fit` that cuts random patches.

    Each patch is centred on a random pixel of a random image (images are padded with zeros,
    so border pixels can be centres too). Its target is the label map under the network's
    output: the centre ``(size - field + 1)²`` pixels, i.e. ``(1, 1)`` when the patch is exactly
    the network's receptive field ``field`` (one class per patch), larger for bigger patches
    (dense training, many labelled pixels per patch).

    Parameters
    ----------
    images : (N, H, W) ndarray of float, or a sequence of (H, W) ndarrays
        E.g. brain slices (background 0).
    labels : same shape(s) of int
        Their label maps.
    size : int
        Patch side, odd.
    field : int
        Receptive field of the model, odd, at most ``size`` (17 for
        :class:`mlseg.models.PatchNet`).
    balance : bool or float in [0, 1]
        How centre pixels are drawn: class ``c`` with probability proportional to
        ``count_c ** (1 - balance)``, then a pixel of that class uniformly. ``True`` (1): every
        class present equally often (a rare lesion as often as background; the network then
        over-predicts it); ``False`` (0): uniformly over all pixels (a rare class is hardly
        ever seen); in between, e.g. 0.5, a compromise.

    Returns
    -------
    callable
        ``data(rng, batch_size) -> (inputs (B, 1, size, size) float32,
        targets (B, size - field + 1, size - field + 1) int64)``.

    Notes
    -----
    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> image = np.zeros((32, 32), np.float32); labels = np.zeros((32, 32), int)
    >>> labels[8:24, 8:24] = 1
    >>> data = patch_sampler([image], [labels])
    >>> x, y = data(np.random.default_rng(0), 8)
    >>> x.shape, y.shape, sorted(set(y.ravel().tolist()))
    ((8, 1, 17, 17), (8, 1, 1), [0, 1])
    """
    from numpy.lib.stride_tricks import sliding_window_view

    size = as_int("size", size, low=1)
    field = as_int("field", field, low=1)
    balance = float(balance) if isinstance(balance, bool) else \
        as_real("balance", balance, low=0)
    if balance > 1:
        raise ValueError(f"balance must be between 0 and 1 (or True/False), got {balance}")
    if size % 2 == 0 or field % 2 == 0 or field > size:
        raise ValueError(f"size and field must be odd with field <= size, got size={size}, "
                         f"field={field}")
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = list(images)
    if isinstance(labels, np.ndarray) and labels.ndim == 3:
        labels = list(labels)
    if not isinstance(images, (list, tuple)) or not isinstance(labels, (list, tuple)):
        raise TypeError("images and labels must be (N, H, W) arrays or sequences of (H, W) "
                        "arrays")
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"images and labels must be non-empty and of the same length, got "
                         f"{len(images)} images and {len(labels)} label maps")
    half, out = size // 2, size - field + 1
    padded_images, padded_labels, pixels = [], [], []
    for k, (image, label) in enumerate(zip(images, labels)):
        image = as_array(f"images[{k}]", image, min_ndim=2, max_ndim=2)
        check_finite(f"images[{k}]", image)
        label = as_label_map(f"labels[{k}]", label)
        check_same_shape(image, label, (f"images[{k}]", f"labels[{k}]"))
        padded_images.append(np.pad(image.astype(np.float32), half))
        padded_labels.append(np.pad(label.astype(np.int64), half))
        rows, cols = np.indices(label.shape)
        pixels.append(np.stack([np.full(label.size, k), rows.ravel(), cols.ravel(),
                                label.ravel()], axis=1))
    pixels = np.concatenate(pixels)  # (total, 4): image, row, col, class (unpadded coordinates)
    classes = np.unique(pixels[:, 3])
    pools = [pixels[pixels[:, 3] == c, :3] for c in classes]
    weights = np.array([len(pool) for pool in pools], np.float64) ** (1 - balance)
    weights /= weights.sum()
    image_windows = [sliding_window_view(p, (size, size)) for p in padded_images]
    label_windows = [sliding_window_view(p, (size, size)) for p in padded_labels]
    lo = half - out // 2

    def data(rng, batch_size):
        which = rng.choice(len(pools), size=batch_size, p=weights)
        inputs = np.empty((batch_size, 1, size, size), np.float32)
        targets = np.empty((batch_size, out, out), np.int64)
        for b, p in enumerate(which):
            k, r, c = pools[p][rng.integers(len(pools[p]))]
            inputs[b, 0] = image_windows[k][r, c]
            targets[b] = label_windows[k][r, c][lo:lo + out, lo:lo + out]
        return inputs, targets

    return data


def crop_sampler(images, labels, *, size=64, flip=True):
    """A ``data(rng, batch_size)`` function for :func:`fit` that cuts random crops for dense
    training of fully convolutional networks (U-Net, ViT): many labelled pixels per sample.

    Parameters
    ----------
    images : (N, H, W) ndarray of float
        E.g. the training slices of :func:`mlseg.phantoms.brain_split`.
    labels : (N, H, W) ndarray of int
        Their label maps.
    size : int
        Crop side, at most ``min(H, W)`` (``H`` or ``W`` itself: whole images, shuffled).
    flip : bool
        Mirror half of the crops left-right (a brain is roughly symmetric: twice the data).

    Returns
    -------
    callable
        ``data(rng, batch_size) -> (inputs (B, 1, size, size) float32,
        targets (B, size, size) int64)``, each crop from a random image at a random place.

    Notes
    -----
    Taught in: notebooks/05_unet.ipynb

    Examples
    --------
    >>> images = np.zeros((4, 32, 32), np.float32); labels = np.ones((4, 32, 32), int)
    >>> x, y = crop_sampler(images, labels, size=16)(np.random.default_rng(0), 8)
    >>> x.shape, x.dtype, y.shape, y.dtype
    ((8, 1, 16, 16), dtype('float32'), (8, 16, 16), dtype('int64'))
    """
    images = as_array("images", images, min_ndim=3, max_ndim=3)
    check_finite("images", images)
    labels = as_label_map("labels", labels)
    check_same_shape(images, labels, ("images", "labels"))
    if len(images) == 0:
        raise ValueError("images is empty: there is nothing to crop")
    size = as_int("size", size, low=1)
    if size > min(images.shape[1:]):
        raise ValueError(f"size must be at most the image size {images.shape[1:]}, got {size}")
    if not isinstance(flip, bool):
        raise TypeError(f"flip must be True or False, got {flip!r}")
    images = np.ascontiguousarray(images, np.float32)
    labels = np.ascontiguousarray(labels, np.int64)
    height, width = images.shape[1:]

    def data(rng, batch_size):
        k = rng.integers(0, len(images), batch_size)
        rows = rng.integers(0, height - size + 1, batch_size)
        cols = rng.integers(0, width - size + 1, batch_size)
        inputs = np.empty((batch_size, 1, size, size), np.float32)
        targets = np.empty((batch_size, size, size), np.int64)
        mirror = rng.random(batch_size) < 0.5 if flip else np.zeros(batch_size, bool)
        for b in range(batch_size):
            window = np.s_[rows[b]:rows[b] + size, cols[b]:cols[b] + size]
            x, y = images[k[b]][window], labels[k[b]][window]
            if mirror[b]:
                x, y = x[:, ::-1], y[:, ::-1]
            inputs[b, 0], targets[b] = x, y
        return inputs, targets

    return data
