"""The digit data: frames, the seeded split, the "no digit" class, the sampler, canvases."""

import numpy as np
import pytest

from mlseg import digits
from mlseg.digits import NO_DIGIT, canvas, load, no_digit_patches, sampler, split


def test_load_gives_1797_centred_20x20_digits_in_0_1():
    images, labels = load()
    assert images.shape == (1797, 32, 32) and images.dtype == np.float32
    assert labels.dtype == np.int64 and np.bincount(labels).min() >= 170
    assert images.min() == 0 and 0.9 < images.max() <= 1
    inner = np.zeros((32, 32), bool)
    inner[6:26, 6:26] = True
    assert (images[:, ~inner] == 0).all()  # a 6-pixel empty margin
    assert (images[:, inner].reshape(1797, -1).max(axis=1) > 0.5).all()


def test_the_digit_is_the_same_in_a_28_frame():
    small, small_labels = load(size=28)
    big, _ = load()
    assert small.shape == (1797, 28, 28)
    assert np.array_equal(small[:, 4:24, 4:24], big[:, 6:26, 6:26])
    assert np.array_equal(small_labels, load()[1])


def test_load_returns_fresh_copies():
    images, _ = load()
    images[:] = 1
    assert load()[0].max() < 1.01 and load()[0][0, 0, 0] == 0


def test_upsampling_keeps_the_8x8_picture():
    from sklearn.datasets import load_digits

    original = load_digits().images[:50] / 16
    digit = load()[0][:50, 6:26, 6:26]
    for o, d in zip(original, digit):
        # each 8x8 pixel as a 2.5x2.5 block: repeat 5x, then average 2x2 blocks
        blocky = np.kron(o, np.ones((5, 5))).reshape(20, 2, 20, 2).mean(axis=(1, 3))
        assert np.corrcoef(blocky.ravel(), d.ravel())[0, 1] > 0.9
        assert abs(blocky.mean() - d.mean()) < 0.05


def test_split_is_seeded_stratified_and_disjoint():
    a = split(rng=3)
    b = split(rng=3)
    c = split(rng=4)
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    assert not np.array_equal(a[2], c[2])
    x_train, y_train, x_test, y_test = a
    assert len(x_train) + len(x_test) == 1797
    counts = np.bincount(y_test, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 46  # about a quarter of ~180 per class
    train_keys = {im.tobytes() for im in x_train}
    assert not any(im.tobytes() in train_keys for im in x_test)


def test_split_with_no_digit_adds_the_eleventh_class_to_both_parts():
    x_train, y_train, x_test, y_test = split(no_digit=1.0, rng=0)
    plain = split(rng=0)
    n = len(plain[3])  # the same held-out digits come first
    assert np.array_equal(x_test[:n], plain[2]) and np.array_equal(y_test[:n], plain[3])
    assert set(np.unique(y_train)) == set(range(11))
    assert (y_train == NO_DIGIT).sum() == (y_train != NO_DIGIT).sum()
    assert (y_test == NO_DIGIT).sum() == (y_test != NO_DIGIT).sum()
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() <= 1
    empty = (x_train[y_train == NO_DIGIT].reshape(-1, 32 * 32).max(axis=1) == 0).mean()
    assert 0.2 <= empty < 0.4  # 20 % empty by design, a few more cut off every digit


def test_jitter_moves_each_digit_by_at_most_that_many_pixels():
    centred = split(rng=0)
    moved = split(jitter=2, rng=0)
    assert np.array_equal(centred[1], moved[1]) and np.array_equal(centred[3], moved[3])
    shifts = set()
    for a, b in zip(centred[0][:100], moved[0][:100]):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.array_equal(np.roll(a, (dy, dx), axis=(0, 1)), b)]
        assert found
        shifts.add(found[0])
    assert len(shifts) > 5
    with pytest.raises(ValueError, match="jitter"):
        split(jitter=7)


def test_no_digit_patches_are_never_on_a_digit():
    images, _ = load()
    one = images[:1]
    patches = no_digit_patches(one, 60, min_offset=4, empty=0.0, rng=0)
    near = [np.roll(np.pad(one[0], 4), (dy, dx), axis=(0, 1))[4:36, 4:36]
            for dy in range(-3, 4) for dx in range(-3, 4)]
    for patch in patches:
        assert not any(np.array_equal(patch, n) for n in near)
    assert (patches.reshape(60, -1).max(axis=1) > 0).mean() > 0.5  # most show some ink


def test_no_digit_patches_are_seeded_and_checked():
    images, _ = load()
    a = no_digit_patches(images[:20], 10, rng=1)
    assert np.array_equal(a, no_digit_patches(images[:20], 10, rng=1))
    assert a.shape == (10, 32, 32) and a.dtype == np.float32
    assert (a.reshape(10, -1).max(axis=1) == 0).sum() >= 2  # empty=0.2, or cut off the ink
    with pytest.raises(ValueError, match="images must have 3 to 3 dimensions"):
        no_digit_patches(images[0], 3)
    with pytest.raises(ValueError, match="min_offset"):
        no_digit_patches(images[:2], 3, min_offset=0)


def test_sampler_shifts_digits_but_not_no_digit_frames():
    images, labels = load()
    images, labels = images[:5], labels[:5].copy()
    labels[0] = NO_DIGIT
    data = sampler(images, labels, jitter=2)
    x, y = data(np.random.default_rng(0), 200)
    assert x.shape == (200, 1, 32, 32) and y.dtype == np.int64
    x2, y2 = data(np.random.default_rng(0), 200)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert all(np.array_equal(f[0], images[0]) for f in x[y == NO_DIGIT])
    moved = sum(not any(np.array_equal(f[0], im) for im in images) for f in x[y != NO_DIGIT])
    assert moved > 100


def test_canvas_digits_sit_at_the_returned_corners_without_overlap():
    images, labels = load()
    image, label_map, corners, classes = canvas(images, labels, n=6, rng=2)
    assert image.shape == label_map.shape == (128, 128) and image.dtype == np.float32
    assert corners.shape == (6, 2) and classes.shape == (6,)
    covered = np.zeros((128, 128), int)
    for (r, c), k in zip(corners, classes):
        frame = image[r:r + 32, c:c + 32]
        assert any(np.array_equal(frame, im) for im in images[labels == k])
        ink = frame >= 0.5
        assert (label_map[r:r + 32, c:c + 32][ink] == k).all()
        assert (label_map[r:r + 32, c:c + 32][~ink] == NO_DIGIT).all()
        covered[r:r + 32, c:c + 32] += 1
    assert covered.max() == 1  # frames never overlap
    assert (image[covered == 0] == 0).all() and (label_map[covered == 0] == NO_DIGIT).all()


def test_canvas_is_seeded_and_says_when_digits_do_not_fit():
    images, labels = load()
    a = canvas(images, labels, shape=(96, 160), n=4, rng=5)
    b = canvas(images, labels, shape=(96, 160), n=4, rng=5)
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    assert a[0].shape == (96, 160)
    with pytest.raises(ValueError, match="cannot fit"):
        canvas(images, labels, shape=(64, 64), n=5)
    with pytest.raises(ValueError, match="labels must have shape"):
        canvas(images, labels[:-1])
    with pytest.raises(ValueError, match="at least the frame size"):
        canvas(images, labels, shape=(20, 200), n=1)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="size must be an integer from 20 to 256"):
        load(size=16)
    with pytest.raises(TypeError, match="size must be an integer"):
        load(size=32.0)
    with pytest.raises(ValueError, match="test_fraction"):
        split(test_fraction=1.0)
    with pytest.raises(ValueError, match="no_digit"):
        split(no_digit=-1)
    assert digits.DIGIT_SIZE == 20
