"""Up- and down-sampling: unpooling, bilinear, strided / transpose / dilated convolutions, ASPP,
and the checkerboard of transpose convolutions."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mlseg.models import output_geometry
from mlseg.models.layers import (
    ASPP,
    average_unpool,
    bilinear_upsample,
    dilated_conv,
    max_pool_with_indices,
    max_unpool,
    strided_conv,
    transpose_conv,
    transpose_conv_overlap,
)

SLIDE = torch.tensor([[1.0, 2.0], [3.0, 4.0]])[None, None]  # the lecture's 2×2 input


# --- the slide's examples ------------------------------------------------------------------------

def test_average_unpooling_of_the_slide():
    assert average_unpool(SLIDE)[0, 0].tolist() == [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [3, 3, 4, 4],
        [3, 3, 4, 4],
    ]


def test_max_unpooling_of_the_slide():
    assert max_unpool(SLIDE)[0, 0].tolist() == [
        [1, 0, 2, 0],
        [0, 0, 0, 0],
        [3, 0, 4, 0],
        [0, 0, 0, 0],
    ]


def test_unpooling_with_spatial_information_puts_each_maximum_back_where_it_was():
    image = torch.tensor([[0.0, 1.0, 0.0, 0.0],
                          [0.0, 0.0, 0.0, 2.0],
                          [3.0, 0.0, 0.0, 0.0],
                          [0.0, 0.0, 4.0, 0.0]])[None, None]
    pooled, indices = max_pool_with_indices(image)
    assert pooled[0, 0].tolist() == SLIDE[0, 0].tolist()
    assert indices[0, 0].tolist() == [[1, 7], [8, 14]]       # row * 4 + column
    assert torch.equal(max_unpool(pooled, indices), image)


def test_unpooling_keeps_only_the_maxima_of_a_random_image():
    x = torch.rand(2, 3, 8, 6, generator=torch.Generator().manual_seed(0))
    restored = max_unpool(*max_pool_with_indices(x))
    kept = restored != 0
    assert kept.sum() == 2 * 3 * 4 * 3                       # one pixel per 2×2 block
    assert torch.equal(restored[kept], x[kept])
    assert torch.equal(F.max_pool2d(restored, 2), F.max_pool2d(x, 2))


def test_max_unpool_to_an_odd_size_with_output_size():
    x = torch.rand(1, 1, 5, 7, generator=torch.Generator().manual_seed(1))
    pooled, indices = max_pool_with_indices(x)                # (1, 1, 2, 3)
    assert max_unpool(pooled, indices, output_size=(5, 7)).shape == (1, 1, 5, 7)
    assert max_unpool(pooled, output_size=(5, 7)).shape == (1, 1, 5, 7)
    with pytest.raises(ValueError, match="output_size"):
        max_unpool(pooled, indices, output_size=(6, 8))


def test_average_unpooling_is_undone_by_average_pooling():
    x = torch.rand(2, 3, 5, 4, generator=torch.Generator().manual_seed(2))
    assert torch.equal(F.avg_pool2d(average_unpool(x), 2), x)
    assert torch.allclose(F.avg_pool2d(average_unpool(x, factor=3), 3), x, atol=1e-6)


def test_unpooling_in_3d_by_3():
    x = torch.arange(8.0).reshape(1, 1, 2, 2, 2)
    up = average_unpool(x, factor=3)
    assert up.shape == (1, 1, 6, 6, 6)
    assert torch.equal(up[0, 0, 3:6, 0:3, 3:6], torch.full((3, 3, 3), 5.0))  # x[1, 0, 1]
    corner = max_unpool(x, factor=3)
    assert corner.sum() == x.sum() and corner[0, 0, 3, 0, 3] == 5
    volume = torch.rand(1, 2, 4, 6, 8, generator=torch.Generator().manual_seed(3))
    pooled, indices = max_pool_with_indices(volume)
    assert pooled.shape == (1, 2, 2, 3, 4)
    assert torch.equal(F.max_pool3d(max_unpool(pooled, indices), 2), pooled)


def test_bilinear_upsampling_by_hand():
    # align_corners=False: the new pixel centres sit at -0.25, 0.25, 0.75, 1.25 of the old grid
    up = bilinear_upsample(SLIDE)[0, 0]
    assert up[0].tolist() == [1.0, 1.25, 1.75, 2.0]
    assert up[:, 0].tolist() == [1.0, 1.5, 2.5, 3.0]
    corners = bilinear_upsample(SLIDE, factor=3, align_corners=True)[0, 0]
    assert corners[0].tolist() == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.8, 2.0])


def test_bilinear_upsampling_keeps_a_constant_and_works_in_3d():
    assert torch.equal(bilinear_upsample(torch.full((1, 1, 3, 3), 7.0)),
                       torch.full((1, 1, 6, 6), 7.0))
    assert bilinear_upsample(torch.zeros(1, 2, 2, 3, 4)).shape == (1, 2, 4, 6, 8)


# --- learned down- and up-sampling ---------------------------------------------------------------

@pytest.mark.parametrize("size", [31, 32])
def test_strided_convolution_is_a_convolution_kept_every_second_pixel(size):
    down = strided_conv(3, 4, seed=0)
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    full = F.conv2d(x, down.weight, down.bias, padding=1)     # stride 1
    out = down(x)
    assert out.shape == (1, 4, (size + 1) // 2, (size + 1) // 2)
    assert torch.allclose(out, full[..., ::2, ::2], atol=1e-6)


def test_strided_convolution_in_3d_with_kernel_2():
    down = strided_conv(2, 5, spatial_dims=3, kernel_size=2, seed=0)
    assert isinstance(down, torch.nn.Conv3d)
    assert down(torch.zeros(1, 2, 8, 6, 4)).shape == (1, 5, 4, 3, 2)


def test_transpose_convolution_2x2_stride_2_pastes_one_scaled_kernel_per_pixel():
    up = transpose_conv(1, 1, seed=0)
    with torch.no_grad():
        up.bias.zero_()
    x = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    kernel = up.weight[0, 0].detach()
    expected = torch.kron(x, kernel)                          # block (i, j) = x[i, j] · kernel
    assert torch.allclose(up(x[None, None])[0, 0], expected, atol=1e-6)


@pytest.mark.parametrize("kernel_size, stride", [(1, 2), (2, 2), (3, 2), (4, 2), (3, 3), (5, 4),
                                                 (3, 1)])
def test_transpose_convolution_multiplies_the_size_by_the_stride(kernel_size, stride):
    up = transpose_conv(2, 3, kernel_size=kernel_size, stride=stride, seed=0)
    assert up(torch.zeros(1, 2, 5, 7)).shape == (1, 3, 5 * stride, 7 * stride)


def test_transpose_convolution_is_the_adjoint_of_the_strided_convolution():
    # <conv(x), y> == <conv_transpose(y), x> with the same weights: "transpose" in its name
    down = strided_conv(1, 1, seed=0)
    up = transpose_conv(1, 1, kernel_size=3, seed=1)
    with torch.no_grad():
        up.weight.copy_(down.weight)
    generator = torch.Generator().manual_seed(0)
    x, y = torch.rand(1, 1, 8, 8, generator=generator), torch.rand(1, 1, 4, 4, generator=generator)
    lhs = (F.conv2d(x, down.weight, stride=2, padding=1) * y).sum()
    rhs = (F.conv_transpose2d(y, up.weight, stride=2, padding=1, output_padding=1) * x).sum()
    assert torch.isclose(lhs, rhs, atol=1e-5)


def test_transpose_convolution_in_3d():
    up = transpose_conv(4, 2, spatial_dims=3, seed=0)
    assert isinstance(up, torch.nn.ConvTranspose3d)
    assert up(torch.zeros(1, 4, 2, 3, 4)).shape == (1, 2, 4, 6, 8)


def test_an_even_kernel_with_stride_1_cannot_keep_the_size():
    with pytest.raises(ValueError, match="kernel_size=2 and stride=1"):
        transpose_conv(1, 1, kernel_size=2, stride=1)


# --- the checkerboard artefact -------------------------------------------------------------------

@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_kernel_2_stride_2_covers_every_pixel_once(spatial_dims):
    counts = transpose_conv_overlap(4, kernel_size=2, stride=2, spatial_dims=spatial_dims)
    assert counts.shape == (8,) * spatial_dims
    assert (counts == 1).all()


def test_kernel_4_stride_2_is_uniform_inside():
    counts = transpose_conv_overlap(6, kernel_size=4, stride=2)
    assert (counts[1:-1, 1:-1] == 4).all()


def test_kernel_3_stride_2_makes_a_checkerboard():
    counts = transpose_conv_overlap(6, kernel_size=3, stride=2)
    inside = counts[:-2, :-2]                                 # away from the last row/column
    assert (inside[0::2, 0::2] == 1).all()                    # covered by one kernel copy
    assert (inside[0::2, 1::2] == 2).all() and (inside[1::2, 0::2] == 2).all()
    assert (inside[1::2, 1::2] == 4).all()                    # where four copies overlap


def test_kernel_3_stride_2_checkerboard_in_3d():
    counts = transpose_conv_overlap(3, kernel_size=3, stride=2, spatial_dims=3)
    assert counts.shape == (6, 6, 6)
    assert counts[1, 1, 1] == 8 and counts[0, 0, 0] == 1 and counts[0, 1, 1] == 4


# --- dilated convolutions and ASPP ---------------------------------------------------------------

def test_a_dilated_kernel_has_taps_dilation_pixels_apart():
    conv = dilated_conv(1, 1, dilation=3, seed=0)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
    impulse = torch.zeros(1, 1, 15, 15)
    impulse[0, 0, 7, 7] = 1
    response = conv(impulse)[0, 0]
    rows, cols = torch.nonzero(response, as_tuple=True)
    assert sorted(set(rows.tolist())) == [4, 7, 10] and sorted(set(cols.tolist())) == [4, 7, 10]
    assert response.shape == (15, 15)


def test_dilations_1_2_4_see_15_pixels_three_plain_convolutions_7():
    dilated = [dilated_conv(1, 1, dilation=d) for d in (1, 2, 4)]
    plain = [dilated_conv(1, 1, dilation=1) for _ in range(3)]
    assert output_geometry(dilated, size=32).receptive_field == 15
    assert output_geometry(plain, size=32).receptive_field == 7
    assert output_geometry(dilated, size=32).size == 32        # no down-sampling


def test_dilated_convolution_in_3d_keeps_the_size():
    conv = dilated_conv(2, 3, spatial_dims=3, dilation=2, seed=0)
    assert conv(torch.zeros(1, 2, 9, 10, 11)).shape == (1, 3, 9, 10, 11)


def test_aspp_sees_the_whole_image_through_its_image_pooling():
    aspp = ASPP(2, 4, rates=(1, 2), seed=0).eval()
    x = torch.rand(1, 2, 24, 24, generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[0, :, 0, 0] += 5.0                                       # change the top-left corner
    changed = (aspp(x) - aspp(y)).abs().amax(dim=1)[0] > 0
    assert changed[-1, -1]                                     # the far corner feels it
    assert aspp(x).shape == (1, 4, 24, 24)
    assert len(aspp.branches) == 3                             # 1×1 and two dilated 3×3


def test_aspp_in_3d_and_same_seed_same_weights():
    a, b = ASPP(3, 2, spatial_dims=3, seed=1), ASPP(3, 2, spatial_dims=3, seed=1)
    assert a(torch.zeros(2, 3, 6, 7, 8)).shape == (2, 2, 6, 7, 8)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


# --- validation ----------------------------------------------------------------------------------

def test_a_numpy_array_is_refused_with_the_shape_expected():
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor of shape \(B, C, H, W\)"):
        average_unpool(np.ones((2, 2)))


def test_a_tensor_without_batch_and_channel_axes_is_refused():
    with pytest.raises(ValueError, match=r"x\[None, None\]"):
        max_unpool(torch.ones(2, 2))


@pytest.mark.parametrize("call, name", [
    (lambda: average_unpool(SLIDE, factor=0), "factor"),
    (lambda: bilinear_upsample(SLIDE, factor=1.5), "factor"),
    (lambda: max_unpool(SLIDE, torch.zeros(1, 1, 3, 3, dtype=torch.int64)), "indices"),
    (lambda: strided_conv(0, 4), "in_channels"),
    (lambda: transpose_conv(4, 4, spatial_dims=1), "spatial_dims"),
    (lambda: dilated_conv(4, 4, kernel_size=4), "kernel_size"),
    (lambda: dilated_conv(4, 4, dilation=0), "dilation"),
    (lambda: ASPP(4, 4, rates=()), "rates"),
    (lambda: transpose_conv_overlap(0, kernel_size=3, stride=2), "size"),
])
def test_bad_arguments_are_named(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()
