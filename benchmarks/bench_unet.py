"""U-Net training time to the chapter-05 Dice goal, next to MONAI's U-Net trained the same way.

Run:  python benchmarks/bench_unet.py [--quick]
Threads: ``MLSEG_THREADS`` (default: all cores), as everywhere in mlseg.

Both networks are trained on the course's shared split (``phantoms.brain_split``: 256 training
slices, 32 held-out test subjects) with the recipe of notebooks/05_unet.ipynb — random
``CROP``² crops, half mirrored (``training.crop_sampler``), batch ``BATCH``, ``ITERATIONS``
AdamW steps with a one-cycle learning rate peaking at ``LR``, cross-entropy + soft Dice
(``loss="dice_ce"``) — by the same loop (``training.fit``), and scored on the held-out
subjects with ``metrics.evaluate_subjects``. Goal (issue 11): mean Dice (CSF, GM, WM) ≥ 0.95 and
lesion Dice ≥ 0.88 with ≤ 45 s of training on 2 cores.

Peers, side by side in this run:

- mlseg ``UNet(depth=3, width=16)`` with the plain cross-entropy (``loss="nll"``): what the
  soft Dice term adds, at the same cost;
- mlseg ``UNet(depth=4, width=16)`` for twice the iterations: the strongest recipe found
  within the 45 s (more context, longer schedule);
- MONAI's ``UNet`` with the same channels (16, 32, 64) and strides (2, 2) and two residual
  units per level (its default design), same recipe: the time per iteration and the Dice.

It also checks ``training.soft_dice_loss`` against MONAI's ``DiceCELoss`` (softmax, one-hot
targets, background excluded, Dice over the whole batch) on random logits: the same value
to 1e-4 (the smoothing constants differ slightly).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mlseg import metrics, phantoms, training
from mlseg.models import UNet

CROP, BATCH, ITERATIONS, LR = 64, 8, 300, 1e-2
TISSUES = {1: "CSF", 2: "GM", 3: "WM", 4: "lesion"}
GOAL_MEAN, GOAL_LESION, GOAL_SECONDS = 0.95, 0.88, 45.0


def monai_unet():
    from monai.networks.nets import UNet as MonaiUNet

    torch.manual_seed(0)
    return MonaiUNet(spatial_dims=2, in_channels=1, out_channels=5, channels=(16, 32, 64),
                     strides=(2, 2), num_res_units=2)


def check_loss():
    from monai.losses import DiceCELoss

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 5, 32, 32, generator=g)
    targets = torch.randint(0, 5, (4, 32, 32), generator=g)
    theirs = DiceCELoss(softmax=True, to_onehot_y=True, include_background=False, batch=True)(
        logits, targets[:, None])
    ours = training.soft_dice_loss(logits, targets)
    print(f"soft_dice_loss {ours.item():.6f} vs MONAI DiceCELoss {theirs.item():.6f}: "
          f"difference {abs(ours.item() - theirs.item()):.1e}")
    assert abs(ours.item() - theirs.item()) < 1e-4


def train_and_score(name, model, split, *, loss, iterations):
    iterations = max(1, iterations)
    crops = training.crop_sampler(split.train_images, split.train_labels, size=CROP)
    history = training.fit(model, crops, iterations=iterations, batch_size=BATCH, lr=LR, seed=0,
                           loss=loss, progress=False)
    predicted = training.predict(model, split.test_images[:, None], batch_size=8).argmax(1)
    dice = metrics.evaluate_subjects(split.test_labels, predicted, labels=list(TISSUES),
                                     spacing=split.spacing)["dice"]
    return {"network": name, "loss": loss, **{TISSUES[k]: dice[k] for k in TISSUES},
            "mean (CSF, GM, WM)": dice[[1, 2, 3]].mean(), "training (s)": history.total_seconds,
            "ms per iteration": 1000 * history.total_seconds / iterations}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tenth of the iterations: checks that it runs, not the goal")
    args = parser.parse_args()
    threads = training.set_threads()
    iterations = ITERATIONS // 10 if args.quick else ITERATIONS
    print(f"{threads} threads; recipe: {iterations} iterations, batch {BATCH} of {CROP}² crops, "
          f"one-cycle lr {LR}")
    check_loss()
    start = time.perf_counter()
    split = phantoms.brain_split(progress=False)
    print(f"shared split: {len(split.train_images)} training, {len(split.test_images)} test "
          f"subjects ({time.perf_counter() - start:.1f} s, cached after the first time)")

    runs = [("mlseg UNet depth 3", lambda: UNet(1, 5, depth=3, width=16, seed=0), "dice_ce", 1),
            ("mlseg UNet depth 3", lambda: UNet(1, 5, depth=3, width=16, seed=0), "nll", 1),
            ("mlseg UNet depth 4", lambda: UNet(1, 5, depth=4, width=16, seed=0), "dice_ce", 2),
            ("MONAI UNet", monai_unet, "dice_ce", 1)]
    rows = [train_and_score(name if times == 1 else f"{name}, {times}x iterations", make(),
                            split, loss=loss, iterations=iterations * times)
            for name, make, loss, times in runs]

    import pandas as pd

    table = pd.DataFrame(rows).set_index(["network", "loss"])
    with pd.option_context("display.precision", 3, "display.width", 200,
                           "display.max_columns", None):
        print(table)
    ours, theirs = rows[0], rows[3]
    print(f"time per iteration, mlseg / MONAI: "
          f"{ours['ms per iteration'] / theirs['ms per iteration']:.2f}; Dice gained by the "
          f"soft Dice term at the same cost: tissues "
          f"{ours['mean (CSF, GM, WM)'] - rows[1]['mean (CSF, GM, WM)']:+.3f}, lesion "
          f"{ours['lesion'] - rows[1]['lesion']:+.3f}")
    for row in (rows[0], rows[2]):
        met = (row["mean (CSF, GM, WM)"] >= GOAL_MEAN and row["lesion"] >= GOAL_LESION
               and row["training (s)"] <= GOAL_SECONDS)
        print(f"goal (mean ≥ {GOAL_MEAN}, lesion ≥ {GOAL_LESION}, ≤ {GOAL_SECONDS:.0f} s), "
              f"{row['network']}: {'met' if met else 'NOT met'} — mean "
              f"{row['mean (CSF, GM, WM)']:.3f}, lesion {row['lesion']:.3f}, "
              f"{row['training (s)']:.1f} s" + (" (--quick: not expected)" if args.quick else ""))
    assert np.isfinite(table["training (s)"]).all()


if __name__ == "__main__":
    main()
