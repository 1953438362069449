"""Torch models of the deep-learning chapters, one short file each.

- :mod:`mlseg.models.lenet` — ``LeNet``, its fully convolutional twin ``FCLeNet``,
  ``fully_convolutional`` (fc → conv weight transfer) and ``output_geometry`` (chapter 04).
- :mod:`mlseg.models.patchnet` — ``PatchNet``, a small fully convolutional tissue classifier
  for brain patches that also runs densely on a whole slice (chapter 04).
- :mod:`mlseg.models.layers` — up- and down-sampling (chapter 05): unpooling, max unpooling
  with indices, bilinear, strided, transpose and dilated convolutions, ``ASPP``.
- :mod:`mlseg.models.unet` — ``UNet`` (same/valid padding, with or without skips, 2D/3D) and
  the two-pathway ``MultiScaleNet`` (chapter 05).
- :mod:`mlseg.models.vit` — patches, position embeddings, attention written out, transformer
  blocks, ``ViTSegmenter`` (SETR-style) and ``HybridSegmenter`` (UNETR/TransUNet-style)
  (chapter 06).
- :mod:`mlseg.models.promptable` — ``PromptableSegmenter``, a small Segment-Anything-style
  click/box-prompted segmenter, with ``click_sampler``, ``train_promptable`` and ``segment``
  (chapter 06).

Every model outputs **log-probabilities** (``log_softmax`` over the class axis, axis 1): train
with ``loss="nll"`` in :func:`mlseg.training.fit`, take ``argmax(axis=1)`` for the classes and
``exp`` for probabilities. Every model takes ``seed=`` to draw its initial weights
reproducibly without touching torch's global random state.

The names below load on first use, so ``import mlseg.models`` does not import torch yet.
"""

from __future__ import annotations

import contextlib
import importlib
import numbers

__all__ = ["LeNet", "FCLeNet", "fully_convolutional", "dense_fclenet", "DilatedFCLeNet",
           "output_geometry", "PatchNet", "UNet", "MultiScaleNet", "ASPP", "ViTSegmenter",
           "HybridSegmenter", "PromptableSegmenter", "seeded"]

_HOMES = {"LeNet": "lenet", "FCLeNet": "lenet", "fully_convolutional": "lenet",
          "output_geometry": "lenet", "FCLENET_LAYERS": "lenet", "PatchNet": "patchnet",
          "DilatedFCLeNet": "lenet", "dense_fclenet": "lenet", "UNet": "unet",
          "MultiScaleNet": "unet", "ASPP": "layers", "ViTSegmenter": "vit",
          "HybridSegmenter": "vit", "PromptableSegmenter": "promptable"}


@contextlib.contextmanager
def seeded(seed):
    """Draw torch random numbers from ``seed`` inside the block, then restore the global state.

    ``seed=None`` does nothing (torch's global generator is used as usual). Models use it
    around their layer constructors so ``LeNet(seed=0)`` has the same weights every time.

    Examples
    --------
    >>> import torch
    >>> with seeded(0):
    ...     a = torch.rand(2)
    >>> with seeded(0):
    ...     b = torch.rand(2)
    >>> torch.equal(a, b)
    True
    """
    import torch

    if seed is None:
        yield
        return
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def __getattr__(name):
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
