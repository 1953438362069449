"""Reading and writing images offline: nibabel's and pydicom's own files, and round trips."""

import random
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mlseg import io, phantoms

NIB_DATA = Path(nib.__file__).parent / "tests" / "data"


def test_load_nifti_matches_nibabel_on_its_own_files():
    for name in ("anatomical.nii", "example4d.nii.gz"):
        array, spacing, affine = io.load_nifti(NIB_DATA / name)
        image = nib.load(str(NIB_DATA / name))
        np.testing.assert_array_equal(array, np.asanyarray(image.dataobj))
        assert spacing == tuple(float(z) for z in image.header.get_zooms()[:min(array.ndim, 3)])
        np.testing.assert_array_equal(affine, image.affine)
    assert len(io.load_nifti(NIB_DATA / "example4d.nii.gz")[1]) == 3


def test_simulated_subject_round_trips_through_nifti(tmp_path):
    image, labels = phantoms.brain_volume(spacing=(4, 2, 3), rng=0, lesion=True)
    io.save_nifti(tmp_path / "t1.nii.gz", image, spacing=(4, 2, 3))
    io.save_nifti(tmp_path / "labels.nii", labels, spacing=(4, 2, 3))
    back, spacing, affine = io.load_nifti(tmp_path / "t1.nii.gz")
    np.testing.assert_array_equal(back, image)
    assert spacing == (4.0, 2.0, 3.0)
    np.testing.assert_array_equal(affine, np.diag([4.0, 2.0, 3.0, 1.0]))
    lab, _, _ = io.load_nifti(tmp_path / "labels.nii")
    assert lab.dtype == np.uint8 and np.array_equal(lab, labels)


def write_series(folder, volume, spacing=(3.0, 0.5, 0.7), *, slope=1.0, intercept=0.0,
                 series=None, positions=None):
    """Write ``volume`` (slices, rows, columns) as one CT DICOM file per slice, names shuffled."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    series = series or generate_uid()
    names = [f"IM{n:04d}.dcm" for n in range(len(volume))]
    random.Random(0).shuffle(names)
    stored = np.round((volume - intercept) / slope).astype(np.int16)
    for k, name in enumerate(names):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID, ds.Modality = series, "CT"
        ds.Rows, ds.Columns = stored.shape[1:]
        ds.PixelSpacing = [spacing[1], spacing[2]]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        z = positions[k] if positions is not None else 10 + k * spacing[0]
        ds.ImagePositionPatient = [-5.0, 7.0, z]
        ds.SliceThickness = spacing[0]
        ds.InstanceNumber = len(volume) - k  # misleading on purpose: sort by position
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.PixelData = stored[k].tobytes()
        ds.save_as(str(folder / name), enforce_file_format=True)
    return folder


def test_dicom_series_is_sorted_by_position_and_rescaled(tmp_path):
    image, _ = phantoms.brain_volume(spacing=(6, 4, 4), rng=1)
    hounsfield = image * 1000 - 500  # a CT-like range
    folder = write_series(tmp_path / "ct", hounsfield, slope=0.5, intercept=-1024)
    volume, spacing, affine = io.load_dicom_series(folder)
    np.testing.assert_allclose(volume, hounsfield, atol=0.26)  # stored in steps of 0.5 HU
    assert spacing == pytest.approx((3.0, 0.5, 0.7))
    np.testing.assert_allclose(affine[:3, 3], [-5.0, 7.0, 10.0])
    np.testing.assert_allclose(affine @ [2, 1, 1, 1], [-5 + 0.7, 7 + 0.5, 16, 1])


def test_pydicom_ct_file_reads_with_its_rescale():
    import pydicom
    from pydicom.data import get_testdata_file

    path = get_testdata_file("CT_small.dcm", download=False)
    volume, spacing, _ = io.load_dicom_series([path])
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(volume[0], expected)
    assert spacing[1:] == tuple(float(v) for v in ds.PixelSpacing)


def test_inconsistent_series_get_clear_errors(tmp_path):
    block = np.zeros((3, 8, 8))
    write_series(tmp_path / "two", block, series="1.2.3")
    write_series(tmp_path / "two_b", block, series="1.2.4")
    for f in (tmp_path / "two_b").iterdir():
        f.rename(tmp_path / "two" / f"b_{f.name}")
    with pytest.raises(ValueError, match="mixes 2 series"):
        io.load_dicom_series(tmp_path / "two")
    write_series(tmp_path / "gap", np.zeros((4, 8, 8)), positions=[0, 3, 6, 12])
    with pytest.raises(ValueError, match="unevenly spaced"):
        io.load_dicom_series(tmp_path / "gap")
    write_series(tmp_path / "dup", np.zeros((2, 8, 8)), positions=[5, 5])
    with pytest.raises(ValueError, match="share a position"):
        io.load_dicom_series(tmp_path / "dup")
    folder = write_series(tmp_path / "junk", block)
    (folder / "notes.txt").write_text("not dicom")
    with pytest.raises(ValueError, match="not a DICOM file"):
        io.load_dicom_series(folder)


@pytest.mark.parametrize("call, error, words", [
    (lambda p: io.load_nifti(p / "missing.nii"), FileNotFoundError, "does not exist"),
    (lambda p: io.load_nifti(p / "text.nii"), ValueError, "not a readable NIfTI"),
    (lambda p: io.load_nifti(3), TypeError, "path"),
    (lambda p: io.save_nifti(p / "x.png", np.zeros((2, 2))), ValueError, ".nii"),
    (lambda p: io.save_nifti(p / "x.nii", np.zeros((2, 2)), spacing=(1, 1),
                             affine=np.eye(4)), ValueError, "not both"),
    (lambda p: io.save_nifti(p / "x.nii", np.zeros((2, 2)), spacing=(1, -1)), ValueError,
     "spacing"),
    (lambda p: io.load_dicom_series(p / "nowhere"), FileNotFoundError, "source"),
    (lambda p: io.load_dicom_series(p / "empty"), ValueError, "no files"),
])
def test_bad_paths_and_arguments(tmp_path, call, error, words):
    (tmp_path / "text.nii").write_text("hello")
    (tmp_path / "empty").mkdir()
    with pytest.raises(error, match=words):
        call(tmp_path)
