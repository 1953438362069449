"""Sliding-window inference: exact for valid padding (the overlap-tile strategy), seams for same
padding and what overlap with Gaussian blending does about them."""

import numpy as np
import pytest
import torch

from mlseg.inference import sliding_window, tile_weights
from mlseg.models import FCLeNet, PatchNet
from mlseg.models.unet import UNet


@pytest.fixture(autouse=True)
def one_thread():
    """Small tiles run faster on one thread (and do not fight other jobs for cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _whole(model, image, margin):
    """One pass over the image mirrored by ``margin`` (and on, to a size that fits)."""
    spatial = image.shape[-model.spatial_dims:]
    wanted = tuple(n + 2 * m for n, m in zip(spatial, margin))
    size = model.input_size(wanted)
    pad = [(0, 0)] * (image.ndim - len(spatial)) + [
        (m, s - n - m) for n, m, s in zip(spatial, margin, size)]
    padded = np.pad(image, pad, mode="reflect")
    if padded.ndim == len(spatial):
        padded = padded[None]
    with torch.no_grad():
        out = model.eval()(torch.from_numpy(padded[None]))[0].numpy()
    return out[(slice(None), *(slice(0, n) for n in spatial))]


def _random_batch_norm(model, seed):
    """Random running statistics, so eval-mode batch norm is not the identity."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            module.running_mean.uniform_(-0.2, 0.2, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
    return model


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).random((50, 70), dtype=np.float32)


# --- valid padding: tiles equal the whole image --------------------------------------------------

@pytest.mark.parametrize("tile, overlap, blend", [
    (48, 0, "constant"),          # 8-pixel outputs: 7 × 9 tiles
    (64, 0, "constant"),
    ((60, 100), 4, "gaussian"),   # overlapping outputs, blended
    (140, 0, "constant"),         # one tile larger than the image
])
def test_valid_unet_tiles_equal_whole_image_inference(image, tile, overlap, blend):
    model = _random_batch_norm(UNet(1, 4, depth=3, width=4, padding="valid", seed=0), seed=1)
    tiled = sliding_window(model, image, tile=tile, overlap=overlap, blend=blend, batch_size=3,
                           progress=False)
    assert tiled.shape == (4, 50, 70) and tiled.dtype == np.float32
    np.testing.assert_allclose(tiled, _whole(model, image, (20, 20)), atol=1e-5)


def test_valid_unet_3d_tiles_equal_whole_volume_inference():
    volume = np.random.default_rng(1).random((2, 13, 21, 17), dtype=np.float32)  # 2 channels
    model = UNet(2, 3, spatial_dims=3, depth=2, width=2, padding="valid", seed=0)
    tiled = sliding_window(model, volume, tile=(24, 20, 22), overlap=(0, 0, 2), batch_size=4,
                           progress=False)
    assert tiled.shape == (3, 13, 21, 17)
    np.testing.assert_allclose(tiled, _whole(model, volume, (8, 8, 8)), atol=1e-5)


def test_patchnet_tiles_equal_patchnet_on_the_mirrored_slice(image):
    # chapter 04's PatchNet is valid too (margin 8, no pooling): the same strategy applies
    model = PatchNet(seed=0)
    tiled = sliding_window(model, image, tile=33, progress=False)
    padded = np.pad(image, 8, mode="reflect")[None, None]
    with torch.no_grad():
        whole = model(torch.from_numpy(padded))[0].numpy()
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


# --- same padding: seams, and what overlap + Gaussian blending does ------------------------------

@pytest.fixture(scope="module")
def same_padding():
    model = UNet(1, 5, depth=2, width=8, norm=None, seed=0).eval()
    image = np.random.default_rng(2).random((96, 96), dtype=np.float32)
    with torch.no_grad():
        whole = model(torch.from_numpy(image)[None, None])[0].numpy()
    return model, image, whole


def test_same_padding_tiles_without_overlap_show_seams_at_the_tile_borders(same_padding):
    model, image, whole = same_padding
    tiled = sliding_window(model, image, tile=32, progress=False)       # 3 × 3 tiles
    error = np.abs(tiled - whole).max(axis=0)                            # (96, 96)
    # distance of each pixel to the nearest inner tile border (between 31|32 and 63|64)
    border = np.abs(np.arange(96)[:, None] + 0.5 - np.array([32, 64])).min(axis=1)
    near = np.minimum(border[:, None], border[None, :]) < 4
    assert error.max() > 1e-3                                            # a visible seam
    assert near[np.unravel_index(error.argmax(), error.shape)]           # ... at a border
    assert error[near].mean() > 100 * error[~near].mean()


def test_overlap_with_gaussian_blending_hides_the_seams(same_padding):
    model, image, whole = same_padding
    plain = np.abs(sliding_window(model, image, tile=32, progress=False) - whole)
    constant = np.abs(sliding_window(model, image, tile=32, overlap=16, progress=False) - whole)
    gaussian = np.abs(sliding_window(model, image, tile=32, overlap=16, blend="gaussian",
                                     progress=False) - whole)
    assert gaussian.max() < 0.05 * plain.max()
    assert gaussian.mean() < 0.05 * plain.mean()
    assert gaussian.max() < constant.max()                               # the weights matter


def test_same_padding_image_smaller_than_the_tile(same_padding):
    model, _, _ = same_padding
    small = np.random.default_rng(3).random((10, 13), dtype=np.float32)
    out = sliding_window(model, small, tile=32, progress=False)
    assert out.shape == (5, 10, 13) and np.isfinite(out).all()


# --- outputs and options -------------------------------------------------------------------------

def test_probabilities_sum_to_one_and_argmax_agrees(image):
    model = UNet(1, 3, depth=2, width=4, seed=0)
    scores = sliding_window(model, image, tile=24, overlap=8, progress=False)
    probabilities = sliding_window(model, image, tile=24, overlap=8, probabilities=True,
                                   progress=False)
    np.testing.assert_allclose(probabilities.sum(axis=0), 1, atol=1e-5)
    assert (probabilities.argmax(0) == scores.argmax(0)).mean() > 0.99


def test_the_batch_size_does_not_change_the_result(image):
    model = UNet(1, 3, depth=2, width=4, seed=0)
    one = sliding_window(model, image, tile=24, overlap=4, batch_size=1, progress=False)
    many = sliding_window(model, image, tile=24, overlap=4, batch_size=64, progress=False)
    np.testing.assert_allclose(one, many, atol=1e-6)


def test_a_tensor_image_with_a_channel_axis_on_the_cpu(image):
    model = UNet(1, 2, depth=2, width=2, seed=0).train()
    tensor = torch.from_numpy(image)[None]                               # (1, H, W)
    out = sliding_window(model, tensor, tile=(16, 32), device="cpu", progress=False)
    assert out.shape == (2, 50, 70)
    assert model.training                                                # mode restored
    assert torch.equal(tensor[0], torch.from_numpy(image))               # input untouched


def test_the_progress_bar_can_be_turned_off(image, capsys):
    model = UNet(1, 2, depth=2, width=2, seed=0)
    sliding_window(model, image, tile=32, progress=False)
    assert "tiles" not in capsys.readouterr().err
    sliding_window(model, image, tile=32, progress=True)
    assert "tiles" in capsys.readouterr().err


def test_tile_weights_gaussian_peaks_in_the_middle():
    weights = tile_weights((9, 16))
    assert weights.shape == (9, 16) and weights.max() == 1
    assert weights[4, 7] == weights[4, 8] == 1
    assert weights[0, 0] < 1e-4
    assert (tile_weights((3, 4), blend="constant") == 1).all()


# --- validation ----------------------------------------------------------------------------------

def test_a_tile_that_does_not_suit_the_network(image):
    with pytest.raises(ValueError, match=r"tile \(30, 30\) does not suit the model.*multiple of 4"):
        sliding_window(UNet(depth=3, width=2, seed=0), image, tile=30, progress=False)
    with pytest.raises(ValueError, match=r"tile \(50, 50\).*nearest sizes that fit are 48 and 52"):
        sliding_window(UNet(depth=3, width=2, padding="valid", seed=0), image, tile=50,
                       progress=False)


def test_overlap_must_be_smaller_than_the_tiles_output(image):
    model = UNet(1, 2, depth=3, width=2, padding="valid", seed=0)
    with pytest.raises(ValueError, match="overlap must be smaller than the tile's output"):
        sliding_window(model, image, tile=48, overlap=8, progress=False)     # output 8
    with pytest.raises(ValueError, match="overlap must be smaller"):
        sliding_window(UNet(1, 2, depth=2, width=2, seed=0), image, tile=16, overlap=16,
                       progress=False)


def test_an_overlap_leaving_less_than_the_downsampling_factor(image):
    model = UNet(1, 2, depth=3, width=2, seed=0)
    with pytest.raises(ValueError, match="down-sampling factor 4"):
        sliding_window(model, image, tile=16, overlap=14, progress=False)


def test_a_strided_network_is_not_dense(image):
    with pytest.raises(ValueError, match="dense model"):
        sliding_window(FCLeNet(seed=0), image, tile=64, progress=False)


@pytest.mark.parametrize("kwargs, error, name", [
    ({"tile": 32.0}, TypeError, "tile"),
    ({"tile": (32, 32, 32, 32)}, ValueError, "tile"),
    ({"tile": (32, 0)}, ValueError, r"tile\[1\]"),
    ({"tile": 32, "overlap": -1}, ValueError, r"overlap\[0\]"),
    ({"tile": 32, "overlap": (1, 2, 3)}, ValueError, "overlap"),
    ({"tile": 32, "blend": "linear"}, ValueError, "blend"),
    ({"tile": 32, "batch_size": 0}, ValueError, "batch_size"),
    ({"tile": (8, 32, 32)}, ValueError, "image must have 3 spatial axes"),
])
def test_bad_arguments_are_named(image, kwargs, error, name):
    with pytest.raises(error, match=name):
        sliding_window(UNet(depth=2, width=2, seed=0), image, progress=False, **kwargs)


def test_bad_model_and_image():
    with pytest.raises(TypeError, match="model"):
        sliding_window(lambda x: x, np.zeros((8, 8)), tile=8)
    with pytest.raises(ValueError, match="image must not contain NaN"):
        sliding_window(UNet(depth=2, width=2, seed=0), np.full((8, 8), np.nan), tile=8)
