"""Chapter 01's exercises: does each check pass a right answer written here, and does it catch the
typical wrong ones by the case that shows the mistake, with a hint and without the answer?"""

import numpy as np
import pytest
from _helpers import failing  # noqa: E402

from mlseg import checks
from mlseg.checks import check, failure_message, run_checks

# --- right answers, written the way a student would (no mlseg inside) -----------------------


def my_block_average(image, factor):
    rows, columns = image.shape[0] // factor, image.shape[1] // factor
    out = np.empty((rows, columns))
    for i in range(rows):
        for j in range(columns):
            out[i, j] = image[i * factor:(i + 1) * factor, j * factor:(j + 1) * factor].mean()
    return out


def my_thick_slices(volume, spacing, thickness, axis):
    n = int(round(thickness / spacing[axis]))
    moved = np.moveaxis(volume, axis, 0)
    groups = [moved[k * n:(k + 1) * n].mean(axis=0) for k in range(moved.shape[0] // n)]
    new_spacing = list(spacing)
    new_spacing[axis] = spacing[axis] * n
    return np.moveaxis(np.stack(groups), 0, axis), tuple(new_spacing)


def my_rician_noise(image, sigma, rng):
    rng = np.random.default_rng(rng)
    noise = rng.normal(0.0, sigma, (2, *np.shape(image)))  # both channels at once
    return np.hypot(image + noise[1], noise[0])


def my_fit_bias(image, mask):
    rows, columns = np.nonzero(mask)
    y = -1 + 2 * rows / (image.shape[0] - 1)
    x = -1 + 2 * columns / (image.shape[1] - 1)
    design = np.column_stack([np.ones_like(x), x, y, x * y, x * x, y * y])
    target = np.log(image[rows, columns])
    solution = np.linalg.solve(design.T @ design, design.T @ target)  # normal equations
    return solution[1:]


def my_predict_partial_volume():
    return (2 * 0.8 + 3 * 0.5) / 5


RIGHT = {"block_average": my_block_average, "thick_slices": my_thick_slices,
         "rician_noise": my_rician_noise, "fit_bias": my_fit_bias,
         "predict_partial_volume": my_predict_partial_volume}


def test_the_chapter_has_the_exercises_of_the_index():
    assert set(RIGHT) == set(checks.CHAPTERS["ch01_imaging"])


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_an_independent_right_answer_passes(name, capsys):
    check(name, RIGHT[name])
    n = len(run_checks(name, RIGHT[name]))
    assert capsys.readouterr().out == f"{name}: {n}/{n} checks passed\n"


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_a_right_answer_also_passes_the_graders_cases(name):
    assert all(r.passed for r in run_checks(name, RIGHT[name], seed=31337))


# --- typical wrong answers, each caught by the case that shows the mistake --------------------


def test_block_average_that_subsamples_instead_of_averaging_fails_on_ramps():
    cases, message = failing("block_average", lambda image, factor: image[::factor, ::factor][
        :image.shape[0] // factor, :image.shape[1] // factor])
    assert "ramp 6x8, factor 2" in cases
    assert "constant 4x4, factor 2" not in cases  # a constant image cannot tell them apart


def test_block_average_that_keeps_partial_blocks_fails_on_odd_sizes():
    def keeps_edges(image, factor):
        rows, columns = -(-image.shape[0] // factor), -(-image.shape[1] // factor)
        return np.array([[image[i * factor:(i + 1) * factor, j * factor:(j + 1) * factor].mean()
                          for j in range(columns)] for i in range(rows)])

    cases, message = failing("block_average", keeps_edges)
    assert "odd size 7x10 (edges left over), factor 3" in cases
    assert "failing cases: " in message and "odd size (edges left over), factor" in message


def test_thick_slices_that_counts_slices_instead_of_mm_fails_on_anisotropic_spacing():
    def slices_not_mm(volume, spacing, thickness, axis):
        return my_thick_slices(volume, (1.0, 1.0, 1.0), thickness, axis)

    cases, message = failing("thick_slices", slices_not_mm)
    assert "anisotropic spacing (2.0, 1.0, 1.0): thickness in mm, not in slices" in cases
    assert "thickness equal to the spacing: nothing to average" not in cases


def test_thick_slices_along_axis_0_only_fails_on_the_other_axes():
    cases, _ = failing("thick_slices", lambda v, s, t, axis: my_thick_slices(v, s, t, 0))
    assert "along the columns (axis 2)" in cases
    assert "along the rows (axis 1), 3 rows into 1" in cases


def test_thick_slices_that_forgets_the_new_spacing_says_so():
    cases, message = failing("thick_slices", lambda v, s, t, a: (my_thick_slices(v, s, t, a)[0], s))
    assert "axis 0, 5 slices of 1 mm into 2 mm (the last slice left over)" in cases
    assert "new spacing:" in message


def test_thick_slices_must_return_the_pair():
    _, message = failing("thick_slices", lambda v, s, t, a: my_thick_slices(v, s, t, a)[0])
    assert "expected a pair (thick_volume, new_spacing)" in message


def test_gaussian_instead_of_rician_noise_fails_on_negative_values_in_the_dark():
    def gaussian(image, sigma, rng):
        return image + np.random.default_rng(rng).normal(0, sigma, image.shape)

    cases, message = failing("rician_noise", gaussian)
    assert "pure noise: a zero image 80x80 (the Rician floor)" in cases
    assert "never negative" in message
    assert "high SNR: signal 10 sigma 80x80 (almost Gaussian)" not in cases  # the lecture's point


def test_one_channel_only_misses_the_rician_floor():
    def one_channel(image, sigma, rng):
        return np.abs(image + np.random.default_rng(rng).normal(0, sigma, image.shape))

    cases, message = failing("rician_noise", one_channel)
    assert "pure noise: a zero image 80x80 (the Rician floor)" in cases
    assert "lower than Rician noise" in message


def test_noise_added_to_the_magnitude_fails_at_high_snr_on_the_spread():
    def on_magnitude(image, sigma, rng):
        n1, n2 = np.random.default_rng(rng).normal(0, sigma, (2, *image.shape))
        return np.sqrt(image**2 + n1**2 + n2**2)

    cases, _ = failing("rician_noise", on_magnitude)
    assert "high SNR: signal 10 sigma 80x80 (almost Gaussian)" in cases
    assert "pure noise: a zero image 80x80 (the Rician floor)" not in cases  # same there


def test_rician_noise_with_the_wrong_sigma_fails():
    cases, message = failing("rician_noise", lambda image, sigma, rng: my_rician_noise(
        image, sigma / np.sqrt(2), rng))
    assert "low SNR: signal equal to sigma 80x80" in cases and "standard errors" in message


def test_rician_noise_is_judged_by_its_distribution_not_by_the_draw_order():
    def other_order(image, sigma, rng):
        rng = np.random.default_rng(rng)
        imaginary = rng.normal(0, sigma, image.shape)
        real = rng.normal(0, sigma, image.shape)
        return np.sqrt((image + real) ** 2 + imaginary**2)

    for seed in range(5):  # and every seed: a right answer fails less than once in 10^8
        assert all(r.passed for r in run_checks("rician_noise", other_order, seed=seed))


def test_rician_reference_matches_the_library_sampler_and_the_textbook_floor():
    from mlseg import imaging
    from mlseg.checks.ch01_imaging import _compare_rician, _rician_moments

    image = np.linspace(0, 2, 200 * 50).reshape(200, 50)
    moments = _rician_moments(image, 0.2)
    assert _compare_rician(imaging.rician_noise(image, 0.2, rng=4), moments) is None
    assert moments.mean[0, 0] == pytest.approx(0.2 * np.sqrt(np.pi / 2))
    assert moments.std[-1, -1] == pytest.approx(0.2, rel=0.01)  # high SNR: almost Gaussian


def test_fit_bias_without_the_logarithm_fails():
    def no_log(image, mask):
        rows, columns = np.nonzero(mask)
        y = -1 + 2 * rows / (image.shape[0] - 1)
        x = -1 + 2 * columns / (image.shape[1] - 1)
        design = np.column_stack([np.ones_like(x), x, y, x * y, x * x, y * y])
        return np.linalg.lstsq(design, image[rows, columns], rcond=None)[0][1:]

    cases, _ = failing("fit_bias", no_log)
    assert "left-right bias only" in cases
    assert "no bias: a flat field" not in cases


def test_fit_bias_without_a_constant_fails_when_the_tissue_is_not_one():
    def no_constant(image, mask):
        rows, columns = np.nonzero(mask)
        y = -1 + 2 * rows / (image.shape[0] - 1)
        x = -1 + 2 * columns / (image.shape[1] - 1)
        design = np.column_stack([x, y, x * y, x * x, y * y])
        return np.linalg.lstsq(design, np.log(image[rows, columns]), rcond=None)[0]

    cases, _ = failing("fit_bias", no_constant)
    assert "tissue intensity 3 (not 1)" in cases


def test_fit_bias_that_ignores_the_mask_fails_with_two_tissues():
    cases, _ = failing("fit_bias", lambda image, mask: my_fit_bias(image, np.ones_like(mask)))
    assert "two tissues, mask on white matter only" in cases
    assert "left-right bias only" not in cases  # the mask covers everything there


def test_fit_bias_with_x_and_y_swapped_fails_on_a_left_right_bias():
    cases, _ = failing("fit_bias", lambda image, mask: my_fit_bias(image.T, mask.T))
    assert "left-right bias only" in cases
    assert "not square 16x40: x runs along the columns" in cases


def test_fit_bias_reference_recovers_the_library_model():
    from mlseg import imaging
    from mlseg.checks.ch01_imaging import _fit_polynomial_bias

    coefficients = (0.3, -0.4, 0.2, 0.1, -0.2)
    image = 0.7 * imaging.polynomial_bias((30, 45), coefficients)
    assert np.allclose(_fit_polynomial_bias(image, image > 0), coefficients)


@pytest.mark.parametrize("value, words", [
    (0.8, "pure white matter"), (0.5, "pure grey matter"), (0.65, "midpoint"),
    (0.32, "forgot the grey matter"), (0.7, None)])
def test_predict_partial_volume_explains_the_classic_slips_without_the_answer(value, words):
    results = run_checks("predict_partial_volume", lambda: value)
    assert not results[0].passed
    message = failure_message("predict_partial_volume", results)
    if words:
        assert words in message
    assert "0.62" not in message and "0.620" not in message
    assert f"hint: {checks.EXERCISES['predict_partial_volume'].hint}" in message


def test_predict_partial_volume_never_prints_the_expected_value():
    expected = checks.EXERCISES["predict_partial_volume"].reference()
    for value in np.linspace(0, 1, 101):
        results = run_checks("predict_partial_volume", lambda v=value: v)
        message = failure_message("predict_partial_volume", results) or ""
        for decimals in (2, 3, 4):
            assert f"{expected:.{decimals}f}" not in message


def test_case_names_say_what_is_special_and_families_stay_readable():
    rng = np.random.default_rng(checks.PUBLIC_SEED)
    for name in RIGHT:
        cases = checks.EXERCISES[name].cases(rng)
        assert len({c.name for c in cases}) == len(cases), name
        for case in cases:
            assert len(checks.case_family(case.name)) >= 5, case.name


def test_all_cases_of_an_exercise_are_fast():
    import time

    for name in RIGHT:
        start = time.perf_counter()
        exercise = checks.EXERCISES[name]
        for case in exercise.cases(np.random.default_rng(1)):
            checks.expected_answer(exercise, case)
        assert time.perf_counter() - start < 1.0, name
