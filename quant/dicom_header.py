"""Read the header of one DICOM file into a small, typed :class:`SliceHeader`.

Only the attributes LungRead needs are kept (identity, geometry, pixel layout, rescale), plus the
byte offset of the Pixel Data value, so that uncompressed pixels can later be read straight from
the file without parsing it again. Every pydicom failure is turned into a precise
:class:`~quant.dicom_errors.DicomImportError` that names the file.
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from quant.dicom_errors import (
    DicomImportError,
    InvalidTagError,
    NotDicomError,
    TruncatedFileError,
    UnreadableDicomError,
)

__all__ = ["SliceHeader", "read_header", "PIXEL_DATA_TAG"]

PIXEL_DATA_TAG = 0x7FE00010
_FLOAT_PIXEL_TAGS = (0x7FE00008, 0x7FE00009)  # Float / Double Float Pixel Data

_UNCOMPRESSED_FILE_SYNTAXES = {
    pydicom.uid.ImplicitVRLittleEndian,
    pydicom.uid.ExplicitVRLittleEndian,
    pydicom.uid.ExplicitVRBigEndian,
}

# Pixel data above this size is not read while parsing the header (its offset is kept instead).
_DEFER_BYTES = 4096


@dataclass(frozen=True)
class SliceHeader:
    """The attributes of one DICOM file that LungRead uses (no pixel values).

    Geometry is in mm, LPS. ``iop`` is ImageOrientationPatient (row direction then column
    direction), ``ipp`` ImagePositionPatient (centre of the first pixel), ``pixel_spacing``
    PixelSpacing as (between rows, between columns).
    """

    path: Path
    sop_class_uid: str
    modality: str
    study_uid: str
    series_uid: str
    series_description: str
    series_number: int | None
    acquisition_number: int | None
    rows: int
    columns: int
    iop: tuple[float, ...] | None
    ipp: tuple[float, float, float] | None
    pixel_spacing: tuple[float, float] | None
    rescale_slope: float
    rescale_intercept: float
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    samples_per_pixel: int
    photometric: str
    number_of_frames: int
    transfer_syntax: str
    has_pixels: bool
    pixel_offset: int | None  # file offset of the Pixel Data value (native, defined length only)
    pixel_length: int | None  # its length in bytes
    is_implicit_vr: bool
    is_little_endian: bool
    phi_strings: tuple[str, ...]  # PatientName/ID texts, only to scrub them from labels

    @property
    def is_image(self) -> bool:
        """True for image objects: an image SOP class, pixel data, or an image size."""
        return (
            self.has_pixels
            or (self.rows > 0 and self.columns > 0)
            or "Image Storage" in self.sop_class_name
        )

    @property
    def sop_class_name(self) -> str:
        """Human-readable SOP class (e.g. "CT Image Storage"), or the UID when unknown."""
        if not self.sop_class_uid:
            return "no SOP Class UID"
        name = UID(self.sop_class_uid).name
        return name or f"SOP class {self.sop_class_uid}"


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds: Dataset, keyword: str, path: Path, default: int | None = None) -> int | None:
    value = ds.get(keyword, None)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
            value = value[0]
        return int(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise InvalidTagError(f"{path}: {keyword} has an invalid value {value!r}") from exc


def _floats(ds: Dataset, keyword: str, count: int, path: Path) -> tuple[float, ...] | None:
    """A multi-valued numeric attribute as ``count`` floats; None when absent or empty."""
    if keyword not in ds:
        return None
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    items = list(value) if isinstance(value, (list, tuple, pydicom.multival.MultiValue)) else [value]
    try:
        floats = tuple(float(v) for v in items)
    except (TypeError, ValueError) as exc:
        raise InvalidTagError(f"{path}: {keyword} is not numeric: {value!r}") from exc
    if len(floats) != count:
        raise InvalidTagError(f"{path}: {keyword} should have {count} values, found {len(floats)}")
    if any(f != f or abs(f) == float("inf") for f in floats):
        raise InvalidTagError(f"{path}: {keyword} contains NaN or infinity: {value!r}")
    return floats


def _float(ds: Dataset, keyword: str, path: Path, default: float) -> float:
    values = _floats(ds, keyword, 1, path) if keyword in ds else None
    return default if values is None else values[0]


def _dcmread(path: Path, *, with_pixel_offset: bool) -> Dataset:
    kwargs: dict = {"defer_size": _DEFER_BYTES} if with_pixel_offset else {"stop_before_pixels": True}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns on every odd value; we validate ourselves
        try:
            return pydicom.dcmread(path, **kwargs)
        except InvalidDicomError:
            pass
        # No preamble/"DICM": accept a bare data set only when it starts with a plausible group
        # 0002/0008 tag; anything else is simply not DICOM.
        with open(path, "rb") as fh:
            head = fh.read(4)
        if len(head) < 4 or head[:2] not in (b"\x02\x00", b"\x08\x00", b"\x00\x08"):
            raise NotDicomError(f"{path}: not a DICOM file")
        return pydicom.dcmread(path, force=True, **kwargs)


def read_header(path: Path, *, with_pixel_offset: bool = True) -> SliceHeader:
    """Read the header of ``path`` without its pixel values.

    Args:
        path: the file.
        with_pixel_offset: also locate the Pixel Data value (offset and length) so that it can be
            read later without parsing the file again; False stops parsing before the pixels
            (fastest, used when only listing series).

    Raises:
        NotDicomError: the file is not DICOM at all.
        TruncatedFileError, UnreadableDicomError, InvalidTagError: a broken DICOM file.
    """
    path = Path(path)
    try:
        ds = _dcmread(path, with_pixel_offset=with_pixel_offset)
    except DicomImportError:
        raise
    except (EOFError, struct.error) as exc:
        raise TruncatedFileError(f"{path}: the file ends in the middle of its DICOM header ({exc})") from exc
    except OSError as exc:
        raise UnreadableDicomError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    except Exception as exc:  # pydicom raises many types on corrupt input
        raise UnreadableDicomError(f"{path}: corrupt DICOM header ({type(exc).__name__}: {exc})") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid values are reported as InvalidTagError
            return _header_from_dataset(path, ds, with_pixel_offset)
    except DicomImportError:
        raise
    except Exception as exc:  # a value pydicom cannot convert
        raise InvalidTagError(
            f"{path}: an attribute has an invalid value ({type(exc).__name__}: {exc})"
        ) from exc


def _header_from_dataset(path: Path, ds: Dataset, with_pixel_offset: bool) -> SliceHeader:
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if not ts:
        # Bare data sets (no file meta): pydicom worked out the encoding while reading.
        implicit = bool(getattr(ds, "is_implicit_VR", True))
        little = bool(getattr(ds, "is_little_endian", True))
        ts = {
            (True, True): pydicom.uid.ImplicitVRLittleEndian,
            (False, True): pydicom.uid.ExplicitVRLittleEndian,
            (False, False): pydicom.uid.ExplicitVRBigEndian,
        }.get((implicit, little), pydicom.uid.ImplicitVRLittleEndian)
    ts_uid = UID(ts)
    sop = _text(ds, "SOPClassUID") or (
        str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    )

    has_pixels = PIXEL_DATA_TAG in ds or any(tag in ds for tag in _FLOAT_PIXEL_TAGS)
    offset = length = None
    # Offsets are only file offsets when the data set is not deflated.
    native_file = ts_uid in _UNCOMPRESSED_FILE_SYNTAXES
    if with_pixel_offset and native_file and PIXEL_DATA_TAG in ds:
        raw = ds.get_item(PIXEL_DATA_TAG, keep_deferred=True)
        value_tell = getattr(raw, "value_tell", None)
        raw_length = getattr(raw, "length", None)
        if value_tell is not None and raw_length is not None and raw_length != 0xFFFFFFFF:
            size = os.path.getsize(path)
            if value_tell + raw_length > size:
                raise TruncatedFileError(
                    f"{path}: truncated file: Pixel Data should hold {raw_length} bytes but the "
                    f"file ends after {max(size - value_tell, 0)}"
                )
            if getattr(raw, "value", None) is None:  # deferred: read later from the file
                offset, length = value_tell, raw_length

    phi = tuple(
        t
        for t in (_text(ds, "PatientName"), _text(ds, "PatientID"))
        for t in [t, *t.replace("^", " ").split()]
        if len(t) >= 3
    )
    return SliceHeader(
        path=path,
        sop_class_uid=sop,
        modality=_text(ds, "Modality").upper(),
        study_uid=_text(ds, "StudyInstanceUID"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        series_description=_text(ds, "SeriesDescription"),
        series_number=_int(ds, "SeriesNumber", path),
        acquisition_number=_int(ds, "AcquisitionNumber", path),
        rows=_int(ds, "Rows", path, 0) or 0,
        columns=_int(ds, "Columns", path, 0) or 0,
        iop=_floats(ds, "ImageOrientationPatient", 6, path),
        ipp=_floats(ds, "ImagePositionPatient", 3, path),  # type: ignore[arg-type]
        pixel_spacing=_floats(ds, "PixelSpacing", 2, path),  # type: ignore[arg-type]
        rescale_slope=_float(ds, "RescaleSlope", path, 1.0),
        rescale_intercept=_float(ds, "RescaleIntercept", path, 0.0),
        bits_allocated=_int(ds, "BitsAllocated", path, 0) or 0,
        bits_stored=_int(ds, "BitsStored", path, 0) or 0,
        pixel_representation=_int(ds, "PixelRepresentation", path, 0) or 0,
        samples_per_pixel=_int(ds, "SamplesPerPixel", path, 1) or 1,
        photometric=_text(ds, "PhotometricInterpretation").upper(),
        number_of_frames=_int(ds, "NumberOfFrames", path, 1) or 1,
        transfer_syntax=str(ts_uid),
        has_pixels=has_pixels,
        pixel_offset=offset,
        pixel_length=length,
        is_implicit_vr=bool(ts_uid.is_implicit_VR) if ts_uid.is_transfer_syntax else True,
        is_little_endian=bool(ts_uid.is_little_endian) if ts_uid.is_transfer_syntax else True,
        phi_strings=phi,
    )
