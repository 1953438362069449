"""Chapter 03's figures: small multiples of label maps (one legend) and of images (one bar)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlseg import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield

    matplotlib.pyplot.close("all")


def test_label_maps_share_one_legend_naming_every_tissue_any_panel_shows():
    a = np.zeros((8, 8), np.uint8)
    a[2:6, 2:6] = 3
    b = a.copy()
    b[3, 3] = 4
    fig, axes = plotting.show_label_maps({"truth": a, "prediction": b}, ncols=2)
    assert [ax.get_title() for ax in axes] == ["truth", "prediction"]
    assert all(ax.get_legend() is None for ax in axes)
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names == ["background", "white matter", "lesion"]
    rgba = axes[1].images[-1].get_array()
    assert np.allclose(rgba[3, 3, :3], plotting.TISSUE_COLOURS[4])


def test_label_maps_hide_the_spare_panels_of_the_last_row():
    a = np.zeros((8, 8), np.uint8)
    fig, axes = plotting.show_label_maps({"1": a, "2": a, "3": a}, ncols=2)
    assert len(axes) == 3 and not fig.axes[3].get_visible()


def test_images_with_a_colorbar_share_one_scale_over_all_panels():
    low, high = np.zeros((4, 4)), np.full((4, 4), 0.5)
    high[0, 0] = 2.0
    fig, axes = plotting.show_images({"low": low, "high": high}, colorbar="probability")
    assert [im.get_clim() for ax in axes for im in ax.images] == [(0.0, 2.0), (0.0, 2.0)]
    assert fig.axes[-1].get_ylabel() == "probability"


def test_images_without_a_colorbar_keep_their_own_range():
    fig, axes = plotting.show_images({"a": np.arange(4.0).reshape(2, 2),
                                      "b": 10 + np.arange(4.0).reshape(2, 2)})
    assert axes[1].images[0].get_clim() == (10.0, 13.0)
    assert len(fig.axes) == 2


def test_the_inputs_must_be_a_dict_of_2d_arrays():
    with pytest.raises(TypeError, match="dict"):
        plotting.show_images([np.zeros((2, 2))])
    with pytest.raises(ValueError):
        plotting.show_label_maps({"3d": np.zeros((2, 2, 2), int)})
