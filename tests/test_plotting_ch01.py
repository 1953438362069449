"""Chapter 01's plotting helper: one tissue legend for a figure of several label maps."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from mlseg import plotting  # noqa: E402


def test_a_legend_for_white_matter_and_lesion_names_them_in_their_colours():
    fig, axes = plt.subplots(1, 2)
    out, legend = plotting.tissue_legend(fig, [3, 4])
    assert out is fig and legend in fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["white matter", "lesion"]
    colours = [to_rgb(h.get_facecolor()) for h in legend.legend_handles]
    assert np.allclose(colours, [plotting.TISSUE_COLOURS[3], plotting.TISSUE_COLOURS[4]])
    plt.close(fig)


def test_by_default_every_tissue_is_named_in_one_row_under_the_panels():
    fig, _ = plt.subplots()
    _, legend = plotting.tissue_legend(fig)
    assert [t.get_text() for t in legend.get_texts()] == list(plotting.TISSUE_NAMES.values())
    fig.canvas.draw()
    rows = {round(t.get_window_extent().y0) for t in legend.get_texts()}
    assert len(rows) == 1  # one row
    box = legend.get_window_extent().transformed(fig.transFigure.inverted())
    assert box.y1 <= 0.0 + 1e-6  # hangs below the figure: it covers no panel
    plt.close(fig)


def test_an_unknown_label_or_no_figure_is_refused_by_name():
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="tissue labels.*7"):
        plotting.tissue_legend(fig, [3, 7])
    with pytest.raises(TypeError, match="labels"):
        plotting.tissue_legend(fig, [2.5])
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plotting.tissue_legend(fig.axes[0])
    plt.close(fig)


# --- inline figures in 256 colours ------------------------------------------------------------


def noisy_figure():
    fig, ax = plt.subplots(figsize=(3, 3), dpi=100)
    ax.imshow(np.random.default_rng(0).random((64, 64)), cmap="gray")
    ax.set_title("noise")
    return fig


def test_a_compact_png_is_a_palette_png_of_at_most_256_colours_and_smaller():
    import io

    from PIL import Image

    fig = noisy_figure()
    full = io.BytesIO()
    fig.savefig(full, format="png", bbox_inches="tight")
    compact = plotting.compact_png(fig)
    image = Image.open(io.BytesIO(compact))
    assert image.format == "PNG" and image.mode == "P"
    assert len(image.getcolors(256)) <= 256
    assert image.size == Image.open(full).size  # cropped like the inline figure
    assert len(compact) < 0.8 * len(full.getvalue())
    few = Image.open(io.BytesIO(plotting.compact_png(fig, colours=8)))
    assert len(few.getcolors(256)) <= 8
    plt.close(fig)


def test_compact_png_refuses_what_is_no_figure_or_no_colour_count():
    fig = noisy_figure()
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plotting.compact_png(fig.axes[0])
    with pytest.raises(ValueError, match="colours"):
        plotting.compact_png(fig, colours=1000)
    plt.close(fig)


def test_use_compact_png_makes_the_shell_show_figures_compact(monkeypatch):
    import base64
    import types

    import IPython
    from IPython.core.formatters import PNGFormatter

    formatter = PNGFormatter()
    shell = types.SimpleNamespace(display_formatter=types.SimpleNamespace(
        formatters={"image/png": formatter}))
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    plotting.use_compact_png(colours=16)
    fig = noisy_figure()
    shown = base64.b64decode(formatter(fig))
    assert shown == plotting.compact_png(fig, colours=16)
    assert formatter(plt.figure()) is None  # an empty figure shows nothing, as in IPython
    plt.close("all")


def test_use_compact_png_outside_ipython_does_nothing(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert plotting.use_compact_png() is None
