"""Read and write medical images: NIfTI (nibabel) and DICOM series (pydicom, the ``dicom`` extra).

Every reader returns ``(array, spacing, affine)``: the voxel array, the voxel size in mm per
array axis, and the 4×4 matrix from voxel indices to scanner/patient coordinates in mm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._validation import as_array, as_spacing

__all__ = ["load_nifti", "save_nifti", "load_dicom_series"]


def _existing(path, name="path"):
    if not isinstance(path, (str, Path)):
        raise TypeError(f"{name} must be a file path, got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{name} does not exist: {str(path)!r}")
    return path


def load_nifti(path):
    """Read a NIfTI file (``.nii`` or ``.nii.gz``).

    Returns
    -------
    array : ndarray
        The voxel data as stored (scaled by the file's slope/intercept), float or integer.
    spacing : tuple of float
        Voxel size in mm of the first ``min(ndim, 3)`` axes.
    affine : (4, 4) ndarray
        Voxel indices to scanner coordinates in mm.

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    import nibabel as nib

    path = _existing(path)
    try:
        image = nib.load(str(path))
    except Exception as error:  # nibabel raises several kinds for a file it cannot parse
        raise ValueError(f"path is not a readable NIfTI file: {str(path)!r} ({error})") from None
    if not isinstance(image, (nib.Nifti1Image, nib.Nifti2Image)):
        raise ValueError(f"path is not a NIfTI file: {str(path)!r} (it is {type(image).__name__})")
    array = np.asanyarray(image.dataobj)
    ndim = min(array.ndim, 3)
    spacing = tuple(float(z) for z in image.header.get_zooms()[:ndim])
    return array, spacing, np.asarray(image.affine, dtype=float)


def save_nifti(path, array, *, spacing=None, affine=None):
    """Write a 2D or 3D array as NIfTI; ``spacing`` (mm per axis) or a full ``affine``.

    With neither, voxels are 1 mm; with ``spacing`` the affine is the diagonal of it. Bool
    arrays are stored as uint8 (label maps).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "mask.nii.gz")
    >>> save_nifti(path, np.eye(3, dtype=bool), spacing=(0.5, 2.0))
    >>> array, spacing, affine = load_nifti(path)
    >>> array.dtype, spacing
    (dtype('uint8'), (0.5, 2.0))
    """
    import nibabel as nib

    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a file path, got {type(path).__name__}")
    name = str(path)
    if not (name.endswith(".nii") or name.endswith(".nii.gz")):
        raise ValueError(f"path must end in .nii or .nii.gz, got {name!r}")
    array = as_array("array", array, min_ndim=2, max_ndim=3)
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if array.dtype == np.float16:
        array = array.astype(np.float32)
    if affine is not None:
        affine = np.asarray(affine, dtype=float)
        if affine.shape != (4, 4) or not np.isfinite(affine).all():
            raise ValueError(f"affine must be a finite 4x4 matrix, got shape {affine.shape}")
        if spacing is not None:
            raise ValueError("give spacing or affine, not both (the affine holds the spacing)")
    else:
        spacing = as_spacing(spacing, array.ndim)
        affine = np.diag([*spacing, *([1.0] * (3 - array.ndim)), 1.0])
    image = nib.Nifti1Image(array, affine)
    image.header.set_zooms(tuple(np.sqrt((affine[:3, :3] ** 2).sum(0)))[: array.ndim])
    nib.save(image, name)


def load_dicom_series(source):
    """Read one DICOM series (a folder of slice files, or a list of files) as a 3D volume.

    Slices are sorted by their position along the slice normal (not by file name or instance
    number), ``RescaleSlope``/``RescaleIntercept`` are applied (CT in Hounsfield units).

    Parameters
    ----------
    source : path or sequence of paths
        A folder (every file in it is read; non-DICOM files are an error) or the slice files.

    Returns
    -------
    array : (slices, rows, columns) ndarray of float32
    spacing : (float, float, float)
        Slice distance, row spacing and column spacing in mm.
    affine : (4, 4) ndarray
        (slice, row, column) indices to patient coordinates (LPS, mm).

    Raises
    ------
    ValueError
        Files of several series, slices of different size or orientation, missing geometry,
        duplicate or unevenly spaced slice positions.
    ImportError
        pydicom is not installed (``pip install pydicom``, or the course's ``dicom`` extra).

    Notes
    -----
    Taught in: notebooks/01_imaging_challenges.ipynb
    """
    try:
        import pydicom
    except ImportError:  # pragma: no cover - the dicom extra is part of dev
        raise ImportError("load_dicom_series needs pydicom: pip install pydicom") from None
    if isinstance(source, (str, Path)):
        folder = _existing(source, "source")
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() \
            else [folder]
    else:
        try:
            files = [_existing(p, "source") for p in source]
        except TypeError:
            raise TypeError("source must be a folder or a sequence of file paths") from None
    if not files:
        raise ValueError(f"source holds no files: {source!r}")
    slices = []
    for path in files:
        try:
            slices.append((path, pydicom.dcmread(str(path))))
        except Exception as error:  # pydicom's InvalidDicomError and friends
            raise ValueError(f"not a DICOM file: {str(path)!r} ({error})") from None
    series = {str(getattr(ds, "SeriesInstanceUID", "?")) for _, ds in slices}
    if len(series) > 1:
        raise ValueError(f"source mixes {len(series)} series ({sorted(series)}); give one")
    for path, ds in slices:
        for tag in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
            if tag not in ds:
                raise ValueError(f"{path.name} has no {tag}: cannot place the slice in space")
    orientation = np.asarray(slices[0][1].ImageOrientationPatient, dtype=float)
    size = (int(slices[0][1].Rows), int(slices[0][1].Columns))
    for path, ds in slices:
        if not np.allclose(np.asarray(ds.ImageOrientationPatient, float), orientation,
                           atol=1e-4):
            raise ValueError(f"{path.name} has another orientation than {slices[0][0].name}")
        if (int(ds.Rows), int(ds.Columns)) != size:
            raise ValueError(f"{path.name} is {ds.Rows}x{ds.Columns}, the first slice "
                             f"{size[0]}x{size[1]}")
    row_dir, col_dir = orientation[:3], orientation[3:]
    normal = np.cross(row_dir, col_dir)
    positions = [np.asarray(ds.ImagePositionPatient, dtype=float) for _, ds in slices]
    along = np.array([p @ normal for p in positions])
    order = np.argsort(along, kind="stable")
    along = along[order]
    gaps = np.diff(along)
    if len(gaps) and np.min(gaps) < 1e-4:
        raise ValueError("two slices share a position: duplicate files in the series?")
    if len(gaps) > 1 and np.ptp(gaps) > 0.01 * max(np.mean(gaps), 1e-6) + 1e-3:
        raise ValueError(f"slices are unevenly spaced (gaps {np.round(gaps, 3).tolist()} mm): "
                         "missing slices?")
    pixel = [float(v) for v in slices[0][1].PixelSpacing]  # (row spacing, column spacing)
    if len(gaps):
        slice_spacing = float(np.mean(gaps))
    else:
        slice_spacing = float(getattr(slices[0][1], "SliceThickness", 1.0) or 1.0)
    volume = np.empty((len(slices), *size), dtype=np.float32)
    for k, index in enumerate(order):
        ds = slices[index][1]
        slope = float(getattr(ds, "RescaleSlope", 1.0) or 1.0)
        intercept = float(getattr(ds, "RescaleIntercept", 0.0) or 0.0)
        volume[k] = ds.pixel_array.astype(np.float32) * slope + intercept
    affine = np.eye(4)
    # column j moves along the row direction (by the column spacing), row i along the column
    # direction (by the row spacing): DICOM PS3.3 C.7.6.2.1.1
    affine[:3, 0] = normal * slice_spacing
    affine[:3, 1] = col_dir * pixel[0]
    affine[:3, 2] = row_dir * pixel[1]
    affine[:3, 3] = positions[order[0]]
    return volume, (slice_spacing, pixel[0], pixel[1]), affine
