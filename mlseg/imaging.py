"""The imaging challenges of segmentation as plain functions (chapter 01).

Noise (Gaussian, Rician, speckle), partial volume, intensity inhomogeneity (bias field) and a
simple correction, anisotropic acquisition (thick slices) and its staircase, CT metal streaks,
an MRI susceptibility void, reduced contrast and morphological variability. Each function takes
``rng`` where it is random, validates its inputs and never modifies them.

Taught in: notebooks/01_imaging_challenges.ipynb
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_array,
    as_image,
    as_int,
    as_mask,
    as_real,
    as_shape,
    as_spacing,
    check_choice,
    check_same_shape,
)

__all__ = ["gaussian_noise", "rician_noise", "speckle", "block_average", "partial_volume",
           "polynomial_bias", "bias_field", "correct_bias", "thick_slices", "reformat",
           "metal_artifact", "susceptibility_void", "reduce_contrast", "deform"]


def _image(name, value, *, min_ndim=2, max_ndim=3):
    array = as_image(name, value, min_ndim=min_ndim, max_ndim=max_ndim)
    if array.dtype == bool:
        array = array.astype(np.float32)
    return array.astype(np.result_type(array.dtype, np.float32), copy=False)


def gaussian_noise(image, sigma, *, rng=None):
    """Add white Gaussian noise of standard deviation ``sigma`` (CT, and MRI at high SNR).

    Examples
    --------
    >>> noisy = gaussian_noise(np.zeros((200, 200)), 0.1, rng=0)
    >>> round(float(noisy.std()), 2)
    0.1
    """
    image = _image("image", image)
    sigma = as_real("sigma", sigma, low=0)
    return image + np.random.default_rng(rng).normal(0.0, sigma, image.shape)


def rician_noise(image, sigma, *, rng=None):
    """MRI magnitude noise: the magnitude of a complex signal with Gaussian noise on both the
    real and the imaginary channel, ``sqrt((image + n1)**2 + n2**2)``.

    ``n1`` and ``n2`` are drawn in this order as ``rng.normal(0, sigma, image.shape)``. Dark
    regions (background, CSF) get a positive bias: the Rician floor.

    Examples
    --------
    >>> floor = rician_noise(np.zeros((300, 300)), 1.0, rng=0).mean()
    >>> round(float(floor), 1)  # sigma * sqrt(pi / 2) = 1.25
    1.3
    """
    image = _image("image", image)
    sigma = as_real("sigma", sigma, low=0)
    rng = np.random.default_rng(rng)
    real = image + rng.normal(0.0, sigma, image.shape)
    imaginary = rng.normal(0.0, sigma, image.shape)
    return np.sqrt(real**2 + imaginary**2)


def speckle(image, strength, *, rng=None):
    """Ultrasound-like multiplicative speckle: ``image * (1 + strength * (R - 1))`` with ``R``
    Rayleigh-distributed of mean 1 (fully developed speckle at ``strength=1``)."""
    image = _image("image", image)
    strength = as_real("strength", strength, low=0, high=1)
    rayleigh = np.random.default_rng(rng).rayleigh(1.0 / np.sqrt(np.pi / 2), image.shape)
    return image * (1.0 + strength * (rayleigh - 1.0))


def block_average(image, factor):
    """Average non-overlapping ``factor``-sized blocks: a coarser grid, as a scanner with bigger
    voxels would measure (the edges that do not fill a block are dropped).

    Examples
    --------
    >>> block_average(np.array([[0, 1, 2, 3], [4, 5, 6, 7]]), 2)
    array([[2.5, 4.5]])
    """
    image = _image("image", image, min_ndim=1)
    factor = as_int("factor", factor, low=1)
    if any(n < factor for n in image.shape):
        raise ValueError(f"factor {factor} is larger than the image, shape {image.shape}")
    cropped = image[tuple(slice(0, n - n % factor) for n in image.shape)]
    shape = []
    for n in cropped.shape:
        shape += [n // factor, factor]
    return cropped.reshape(shape).mean(axis=tuple(range(1, 2 * image.ndim, 2)))


def partial_volume(image, labels, factor):
    """Sample an image and its labels on a grid ``factor`` times coarser.

    Returns
    -------
    coarse : ndarray
        :func:`block_average` of the image: boundary voxels mix tissues (partial volume).
    fractions : (K, ...) ndarray
        For each label ``k`` in ``0..labels.max()``, the fraction of each coarse voxel it fills.
    coarse_labels : ndarray of int
        The majority label of each coarse voxel (what "the" label of a mixed voxel would be).
    """
    image = _image("image", image, min_ndim=1)
    labels = as_array("labels", labels, min_ndim=1)
    check_same_shape(image, labels, ("image", "labels"))
    if not np.issubdtype(labels.dtype, np.integer) and labels.dtype != bool:
        raise TypeError(f"labels must be an integer label map, got dtype {labels.dtype}")
    if labels.min() < 0:
        raise ValueError("labels must be non-negative")
    coarse = block_average(image, factor)
    fractions = np.stack([block_average(labels == k, factor) for k in range(int(labels.max()) + 1)])
    return coarse, fractions, fractions.argmax(axis=0)


def polynomial_bias(shape, coefficients):
    """A smooth multiplicative bias field ``exp(c0 x + c1 y + c2 x y + c3 x² + c4 y²)``.

    ``y`` runs over the rows and ``x`` over the columns, each from -1 to 1
    (``np.linspace(-1, 1, n)``). For 3D shapes the field is the same on every slice of axis 0.

    Examples
    --------
    >>> field = polynomial_bias((3, 3), (0.5, 0, 0, 0, 0))
    >>> np.round(field[0], 3)  # brighter to the right
    array([0.607, 1.   , 1.649])
    """
    shape = as_shape("shape", shape, min_ndim=2, max_ndim=3)
    c = np.asarray(coefficients, dtype=float)
    if c.shape != (5,) or not np.isfinite(c).all():
        raise ValueError(f"coefficients must be 5 finite numbers, got {coefficients!r}")
    y = np.linspace(-1, 1, shape[-2])[:, None]
    x = np.linspace(-1, 1, shape[-1])[None, :]
    field = np.exp(c[0] * x + c[1] * y + c[2] * x * y + c[3] * x**2 + c[4] * y**2)
    return np.broadcast_to(field, shape).copy() if len(shape) == 3 else field


def bias_field(shape, *, strength=0.3, rng=None):
    """A random smooth bias field (mean about 1) whose intensity varies by about
    ``±strength`` over the image: :func:`polynomial_bias` with random coefficients."""
    strength = as_real("strength", strength, low=0, high=2)
    coefficients = np.random.default_rng(rng).uniform(-1, 1, 5) * strength
    return polynomial_bias(shape, coefficients)


def correct_bias(image, *, mask=None, sigma=20.0):
    """A simple retrospective correction: divide by a heavily smoothed version of the image
    (homomorphic filtering), normalised inside ``mask``.

    Returns
    -------
    corrected : ndarray
    estimate : ndarray
        The estimated multiplicative field (mean 1 inside the mask).
    """
    from scipy import ndimage as ndi

    image = _image("image", image)
    sigma = as_real("sigma", sigma, low=0, low_inclusive=False)
    mask = np.ones(image.shape, bool) if mask is None else as_mask("mask", mask)
    check_same_shape(image, mask, ("image", "mask"))
    if not mask.any():
        raise ValueError("mask must select at least one voxel")
    weights = ndi.gaussian_filter(mask.astype(float), sigma)
    smooth = ndi.gaussian_filter(np.where(mask, image, 0.0), sigma)
    estimate = np.where(weights > 1e-3, smooth / np.maximum(weights, 1e-3), 1.0)
    estimate = estimate / estimate[mask].mean()
    estimate = np.where(estimate > 1e-3, estimate, 1.0)
    return image / estimate, estimate


def thick_slices(volume, spacing, thickness, *, axis=0):
    """Acquire ``volume`` with thick slices along ``axis``: average ``thickness / spacing[axis]``
    neighbouring slices (integer), like a scanner's slice profile.

    Returns
    -------
    thick : ndarray
    new_spacing : tuple of float
    """
    volume = _image("volume", volume, min_ndim=3)
    spacing = as_spacing(spacing, 3)
    axis = as_int("axis", axis, low=0, high=2)
    thickness = as_real("thickness", thickness, low=0, low_inclusive=False)
    factor = thickness / spacing[axis]
    if abs(factor - round(factor)) > 1e-6 or round(factor) < 1:
        raise ValueError(f"thickness must be a whole multiple of spacing[{axis}]="
                         f"{spacing[axis]}, got {thickness}")
    factor = int(round(factor))
    moved = np.moveaxis(volume, axis, 0)
    n = moved.shape[0] - moved.shape[0] % factor
    thick = moved[:n].reshape(n // factor, factor, *moved.shape[1:]).mean(axis=1)
    new_spacing = list(spacing)
    new_spacing[axis] = spacing[axis] * factor
    return np.moveaxis(thick, 0, axis), tuple(new_spacing)


def reformat(volume, spacing, *, target=None, order=0):
    """Resample a volume to isotropic voxels (``target`` mm; default the finest spacing) for
    display: with ``order=0`` thick slices show as a staircase in the other views.

    Returns
    -------
    resampled : ndarray
    new_spacing : tuple of float
    """
    from scipy import ndimage as ndi

    volume = _image("volume", volume, min_ndim=3)
    spacing = as_spacing(spacing, 3)
    target = min(spacing) if target is None else as_real("target", target, low=0,
                                                         low_inclusive=False)
    order = check_choice("order", as_int("order", order, low=0, high=3), (0, 1, 3))
    zoom = [s / target for s in spacing]
    return ndi.zoom(volume, zoom, order=order, grid_mode=True, mode="grid-constant"), \
        (target,) * 3


def metal_artifact(image, metal, *, attenuation=40.0, photons=1e4, angles=180, rng=None):
    """Simulate CT metal streaks physically: project the slice with a dense insert (Radon
    transform), count photons with Poisson noise (few get through the metal: photon
    starvation), take the log, and reconstruct by filtered back-projection.

    Parameters
    ----------
    image : (N, N) ndarray
        Attenuation map (e.g. a phantom, values about 0..1).
    metal : (N, N) ndarray of bool
        Where the metal insert is.
    attenuation : float
        Attenuation of the metal relative to the image's unit.
    photons : float
        Incident photons per detector bin (fewer: noisier, stronger streaks).
    angles : int
        Number of projection angles over 180°.

    Returns
    -------
    (N, N) ndarray
        The reconstructed slice with streaks (the metal itself appears bright).
    """
    from skimage.transform import iradon, radon

    image = _image("image", image, max_ndim=2)
    metal = as_mask("metal", metal)
    check_same_shape(image, metal, ("image", "metal"))
    if image.shape[0] != image.shape[1]:
        raise ValueError(f"image must be square for the Radon transform, got {image.shape}")
    attenuation = as_real("attenuation", attenuation, low=0)
    photons = as_real("photons", photons, low=1)
    angles = as_int("angles", angles, low=8)
    theta = np.linspace(0.0, 180.0, angles, endpoint=False)
    scale = 1.0 / image.shape[0]  # path lengths in units of the image width
    sinogram = radon(image + attenuation * metal, theta=theta, circle=False) * scale
    counts = np.random.default_rng(rng).poisson(photons * np.exp(-sinogram))
    measured = -np.log(np.maximum(counts, 1) / photons) / scale
    reconstruction = iradon(measured, theta=theta, circle=False, filter_name="ramp")
    size = image.shape[0]
    start = (reconstruction.shape[0] - size) // 2
    return reconstruction[start:start + size, start:start + size]


def susceptibility_void(image, center, radius, *, strength=0.9, rim=0.4):
    """An MRI susceptibility-like artefact near metal or air: a signal void with a bright rim
    where the displaced signal piles up.

    Parameters
    ----------
    image : (H, W) ndarray
    center : (float, float)
        Row and column of the disturbance (pixels).
    radius : float
        Radius of the void (pixels).
    strength : float in [0, 1]
        How much signal is lost in the centre.
    rim : float >= 0
        Relative brightness of the pile-up ring.
    """
    image = _image("image", image, max_ndim=2)
    try:
        cy, cx = (float(c) for c in center)
    except (TypeError, ValueError):
        raise TypeError(f"center must be (row, column), got {center!r}") from None
    radius = as_real("radius", radius, low=0, low_inclusive=False)
    strength = as_real("strength", strength, low=0, high=1)
    rim = as_real("rim", rim, low=0)
    y, x = np.ogrid[: image.shape[0], : image.shape[1]]
    r = np.hypot(y - cy, x - cx) / radius
    void = 1 - strength * np.exp(-(r**4))
    ring = 1 + rim * np.exp(-((r - 1.2) ** 2) / 0.05)
    return image * void * ring


def reduce_contrast(image, factor, *, mask=None):
    """Pull intensities towards their mean (inside ``mask``): ``mean + factor * (image - mean)``.
    ``factor=1`` changes nothing, ``0`` leaves a flat image."""
    image = _image("image", image)
    factor = as_real("factor", factor, low=0, high=1)
    mask = np.ones(image.shape, bool) if mask is None else as_mask("mask", mask)
    check_same_shape(image, mask, ("image", "mask"))
    mean = image[mask].mean() if mask.any() else 0.0
    return np.where(mask, mean + factor * (image - mean), image)


def deform(image, labels, *, amplitude=4.0, smoothness=8.0, rng=None):
    """Morphological variability: warp an image and its labels with one smooth random
    displacement field (``amplitude`` pixels, correlation length ``smoothness`` pixels);
    labels are resampled by nearest neighbour so they stay labels."""
    from scipy import ndimage as ndi

    image = _image("image", image)
    labels = as_array("labels", labels)
    check_same_shape(image, labels, ("image", "labels"))
    amplitude = as_real("amplitude", amplitude, low=0)
    smoothness = as_real("smoothness", smoothness, low=0, low_inclusive=False)
    rng = np.random.default_rng(rng)
    fields = []
    for _ in range(image.ndim):
        field = ndi.gaussian_filter(rng.standard_normal(image.shape), smoothness)
        fields.append(field * amplitude / (field.std() + 1e-12))
    grid = np.indices(image.shape, dtype=float)
    coords = grid + np.stack(fields)
    warped = ndi.map_coordinates(image, coords, order=1, mode="nearest")
    warped_labels = ndi.map_coordinates(labels, coords, order=0, mode="nearest")
    return warped, warped_labels.astype(labels.dtype)
