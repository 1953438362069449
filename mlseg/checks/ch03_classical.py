"""Checks of chapter 03: the cases of its exercises and their reference answers.

Loaded by :mod:`mlseg.checks` the first time one of these exercises is named.
"""

from __future__ import annotations

import numpy as np

from . import Case, compare_array, register


def _range_cases(rng):
    from .. import phantoms

    brain, _ = phantoms.brain_slice(size=32, rng=int(rng.integers(1000)))
    brain8 = np.round(brain / brain.max() * 255).astype(np.uint8)
    cases = [Case("8-bit brain, grey matter window", (brain8, 100, 180)),
             Case("window of one value", (np.array([[1, 2], [2, 3]]), 2, 2)),
             Case("empty window", (np.arange(12.0).reshape(3, 4), 20, 30)),
             Case("everything", (np.arange(12.0).reshape(3, 4), -1, 100)),
             Case("3D volume", (np.arange(24.0).reshape(2, 3, 4), 5, 17))]
    for i in range(4):
        image = rng.random(tuple(int(v) for v in rng.integers(3, 15, size=2)))
        lower, upper = sorted(float(v) for v in rng.random(2))
        cases.append(Case(f"random #{i + 1}", (image, lower, upper)))
    return cases


def _region_cases(rng):
    from scipy import ndimage as ndi

    from .. import phantoms

    brain, _ = phantoms.brain_slice(size=32, rng=int(rng.integers(1000)))
    stripes = np.array([[1, 1, 0, 1, 1],
                        [1, 0, 0, 1, 1],
                        [1, 1, 1, 1, 0]], float)
    cases = [Case("two stripes joined at the bottom", (stripes, (0, 0), 0.5, 1.5)),
             Case("diagonal neighbours do not count", (np.eye(4), (0, 0), 0.5, 1.5)),
             Case("seed outside the window grows nothing", (stripes, (0, 2), 0.5, 1.5)),
             Case("brain slice", (brain, (16, 20), float(brain[16, 20]) - 0.08,
                                  float(brain[16, 20]) + 0.08))]
    for i in range(4):
        shape = tuple(int(v) for v in rng.integers(5, 25, size=2))
        image = ndi.gaussian_filter(rng.random(shape), 1.0)
        seed = tuple(int(rng.integers(n)) for n in shape)
        lower = float(image[seed]) - float(rng.uniform(0.01, 0.1))
        cases.append(Case(f"random {shape[0]}x{shape[1]} #{i + 1}",
                          (image, seed, lower, lower + float(rng.uniform(0.05, 0.2)))))
    return cases


def _vote_cases(rng):
    cases = [Case("unanimous", ([np.ones((2, 2), int)] * 3,)),
             Case("a tie goes to the smaller label", ([np.array([[2]]), np.array([[1]])],)),
             Case("three atlases, one voxel each way", (
                 [np.array([1, 2, 0]), np.array([1, 3, 0]), np.array([2, 3, 1])],)),
             Case("one atlas", ([np.array([[0, 4], [2, 2]])],))]
    for i in range(4):
        shape = tuple(int(v) for v in rng.integers(2, 12, size=2))
        n = int(rng.integers(2, 7))
        maps = [rng.integers(0, 5, size=shape) for _ in range(n)]
        cases.append(Case(f"{n} random label maps {shape[0]}x{shape[1]} #{i + 1}", (maps,)))
    return cases


def _register_chapter_03():
    from .. import atlas, region_growing, thresholding

    register("threshold_range", reference=thresholding.threshold_range, cases=_range_cases,
             compare=compare_array,
             description="threshold_range(image, lower, upper) -> lower <= image <= upper")
    register("region_grow_queue",
             reference=lambda image, seed, lower, upper: region_growing.region_grow(
                 image, seed, lower=lower, upper=upper, connectivity=1),
             cases=_region_cases, compare=compare_array,
             forbidden=(region_growing.region_grow,),
             description="region_grow_queue(image, seed, lower, upper) -> bool mask (4-neighbours)")
    register("majority_vote", reference=atlas.majority_vote, cases=_vote_cases,
             compare=compare_array,
             description="majority_vote(label_maps) -> most frequent label, ties: the smallest")


_register_chapter_03()
