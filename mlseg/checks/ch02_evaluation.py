"""Checks of chapter 02: the cases of its exercises and their reference answers.

Loaded by :mod:`mlseg.checks` the first time one of these exercises is named.
"""

from __future__ import annotations

import numpy as np

from . import Case, compare_float, compare_ints, register, rounded


def _random_mask(rng, shape, fill):
    from scipy import ndimage as ndi

    sigma = max(1.0, min(shape) / 8)
    field_ = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    return field_ > np.quantile(field_, 1 - fill)


def _mask_pairs(rng, *, n_random=6, with_spacing=False):
    """Edge cases of the lecture's empty-mask table and more, then random 2D/3D pairs."""
    z = np.zeros((6, 6), bool)
    four = z.copy()
    four[2:4, 2:4] = True
    line = np.zeros((1, 9), bool)
    line[0, 2:7] = True
    corner = z.copy()
    corner[:3, :3] = True
    pairs = [
        ("reference empty", z, four),
        ("prediction empty", four, z),
        ("both empty", z, z.copy()),
        ("identical squares", four, four.copy()),
        ("disjoint squares", four, np.roll(four, 3, axis=1)),
        ("one pixel vs a square", np.eye(6, dtype=bool) & four, four),
        ("mask touching the image border", corner, four),
        ("a 1-row image", line, np.roll(line, 1)),
        ("14x14 squares (lecture)", *_squares()),
    ]
    for i in range(n_random):
        shape = tuple(int(s) for s in rng.integers(8, 24, size=2 if i % 2 == 0 else 3))
        a = _random_mask(rng, shape, rng.uniform(0.1, 0.5))
        b = _random_mask(rng, shape, rng.uniform(0.1, 0.5))
        pairs.append((f"random {len(shape)}D {'x'.join(map(str, shape))} #{i + 1}", a, b))
    cases = []
    for name, a, b in pairs:
        kwargs = {}
        if with_spacing:
            ndim = a.ndim
            if name.startswith("random") or name.startswith("disjoint"):
                kwargs = {"spacing": tuple(float(s) for s in rng.uniform(0.5, 3.0, size=ndim))}
            else:
                kwargs = {"spacing": (1.0,) * ndim}
        cases.append(Case(name, (a, b), kwargs))
    return cases


def _squares():
    reference = np.zeros((14, 14), bool)
    reference[5:9, 5:9] = True
    prediction = np.zeros((14, 14), bool)
    prediction[4:10, 4:10] = True
    return reference, prediction


def _register_chapter_02():
    from .. import metrics

    register("confusion", reference=metrics.confusion, cases=_mask_pairs, compare=compare_ints,
             description="confusion(reference, prediction) -> (tp, fp, fn, tn)")
    hints = {
        "dice": "Dice = 2 TP / (2 TP + FP + FN) from the confusion counts; when both masks are "
                "empty that is 0/0: return NaN (the lecture's table), never 0 or 1.",
        "iou": "IoU = TP / (TP + FP + FN); when both masks are empty return NaN.",
        "volume_similarity": "VS = 1 - |FN - FP| / (2 TP + FP + FN); NaN when both masks are "
                             "empty.",
    }
    for name in ("dice", "iou", "volume_similarity"):
        register(name, reference=getattr(metrics, name), cases=_mask_pairs, compare=compare_float,
                 description=f"{name}(reference, prediction) -> float (NaN for 0/0)",
                 hint=hints[name])
    register("hausdorff", reference=lambda r, p, spacing=None: metrics.hausdorff(
                 r, p, spacing=spacing),
             cases=lambda rng: _mask_pairs(rng, with_spacing=True), compare=compare_float,
             forbidden=(metrics.hausdorff,),
             description="hausdorff(reference, prediction, spacing=...) -> float in mm")
    register("predict_alignment_nsd",
             reference=lambda: metrics.nsd(*_squares(), 1.0),
             cases=lambda rng: [Case("the 14x14 squares, tolerance 1 mm")],
             compare=rounded(3), forbidden=(metrics.nsd, metrics.evaluate),
             description="predict_alignment_nsd() -> NSD of the 14x14 squares at 1 mm")


_register_chapter_02()
