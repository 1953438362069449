"""Explorers without a browser: sliders redraw a PNG and a readout; no Output widget anywhere;
displaying one shows static small multiples first."""

import matplotlib

matplotlib.use("Agg")

import html  # noqa: E402
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


def disk_model(radius=5):
    """A PromptableSegmenter whose mask is every pixel within ``radius`` of a positive click and
    not within ``radius`` of a negative one; its predicted IoU is always 0.5. Masks you can
    draw by hand."""
    import torch

    from mlseg.models.promptable import PromptableSegmenter

    class DiskModel(PromptableSegmenter):
        def forward(self, images, points, labels, image_index=None):
            rows, cols = torch.meshgrid(torch.arange(images.shape[2]),
                                        torch.arange(images.shape[3]), indexing="ij")
            masks = []
            for prompt, kinds in zip(points, labels):
                near = [((rows - r) ** 2 + (cols - c) ** 2 <= radius ** 2, int(k))
                        for (r, c), k in zip(prompt.tolist(), kinds)]
                mask = torch.zeros(rows.shape, dtype=torch.bool)
                for disk, kind in near:
                    mask |= disk & (kind == 1)
                for disk, kind in near:
                    mask &= ~(disk & (kind == 0))
                masks.append(torch.where(mask, 5.0, -5.0))
            return torch.stack(masks), torch.full((len(points),), 0.5)

    return DiskModel(image_size=32, width=2, dim=8, depth=0, decoder_depth=0, heads=1, seed=0)


def disk(shape, centre, radius=5):
    rows, cols = np.indices(shape)
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2


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
        "prompt": widgets.prompt_explorer(disk_model(), image, labels),
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


# --- chapter 06: click to segment ------------------------------------------------------------


def squares():
    """A 32x32 'brain': grey matter 4:28, white matter 10:22 inside it, a lesion in a corner."""
    labels = np.zeros((32, 32), np.int64)
    labels[4:28, 4:28] = 2
    labels[10:22, 10:22] = 3
    labels[23:27, 23:27] = 4
    return labels.astype(np.float32) / 4, labels


def test_the_mask_follows_the_click_and_the_readout_prints_numpys_dice_of_it():
    image, labels = squares()
    explorer = widgets.prompt_explorer(disk_model(), image, labels, point=(16, 16))
    mask = explorer.details["mask"]
    assert np.array_equal(mask, disk((32, 32), (16, 16)))   # the drawn mask, by hand
    expected = numpy_dice(labels == 3, mask)
    assert explorer.text == (f"click (16, 16) on white matter, 1 click (1 positive): "
                             f"Dice {expected:.4f}, predicted IoU 0.50")
    before_png = explorer.image.value

    explorer.sliders["column"].value = 7                       # onto the grey matter
    mask = explorer.details["mask"]
    assert np.array_equal(mask, disk((32, 32), (16, 7)))
    assert explorer.image.value != before_png
    shown = re.fullmatch(r"click \(16, 7\) on grey matter, .*: Dice (\d\.\d{4}), .*",
                         explorer.text)
    assert shown is not None, explorer.text
    assert shown.group(1) == f"{numpy_dice(labels == 2, mask):.4f}"
    assert np.array_equal(explorer.details["truth"], labels == 2)
    assert explorer.text in html.unescape(explorer.readout.value)


def test_more_clicks_correct_the_worst_error_of_the_mask_so_far():
    from mlseg.models.promptable import next_click

    image, labels = squares()
    explorer = widgets.prompt_explorer(disk_model(), image, labels, point=(16, 16))
    first = explorer.details["mask"]
    explorer.sliders["clicks"].value = 2
    details = explorer.details
    assert details["points"][0] == (16, 16)
    assert (details["points"][1], details["point_labels"][1]) == next_click(
        labels == 3, first, avoid=[(16, 16)])
    assert details["point_labels"] == [1, 1]                 # the disk missed white matter
    assert np.array_equal(details["mask"], disk((32, 32), (16, 16))
                          | disk((32, 32), details["points"][1]))
    assert explorer.text.startswith("click (16, 16) on white matter, 2 clicks (2 positive): ")
    assert f"Dice {numpy_dice(labels == 3, details['mask']):.4f}," in explorer.text


def test_a_negative_click_cuts_a_leak_out_of_the_mask():
    image, labels = squares()
    fig, axes, values = widgets.draw_prompt(disk_model(radius=7), image, labels,
                                            [(24, 24), (24, 19)], point_labels=[1, 0])
    import matplotlib.pyplot as plt

    plt.close(fig)
    expected = disk((32, 32), (24, 24), 7) & ~disk((32, 32), (24, 19), 7)
    assert np.array_equal(values["mask"], expected) and values["structure"] == 4
    assert values["dice"] == pytest.approx(numpy_dice(labels == 4, expected))
    assert "1 positive + 1 negative" in axes[0].get_title()
    assert f"Dice {values['dice']:.4f}" in axes[1].get_title()


def test_a_box_prompt_is_scored_against_the_structure_at_its_centre():
    image, labels = squares()
    fig, axes, values = widgets.draw_prompt(disk_model(), image, labels, box=(10, 10, 21, 21))
    import matplotlib.pyplot as plt

    plt.close(fig)
    assert values["structure"] == 3 and np.array_equal(values["truth"], labels == 3)
    assert "a box" in axes[0].get_title()


def test_prompts_outside_the_image_or_empty_are_errors_naming_the_argument():
    image, labels = squares()
    model = disk_model()
    with pytest.raises(ValueError, match="point must be inside the 32x32 image, got \\(40, 3\\)"):
        widgets.prompt_explorer(model, image, labels, point=(40, 3))
    with pytest.raises(ValueError, match="point must be \\(row, col\\)"):
        widgets.prompt_explorer(model, image, labels, point=5)
    with pytest.raises(ValueError, match=r"points\[0\] = \(3, 32\) is outside the 32x32 image"):
        widgets.draw_prompt(model, image, labels, [(3, 32)])
    with pytest.raises(ValueError, match="the prompt is empty"):
        widgets.draw_prompt(model, image, labels, [])
    with pytest.raises(ValueError, match="max_clicks must be a positive integer"):
        widgets.prompt_explorer(model, image, labels, max_clicks=0)
    with pytest.raises(ValueError, match="image and labels must have the same shape"):
        widgets.prompt_explorer(model, image, labels[:16])
    with pytest.raises(TypeError, match="model must be a PromptableSegmenter"):
        widgets.prompt_explorer(object(), image, labels)


def test_prompt_small_multiples_click_the_centre_of_every_structure():
    image, labels = squares()
    explorer = widgets.prompt_explorer(disk_model(), image, labels, point=(16, 16))
    fig = explorer.overview()
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    import matplotlib.pyplot as plt

    plt.close(fig)
    names = [t.split(",")[0] for t in titles]
    assert names[:3] == ["white matter", "grey matter", "lesion"]
    assert any(t.startswith("white matter, 3 clicks") for t in titles)


def test_a_real_promptable_model_runs_in_the_explorer():
    from mlseg.models.promptable import PromptableSegmenter

    image, labels = squares()
    model = PromptableSegmenter(image_size=32, width=4, dim=16, depth=1, decoder_depth=1,
                                heads=2, seed=0)
    explorer = widgets.prompt_explorer(model, image, labels, max_clicks=2)
    explorer.sliders["clicks"].value = 2
    details = explorer.details
    assert details["mask"].shape == (32, 32) and details["mask"].dtype == bool
    shown = re.search(r"Dice (\d\.\d{4})", explorer.text).group(1)
    truth, mask = details["truth"], details["mask"]
    expected = numpy_dice(truth, mask) if mask.any() else 0.0
    assert shown == f"{expected:.4f}"


def test_show_prompt_draws_the_errors_on_a_given_axes_with_the_prompt_on_top():
    import matplotlib.pyplot as plt

    image, labels = squares()
    fig, ax = plt.subplots()
    same, drawn_on, values = widgets.show_prompt(disk_model(), image, labels, [(16, 16)], ax=ax)
    assert same is fig and drawn_on is ax
    assert ax.get_title() == f"white matter: 1 positive\nDice {values['dice']:.3f}"
    assert len(ax.lines) == 1                           # the click's marker
    plt.close(fig)
