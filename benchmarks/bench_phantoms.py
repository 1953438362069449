"""Speed of the brain simulator (issue 4 goals: 200 slices of 128×128 in ≤ 3 s; one 2-mm 3D
subject in ≤ 1.5 s). Best of ``--repeat`` runs, after one warm-up call that loads the template.

Run:  python benchmarks/bench_phantoms.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from mlseg import phantoms


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    phantoms.brain_slice(rng=0)  # loads the bundled template once
    slices = best(lambda: phantoms.brain_cohort(200, rng=1, lesion=0.5, progress=False),
                  args.repeat)
    volume = best(lambda: phantoms.brain_volume(spacing=(2, 2, 2), lesion=True, rng=1),
                  args.repeat)
    thick = best(lambda: phantoms.brain_volume(spacing=(5, 1, 1), rng=1), args.repeat)
    print(f"200 slices 128x128 (half with lesions): {slices:.2f} s (goal <= 3 s: "
          f"{'met' if slices <= 3 else 'NOT met'})")
    print(f"one 2 mm 3D subject with a lesion:      {volume:.2f} s (goal <= 1.5 s: "
          f"{'met' if volume <= 1.5 else 'NOT met'})")
    print(f"one 5x1x1 mm 3D subject (thick slices): {thick:.2f} s")


if __name__ == "__main__":
    main()
