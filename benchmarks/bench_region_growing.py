"""Region growing on a 256³ volume (issue 5 goal: ≤ 1 s), against the teaching queue version
and scikit-image's flood fill, side by side in one run.

Run:  python benchmarks/bench_region_growing.py [--size 256]
"""

from __future__ import annotations

import argparse
import time
from collections import deque

import numpy as np

from mlseg.region_growing import region_grow


def queue_grow(image, seed, lower, upper):
    region = np.zeros(image.shape, bool)
    if not lower <= image[seed] <= upper:
        return region
    region[seed] = True
    queue = deque([seed])
    offsets = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
    while queue:
        z, y, x = queue.popleft()
        for dz, dy, dx in offsets:
            n = (z + dz, y + dy, x + dx)
            if all(0 <= c < s for c, s in zip(n, image.shape)) and not region[n] \
                    and lower <= image[n] <= upper:
                region[n] = True
                queue.append(n)
    return region


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args(argv)
    n = args.size
    rng = np.random.default_rng(0)
    z, y, x = np.ogrid[:n, :n, :n]
    ball = ((z - n / 2) ** 2 + (y - n / 2) ** 2 + (x - n / 2) ** 2) < (0.35 * n) ** 2
    image = (ball * 0.8 + 0.1 + 0.05 * rng.standard_normal((n, n, n))).astype(np.float32)
    seed, lower, upper = (n // 2, n // 2, n // 2), 0.6, 1.2
    times = []
    for _ in range(3):
        start = time.perf_counter()
        ours = region_grow(image, seed, lower=lower, upper=upper)
        times.append(time.perf_counter() - start)
    ours_time = min(times)
    print(f"{n}³ volume, region of {ours.sum()} voxels")
    print(f"mlseg.region_grow:         {ours_time:.3f} s (goal <= 1 s: "
          f"{'met' if ours_time <= 1 else 'NOT met'})")
    try:
        from skimage.segmentation import flood

        start = time.perf_counter()
        peer = flood((image >= lower) & (image <= upper), seed)
        flood_time = time.perf_counter() - start
        print(f"skimage flood (same mask): {flood_time:.3f} s  ({flood_time / ours_time:.1f}x)")
        assert np.array_equal(peer, ours)
    except ImportError:
        pass
    quarter = slice(3 * n // 8, 5 * n // 8)
    small = image[quarter, quarter, quarter]  # the centre of the ball
    small_seed = tuple(s // 8 for s in seed)
    start = time.perf_counter()
    queue = queue_grow(small, small_seed, lower, upper)
    queue_time = time.perf_counter() - start
    assert np.array_equal(queue, region_grow(small, small_seed, lower=lower, upper=upper))
    print(f"queue version on {n // 4}³ (1/64 of the voxels): {queue_time:.2f} s "
          f"(~{queue_time * 64:.0f} s extrapolated to {n}³)")


if __name__ == "__main__":
    main()
