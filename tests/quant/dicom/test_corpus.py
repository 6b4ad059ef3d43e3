"""quant.dicom.load against pydicom's own corpus of odd files (pydicom/data/test_files, shipped with
pydicom; nothing is downloaded).

Every file either loads or raises a *precise* DicomImportError subclass whose message names the
file. Single CT slices (which cannot form a volume alone) are also paired with a shifted copy of
themselves, so their pixel decoding is checked against pydicom's own decoder.
"""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest

from quant.dicom.load import (
    DicomImportError,
    TooFewSlicesError,
    load_series,
    scan_folder,
)
from tests.support.dicom_cases import pydicom_stack

CORPUS = Path(pydicom.__file__).parent / "data" / "test_files"
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file())
GENERIC_WRAPPER = "could not be loaded ("  # the text of the catch-all wrapper in load_series


def _ids(p: Path) -> str:
    return str(p.relative_to(CORPUS))


def test_corpus_is_present():
    assert len(FILES) > 100, f"pydicom's test files not found under {CORPUS}"


def _check_precise(exc: DicomImportError, path: Path) -> None:
    msg = str(exc)
    assert type(exc) is not DicomImportError, f"generic error for {path}: {msg}"
    assert GENERIC_WRAPPER not in msg, msg
    assert str(path) in msg or path.name in msg, f"message does not name {path.name}: {msg}"


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_every_corpus_file_loads_or_fails_precisely(path):
    try:
        volume = load_series([path])
    except DicomImportError as exc:
        _check_precise(exc, path)
    else:
        # No file of today's corpus loads alone (one slice is not a volume); one that does must
        # hold what pydicom decodes from it.
        expected, _ = pydicom_stack([path])
        assert volume.hu.dtype == np.int16 and volume.hu.size == expected.size
        np.testing.assert_array_equal(np.sort(volume.hu, axis=None), np.sort(expected, axis=None))
    # Scanning it as a folder of one never raises anything but a DicomImportError subclass.
    try:
        result = scan_folder(path)
    except DicomImportError as exc:
        _check_precise(exc, path)
    else:
        assert len(result.series) + len(result.skipped) >= 1


def test_scan_whole_corpus():
    result = scan_folder(CORPUS)
    skipped = {p.name for p, _ in result.skipped}
    assert {"README.txt", "test1.json", "zipMR.gz"} <= skipped
    assert "DICOMDIR" in skipped  # media index files are not series
    modalities = {s.modality for s in result.series}
    assert {"CT", "MR", "RTSTRUCT", "SR"} <= modalities
    for s in result.series:  # the corpus plants names like "CompressedSamples^CT1"
        assert "^" not in s.display_label


def _single_ct_slices() -> list[Path]:
    out = []
    for p in FILES:
        try:
            load_series([p])
        except TooFewSlicesError:
            out.append(p)
        except DicomImportError:
            pass
    return out


SINGLE_CT = _single_ct_slices()


def test_single_ct_slices_exist():
    assert {"CT_small.dcm", "693_J2KI.dcm"} <= {p.name for p in SINGLE_CT}


@pytest.mark.parametrize("path", SINGLE_CT, ids=_ids)
def test_single_ct_slice_decodes_like_pydicom(tmp_path, path):
    """Pair the slice with a copy 1.5 mm further along its normal; both decode as pydicom does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        stored = ds.pixel_array.astype(np.float64)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    expected = np.clip(np.rint(stored * slope + intercept), -32768, 32767).astype(np.int16)

    first = tmp_path / "a.dcm"
    shutil.copy(path, first)
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    ds.ImagePositionPatient = [f"{v:.6f}" for v in np.array([float(v) for v in ds.ImagePositionPatient]) + 1.5 * normal]
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(tmp_path / "b.dcm")

    volume = load_series(tmp_path)
    assert volume.shape[0] * volume.shape[1] * volume.shape[2] == 2 * expected.size
    # Both slices hold the same image; compare in the acquisition frame via the sorted values
    # and, for axial slices (canonical frame == acquisition frame), voxel by voxel.
    np.testing.assert_array_equal(np.sort(volume.hu, axis=None), np.sort(np.concatenate([expected.ravel()] * 2)))
    if np.allclose(np.abs(normal), [0, 0, 1], atol=1e-3) and np.allclose(iop, [1, 0, 0, 0, 1, 0], atol=1e-3):
        np.testing.assert_array_equal(volume.hu[0], expected)
        np.testing.assert_array_equal(volume.hu[1], expected)
        assert volume.spacing[0] == pytest.approx(1.5, abs=1e-4)


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_fast_header_parser_agrees_with_pydicom(path):
    """quant.dicom.fastparse either gives up or yields exactly the header pydicom yields."""
    from quant.dicom.header import read_header

    def header(fast):
        try:
            return read_header(path, fast=fast)
        except DicomImportError as exc:
            return type(exc).__name__, str(exc)

    slow, quick = header(False), header(True)
    if isinstance(slow, tuple) or isinstance(quick, tuple):
        assert slow == quick
        return
    if slow.pixel_offset is None and quick.pixel_offset is not None:
        # pydicom reads small pixel data eagerly (no offset kept); the fast walker keeps it.
        quick = dataclasses.replace(quick, pixel_offset=None, pixel_length=None)
    assert quick == slow
