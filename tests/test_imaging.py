"""The imaging challenges: statistics that can be checked, oracles, and untouched inputs."""

import numpy as np
import pytest
from scipy import stats

from mlseg import imaging, metrics, phantoms


def test_gaussian_noise_has_the_asked_spread_and_is_seeded():
    noisy = imaging.gaussian_noise(np.full((300, 300), 0.5), 0.2, rng=1)
    assert noisy.std() == pytest.approx(0.2, rel=0.02)
    assert noisy.mean() == pytest.approx(0.5, abs=0.005)
    assert np.array_equal(noisy, imaging.gaussian_noise(np.full((300, 300), 0.5), 0.2, rng=1))


def test_rician_noise_is_rayleigh_on_zero_and_built_from_two_gaussian_channels():
    zero = imaging.rician_noise(np.zeros((200, 200)), 1.0, rng=3)
    assert stats.kstest(zero.ravel(), "rayleigh").pvalue > 0.01
    assert zero.mean() == pytest.approx(np.sqrt(np.pi / 2), rel=0.02)
    image = np.linspace(0, 3, 400).reshape(20, 20)
    rng = np.random.default_rng(9)
    n1, n2 = rng.normal(0, 0.3, image.shape), rng.normal(0, 0.3, image.shape)
    np.testing.assert_allclose(imaging.rician_noise(image, 0.3, rng=9),
                               np.hypot(image + n1, n2))


def test_speckle_is_multiplicative_with_mean_one():
    image = np.full((300, 300), 2.0)
    out = imaging.speckle(image, 1.0, rng=0)
    assert out.mean() == pytest.approx(2.0, rel=0.02)
    assert np.all(imaging.speckle(np.zeros((5, 5)), 1.0, rng=0) == 0)


def test_block_average_oracle_and_partial_volume_fractions():
    rng = np.random.default_rng(0)
    image = rng.random((12, 9))
    coarse = imaging.block_average(image, 3)
    assert coarse[1, 2] == pytest.approx(image[3:6, 6:9].mean())
    _, labels = phantoms.brain_slice(size=64, rng=0)
    image = labels.astype(float)
    coarse, fractions, majority = imaging.partial_volume(image, labels, 4)
    np.testing.assert_allclose(fractions.sum(axis=0), 1)
    np.testing.assert_allclose(coarse, np.tensordot(np.arange(4), fractions, axes=1))
    mixed = (fractions.max(axis=0) < 1).mean()
    assert 0.2 < mixed < 0.9  # most coarse voxels at this size mix tissues
    assert majority.shape == (16, 16)


def test_polynomial_bias_matches_its_formula_and_correction_undoes_it():
    field = imaging.polynomial_bias((5, 7), (0.3, -0.2, 0.1, 0.4, -0.3))
    y, x = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 7), indexing="ij")
    np.testing.assert_allclose(field, np.exp(0.3 * x - 0.2 * y + 0.1 * x * y + 0.4 * x**2
                                             - 0.3 * y**2))
    image, labels = phantoms.brain_slice(rng=2)
    biased = image * imaging.bias_field(image.shape, strength=0.5, rng=1)
    corrected, estimate = imaging.correct_bias(biased, mask=labels > 0)
    brain = labels > 0
    wm = labels == 3
    spread = lambda im: im[wm].std() / im[wm].mean()  # noqa: E731
    assert spread(corrected) < spread(biased)
    assert estimate[brain].mean() == pytest.approx(1.0)


def test_thick_slices_average_and_reformat_shows_a_staircase():
    volume, _ = phantoms.brain_volume(spacing=(2, 2, 2), rng=0)
    thick, spacing = imaging.thick_slices(volume, (2, 2, 2), 6, axis=0)
    assert spacing == (6.0, 2.0, 2.0)
    np.testing.assert_allclose(thick[3], volume[9:12].mean(axis=0), rtol=1e-6)
    iso, iso_spacing = imaging.reformat(thick, spacing)
    assert iso_spacing == (2.0, 2.0, 2.0)
    assert iso.shape[0] == 3 * thick.shape[0]
    assert np.array_equal(iso[0], iso[1]) and np.array_equal(iso[1], iso[2])  # the staircase


def test_metal_artifact_streaks_grow_with_attenuation():
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize

    image = resize(shepp_logan_phantom(), (96, 96))
    metal = np.zeros_like(image, bool)
    metal[45:50, 30:35] = metal[45:50, 61:66] = True
    away = ~phantoms.perturb(metal, grow=6)
    error = [np.abs(imaging.metal_artifact(image, metal, attenuation=a, rng=0) - image)[away].mean()
             for a in (0.0, 40.0)]
    assert error[1] > 2 * error[0]


def test_susceptibility_void_darkens_the_centre_and_brightens_a_rim():
    image = np.ones((64, 64))
    out = imaging.susceptibility_void(image, (32, 32), 8)
    assert out[32, 32] < 0.2 and out[32, 32 + 10] > 1.1 and out[0, 0] == pytest.approx(1)


def test_reduced_contrast_costs_a_fixed_threshold_dice():
    image, labels = phantoms.brain_slice(rng=4)
    wm = labels == 3
    threshold = (np.median(image[labels == 2]) + np.median(image[wm])) / 2
    full = metrics.dice(wm, image > threshold)
    low = imaging.reduce_contrast(image, 0.3, mask=labels > 0)
    noisy = imaging.gaussian_noise(low, 0.05, rng=0)
    assert metrics.dice(wm, noisy > (threshold - image[labels > 0].mean()) * 0.3
                        + image[labels > 0].mean()) < full


def test_deform_keeps_labels_as_labels_and_moves_them():
    image, labels = phantoms.brain_slice(size=64, rng=0)
    warped, warped_labels = imaging.deform(image, labels, amplitude=3, rng=0)
    assert set(np.unique(warped_labels)) <= set(np.unique(labels))
    assert 0.5 < metrics.dice(labels == 3, warped_labels == 3) < 0.99


def test_inputs_are_never_modified():
    image, labels = phantoms.brain_slice(size=32, rng=0)
    before = image.copy(), labels.copy()
    imaging.gaussian_noise(image, 0.1, rng=0)
    imaging.rician_noise(image, 0.1, rng=0)
    imaging.correct_bias(image, mask=labels > 0)
    imaging.partial_volume(image, labels, 2)
    imaging.deform(image, labels, rng=0)
    imaging.reduce_contrast(image, 0.5)
    assert np.array_equal(before[0], image) and np.array_equal(before[1], labels)


@pytest.mark.parametrize("call, error, words", [
    (lambda: imaging.gaussian_noise(np.zeros((4, 4)), -1), ValueError, "sigma"),
    (lambda: imaging.rician_noise(np.full((4, 4), np.nan), 1), ValueError, "image"),
    (lambda: imaging.speckle(np.zeros((4, 4)), 2), ValueError, "strength"),
    (lambda: imaging.block_average(np.zeros((4, 4)), 0), ValueError, "factor"),
    (lambda: imaging.block_average(np.zeros((4, 4)), 5), ValueError, "factor"),
    (lambda: imaging.partial_volume(np.zeros((4, 4)), np.zeros((4, 5), int), 2), ValueError,
     "same shape"),
    (lambda: imaging.polynomial_bias((4, 4), (1, 2)), ValueError, "coefficients"),
    (lambda: imaging.thick_slices(np.zeros((6, 4, 4)), (2, 2, 2), 5), ValueError, "thickness"),
    (lambda: imaging.metal_artifact(np.zeros((4, 6)), np.zeros((4, 6), bool)), ValueError,
     "square"),
    (lambda: imaging.reduce_contrast(np.zeros((4, 4)), 1.5), ValueError, "factor"),
    (lambda: imaging.susceptibility_void(np.zeros((4, 4)), 3, 2), TypeError, "center"),
])
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()
