"""Checks of chapter 01: the cases of its exercises and their reference answers.

Loaded by :mod:`mlseg.checks` the first time one of these exercises is named.

Two references have no library function yet and live here as private functions (to be moved
into :mod:`mlseg.imaging`): :func:`_rician_moments` (the exact mean and standard deviation of
Rician noise, against which a student's random sample is judged statistically) and
:func:`_fit_polynomial_bias` (a least-squares fit of :func:`mlseg.imaging.polynomial_bias`).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from . import Case, as_numpy, compare_array, register, rounded

# --------------------------------------------------------------------------------------------
# Exercise 1 · block_average (partial volume)
# --------------------------------------------------------------------------------------------


def _images(rng, n_random=5):
    """Small images: constant, ramps, a brain slice, odd sizes, then random ones."""
    from .. import phantoms

    ramp = np.linspace(0, 1, 48).reshape(6, 8)
    brain, _ = phantoms.brain_slice(size=32, rng=int(rng.integers(1000)))
    images = [("constant 4x4", np.full((4, 4), 0.5)), ("ramp 6x8", ramp),
              ("brain slice 32x32", brain.astype(float)),
              ("odd size 7x10 (edges left over)", np.arange(70, dtype=float).reshape(7, 10) / 70),
              ("one block row 2x9", np.arange(18, dtype=float).reshape(2, 9)),
              ("a 1-row image 1x9", np.linspace(0, 1, 9)[None, :])]
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


# --------------------------------------------------------------------------------------------
# Exercise 2 · thick_slices (anisotropic acquisition: the same averaging along one axis, in mm)
# --------------------------------------------------------------------------------------------


def _thick_cases(rng):
    from .. import phantoms

    volume, _ = phantoms.brain_volume(spacing=(8.0, 8.0, 8.0), rng=int(rng.integers(1000)))
    ramp = np.arange(5 * 3 * 4, dtype=float).reshape(5, 3, 4)
    cases = [
        Case("thickness equal to the spacing: nothing to average",
             (ramp, (1.0, 1.0, 1.0), 1.0, 0)),
        Case("axis 0, 5 slices of 1 mm into 2 mm (the last slice left over)",
             (ramp, (1.0, 1.0, 1.0), 2.0, 0)),
        Case("one thick slice from 5 thin ones (4 mm, one left over)",
             (ramp, (1.0, 1.0, 1.0), 4.0, 0)),
        Case("along the columns (axis 2)", (ramp, (1.0, 1.0, 1.0), 2.0, 2)),
        Case("along the rows (axis 1), 3 rows into 1", (ramp, (1.0, 1.0, 1.0), 3.0, 1)),
        Case("anisotropic spacing (2.0, 1.0, 1.0): thickness in mm, not in slices",
             (ramp, (2.0, 1.0, 1.0), 4.0, 0)),
        Case("anisotropic spacing (1.0, 0.5, 2.5) along axis 1",
             (ramp, (1.0, 0.5, 2.5), 1.5, 1)),
        Case("brain volume at 8 mm, 16 mm slices", (volume, (8.0, 8.0, 8.0), 16.0, 0)),
    ]
    for i in range(4):
        shape = tuple(int(v) for v in rng.integers(3, 12, size=3))
        axis = int(rng.integers(3))
        spacing = tuple(float(s) for s in rng.choice([0.5, 1.0, 2.0], size=3))
        factor = int(rng.integers(1, shape[axis] + 1))
        cases.append(Case(f"random {'x'.join(map(str, shape))} #{i + 1}",
                          (rng.random(shape), spacing, spacing[axis] * factor, axis)))
    return cases


def _compare_thick(got, expected):
    """A pair (thick volume, new spacing) against the library's."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return (f"expected a pair (thick_volume, new_spacing), got {type(got).__name__}"
                + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""))
    problem = compare_array(got[0], expected[0])
    if problem:
        return f"thick volume: {problem}"
    problem = compare_array(got[1], np.asarray(expected[1]))
    if problem:
        return f"new spacing: {problem}"
    return None


# --------------------------------------------------------------------------------------------
# Exercise 3 · rician_noise, judged statistically against the exact Rician distribution
# --------------------------------------------------------------------------------------------


class RicianMoments(NamedTuple):
    """Per-pixel mean and standard deviation of Rician noise (what a sample is judged on)."""

    mean: np.ndarray
    std: np.ndarray


def _rician_moments(image, sigma, rng=None):
    """The exact mean and standard deviation, per pixel, of
    ``sqrt((image + n1)**2 + n2**2)`` with ``n1, n2 ~ N(0, sigma**2)`` independent.

    ``rng`` is accepted (and ignored) so that this reference takes the exercise's arguments.
    The mean is ``sigma * sqrt(pi / 2) * L_1/2(-image**2 / (2 sigma**2))`` (a Laguerre
    function, written with exponentially scaled Bessel functions so that it holds at any SNR);
    the variance is ``image**2 + 2 sigma**2 - mean**2``. ``sigma = 0`` gives ``|image|`` and 0.

    Examples
    --------
    >>> m = _rician_moments(np.zeros((1, 1)), 1.0)
    >>> round(float(m.mean[0, 0]), 4)  # the Rician floor sigma * sqrt(pi / 2)
    1.2533
    """
    from scipy.special import i0e, i1e

    amplitude = np.abs(np.asarray(image, dtype=float))
    sigma = float(sigma)
    if sigma == 0:
        return RicianMoments(amplitude, np.zeros_like(amplitude))
    half = (amplitude / sigma) ** 2 / 2  # b**2 / 2
    laguerre = (1 + half) * i0e(half / 2) + half * i1e(half / 2)
    mean = sigma * np.sqrt(np.pi / 2) * laguerre
    variance = np.maximum(amplitude**2 + 2 * sigma**2 - mean**2, 0.0)
    return RicianMoments(mean, np.sqrt(variance))


#: How many standard errors a sample's mean or variance may be off before it is "wrong"
#: (a correct answer then fails about once in 10^8 checks).
_Z = 6.0


def _compare_rician(got, expected):
    """Is ``got`` a plausible sample of the Rician noise whose moments are ``expected``?

    Judged on the shape, the sign (a magnitude is never negative), pixels without noise
    (``sigma = 0``), the mean over all pixels and the spread around the exact per-pixel mean,
    each within a few standard errors. Works for any sampling order of the noise.
    """
    mean, std = (np.asarray(a, dtype=float) for a in expected)
    try:
        got = np.asarray(as_numpy(got), dtype=float)
    except (TypeError, ValueError):
        return f"expected an array of shape {mean.shape}, got {type(got).__name__}"
    if got.shape != mean.shape:
        return f"expected shape {mean.shape}, got {got.shape}"
    if not np.isfinite(got).all():
        return f"{int((~np.isfinite(got)).sum())} values are nan or inf"
    if (got < -1e-12).any():
        return (f"{int((got < 0).sum())} of {got.size} values are negative: a magnitude "
                "(the length of a complex number) is never negative")
    exact = std == 0
    if exact.any() and not np.allclose(got[exact], mean[exact], rtol=1e-6, atol=1e-9):
        return "without noise (sigma 0) the magnitude of the clean image must come back unchanged"
    noisy = ~exact
    if not noisy.any():
        return None
    deviation = got[noisy] - mean[noisy]
    z = deviation.sum() / np.sqrt((std[noisy] ** 2).sum())
    if abs(z) > _Z:
        side = "higher" if z > 0 else "lower"
        return (f"on average your values are {side} than Rician noise gives, by "
                f"{abs(deviation.mean()):.3g} per pixel ({abs(z):.0f} standard errors): "
                "check the noise model at dark pixels (the Rician floor)")
    excess = deviation**2 - std[noisy] ** 2
    z = excess.sum() / np.sqrt((excess**2).sum())
    if abs(z) > _Z:
        side = "more" if z > 0 else "less"
        return (f"your values spread {side} around the expected mean than Rician noise does "
                f"({abs(z):.0f} standard errors): check how much noise each channel gets and "
                "where the image enters")
    return None


def _rician_cases(rng):
    from .. import phantoms

    brain, _ = phantoms.brain_slice(size=128, rng=int(rng.integers(1000)))
    volume, _ = phantoms.brain_volume(spacing=(4.0, 4.0, 4.0), rng=int(rng.integers(1000)))

    def seed():
        return int(rng.integers(2**31))

    cases = [
        Case("pure noise: a zero image 80x80 (the Rician floor)", (np.zeros((80, 80)), 0.1,
                                                                   seed())),
        Case("low SNR: signal equal to sigma 80x80", (np.full((80, 80), 0.2), 0.2, seed())),
        Case("high SNR: signal 10 sigma 80x80 (almost Gaussian)", (np.full((80, 80), 1.0),
                                                                  0.1, seed())),
        Case("no noise: sigma 0", (brain[::4, ::4].astype(float), 0.0, seed())),
        Case("brain slice 128x128", (brain.astype(float), 0.05, seed())),
        Case("3D brain volume", (volume.astype(float), 0.08, seed())),
    ]
    for i in range(3):
        shape = tuple(int(v) for v in rng.integers(64, 100, size=2))
        sigma = float(rng.choice([0.02, 0.1, 0.3]))
        cases.append(Case(f"random image {shape[0]}x{shape[1]} #{i + 1}",
                          (rng.random(shape), sigma, seed())))
    return cases


# --------------------------------------------------------------------------------------------
# Exercise 4 · fit_bias: the parametric bias field, fitted by least squares
# --------------------------------------------------------------------------------------------


def _fit_polynomial_bias(image, mask):
    """The coefficients ``(c0, ..., c4)`` of :func:`mlseg.imaging.polynomial_bias` that best
    explain a 2D ``image`` inside ``mask``, where the true intensity is constant.

    ``log(image) = log(c) + c0 x + c1 y + c2 x y + c3 x² + c4 y²`` on the pixels of ``mask``
    (``y`` over the rows, ``x`` over the columns, each ``np.linspace(-1, 1, n)``), solved by
    linear least squares; the constant ``log(c)`` (the tissue's intensity) is fitted and
    dropped.

    Examples
    --------
    >>> from mlseg.imaging import polynomial_bias
    >>> image = 0.8 * polynomial_bias((20, 30), (0.3, -0.2, 0.1, 0.0, 0.2))
    >>> (np.round(_fit_polynomial_bias(image, np.ones((20, 30), bool)), 6) + 0.0).tolist()
    [0.3, -0.2, 0.1, 0.0, 0.2]
    """
    image = np.asarray(image, dtype=float)
    mask = np.asarray(mask, dtype=bool)
    y, x = np.meshgrid(np.linspace(-1, 1, image.shape[0]), np.linspace(-1, 1, image.shape[1]),
                       indexing="ij")
    x, y = x[mask], y[mask]
    design = np.stack([x, y, x * y, x**2, y**2, np.ones_like(x)], axis=1)
    solution, *_ = np.linalg.lstsq(design, np.log(image[mask]), rcond=None)
    return solution[:5]


def _bias_cases(rng):
    from .. import imaging, phantoms

    def biased(shape, coefficients, tissue=0.8):
        return tissue * imaging.polynomial_bias(shape, coefficients)

    everywhere = np.ones((24, 24), bool)
    left = np.zeros((24, 24), bool)
    left[:, :10] = True
    brain, labels = phantoms.brain_slice(size=64, rng=int(rng.integers(1000)))
    tissues = np.where(labels == 3, 0.8, np.where(labels > 0, 0.5, 0.3))
    coefficients = tuple(float(v) for v in rng.uniform(-0.5, 0.5, size=5))
    cases = [
        Case("no bias: a flat field", (biased((24, 24), (0, 0, 0, 0, 0)), everywhere)),
        Case("left-right bias only", (biased((24, 24), (0.6, 0, 0, 0, 0)), everywhere)),
        Case("up-down bias only", (biased((24, 24), (0, -0.5, 0, 0, 0)), everywhere)),
        Case("curved bias (x^2 and y^2 terms)", (biased((24, 24), (0, 0, 0, 0.4, -0.3)),
                                                 everywhere)),
        Case("not square 16x40: x runs along the columns",
             (biased((16, 40), (0.4, 0.1, 0.2, 0.0, 0.0)), np.ones((16, 40), bool))),
        Case("tissue intensity 3 (not 1)", (biased((24, 24), (0.2, 0.2, 0, 0, 0), 3.0),
                                            everywhere)),
        Case("mask on the left part only (the fit extrapolates)",
             (biased((24, 24), (0.3, -0.2, 0.1, 0.1, 0.1)), left)),
        Case("two tissues, mask on white matter only",
             (tissues * imaging.polynomial_bias(tissues.shape, coefficients), labels == 3)),
        Case("noisy brain slice, mask on white matter",
             (np.abs(brain * imaging.polynomial_bias(brain.shape, coefficients)
                     + rng.normal(0, 0.02, brain.shape)) + 0.01, labels == 3)),
    ]
    for i in range(3):
        shape = tuple(int(v) for v in rng.integers(8, 40, size=2))
        coefficients = tuple(float(v) for v in rng.uniform(-0.6, 0.6, size=5))
        mask = rng.random(shape) < 0.6
        cases.append(Case(f"random bias {shape[0]}x{shape[1]} #{i + 1}",
                          (biased(shape, coefficients, float(rng.uniform(0.2, 2))), mask)))
    return cases


# --------------------------------------------------------------------------------------------
# Exercise 5 · predict the number: partial volume of a thin sheet
# --------------------------------------------------------------------------------------------

#: The question's numbers: a white-matter sheet (mm, intensity) inside grey matter, one slice.
SHEET_MM, SHEET_INTENSITY, SURROUNDING_INTENSITY, SLICE_MM = 2, 0.8, 0.5, 5


def _partial_volume_voxel():
    """The intensity of one 5 mm slice through a 2 mm white-matter sheet in grey matter,
    measured by the library's thick-slice model on 1 mm voxels."""
    from .. import imaging

    profile = np.full((SLICE_MM, 1, 1), SURROUNDING_INTENSITY)
    profile[1:1 + SHEET_MM] = SHEET_INTENSITY
    thick, _ = imaging.thick_slices(profile, (1.0, 1.0, 1.0), float(SLICE_MM))
    return float(thick[0, 0, 0])


_PARTIAL_VOLUME_SLIPS = {
    SHEET_INTENSITY: "that is pure white matter: the voxel also holds grey matter, and it shows "
                     "the average of everything inside it",
    SURROUNDING_INTENSITY: "that is pure grey matter: the sheet inside the voxel counts too",
    (SHEET_INTENSITY + SURROUNDING_INTENSITY) / 2: "that is the midpoint of the two tissues (the "
                                                   "threshold); weigh each tissue by how much of "
                                                   "the voxel it fills",
    SHEET_MM * SHEET_INTENSITY / SLICE_MM: "you averaged the white matter over the voxel but "
                                           "forgot the grey matter that fills the rest of it",
}


def _register_chapter_01():
    from .. import imaging

    register("block_average", reference=imaging.block_average, cases=_block_average_cases,
             compare=compare_array, forbidden=(imaging.block_average, imaging.partial_volume),
             description="block_average(image, factor) -> the mean of each factor x factor block",
             hint="the output has image.shape // factor pixels: drop the rows and columns that "
                  "do not fill a whole block first, then average each block (a reshape to "
                  "(rows, factor, columns, factor) does it without loops).")
    register("thick_slices",
             reference=lambda volume, spacing, thickness, axis: imaging.thick_slices(
                 volume, spacing, thickness, axis=axis),
             cases=_thick_cases, compare=_compare_thick,
             forbidden=(imaging.thick_slices, imaging.block_average, imaging.partial_volume),
             description="thick_slices(volume, spacing, thickness, axis) -> (thick, new_spacing)",
             hint="a thick slice averages thickness / spacing[axis] neighbouring slices (mm "
                  "divided by mm: a count of slices); slices left over at the end are dropped; "
                  "only spacing[axis] changes. np.moveaxis(volume, axis, 0) lets you write it "
                  "once for every axis.")
    register("rician_noise", reference=_rician_moments, cases=_rician_cases,
             compare=_compare_rician, forbidden=(imaging.rician_noise, _rician_moments),
             description="rician_noise(image, sigma, rng) -> a random magnitude image",
             hint="the scanner measures a complex number: the clean image is its real part, 0 "
                  "its imaginary part, and each part gets its own independent Gaussian noise "
                  "of standard deviation sigma; the image is the magnitude of the result. "
                  "Draw with rng = np.random.default_rng(rng).")
    register("fit_bias", reference=_fit_polynomial_bias, cases=_bias_cases,
             compare=functools.partial(compare_array, rtol=1e-4, atol=1e-6),
             forbidden=(_fit_polynomial_bias,),
             description="fit_bias(image, mask) -> (c0, c1, c2, c3, c4) of polynomial_bias",
             hint="the logarithm turns the multiplicative field into a sum: log(image) = "
                  "log(tissue) + c0 x + c1 y + c2 x y + c3 x^2 + c4 y^2 on the pixels of the "
                  "mask only; one column per term plus a column of ones (the unknown tissue "
                  "intensity) in np.linalg.lstsq; x runs over the columns, y over the rows.")
    register("predict_partial_volume", reference=_partial_volume_voxel,
             cases=lambda rng: [Case("a 5 mm slice through a 2 mm white-matter sheet")],
             compare=rounded(2, known=_PARTIAL_VOLUME_SLIPS),
             forbidden=(imaging.thick_slices, imaging.block_average, imaging.partial_volume),
             description="predict_partial_volume() -> the voxel's intensity",
             hint="a voxel measures the mean intensity of everything inside it: weigh each "
                  "tissue by the millimetres of the slice it fills.")


_register_chapter_01()
