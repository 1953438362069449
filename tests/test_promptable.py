"""The small promptable (Segment-Anything-style) segmenter: shapes, prompts, the click sampler,
a training step, determinism, and segment()'s input checks."""

import numpy as np
import pytest
import torch

from mlseg.models.promptable import (
    PromptableSegmenter,
    Prompts,
    click_dice,
    click_sampler,
    next_click,
    promptable_loss,
    segment,
    train_promptable,
)
from mlseg.models.vit import sincos_position_embedding

TINY = {"width": 4, "dim": 16, "depth": 1, "decoder_depth": 1, "heads": 2}


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    return PromptableSegmenter(image_size=32, seed=0, **TINY).eval()


def _weights_equal(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def _toy_labels():
    """Two 32x32 slices: a square of 'CSF' (1) in both, a corner 'lesion' (4) in the second."""
    labels = np.zeros((2, 32, 32), np.uint8)
    labels[:, 8:16, 8:16] = 1
    labels[:, 20:28, 4:12] = 2
    labels[1, 24:, 24:] = 4
    images = labels.astype(np.float32) / 4
    return images, labels


# --- the model -----------------------------------------------------------------------------------

def test_one_mask_logit_map_and_one_score_per_prompt(model):
    points = torch.tensor([[[3.0, 4.0], [20.0, 9.0], [0.0, 0.0]]] * 3)
    labels = torch.tensor([[1, 0, -1], [1, 2, 3], [1, 1, 1]])
    logits, iou = model(torch.rand(3, 1, 32, 32), points, labels)
    assert logits.shape == (3, 32, 32) and iou.shape == (3,)


def test_the_mask_depends_on_where_you_click(model):
    image = torch.rand(1, 1, 32, 32)
    a, _ = model(image, torch.tensor([[[4.0, 4.0]]]), torch.tensor([[1]]))
    b, _ = model(image, torch.tensor([[[28.0, 20.0]]]), torch.tensor([[1]]))
    c, _ = model(image, torch.tensor([[[4.0, 4.0]]]), torch.tensor([[0]]))
    assert not torch.allclose(a, b) and not torch.allclose(a, c)


def test_several_prompts_on_one_image_equal_one_prompt_each(model):
    # SAM's economy: the image is encoded once and every prompt decoded from that encoding
    images = torch.rand(2, 1, 32, 32)
    points = torch.tensor([[[3.0, 4.0]], [[20.0, 9.0]], [[7.0, 30.0]]])
    labels = torch.ones(3, 1, dtype=torch.int64)
    index = torch.tensor([1, 1, 0])
    logits, iou = model(images, points, labels, index)
    one_by_one = [model(images[i:i + 1], points[m:m + 1], labels[m:m + 1])
                  for m, i in enumerate(index.tolist())]
    assert torch.allclose(logits, torch.cat([o[0] for o in one_by_one]), atol=1e-5)
    assert torch.allclose(iou, torch.cat([o[1] for o in one_by_one]), atol=1e-5)


def test_padding_points_carry_no_position(model):
    # a padding token (label -1) is the same wherever its coordinates say it is
    image = torch.rand(1, 1, 32, 32)
    first = torch.tensor([[[4.0, 4.0], [0.0, 0.0]]])
    second = torch.tensor([[[4.0, 4.0], [30.0, 17.0]]])
    labels = torch.tensor([[1, -1]])
    assert torch.allclose(model(image, first, labels)[0], model(image, second, labels)[0])


def test_click_positions_use_the_image_tokens_coordinates(model):
    # a click at the centre of the patch in grid row 1, column 2 (pixels 8..15, 16..23) gets
    # exactly the position vector of that image token
    stem = [torch.zeros(1, 4, 32, 32), torch.zeros(1, 8, 16, 16), torch.zeros(1, 16, 8, 8)]
    tokens, pos = model.prompt_encoder(torch.tensor([[[11.5, 19.5]]]), torch.tensor([[1]]),
                                       stem, (32, 32))
    assert torch.allclose(pos[0, 0], sincos_position_embedding((4, 4), 16)[1 * 4 + 2],
                          atol=1e-6)


def test_decoder_attention_maps_are_kept(model):
    points, labels = torch.tensor([[[3.0, 4.0], [9.0, 9.0]]]), torch.tensor([[1, 0]])
    model(torch.rand(2, 1, 32, 32), points.expand(2, -1, -1), labels.expand(2, -1))
    final = model.decoder.final_attn.last_attention
    assert final.shape == (2, 2, 2 + 2, 16)                  # IoU, mask, 2 clicks → 4x4 tokens
    assert torch.allclose(final.sum(-1), torch.ones(2, 2, 4), atol=1e-5)


def test_the_model_checks_its_batch(model):
    image = torch.rand(1, 1, 32, 32)
    with pytest.raises(ValueError, match="labels must be in"):
        model(image, torch.zeros(1, 1, 2), torch.tensor([[5]]))
    with pytest.raises(ValueError, match="points must be a tensor"):
        model(image, torch.zeros(1, 2), torch.tensor([[1]]))
    with pytest.raises(ValueError, match="one prompt per image"):
        model(image, torch.zeros(2, 1, 2), torch.ones(2, 1, dtype=torch.int64))
    with pytest.raises(ValueError, match="image_index must be in 0..0"):
        model(image, torch.zeros(2, 1, 2), torch.ones(2, 1, dtype=torch.int64),
              torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="divisible by 8"):
        model(torch.rand(1, 1, 30, 32), torch.zeros(1, 1, 2), torch.tensor([[1]]))
    with pytest.raises(ValueError, match="image_size must be divisible by 8"):
        PromptableSegmenter(image_size=36)


def test_same_seed_same_weights_and_outputs():
    a = PromptableSegmenter(image_size=32, seed=1, **TINY).eval()
    b = PromptableSegmenter(image_size=32, seed=1, **TINY).eval()
    c = PromptableSegmenter(image_size=32, seed=2, **TINY).eval()
    assert _weights_equal(a, b) and not _weights_equal(a, c)
    image = torch.rand(2, 1, 32, 32)
    points, labels = torch.tensor([[[5.0, 5.0]], [[20.0, 3.0]]]), torch.tensor([[1], [1]])
    for x, y in zip(a(image, points, labels), b(image, points, labels)):
        assert torch.equal(x, y)


# --- training ------------------------------------------------------------------------------------

def test_click_sampler_clicks_inside_the_structure_and_returns_its_mask():
    images, labels = _toy_labels()
    data = click_sampler(images, labels, structures=(1, 2, 4), masks=1, clicks=3, negative=1.0,
                         box=1.0)
    x, prompts, targets = data(np.random.default_rng(0), 32)
    assert isinstance(prompts, Prompts)
    assert x.shape == (32, 1, 32, 32) and targets.shape == (32, 32, 32)
    assert prompts.points.shape == (32, 6, 2) and prompts.labels.dtype == torch.int64
    assert prompts.image_index.tolist() == list(range(32))
    for b in range(32):
        truth = targets[b].bool().numpy()
        kinds = prompts.labels[b].tolist()
        rows, cols = prompts.points[b].long().T.tolist()
        assert 1 <= kinds[:3].count(1) <= 3 and set(kinds[:3]) <= {1, -1}
        for j in range(3):                                    # positive clicks inside
            assert kinds[j] == -1 or truth[rows[j], cols[j]]
        assert kinds[3] == 0 and not truth[rows[3], cols[3]]  # negative click outside
        assert kinds[4:] == [2, 3]                            # box corners = bounding box
        r, c = np.nonzero(truth)
        assert [rows[4], cols[4], rows[5], cols[5]] == [r.min(), c.min(), r.max(), c.max()]
        # the target is one whole structure of the slice the image came from
        k = int(np.flatnonzero([np.array_equal(x[b, 0].numpy(), image) for image in images])[0])
        assert any(np.array_equal(truth, labels[k] == s) for s in (1, 2, 4))


def test_click_sampler_makes_prompts_of_a_box_alone():
    images, labels = _toy_labels()
    data = click_sampler(images, labels, structures=(1, 2, 4), masks=1, negative=0.0, box=1.0,
                         box_only=1.0)
    _, prompts, targets = data(np.random.default_rng(0), 16)
    assert (prompts.labels[:, :4] == -1).all()                 # no clicks at all
    assert (prompts.labels[:, 4:] == torch.tensor([2, 3])).all()
    for points, truth in zip(prompts.points, targets.bool().numpy()):
        r, c = np.nonzero(truth)
        assert points[4:].long().flatten().tolist() == [r.min(), c.min(), r.max(), c.max()]
    mixed = click_sampler(images, labels, structures=(1, 2, 4), masks=1, box=1.0, box_only=0.5)
    _, prompts, _ = mixed(np.random.default_rng(0), 64)
    alone = (prompts.labels[:, :3] == -1).all(dim=1).float().mean()
    assert 0.3 < alone < 0.7


def test_click_sampler_prompts_several_structures_of_each_image():
    images, labels = _toy_labels()
    data = click_sampler(images, labels, structures=(1, 2, 4), masks=3)
    x, prompts, targets = data(np.random.default_rng(0), 10)
    index = prompts.image_index.numpy()
    assert len(x) == 10 and len(targets) == len(index) == len(prompts.points)
    for b in range(10):
        mine = targets[index == b].numpy().astype(bool)
        has_lesion = (x[b, 0].numpy() == 1).any()                 # only slice 1 has label 4
        assert len(mine) == (3 if has_lesion else 2)              # every structure present
        assert not (mine[0] & mine[1]).any()                      # different structures


def test_click_sampler_asks_for_every_structure_and_only_in_slices_that_have_it():
    images, labels = _toy_labels()
    data = click_sampler(images, labels, structures=(4,), masks=2, negative=0.0, box=0.0)
    x, prompts, targets = data(np.random.default_rng(1), 8)
    assert torch.equal(x[:, 0], torch.from_numpy(images[[1] * 8]))    # only slice 1 has 4
    assert (prompts.labels[:, 3:] == -1).all() and len(prompts.labels) == 8
    with pytest.raises(ValueError, match="structures includes 3, which no slice"):
        click_sampler(images, labels, structures=(1, 3))


def test_click_sampler_is_reproducible_with_a_seed():
    images, labels = _toy_labels()
    data = click_sampler(images, labels, structures=(1, 2))
    a, b = data(np.random.default_rng(5), 4), data(np.random.default_rng(5), 4)
    assert all(torch.equal(u, v) for u, v in zip((a[0], *a[1], a[2]), (b[0], *b[1], b[2])))
    c = data(np.random.default_rng(6), 4)
    assert not torch.equal(a[1].points, c[1].points)


def test_the_loss_is_small_for_a_confident_right_mask_and_a_right_score():
    targets = torch.zeros(2, 8, 8)
    targets[:, 2:6, 2:6] = 1
    right = 20 * (2 * targets - 1)
    assert promptable_loss(right, torch.ones(2), targets).item() < 1e-3
    assert promptable_loss(right, torch.zeros(2), targets).item() > 0.9     # score says 0
    assert promptable_loss(-right, torch.zeros(2), targets).item() > 5      # mask inverted


def test_training_steps_lower_the_loss_on_a_batch(one_thread):
    images, labels = _toy_labels()
    x, prompts, targets = click_sampler(images, labels, structures=(1, 2, 4))(
        np.random.default_rng(0), 3)
    model = PromptableSegmenter(image_size=32, seed=0, **TINY)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss = promptable_loss(*model(x, *prompts), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_train_promptable_is_reproducible_with_a_seed(one_thread):
    from mlseg.phantoms import brain_split

    split = brain_split(n_train=4, n_test=1, size=32, progress=False)
    runs = []
    for _ in range(2):
        model = PromptableSegmenter(image_size=32, seed=0, **TINY)
        history = train_promptable(model, split, iterations=3, batch_size=4, lr=1e-3, seed=0,
                                   structures=(1, 2, 3), device="cpu", progress=False)
        runs.append((model, history))
    assert len(runs[0][1].loss) == 3 and runs[0][1].loss == runs[1][1].loss
    assert _weights_equal(runs[0][0], runs[1][0])
    assert not runs[0][0].training


def test_train_promptable_checks_its_arguments(model):
    with pytest.raises(TypeError, match="model must be a PromptableSegmenter"):
        train_promptable(torch.nn.Linear(2, 2), None, iterations=1, batch_size=1, lr=1e-3,
                         seed=0)
    with pytest.raises(TypeError, match="split must have train_images"):
        train_promptable(model, (1, 2), iterations=1, batch_size=1, lr=1e-3, seed=0)


# --- segment() -----------------------------------------------------------------------------------

def test_segment_returns_a_bool_mask_and_a_float_score(model):
    image = np.random.default_rng(0).random((32, 32))
    mask, score = segment(model, image, points=[(3, 4), (20, 9)], labels=[1, 0])
    assert mask.shape == (32, 32) and mask.dtype == bool and isinstance(score, float)
    mask, score = segment(model, image, box=(2, 3, 20, 25))
    assert mask.shape == (32, 32)
    # labels default to positive clicks; model mode is restored
    model.train()
    assert np.array_equal(segment(model, image, points=[(3, 4)])[0],
                          segment(model, image, points=[(3, 4)], labels=[1])[0])
    assert model.training
    model.eval()


def test_segment_agrees_with_the_batched_forward(model):
    image = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    mask, score = segment(model, image, points=[(3, 4)], box=(1, 1, 10, 12))
    with torch.no_grad():
        logits, iou = model(torch.from_numpy(image)[None, None],
                            torch.tensor([[[3.0, 4.0], [1, 1], [10, 12]]]),
                            torch.tensor([[1, 2, 3]]))
    assert np.array_equal(mask, (logits[0] > 0).numpy())
    assert score == pytest.approx(min(max(iou.item(), 0.0), 1.0))   # clipped to [0, 1]


@pytest.mark.parametrize("kwargs, match", [
    ({}, "the prompt is empty"),
    ({"points": []}, "the prompt is empty"),
    ({"points": [(3, 4)], "labels": [1, 1]}, "points and labels must have the same length"),
    ({"points": [(3, 40)]}, r"points\[0\] = \(3, 40\) is outside the 32x32 image"),
    ({"points": [(3, 4), (-1, 2)]}, r"points\[1\] = \(-1, 2\) is outside"),
    ({"points": [(3, 4), (5, 6)], "labels": [1]}, "points and labels must have the same length"),
    ({"points": [(3, 4)], "labels": [2]}, "labels must be 0 .* or 1"),
    ({"points": [3, 4]}, r"points must be a sequence of \(row, col\)"),
    ({"labels": [1]}, "labels were given without points"),
    ({"box": (10, 3, 5, 20)}, "box must be .* min <= max"),
    ({"box": (0, 0, 5, 32)}, "inside the 32x32 image"),
    ({"box": (0, 0, 5)}, "box must be"),
])
def test_segment_rejects_bad_prompts_naming_the_argument(model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        segment(model, np.zeros((32, 32)), **kwargs)


def test_segment_rejects_a_bad_image_or_model(model):
    with pytest.raises(ValueError, match="divisible by 8"):
        segment(model, np.zeros((30, 32)), points=[(1, 1)])
    with pytest.raises(ValueError, match="image must not contain NaN"):
        segment(model, np.full((32, 32), np.nan), points=[(1, 1)])
    with pytest.raises(TypeError, match="model must be a PromptableSegmenter"):
        segment(torch.nn.Linear(2, 2), np.zeros((32, 32)), points=[(1, 1)])


def test_click_dice_scores_every_structure_present(model):
    images, labels = _toy_labels()
    scores = click_dice(model, images, labels, structures=(1, 4, 3))
    assert set(scores) == {1, 3, 4}
    assert 0 <= scores[1] <= 1 and 0 <= scores[4] <= 1 and np.isnan(scores[3])


# --- next_click: where a simulated user clicks next ---------------------------------------------

def test_the_first_click_goes_to_the_centre_of_the_structure():
    reference = np.zeros((9, 12), bool)
    reference[2:7, 3:10] = True                        # 5 rows x 7 columns: centre row 4
    (row, col), label = next_click(reference, np.zeros_like(reference))
    assert label == 1 and row == 4 and 5 <= col <= 7
    assert (row, col) == (4, 5)                        # ties: the first in row-major order


def test_a_leak_gets_a_negative_click_in_its_middle_and_a_hole_a_positive_one():
    reference = np.zeros((20, 20), bool)
    reference[2:18, 2:10] = True
    leaked = reference.copy()
    leaked[5:12, 10:17] = True                         # a 7x7 leak: middle (8, 13)
    assert next_click(reference, leaked) == ((8, 13), 0)
    holed = reference.copy()
    holed[8:11, 4:7] = False                           # a 3x3 hole, shallower than the leak
    assert next_click(reference, holed | leaked) == ((8, 13), 0)
    assert next_click(reference, holed) == ((9, 5), 1)


def test_the_image_border_counts_as_outside_the_error():
    reference = np.zeros((10, 10), bool)
    reference[:, :4] = True                            # touches the top, bottom and left edge
    # were the border inside, column 0 (4 px from column 4) would be deepest; it is 1 px deep
    assert next_click(reference, np.zeros_like(reference)) == ((1, 1), 1)


def test_clicks_to_avoid_push_the_next_click_elsewhere():
    reference = np.zeros((20, 20), bool)
    reference[2:18, 2:10] = True
    leaked = reference.copy()
    leaked[5:12, 10:17] = True                         # the leak's middle (8, 13) is deepest
    (row, col), label = next_click(reference, leaked, avoid=[(8, 13)])
    assert (row - 8) ** 2 + (col - 13) ** 2 > 4 ** 2  # not within 4 px of the earlier click
    everywhere = [(r, c) for r in range(20) for c in range(20)]
    assert next_click(reference, leaked, avoid=everywhere) is None
    assert next_click(reference, leaked, avoid=[(8, 13)], radius=0) == ((7, 12), 0)


def test_nothing_to_correct_gives_none_and_bad_masks_are_errors():
    reference = np.eye(5, dtype=bool)
    assert next_click(reference, reference.copy()) is None
    with pytest.raises(ValueError, match="same shape"):
        next_click(reference, np.zeros((5, 6), bool))
    with pytest.raises(ValueError, match="reference must be a 2D mask"):
        next_click(np.zeros((2, 5, 5), bool), np.zeros((2, 5, 5), bool))


def test_segment_takes_a_read_only_image_without_a_warning(model):
    import warnings

    image = np.zeros((32, 32), np.float32)
    image.flags.writeable = False                      # as brain_split's cached arrays are
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mask, _ = segment(model, image, points=[(3, 4)])
    assert mask.shape == (32, 32)
