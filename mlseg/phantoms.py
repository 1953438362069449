"""Synthetic masks with exact ground truth: shapes, random blobs and simulated annotators.

Everything is generated from arguments and a seed; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._validation import as_int, as_mask, as_real, as_shape, as_spacing

__all__ = ["disk", "blob", "annotate", "perturb", "TISSUES", "T1_INTENSITIES", "Subject",
           "draw_subject", "brain_slice", "brain_volume", "brain_cohort", "brain_split",
           "BrainSplit", "template_extent"]


def disk(shape, center, radius, *, spacing=None):
    """A disk (2D) or ball (3D) mask; ``center`` and ``radius`` in mm.

    Parameters
    ----------
    shape : tuple of int
        Grid size in voxels, e.g. ``(64, 64)``.
    center : sequence of float
        Centre in mm, per axis (voxel ``i`` sits at ``i * spacing``).
    radius : float
        Radius in mm (> 0).
    spacing : sequence of float, optional
        Voxel size in mm per axis; default 1 mm. The same ``center`` and ``radius`` at another
        spacing give the same physical shape sampled more finely or coarsely.

    Returns
    -------
    ndarray of bool, ``shape``

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb (structure size, resolution).

    Examples
    --------
    >>> disk((5, 5), (2, 2), 1).astype(int)
    array([[0, 0, 0, 0, 0],
           [0, 0, 1, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 1, 0, 0],
           [0, 0, 0, 0, 0]])
    """
    shape = as_shape("shape", shape)
    spacing = as_spacing(spacing, len(shape))
    try:
        center = tuple(float(c) for c in center)
    except TypeError:
        raise TypeError(f"center must be a sequence of {len(shape)} numbers, got {center!r}") \
            from None
    if len(center) != len(shape):
        raise ValueError(f"center must have {len(shape)} coordinates, got {len(center)}")
    radius = as_real("radius", radius, low=0, low_inclusive=False)
    grids = np.ogrid[tuple(slice(0, s) for s in shape)]
    r2 = sum(((g * sp) - c) ** 2 for g, sp, c in zip(grids, spacing, center))
    return r2 <= radius**2


def blob(shape, *, fill=0.3, smoothness=None, rng=None):
    """A random smooth blob: thresholded smoothed noise, the largest component kept.

    Parameters
    ----------
    shape : tuple of int
    fill : float in (0, 1)
        Approximate fraction of the grid inside the blob before keeping the largest component.
    smoothness : float, optional
        Gaussian sigma of the noise in voxels (default ``min(shape) / 6``).
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray of bool, ``shape``

    Examples
    --------
    >>> blob((32, 32), rng=0).any()
    np.True_
    """
    from scipy import ndimage as ndi

    shape = as_shape("shape", shape)
    fill = as_real("fill", fill, low=0, high=1, low_inclusive=False)
    if fill >= 1:
        raise ValueError(f"fill must be < 1, got {fill}")
    if smoothness is None:
        smoothness = max(1.0, min(shape) / 6)
    smoothness = as_real("smoothness", smoothness, low=0, low_inclusive=False)
    rng = np.random.default_rng(rng)
    noise = ndi.gaussian_filter(rng.standard_normal(shape), smoothness, mode="constant")
    # favour the centre so the blob does not hug the border
    grids = np.ogrid[tuple(slice(0, s) for s in shape)]
    r2 = sum(((g - (s - 1) / 2) / (s / 2)) ** 2 for g, s in zip(grids, shape))
    field = noise / (noise.std() + 1e-12) - 1.5 * r2
    mask = field > np.quantile(field, 1 - fill)
    labels, n = ndi.label(mask)
    if n > 1:
        sizes = np.bincount(labels.ravel())[1:]
        mask = labels == 1 + int(np.argmax(sizes))
    return mask


def annotate(mask, *, bias=0.0, jitter=1.0, smoothness=4.0, spacing=None, rng=None):
    """Simulate a human annotator outlining ``mask``: a smooth random wobble of its boundary.

    The signed distance to the boundary (positive inside, mm) is shifted by ``bias`` (mm; > 0
    draws generously, < 0 tightly) plus smooth noise of standard deviation ``jitter`` mm, then
    thresholded at 0.

    Parameters
    ----------
    mask : (H, W) or (D, H, W) ndarray of bool
        The true structure.
    bias : float
        Systematic over- (> 0) or under-segmentation (< 0) in mm: an observer's habit.
    jitter : float >= 0
        Random boundary wobble in mm: repeated annotations by one observer differ by this much.
    smoothness : float > 0
        Correlation length of the wobble in voxels.
    spacing : sequence of float, optional
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray of bool, same shape

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb (gold standard, intra/inter-observer variability,
    annotation noise).

    Examples
    --------
    >>> square = np.zeros((20, 20), bool); square[5:15, 5:15] = True
    >>> int(annotate(square, bias=1.0, jitter=0.0).sum())  # one voxel more on every side
    144
    """
    from scipy import ndimage as ndi

    mask = as_mask("mask", mask)
    spacing = as_spacing(spacing, mask.ndim)
    bias = as_real("bias", bias)
    jitter = as_real("jitter", jitter, low=0)
    smoothness = as_real("smoothness", smoothness, low=0, low_inclusive=False)
    rng = np.random.default_rng(rng)
    inside = ndi.distance_transform_edt(mask, sampling=spacing)
    outside = ndi.distance_transform_edt(~mask, sampling=spacing)
    signed = np.where(mask, inside - 0.5 * min(spacing), 0.5 * min(spacing) - outside)
    noise = ndi.gaussian_filter(rng.standard_normal(mask.shape), smoothness)
    noise *= jitter / (noise.std() + 1e-12)
    return signed + bias + noise > 0


def perturb(mask, *, shift=None, grow=0):
    """Move and grow/shrink a mask: shift by whole voxels, then dilate (grow > 0) or erode.

    Parameters
    ----------
    mask : ndarray of bool
    shift : sequence of int, optional
        Voxels to move along each axis (content moved past the border is lost, zeros enter).
    grow : int
        Dilation (> 0) or erosion (< 0) steps with face connectivity.

    Returns
    -------
    ndarray of bool, same shape

    Notes
    -----
    Taught in: notebooks/02_evaluation.ipynb (the measures explorer).

    Examples
    --------
    >>> perturb(np.array([0, 1, 1, 0, 0], bool), shift=(1,), grow=1).astype(int)
    array([0, 1, 1, 1, 1])
    """
    from scipy import ndimage as ndi

    mask = as_mask("mask", mask)
    if shift is None:
        shift = (0,) * mask.ndim
    shift = as_shape("shift", shift, min_ndim=mask.ndim, max_ndim=mask.ndim, low=None)
    grow = as_int("grow", grow)
    out = np.zeros_like(mask)
    src = tuple(slice(max(0, -s), n - max(0, s)) for s, n in zip(shift, mask.shape))
    dst = tuple(slice(max(0, s), n - max(0, -s)) for s, n in zip(shift, mask.shape))
    out[dst] = mask[src]
    structure = ndi.generate_binary_structure(mask.ndim, 1)
    if grow > 0:
        out = ndi.binary_dilation(out, structure, iterations=grow)
    elif grow < 0:
        out = ndi.binary_erosion(out, structure, iterations=-grow)
    return out


# --------------------------------------------------------------------------------------------
# Simulated brains from the MNI ICBM152 template (chapter 01)
# --------------------------------------------------------------------------------------------

#: Label values of the simulated brains.
TISSUES = {0: "background", 1: "CSF", 2: "GM", 3: "WM", 4: "lesion"}

#: Mean T1-weighted intensity of each tissue (background, CSF, GM, WM, lesion) before the
#: per-subject variation.
T1_INTENSITIES = (0.0, 0.22, 0.55, 0.82, 0.38)


@lru_cache(maxsize=1)
def _template():
    """The bundled MNI template: tissue probabilities (CSF, GM, WM) as float32, and spacing."""
    from importlib.resources import files

    with files("mlseg.data").joinpath("mni_icbm152_2mm.npz").open("rb") as handle:
        data = np.load(handle)
        tissues = np.stack([data[k] for k in ("csf", "gm", "wm")]).astype(np.float32) / 255
        spacing = np.asarray(data["spacing"], dtype=float)
    tissues.setflags(write=False)
    return tissues, spacing


@lru_cache(maxsize=1)
def _padded_template():
    """The tissues channel-last, with two voxels of zeros around, flattened: for a fast
    trilinear lookup of the three tissues at once (:func:`_trilinear`)."""
    tissues, _ = _template()
    padded = np.pad(np.moveaxis(tissues, 0, -1), ((2, 2), (2, 2), (2, 2), (0, 0)))
    return padded.reshape(-1, 3), padded.shape[:3]


def _trilinear(index):
    """The three tissue probabilities at fractional voxel indices ``index`` (3, N); zero
    outside the template (like ``map_coordinates(order=1, mode="constant")``)."""
    flat, shape = _padded_template()
    position = [np.clip(index[a] + 2, 0, shape[a] - 1.001) for a in range(3)]
    low = [np.floor(p).astype(np.intp) for p in position]
    weight = [p - lo for p, lo in zip(position, low)]
    strides = (shape[1] * shape[2], shape[2], 1)
    base = low[0] * strides[0] + low[1] * strides[1] + low[2]
    out = np.zeros((base.size, 3), dtype=np.float32)
    for corner in np.ndindex(2, 2, 2):
        w = np.ones(base.size, dtype=np.float32)
        for a, c in enumerate(corner):
            w *= weight[a] if c else 1 - weight[a]
        offset = sum(c * st for c, st in zip(corner, strides))
        out += flat[base + offset] * w[:, None]
    return out.T


def template_extent():
    """Size of the bundled template in mm per axis (S→I, A→P, L→R)."""
    tissues, spacing = _template()
    return tuple(float(n * s) for n, s in zip(tissues.shape[1:], spacing))


@dataclass(frozen=True)
class Subject:
    """The random draw that makes one simulated subject (same seed, same subject)."""

    rotation: np.ndarray  # (3, 3)
    scale: np.ndarray  # (3,)
    shift: np.ndarray  # (3,) mm
    displacement: np.ndarray  # (3, k, k, k) mm, on a coarse grid over the template
    intensities: np.ndarray  # (5,) T1 intensity per tissue
    lesion_center: np.ndarray  # (3,) in [0, 1): where in the WM the lesion sits
    lesion_radius: float  # mm
    lesion_shape: np.ndarray  # (8,) smooth radial bumps


def draw_subject(rng=None, *, rotation=8.0, scale=0.08, shift=4.0, elastic=3.0,
                 contrast=1.0):
    """Draw a subject's random anatomy and tissue intensities (see :func:`brain_slice`)."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(rng)
    angles = np.deg2rad(rng.uniform(-rotation, rotation, size=3))
    rot = np.eye(3)
    for axis, angle in enumerate(angles):
        c, s = np.cos(angle), np.sin(angle)
        a, b = [i for i in range(3) if i != axis]
        r = np.eye(3)
        r[a, a], r[a, b], r[b, a], r[b, b] = c, -s, s, c
        rot = rot @ r
    scales = 1 + rng.uniform(-scale, scale, size=3)
    shifts = rng.uniform(-shift, shift, size=3)
    coarse = rng.standard_normal((3, 7, 7, 7))
    coarse = np.stack([ndi.gaussian_filter(c, 1.0, mode="nearest") for c in coarse])
    coarse *= elastic / (coarse.std() + 1e-12)
    base = np.asarray(T1_INTENSITIES, dtype=float)
    middle = (base[1] + base[3]) / 2  # contrast < 1 pulls every tissue towards this grey
    intensities = base.copy()
    intensities[1:] = middle + (base[1:] - middle) * contrast + rng.normal(0, 0.025, size=4)
    return Subject(rot, scales, shifts, coarse, intensities, rng.uniform(0, 1, size=3),
                   float(rng.uniform(5.0, 12.0)), rng.normal(0, 0.25, size=8))


def _grid_points(axes, axis=None, level=0.0):
    """Points (N, 3) in mm of the grid spanned by ``axes`` (one 1-D array per output axis);
    for a slice (two axes) the coordinate along ``axis`` is ``level``."""
    mesh = np.meshgrid(*axes, indexing="ij")
    points = np.empty((mesh[0].size, 3))
    if axis is None:
        for a in range(3):
            points[:, a] = mesh[a].ravel()
    else:
        points[:, axis] = level
        for m, a in zip(mesh, [a for a in range(3) if a != axis]):
            points[:, a] = m.ravel()
    return points


def _sample(subject, axes, *, lesion, axis=None, level=0.0):
    """Tissue fractions (5, N) — background, CSF, GM, WM, lesion — on the output grid spanned by
    ``axes`` (mm around the template centre; see :func:`_grid_points`), after the subject's
    affine and elastic deformation."""
    from scipy import ndimage as ndi

    tissues, spacing = _template()
    extent = np.asarray(tissues.shape[1:]) * spacing
    shape = tuple(len(a) for a in axes)

    def affine(points):
        return (points * subject.scale) @ subject.rotation.T + subject.shift

    # the elastic displacement is smooth: evaluate it on a grid 4x coarser than the output (on
    # the coarse control grid spanning the template), then interpolate it back linearly
    coarse_axes = [np.linspace(a[0], a[-1], max(2, len(a) // 4 + 1)) for a in axes]
    k = subject.displacement.shape[1]
    control = ((affine(_grid_points(coarse_axes, axis, level)) / extent) + 0.5) * (k - 1)
    coarse_shape = tuple(len(a) for a in coarse_axes)
    coarse = np.stack([ndi.map_coordinates(d, control.T, order=1, mode="nearest")
                       for d in subject.displacement]).reshape(3, *coarse_shape)
    displacement = ndi.zoom(coarse, [1, *(n / c for n, c in zip(shape, coarse_shape))],
                            order=1, grid_mode=False).reshape(3, -1)
    points = _grid_points(axes, axis, level)
    moved = affine(points) + displacement.T
    index = ((moved + extent / 2) / spacing - 0.5).T  # voxel centres at (i + 0.5) * spacing
    csf, gm, wm = _trilinear(index)
    fractions = np.zeros((5, points.shape[0]), dtype=np.float32)
    fractions[1], fractions[2], fractions[3] = csf, gm, wm
    total = fractions[1:4].sum(axis=0)
    over = total > 1
    fractions[1:4, over] /= total[over]
    if lesion:
        fractions[4] = _lesion_fraction(subject, points, fractions[3], spacing.min())
        fractions[1:4] *= 1 - fractions[4]
    fractions[0] = np.clip(1 - fractions[1:].sum(axis=0), 0, 1)
    return fractions


def _lesion_fraction(subject, points, wm, edge):
    """A tumour-like blob with an irregular, soft edge (``edge`` mm wide), centred on a
    white-matter point of the output grid (so a slice always shows it)."""
    candidates = np.flatnonzero(wm > 0.8)
    if candidates.size == 0:
        candidates = np.flatnonzero(wm >= wm.max())
    center = points[candidates[int(subject.lesion_center[0] * candidates.size)]]
    offset = points - center
    distance = np.sqrt((offset**2).sum(axis=1))
    fraction = np.zeros(points.shape[0], dtype=np.float32)
    near = np.flatnonzero(distance < 1.3 * subject.lesion_radius + edge)  # the rest is 0
    offset, distance = offset[near], distance[near]
    angle = np.arctan2(offset[:, -2], offset[:, -1])
    elevation = np.arctan2(offset[:, 0], np.hypot(offset[:, 1], offset[:, 2]))
    bumps = subject.lesion_shape
    wobble = sum(b * np.cos((i + 2) * angle + i) for i, b in enumerate(bumps[:4]))
    wobble = wobble + sum(b * np.cos((i + 2) * elevation + i) for i, b in enumerate(bumps[4:]))
    radius = subject.lesion_radius * (1 + 0.3 * np.tanh(wobble))
    fraction[near] = np.clip((radius - distance) / edge + 0.5, 0, 1)
    return fraction


def _render(subject, fractions):
    image = np.tensordot(subject.intensities, fractions, axes=1)
    labels = np.argmax(fractions, axis=0).astype(np.uint8)
    return image.astype(np.float32), labels


def brain_slice(*, size=128, axis=0, position=0.5, lesion=False, rng=None, fractions=False,
                rotation=8.0, scale=0.08, shift=4.0, elastic=3.0, contrast=1.0):
    """A 2D slice of a simulated subject's brain with its exact labels.

    The subject is the MNI ICBM152 template moved by a random affine (rotation, scaling, shift)
    and a smooth elastic deformation, with its own tissue intensities and, optionally, a
    tumour-like lesion. The image is clean: add the imaging challenges with :mod:`mlseg.imaging`.

    Parameters
    ----------
    size : int
        Pixels per side (the field of view is fixed at 200 mm, so the pixel size is
        ``200 / size`` mm).
    axis : {0, 1, 2}
        0 axial, 1 coronal, 2 sagittal.
    position : float in [0, 1]
        Where along ``axis`` the slice is cut (0.5: the middle of the template).
    lesion : bool
        Add a lesion (label 4).
    rng : int or numpy.random.Generator, optional
        Same seed, same subject, bit for bit.
    fractions : bool
        Also return the tissue fractions of every pixel (partial volume).
    rotation, scale, shift, elastic : float
        Ranges of the random anatomy: degrees, relative scaling, mm, mm.
    contrast : float
        1 is the usual T1 contrast; smaller values pull the tissues' intensities together.

    Returns
    -------
    image : (size, size) ndarray of float32
        T1-weighted intensities, background 0, white matter about 0.8.
    labels : (size, size) ndarray of uint8
        {0 background, 1 CSF, 2 GM, 3 WM, 4 lesion}: the tissue with the largest fraction.
    fractions : (5, size, size) ndarray of float32, only if ``fractions=True``
        Fraction of each tissue in every pixel; they sum to 1.

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb

    Examples
    --------
    >>> image, labels = brain_slice(size=64, rng=0)
    >>> image.shape, labels.dtype, sorted(set(labels.ravel().tolist()))
    ((64, 64), dtype('uint8'), [0, 1, 2, 3])
    """
    size = as_int("size", size, low=8, high=1024)
    axis = as_int("axis", axis, low=0, high=2)  # 0 axial, 1 coronal, 2 sagittal
    position = as_real("position", position, low=0, high=1)
    subject = _subject(rng, rotation, scale, shift, elastic, contrast)
    extent = np.asarray(template_extent())
    pixel = FIELD_OF_VIEW / size
    grid = (np.arange(size) - (size - 1) / 2) * pixel
    tissue = _sample(subject, [grid, grid], lesion=bool(lesion), axis=axis,
                     level=(position - 0.5) * extent[axis]).reshape(5, size, size)
    image, labels = _render(subject, tissue)
    return (image, labels, tissue) if fractions else (image, labels)


#: Field of view of :func:`brain_slice` in mm.
FIELD_OF_VIEW = 200.0


def brain_volume(*, spacing=(2.0, 2.0, 2.0), lesion=False, rng=None, fractions=False,
                 rotation=8.0, scale=0.08, shift=4.0, elastic=3.0, contrast=1.0):
    """A 3D simulated subject (axes S→I, A→P, L→R) with exact labels, at ``spacing`` mm.

    Parameters are those of :func:`brain_slice`; ``spacing`` sets the voxel size per axis
    (e.g. ``(5, 1, 1)`` for thick axial slices). The volume covers the template's extent.

    Returns
    -------
    image : (D, H, W) ndarray of float32
    labels : (D, H, W) ndarray of uint8
    fractions : (5, D, H, W) ndarray of float32, only if ``fractions=True``

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb

    Examples
    --------
    >>> image, labels = brain_volume(spacing=(4, 4, 4), rng=0)
    >>> image.shape == labels.shape and image.ndim == 3
    True
    """
    spacing = np.asarray(as_spacing(spacing, 3))
    if np.any(spacing < 0.5):
        raise ValueError(f"spacing must be at least 0.5 mm per axis, got {tuple(spacing)}")
    subject = _subject(rng, rotation, scale, shift, elastic, contrast)
    extent = np.asarray(template_extent())
    shape = tuple(int(round(e / s)) for e, s in zip(extent, spacing))
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing)]
    tissue = _sample(subject, axes, lesion=bool(lesion)).reshape(5, *shape)
    image, labels = _render(subject, tissue)
    return (image, labels, tissue) if fractions else (image, labels)


def brain_cohort(n, *, kind="slice", lesion=0.5, rng=None, progress=True, **kwargs):
    """``n`` simulated subjects: a list of ``(image, labels)`` (or with fractions).

    Parameters
    ----------
    n : int
        Number of subjects.
    kind : {"slice", "volume"}
        :func:`brain_slice` or :func:`brain_volume` subjects.
    lesion : float in [0, 1]
        Fraction of subjects with a lesion (the first ``round(lesion * n)`` of a shuffled order).
    rng : int or numpy.random.Generator, optional
        Subject ``i`` of a cohort is reproducible from the cohort's seed.
    progress : bool
        Show a progress bar.
    **kwargs
        Passed on to :func:`brain_slice` / :func:`brain_volume`.

    Examples
    --------
    >>> cohort = brain_cohort(3, rng=1, progress=False, size=32)
    >>> len(cohort), cohort[0][0].shape
    (3, (32, 32))
    """
    from tqdm.auto import tqdm

    n = as_int("n", n, low=1, high=100_000)
    if kind not in ("slice", "volume"):
        raise ValueError(f"kind must be 'slice' or 'volume', got {kind!r}")
    lesion = as_real("lesion", lesion, low=0, high=1)
    rng = np.random.default_rng(rng)
    seeds = rng.integers(0, 2**63 - 1, size=n)
    with_lesion = np.zeros(n, bool)
    with_lesion[rng.permutation(n)[: int(round(lesion * n))]] = True
    make = brain_slice if kind == "slice" else brain_volume
    return [make(rng=int(seed), lesion=bool(flag), **kwargs) for seed, flag in
            tqdm(list(zip(seeds, with_lesion)), desc=f"simulating {kind}s", disable=not progress)]


def _subject(rng, rotation, scale, shift, elastic, contrast):
    rotation = as_real("rotation", rotation, low=0, high=45)
    scale = as_real("scale", scale, low=0, high=0.5)
    shift = as_real("shift", shift, low=0, high=50)
    elastic = as_real("elastic", elastic, low=0, high=20)
    contrast = as_real("contrast", contrast, low=0, high=2)
    return draw_subject(rng, rotation=rotation, scale=scale, shift=shift, elastic=elastic,
                        contrast=contrast)


@dataclass(frozen=True)
class BrainSplit:
    """Simulated brain slices split into training subjects and held-out test subjects.

    Arrays are read-only (one split is shared by every chapter): copy before changing them.
    ``*_images`` are noisy (Rician, ``noise``), ``*_clean`` the same slices without noise,
    ``*_labels`` the exact labels {0 background, 1 CSF, 2 GM, 3 WM, 4 lesion}.
    """

    train_images: np.ndarray  # (n_train, size, size) float32
    train_labels: np.ndarray  # (n_train, size, size) uint8
    test_images: np.ndarray  # (n_test, size, size) float32
    test_labels: np.ndarray  # (n_test, size, size) uint8
    train_clean: np.ndarray
    test_clean: np.ndarray
    spacing: tuple  # mm per pixel (row, column)


def brain_split(*, n_train=256, n_test=32, size=128, lesion=0.5, noise=0.03, rng=0,
                progress=True):
    """The course's one split of simulated brains: every method from chapter 03 on is trained on
    ``train_*`` and scored on the same held-out ``test_*`` subjects.

    Training and test subjects come from separate seed streams, so they never share a subject,
    and asking for more training subjects leaves the test subjects unchanged.

    Parameters
    ----------
    n_train, n_test : int
        Numbers of subjects (one axial slice each, near the middle of the brain).
    size : int
        Pixels per side (200 mm field of view).
    lesion : float in [0, 1]
        Fraction of subjects with a lesion, in both parts.
    noise : float
        Rician noise sigma (0 for none; 0.03 as in notebook 03).
    rng : int
        Seed of the whole split.
    progress : bool
        Show a progress bar.

    Returns
    -------
    BrainSplit

    Examples
    --------
    >>> split = brain_split(n_train=2, n_test=1, size=32, progress=False)
    >>> split.train_images.shape, split.test_labels.shape, split.spacing
    ((2, 32, 32), (1, 32, 32), (6.25, 6.25))

    Notes
    -----
    Taught in: notebooks/03_classical_methods.ipynb, notebooks/05_unet.ipynb
    """
    n_train = as_int("n_train", n_train, low=1, high=100_000)
    n_test = as_int("n_test", n_test, low=1, high=100_000)
    size = as_int("size", size, low=8, high=1024)
    lesion = as_real("lesion", lesion, low=0, high=1)
    noise = as_real("noise", noise, low=0, high=1)
    rng = as_int("rng", rng, low=0)
    return _brain_split(n_train, n_test, size, lesion, noise, rng, bool(progress))


@lru_cache(maxsize=4)
def _brain_split(n_train, n_test, size, lesion, noise, seed, progress):
    from .imaging import rician_noise

    train_seq, test_seq = np.random.SeedSequence(seed).spawn(2)
    parts = []
    for n, sequence in ((n_train, train_seq), (n_test, test_seq)):
        subjects_rng, noise_rng = (np.random.default_rng(s) for s in sequence.spawn(2))
        cohort = brain_cohort(n, lesion=lesion, rng=subjects_rng, progress=progress, size=size)
        clean = np.stack([image for image, _ in cohort]).astype(np.float32)
        labels = np.stack([labels for _, labels in cohort]).astype(np.uint8)
        noisy = clean if noise == 0 else np.stack(
            [rician_noise(image, noise, rng=noise_rng) for image in clean]).astype(np.float32)
        parts.append((noisy, labels, clean))
    for array in (a for part in parts for a in part):
        array.flags.writeable = False
    (train_images, train_labels, train_clean), (test_images, test_labels, test_clean) = parts
    return BrainSplit(train_images, train_labels, test_images, test_labels, train_clean,
                      test_clean, (200.0 / size, 200.0 / size))
