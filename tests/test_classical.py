"""Chapter 03's classical methods: thresholds, region growing, atlases and forests."""

from collections import deque

import numpy as np
import pytest
from scipy import ndimage as ndi

from mlseg import atlas, forests, metrics, phantoms, region_growing, thresholding

# --- thresholding -------------------------------------------------------------------------------


def test_threshold_and_range_are_the_plain_comparisons():
    image = np.random.default_rng(0).random((20, 30))
    assert np.array_equal(thresholding.threshold(image, 0.4), image > 0.4)
    assert np.array_equal(thresholding.threshold_range(image, 0.2, 0.6),
                          (image >= 0.2) & (image <= 0.6))


def test_otsu_matches_scikit_image_and_splits_a_bimodal_image():
    from skimage.filters import threshold_multiotsu, threshold_otsu

    rng = np.random.default_rng(1)
    image = np.concatenate([rng.normal(0.2, 0.03, 500), rng.normal(0.8, 0.03, 500)])
    image = image.reshape(20, 50)
    t = thresholding.otsu(image)
    assert t == pytest.approx(threshold_otsu(image))
    assert np.array_equal(thresholding.threshold(image, t).ravel(), np.arange(1000) >= 500)
    brain, labels = phantoms.brain_slice(rng=2)
    inside = labels > 0
    assert thresholding.multi_otsu(brain, 3, mask=inside) == pytest.approx(
        list(threshold_multiotsu(brain[inside], classes=3)))
    segmented = thresholding.otsu_segment(brain, 3, mask=inside)
    assert metrics.dice(labels == 3, segmented == 3) > 0.85
    assert np.all(segmented[~inside] == 0)


# --- region growing -----------------------------------------------------------------------------


def grow_with_a_queue(image, seeds, lower, upper, connectivity):
    """The teaching version: breadth-first, one voxel at a time."""
    structure = ndi.generate_binary_structure(image.ndim, connectivity)
    offsets = [tuple(o - 1 for o in off) for off in np.argwhere(structure)
               if any(o != 1 for o in off)]
    region = np.zeros(image.shape, bool)
    queue = deque(s for s in seeds if lower <= image[s] <= upper)
    for s in queue:
        region[s] = True
    while queue:
        voxel = queue.popleft()
        for off in offsets:
            n = tuple(v + o for v, o in zip(voxel, off))
            if all(0 <= c < size for c, size in zip(n, image.shape)) and not region[n] \
                    and lower <= image[n] <= upper:
                region[n] = True
                queue.append(n)
    return region


@pytest.mark.parametrize("shape", [(25, 31), (9, 11, 13)])
@pytest.mark.parametrize("connectivity", [1, 2])
def test_region_grow_matches_the_queue_version(shape, connectivity):
    rng = np.random.default_rng(sum(shape) + connectivity)
    image = ndi.gaussian_filter(rng.random(shape), 1.0)
    for _ in range(4):
        seeds = [tuple(int(rng.integers(n)) for n in shape) for _ in range(2)]
        lower, upper = float(np.quantile(image, 0.3)), float(np.quantile(image, 0.9))
        expected = grow_with_a_queue(image, seeds, lower, upper, connectivity)
        got = region_growing.region_grow(image, seeds, lower=lower, upper=upper,
                                         connectivity=connectivity)
        assert np.array_equal(got, expected)


def test_region_grow_with_tolerance_uses_each_seeds_own_intensity():
    image = np.array([[1, 1, 1, 9, 5, 5],
                      [1, 1, 1, 9, 5, 5]], float)
    grown = region_growing.region_grow(image, [(0, 0), (0, 5)], tolerance=0.5)
    assert grown.sum() == 10 and not grown[:, 3].any()
    assert not region_growing.region_grow(image, (0, 3), lower=0, upper=2).any()


def test_region_grow_leaks_into_a_neighbour_when_contrast_is_low():
    image, labels = phantoms.brain_slice(rng=3)
    seed = tuple(np.argwhere(labels == 3)[len(np.argwhere(labels == 3)) // 2])
    grown = region_growing.region_grow(image, seed, tolerance=0.08)
    low, low_labels = phantoms.brain_slice(rng=3, contrast=0.3)
    leaked = region_growing.region_grow(low, seed, tolerance=0.08)
    assert metrics.precision(labels == 3, grown) > 0.9
    assert metrics.precision(low_labels == 3, leaked) < 0.7  # grey matter got in


@pytest.mark.parametrize("call, error, words", [
    (lambda: region_growing.region_grow(np.zeros((4, 4)), (9, 9), lower=0, upper=1),
     ValueError, "inside the image"),
    (lambda: region_growing.region_grow(np.zeros((4, 4)), (1, 1, 1), lower=0, upper=1),
     ValueError, "2-D voxel indices"),
    (lambda: region_growing.region_grow(np.zeros((4, 4)), (1, 1), lower=0), ValueError,
     "lower and upper"),
    (lambda: region_growing.region_grow(np.zeros((4, 4)), (1, 1), lower=0, upper=1,
                                        tolerance=1), ValueError, "not both"),
    (lambda: region_growing.region_grow(np.zeros((4, 4)), (1, 1), lower=2, upper=1),
     ValueError, "lower must be <= upper"),
    (lambda: region_growing.region_grow(np.zeros((4, 4)), (1, 1), tolerance=1,
                                        connectivity=3), ValueError, "connectivity"),
    (lambda: thresholding.threshold_range(np.zeros(3), 1, 0), ValueError, "lower"),
    (lambda: thresholding.otsu(np.zeros((3, 3))), ValueError, "distinct"),
    (lambda: thresholding.multi_otsu(np.arange(9.0), classes=9), ValueError, "classes"),
])
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


# --- atlases ------------------------------------------------------------------------------------


def test_majority_vote_matches_counting_by_hand_with_ties_to_the_smallest_label():
    rng = np.random.default_rng(4)
    maps = [rng.integers(0, 4, (6, 7)) for _ in range(4)]
    fused = atlas.majority_vote(maps)
    stack = np.stack(maps)
    for index in np.ndindex(6, 7):
        votes = np.bincount(stack[(slice(None), *index)], minlength=4)
        assert fused[index] == np.flatnonzero(votes == votes.max())[0]


def test_registering_an_image_to_itself_keeps_its_labels():
    image, labels = phantoms.brain_slice(size=64, rng=5)
    transform = atlas.register(image, image)
    assert metrics.dice(labels == 3, atlas.propagate(labels, transform) == 3) > 0.97


def test_multi_atlas_beats_the_average_single_atlas_and_misses_an_unseen_lesion():
    target, truth = phantoms.brain_slice(size=96, rng=100, lesion=True)
    atlases = [phantoms.brain_slice(size=96, rng=i) for i in range(5)]
    fused, propagated, seconds = atlas.multi_atlas_segment(target, atlases, progress=False)

    def mean_dice(labels):
        return metrics.evaluate(truth, labels, labels=[1, 2, 3], metrics=["dice"])["dice"].mean()

    assert mean_dice(fused) > np.mean([mean_dice(p) for p in propagated])
    assert mean_dice(fused) > 0.8
    assert not (fused == 4).any() and (truth == 4).any()  # no atlas has ever seen a lesion
    assert seconds > 0


# --- forests ------------------------------------------------------------------------------------


def test_pixel_features_hold_the_intensity_smoothings_and_positions():
    image = np.random.default_rng(6).random((10, 12))
    features = forests.pixel_features(image, sigmas=(1.0, 2.0))
    assert features.shape == (1 + 2 + 2 + 2, 10, 12)
    np.testing.assert_allclose(features[0], image, rtol=1e-6)
    np.testing.assert_allclose(features[1], ndi.gaussian_filter(image.astype(np.float32), 1.0),
                               rtol=1e-5)
    assert features[-1][0, -1] == 1.0 and features[-2][-1, 0] == 1.0
    two = forests.pixel_features([image, image * 2], sigmas=(1.0,), position=False)
    assert two.shape == (6, 10, 12)


def test_forest_learns_tissues_from_a_few_subjects_and_islands_can_be_removed():
    train = [phantoms.brain_slice(size=64, rng=i) for i in range(3)]
    forest = forests.train_forest([im for im, _ in train], [lab for _, lab in train], rng=0,
                                  pixels=3000, trees=15)
    image, truth = phantoms.brain_slice(size=64, rng=50)
    predicted = forests.predict_forest(forest, image)
    assert metrics.dice(truth == 3, predicted == 3) > 0.85
    again = forests.predict_forest(forests.train_forest(
        [im for im, _ in train], [lab for _, lab in train], rng=0, pixels=3000, trees=15), image)
    assert np.array_equal(predicted, again)  # seeded
    noisy = predicted.copy()
    noisy[10, 10] = 4  # a stray pixel of a class that is nowhere else
    cleaned = forests.remove_islands(noisy, min_size=3)
    assert not (cleaned == 4).any()
    assert set(np.unique(cleaned)) <= set(np.unique(noisy))
