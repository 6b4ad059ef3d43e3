"""quant.dicom.load: every broken input raises a precise DicomImportError that names the problem."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from quant.dicom.load import (
    DicomImportError,
    DuplicateSliceError,
    GantryTiltError,
    InconsistentSeriesError,
    MissingPixelDataError,
    MissingSlicesError,
    MixedSeriesError,
    NonUniformSpacingError,
    NotCTError,
    NotDicomError,
    NotImageError,
    PathNotFoundError,
    SeriesNotFoundError,
    TooFewSlicesError,
    TruncatedFileError,
    UnsupportedTransferSyntaxError,
    load_series,
    scan_folder,
)
from quant.dicom.write import write_series
from tests.support.dicom_cases import edit_file, positions, pydicom_stack, synthetic_volume

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


@pytest.fixture
def series(tmp_path) -> list[Path]:
    """A valid 8-slice axial series written in slice order (not shuffled)."""
    return write_series(synthetic_volume(shape=(8, 16, 16)), tmp_path / "s", shuffle=False)


def test_truncated_pixel_data(series):
    victim = series[3]
    victim.write_bytes(victim.read_bytes()[:-100])
    with pytest.raises(TruncatedFileError) as err:
        load_series(series[0].parent)
    assert str(victim) in str(err.value)
    assert "truncated" in str(err.value) and "Pixel Data" in str(err.value)


def test_truncated_header(series):
    victim = series[2]
    data = victim.read_bytes()
    for cut in (300, 420, 600, 900):  # in the file meta, then at several points in the data set
        victim.write_bytes(data[:cut])
        with pytest.raises(DicomImportError) as err:
            load_series(series[0].parent)
        assert str(victim) in str(err.value), cut
        assert type(err.value) is not DicomImportError, err.value


def test_missing_slice_names_positions(series):
    ipp = positions(series)
    series[4].unlink()
    with pytest.raises(MissingSlicesError) as err:
        load_series(series[0].parent)
    msg = str(err.value)
    assert "missing slices" in msg and "about 1 slice(s) missing" in msg
    assert f"{ipp[3][2]:.2f}" in msg and f"{ipp[5][2]:.2f}" in msg
    assert series[3].name in msg and series[5].name in msg
    assert "5.00 mm between" in msg


def test_mixed_series_lists_both(tmp_path):
    write_series(synthetic_volume(shape=(4, 16, 16), seed=1), tmp_path / "one", series_description="Thin")
    write_series(synthetic_volume(shape=(5, 16, 16), seed=2), tmp_path / "two", series_description="Thick")
    with pytest.raises(MixedSeriesError) as err:
        load_series(tmp_path)
    msg = str(err.value)
    assert "2 CT series found" in msg and "Thin" in msg and "Thick" in msg
    assert "4 slices" in msg and "5 slices" in msg
    # With a UID it loads; a wrong UID is a precise error.
    uid = pydicom.dcmread(next((tmp_path / "two").glob("*.dcm"))).SeriesInstanceUID
    assert load_series(tmp_path, series_uid=uid).shape == (5, 16, 16)
    with pytest.raises(SeriesNotFoundError, match="1.2.3.4.5"):
        load_series(tmp_path, series_uid="1.2.3.4.5")


def test_mr_is_not_ct(series):
    for p in series:
        edit_file(p, Modality="MR", SOPClassUID=pydicom.uid.MRImageStorage)
    with pytest.raises(NotCTError) as err:
        load_series(series[0].parent)
    msg = str(err.value)
    assert "modality MR" in msg and "not CT" in msg and "MR Image Storage" in msg


def test_missing_pixel_data(series):
    edit_file(series[5], PixelData=None)
    with pytest.raises(MissingPixelDataError) as err:
        load_series(series[0].parent)
    assert str(series[5]) in str(err.value) and "without Pixel Data" in str(err.value)


def test_non_image_object(tmp_path):
    shutil.copy(PYDICOM_FILES / "rtstruct.dcm", tmp_path / "rs.dcm")
    with pytest.raises(NotImageError, match="RT Structure Set Storage"):
        load_series(tmp_path)


def test_uneven_spacing(series):
    ipp = positions(series)
    moved = ipp[4] + [0, 0, 0.8]  # 2.5 mm spacing; slice 4 moved 0.8 mm
    edit_file(series[4], ImagePositionPatient=[f"{v:.4f}" for v in moved])
    with pytest.raises(NonUniformSpacingError) as err:
        load_series(series[0].parent)
    msg = str(err.value)
    assert "uneven slice spacing" in msg and "3.300 mm" in msg and "1.700 mm" in msg
    assert f"{moved[2]:.2f}" in msg


def test_gantry_tilt(series):
    ipp = positions(series)
    shear = math.tan(math.radians(15)) * 2.5  # y drift per slice for a 15 degree tilt
    for i, p in enumerate(series):
        edit_file(p, ImagePositionPatient=[f"{v:.4f}" for v in ipp[i] + [0, shear * i, 0]])
    with pytest.raises(GantryTiltError) as err:
        load_series(series[0].parent)
    msg = str(err.value)
    assert "gantry tilt of about 15.0 degrees" in msg and "not supported" in msg


def test_duplicate_position(series):
    dup = series[0].parent / "dup.dcm"
    shutil.copy(series[2], dup)
    edit_file(dup, SOPInstanceUID=pydicom.uid.generate_uid())
    with pytest.raises(DuplicateSliceError) as err:
        load_series(series[0].parent)
    assert "dup.dcm" in str(err.value) and series[2].name in str(err.value)


def test_inconsistent_pixel_spacing(series):
    edit_file(series[6], PixelSpacing=["0.9", "0.7"])
    with pytest.raises(InconsistentSeriesError, match=r"PixelSpacing differs .*0\.9"):
        load_series(series[0].parent)


def test_single_slice(series):
    with pytest.raises(TooFewSlicesError, match="only 1 slice"):
        load_series([series[0]])


def test_unknown_transfer_syntax(series):
    # pydicom refuses to write an unknown syntax, so patch the file meta bytes (same length).
    for p in series:
        data = p.read_bytes()
        assert b"1.2.840.10008.1.2.1\x00" in data
        p.write_bytes(data.replace(b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.9.9.9\x00", 1))
    with pytest.raises(UnsupportedTransferSyntaxError) as err:
        load_series(series[0].parent)
    assert "1.2.840.10008.9.9.9" in str(err.value) and str(series[0].parent) in str(err.value)


def test_explicit_non_dicom_file(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01hello" * 50)
    with pytest.raises(NotDicomError, match="junk.bin: not a DICOM file"):
        load_series([junk])


def test_missing_path(tmp_path):
    with pytest.raises(PathNotFoundError, match="nowhere"):
        load_series(tmp_path / "nowhere")
    with pytest.raises(PathNotFoundError, match="nowhere"):
        scan_folder(tmp_path / "nowhere")


@pytest.mark.parametrize("seed", range(40))
def test_random_corruption_only_raises_dicom_import_error(series, seed):
    """Flip random bytes in one file: loading either works or raises DicomImportError, never else."""
    rng = np.random.default_rng(seed)
    victim = series[int(rng.integers(len(series)))]
    data = bytearray(victim.read_bytes())
    header_end = len(data) - 16 * 16 * 2  # corrupt the header, where parsing can go wrong
    for pos in rng.integers(128, header_end, size=int(rng.integers(1, 6))):
        data[pos] = int(rng.integers(256))
    if seed % 4 == 0:
        data = data[: int(rng.integers(132, len(data)))]
    victim.write_bytes(bytes(data))
    try:
        volume = load_series(series[0].parent)
    except DicomImportError as exc:
        assert type(exc) is not DicomImportError or "could not be loaded" not in str(exc), exc
    else:
        # What loads is what the files say, read independently with pydicom (slice by slice).
        expected, iop = pydicom_stack(series)
        assert volume.shape == expected.shape == (8, 16, 16)
        np.testing.assert_allclose(iop, [1, 0, 0, 0, 1, 0], atol=1e-6)
        np.testing.assert_array_equal(volume.hu, expected)
    try:
        scan_folder(series[0].parent)
    except DicomImportError:
        pass
