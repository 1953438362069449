"""PatchNet: a small fully convolutional tissue classifier for brain slices.

It classifies the centre pixel of a 17×17 patch into background, CSF, GM, WM or lesion. It has
no pooling and no padding, so it is already fully convolutional with stride 1: on a whole slice
padded by 8 pixels it labels every pixel in one pass, exactly as if it had been run on the
17×17 patch around each pixel.

Taught in: notebooks/04_dense_classification.ipynb
"""

from __future__ import annotations

import numbers

import torch.nn.functional as F
from torch import nn

from . import seeded

__all__ = ["PatchNet"]


class PatchNet(nn.Module):
    """conv 5×5 1→16 → conv 5×5 16→32 → conv 5×5 32→32 → conv 5×5 32→64 → conv 1×1 64→classes.

    Parameters
    ----------
    num_classes : int
        5 for {0 background, 1 CSF, 2 GM, 3 WM, 4 lesion}.
    in_channels : int
        Image channels (1 for a T1 slice).
    seed : int, optional
        Initial weights from this seed.

    Notes
    -----
    Receptive field 17 pixels (:attr:`receptive_field`; four 5×5 convolutions), stride 1. On a
    ``(B, C, H, W)`` batch it returns log-probabilities ``(B, num_classes, H - 16, W - 16)``
    (``log_softmax`` over axis 1): a 17×17 patch gives ``(B, num_classes, 1, 1)``, trained
    with ``loss="nll"`` against targets of shape ``(B, 1, 1)`` (see
    :func:`mlseg.training.patch_sampler`). To label a whole ``(H, W)`` slice, pad it by
    :attr:`margin` = 8 pixels of background and take the argmax over axis 1.

    Taught in: notebooks/04_dense_classification.ipynb

    Examples
    --------
    >>> import torch
    >>> model = PatchNet(seed=0)
    >>> model(torch.zeros(4, 1, 17, 17)).shape
    torch.Size([4, 5, 1, 1])
    >>> model(torch.zeros(1, 1, 64 + 16, 64 + 16)).shape  # a padded 64x64 slice
    torch.Size([1, 5, 64, 64])
    """

    receptive_field = 17  #: input pixels per side behind one output pixel
    margin = 8  #: pixels to pad on each side of a slice for an output of the slice's size

    def __init__(self, *, num_classes=5, in_channels=1, seed=None):
        super().__init__()
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels)):
            low = 2 if name == "num_classes" else 1
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        with seeded(seed):
            self.conv1 = nn.Conv2d(int(in_channels), 16, kernel_size=5)
            self.conv2 = nn.Conv2d(16, 32, kernel_size=5)
            self.conv3 = nn.Conv2d(32, 32, kernel_size=5)
            self.conv4 = nn.Conv2d(32, 64, kernel_size=5)
            self.conv5 = nn.Conv2d(64, int(num_classes), kernel_size=1)

    def forward(self, x):                           # 17x17 patch  | padded slice
        x = F.relu(self.conv1(x))                   # (B, 16, 13, 13) | (B, 16, H+12, W+12)
        x = F.relu(self.conv2(x))                   # (B, 32, 9, 9)   | (B, 32, H+8, W+8)
        x = F.relu(self.conv3(x))                   # (B, 32, 5, 5)   | (B, 32, H+4, W+4)
        x = F.relu(self.conv4(x))                   # (B, 64, 1, 1)   | (B, 64, H, W)
        x = self.conv5(x)                           # (B, classes, 1, 1) | (B, classes, H, W)
        return F.log_softmax(x, dim=1)
