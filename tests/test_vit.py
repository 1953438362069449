"""Vision transformer parts (patches, patch embedding = strided convolution, positions,
attention = scaled_dot_product_attention) and the two segmenters, on tiny sizes."""

import math

import pytest
import torch
import torch.nn.functional as F

from mlseg.models.vit import (
    Attention,
    Block,
    HybridSegmenter,
    PatchEmbedding,
    Transformer,
    ViTSegmenter,
    as_conv,
    attention,
    interpolate_positions,
    patchify,
    sincos_position_embedding,
    unpatchify,
)


@pytest.fixture
def one_thread():
    """Tiny tensors train faster on one thread (and do not fight other jobs for cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _weights_equal(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


# --- patches -------------------------------------------------------------------------------------

def test_patchify_a_4x4_image_into_four_2x2_patches_by_hand():
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    # top-left patch holds pixels 0, 1 (row 0) and 4, 5 (row 1); then top-right, bottom-left...
    assert patchify(image, 2)[0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7],
                                              [8, 9, 12, 13], [10, 11, 14, 15]]


def test_patch_vectors_list_channels_first_like_a_conv_kernel():
    images = torch.rand(2, 3, 8, 8)
    tokens = patchify(images, 4)
    assert tokens.shape == (2, 4, 48)
    # token 1 = grid row 0, column 1; its vector is the (3, 4, 4) block flattened
    assert torch.equal(tokens[1, 1], images[1, :, 0:4, 4:8].reshape(-1))


@pytest.mark.parametrize("shape, patch", [((2, 1, 16, 16), 4), ((1, 3, 8, 24), 8),
                                          ((3, 2, 6, 9), 3), ((1, 1, 5, 5), 1)])
def test_unpatchify_undoes_patchify(shape, patch):
    images = torch.rand(shape)
    assert torch.equal(unpatchify(patchify(images, patch), patch, shape[2:]), images)


def test_patchify_also_undoes_unpatchify():
    tokens = torch.rand(2, 6, 2 * 4 * 4)
    assert torch.equal(patchify(unpatchify(tokens, 4, (8, 12)), 4), tokens)


def test_a_size_not_divisible_by_the_patch_is_an_error_naming_it():
    with pytest.raises(ValueError, match="divisible by the patch size 8"):
        patchify(torch.zeros(1, 1, 20, 16), 8)
    with pytest.raises(ValueError, match="shape must be divisible"):
        unpatchify(torch.zeros(1, 4, 64), 8, (12, 16))
    with pytest.raises(ValueError, match="image_size must be divisible by the patch size 8"):
        ViTSegmenter(1, 5, image_size=100, patch=8)
    with pytest.raises(ValueError, match="image_size must be divisible by the patch size 8"):
        HybridSegmenter(1, 5, image_size=(64, 60))
    model = ViTSegmenter(1, 5, image_size=32, patch=8, dim=16, depth=1, heads=2, seed=0)
    with pytest.raises(ValueError, match="input's height and width must be divisible"):
        model(torch.zeros(1, 1, 32, 36))


def test_unpatchify_rejects_tokens_that_do_not_fit_the_shape():
    with pytest.raises(ValueError, match="needs N = 4 tokens"):
        unpatchify(torch.zeros(1, 5, 16), 2, (4, 4))


# --- patch embedding = strided convolution -------------------------------------------------------

@pytest.mark.parametrize("channels, patch, size", [(1, 8, (32, 32)), (3, 4, (16, 24)),
                                                   (2, 1, (5, 7))])
def test_patch_embedding_is_a_convolution_with_kernel_and_stride_the_patch(channels, patch, size):
    embedding = PatchEmbedding(channels, 12, patch=patch, seed=0)
    conv = as_conv(embedding)
    assert conv.kernel_size == (patch, patch) and conv.stride == (patch, patch)
    x = torch.rand(3, channels, *size)
    with torch.no_grad():
        by_conv = conv(x)                                  # (B, 12, H/p, W/p)
        tokens = embedding(x)                              # (B, N, 12)
    assert by_conv.shape == (3, 12, size[0] // patch, size[1] // patch)
    assert torch.allclose(tokens, by_conv.flatten(2).transpose(1, 2), atol=1e-5)


def test_as_conv_leaves_the_embedding_alone_and_wants_an_embedding():
    embedding = PatchEmbedding(1, 4, patch=2, seed=0)
    before = embedding.linear.weight.clone()
    as_conv(embedding).weight.data.zero_()
    assert torch.equal(embedding.linear.weight, before)
    with pytest.raises(TypeError, match="PatchEmbedding"):
        as_conv(torch.nn.Linear(4, 4))


# --- positions -----------------------------------------------------------------------------------

def test_sincos_positions_by_hand():
    pos = sincos_position_embedding((2, 3), 8)             # k = 2 frequencies: 1 and 1/100
    assert pos.shape == (6, 8)
    r, c = 1, 2                                             # token 1 * 3 + 2
    expected = [math.sin(r), math.sin(r / 100), math.cos(r), math.cos(r / 100),
                math.sin(c), math.sin(c / 100), math.cos(c), math.cos(c / 100)]
    assert torch.allclose(pos[r * 3 + c], torch.tensor(expected), atol=1e-6)


def test_sincos_positions_of_fractional_coordinates_match_the_grid():
    grid = sincos_position_embedding((4, 5), 16)
    points = torch.tensor([[2.0, 3.0], [0.0, 4.0]])
    assert torch.allclose(sincos_position_embedding(points, 16), grid[[2 * 5 + 3, 4]])


def test_sincos_dim_must_be_a_multiple_of_4():
    with pytest.raises(ValueError, match="dim must be a multiple of 4"):
        sincos_position_embedding(4, 6)


def test_interpolating_to_the_same_grid_changes_nothing():
    pos = torch.rand(1, 12, 8)
    assert torch.equal(interpolate_positions(pos, (3, 4), (3, 4)), pos)


@pytest.mark.parametrize("new", [(6, 8), (2, 2), (5, 3)])
def test_interpolated_positions_have_one_vector_per_new_cell(new):
    pos = sincos_position_embedding((3, 4), 8)
    out = interpolate_positions(pos, (3, 4), new)
    assert out.shape == (new[0] * new[1], 8)
    assert interpolate_positions(pos[None], (3, 4), new).shape == (1, new[0] * new[1], 8)


def test_interpolation_keeps_a_constant_and_resizes_a_smooth_ramp():
    # a constant embedding stays constant; a ramp along the rows stays monotone
    constant = torch.full((12, 4), 0.5)
    assert torch.allclose(interpolate_positions(constant, (3, 4), (6, 8)), constant[:1], atol=1e-6)
    ramp = torch.arange(4.0).repeat_interleave(4)[:, None].expand(16, 2)    # (4x4 grid, 2)
    out = interpolate_positions(ramp.contiguous(), (4, 4), (8, 4)).reshape(8, 4, 2)[:, 0, 0]
    assert (out.diff() >= -1e-6).all()


def test_interpolation_checks_the_number_of_vectors():
    with pytest.raises(ValueError, match="old_grid 3x3 has 9 cells"):
        interpolate_positions(torch.zeros(10, 4), (3, 3), (4, 4))


def test_a_vit_runs_on_another_image_size_with_interpolated_positions():
    model = ViTSegmenter(1, 3, image_size=32, patch=8, dim=16, depth=1, heads=2, seed=0).eval()
    assert model(torch.zeros(1, 1, 48, 64)).shape == (1, 3, 48, 64)
    hybrid = HybridSegmenter(1, 3, image_size=32, width=4, dim=16, depth=1, heads=2,
                             seed=0).eval()
    assert hybrid(torch.zeros(1, 1, 48, 64)).shape == (1, 3, 48, 64)


# --- attention -----------------------------------------------------------------------------------

def test_attention_of_one_query_on_two_keys_by_hand():
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    v = torch.tensor([[2.0, 0.0], [0.0, 4.0]])
    out, weights = attention(q, k, v)
    a = torch.sigmoid(torch.tensor(2 / 2 ** 0.5))          # softmax of [1/√2, -1/√2]
    assert torch.allclose(weights, torch.stack([a, 1 - a])[None], atol=1e-6)
    assert torch.allclose(out, torch.stack([2 * a, 4 * (1 - a)])[None], atol=1e-6)


def test_attention_equals_torchs_scaled_dot_product_attention():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 16, generator=g) for _ in range(3))
    k, v = k[:, :, :5], v[:, :, :5]                          # 7 queries on 5 keys
    out, weights = attention(q, k, v)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v), atol=1e-5)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3, 7), atol=1e-6)


def test_multi_head_attention_splits_features_into_heads_correctly():
    # the module by hand: project, give head h the features h*d:(h+1)*d, attend, concatenate
    torch.manual_seed(0)
    module = Attention(12, heads=3, seed=0)
    x = torch.randn(2, 5, 12)
    q, k, v = module.qkv(x).split(12, dim=-1)               # (B, N, 12) each
    heads = []
    for h in range(3):
        part = slice(4 * h, 4 * h + 4)
        heads.append(F.scaled_dot_product_attention(q[..., part], k[..., part], v[..., part]))
    expected = module.proj(torch.cat(heads, dim=-1))
    assert torch.allclose(module(x), expected, atol=1e-5)


def test_attention_matches_torchs_multihead_attention_with_copied_weights():
    module = Attention(16, heads=4, seed=0)
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(module.qkv.weight)
        mha.in_proj_bias.copy_(module.qkv.bias)
        mha.out_proj.weight.copy_(module.proj.weight)
        mha.out_proj.bias.copy_(module.proj.bias)
    x = torch.randn(3, 9, 16)
    out, weights = module(x, return_attention=True)
    theirs, their_weights = mha(x, x, x, average_attn_weights=False)
    assert torch.allclose(out, theirs, atol=1e-5)
    assert torch.allclose(weights, their_weights, atol=1e-5)


def test_attention_maps_are_kept_for_plotting_with_the_right_shape():
    model = ViTSegmenter(1, 5, image_size=32, patch=8, dim=16, depth=2, heads=2, seed=0)
    out, maps = model(torch.rand(3, 1, 32, 32), return_attention=True)
    assert out.shape == (3, 5, 32, 32)
    assert [m.shape for m in maps] == [(3, 2, 16, 16)] * 2     # 4x4 = 16 patches
    kept = model.transformer.blocks[1].attn.last_attention
    assert torch.equal(kept, maps[1]) and not kept.requires_grad
    assert torch.allclose(kept.sum(-1), torch.ones(3, 2, 16), atol=1e-5)
    _, hybrid_maps = HybridSegmenter(1, 5, image_size=32, width=4, dim=16, depth=1, heads=4,
                                     seed=0)(torch.rand(2, 1, 32, 32), return_attention=True)
    assert [m.shape for m in hybrid_maps] == [(2, 4, 16, 16)]


def test_dim_must_split_into_heads():
    with pytest.raises(ValueError, match="dim must be a multiple of heads"):
        Attention(10, heads=4)
    with pytest.raises(ValueError, match="dim must be a multiple of heads"):
        ViTSegmenter(1, 5, dim=30, heads=4)


# --- blocks and segmenters -----------------------------------------------------------------------

def test_a_block_is_pre_norm_with_residuals():
    block = Block(8, heads=2, seed=0)
    x = torch.randn(2, 3, 8)
    expected = x + block.attn(block.norm1(x))
    expected = expected + block.mlp(block.norm2(expected))
    assert torch.allclose(block(x), expected, atol=1e-6)


def test_tokens_only_mix_through_attention():
    # without attention weights every token would be processed alone: change one patch and
    # only its own token changes in the patch embedding, but all tokens change after a block
    embedding = PatchEmbedding(1, 8, patch=4, seed=0)
    x = torch.rand(1, 1, 8, 8)
    y = x.clone()
    y[..., :4, :4] += 1
    changed = (embedding(x) - embedding(y)).abs().sum(-1)[0] > 1e-6
    assert changed.tolist() == [True, False, False, False]
    block = Block(8, heads=2, seed=0)
    changed = (block(embedding(x)) - block(embedding(y))).abs().sum(-1)[0] > 1e-6
    assert changed.all()


@pytest.mark.parametrize("cls, kwargs", [
    (ViTSegmenter, {"patch": 8, "dim": 16, "depth": 1, "heads": 2}),
    (ViTSegmenter, {"patch": 4, "dim": 8, "depth": 2, "heads": 1, "positions": "sincos"}),
    (HybridSegmenter, {"width": 4, "dim": 16, "depth": 1, "heads": 2}),
])
def test_segmenters_return_log_probabilities_of_the_input_size(cls, kwargs):
    model = cls(2, 4, image_size=(16, 32), seed=0, **kwargs).eval()
    out = model(torch.rand(3, 2, 16, 32))
    assert out.shape == (3, 4, 16, 32)
    assert torch.allclose(out.exp().sum(1), torch.ones(3, 16, 32), atol=1e-5)


def test_learned_positions_are_parameters_and_sincos_ones_are_not():
    learned = Transformer((2, 2), 8, depth=0, heads=2, positions="learned", seed=0)
    fixed = Transformer((2, 2), 8, depth=0, heads=2, positions="sincos", seed=0)
    assert any(p is learned.pos for p in learned.parameters())
    assert not any(p is fixed.pos for p in fixed.parameters())
    assert torch.equal(fixed.pos[0], sincos_position_embedding((2, 2), 8))


@pytest.mark.parametrize("cls, kwargs", [
    (ViTSegmenter, {"dim": 16, "depth": 1, "heads": 2}),
    (HybridSegmenter, {"width": 4, "dim": 16, "depth": 1, "heads": 2}),
])
def test_same_seed_same_weights_and_outputs(cls, kwargs):
    a, b = cls(1, 5, image_size=32, seed=3, **kwargs), cls(1, 5, image_size=32, seed=3, **kwargs)
    c = cls(1, 5, image_size=32, seed=4, **kwargs)
    assert _weights_equal(a, b) and not _weights_equal(a, c)
    x = torch.rand(2, 1, 32, 32)
    assert torch.equal(a.eval()(x), b.eval()(x))


def test_the_seed_leaves_torchs_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    ViTSegmenter(1, 5, image_size=32, dim=16, depth=1, heads=2, seed=0)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("cls, kwargs", [
    (ViTSegmenter, {"patch": 4, "dim": 16, "depth": 1, "heads": 2}),
    (HybridSegmenter, {"width": 4, "dim": 16, "depth": 1, "heads": 2}),
])
def test_training_steps_lower_the_loss_and_are_reproducible(one_thread, cls, kwargs):
    from mlseg.training import fit

    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 1, 16, 16, generator=g)
    y = (x[:, 0] > 0.5).long() + (x[:, 0] > 0.8).long()      # 3 classes by intensity
    histories, models = [], []
    for _ in range(2):
        model = cls(1, 3, image_size=16, seed=0, **kwargs)
        histories.append(fit(model, (x, y), iterations=15, batch_size=8, lr=1e-2, seed=0,
                             device="cpu", progress=False))
        models.append(model)
    loss = histories[0].loss                                 # every batch is all 8 images
    assert loss[-1] < 0.9 * loss[0]
    assert histories[0].loss == histories[1].loss
    assert _weights_equal(*models)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="positions must be one of"):
        ViTSegmenter(1, 5, positions="rotary")
    with pytest.raises(TypeError, match="patch must be an integer"):
        patchify(torch.zeros(1, 1, 8, 8), 2.0)
    with pytest.raises(ValueError, match="x must have 1 channel"):
        ViTSegmenter(1, 5, image_size=32, dim=16, depth=1, heads=2)(torch.zeros(1, 2, 32, 32))
    with pytest.raises(TypeError, match="images must be a torch tensor"):
        patchify([[1.0]], 1)
