"""Checks of chapter 06: the cases of its exercises and their reference answers.

Loaded by :mod:`mlseg.checks` the first time one of these exercises is named; torch is imported
here, never by the engine. Every reference is the library's own code: :mod:`mlseg.models.vit`
for patches, attention and positions, :class:`mlseg.models.promptable.PromptEncoder` for clicks.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import Case, as_numpy, choice, compare_array, register, rounded

#: The question of ``predict_attention_weights``: image size (H, W), patch side, heads.
QUESTION_IMAGE = (192, 160)
QUESTION_PATCH = 16
QUESTION_HEADS = 4


def _floats(value):
    """An answer as a float numpy array, or ``None`` if it is not an array of numbers."""
    try:
        return np.asarray(as_numpy(value), dtype=float)
    except (TypeError, ValueError):
        return None


def _sorted_rows(array):
    """The rows of a 2D array in lexicographic order (to compare two sets of vectors)."""
    return array[np.lexsort(array.T[::-1])]


# --------------------------------------------------------------------------------------------
# Patches
# --------------------------------------------------------------------------------------------


def _patch_cases(rng):
    def images(shape):
        return rng.standard_normal(shape).astype(np.float32)

    cases = [
        Case("the notebook's 4×4 image of 0..15, 2×2 patches",
             (np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4), 2)),
        Case("3 channels, (1, 3, 4, 4): a vector lists its patch channel by channel",
             (images((1, 3, 4, 4)), 2)),
        Case("not square, 8×12 with 4×4 patches: 2 rows of 3 patches",
             (images((1, 1, 8, 12)), 4)),
        Case("a batch of 2 images: tokens never mix images", (images((2, 2, 6, 6)), 3)),
        Case("patch 1: every pixel is a token", (images((1, 2, 3, 5)), 1)),
        Case("one patch covers the whole image", (images((2, 1, 5, 5)), 5)),
        Case("a 128×128 slice, 8×8 patches: 256 tokens", (images((1, 1, 128, 128)), 8)),
    ]
    for i in range(3):
        patch = int(rng.integers(2, 5))
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4)),
                 patch * int(rng.integers(1, 5)), patch * int(rng.integers(1, 5)))
        cases.append(Case(f"random {'x'.join(map(str, shape))} images, patches of "
                          f"{patch}x{patch} #{i + 1}",
                          (images(shape), patch)))
    return cases


def _patchify(images, patch):
    import torch

    from ..models.vit import patchify

    return patchify(torch.as_tensor(images), patch).numpy()


def _compare_tokens(got, expected):
    """Patch vectors: exact values, and what a wrong order looks like when they differ."""
    expected = np.asarray(expected, float)
    b, n, length = expected.shape
    values = _floats(got)
    if values is None:
        return (f"expected an array (B, N, C*p*p) of shape {expected.shape}, got "
                f"{type(got).__name__}")
    if values.shape != expected.shape:
        why = f"expected shape {expected.shape} = (B, N, C*p*p), got {values.shape}"
        if values.shape == (b, length, n):
            why += ": the patches must be the rows (axis 1 counts tokens)"
        elif values.shape == (b * n, length):
            why += ": keep one sequence of tokens per image"
        return why
    problem = compare_array(values, expected, rtol=0, atol=1e-6)
    if problem is None:
        return None
    if n == length and np.allclose(values.swapaxes(1, 2), expected, atol=1e-6):
        return f"{problem}; the patches must be the rows (axis 1 counts tokens)"
    if all(np.allclose(_sorted_rows(g), _sorted_rows(e), atol=1e-6)
           for g, e in zip(values, expected)):
        return (f"{problem}; these are the right patches in another order: token i * (W/p) + "
                "j must be the patch in grid row i, column j (row by row, like reading text)")
    if np.allclose(np.sort(values, axis=-1), np.sort(expected, axis=-1), atol=1e-6):
        return (f"{problem}; each token holds its patch's numbers in another order: list them "
                "channel by channel, then row by row, the order of a (C, p, p) convolution "
                "kernel")
    return problem


def _unpatch_cases(rng):
    def tokens(b, c, patch, shape):
        n = (shape[0] // patch) * (shape[1] // patch)
        return rng.standard_normal((b, n, c * patch * patch)).astype(np.float32)

    cases = [
        Case("the notebook's 4×4 image of 0..15, 2×2 patches",
             (_patchify(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4), 2), 2, (4, 4))),
        Case("3 channels, (1, 3, 4, 4): C follows from the vector length",
             (tokens(1, 3, 2, (4, 4)), 2, (4, 4))),
        Case("not square, 8×12 with 4×4 patches: 2 rows of 3 patches",
             (tokens(1, 1, 4, (8, 12)), 4, (8, 12))),
        Case("tall, 15×6 with 3×3 patches: 5 rows of 2 patches",
             (tokens(1, 2, 3, (15, 6)), 3, (15, 6))),
        Case("a batch of 2 images", (tokens(2, 2, 3, (6, 6)), 3, (6, 6))),
        Case("patch 1: every token is one pixel", (tokens(1, 2, 1, (3, 5)), 1, (3, 5))),
        Case("16 features per pixel, 128×128, 8×8 patches (a ViTSegmenter's output)",
             (tokens(1, 16, 8, (128, 128)), 8, (128, 128))),
    ]
    for i in range(3):
        patch = int(rng.integers(2, 5))
        b, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        shape = (patch * int(rng.integers(1, 5)), patch * int(rng.integers(1, 5)))
        cases.append(Case(f"random {b}x{c}x{shape[0]}x{shape[1]} images, patches of "
                          f"{patch}x{patch} #{i + 1}",
                          (tokens(b, c, patch, shape), patch, shape)))
    return cases


def _unpatchify(tokens, patch, shape):
    import torch

    from ..models.vit import unpatchify

    return unpatchify(torch.as_tensor(tokens), patch, shape).numpy()


def _compare_images(got, expected):
    expected = np.asarray(expected, float)
    values = _floats(got)
    if values is None:
        return (f"expected an array (B, C, H, W) of shape {expected.shape}, got "
                f"{type(got).__name__}")
    if values.shape != expected.shape:
        return f"expected shape {expected.shape} = (B, C, H, W), got {values.shape}"
    problem = compare_array(values, expected, rtol=0, atol=1e-6)
    if problem is not None and np.allclose(np.sort(values, axis=None),
                                           np.sort(expected, axis=None), atol=1e-6):
        problem += ("; the right numbers at the wrong pixels: undo patchify's steps in reverse "
                    "order (patchify(your images) must give the tokens back)")
    return problem


# --------------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------------


def _attention_cases(rng):
    def qkv(lead, n, m, d, scale=1.0):
        q = rng.standard_normal((*lead, n, d)) * scale
        k = rng.standard_normal((*lead, m, d)) * scale
        v = rng.standard_normal((*lead, m, d))
        return tuple(a.astype(np.float32) for a in (q, k, v))

    example = (np.array([[1.0, 0.0]], np.float32), np.array([[1.0, 0.0], [-1.0, 0.0]], np.float32),
               np.array([[1.0, 1.0], [0.0, 0.0]], np.float32))
    same_keys = qkv((), 3, 4, 4)
    same_keys[1][:] = same_keys[1][0]
    cases = [
        Case("the notebook's example: one query, two keys, d = 2", example),
        Case("one key: every query copies its value", qkv((), 4, 1, 3)),
        Case("identical keys: equal weights, the mean of the values", same_keys),
        Case("3 queries, 5 keys: weights are (queries, keys)", qkv((), 3, 5, 4)),
        Case("d = 16: the scores are divided by sqrt(16) = 4", qkv((), 4, 4, 16)),
        Case("large scores (q and k times 30): exp overflows unless you subtract each row's "
             "maximum", qkv((), 3, 4, 8, scale=30.0)),
        Case("a batch with heads, (2, 4, 6, 8): only the last two axes are tokens and "
             "features", qkv((2, 4), 6, 6, 8)),
    ]
    for i in range(3):
        lead = tuple(int(s) for s in rng.integers(1, 4, size=int(rng.integers(0, 3))))
        n, m, d = (int(s) for s in rng.integers(1, 9, size=3))
        cases.append(Case(f"random, {len(lead)} leading axes, {n}x{m} weights of d = {d} "
                          f"#{i + 1}", qkv(lead, n, m, d)))
    return cases


def _attention(q, k, v):
    import torch

    from ..models.vit import attention

    out, weights = attention(torch.as_tensor(q), torch.as_tensor(k), torch.as_tensor(v))
    return out.numpy(), weights.numpy()


def _unscaled(weights, expected, d):
    """Are ``weights`` softmax(q kᵀ) where ``expected`` is softmax(q kᵀ / √d)? (Their logs
    then differ by a constant per row: log w - √d log e.)"""
    if d == 1:
        return False
    with np.errstate(all="ignore"):
        gap = np.log(weights) - math.sqrt(d) * np.log(expected)
    gap = np.where(np.isfinite(gap), gap, np.nan)
    if np.isnan(gap).mean() > 0.5:
        return False
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        spread = np.nanmax(gap, axis=-1) - np.nanmin(gap, axis=-1)
    return bool(np.all(np.nan_to_num(spread) < 1e-3))


def _compare_attention(got, expected):
    out, weights = (np.asarray(a, float) for a in expected)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a pair (out, weights), got {type(got).__name__}"
    got_out, got_weights = (_floats(a) for a in got)
    if got_weights is None or got_out is None:
        return "expected two arrays (out, weights)"
    if got_weights.shape != weights.shape:
        why = (f"weights: expected shape {weights.shape} (..., queries, keys), got "
               f"{got_weights.shape}")
        if got_weights.shape == weights.shape[:-2] + weights.shape[-2:][::-1]:
            why += ": one row per query, one column per key (q kᵀ, not k qᵀ)"
        return why
    problem = compare_array(got_weights, weights, rtol=1e-4, atol=1e-6)
    if problem is not None:
        problem = f"weights: {problem}"
        if not np.isfinite(got_weights).all():
            return (f"{problem}; NaN or inf: exp of a large score overflows, subtract each row's "
                    "maximum score first (softmax does not change)")
        if np.allclose(got_weights.sum(-2), 1, atol=1e-4) and \
                not np.allclose(got_weights.sum(-1), 1, atol=1e-4):
            return (f"{problem}; your columns sum to 1: the softmax must run over the keys "
                    "(the last axis), so that each query's weights sum to 1")
        if not np.allclose(got_weights.sum(-1), 1, atol=1e-4):
            return f"{problem}; each query's weights (a row) must sum to 1"
        if _unscaled(got_weights, weights, out.shape[-1]):
            return (f"{problem}; these are softmax(q kᵀ): divide the scores by sqrt(d), d the "
                    "features per query, before the softmax")
        return problem
    if got_out.shape != out.shape:
        return f"out: expected shape {out.shape} (..., queries, d), got {got_out.shape}"
    problem = compare_array(got_out, out, rtol=1e-4, atol=1e-5)
    if problem is not None:
        return (f"weights right; out: {problem} (every query's output is its weights times the "
                "values, weights @ v)")
    return None


def _multi_head_cases(rng):
    from ..models.vit import Attention

    def inputs(b, n, dim, heads):
        state = Attention(dim, heads=heads, seed=int(rng.integers(0, 2**31))).state_dict()
        weights = {key: value.numpy() for key, value in state.items()}
        x = rng.standard_normal((b, n, dim)).astype(np.float32)
        return x, weights, heads

    cases = [
        Case("one head: no split, plain attention on the projections", inputs(1, 5, 8, 1)),
        Case("2 heads of 4 features", inputs(1, 5, 8, 2)),
        Case("4 heads, 7 tokens: each token keeps its own features", inputs(1, 7, 16, 4)),
        Case("8 heads of 4 features: scale by sqrt(4), not sqrt(32)", inputs(1, 6, 32, 8)),
        Case("one token: it can only attend to itself", inputs(1, 1, 8, 2)),
        Case("a batch of 3 sequences: tokens never attend across images", inputs(3, 4, 8, 2)),
    ]
    for i in range(3):
        heads = int(rng.integers(1, 5))
        dim = heads * int(rng.integers(1, 5))
        b, n = int(rng.integers(1, 4)), int(rng.integers(1, 10))
        cases.append(Case(f"random {b}x{n}x{dim} tokens, several heads #{i + 1}",
                          inputs(b, n, dim, heads)))
    return cases


def _multi_head(x, weights, heads):
    import torch

    from ..models.vit import Attention

    dim = x.shape[-1]
    module = Attention(dim, heads=heads, seed=0)
    module.load_state_dict({key: torch.as_tensor(value) for key, value in weights.items()})
    with torch.no_grad():
        return module(torch.as_tensor(x)).numpy()


def _compare_multi_head(got, expected):
    values = _floats(got)
    if values is None:
        return (f"expected an array (B, N, D) of shape {np.shape(expected)}, got "
                f"{type(got).__name__}")
    return compare_array(values, expected, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------------
# Positions and clicks
# --------------------------------------------------------------------------------------------


def _sincos_cases(rng):
    cases = [
        Case("the notebook's 2×3 grid, dim 8", ((2, 3), 8)),
        Case("an int means a square grid: 4, dim 8", (4, 8)),
        Case("one cell, dim 4: sin 0 = 0, cos 0 = 1", ((1, 1), 4)),
        Case("3 rows, 5 columns: cells row by row, the first half encodes the row",
             ((3, 5), 16)),
        Case("dim 12: 3 frequencies per half, 10000^(-i/3)", ((5, 2), 12)),
        Case("a 16×16 grid, dim 64 (a 128×128 slice, 8×8 patches)", ((16, 16), 64)),
    ]
    for i in range(3):
        grid = (int(rng.integers(1, 9)), int(rng.integers(1, 9)))
        dim = 4 * int(rng.integers(1, 9))
        cases.append(Case(f"random {grid[0]}x{grid[1]} grid #{i + 1}", (grid, dim)))
    return cases


def _sincos(grid, dim):
    from ..models.vit import sincos_position_embedding

    return sincos_position_embedding(grid, dim).numpy()


def _compare_positions(got, expected):
    """Position vectors (..., dim): values to 1e-5, and the classic mix-ups named."""
    expected = np.asarray(expected, float)
    values = _floats(got)
    if values is None:
        return f"expected an array of shape {expected.shape}, got {type(got).__name__}"
    if values.shape != expected.shape:
        why = f"expected shape {expected.shape}, got {values.shape}"
        if values.ndim == expected.ndim + 1:
            why += ": one vector per cell, the grid flattened row by row"
        return why
    problem = compare_array(values, expected, rtol=1e-4, atol=1e-5)
    if problem is None:
        return None
    dim = expected.shape[-1]
    k = dim // 4
    flat, want = values.reshape(-1, dim), expected.reshape(-1, dim)
    interleaved = flat.reshape(-1, 2, k, 2).swapaxes(-1, -2).reshape(-1, dim)
    if k > 1 and np.allclose(interleaved, want, atol=1e-5):
        return (f"{problem}; you interleave sin and cos (sin, cos, sin, cos, ...): in each half "
                "the library puts the k sines first, then the k cosines")
    halves = np.concatenate([flat[:, dim // 2:], flat[:, :dim // 2]], axis=1)
    if np.allclose(halves, want, atol=1e-5):
        return f"{problem}; your halves are swapped: the first half encodes the row"
    if np.allclose(_sorted_rows(flat), _sorted_rows(want), atol=1e-5):
        return (f"{problem}; the right vectors for another order of cells: cell (r, c) must be "
                "vector r * cols + c (row by row)")
    return problem


def _click_cases(rng):
    def table(dim):
        return rng.standard_normal((5, dim)).astype(np.float32)

    def points(*rows_cols):
        return np.array(rows_cols, np.float32).reshape(-1, 2)

    cases = [
        Case("one positive click at pixel (3.5, 3.5), the centre of the first image token: "
             "its position is (0, 0)", (points(3.5, 3.5), np.array([1]), table(8))),
        Case("a click at row 20, column 44: rows and columns differ",
             (points(20, 44), np.array([1]), table(8))),
        Case("a positive and a negative click: each gets its label's vector",
             (points(10, 12, 50, 30), np.array([1, 0]), table(16))),
        Case("a box: its top-left and bottom-right corners are labels 2 and 3",
             (points(8, 16, 40, 60), np.array([2, 3]), table(16))),
        Case("padding (label -1): no position, only the padding vector",
             (points(30, 5, 0, 0), np.array([1, -1]), table(8))),
        Case("the last pixel of a 128×128 slice, (127, 127)",
             (points(127, 127), np.array([0]), table(32))),
    ]
    for i in range(3):
        count, dim = int(rng.integers(1, 5)), 4 * int(rng.integers(1, 9))
        xy = rng.uniform(0, 128, (count, 2)).round(1).astype(np.float32)
        labels = rng.integers(-1, 4, count)
        cases.append(Case(f"random {count}x2 points, any labels #{i + 1}",
                          (xy, labels, table(dim))))
    return cases


def _encode_clicks(points, labels, label_table):
    """The library's :class:`PromptEncoder` with its stem-feature term switched off (weights
    zero): the sine–cosine encoding of each point plus its label's embedding."""
    import torch

    from ..models import seeded
    from ..models.promptable import PromptEncoder

    dim = label_table.shape[1]
    with seeded(0):
        encoder = PromptEncoder(dim, width=1)
    with torch.no_grad():
        encoder.label_embed.weight.copy_(torch.as_tensor(label_table))
        encoder.point_features.weight.zero_()
        encoder.point_features.bias.zero_()
        size = 128                                                   # any image size
        stem = [torch.zeros(1, c, size // f, size // f) for c, f in ((1, 1), (2, 2), (4, 4))]
        tokens, _ = encoder(torch.as_tensor(points, dtype=torch.float32)[None],
                            torch.as_tensor(labels, dtype=torch.int64)[None], stem,
                            (size, size))
    return tokens[0].numpy()


def _compare_clicks(got, expected):
    expected = np.asarray(expected, float)
    values = _floats(got)
    if values is None:
        return f"expected an array (P, dim) of shape {expected.shape}, got {type(got).__name__}"
    if values.shape != expected.shape:
        return f"expected shape {expected.shape} = (points, dim), one token per point, got " \
               f"{values.shape}"
    return compare_array(values, expected, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------------
# Interpretation
# --------------------------------------------------------------------------------------------


def _attention_weights_count():
    """The attention weights one block of a ViTSegmenter computes for one QUESTION_IMAGE."""
    import torch

    from ..models.vit import ViTSegmenter

    model = ViTSegmenter(1, 2, image_size=QUESTION_IMAGE, patch=QUESTION_PATCH, dim=16,
                         depth=1, heads=QUESTION_HEADS, hidden=2, seed=0).eval()
    with torch.no_grad():
        _, maps = model(torch.zeros(1, 1, *QUESTION_IMAGE), return_attention=True)
    return maps[0].numel()


def _register():
    import torch.nn.functional as F
    from torch import nn

    from ..models import promptable, vit

    register("patchify", reference=_patchify, cases=_patch_cases, compare=_compare_tokens,
             forbidden=(vit.patchify, vit.unpatchify, vit.PatchEmbedding, F.unfold, F.fold),
             description="patchify(images, patch) -> (B, N, C*p*p) tokens, row-major over the "
                         "patch grid, each vector in (C, p, p) order",
             hint="split each spatial axis in two: reshape (B, C, H, W) to (B, C, H/p, p, W/p, "
                  "p), move the two grid axes (H/p, W/p) right after B and the patch axes "
                  "(C, p, p) to the end (transpose/permute), then reshape to (B, N, C*p*p).")
    register("unpatchify", reference=_unpatchify, cases=_unpatch_cases,
             compare=_compare_images,
             forbidden=(vit.unpatchify, vit.patchify, vit.PatchEmbedding, F.unfold, F.fold),
             description="unpatchify(tokens, patch, shape) -> (B, C, H, W) images, the inverse "
                         "of patchify",
             hint="the grid is (H/p, W/p), which need not be square; C is the vector length "
                  "divided by p*p; reshape to (B, H/p, W/p, C, p, p), move the axes to (B, C, "
                  "H/p, p, W/p, p) and reshape to (B, C, H, W).")
    register("attention", reference=_attention, cases=_attention_cases,
             compare=_compare_attention,
             forbidden=(vit.attention, vit.Attention, promptable.CrossAttention,
                        nn.MultiheadAttention, F.multi_head_attention_forward),
             description="attention(q, k, v) -> (out, weights): softmax(q kᵀ / sqrt(d)) v and "
                         "the weights, over the last two axes",
             hint="scores = q @ kᵀ (swap only the last two axes of k) divided by sqrt(d), d = "
                  "q.shape[-1]; softmax over the last axis (the keys), after subtracting each "
                  "row's maximum so that exp cannot overflow; out = weights @ v.")
    register("multi_head_attention", reference=_multi_head, cases=_multi_head_cases,
             compare=_compare_multi_head,
             forbidden=(vit.Attention, vit.attention, promptable.CrossAttention,
                        nn.MultiheadAttention, F.multi_head_attention_forward),
             description="multi_head_attention(x, weights, heads) -> (B, N, D): Attention's "
                         "qkv projection, heads, attention, merge, output projection",
             hint="qkv = x @ W_qkvᵀ + b is (B, N, 3D): q, k, v side by side, and within each "
                  "head h has features h*d:(h+1)*d, d = D / heads; so reshape to (B, N, 3, "
                  "heads, d) and move axes to (3, B, heads, N, d) — reshaping straight to "
                  "(B, heads, N, d) mixes tokens; attend per head, move heads back next to the "
                  "features (B, N, heads, d) → (B, N, D), then the output projection.")
    register("sincos_positions", reference=_sincos, cases=_sincos_cases,
             compare=_compare_positions,
             forbidden=(vit.sincos_position_embedding, vit.interpolate_positions),
             description="sincos_positions(grid, dim) -> (rows*cols, dim) fixed 2D sine-cosine "
                         "position vectors",
             hint="k = dim // 4 frequencies w_i = 10000 ** (-i / k), i = 0..k-1; for cell (r, c) "
                  "the vector is [sin(r w), cos(r w), sin(c w), cos(c w)], each of the four "
                  "blocks k long (all sines, then all cosines); cells row by row.")
    register("encode_clicks", reference=_encode_clicks, cases=_click_cases,
             compare=_compare_clicks,
             forbidden=(promptable.PromptEncoder, promptable._positions,
                        vit.sincos_position_embedding),
             description="encode_clicks(points, labels, label_table) -> (P, dim) prompt tokens: "
                         "sine-cosine of each (row, col) in image-token units + its label's "
                         "vector",
             hint="a pixel (row, col) is at ((row + 0.5) / 8 - 0.5, (col + 0.5) / 8 - 0.5) on "
                  "the grid of 8x8-pixel image tokens (the pixel's centre over the patch "
                  "side, minus the patch's own centre); encode that pair like a grid cell "
                  "(sines and cosines of the row, then of the column, as in sincos_positions); "
                  "a padding point (label -1) gets no position; add label_table[label + 1].")
    register("predict_attention_weights", reference=_attention_weights_count,
             cases=lambda rng: [Case("the question above the cell")],
             compare=rounded(0, known={
                 120: "that is the number of tokens N; every token attends to every token",
                 14400: "that is one head's N x N map; the block has 4 heads",
                 480: "that is heads x N; each head has a weight for every pair of tokens",
                 921600: "that would be 8x8 patches; these are 16x16"}),
             forbidden=(vit.ViTSegmenter, vit.Attention, vit.attention, vit.patchify,
                        vit.PatchEmbedding),
             description="predict_attention_weights() -> attention weights of one block for "
                         "one image",
             hint="count the tokens first: (H / p) * (W / p); each head compares every token "
                  "with every token (an N x N map), and the block has one map per head.")
    register("why_transformers_need_data", reference=lambda: "B", cases=lambda rng: [
                 Case("the question above the cell")],
             compare=choice(known={
                 "A": "self-attention can compute what a convolution computes (with enough "
                      "heads and relative positions, Cordonnier et al. 2020); what it lacks is "
                      "the prior, not the power",
                 "C": "smaller patches make more tokens and a finer output, but the model "
                      "still has to learn which patches are neighbours",
                 "D": "how positions are encoded made little difference in the ViT paper's "
                      "ablation (1D, 2D or relative); what is missing is a prior about "
                      "neighbourhoods, not about positions"}),
             description="why_transformers_need_data() -> 'A', 'B', 'C' or 'D'",
             hint="what does a 3x3 convolution assume about an image before it has seen any "
                  "data, and what must a ViT learn from the data instead?")


_register()
