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


def test_valid_unet_3d_overlapping_gaussian_tiles_equal_whole_volume_inference():
    volume = np.random.default_rng(4).random((15, 11, 19), dtype=np.float32)
    model = _random_batch_norm(UNet(1, 2, spatial_dims=3, depth=2, width=2, padding="valid",
                                    seed=3), seed=4)
    tiled = sliding_window(model, volume, tile=24, overlap=4, blend="gaussian", batch_size=2,
                           progress=False)                      # outputs of 12, every 8 voxels
    assert tiled.shape == (2, 15, 11, 19)
    np.testing.assert_allclose(tiled, _whole(model, volume, (6, 6, 6)), atol=1e-5)


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


@pytest.mark.parametrize("shape, tile, overlap", [
    ((13, 21, 17), 8, 0),                     # no size a multiple of the tile
    ((2, 9, 30, 5), (8, 16, 8), (4, 8, 0)),   # two channels, one axis smaller than the tile
])
def test_same_padding_3d_output_has_the_volumes_shape(shape, tile, overlap):
    volume = np.random.default_rng(5).random(shape, dtype=np.float32)
    model = UNet(volume.ndim - 2, 3, spatial_dims=3, depth=2, width=2, seed=0)
    out = sliding_window(model, volume, tile=tile, overlap=overlap, progress=False)
    assert out.shape == (3, *shape[-3:]) and out.dtype == np.float32 and np.isfinite(out).all()


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


def test_the_same_seed_gives_the_same_output_bit_for_bit(image):
    def run():
        model = UNet(1, 3, depth=2, width=4, seed=7)
        return sliding_window(model, image, tile=24, overlap=8, blend="gaussian",
                              progress=False)
    first, second = run(), run()
    assert np.array_equal(first, second)
    other = sliding_window(UNet(1, 3, depth=2, width=4, seed=8), image, tile=24, overlap=8,
                           blend="gaussian", progress=False)
    assert not np.allclose(first, other)                                 # the seed matters


@pytest.mark.parametrize("model, tile, batches", [
    (UNet(1, 2, depth=2, width=2, seed=0), 32, [4, 2]),                   # 2 x 3 tiles
    (UNet(1, 2, depth=2, width=2, padding="valid", seed=0), 32, [4] * 5),   # 4 x 5 of 16
    (PatchNet(seed=0), 41, [4, 4, 2]),     # no output_size(): one batch on a wrong guess
])
def test_no_forward_pass_is_spent_on_a_probe(image, model, tile, batches):
    # the output size is guessed (same padding, or the model's output_size) and the first
    # batch checks the guess: no tile runs on its own just to measure the margin
    seen = []
    hook = model.register_forward_hook(lambda module, inputs, output: seen.append(len(output)))
    try:
        sliding_window(model, image, tile=tile, batch_size=4, progress=False)
    finally:
        hook.remove()
    assert seen == batches


def test_the_input_array_is_not_modified(image):
    before = image.copy()
    sliding_window(UNet(1, 2, depth=2, width=2, seed=0), image, tile=16, overlap=4,
                   blend="gaussian", progress=False)
    assert np.array_equal(image, before)


def test_a_tensor_image_with_a_channel_axis_on_the_cpu(image):
    model = UNet(1, 2, depth=2, width=2, seed=0).train()
    tensor = torch.from_numpy(image)[None]                               # (1, H, W)
    out = sliding_window(model, tensor, tile=(16, 32), device="cpu", progress=False)
    assert out.shape == (2, 50, 70)
    assert model.training                                                # mode restored
    assert torch.equal(tensor[0], torch.from_numpy(image))               # input untouched


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_gives_the_cpu_result():
    volume = np.random.default_rng(6).random((20, 24, 28), dtype=np.float32)
    model = UNet(1, 3, spatial_dims=3, depth=2, width=4, seed=0)
    on_cpu = sliding_window(model, volume, tile=16, overlap=4, blend="gaussian",
                            progress=False)
    on_gpu = sliding_window(model, volume, tile=16, overlap=4, blend="gaussian",
                            device="cuda", progress=False)
    assert next(model.parameters()).device.type == "cuda"                # moved there
    assert isinstance(on_gpu, np.ndarray) and on_gpu.shape == (3, 20, 24, 28)
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-4)
    again = sliding_window(model, volume, tile=16, overlap=4, blend="gaussian",
                           progress=False)                               # default: the model's
    np.testing.assert_allclose(again, on_gpu, atol=1e-6)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_asking_for_cuda_without_a_gpu_names_the_device(image):
    with pytest.raises(ValueError, match="device 'cuda'.*not available"):
        sliding_window(UNet(depth=2, width=2, seed=0), image, tile=16, device="cuda",
                       progress=False)


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


@pytest.mark.parametrize("model, tile", [
    (UNet(depth=3, width=2, padding="valid", seed=0), 16),   # the output would be empty
    (PatchNet(seed=0), 10),                                   # 10 < its 17-pixel window
])
def test_a_tile_smaller_than_the_receptive_field(image, model, tile):
    with pytest.raises(ValueError, match=rf"tile \({tile}, {tile}\) does not suit the model"):
        sliding_window(model, image, tile=tile, progress=False)


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


@pytest.mark.parametrize("spatial_dims, shape, match", [
    (2, (30,), "image must have 2 to 4 dimensions, got 1"),
    (2, (1, 1, 8, 8, 8), "image must have 2 to 4 dimensions, got 5"),
    (2, (2, 2, 8, 8), r"image must have 2 spatial axes \(as tile \(8, 8\)\)"),
    (3, (8, 8), r"image must have 3 spatial axes \(as tile \(8, 8, 8\)\)"),
])
def test_an_image_of_the_wrong_dimensionality(spatial_dims, shape, match):
    model = UNet(1, 2, spatial_dims=spatial_dims, depth=2, width=2, seed=0)
    with pytest.raises(ValueError, match=match):
        sliding_window(model, np.zeros(shape, np.float32), tile=8, progress=False)


def test_a_3d_model_with_a_2d_tile_names_the_tile(image):
    with pytest.raises(ValueError, match=r"tile \(8, 8\) does not suit the model.*spatial_dims=3"):
        sliding_window(UNet(spatial_dims=3, depth=2, width=2, seed=0), image, tile=(8, 8),
                       progress=False)


def test_bad_model_and_image():
    with pytest.raises(TypeError, match="model"):
        sliding_window(lambda x: x, np.zeros((8, 8)), tile=8)
    with pytest.raises(ValueError, match="image must not contain NaN"):
        sliding_window(UNet(depth=2, width=2, seed=0), np.full((8, 8), np.nan), tile=8)
