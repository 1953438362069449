"""UNet (same and valid padding, with and without skips, 2D and 3D), its size arithmetic, and
the two-pathway MultiScaleNet."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mlseg.models.unet import DoubleConv, MultiScaleNet, UNet, input_size, output_size
from mlseg.training import fit


@pytest.fixture
def one_thread():
    """Tiny tensors train faster on one thread (and do not fight other jobs for cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _weights_equal(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


# --- shapes and outputs --------------------------------------------------------------------------

@pytest.mark.parametrize("depth, size", [(1, 5), (2, 6), (3, 12), (4, 24)])
def test_same_padding_keeps_the_size_and_returns_log_probabilities(depth, size):
    model = UNet(2, 4, depth=depth, width=4, seed=0).eval()
    out = model(torch.rand(3, 2, size, 2 * size))
    assert out.shape == (3, 4, size, 2 * size)
    assert torch.allclose(out.exp().sum(dim=1), torch.ones(3, size, 2 * size), atol=1e-5)


def test_a_one_level_unet_is_a_double_conv_and_a_1x1_head():
    # by hand: conv 1→4 (36 + 4), conv 4→4 (144 + 4), head 4→5 (20 + 5)
    model = UNet(1, 5, depth=1, width=4, norm=None)
    assert sum(p.numel() for p in model.parameters()) == 213


def test_widths_double_at_every_level():
    model = UNet(1, 5, depth=3, width=16)
    assert model.first[0].out_channels == 16
    assert [down[1][0].out_channels for down in model.downs] == [32, 64]
    assert [up.up.out_channels for up in model.ups] == [32, 16]
    assert model.downsampling == 4


def test_without_skips_the_decoder_sees_only_the_upsampled_code():
    with_skips, without = UNet(1, 5, width=8, seed=0), UNet(1, 5, width=8, skips=False, seed=0)
    assert [up.conv[0].in_channels for up in with_skips.ups] == [32, 16]  # skip + up-conv
    assert [up.conv[0].in_channels for up in without.ups] == [16, 8]      # up-conv only
    assert without(torch.zeros(1, 1, 16, 16)).shape == (1, 5, 16, 16)


def test_skips_bring_back_the_detail_the_pooling_lost(one_thread):
    # a pixel-level pattern: class = (pixel > 0.5); the 4x down-sampled code cannot hold it
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((8, 1, 24, 24), dtype=np.float32))
    y = (x[:, 0] > 0.5).long()
    accuracy = {}
    for skips in (True, False):
        model = UNet(1, 2, depth=3, width=4, skips=skips, seed=0)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(25):
            optimizer.zero_grad()
            F.nll_loss(model(x), y).backward()
            optimizer.step()
        with torch.no_grad():
            accuracy[skips] = (model.eval()(x).argmax(1) == y).float().mean().item()
    assert accuracy[True] > 0.85
    assert accuracy[False] < 0.7


@pytest.mark.parametrize("norm, kind", [("batch", torch.nn.BatchNorm2d),
                                        ("instance", torch.nn.InstanceNorm2d), (None, None)])
def test_norm_choices(norm, kind):
    block = DoubleConv(1, 4, norm=norm)
    norms = [m for m in block if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.InstanceNorm2d))]
    assert [type(m) for m in norms] == ([kind, kind] if kind else [])
    assert (block[0].bias is None) == (norm is not None)      # a norm makes the bias redundant


def test_same_seed_same_weights_and_the_global_rng_untouched():
    state = torch.get_rng_state()
    a, b, c = UNet(seed=3), UNet(seed=3), UNet(seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert _weights_equal(a, b) and not _weights_equal(a, c)


# --- 3D ------------------------------------------------------------------------------------------

def test_3d_shapes_same_and_valid():
    same = UNet(1, 3, spatial_dims=3, depth=2, width=4, seed=0)
    assert same(torch.zeros(2, 1, 8, 12, 4)).shape == (2, 3, 8, 12, 4)
    valid = UNet(1, 3, spatial_dims=3, depth=2, width=2, padding="valid", norm=None, seed=0)
    assert valid(torch.zeros(1, 1, 18, 20, 24)).shape == (1, 3, 2, 4, 8)
    assert valid.output_size((18, 20, 24)) == (2, 4, 8)


def test_one_training_step_on_a_small_volume_lowers_the_loss():
    x = torch.from_numpy(np.random.default_rng(0).random((2, 1, 8, 8, 8), dtype=np.float32))
    y = (x[:, 0] > 0.5).long()
    model = UNet(1, 2, spatial_dims=3, depth=2, width=4, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = F.nll_loss(model(x), y)
    before.backward()
    optimizer.step()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert F.nll_loss(model(x), y) < before


def test_fit_trains_a_3d_unet():
    x = np.random.default_rng(0).random((2, 1, 8, 8, 8), dtype=np.float32)
    history = fit(UNet(1, 2, spatial_dims=3, depth=2, width=2, seed=0), (x, x[:, 0] > 0.5),
                  iterations=1, batch_size=2, lr=1e-3, seed=0, device="cpu", progress=False)
    assert len(history.loss) == 1


# --- the size arithmetic of valid padding --------------------------------------------------------

def test_the_u_net_papers_572_to_388():
    assert output_size(572, depth=5) == 388
    assert input_size(388, depth=5) == 572


def test_valid_depth_3_loses_40_pixels_by_hand():
    n = 140
    n = n - 4          # 136: level 0, two unpadded 3×3 convolutions
    n = n // 2 - 4     # 64:  pool to 68, level 1
    n = n // 2 - 4     # 28:  pool to 32, level 2
    n = 2 * n - 4      # 52:  up-conv to 56, two convolutions
    n = 2 * n - 4      # 100: up-conv to 104, two convolutions
    assert output_size(140, depth=3) == n == 100
    assert output_size((140, 144), depth=3) == (100, 104)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_the_model_gives_the_size_output_size_promises(depth):
    model = UNet(1, 2, depth=depth, width=2, padding="valid", norm=None, seed=0)
    size = model.input_size(10)
    assert model(torch.zeros(1, 1, size, size + 2 ** (depth - 1))).shape[2:] == \
        tuple(model.output_size((size, size + 2 ** (depth - 1))))


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_input_size_is_the_smallest_that_gives_the_output(depth):
    for wanted in range(1, 120, 7):
        n = input_size(wanted, depth=depth)
        assert output_size(n, depth=depth) >= wanted
        smaller = [m for m in range(1, n) if _fits(m, depth)]
        assert all(output_size(m, depth=depth) < wanted for m in smaller)


def _fits(n, depth):
    try:
        output_size(n, depth=depth)
    except ValueError:
        return False
    return True


def test_valid_output_is_the_input_minus_a_fixed_margin():
    # margin 2 · (3 · 2^(depth-1) - 2) pixels on each side
    for depth, margin in [(1, 2), (2, 8), (3, 20), (4, 44)]:
        n = input_size(64, depth=depth)
        assert n - output_size(n, depth=depth) == 2 * margin


def test_an_input_that_does_not_fit_names_the_nearest_sizes():
    with pytest.raises(ValueError, match="size 50 .*nearest sizes that fit are 48 and 52"):
        output_size(50, depth=3)
    with pytest.raises(ValueError, match="smallest size that fits is 44"):
        output_size(40, depth=3)
    with pytest.raises(ValueError, match="multiple of 4; the nearest sizes that fit are 28 and 32"):
        output_size(30, depth=3, padding="same")
    with pytest.raises(ValueError, match=r"UNet input of shape \(1, 1, 50, 44\): size 50"):
        UNet(padding="valid")(torch.zeros(1, 1, 50, 44))


def test_same_padding_arithmetic():
    assert output_size((64, 32), depth=3, padding="same") == (64, 32)
    assert input_size(30, depth=3, padding="same") == 32


# --- the multi-scale network ---------------------------------------------------------------------

def test_multiscale_shapes_2d_and_3d():
    model = MultiScaleNet(1, 5, width=4, seed=0).eval()
    out = model(torch.rand(2, 1, 20, 24))
    assert out.shape == (2, 5, 20, 24)
    assert torch.allclose(out.exp().sum(1), torch.ones(2, 20, 24), atol=1e-5)
    assert MultiScaleNet(2, 3, spatial_dims=3, width=2, seed=0)(
        torch.zeros(1, 2, 6, 8, 10)).shape == (1, 3, 6, 8, 10)


def test_the_context_pathway_sees_twice_as_far():
    # which output pixels change when one input pixel changes: 9 px from the normal pathway
    # alone (four 3×3 convolutions), 18 px with the context pathway (2× pooled copy)
    model = MultiScaleNet(1, 2, width=8, norm=None, seed=0).eval()
    x = torch.rand(1, 1, 48, 48, generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[0, 0, 24, 24] += 1.0
    with torch.no_grad():
        changed = (model(x) - model(y)).abs().amax(1)[0] > 0
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert rows.max() - rows.min() + 1 == 18 and cols.max() - cols.min() + 1 == 18
    with torch.no_grad():
        model.fuse.weight[:, 8:] = 0                       # switch the context pathway off
        changed = (model(x) - model(y)).abs().amax(1)[0] > 0
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert rows.max() - rows.min() + 1 == 9 and cols.max() - cols.min() + 1 == 9


def test_without_context_it_is_the_normal_pathway_alone():
    both = MultiScaleNet(1, 3, width=4, norm=None, seed=0).eval()
    single = MultiScaleNet(1, 3, width=4, norm=None, context=False, seed=0).eval()
    assert single.context is None and single.fuse.in_channels == 4
    x = torch.rand(1, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        single.normal.load_state_dict(both.normal.state_dict())
        single.fuse.weight.copy_(both.fuse.weight[:, :4])
        single.fuse.bias.copy_(both.fuse.bias)
        single.head.load_state_dict(both.head.state_dict())
        both.fuse.weight[:, 4:] = 0                        # both without their context = single
        assert torch.allclose(single(x), both(x), atol=1e-6)
    with pytest.raises(TypeError, match="context"):
        MultiScaleNet(context="yes")


def test_a_larger_factor_widens_the_context():
    model = MultiScaleNet(1, 2, width=4, norm=None, factor=4, seed=0).eval()
    x = torch.rand(1, 1, 96, 96, generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[0, 0, 48, 48] += 1.0
    with torch.no_grad():
        changed = (model(x) - model(y)).abs().amax(1)[0] > 0
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert rows.max() - rows.min() + 1 == 36 and cols.max() - cols.min() + 1 == 36
    with pytest.raises(ValueError, match="multiples of 4"):
        model(torch.zeros(1, 1, 94, 96))
    with pytest.raises(ValueError, match="factor"):
        MultiScaleNet(factor=1)


def test_multiscale_wants_even_sizes():
    with pytest.raises(ValueError, match="multiples of 2"):
        MultiScaleNet(seed=0)(torch.zeros(1, 1, 21, 20))


# --- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name", [
    ({"num_classes": 1}, "num_classes"), ({"in_channels": 0}, "in_channels"),
    ({"depth": 0}, "depth"), ({"depth": 2.0}, "depth"), ({"width": 0}, "width"),
    ({"padding": "full"}, "padding"), ({"norm": "group"}, "norm"), ({"skips": "yes"}, "skips"),
    ({"spatial_dims": 1}, "spatial_dims"), ({"seed": -1}, "seed"),
])
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        UNet(**kwargs)


def test_a_2d_model_refuses_a_volume():
    with pytest.raises(ValueError, match=r"spatial_dims=2 takes a tensor \(B, C, H, W\)"):
        UNet(seed=0)(torch.zeros(1, 1, 8, 8, 8))
