"""Checks of chapter 01: the cases of its exercises and their reference answers.

Loaded by :mod:`mlseg.checks` the first time one of these exercises is named.
"""

from __future__ import annotations

import numpy as np

from . import Case, compare_array, register


def _images(rng, n_random=5):
    """Small images: constant, ramps, a brain slice, odd sizes, then random ones."""
    from .. import phantoms

    ramp = np.linspace(0, 1, 48).reshape(6, 8)
    brain, _ = phantoms.brain_slice(size=32, rng=int(rng.integers(1000)))
    images = [("constant 4x4", np.full((4, 4), 0.5)), ("ramp 6x8", ramp),
              ("brain slice 32x32", brain.astype(float)),
              ("odd size 7x10", np.arange(70, dtype=float).reshape(7, 10) / 70)]
    for i in range(n_random):
        shape = tuple(int(v) for v in rng.integers(4, 20, size=2))
        images.append((f"random {shape[0]}x{shape[1]} #{i + 1}", rng.random(shape)))
    return images


def _block_average_cases(rng):
    cases = []
    for name, image in _images(rng):
        for factor in (1, 2, 3):
            if min(image.shape) >= factor:
                cases.append(Case(f"{name}, factor {factor}", (image, factor)))
    return cases


def _rician_cases(rng):
    cases = []
    for name, image in _images(rng, n_random=3):
        sigma = float(rng.choice([0.0, 0.05, 0.3]))
        seed = int(rng.integers(0, 2**31))
        cases.append(Case(f"{name}, sigma {sigma}, seed {seed}", (image, sigma, seed)))
    return cases


def _bias_cases(rng):
    cases = [Case("no bias 4x4", ((4, 4), (0.0, 0.0, 0.0, 0.0, 0.0))),
             Case("left-right 3x5", ((3, 5), (0.5, 0.0, 0.0, 0.0, 0.0))),
             Case("up-down 6x2", ((6, 2), (0.0, -0.7, 0.0, 0.0, 0.0))),
             Case("single pixel row 1x7", ((1, 7), (0.2, 0.3, 0.1, 0.0, 0.0)))]
    for i in range(5):
        shape = tuple(int(v) for v in rng.integers(2, 40, size=2))
        coefficients = tuple(float(v) for v in rng.uniform(-0.8, 0.8, size=5))
        cases.append(Case(f"random {shape[0]}x{shape[1]} #{i + 1}", (shape, coefficients)))
    return cases


def _register_chapter_01():
    from .. import imaging

    register("block_average", reference=imaging.block_average, cases=_block_average_cases,
             compare=compare_array,
             description="block_average(image, factor) -> the mean of each factor x factor block")
    register("rician_noise",
             reference=lambda image, sigma, seed: imaging.rician_noise(image, sigma, rng=seed),
             cases=_rician_cases, compare=compare_array,
             forbidden=(imaging.rician_noise,),
             description="rician_noise(image, sigma, seed) -> sqrt((image + n1)**2 + n2**2)")
    register("polynomial_bias", reference=imaging.polynomial_bias, cases=_bias_cases,
             compare=compare_array,
             description="polynomial_bias(shape, coefficients) -> exp(c0 x + c1 y + c2 x y + "
                         "c3 x^2 + c4 y^2)")


_register_chapter_01()
