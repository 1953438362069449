"""Tests of mlseg.phantoms: shapes with exact ground truth and simulated annotators."""

import numpy as np
import pytest

from mlseg import metrics, phantoms


def test_disk_is_the_same_physical_shape_at_any_spacing():
    fine = phantoms.disk((80, 80), (10, 10), 6, spacing=(0.25, 0.25))
    coarse = phantoms.disk((20, 20), (10, 10), 6, spacing=(1.0, 1.0))
    area_fine, area_coarse = fine.sum() * 0.25**2, coarse.sum() * 1.0
    assert area_fine == pytest.approx(np.pi * 36, rel=0.02)
    assert area_coarse == pytest.approx(np.pi * 36, rel=0.05)


def test_ball_in_3d_with_anisotropic_spacing():
    ball = phantoms.disk((20, 40, 40), (10, 10, 10), 5, spacing=(1.0, 0.5, 0.5))
    assert ball.sum() * 0.25 == pytest.approx(4 / 3 * np.pi * 125, rel=0.05)


def test_blob_is_seeded_connected_and_inside():
    from scipy import ndimage as ndi

    a = phantoms.blob((48, 48), rng=3)
    assert np.array_equal(a, phantoms.blob((48, 48), rng=3))
    assert not np.array_equal(a, phantoms.blob((48, 48), rng=4))
    assert ndi.label(a)[1] == 1
    assert 0.05 < a.mean() < 0.5


def test_annotate_with_bias_grows_by_that_many_mm_and_jitter_is_seeded():
    square = np.zeros((30, 30), bool)
    square[10:20, 10:20] = True
    assert np.array_equal(phantoms.annotate(square, jitter=0.0), square)
    grown = phantoms.annotate(square, bias=2.0, jitter=0.0)
    assert np.flatnonzero(grown[:, 15]).tolist() == list(range(8, 22))  # 2 px more each side
    assert np.flatnonzero(grown[15, :]).tolist() == list(range(8, 22))
    assert metrics.hausdorff(square, grown) == pytest.approx(np.sqrt(5))  # rounded corners
    shrunk = phantoms.annotate(square, bias=-1.0, jitter=0.0)
    assert shrunk.sum() == 64
    a = phantoms.annotate(square, jitter=1.0, rng=1)
    assert np.array_equal(a, phantoms.annotate(square, jitter=1.0, rng=1))
    assert 0.7 < metrics.dice(square, a) < 1.0


def test_perturb_shifts_and_grows_without_wrapping():
    line = np.array([1, 1, 0, 0, 0], bool)
    assert phantoms.perturb(line, shift=(-1,)).tolist() == [True, False, False, False, False]
    assert phantoms.perturb(line, shift=(4,)).tolist() == [False] * 4 + [True]
    square = np.zeros((9, 9), bool)
    square[3:6, 3:6] = True
    assert phantoms.perturb(square, grow=-1).sum() == 1
    assert phantoms.perturb(square, grow=1).sum() == 9 + 12
    original = square.copy()
    phantoms.perturb(square, shift=(1, 1), grow=1)
    assert np.array_equal(square, original)


@pytest.mark.parametrize("call, error, words", [
    (lambda: phantoms.disk(64, (1, 1), 3), TypeError, "shape"),
    (lambda: phantoms.disk((8, 8), (1,), 3), ValueError, "center"),
    (lambda: phantoms.disk((8, 8), (1, 1), 0), ValueError, "radius"),
    (lambda: phantoms.disk((8, 8, 8, 8), (1, 1, 1, 1), 2), ValueError, "shape"),
    (lambda: phantoms.blob((8, 8), fill=1.5), ValueError, "fill"),
    (lambda: phantoms.annotate(np.ones((4, 4)), jitter=-1), ValueError, "jitter"),
    (lambda: phantoms.annotate(np.full((4, 4), 3)), ValueError, "mask"),
    (lambda: phantoms.perturb(np.ones((4, 4), bool), shift=(1,)), ValueError, "shift"),
    (lambda: phantoms.perturb(np.ones((4, 4), bool), grow=1.5), TypeError, "grow"),
])
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()
