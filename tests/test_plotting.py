"""Figures and widgets, tested without a browser: the drawing functions hold the logic."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlseg import metrics, phantoms, plotting, widgets  # noqa: E402
from mlseg.plotting import CONFUSION_COLOURS  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield

    matplotlib.pyplot.close("all")


def pair():
    reference = phantoms.disk((24, 24), (12, 12), 6)
    prediction = phantoms.perturb(reference, shift=(0, 3))
    return reference, prediction


def test_confusion_overlay_colours_every_pixel_by_its_class():
    reference, prediction = pair()
    fig, ax = plotting.show_confusion(reference, prediction)
    rgba = ax.images[-1].get_array()
    for name, where in {"TP": reference & prediction, "FP": ~reference & prediction,
                        "FN": reference & ~prediction}.items():
        assert np.allclose(rgba[where][:, :3], CONFUSION_COLOURS[name])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    c = metrics.confusion(reference, prediction)
    assert labels == [f"TP = {c.tp}", f"FP = {c.fp}", f"FN = {c.fn}", f"TN = {c.tn}"]


def test_distance_map_figure_shows_the_library_map_in_mm():
    reference, prediction = pair()
    fig, ax = plotting.show_distance_map(reference, other=prediction, spacing=(1.0, 2.0))
    shown = ax.images[0].get_array()
    assert np.allclose(shown, metrics.distance_map(reference, spacing=(1.0, 2.0)))
    assert ax.images[0].get_extent()[1] == pytest.approx((24 - 0.5) * 2.0)


def test_show_masks_lays_out_panels_and_hides_spares():
    reference, prediction = pair()
    fig, axes = plotting.show_masks({"a": reference, "b": prediction, "c": reference},
                                    reference=reference, ncols=2)
    assert len(axes) == 4 and not axes[3].get_visible()
    assert axes[1].get_title() == "b"


def test_draw_measures_moves_the_prediction_and_reports_the_library_values():
    reference, prediction = pair()
    _, _, values = widgets.draw_measures(reference, prediction, dx=-3)
    assert values["dice"] == 1.0 and values["hd"] == 0.0
    _, _, values = widgets.draw_measures(reference, prediction, dy=1, grow=1, spacing=(1, 2),
                                         tolerance=2.0)
    moved = phantoms.perturb(prediction, shift=(1, 0), grow=1)
    assert values["dice"] == pytest.approx(metrics.dice(reference, moved))
    assert values["nsd"] == pytest.approx(metrics.nsd(reference, moved, 2.0, spacing=(1, 2)))
    assert values["assd"] == pytest.approx(metrics.assd(reference, moved, spacing=(1, 2)))


def test_measures_explorer_has_three_sliders_that_redraw():
    reference, prediction = pair()
    explorer = widgets.measures_explorer(reference, prediction)
    sliders = {c.description: c for c in explorer.children[:-1]}
    assert set(sliders) == {"shift ↓ (px)", "shift → (px)", "grow (px)"}
    calls = []
    original = explorer.f
    explorer.f = lambda **kw: calls.append(kw) or original(**kw)
    sliders["shift → (px)"].value = -3
    assert calls and calls[-1]["dx"] == -3


@pytest.mark.parametrize("call, error, words", [
    (lambda: plotting.show_confusion(np.ones((3, 3, 3)), np.ones((3, 3, 3))), ValueError,
     "reference must have 2 to 2"),
    (lambda: plotting.show_confusion(np.ones((3, 3)), np.ones((3, 4))), ValueError, "same shape"),
    (lambda: plotting.show_masks([]), TypeError, "masks"),
    (lambda: widgets.draw_measures(np.ones((3, 3)), np.ones((3, 3)), dx=0.5), TypeError, "dx"),
    (lambda: widgets.measures_explorer(np.ones((3, 3)), np.ones((3, 3)), max_shift=-1),
     ValueError, "max_shift"),
])
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


# --- chapter 01 -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def brain():
    return phantoms.brain_slice(size=64, rng=0)


@pytest.mark.parametrize("challenge", list(widgets.CHALLENGES))
def test_every_challenge_costs_the_threshold_dice_as_it_grows(challenge, brain):
    image, labels = brain
    low, high, _ = widgets.CHALLENGES[challenge][1]
    clean, strong = widgets.challenge_dice(challenge, image, labels, [low, high])
    assert strong < clean
    fig, _, dice = widgets.draw_challenge(challenge, high, image=image, labels=labels)
    assert dice == pytest.approx(strong)


def test_challenge_explorer_slider_redraws(brain):
    image, labels = brain
    explorer = widgets.challenge_explorer("noise", image, labels)
    slider = explorer.children[0]
    assert slider.description == "noise sigma"
    calls = []
    original = explorer.f
    explorer.f = lambda **kw: calls.append(kw) or original(**kw)
    slider.value = 0.2
    assert calls[-1]["strength"] == pytest.approx(0.2)


def test_thick_slices_drawing_and_subject_browser():
    volume, labels = phantoms.brain_volume(spacing=(4, 4, 4), rng=0)
    _, _, thin = widgets.draw_thick_slices(volume, labels, 4, spacing=(4, 4, 4))
    _, _, thick = widgets.draw_thick_slices(volume, labels, 16, spacing=(4, 4, 4))
    assert thick < thin
    assert widgets.thickness_explorer(volume, labels, spacing=(4, 4, 4)).children[0].max == 24
    _, reference = phantoms.brain_slice(size=48, rng=0)
    _, _, same = widgets.draw_subject_slice(0, reference, size=48)
    _, _, other = widgets.draw_subject_slice(1, reference, size=48)
    assert same == 1.0 and other < 1.0


def test_unknown_challenge_is_a_clear_error(brain):
    with pytest.raises(ValueError, match="challenge must be one of"):
        widgets.challenge_dice("earthquake", *brain, [0.1])


# --- chapter 03 -------------------------------------------------------------------------------


def test_threshold_and_range_drawings_report_the_numpy_dice():
    image, labels = phantoms.brain_slice(size=64, rng=1)
    image8 = np.round(image / image.max() * 255).astype(np.uint8)
    _, _, dice = widgets.draw_threshold(image8, labels, 150)
    assert dice == metrics.dice(labels == 3, image8 > 150)
    _, _, dice = widgets.draw_range(image8, labels, 100, 170, tissue=2)
    assert dice == metrics.dice(labels == 2, (image8 >= 100) & (image8 <= 170))
    explorer = widgets.threshold_explorer(image8, labels, value=140)
    assert explorer.children[0].value == 140 and explorer.children[0].max == image8.max()
    with pytest.raises(TypeError, match="integer"):
        widgets.threshold_explorer(image, labels)
    _, _, dice = widgets.draw_region(image8, labels, (32, 40), 20)
    assert 0 <= dice <= 1
    assert len(widgets.region_explorer(image8, labels, (32, 40)).children) == 4


# --- the course's one colour scheme ------------------------------------------------------------


def test_label_maps_use_the_tissue_colours_and_name_the_tissues_present():
    from mlseg.plotting import TISSUE_COLOURS, TISSUE_NAMES, show_labels

    labels = np.zeros((8, 8), int)
    labels[2:6, 2:6] = 3
    labels[3, 3] = 4
    fig, ax = show_labels(labels, title="WM with a lesion")
    rgba = ax.images[-1].get_array()
    assert tuple(rgba[2, 2, :3]) == TISSUE_COLOURS[3]
    assert tuple(rgba[3, 3, :3]) == TISSUE_COLOURS[4]
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert names == [TISSUE_NAMES[0], TISSUE_NAMES[3], TISSUE_NAMES[4]]
    with pytest.raises(ValueError, match="tissue labels"):
        show_labels(np.full((4, 4), 7))
    matplotlib.pyplot.close("all")


def test_histograms_are_steps_in_tissue_colours_with_one_bin_per_gray_level():
    from mlseg.plotting import TISSUE_COLOURS, show_histogram

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(64, 64)).astype(np.uint8)
    labels = (image > 128).astype(int) + 2  # GM and WM
    fig, ax = show_histogram(image, labels=labels, thresholds=[128])
    stairs = [p for p in ax.patches if type(p).__name__ == "StepPatch"]
    assert len(stairs) == 3  # all pixels, GM, WM
    values, edges, _ = stairs[0].get_data()
    assert np.allclose(np.diff(edges), 1.0)  # one bin per level: no empty bands
    assert (values > 0).all()
    assert tuple(stairs[2].get_edgecolor()[:3]) == pytest.approx(TISSUE_COLOURS[3])
    assert ax.get_xlabel() == "intensity" and ax.get_ylabel() == "pixels"
    assert any(line.get_xdata()[0] == 128 for line in ax.lines)
    matplotlib.pyplot.close("all")


def test_masks_against_a_reference_show_misses_in_the_confusion_colours():
    from mlseg.plotting import CONFUSION_COLOURS

    reference = np.zeros((10, 10), bool)
    reference[2:8, 2:8] = True
    shrunk = np.zeros_like(reference)
    shrunk[3:7, 3:7] = True
    fig, axes = plotting.show_masks({"shrunk": shrunk}, reference=reference)
    rgba = axes[0].images[-1].get_array()
    assert tuple(rgba[2, 2, :3]) == CONFUSION_COLOURS["FN"]  # the miss is visible
    assert tuple(rgba[4, 4, :3]) == CONFUSION_COLOURS["TP"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["TP", "FP", "FN"]
    matplotlib.pyplot.close("all")


# --- chapter 04: classification maps over a canvas --------------------------------------------


def class_map_inputs(classes=3, size=9, winner=(2, 3), label=1):
    """A 64x64 canvas and log-probabilities where ``label`` wins (p = 0.98) at ``winner`` only."""
    canvas = np.random.default_rng(0).random((64, 64))
    probability = np.full((classes, size, size), 0.02 / (classes - 1))
    probability[0] = 1 - 0.02  # class 0 wins everywhere...
    probability[0][winner], probability[label][winner] = 0.02 / (classes - 1), 0.98  # ...but here
    return canvas, np.log(probability)


def test_class_map_lies_on_the_canvas_where_its_windows_are():
    canvas, log_probs = class_map_inputs()
    fig, ax = plotting.show_class_map(canvas, log_probs, 1, stride=4, field=32)
    grey, overlay = ax.images
    assert grey.get_array().shape == (64, 64)
    # window (i, j) starts at (4i, 4j) and is centred at 15.5 + 4i: cells 4 px wide around it
    assert overlay.get_extent() == [13.5, 13.5 + 9 * 4, 13.5 + 9 * 4, 13.5]
    alpha = overlay.get_array()[..., 3]
    assert np.unravel_index(alpha.argmax(), alpha.shape) == (2, 3)
    assert ax.get_xlim() == (-0.5, 63.5) and ax.get_title().startswith("P(1), max 0.98")
    assert len(fig.axes) == 2  # the map and its colour bar


def test_a_dense_map_has_one_cell_per_pixel_and_class_names_title_it():
    canvas, log_probs = class_map_inputs(size=33, winner=(5, 7))
    _, ax = plotting.show_class_map(canvas, log_probs, 1, stride=1, field=32,
                                    names=["zero", "one", "two"], colorbar=False)
    assert ax.images[-1].get_extent() == [15.0, 48.0, 48.0, 15.0]
    assert ax.get_title().startswith("P(one)")


def test_a_class_map_too_big_for_its_canvas_is_refused():
    canvas, log_probs = class_map_inputs(size=10)  # 9 * 4 + 32 = 68 > 64 pixels
    with pytest.raises(ValueError, match=r"canvas of at least \(68, 68\), got \(64, 64\)"):
        plotting.show_class_map(canvas, log_probs, 1)
    with pytest.raises(ValueError, match="label"):
        plotting.show_class_map(canvas[:40, :40], log_probs[:, :2, :2], 3)


def test_class_maps_small_multiples_one_titled_panel_per_class_six_a_row():
    canvas, log_probs = class_map_inputs(classes=11)
    fig, axes = plotting.show_class_maps(canvas, log_probs, names=[*map(str, range(10)), "none"])
    assert len(axes) == 11 and all(ax.get_visible() for ax in axes)
    first_row = {round(ax.get_position().y0, 3) for ax in axes[:6]}
    assert len(first_row) == 1 and round(axes[6].get_position().y0, 3) not in first_row
    assert axes[1].get_title() == "P(1), max 0.98" and axes[10].get_title() == "P(none), max 0.00"
    assert all(ax.get_window_extent().width >= 180 for ax in axes)  # ~200 px panels
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 12  # and one colour bar
