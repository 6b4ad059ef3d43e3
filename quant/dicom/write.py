"""Write a :class:`~quant.volume.Volume` as a DICOM CT series (one file per slice).

This is how LungRead makes realistic test and demo data: the synthetic phantom is written through
:func:`write_series`, so the loader is always exercised on real files. The writer honours the
volume's full geometry (origin, spacing, direction, including oblique directions) and can slice the
(z, y, x) array along any of its axes, so axial, coronal and sagittal series all describe the same
physical image.

Stored values are ``HU + 1024`` with RescaleSlope 1 and RescaleIntercept -1024 (unsigned when every
value fits, signed otherwise), so ``stored * slope + intercept`` gives back the exact HU.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from quant.dicom.encode import DicomWriteError, encode_jpeg_lossless, encode_with_gdcm
from quant.volume import Volume

__all__ = [
    "DicomWriteError",
    "SUPPORTED_TRANSFER_SYNTAXES",
    "fake_phi",
    "write_series",
]

# Transfer syntaxes write_series can produce. All are lossless, so a written series loads back
# bit-identical whatever the syntax.
SUPPORTED_TRANSFER_SYNTAXES: dict[str, str] = {
    str(ExplicitVRLittleEndian): "Explicit VR Little Endian",
    str(RLELossless): "RLE Lossless",
    str(JPEGLSLossless): "JPEG-LS Lossless",
    str(JPEG2000Lossless): "JPEG 2000 Lossless",
    str(JPEGLosslessSV1): "JPEG Lossless, First-Order Prediction (SV1)",
}

# Syntaxes pydicom encodes itself (RLE natively, JPEG-LS via pyjpegls, JPEG 2000 via
# pylibjpeg-openjpeg). JPEG Lossless SV1 has no pydicom encoder: dcmtk (or gdcm) does it.
_PYDICOM_ENCODED = {str(RLELossless), str(JPEGLSLossless), str(JPEG2000Lossless)}

_PHI_KEYS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "StudyDate",
    "InstitutionName",
    "ReferringPhysicianName",
    "AccessionNumber",
)

_FAMILY = ("MUELLER", "GARCIA", "SMITH", "NGUYEN", "KOWALSKI", "ROSSI", "TANAKA", "OKAFOR", "BERG")
_GIVEN = ("ANNA", "JOHN", "MEI", "CARLOS", "FATIMA", "PIOTR", "LAURA", "KENJI", "AMARA", "ERIK")
_HOSPITALS = (
    "St. Example General Hospital",
    "Riverside University Clinic",
    "Northfield Medical Centre",
    "Lakeside Infectious Disease Unit",
)

_PRIVATE_CREATOR = "LUNGREAD TEST"
_PRIVATE_GROUP = 0x0009


def fake_phi(seed: int = 0) -> dict[str, str]:
    """Plausible, deterministic fake PHI for ``seed`` (names, IDs and dates that look real).

    The values exist so that blinding can be tested: nothing derived from them may ever reach a
    reader's screen.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    birth = date(1940, 1, 1) + timedelta(days=int(rng.integers(0, 60 * 365)))
    study = date(2020, 2, 1) + timedelta(days=int(rng.integers(0, 400)))
    return {
        "PatientName": f"{rng.choice(_FAMILY)}^{rng.choice(_GIVEN)}",
        "PatientID": f"PID{int(rng.integers(10**6, 10**7))}",
        "PatientBirthDate": birth.strftime("%Y%m%d"),
        "StudyDate": study.strftime("%Y%m%d"),
        "InstitutionName": str(rng.choice(_HOSPITALS)),
        "ReferringPhysicianName": f"{rng.choice(_FAMILY)}^{rng.choice(_GIVEN)}^^DR",
        "AccessionNumber": f"ACC{int(rng.integers(10**7, 10**8))}",
    }


def _uid(*parts: object) -> UID:
    """A deterministic UID derived from ``parts`` (same inputs, same UID)."""
    return generate_uid(entropy_srcs=[repr(p) for p in parts])


def _stored_values(hu: NDArray[np.int16]) -> tuple[NDArray[np.integer], int, int]:
    """Choose the stored representation: (stored array, PixelRepresentation, RescaleIntercept).

    ``HU + 1024`` as uint16 when every value is >= -1024 (the common CT convention), as int16 when
    some voxel is darker than air or brighter than 31743 HU would not fit; plain HU otherwise.
    """
    lo, hi = int(hu.min()), int(hu.max())
    if lo >= -1024 and hi + 1024 <= 65535:
        return (hu.astype(np.int32) + 1024).astype(np.uint16), 0, -1024
    if hi + 1024 <= 32767:
        return (hu.astype(np.int32) + 1024).astype(np.int16), 1, -1024
    return hu.astype(np.int16), 1, 0


def _reslice(arr: NDArray[np.integer], slice_axis: int) -> NDArray[np.integer]:
    """View of the (z, y, x) ``arr`` as (slice, row, col) for ``slice_axis`` (no copy).

    Coronal and sagittal images are flipped vertically so that, for an identity-direction volume,
    the image's top is superior, as scanners write them (IOP 1\\0\\0\\0\\0\\-1 and 0\\1\\0\\0\\0\\-1).
    """
    if slice_axis == 0:
        return arr
    if slice_axis in (1, 2):
        return np.moveaxis(arr, slice_axis, 0)[:, ::-1, :]
    raise DicomWriteError(
        f"slice_axis must be 0, 1 or 2 (an axis of the (z, y, x) array), got {slice_axis}"
    )


def _slice_geometry(
    volume: Volume, slice_axis: int
) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """(row_dir, col_dir, slice_spacing, row_spacing, col_spacing) for :func:`_reslice` images.

    ``row_dir`` is the LPS direction of increasing *column* index (IOP's first triple), ``col_dir``
    that of increasing *row* index (IOP's second triple); spacings in mm.
    """
    d = volume.direction
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    sz, sy, sx = volume.spacing
    if slice_axis == 0:
        return dx, dy, sz, sy, sx
    if slice_axis == 1:  # slices along y; rows run along -z, columns along x
        return dx, -dz, sy, sz, sx
    return dy, -dz, sx, sz, sy  # slices along x; rows along -z, columns along y


def _first_pixel_zyx(shape: tuple[int, int, int], slice_axis: int, s: int) -> tuple[int, int, int]:
    """(z, y, x) index of the top-left pixel of DICOM slice ``s`` (see :func:`_reslice`)."""
    nz = shape[0]
    if slice_axis == 0:
        return (s, 0, 0)
    if slice_axis == 1:
        return (nz - 1, s, 0)
    return (nz - 1, 0, s)


def _ds(value: float) -> str:
    """Format a float for a DS element (max 16 characters)."""
    value = float(value) + 0.0  # + 0.0 turns -0.0 into 0.0
    text = f"{value:.10g}"
    if len(text) > 16:
        text = f"{value:.8g}"
    return "0" if text == "-0" else text


def write_series(
    volume: Volume,
    out_dir: Path,
    *,
    slice_axis: int = 0,
    reverse: bool = False,
    phi: dict[str, str] | None = None,
    transfer_syntax: str | None = None,
    shuffle: bool = True,
    seed: int = 0,
    series_description: str = "LungRead phantom",
    study_uid: str | None = None,
    series_uid: str | None = None,
    private_tag_value: str | None = None,
) -> list[Path]:
    """Write ``volume`` as a CT series, one file per slice, into ``out_dir``.

    Args:
        volume: HU image (z, y, x) with its LPS geometry; the geometry is written exactly
            (ImagePositionPatient / ImageOrientationPatient / PixelSpacing in mm), so an oblique
            direction gives an oblique series.
        out_dir: folder to write into (created if needed).
        slice_axis: which array axis becomes the DICOM slice axis: 0 axial-like (z), 1 coronal (y),
            2 sagittal (x).
        reverse: number the slices (InstanceNumber) from the far end of the slice normal, as a
            feet-first acquisition does; the geometry itself is unchanged.
        phi: PatientName, PatientID, PatientBirthDate, StudyDate, InstitutionName,
            ReferringPhysicianName, AccessionNumber; missing keys get fakes from ``seed``.
        transfer_syntax: UID string; None = Explicit VR Little Endian. Also RLE Lossless, JPEG-LS
            Lossless, JPEG 2000 Lossless, JPEG Lossless SV1 (all lossless).
        shuffle: write under random-looking file names in a random order, so that directory order
            says nothing about slice order.
        seed: makes UIDs, file names, shuffling and fake PHI deterministic.
        series_description: SeriesDescription.
        study_uid, series_uid: use these UIDs instead of deterministic ones derived from ``seed``.
        private_tag_value: when given, also write a private element (group 0009, creator
            "LUNGREAD TEST") holding this text, e.g. to test that private tags never leak.

    Returns:
        The written file paths, in slice order along the slice normal (not InstanceNumber order).
    """
    ts = str(transfer_syntax) if transfer_syntax is not None else str(ExplicitVRLittleEndian)
    if ts not in SUPPORTED_TRANSFER_SYNTAXES:
        known = ", ".join(f"{k} ({v})" for k, v in SUPPORTED_TRANSFER_SYNTAXES.items())
        raise DicomWriteError(f"cannot write transfer syntax {ts}; supported: {known}")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    phi_values = fake_phi(seed)
    phi_values.update(phi or {})
    unknown = set(phi or {}) - set(_PHI_KEYS)
    if unknown:
        raise DicomWriteError(f"unknown PHI keys {sorted(unknown)}; allowed: {list(_PHI_KEYS)}")

    stored, pixel_rep, intercept = _stored_values(volume.hu)
    stored_arr = _reslice(stored, slice_axis)
    row_dir, col_dir, s_slice, s_row, s_col = _slice_geometry(volume, slice_axis)
    n_slices, rows, cols = stored_arr.shape
    normal = np.cross(row_dir, col_dir)

    # UIDs depend on the content too, so two different volumes written with the same seed (e.g.
    # visits of one subject) never share a SeriesInstanceUID.
    content = hashlib.sha1(np.ascontiguousarray(volume.hu[::5, ::5, ::5]).tobytes())
    content.update(repr((volume.spacing, volume.origin, volume.direction.round(9).tolist())).encode())
    study = UID(study_uid) if study_uid else _uid("study", seed, phi_values["PatientID"], phi_values["StudyDate"])
    series = (
        UID(series_uid)
        if series_uid
        else _uid("series", seed, study, series_description, slice_axis, reverse, content.hexdigest())
    )
    frame_uid = _uid("frame", study)
    rng = np.random.default_rng([seed, 0xD1C0])
    order = rng.permutation(n_slices) if shuffle else np.arange(n_slices)
    if shuffle:
        names = [f"{hashlib.sha1(f'{series}/{s}'.encode()).hexdigest()[:16]}.dcm" for s in range(n_slices)]
    else:
        names = [f"IM{s:05d}.dcm" for s in range(n_slices)]
    orientation = "AXIAL" if slice_axis == 0 else "REFORMATTED"
    study_date = phi_values["StudyDate"]

    paths: list[Path] = [out_dir / name for name in names]
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".tmp-") as tmp:
        for s in order:
            s = int(s)
            ds = Dataset()
            ds.SpecificCharacterSet = "ISO_IR 100"
            ds.ImageType = ["ORIGINAL", "PRIMARY", orientation]
            ds.SOPClassUID = CTImageStorage
            ds.SOPInstanceUID = _uid("instance", series, s)
            ds.StudyDate = study_date
            ds.SeriesDate = study_date
            ds.AcquisitionDate = study_date
            ds.ContentDate = study_date
            ds.StudyTime = "101500"
            ds.SeriesTime = "101700"
            ds.AccessionNumber = phi_values["AccessionNumber"]
            ds.Modality = "CT"
            ds.Manufacturer = "LungRead"
            ds.InstitutionName = phi_values["InstitutionName"]
            ds.ReferringPhysicianName = phi_values["ReferringPhysicianName"]
            ds.StudyDescription = "CT CHEST"
            ds.SeriesDescription = series_description
            ds.ManufacturerModelName = "Synthetic phantom"
            ds.PatientName = phi_values["PatientName"]
            ds.PatientID = phi_values["PatientID"]
            ds.PatientBirthDate = phi_values["PatientBirthDate"]
            ds.PatientSex = "O"
            ds.BodyPartExamined = "CHEST"
            ds.SliceThickness = _ds(s_slice)
            ds.KVP = "120"
            ds.PatientPosition = "FFS" if reverse else "HFS"
            ds.StudyInstanceUID = study
            ds.SeriesInstanceUID = series
            ds.StudyID = "1"
            ds.SeriesNumber = 2 + slice_axis
            ds.AcquisitionNumber = 1
            ds.InstanceNumber = (n_slices - s) if reverse else (s + 1)
            zyx = _first_pixel_zyx(volume.shape, slice_axis, s)
            position = volume.index_to_lps(zyx)[0]
            ds.ImagePositionPatient = [_ds(v) for v in position]
            ds.ImageOrientationPatient = [_ds(v) for v in (*row_dir, *col_dir)]
            ds.FrameOfReferenceUID = frame_uid
            ds.PositionReferenceIndicator = ""
            ds.SliceLocation = _ds(float(np.dot(position, normal)))
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.Rows = rows
            ds.Columns = cols
            ds.PixelSpacing = [_ds(s_row), _ds(s_col)]
            ds.BitsAllocated = 16
            ds.BitsStored = 16
            ds.HighBit = 15
            ds.PixelRepresentation = pixel_rep
            ds.WindowCenter = "-600"
            ds.WindowWidth = "1500"
            ds.RescaleIntercept = str(intercept)
            ds.RescaleSlope = "1"
            ds.RescaleType = "HU"
            if private_tag_value is not None:
                block = ds.private_block(_PRIVATE_GROUP, _PRIVATE_CREATOR, create=True)
                block.add_new(0x01, "LO", private_tag_value)
            pixels = np.ascontiguousarray(stored_arr[s])
            ds.PixelData = pixels.tobytes()

            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = ds.SOPClassUID
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
            ds.file_meta = meta

            path = paths[s]
            if ts == str(ExplicitVRLittleEndian):
                ds.save_as(path, enforce_file_format=True)
                continue
            if ts in _PYDICOM_ENCODED:
                try:
                    ds.compress(UID(ts), pixels, generate_instance_uid=False)
                    ds.save_as(path, enforce_file_format=True)
                    continue
                except RuntimeError as exc:
                    # openjpeg always uses 6 wavelet levels and fails on images under 32 pixels
                    # in a dimension (thin coronal/sagittal slabs); gdcm adapts, so fall back.
                    if ts != str(JPEG2000Lossless):
                        raise DicomWriteError(
                            f"could not encode {path.name} as {SUPPORTED_TRANSFER_SYNTAXES[ts]}: {exc}"
                        ) from exc
                    ds.PixelData = pixels.tobytes()
                    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            tmp_path = Path(tmp) / path.name
            ds.save_as(tmp_path, enforce_file_format=True)
            if ts == str(JPEGLosslessSV1):
                encode_jpeg_lossless(tmp_path, path)
            else:
                encode_with_gdcm(tmp_path, path, ts)
            tmp_path.unlink()
    return paths
