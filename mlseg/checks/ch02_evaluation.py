"""Checks of chapter 02: the cases of its exercises and their reference answers.

Loaded by :mod:`mlseg.checks` the first time one of these exercises is named.

Two references have no library function yet and live here as private functions (to be moved
into :mod:`mlseg.metrics`): :func:`_confusion_matrix` (the multi-label confusion matrix) and
:func:`_mean_signed_distance` (the signed boundary distance that tells over- from
under-segmentation).
"""

from __future__ import annotations

import numpy as np

from . import Case, compare_array, compare_float, register, rounded


def _random_mask(rng, shape, fill):
    from scipy import ndimage as ndi

    sigma = max(1.0, min(shape) / 8)
    field_ = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    return field_ > np.quantile(field_, 1 - fill)


def _squares():
    """The lecture's alignment figure: the 4x4 reference and the centred 6x6 prediction."""
    reference = np.zeros((14, 14), bool)
    reference[5:9, 5:9] = True
    prediction = np.zeros((14, 14), bool)
    prediction[4:10, 4:10] = True
    return reference, prediction


def _shifted_squares():
    """The lecture's "Prediction 2": the 6x6 square moved one pixel up and left, so that it
    shares two sides with the 4x4 reference (the same Dice as the centred one)."""
    reference, _ = _squares()
    prediction = np.zeros((14, 14), bool)
    prediction[3:9, 3:9] = True
    return reference, prediction


def _mask_pairs(rng, *, n_random=6, with_spacing=False, grown=False):
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
    if grown:
        from scipy import ndimage as ndi

        square = np.zeros((12, 12), bool)
        square[3:9, 3:9] = True
        ball = np.zeros((9, 9, 9), bool)
        ball[2:7, 2:7, 2:7] = True
        pairs += [("prediction one pixel too large all around", square,
                   ndi.binary_dilation(square)),
                  ("prediction one pixel too small all around", square,
                   ndi.binary_erosion(square)),
                  ("3D, prediction one voxel too large", ball, ndi.binary_dilation(ball))]
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
                name += ", anisotropic spacing"
            else:
                kwargs = {"spacing": (1.0,) * ndim}
        cases.append(Case(name, (a, b), kwargs))
    if with_spacing:
        from scipy import ndimage as ndi

        square = np.zeros((10, 10), bool)
        square[2:6, 2:6] = True
        cases.append(Case("prediction one pixel too large, anisotropic spacing (0.5, 2.0)",
                          (square, ndi.binary_dilation(square)), {"spacing": (0.5, 2.0)}))
        cases.append(Case("no spacing given (1 mm)", pairs[-1][1:]))
    return cases


# --------------------------------------------------------------------------------------------
# Exercise 1 · the multi-label confusion matrix
# --------------------------------------------------------------------------------------------


def _confusion_matrix(reference, prediction, n_labels):
    """``(n_labels, n_labels)`` counts: entry ``[i, j]`` is the number of voxels whose
    reference label is ``i`` and whose predicted label is ``j`` (rows: the reference).

    Examples
    --------
    >>> _confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3).tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    reference = np.asarray(reference, dtype=np.intp).ravel()
    prediction = np.asarray(prediction, dtype=np.intp).ravel()
    counts = np.bincount(reference * n_labels + prediction, minlength=n_labels * n_labels)
    return counts.reshape(n_labels, n_labels)


def _label_map_cases(rng):
    from .. import phantoms

    _, labels = phantoms.brain_slice(size=64, rng=int(rng.integers(1000)))
    noisy = labels.copy()
    flip = rng.random(labels.shape) < 0.1
    noisy[flip] = rng.integers(0, 4, size=int(flip.sum()))
    square, bigger = (m.astype(np.int64) for m in _squares())
    only_in_prediction = np.array([[0, 0, 1], [1, 1, 2]])
    cases = [
        Case("binary masks as labels 0/1: [[TN, FP], [FN, TP]]", (square, bigger, 2)),
        Case("identical maps: everything on the diagonal", (labels, labels.copy(), 4)),
        Case("label 2 only in the prediction: rows are the reference",
             (np.array([[0, 0, 1], [1, 1, 1]]), only_in_prediction, 3)),
        Case("the last label 4 absent from both maps: its row and column stay 0",
             (labels, noisy, 5)),
        Case("label 1 absent from both (labels 0 and 2 only)",
             (np.array([[0, 2], [2, 2]]), np.array([[2, 2], [0, 2]]), 3)),
        Case("a 1-row image", (np.array([[0, 1, 2, 2, 1]]), np.array([[1, 1, 2, 0, 1]]), 3)),
        Case("brain slice with 10% of the labels scrambled", (labels, noisy, 4)),
        Case("3D label maps", (rng.integers(0, 3, size=(4, 5, 6)),
                               rng.integers(0, 3, size=(4, 5, 6)), 3)),
    ]
    for i in range(3):
        shape = tuple(int(s) for s in rng.integers(3, 20, size=2 if i % 2 == 0 else 3))
        k = int(rng.integers(2, 6))
        cases.append(Case(f"random {len(shape)}D {'x'.join(map(str, shape))} #{i + 1}",
                          (rng.integers(0, k, size=shape), rng.integers(0, k, size=shape), k)))
    return cases


# --------------------------------------------------------------------------------------------
# Exercise 5 · the mean signed distance: over- or under-segmentation?
# --------------------------------------------------------------------------------------------


def _mean_signed_distance(reference, prediction, spacing=None):
    """Mean signed distance (mm) from the prediction's boundary to the reference's boundary.

    Each boundary voxel of ``prediction`` (the mask minus its face-connected erosion) gets its
    distance to the nearest boundary voxel of ``reference``, **positive** when it lies outside
    the reference (the prediction is too large there) and **negative** inside it (too small).
    NaN when either mask is empty.

    Examples
    --------
    >>> square = np.zeros((8, 8), bool); square[2:6, 2:6] = True
    >>> bigger = np.zeros((8, 8), bool); bigger[1:7, 1:7] = True
    >>> round(_mean_signed_distance(square, bigger), 3)  # too large (its corners: 1.41)
    1.083
    >>> _mean_signed_distance(bigger, square)  # too small, by one pixel everywhere
    -1.0
    """
    from .. import metrics

    reference = np.asarray(reference, dtype=bool)
    prediction = np.asarray(prediction, dtype=bool)
    if not reference.any() or not prediction.any():
        return float("nan")
    distance = metrics.distance_map(reference, spacing=spacing)
    edge = metrics.boundary(prediction)
    return float(np.where(reference[edge], -distance[edge], distance[edge]).mean())


# --------------------------------------------------------------------------------------------
# Exercise 6 · predict the number: NSD of the lecture's shifted prediction
# --------------------------------------------------------------------------------------------


def _shifted_nsd():
    from .. import metrics

    return metrics.nsd(*_shifted_squares(), 1.0)


def _shifted_nsd_slips():
    """Values a student may reasonably give, and what to tell them (never the answer)."""
    from .. import metrics

    reference, prediction = _shifted_squares()
    distances = metrics.surface_distances(reference, prediction)
    within_r = float(np.mean(distances.reference_to_prediction <= 1.0))
    within_p = float(np.mean(distances.prediction_to_reference <= 1.0))
    return {
        metrics.nsd(*_squares(), 1.0): "that is the NSD of the centred 6x6 square (the "
                                       "notebook's figure); this prediction is shifted by one "
                                       "pixel",
        0.92: "that is the lecture's value for the centred square, weighting surface elements "
              "by their length (the other convention); count boundary pixels of the shifted "
              "square",
        metrics.nsd(reference, prediction, 1.0, method="surfel"):
            "that is the surface-element convention (weighting boundary pieces by length); "
            "count boundary pixels instead",
        metrics.dice(reference, prediction): "that is the Dice, which the shift does not change",
        within_r: "that is the reference's side only: NSD counts the boundary pixels of both "
                  "masks together",
        within_p: "that is the prediction's side only: NSD counts the boundary pixels of both "
                  "masks together",
    }


def _register_chapter_02():
    from .. import metrics

    register("confusion_matrix", reference=_confusion_matrix, cases=_label_map_cases,
             compare=compare_array,
             forbidden=(_confusion_matrix, metrics.confusion, metrics.evaluate),
             description="confusion_matrix(reference, prediction, n_labels) -> (K, K) counts",
             hint="entry [i, j] counts the voxels with reference label i and predicted label j "
                  "(rows: the reference); the matrix is n_labels x n_labels even when a label "
                  "is absent from both maps. np.bincount(reference * n_labels + prediction, "
                  "minlength=...) counts every pair at once.")
    hints = {
        "dice": "Dice = 2 TP / (2 TP + FP + FN) from the confusion counts; when both masks are "
                "empty that is 0/0: return NaN (the lecture's table), never 0 or 1.",
        "iou": "IoU = TP / (TP + FP + FN); when both masks are empty return NaN.",
        "volume_similarity": "VS = 1 - |FN - FP| / (2 TP + FP + FN); NaN when both masks are "
                             "empty.",
    }
    for name in ("dice", "iou", "volume_similarity"):
        register(name, reference=getattr(metrics, name), cases=_mask_pairs, compare=compare_float,
                 forbidden=(getattr(metrics, name), metrics.evaluate),
                 description=f"{name}(reference, prediction) -> float (NaN for 0/0)",
                 hint=hints[name])
    register("mean_signed_distance", reference=_mean_signed_distance,
             cases=lambda rng: _mask_pairs(rng, with_spacing=True, grown=True),
             compare=compare_float,
             forbidden=(_mean_signed_distance, metrics.hausdorff, metrics.assd, metrics.masd,
                        metrics.evaluate),
             description="mean_signed_distance(reference, prediction, spacing=None) -> mm",
             hint="for every boundary pixel of the PREDICTION, read the reference's distance "
                  "map (metrics.distance_map(reference, spacing=spacing), in mm) and give it a "
                  "minus sign where the pixel lies inside the reference; average. A prediction "
                  "one pixel too large all around gives about +1 pixel (in mm), one too small "
                  "about -1; NaN when a mask is empty.")
    register("predict_shifted_nsd", reference=_shifted_nsd,
             cases=lambda rng: [Case("the shifted 6x6 square, tolerance 1 mm")],
             compare=rounded(3, known=_shifted_nsd_slips()),
             forbidden=(metrics.nsd, metrics.evaluate, metrics.surface_distances),
             description="predict_shifted_nsd() -> NSD of the lecture's prediction 2 at 1 mm",
             hint="draw both boundaries on squared paper: the reference has 12 boundary pixels, "
                  "the 6x6 square 20; mark every one that lies within 1 mm of the other "
                  "boundary (diagonal neighbours are 1.41 mm away).")


_register_chapter_02()
