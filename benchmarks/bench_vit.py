"""Vision transformer vs hybrid vs U-Net: mean Dice at equal training time (chapter 06).

Run:  python benchmarks/bench_vit.py [--seconds 40] [--quick]
Threads: ``MLSEG_THREADS`` (default: all cores), as everywhere in mlseg.

All three train on the course's shared split (``phantoms.brain_split``: 256 training slices) and
are scored with ``metrics.evaluate`` on its 32 held-out test subjects, as in notebooks 05 and 06:

1. ``ViTSegmenter`` (patch 8, SETR-style), on whole 128×128 slices, batches of 4;
2. ``HybridSegmenter`` (convolutional stem + transformer at 1/8 + U-Net decoder), the same;
3. chapter 05's ``UNet`` (depth 3, width 16), on random 64×64 crops, batches of 8.

Every model gets the same training time. Each one's seconds per iteration are measured first
(a few iterations after a warm-up, on this machine, now); its iteration count is the budget
divided by that, and training is then a fixed number of iterations with the one-cycle schedule
of ``training.fit`` and the soft-Dice + cross-entropy loss (``loss="dice_ce"``). The seconds
actually spent are printed next to each Dice, and the ratios to the U-Net. Goals (issue 12):
the ViT reaches 0.85 mean Dice (CSF, GM, WM) in at most 90 s; the hybrid comes closer to the
U-Net than the ViT does.

``--quick`` gives each model 10 s and scores on 8 of the test subjects: a smoke test of the
script, not a measurement.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mlseg import metrics, phantoms, training
from mlseg.models import HybridSegmenter, UNet, ViTSegmenter

TISSUES = {1: "CSF", 2: "GM", 3: "WM", 4: "lesion"}
CROP = 64


def crop_sampler(images, labels):
    """Chapter 05's batches: random 64×64 crops of training slices, half flipped left-right."""
    def crops(rng, batch_size):
        i = rng.integers(0, len(images), batch_size)
        r, c = rng.integers(0, images.shape[-1] - CROP + 1, size=(2, batch_size))
        x = np.stack([images[k, :, a:a + CROP, b:b + CROP] for k, a, b in zip(i, r, c)])
        y = np.stack([labels[k, a:a + CROP, b:b + CROP] for k, a, b in zip(i, r, c)])
        flip = rng.random(batch_size) < 0.5
        x[flip], y[flip] = x[flip][..., ::-1], y[flip][..., ::-1]
        return np.ascontiguousarray(x), np.ascontiguousarray(y)

    return crops


def recipes(split):
    """name -> (build the model, its training data, batch size, peak learning rate)."""
    images = split.train_images[:, None].astype(np.float32)
    labels = split.train_labels.astype(np.int64)
    return {
        "ViT": (lambda: ViTSegmenter(1, 5, seed=0), (images, labels), 4, 3e-3),
        "hybrid": (lambda: HybridSegmenter(1, 5, seed=0), (images, labels), 4, 3e-3),
        "U-Net": (lambda: UNet(1, 5, depth=3, width=16, seed=0), crop_sampler(images, labels),
                  8, 1e-2),
    }


def seconds_per_iteration(build, data, batch_size, lr, probe):
    """Seconds per training iteration of a fresh model: 2 warm-up iterations, then ``probe``."""
    training.fit(build(), data, iterations=2, batch_size=batch_size, lr=lr, seed=0,
                 loss="dice_ce", progress=False)
    history = training.fit(build(), data, iterations=probe, batch_size=batch_size, lr=lr,
                           seed=0, loss="dice_ce", progress=False)
    return history.total_seconds / probe


def mean_dice(model, split, subjects):
    predicted = training.predict(model, split.test_images[:subjects, None],
                                 batch_size=8).argmax(axis=1)
    per_subject = [metrics.evaluate(t, p, labels=list(TISSUES), spacing=split.spacing,
                                    metrics=["dice"])["dice"].to_numpy()
                   for t, p in zip(split.test_labels[:subjects], predicted)]
    return np.nanmean(per_subject, axis=0)  # lesion: over the subjects that have one


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0,
                        help="training time per model (default 40)")
    parser.add_argument("--probe", type=int, default=5,
                        help="iterations timed to set the iteration counts (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="10 s per model, 8 test subjects: a smoke test")
    args = parser.parse_args()
    budget = 10.0 if args.quick else args.seconds
    probe = 2 if args.quick else args.probe
    threads = training.set_threads()

    split = phantoms.brain_split(progress=False)
    subjects = 8 if args.quick else len(split.test_images)
    print(f"shared split: {len(split.train_images)} training slices, {subjects} test subjects; "
          f"{budget:g} s of training per model; {threads} thread(s), torch {torch.__version__}"
          f", device {training.device()}")
    rows = {}
    for name, (build, data, batch_size, lr) in recipes(split).items():
        per_iteration = seconds_per_iteration(build, data, batch_size, lr, probe)
        iterations = max(1, round(budget / per_iteration))
        model = build()
        start = time.perf_counter()
        history = training.fit(model, data, iterations=iterations, batch_size=batch_size, lr=lr,
                               seed=0, loss="dice_ce", progress=False)
        seconds = time.perf_counter() - start
        dice = mean_dice(model, split, subjects)
        params = sum(p.numel() for p in model.parameters())
        rows[name] = dict(dice=dice, mean=float(np.mean(dice[:3])), seconds=seconds,
                          iterations=iterations, params=params,
                          train_seconds=history.total_seconds)
        print(f"  {name}: {iterations} iterations of {batch_size} "
              f"({per_iteration:.3f} s each when probed), {seconds:.1f} s", flush=True)

    print()
    head = "".join(f"{t:>8}" for t in TISSUES.values())
    print(f"{'model':<8}{'params':>9}{'iters':>7}{'seconds':>9}{head}{'mean3':>8}"
          f"{'/ U-Net':>9}")
    reference = rows["U-Net"]["mean"]
    for name, row in rows.items():
        cells = "".join(f"{d:8.3f}" for d in row["dice"])
        print(f"{name:<8}{row['params']:>9,}{row['iterations']:>7}{row['seconds']:>9.1f}{cells}"
              f"{row['mean']:8.3f}{row['mean'] / reference:9.3f}")
    print("mean3 = mean Dice of CSF, GM and WM; lesion over the test subjects that have one")
    print()
    vit, hybrid = rows["ViT"], rows["hybrid"]
    met = vit["mean"] >= 0.85 and vit["seconds"] <= 90
    print(f"goal: ViT >= 0.85 mean Dice in <= 90 s      -> {vit['mean']:.3f} in "
          f"{vit['seconds']:.0f} s  {'met' if met else 'NOT met'}")
    closer = (reference - hybrid["mean"]) < (reference - vit["mean"])
    print(f"goal: hybrid closer to the U-Net than the ViT -> gap {reference - hybrid['mean']:+.3f}"
          f" vs {reference - vit['mean']:+.3f}  {'met' if closer else 'NOT met'}")
    if args.quick:
        print("(--quick: too short to judge the goals)")


if __name__ == "__main__":
    main()
