"""Chapter 06's exercises: right answers pass (numpy or torch), typical mistakes are named,
library calls get no credit, and the predict/choice questions never reveal their answer."""

import math
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _helpers import failing, grade_class, replace_answer  # noqa: E402

from mlseg import checks  # noqa: E402
from mlseg.checks import CheckFailed, check, run_checks  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "06_transformers.ipynb"

# --- right answers, the way a student would write them ------------------------------------------


def patchify(images, patch, order=(0, 2, 4, 1, 3, 5)):
    b, c, h, w = images.shape
    grid = images.reshape(b, c, h // patch, patch, w // patch, patch).transpose(order)
    return grid.reshape(b, (h // patch) * (w // patch), c * patch * patch)


def patchify_torch(images, patch):
    x = torch.as_tensor(images)
    b, c, h, w = x.shape
    x = x.unflatten(3, (w // patch, patch)).unflatten(2, (h // patch, patch))
    return x.permute(0, 2, 4, 1, 3, 5).flatten(3).flatten(1, 2)


def unpatchify(tokens, patch, shape):
    b, n, length = tokens.shape
    (h, w), c = shape, length // patch**2
    grid = tokens.reshape(b, h // patch, w // patch, c, patch, patch)
    return grid.transpose(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)


def unpatchify_torch(tokens, patch, shape):
    t = torch.as_tensor(tokens)
    b, n, length = t.shape
    (h, w), c = shape, length // patch**2
    return t.reshape(b, h // patch, w // patch, c, patch, patch).permute(
        0, 3, 1, 4, 2, 5).reshape(b, c, h, w)


def softmax(scores, axis=-1, stable=True):
    if stable:
        scores = scores - scores.max(axis=axis, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=axis, keepdims=True)


def attention(q, k, v, *, scale=True, axis=-1, stable=True):
    scores = q @ np.swapaxes(k, -1, -2)
    if scale:
        scores = scores / math.sqrt(q.shape[-1])
    weights = softmax(scores, axis, stable)
    return weights @ v, weights


def attention_torch(q, k, v):
    q, k, v = (torch.as_tensor(a, dtype=torch.float64) for a in (q, k, v))
    weights = torch.softmax(q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5, dim=-1)
    return weights @ v, weights


def multi_head(x, weights, heads, *, mix_tokens=False, scale_by_dim=False):
    b, n, dim = x.shape
    d = dim // heads
    qkv = x @ weights["qkv.weight"].T + weights["qkv.bias"]  # (B, N, 3D)
    if mix_tokens:  # the classic slip: reshape straight to (B, heads, N, d)
        q, k, v = (qkv[..., i * dim:(i + 1) * dim].reshape(b, heads, n, d) for i in range(3))
    else:
        q, k, v = qkv.reshape(b, n, 3, heads, d).transpose(2, 0, 3, 1, 4)
    if scale_by_dim:
        q = q * math.sqrt(d) / math.sqrt(dim)
    out, _ = attention(q, k, v)
    out = out.transpose(0, 2, 1, 3).reshape(b, n, dim)
    return out @ weights["proj.weight"].T + weights["proj.bias"]


def multi_head_torch(x, weights, heads):
    w = {key: torch.as_tensor(value) for key, value in weights.items()}
    x = torch.as_tensor(x)
    b, n, dim = x.shape
    qkv = torch.nn.functional.linear(x, w["qkv.weight"], w["qkv.bias"])
    q, k, v = qkv.unflatten(-1, (3, heads, dim // heads)).permute(2, 0, 3, 1, 4)
    out, _ = attention_torch(q, k, v)
    out = out.transpose(1, 2).reshape(b, n, dim).float()
    return torch.nn.functional.linear(out, w["proj.weight"], w["proj.bias"])


def encode(coords, dim, *, interleave=False, swap_halves=False, omega=None):
    """Sine-cosine vectors (N, dim) of (row, col) pairs (N, 2)."""
    k = dim // 4
    omega = 10000.0 ** (-np.arange(k) / k) if omega is None else omega
    angles = np.asarray(coords, float)[:, :, None] * omega  # (N, 2, k)
    pairs = np.stack if interleave else np.concatenate
    halves = pairs([np.sin(angles), np.cos(angles)], axis=-1 if interleave else 2)
    out = halves.reshape(len(coords), 2, 2 * k)
    if swap_halves:
        out = out[:, ::-1]
    return out.reshape(len(coords), dim)


def grid_cells(grid, column_major=False):
    rows, cols = (grid, grid) if np.isscalar(grid) else grid
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="xy" if column_major else "ij")
    return np.stack([r.ravel(), c.ravel()], axis=1)


def sincos_positions(grid, dim, **options):
    column_major = options.pop("column_major", False)
    return encode(grid_cells(grid, column_major), dim, **options)


def sincos_positions_torch(grid, dim):
    rows, cols = (grid, grid) if isinstance(grid, int) else grid
    r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    k = dim // 4
    omega = 10000.0 ** (-torch.arange(k) / k)
    parts = []
    for axis in (r.flatten(), c.flatten()):
        angles = axis[:, None] * omega
        parts += [angles.sin(), angles.cos()]
    return torch.cat(parts, dim=1)


def encode_clicks(points, labels, label_table, *, where=None, padding=True, shift=1):
    points = np.asarray(points, float)
    on_grid = (points + 0.5) / 8 - 0.5 if where is None else where(points)
    pos = encode(on_grid, label_table.shape[1])
    if padding:
        pos[labels < 0] = 0
    return pos + label_table[labels + shift]


def encode_clicks_torch(points, labels, label_table):
    p = (torch.as_tensor(points, dtype=torch.float64) + 0.5) / 8 - 0.5
    table = torch.as_tensor(label_table, dtype=torch.float64)
    labels = torch.as_tensor(labels)
    k = table.shape[1] // 4
    angles = p[:, :, None] * 10000.0 ** (-torch.arange(k) / k)
    pos = torch.cat([angles.sin(), angles.cos()], dim=2).flatten(1)
    return pos * (labels >= 0)[:, None] + table[labels + 1]


NUMPY = {"patchify": patchify, "unpatchify": unpatchify, "attention": attention,
         "multi_head_attention": multi_head, "sincos_positions": sincos_positions,
         "encode_clicks": encode_clicks}
TORCH = {"patchify": patchify_torch, "unpatchify": unpatchify_torch,
         "attention": attention_torch, "multi_head_attention": multi_head_torch,
         "sincos_positions": sincos_positions_torch, "encode_clicks": encode_clicks_torch}


def failed(name, answer):
    return [r.case for r in run_checks(name, answer) if not r.passed]


@pytest.mark.parametrize("answers", [NUMPY, TORCH], ids=["numpy", "torch"])
def test_right_answers_pass_in_numpy_and_in_torch(answers, capsys):
    for name, answer in answers.items():
        check(name, answer)
    check("predict_attention_weights", lambda: 57600.0)
    check("why_transformers_need_data", lambda: " b ")
    assert capsys.readouterr().out.count("checks passed") == 8


def test_right_answers_pass_with_the_graders_seeds_too():
    for seed in (1, 43, 2025):
        for name, answer in NUMPY.items():
            assert all(r.passed for r in run_checks(name, answer, seed=seed)), (name, seed)


# --- the references are the library's own code -------------------------------------------------


def test_the_click_reference_is_the_prompt_encoders_position_plus_label():
    from mlseg.checks.ch06_transformers import _encode_clicks
    from mlseg.models.promptable import _PATCH, _positions
    from mlseg.models.vit import sincos_position_embedding

    assert _PATCH == 8  # the exercise's text: image tokens of 8x8 pixels
    table = np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32)
    points = np.array([[3.5, 3.5], [20, 44], [0, 0]], np.float32)
    labels = np.array([1, 0, -1])
    got = _encode_clicks(points, labels, table)
    pos = _positions(torch.as_tensor(points), 16).numpy() * (labels >= 0)[:, None]
    np.testing.assert_allclose(got, pos + table[labels + 1], atol=1e-6)
    # pixel (3.5, 3.5) is the centre of the first 8x8 image token: grid cell (0, 0)
    cell = sincos_position_embedding((1, 1), 16)[0].numpy()
    np.testing.assert_allclose(got[0], cell + table[2], atol=1e-6)
    np.testing.assert_allclose(got[2], table[0])  # padding: its label's vector only


def test_the_reference_leaves_torchs_random_state_alone():
    state = torch.random.get_rng_state()
    for name in ("multi_head_attention", "encode_clicks"):
        run_checks(name, NUMPY[name])
    checks.EXERCISES["predict_attention_weights"].reference()
    assert torch.equal(torch.random.get_rng_state(), state)


# --- typical mistakes fail, and the feedback says why -------------------------------------------


def test_patches_in_column_major_order_are_named():
    def column_major(images, patch):
        return patchify(images, patch, order=(0, 4, 2, 1, 3, 5))

    cases, message = failing("patchify", column_major)
    assert cases[0] == "the notebook's 4×4 image of 0..15, 2×2 patches"
    assert "patch 1: every pixel is a token" in cases
    assert "one patch covers the whole image" not in cases
    assert "right patches in another order" in message and "grid row i, column j" in message
    assert "hint: split each spatial axis" in message


def test_channels_last_patch_vectors_fail_only_with_several_channels():
    def channels_last(images, patch):  # the original ViT's (p, p, C) order
        return patchify(images, patch, order=(0, 2, 4, 3, 5, 1))

    cases, message = failing("patchify", channels_last)
    assert cases[0] == "3 channels, (1, 3, 4, 4): a vector lists its patch channel by channel"
    assert "the notebook's 4×4 image of 0..15, 2×2 patches" not in cases
    assert "(C, p, p) convolution kernel" in message


def test_a_plain_reshape_is_not_patchify():
    def reshape_only(images, patch):
        b, c, h, w = images.shape
        return images.reshape(b, (h // patch) * (w // patch), c * patch * patch)

    assert failed("patchify", reshape_only)[0] == "the notebook's 4×4 image of 0..15, 2×2 patches"
    results = run_checks("patchify", lambda images, patch: patchify(images, patch).transpose(
        0, 2, 1))
    assert all(r.detail.endswith("the patches must be the rows (axis 1 counts tokens)")
               for r in results[:2])  # 4 tokens of 4 numbers, and 4 tokens of 12


def test_unpatchify_assuming_a_square_grid_fails_on_rectangles():
    def square(tokens, patch, shape):
        side = math.isqrt(tokens.shape[1])
        return unpatchify(tokens, patch, (side * patch, side * patch))

    cases, message = failing("unpatchify", square)
    assert "not square, 8×12 with 4×4 patches: 2 rows of 3 patches" in cases
    assert "tall, 15×6 with 3×3 patches: 5 rows of 2 patches" in cases
    assert "the notebook's 4×4 image of 0..15, 2×2 patches" not in cases
    assert "need not be square" in message


def test_unpatchify_with_the_axes_in_the_wrong_order_is_named():
    def wrong_axes(tokens, patch, shape):
        b, n, length = tokens.shape
        (h, w), c = shape, length // patch**2
        grid = tokens.reshape(b, h // patch, w // patch, c, patch, patch)
        return grid.transpose(0, 3, 2, 4, 1, 5).reshape(b, c, h, w)

    cases, message = failing("unpatchify", wrong_axes)
    assert cases[0] == "the notebook's 4×4 image of 0..15, 2×2 patches"
    assert "the right numbers at the wrong pixels" in message


def test_forgetting_the_square_root_scaling_is_named():
    cases, message = failing("attention", lambda q, k, v: attention(q, k, v, scale=False))
    assert "d = 16: the scores are divided by sqrt(16) = 4" in cases
    assert "one key: every query copies its value" not in cases
    assert "identical keys: equal weights, the mean of the values" not in cases
    assert "these are softmax(q kᵀ): divide the scores by sqrt(d)" in message


def test_softmax_over_the_queries_is_named():
    cases, message = failing("attention", lambda q, k, v: attention(q, k, v, axis=-2))
    assert cases[0] == "the notebook's example: one query, two keys, d = 2"
    assert "your columns sum to 1" in message and "over the keys" in message


def test_an_unstable_softmax_fails_only_on_large_scores():
    with np.errstate(over="ignore", invalid="ignore"):
        cases, message = failing("attention", lambda q, k, v: attention(q, k, v, stable=False))
    assert cases == ["large scores (q and k times 30): exp overflows unless you subtract each "
                     "row's maximum"]
    assert "NaN or inf" in message


def test_transposing_every_axis_of_k_fails_on_batches():
    def all_axes(q, k, v):  # k.T reverses all axes, not only the last two
        weights = softmax(q @ k.T / math.sqrt(q.shape[-1]))
        return weights @ v, weights

    cases = failed("attention", all_axes)
    assert "a batch with heads, (2, 4, 6, 8): only the last two axes are tokens and features" \
        in cases
    assert "the notebook's example: one query, two keys, d = 2" not in cases


def test_attention_must_return_the_weights_too():
    detail = run_checks("attention", lambda q, k, v: attention(q, k, v)[0])[0].detail
    assert "expected a pair (out, weights)" in detail


def test_a_head_reshape_that_mixes_tokens_is_caught():
    cases, message = failing("multi_head_attention",
                             lambda x, w, h: multi_head(x, w, h, mix_tokens=True))
    assert "2 heads of 4 features" in cases
    assert "4 heads, 7 tokens: each token keeps its own features" in cases
    assert "one head: no split, plain attention on the projections" not in cases
    assert "one token: it can only attend to itself" not in cases
    assert "mixes tokens" in message


def test_scaling_by_the_whole_width_instead_of_a_heads_is_caught():
    cases = failed("multi_head_attention", lambda x, w, h: multi_head(x, w, h, scale_by_dim=True))
    assert "8 heads of 4 features: scale by sqrt(4), not sqrt(32)" in cases
    assert "one head: no split, plain attention on the projections" not in cases


def test_interleaved_sin_and_cos_are_named():
    cases, message = failing("sincos_positions",
                             lambda grid, dim: sincos_positions(grid, dim, interleave=True))
    assert "one cell, dim 4: sin 0 = 0, cos 0 = 1" not in cases  # one frequency: the same
    assert "the notebook's 2×3 grid, dim 8" in cases
    assert "you interleave sin and cos" in message


def test_swapped_halves_and_column_major_cells_are_named():
    _, message = failing("sincos_positions",
                         lambda grid, dim: sincos_positions(grid, dim, swap_halves=True))
    assert "your halves are swapped: the first half encodes the row" in message
    cases, message = failing("sincos_positions",
                             lambda grid, dim: sincos_positions(grid, dim, column_major=True))
    assert "3 rows, 5 columns: cells row by row, the first half encodes the row" in cases
    assert "the right vectors for another order of cells" in message


def test_the_one_dimensional_formula_with_the_whole_dim_is_caught():
    def whole_dim(grid, dim):  # 10000^(-2i/dim): as if one axis had all dim features
        k = dim // 4
        return sincos_positions(grid, dim, omega=10000.0 ** (-2 * np.arange(k) / dim))

    cases, message = failing("sincos_positions", whole_dim)
    assert "dim 12: 3 frequencies per half, 10000^(-i/3)" in cases
    assert "one cell, dim 4: sin 0 = 0, cos 0 = 1" not in cases
    assert "10000 ** (-i / k)" in message


@pytest.mark.parametrize("where, first", [
    (lambda p: p[:, ::-1] / 8, "one positive click at pixel"),  # (x, y) and no half pixel
    (lambda p: p, "one positive click at pixel"),  # not in token units
    (lambda p: p / 128, "one positive click at pixel"),  # SAM's [0, 1] of the image size
    (lambda p: p / 8, "one positive click at pixel"),  # the pixel's corner, not its centre
], ids=["xy-swapped", "raw-pixels", "image-fraction", "no-half-pixel"])
def test_clicks_in_other_coordinates_fail_on_the_first_token_centre(where, first):
    cases, message = failing("encode_clicks", lambda p, lab, t: encode_clicks(p, lab, t,
                                                                              where=where))
    assert cases[0].startswith(first)
    assert "(row + 0.5) / 8 - 0.5" in message


def test_clicks_with_rows_and_columns_swapped_fail_where_they_differ():
    def swapped(points, labels, table):
        return encode_clicks(points, labels, table,
                             where=lambda p: (p[:, ::-1] + 0.5) / 8 - 0.5)

    cases = failed("encode_clicks", swapped)
    assert "a click at row 20, column 44: rows and columns differ" in cases
    assert not any(c.startswith("one positive click at pixel (3.5, 3.5)") for c in cases)


def test_padding_and_the_label_offset_are_caught():
    cases = failed("encode_clicks", lambda p, lab, t: encode_clicks(p, lab, t, padding=False))
    assert "padding (label -1): no position, only the padding vector" in cases
    assert "a click at row 20, column 44: rows and columns differ" not in cases
    cases = failed("encode_clicks", lambda p, lab, t: encode_clicks(p, lab, t, shift=0))
    assert "a positive and a negative click: each gets its label's vector" in cases


# --- library calls earn nothing ----------------------------------------------------------------


def _identity_embedding(images, patch):
    from mlseg.models.vit import PatchEmbedding

    c = images.shape[1]
    embed = PatchEmbedding(c, c * patch * patch, patch=patch)
    with torch.no_grad():
        embed.linear.weight.copy_(torch.eye(c * patch * patch))
        embed.linear.bias.zero_()
        return embed(torch.as_tensor(images))


def _torch_multihead(x, weights, heads):
    x = torch.as_tensor(x)
    dim = x.shape[-1]
    mha = torch.nn.MultiheadAttention(dim, heads, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.as_tensor(weights["qkv.weight"]))
        mha.in_proj_bias.copy_(torch.as_tensor(weights["qkv.bias"]))
        mha.out_proj.weight.copy_(torch.as_tensor(weights["proj.weight"]))
        mha.out_proj.bias.copy_(torch.as_tensor(weights["proj.bias"]))
        return mha(x, x, x, need_weights=False)[0]


def _library_answers():
    import torch.nn.functional as F

    from mlseg.models import promptable, vit

    def library_clicks(points, labels, table):
        pos = promptable._positions(torch.as_tensor(points), table.shape[1]).numpy()
        return pos * (labels >= 0)[:, None] + table[labels + 1]

    def library_count():
        model = vit.ViTSegmenter(image_size=(192, 160), patch=16, dim=16, depth=1, heads=4)
        return model(torch.zeros(1, 1, 192, 160), return_attention=True)[1][0].numel()

    return [
        ("patchify", lambda images, p: vit.patchify(torch.as_tensor(images), p)),
        ("patchify", _identity_embedding),
        ("patchify", lambda images, p: F.unfold(torch.as_tensor(images), p, stride=p)
         .transpose(1, 2)),
        ("unpatchify", lambda t, p, s: vit.unpatchify(torch.as_tensor(t), p, s)),
        ("attention", lambda q, k, v: vit.attention(*map(torch.as_tensor, (q, k, v)))),
        ("multi_head_attention", _torch_multihead),
        ("sincos_positions", lambda grid, dim: vit.sincos_position_embedding(grid, dim)),
        ("encode_clicks", library_clicks),
        ("predict_attention_weights", library_count),
    ]


@pytest.mark.parametrize("name, answer", _library_answers(),
                         ids=lambda x: x if isinstance(x, str) else "")
def test_the_library_gets_no_credit(name, answer):
    results = run_checks(name, answer)
    assert not any(r.passed for r in results), name
    with pytest.raises(CheckFailed, match="calls the library's"):
        check(name, answer)


def test_the_library_answers_would_be_right_so_forbidding_them_matters():
    for name, answer in _library_answers():
        exercise = checks.EXERCISES[name]
        case = exercise.cases(np.random.default_rng(0))[-1]
        call = checks.call_answer(answer, case, 30)  # not watched: the answer itself is right
        assert checks.judge(exercise, case, call).passed, name


# --- the interpretation questions never reveal their answer ----------------------------------


def test_the_predict_and_choice_questions_never_reveal_the_answer():
    for value, why in ((120, "number of tokens"), (14400, "one head's"), (480, "heads x N"),
                       (921600, "8x8 patches"), (57601, None)):
        result = run_checks("predict_attention_weights", lambda value=value: value)[0]
        assert not result.passed and "57600" not in result.detail and "57,600" not in \
            result.detail
        if why:
            assert why in result.detail
    for letter in "ACD":
        detail = run_checks("why_transformers_need_data", lambda letter=letter: letter)[0].detail
        assert "'B'" not in detail and "B " not in detail and len(detail) > 40
    assert "one letter" in run_checks("why_transformers_need_data", lambda: 2)[0].detail


def test_the_question_in_the_notebook_uses_the_checks_numbers():
    from mlseg.checks import ch06_transformers as ch06

    source = "\n".join(c.source for c in nbformat.read(ROOT / "solutions" / NOTEBOOK,
                                                       as_version=4).cells)
    h, w = ch06.QUESTION_IMAGE
    assert f"{h}×{w}" in source and f"{ch06.QUESTION_PATCH}×{ch06.QUESTION_PATCH}" in source
    assert f"{ch06.QUESTION_HEADS} heads" in source


def test_the_chapter_is_indexed_and_importing_the_engine_loads_no_torch():
    assert checks.CHAPTERS["ch06_transformers"] == (
        "patchify", "unpatchify", "attention", "multi_head_attention", "sincos_positions",
        "encode_clicks", "predict_attention_weights", "why_transformers_need_data")
    code = "import sys, mlseg.checks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


# --- a class of chapter-06 submissions -----------------------------------------------------


def _solution():
    return nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class06")
    students = {
        "ada": _solution(),
        "ben": replace_answer(replace_answer(
            _solution(), "patchify",
            "def patchify(images, patch):\n"
            "    x = torch.as_tensor(images)\n"
            "    b, c, h, w = x.shape\n"
            "    x = x.reshape(b, c, h // patch, patch, w // patch, patch)\n"
            "    return x.permute(0, 2, 4, 1, 3, 5).reshape(b, -1, c * patch * patch)"),
            "attention",
            "def attention(q, k, v):\n"
            "    q, k, v = (torch.as_tensor(a) for a in (q, k, v))\n"
            "    weights = torch.softmax(q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5, -1)\n"
            "    return (weights @ v).numpy(), weights.numpy()  # numpy for multi_head_attention"),
        "cy": replace_answer(_solution(), "sincos_positions",
                             "from mlseg.models.vit import sincos_position_embedding\n"
                             "def sincos_positions(grid, dim):\n"
                             "    return sincos_position_embedding(grid, dim)"),
        "dee": replace_answer(replace_answer(
            _solution(), "encode_clicks",
            "def encode_clicks(points, labels, label_table):\n"
            "    dim = label_table.shape[1]\n"
            "    k = dim // 4\n"
            "    omega = 10000.0 ** (-np.arange(k) / k)\n"
            "    angles = np.asarray(points, float)[:, :, None] * omega\n"
            "    pos = np.concatenate([np.sin(angles), np.cos(angles)], axis=2)\n"
            "    pos = pos.reshape(len(points), dim) * (labels >= 0)[:, None]\n"
            "    return pos + label_table[labels + 1]"),
            "predict_attention_weights",
            "def predict_attention_weights():\n"
            "    return 14400"),
        "eve": nbformat.read(ROOT / "exercises" / NOTEBOOK, as_version=4),
    }
    return grade_class(tmp, NOTEBOOK, students, seed=43)


def test_chapter_06_submissions_are_graded(graded):
    names = checks.CHAPTERS["ch06_transformers"]
    assert all(graded[("ada", n)]["status"] == "passed" for n in names)
    assert graded[("ben", "patchify")]["status"] == "passed"  # torch answers
    assert graded[("ben", "attention")]["status"] == "passed"
    assert graded[("ben", "multi_head_attention")]["status"] == "passed"  # on ben's attention
    cy = graded[("cy", "sincos_positions")]
    assert (cy["status"], cy["score"]) == ("failed", "0.00")
    assert "mlseg.models.vit.sincos_position_embedding" in cy["detail"]
    dee = graded[("dee", "encode_clicks")]
    assert dee["status"] in ("failed", "partial") and "pixel (3.5, 3.5)" in dee["detail"]
    pred = graded[("dee", "predict_attention_weights")]
    assert pred["status"] == "failed" and "one head's" in pred["detail"]
    assert "57600" not in pred["detail"]
    assert {graded[("eve", n)]["status"] for n in names} == {"error"}  # the unfilled release
