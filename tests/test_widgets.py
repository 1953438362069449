"""Explorers without a browser: sliders redraw a PNG and a readout; no Output widget anywhere;
displaying one shows static small multiples first."""

import matplotlib

matplotlib.use("Agg")

import io  # noqa: E402
import re  # noqa: E402

import ipywidgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from mlseg import imaging, phantoms, widgets  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == [], "an explorer left a matplotlib figure open"
    plt.close("all")


@pytest.fixture(scope="module")
def slice8():
    """A small noisy 8-bit slice and its labels, as chapter 03 uses them."""
    clean, labels = phantoms.brain_slice(size=64, rng=3)
    noisy = imaging.rician_noise(clean, 0.03, rng=3)
    image = np.round(np.clip(noisy / noisy.max(), 0, 1) * 255).astype(np.uint8)
    return image, labels


def numpy_dice(a, b):
    return 2 * np.sum(a & b) / (np.sum(a) + np.sum(b))


def all_explorers(slice8):
    image, labels = slice8
    clean, _ = phantoms.brain_slice(size=64, rng=3)
    reference = phantoms.disk((24, 24), (12, 12), 6)
    volume, volume_labels = phantoms.brain_volume(spacing=(6, 6, 6), rng=0)
    return {
        "measures": widgets.measures_explorer(reference, phantoms.perturb(reference, grow=1)),
        "challenge": widgets.challenge_explorer("partial volume", clean, labels),
        "thickness": widgets.thickness_explorer(volume, volume_labels, spacing=(6, 6, 6),
                                                max_factor=3),
        "subject": widgets.subject_explorer(labels, subjects=3, size=64),
        "threshold": widgets.threshold_explorer(image, labels, value=150),
        "range": widgets.range_explorer(image, labels, value=(90, 150)),
        "region": widgets.region_explorer(image, labels, (32, 40)),
    }


def descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from descendants(child)


def test_no_explorer_captures_output_and_each_shows_a_png_and_a_readout(slice8):
    for name, explorer in all_explorers(slice8).items():
        kinds = {type(w) for w in descendants(explorer)}
        assert ipywidgets.Output not in kinds, name
        assert ipywidgets.Image in kinds and ipywidgets.HTML in kinds, name
        assert bytes(explorer.image.value).startswith(b"\x89PNG"), name
        assert explorer.text and explorer.text.splitlines()[0] in explorer.readout.value, name
        # the sliders come first, the readout and the figure last: children[:-1] are sliders
        assert all(isinstance(c, ipywidgets.widgets.widget.Widget) and hasattr(c, "value")
                   for c in explorer.children[:-1]), name


def test_moving_the_threshold_slider_redraws_the_png_and_prints_numpys_dice(slice8):
    image, labels = slice8
    explorer = widgets.threshold_explorer(image, labels, tissue=3, value=150)
    slider = explorer.sliders["t"]
    before_png, before_text = explorer.image.value, explorer.text
    slider.value = 170
    assert explorer.image.value != before_png
    assert explorer.text != before_text
    shown = re.fullmatch(r"threshold (\d+): Dice (\d\.\d{4})", explorer.text)
    assert shown is not None, explorer.text
    assert int(shown.group(1)) == 170
    expected = numpy_dice(labels == 3, image > 170)
    assert float(shown.group(2)) == pytest.approx(expected, abs=1e-4)
    assert shown.group(2) == f"{expected:.4f}"
    assert shown.group(0) in explorer.readout.value


def test_each_explorer_redraws_when_any_of_its_sliders_moves(slice8):
    for name, explorer in all_explorers(slice8).items():
        for key, slider in explorer.sliders.items():
            before_png, before_text = explorer.image.value, explorer.text
            if isinstance(slider.value, tuple):
                slider.value = (slider.value[0] + 1, slider.value[1] - 1)
            else:
                slider.value = slider.max if slider.value != slider.max else slider.min
            assert explorer.image.value != before_png, (name, key)
            assert explorer.text != before_text, (name, key)


def test_readouts_name_the_setting_they_were_drawn_for(slice8):
    explorers = all_explorers(slice8)
    explorers["challenge"].sliders["strength"].value = 3
    assert explorers["challenge"].text.startswith("voxel size (px) = 3: Dice of the fixed")
    explorers["measures"].sliders["dx"].value = 2
    assert explorers["measures"].text.startswith("shift (0, 2) px, grow 0 px\nDice ")
    explorers["thickness"].sliders["thickness"].value = 12.0
    assert explorers["thickness"].text.startswith("slice 12 mm: 3D WM Dice")
    explorers["subject"].sliders["seed"].value = 2
    assert explorers["subject"].text.startswith("subject 2: WM Dice")


def test_constructing_displays_nothing_and_displaying_shows_small_multiples_then_sliders(
        slice8, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    image, labels = slice8
    explorer = widgets.threshold_explorer(image, labels, value=150)
    assert shown == []

    explorer._ipython_display_()
    (static, static_kw), (live, live_kw) = shown
    assert static_kw == {"raw": True} and live_kw == {"raw": True}
    import base64

    png = Image.open(io.BytesIO(base64.b64decode(static[0]["image/png"])))
    assert png.width >= 4 * 200 and png.height >= 200
    view = live[0]["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == explorer.model_id
    assert "threshold 150: Dice" in live[0]["text/plain"]


def test_small_multiples_are_readable_figures(slice8):
    for name, explorer in all_explorers(slice8).items():
        fig = explorer.overview()
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
        assert 3 <= len(axes) <= 6, name
        assert fig.dpi >= 100, name
        for ax in axes:
            width = ax.get_window_extent().width
            assert width >= 180, (name, width)  # ~200 px panels (a little less for labels)
            assert ax.get_title(), name
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_a_failing_drawing_shows_the_error_in_the_readout_and_raises(slice8):
    image, labels = slice8
    explorer = widgets.threshold_explorer(image, labels, value=150)

    def broken(t):
        raise ValueError(f"no threshold {t}")

    explorer.f = broken
    with pytest.raises(ValueError, match="no threshold 151"):
        explorer.sliders["t"].value = 151
    assert "ValueError: no threshold 151" in explorer.readout.value


# --- chapter 04: the class-map explorer ------------------------------------------------------


def digit_maps():
    """A 64x64 canvas and an 11-class map (9x9, stride 4) where "no digit" wins everywhere
    except at two output pixels for class 4 and one for class 7."""
    canvas = np.random.default_rng(1).random((64, 64))
    probability = np.full((11, 9, 9), 0.01)
    probability[10] = 0.9
    for label, where in ((4, (2, 3)), (4, (2, 4)), (7, (6, 6))):
        probability[(10, *where)], probability[(label, *where)] = 0.01, 0.9
    return canvas, np.log(probability)


def test_moving_the_class_slider_redraws_that_class_map_and_counts_where_it_wins():
    canvas, log_probs = digit_maps()
    names = [*map(str, range(10)), "no digit"]
    explorer = widgets.class_map_explorer(canvas, log_probs, label=4, names=names)
    assert explorer.text == "class 4: largest probability 0.90; it wins at 2 of 81 output pixels"
    before_png = explorer.image.value
    explorer.sliders["label"].value = 7
    assert explorer.image.value != before_png
    assert explorer.text == "class 7: largest probability 0.90; it wins at 1 of 81 output pixels"
    explorer.sliders["label"].value = 10
    assert explorer.text.startswith("class no digit: largest probability 0.90; it wins at 78 ")
    assert explorer.text in explorer.readout.value
    assert (explorer.sliders["label"].min, explorer.sliders["label"].max) == (0, 10)


def test_class_map_drawing_shows_the_input_beside_the_map_and_small_multiples_every_class():
    canvas, log_probs = digit_maps()
    fig, axes, values = widgets.draw_class_map(canvas, log_probs, 4)
    assert values == {"max": pytest.approx(0.9), "pixels": 2, "total": 81}
    import matplotlib.pyplot as plt

    plt.close(fig)
    assert [ax.get_title() for ax in axes] == ["input image", "P(4), max 0.90"]
    explorer = widgets.class_map_explorer(canvas, log_probs)
    overview = explorer.overview()
    panels = [ax for ax in overview.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    plt.close(overview)
    assert len(panels) == 11 and all(ax.get_title() for ax in panels)


def test_class_map_explorer_refuses_a_class_it_does_not_have():
    canvas, log_probs = digit_maps()
    with pytest.raises(ValueError, match="label must be a class index from 0 to 10, got 11"):
        widgets.class_map_explorer(canvas, log_probs, label=11)


def test_every_explorer_cell_of_the_committed_notebooks_shows_a_static_figure():
    """Read without a kernel (GitHub, nbviewer, Colab before running), each slider cell still
    shows its small multiples, and the live widget's state is saved."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "notebooks"
    explorer_cells = 0
    for path in sorted(root.glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            source = "".join(cell.get("source", ""))
            if cell["cell_type"] != "code" or "_explorer(" not in source:
                continue
            explorer_cells += 1
            kinds = [list(o.get("data", {})) for o in cell["outputs"]]
            assert any("image/png" in k for k in kinds), f"{path.name}: {source[:60]!r}"
            assert any("application/vnd.jupyter.widget-view+json" in k for k in kinds), path.name
        if any("_explorer(" in "".join(c.get("source", "")) for c in nb["cells"]):
            assert nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert explorer_cells >= 12
