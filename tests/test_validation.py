"""One rule for integer arguments everywhere: the wrong type is a TypeError, out of range a
ValueError, and the message names the argument, the value and what was expected."""

import numpy as np
import pytest

from mlseg import atlas, forests, imaging, metrics, phantoms, plotting, region_growing, thresholding
from mlseg._validation import as_image, as_int, as_shape


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3), np.int32(3)])
def test_as_int_accepts_python_and_numpy_integers_and_returns_a_python_int(value):
    result = as_int("n", value, low=1)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize("value", [3.0, np.float64(3.0), 2.5, True, np.bool_(True), "3", None,
                                   np.array(3)])
def test_as_int_rejects_every_non_integer_type_with_a_type_error(value):
    with pytest.raises(TypeError, match=r"^size must be an integer from 1 to 9, got "):
        as_int("size", value, low=1, high=9)


def test_as_int_message_names_the_value_and_its_type():
    with pytest.raises(TypeError, match=r"size must be an integer >= 8, got 64\.0 \(float\)"):
        as_int("size", 64.0, low=8)


@pytest.mark.parametrize("value, low, high, words", [
    (0, 1, None, "factor must be an integer >= 1, got 0"),
    (7, None, 6, "factor must be an integer <= 6, got 7"),
    (7, 2, 6, "factor must be an integer from 2 to 6, got 7"),
])
def test_as_int_out_of_range_is_a_value_error_stating_the_range(value, low, high, words):
    with pytest.raises(ValueError, match=words):
        as_int("factor", value, low=low, high=high)


def test_as_int_bounds_are_inclusive():
    assert as_int("k", 2, low=2, high=2) == 2


def test_as_shape_accepts_any_integer_sequence_and_returns_python_ints():
    assert as_shape("shape", np.zeros((4, 5)).shape) == (4, 5)
    assert as_shape("shape", [np.int64(3), 2, 1]) == (3, 2, 1)
    assert as_shape("shift", (-2, 0), min_ndim=2, max_ndim=2, low=None) == (-2, 0)


@pytest.mark.parametrize("value, error, words", [
    (64, TypeError, "got the single value 64"),
    (64.0, TypeError, "single value"),
    ("64", TypeError, "shape"),
    (None, TypeError, "shape"),
    ((8.0, 8), TypeError, r"shape\[0\] must be an integer >= 1, got 8\.0"),
    ((8, True), TypeError, r"shape\[1\]"),
    ((8, 0), ValueError, r"shape\[1\] must be an integer >= 1, got 0"),
    ((), ValueError, "1 to 3 integers"),
    ((2, 2, 2, 2), ValueError, "got 4 entries"),
])
def test_as_shape_errors_name_the_argument_and_the_entry(value, error, words):
    with pytest.raises(error, match=words):
        as_shape("shape", value)


def test_as_image_keeps_the_dtype_and_rejects_non_finite_values():
    assert as_image("image", np.zeros((2, 2), bool)).dtype == bool
    with pytest.raises(ValueError, match="image must not contain NaN"):
        as_image("image", [[1.0, np.inf]])
    with pytest.raises(TypeError, match="image must be an array"):
        as_image("image", "not an image")


# --- every public function with an integer argument follows the same rule ---------------------

IMAGE = np.arange(64.0).reshape(8, 8)
LABELS = (IMAGE > 30).astype(np.uint8)
MASK = LABELS.astype(bool)
VOLUME = np.zeros((4, 4, 4))
IDENTITY = atlas.Transform(np.eye(2), np.zeros(2), None)
TRAINING = ([IMAGE, IMAGE], [LABELS, LABELS])

# (id, call with the integer argument set to v, the argument's name in the message,
#  an out-of-range integer or None when every integer is allowed)
INTEGER_ARGUMENTS = [
    ("imaging.block_average factor", lambda v: imaging.block_average(IMAGE, v), "factor", 0),
    ("imaging.partial_volume factor", lambda v: imaging.partial_volume(IMAGE, LABELS, v),
     "factor", 0),
    ("imaging.polynomial_bias shape", lambda v: imaging.polynomial_bias((v, 4), (0,) * 5),
     "shape[0]", 0),
    ("imaging.bias_field shape", lambda v: imaging.bias_field((4, v)), "shape[1]", -1),
    ("imaging.thick_slices axis", lambda v: imaging.thick_slices(VOLUME, (1, 1, 1), 2, axis=v),
     "axis", 3),
    ("imaging.reformat order", lambda v: imaging.reformat(VOLUME, (1, 1, 1), order=v), "order",
     4),
    ("imaging.metal_artifact angles",
     lambda v: imaging.metal_artifact(IMAGE, MASK, angles=v), "angles", 4),
    ("phantoms.disk shape", lambda v: phantoms.disk((v, 8), (4, 4), 2), "shape[0]", 0),
    ("phantoms.blob shape", lambda v: phantoms.blob((8, v)), "shape[1]", 0),
    ("phantoms.perturb shift", lambda v: phantoms.perturb(MASK, shift=(v, 0)), "shift[0]",
     None),
    ("phantoms.perturb grow", lambda v: phantoms.perturb(MASK, grow=v), "grow", None),
    ("phantoms.brain_slice size", lambda v: phantoms.brain_slice(size=v), "size", 4),
    ("phantoms.brain_slice axis", lambda v: phantoms.brain_slice(size=16, axis=v), "axis", 3),
    ("phantoms.brain_cohort n", lambda v: phantoms.brain_cohort(v, progress=False), "n", 0),
    ("thresholding.multi_otsu classes", lambda v: thresholding.multi_otsu(IMAGE, v), "classes",
     7),
    ("thresholding.otsu_segment classes", lambda v: thresholding.otsu_segment(IMAGE, v),
     "classes", 1),
    ("region_growing.region_grow connectivity",
     lambda v: region_growing.region_grow(IMAGE, (0, 0), tolerance=1, connectivity=v),
     "connectivity", 3),
    ("forests.train_forest pixels", lambda v: forests.train_forest(*TRAINING, pixels=v),
     "pixels", 5),
    ("forests.train_forest trees", lambda v: forests.train_forest(*TRAINING, trees=v), "trees",
     0),
    ("forests.train_forest depth", lambda v: forests.train_forest(*TRAINING, depth=v), "depth",
     0),
    ("forests.remove_islands min_size", lambda v: forests.remove_islands(LABELS, min_size=v),
     "min_size", 0),
    ("forests.remove_islands connectivity",
     lambda v: forests.remove_islands(LABELS, connectivity=v), "connectivity", 3),
    ("atlas.warp order", lambda v: atlas.warp(IMAGE, IDENTITY, order=v), "order", 6),
    ("metrics.evaluate labels", lambda v: metrics.evaluate(LABELS, LABELS, labels=[v]),
     "labels", None),
    ("plotting.show_masks ncols", lambda v: plotting.show_masks({"a": MASK}, ncols=v), "ncols",
     0),
]
IDS = [case[0] for case in INTEGER_ARGUMENTS]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.mark.parametrize("case", INTEGER_ARGUMENTS, ids=IDS)
@pytest.mark.parametrize("wrong", [2.0, True], ids=["float", "bool"])
def test_a_float_or_a_bool_for_an_integer_argument_is_a_type_error_naming_it(case, wrong):
    _, call, name, _ = case
    with pytest.raises(TypeError) as raised:
        call(wrong)
    message = str(raised.value)
    assert message.startswith(f"{name} must be"), message
    assert repr(wrong) in message and "integer" in message, message


BOUNDED = [case for case in INTEGER_ARGUMENTS if case[3] is not None]


@pytest.mark.parametrize("case", BOUNDED, ids=[case[0] for case in BOUNDED])
@pytest.mark.parametrize("integer", [int, np.int64], ids=["int", "numpy.int64"])
def test_an_integer_out_of_range_is_a_value_error_naming_it(case, integer):
    _, call, name, bad = case
    with pytest.raises(ValueError) as raised:
        call(integer(bad))
    message = str(raised.value)
    assert message.startswith(f"{name} must be"), message
    assert str(bad) in message, message


def test_region_grow_seeds_follow_the_same_rule():
    with pytest.raises(TypeError, match="seeds must be integer voxel indices"):
        region_growing.region_grow(IMAGE, (1.0, 2.0), tolerance=1)
    with pytest.raises(TypeError, match="seeds"):
        region_growing.region_grow(IMAGE, (True, True), tolerance=1)
    assert region_growing.region_grow(IMAGE, np.array([1, 2]), tolerance=0).sum() == 1


def test_the_same_mistake_gives_the_same_error_in_every_module():
    """The issue's two examples: a whole float for a size, and a fractional factor."""
    with pytest.raises(TypeError, match="size"):
        phantoms.brain_slice(size=64.0)
    with pytest.raises(TypeError, match="factor"):
        imaging.block_average(IMAGE, 1.5)
