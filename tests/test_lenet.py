"""LeNet, FCLeNet, the fc → conv weight transfer, the output geometry, and PatchNet."""

import numpy as np
import pytest
import torch
from torch import nn

from mlseg import digits
from mlseg.models import FCLeNet, LeNet, PatchNet, fully_convolutional, output_geometry, seeded
from mlseg.models.lenet import FCLENET_LAYERS, DilatedFCLeNet, Geometry, dense_fclenet


def test_lenet_has_the_layers_of_the_slide():
    model = LeNet()
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes == {
        "conv1.weight": (6, 1, 5, 5), "conv1.bias": (6,),
        "conv2.weight": (16, 6, 5, 5), "conv2.bias": (16,),
        "fc1.weight": (120, 400), "fc1.bias": (120,),
        "fc2.weight": (84, 120), "fc2.bias": (84,),
        "fc3.weight": (10, 84), "fc3.bias": (10,),
    }
    # by hand: 156 + 2416 + 48120 + 10164 + 850
    assert sum(p.numel() for p in model.parameters()) == 61706


def test_lenet_returns_log_probabilities_per_image():
    out = LeNet(num_classes=11, seed=0)(torch.rand(3, 1, 32, 32))
    assert out.shape == (3, 11)
    assert torch.allclose(out.exp().sum(dim=1), torch.ones(3), atol=1e-5)
    assert (out <= 0).all()


def test_lenet_on_a_64x64_image_fails_and_says_why():
    with pytest.raises(ValueError, match=r"400 = 16x5x5.*2704 = 16x13x13.*64x64"):
        LeNet(seed=0)(torch.zeros(1, 1, 64, 64))


@pytest.mark.parametrize("bad", [1, 0, 2.5, True, "10"])
def test_num_classes_is_checked(bad):
    for model in (LeNet, FCLeNet, PatchNet):
        with pytest.raises(ValueError, match="num_classes"):
            model(num_classes=bad)


def test_same_seed_same_initial_weights_and_global_rng_untouched():
    state = torch.get_rng_state()
    a, b, c = LeNet(seed=3), LeNet(seed=3), LeNet(seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
        assert not torch.equal(pa, pc)


def test_seeded_rejects_a_negative_seed():
    with pytest.raises(ValueError, match="seed"):
        with seeded(-1):
            pass


def test_fully_convolutional_moves_the_weights_exactly():
    lenet = LeNet(num_classes=11, seed=1)
    fcn = fully_convolutional(lenet)
    assert isinstance(fcn, FCLeNet) and fcn.conv5.out_channels == 11
    assert fcn.conv3.weight.shape == (120, 16, 5, 5)
    assert torch.equal(fcn.conv3.weight.flatten(1), lenet.fc1.weight)
    assert torch.equal(fcn.conv4.weight[:, :, 0, 0], lenet.fc2.weight)
    assert torch.equal(fcn.conv5.weight[:, :, 0, 0], lenet.fc3.weight)
    for conv, source in [("conv1", "conv1"), ("conv2", "conv2"), ("conv3", "fc1"),
                         ("conv4", "fc2"), ("conv5", "fc3")]:
        assert torch.equal(getattr(fcn, conv).bias, getattr(lenet, source).bias)
    assert torch.equal(fcn.conv1.weight, lenet.conv1.weight)
    # a copy, not shared storage
    with torch.no_grad():
        fcn.conv1.weight.zero_()
    assert lenet.conv1.weight.abs().sum() > 0


def test_fully_convolutional_wants_a_lenet():
    with pytest.raises(TypeError, match="lenet must be a LeNet"):
        fully_convolutional(FCLeNet())


def test_both_networks_agree_on_random_32x32_inputs():
    lenet = LeNet(seed=2).eval()
    fcn = fully_convolutional(lenet)
    x = torch.randn(16, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = lenet(x), fcn(x)
    assert b.shape == (16, 10, 1, 1)
    assert (a - b[:, :, 0, 0]).abs().max() <= 1e-4


def test_both_networks_agree_on_real_digits_after_training():
    from mlseg.training import fit, predict

    images, labels = digits.load()
    lenet = LeNet(seed=0)
    fit(lenet, (images[:400, None], labels[:400]), iterations=30, batch_size=32, lr=3e-3,
        seed=0, progress=False)
    fcn = fully_convolutional(lenet)
    x = images[1000:1100, None]
    a, b = predict(lenet, x), predict(fcn, x)
    assert np.abs(a - b[:, :, 0, 0]).max() <= 1e-4
    assert (a.argmax(1) == b[:, :, 0, 0].argmax(1)).all()


def test_64x64_gives_9x9_and_each_pixel_is_lenet_on_its_window():
    lenet = LeNet(seed=5).eval()
    fcn = fully_convolutional(lenet)
    x = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        dense = fcn(x)[0]
        windows = torch.stack([x[0, :, 4 * i:4 * i + 32, 4 * j:4 * j + 32]
                               for i in range(9) for j in range(9)])
        single = lenet(windows).T.reshape(10, 9, 9)
    assert dense.shape == (10, 9, 9)
    assert (dense - single).abs().max() <= 1e-4


@pytest.mark.parametrize("size", [32, 33, 35, 36, 45, 64, 100, 128])
def test_output_geometry_matches_the_real_output(size):
    fcn = FCLeNet(seed=0)
    with torch.no_grad():
        out = fcn(torch.zeros(1, 1, size, size))
    geometry = output_geometry(FCLENET_LAYERS, size=size)
    assert out.shape[-1] == geometry.size == (size - 28) // 4
    assert (geometry.stride, geometry.receptive_field) == (4, 32)


def test_output_geometry_reads_modules_with_padding():
    layers = [nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, stride=2),
              nn.Conv2d(4, 4, 3, dilation=2)]
    x = torch.zeros(1, 1, 50, 50)
    for layer in layers:
        x = layer(x)
    # receptive field by hand: 1 + 2*1 + 1*1 + 2*2 + 4*4 = 24
    assert output_geometry(layers, size=50) == Geometry(x.shape[-1], 4, 24)


def test_receptive_field_is_where_the_gradient_reaches():
    fcn = FCLeNet(seed=0)
    x = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(0)).requires_grad_()
    fcn(x)[0, :, 2, 3].sum().backward()
    rows, cols = np.nonzero(x.grad[0, 0].numpy())
    assert (rows.min(), rows.max() + 1) == (8, 8 + 32)  # window starts at stride * 2
    assert (cols.min(), cols.max() + 1) == (12, 12 + 32)


def test_output_geometry_errors_name_the_problem():
    with pytest.raises(ValueError, match="too small"):
        output_geometry(FCLENET_LAYERS, size=20)
    with pytest.raises(ValueError, match="size"):
        output_geometry(FCLENET_LAYERS, size=0)
    with pytest.raises(TypeError, match=r"layers\[1\]"):
        output_geometry([(5, 1), "pool"], size=32)
    with pytest.raises(TypeError, match="layers"):
        output_geometry(nn.Conv2d(1, 1, 3), size=32)


def test_patchnet_gives_one_class_per_17x17_patch_and_a_map_for_a_padded_slice():
    model = PatchNet(seed=0).eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 1, 17, 17)).shape == (2, 5, 1, 1)
        assert model(torch.zeros(1, 1, 40 + 16, 30 + 16)).shape == (1, 5, 40, 30)
    layers = [model.conv1, model.conv2, model.conv3, model.conv4, model.conv5]
    assert output_geometry(layers, size=17) == Geometry(1, 1, PatchNet.receptive_field)


def test_patchnet_dense_equals_patch_by_patch():
    model = PatchNet(seed=0).eval()
    image = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    padded = nn.functional.pad(image, (8, 8, 8, 8))
    with torch.no_grad():
        dense = model(padded)[0]
        for r, c in [(0, 0), (5, 7), (11, 11), (3, 10)]:
            patch = padded[:, :, r:r + 17, c:c + 17]
            assert (model(patch)[0, :, 0, 0] - dense[:, r, c]).abs().max() <= 1e-5


# --- dense output at every pixel: FCLeNet "a trous" ---------------------------------------


def test_dense_fclenet_answers_every_window_one_pixel_apart():
    lenet = LeNet(num_classes=11, seed=6).eval()
    dense = dense_fclenet(fully_convolutional(lenet))
    x = torch.rand(1, 1, 45, 50, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        out = dense(x)[0]
        assert out.shape == (11, 45 - 31, 50 - 31)
        for r, c in [(0, 0), (1, 3), (7, 2), (13, 18), (6, 11)]:  # not only multiples of 4
            window = lenet(x[:, :, r:r + 32, c:c + 32])[0]
            assert (out[:, r, c] - window).abs().max() <= 1e-4


def test_every_fourth_pixel_of_the_dense_map_is_fclenets_map():
    fcn = FCLeNet(seed=3).eval()
    dense = dense_fclenet(fcn)
    x = torch.rand(2, 1, 64, 76, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        coarse, fine = fcn(x), dense(x)
    assert coarse.shape == (2, 10, 9, 12) and fine.shape == (2, 10, 33, 45)
    assert (fine[..., ::4, ::4] - coarse).abs().max() <= 1e-5


def test_dense_geometry_is_stride_1_with_the_same_receptive_field():
    model = DilatedFCLeNet(seed=0)
    layers = [model.conv1, model.pool1, model.conv2, model.pool2, model.conv3, model.conv4,
              model.conv5]
    assert output_geometry(layers, size=128) == Geometry(97, 1, 32)
    assert output_geometry(FCLENET_LAYERS, size=128) == Geometry(25, 4, 32)


def test_removing_the_pooling_instead_changes_the_answer():
    """The lecture's last FCLeNet (no pooling) is dense too, but it is another network."""
    fcn = FCLeNet(seed=4).eval()
    x = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(4))
    f = nn.functional
    with torch.no_grad():
        y = f.relu(fcn.conv3(f.relu(fcn.conv2(f.relu(fcn.conv1(x))))))
        no_pool = f.log_softmax(fcn.conv5(f.relu(fcn.conv4(y))), dim=1)
        dense = dense_fclenet(fcn)(x)
    assert no_pool.shape[-1] == 64 - 12  # receptive field 13, not 32
    assert (no_pool[..., :dense.shape[-2], :dense.shape[-1]] - dense).abs().max() > 1e-2


def test_dense_fclenet_copies_the_weights_and_keeps_the_mode():
    fcn = FCLeNet(num_classes=11, seed=5).train()
    dense = dense_fclenet(fcn)
    assert isinstance(dense, DilatedFCLeNet) and dense.training
    assert dense.conv5.out_channels == 11 and dense.conv3.dilation == (4, 4)
    for name, value in fcn.state_dict().items():
        assert torch.equal(dense.state_dict()[name], value)
    with torch.no_grad():
        dense.conv1.weight.zero_()
    assert fcn.conv1.weight.abs().sum() > 0


def test_dense_fclenet_wants_an_fclenet_and_says_how_to_get_one():
    with pytest.raises(TypeError, match=r"FCLeNet.*fully_convolutional\(lenet\)"):
        dense_fclenet(LeNet(seed=0))
    with pytest.raises(TypeError, match="fclenet must be an FCLeNet"):
        dense_fclenet(PatchNet(seed=0))
