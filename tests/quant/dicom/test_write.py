"""quant.dicom.write: the series writer used for phantoms and loader tests (checked with pydicom)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless, JPEGLosslessSV1, JPEGLSLossless, RLELossless

from quant.dicom.write import DicomWriteError, _reslice, write_series
from quant.volume import Volume


def _volume(shape=(5, 40, 36), lo=-1100) -> Volume:
    rng = np.random.default_rng(3)
    hu = rng.integers(lo, 1800, size=shape).astype(np.int16)
    return Volume(hu=hu, spacing=(2.5, 0.75, 0.7), origin=(-12.0, 30.5, 101.25))


def _hu(path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    return ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)


@pytest.mark.parametrize("slice_axis", [0, 1, 2])
def test_uncompressed_geometry_and_pixels(tmp_path, slice_axis):
    vol = _volume()
    paths = write_series(vol, tmp_path, slice_axis=slice_axis, phi={"PatientName": "PLANTED^NAME"})
    expected = _reslice(vol.hu, slice_axis)
    assert len(paths) == expected.shape[0] == len(list(tmp_path.glob("*.dcm")))
    ipp = []
    for s, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        assert ds.Modality == "CT" and ds.SOPClassUID == pydicom.uid.CTImageStorage
        assert str(ds.PatientName) == "PLANTED^NAME"
        np.testing.assert_array_equal(_hu(path), expected[s])
        ipp.append([float(v) for v in ds.ImagePositionPatient])
    ipp = np.array(ipp)
    # Positions step by the slice spacing along the slice normal.
    steps = np.linalg.norm(np.diff(ipp, axis=0), axis=1)
    np.testing.assert_allclose(steps, vol.spacing[slice_axis], atol=1e-6)
    ds0 = pydicom.dcmread(paths[0])
    iop = np.array([float(v) for v in ds0.ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    assert np.allclose(np.abs(normal), np.eye(3)[2 - slice_axis])  # z, y or x in LPS


def test_reverse_numbers_from_the_far_end(tmp_path):
    vol = _volume()
    paths = write_series(vol, tmp_path, reverse=True, shuffle=False)
    numbers = [int(pydicom.dcmread(p).InstanceNumber) for p in paths]
    assert numbers == list(range(len(paths), 0, -1))


@pytest.mark.parametrize("ts", [RLELossless, JPEGLSLossless, JPEG2000Lossless, JPEGLosslessSV1])
@pytest.mark.parametrize("lo", [-1100, -1024])  # signed and unsigned stored values
def test_compressed_syntaxes_are_lossless(tmp_path, ts, lo):
    vol = _volume(shape=(3, 40, 36), lo=lo)
    paths = write_series(vol, tmp_path, transfer_syntax=ts)
    expected = vol.hu
    for s, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == ts
        np.testing.assert_array_equal(_hu(path), expected[s])


def test_unknown_transfer_syntax_is_a_clear_error(tmp_path):
    with pytest.raises(DicomWriteError, match="1.2.840.10008.1.2.4.50"):
        write_series(_volume(), tmp_path, transfer_syntax="1.2.840.10008.1.2.4.50")


def test_dcmtk_encodes_jpeg_lossless_that_gdcm_decodes(tmp_path):
    """Cross-implementation check: dcmtk's dcmcjpeg encodes, pydicom (through gdcm) decodes."""
    from quant.dicom.encode import encode_with_dcmtk

    vol = _volume(shape=(1, 40, 36))
    src = write_series(vol, tmp_path / "plain")[0]
    dst = tmp_path / "jpeg.dcm"
    encode_with_dcmtk(src, dst)
    assert pydicom.dcmread(dst).file_meta.TransferSyntaxUID == JPEGLosslessSV1
    np.testing.assert_array_equal(_hu(dst), vol.hu[0])
