"""Sliding-window inference on a 2-mm brain volume: mlseg against MONAI, same model, same input.

Run:  python benchmarks/bench_inference.py [--quick] [--repeat 5] [--width 8] [--batch-size 4]
Needs the bench extra (``pip install torch==2.13.0`` first, then ``pip install -e .[bench]``).
Threads: ``MLSEG_THREADS`` (default: all cores), as everywhere in mlseg.

A seeded, same-padding 3D ``UNet`` (eval mode, batch norm with seeded running statistics) labels
a simulated 2-mm brain (``phantoms.brain_volume``, 79×95×77 voxels, zero-padded to 80×96×80)
tile by tile with :func:`mlseg.inference.sliding_window` and with MONAI's
``sliding_window_inference``, on the same tiles with the same batch size:

- tiles (32, 48, 32), outputs overlapping by (8, 24, 8) voxels = MONAI's ``overlap=(0.25, 0.5,
  0.25)``: both step by 24 voxels, and 80 = 32 + 2·24, 96 = 48 + 2·24, so the last tile ends
  at the volume's edge. (Where it would not, the two differ on purpose: mlseg lets the last
  tile reach past the image, mirrored; MONAI moves it back inside.)
- ``blend="constant"`` = MONAI ``mode="constant"``: the same plain average, to 1e-5.
- ``blend="gaussian"``: both use a Gaussian of standard deviation 1/8 of the tile (MONAI's
  ``sigma_scale=0.125``), but MONAI raises every weight below 1e-3 to 1e-3, and mlseg does not
  (in 3D its corner weights are about 1e-10). So MONAI's own ``mode="gaussian"`` differs in the
  overlaps (printed, not asserted); given mlseg's weights (``roi_weight_map=tile_weights(...)``)
  MONAI computes the same result, to 1e-5, and is timed that way.

Times are the median of ``--repeat`` runs after a warm-up, the methods interleaved within each
repeat (the machine may be shared). A small 2D case (a 128×128 slice, 2D U-Net) follows.
``--quick``: a narrower network, two repeats.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

from mlseg import phantoms, training
from mlseg.inference import sliding_window, tile_weights
from mlseg.models.unet import UNet

warnings.filterwarnings("ignore")


def monai_overlap(tile, step):
    """MONAI's overlap fraction whose scan interval ``int(tile * (1 - overlap))`` is ``step``."""
    fractions = tuple(1 - s / t for t, s in zip(tile, step))
    if any(int(t * (1 - f)) != s for t, f, s in zip(tile, fractions, step)):
        raise SystemExit(f"no MONAI overlap gives the step {step} for tile {tile}")
    return fractions


def fits(shape, tile, step):
    """Whether the tiles end exactly at the image's edge (where mlseg and MONAI tile alike)."""
    return all((n - t) % s == 0 and n >= t for n, t, s in zip(shape, tile, step))


def seeded_batch_norm(model, seed):
    """Running statistics from a seed, so that eval-mode batch norm is not the identity."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            module.running_mean.uniform_(-0.2, 0.2, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
    return model.eval()


def run_case(name, model, image, tile, overlap, batch_size, repeat):
    """Time and compare mlseg and MONAI on one image; return rows for the table."""
    from monai.inferers import sliding_window_inference

    step = tuple(t - v for t, v in zip(tile, overlap))  # same padding: the output is the tile
    if not fits(image.shape, tile, step) or any(s % model.downsampling for s in step):
        raise SystemExit(f"{name}: image {image.shape} is not tiled exactly by {tile} every {step}")
    fraction = monai_overlap(tile, step)
    x = torch.from_numpy(image)[None, None]                    # (1, 1, *spatial)
    gaussian = torch.from_numpy(tile_weights(tile, blend="gaussian"))

    def ours(blend):
        return lambda: sliding_window(model, image, tile=tile, overlap=overlap, blend=blend,
                                      batch_size=batch_size, progress=False)

    def theirs(mode, weights=None):
        def run():
            with torch.inference_mode():
                return sliding_window_inference(x, tile, batch_size, model, overlap=fraction,
                                                mode=mode, roi_weight_map=weights)[0].numpy()
        return run

    methods = {
        ("constant", "mlseg"): ours("constant"),
        ("constant", "MONAI"): theirs("constant"),
        ("gaussian", "mlseg"): ours("gaussian"),
        ("gaussian", "MONAI"): theirs("gaussian", gaussian),
    }
    outputs = {key: fn() for key, fn in methods.items()}       # warm-up, and the results
    outputs["own gaussian", "MONAI"] = theirs("gaussian")()
    times = {key: [] for key in methods}
    for _ in range(repeat):
        for key, fn in methods.items():                        # interleaved
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)

    tiles = np.prod([(n - t) // s + 1 for n, t, s in zip(image.shape, tile, step)])
    print(f"{name}: image {image.shape}, {tiles} tiles {tile} overlapping by {overlap} "
          f"(MONAI overlap {tuple(round(f, 3) for f in fraction)}), batch {batch_size}")
    rows, worst = [], 0.0
    for blend in ("constant", "gaussian"):
        ours_, theirs_ = outputs[blend, "mlseg"], outputs[blend, "MONAI"]
        gap = float(np.abs(ours_ - theirs_).max())
        worst = max(worst, gap)
        t_ours = statistics.median(times[blend, "mlseg"])
        t_theirs = statistics.median(times[blend, "MONAI"])
        rows.append((name, blend, t_ours, t_theirs, gap))
    own = outputs["own gaussian", "MONAI"]
    label_gap = (own.argmax(0) != outputs["gaussian", "mlseg"].argmax(0)).mean()
    print(f"  MONAI's own gaussian (weights floored at 1e-3) vs mlseg's: largest difference "
          f"{np.abs(own - outputs['gaussian', 'mlseg']).max():.1e}, labels differ at "
          f"{100 * label_gap:.3f}% of the voxels (not asserted)")
    return rows, worst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="narrower network, 2 repeats")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--width", type=int, default=8, help="U-Net feature maps at level 1")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.width = 2, 4
    threads = training.set_threads()
    print(f"{threads} thread(s), torch {torch.__version__}, "
          f"MONAI {__import__('monai').__version__}, median of {args.repeat} interleaved runs")

    # 3D: a 2-mm brain, zero-padded (its background is 0) so that the tiles fit exactly
    volume, _ = phantoms.brain_volume(spacing=(2, 2, 2), rng=args.seed)
    shape = (80, 96, 80)
    volume = np.pad(volume, [(0, n - m) for n, m in zip(shape, volume.shape)])
    model3d = seeded_batch_norm(UNet(1, 5, spatial_dims=3, depth=3, width=args.width,
                                     seed=args.seed), args.seed)
    rows, worst = run_case("3D, 2-mm brain", model3d, volume, (32, 48, 32), (8, 24, 8),
                           args.batch_size, args.repeat)

    # 2D: a slice of 128 x 128 pixels
    image, _ = phantoms.brain_slice(size=128, rng=args.seed)
    model2d = seeded_batch_norm(UNet(1, 5, depth=3, width=2 * args.width, seed=args.seed),
                                args.seed)
    rows2d, worst2d = run_case("2D, 128x128 slice", model2d, image, (32, 32), (8, 8),
                               args.batch_size, args.repeat)
    rows += rows2d

    print()
    print(f"{'case':<20}{'blend':<10}{'mlseg (s)':>11}{'MONAI (s)':>11}"
          f"{'mlseg/MONAI':>13}{'max |diff|':>12}")
    for name, blend, t_ours, t_theirs, gap in rows:
        print(f"{name:<20}{blend:<10}{t_ours:>11.3f}{t_theirs:>11.3f}{t_ours / t_theirs:>12.2f}x"
              f"{gap:>12.1e}")
    print("(gaussian: MONAI given mlseg's weights as roi_weight_map)")
    if max(worst, worst2d) > 1e-5:
        raise SystemExit(f"mlseg and MONAI disagree by {max(worst, worst2d):.1e} (> 1e-5)")


if __name__ == "__main__":
    main()
