"""Read the header of one DICOM file into a small, typed :class:`SliceHeader`.

Only the attributes LungRead needs are kept (identity, geometry, pixel layout, rescale), plus the
byte offset of the Pixel Data value, so that uncompressed pixels can later be read straight from
the file without parsing it again. Every pydicom failure is turned into a precise
:class:`~quant.dicom.errors.DicomImportError` that names the file.
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from quant.dicom.errors import (
    DicomImportError,
    InvalidTagError,
    NotDicomError,
    TruncatedFileError,
    UnreadableDicomError,
)
from quant.dicom.fastparse import fast_header
from quant.dicom.limits import DEFLATED_SYNTAX, check_deflated_size
from quant.dicom.values import (
    Getter,
    dataset_value,
    float_value,
    floats_value,
    int_value,
    text_value,
)

__all__ = ["SliceHeader", "is_valid_uid", "read_header", "uid_name", "PIXEL_DATA_TAG"]

_UID_RE = re.compile(r"[0-9]+(\.[0-9]+)*")

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
        if not _is_known(self.sop_class_uid):
            return f"SOP class {uid_name(self.sop_class_uid)}"
        return uid_name(self.sop_class_uid)


def is_valid_uid(uid: str) -> bool:
    """True when ``uid`` is syntactically a UID (digits and dots, at most 64 characters)."""
    return len(uid) <= 64 and bool(_UID_RE.fullmatch(uid))


def _is_known(uid: str) -> bool:
    return is_valid_uid(uid) and uid in pydicom.uid.UID_dictionary


def uid_name(uid: str) -> str:
    """The registered name of a DICOM UID (e.g. "JPEG-LS Lossless Image Compression"), else the UID."""
    if not _is_known(uid):
        return repr(uid) if not _UID_RE.fullmatch(uid) else uid
    return str(pydicom.uid.UID_dictionary[uid][0])


def _bound_deflated(path: Path) -> None:
    """pydicom inflates a deflated data set whole, with no limit: check its size first."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # odd values are reported by the full read below
            meta = pydicom.filereader.read_file_meta_info(path)
            length = meta.get("FileMetaInformationGroupLength", None)
            deflated = str(meta.get("TransferSyntaxUID", "")) == DEFLATED_SYNTAX  # values convert here
    except Exception:  # noqa: BLE001 - not DICOM or damaged: dcmread says which
        return
    if deflated and isinstance(length, int):
        check_deflated_size(path, 132 + 12 + length)


def _dcmread(path: Path, *, with_pixel_offset: bool) -> Dataset:
    _bound_deflated(path)
    kwargs: dict = {"defer_size": _DEFER_BYTES} if with_pixel_offset else {"stop_before_pixels": True}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # pydicom warns on every odd value; we validate ourselves
        try:
            ds = pydicom.dcmread(path, **kwargs)
        except InvalidDicomError:
            # No preamble/"DICM": accept a bare data set only when it starts with a plausible
            # group 0002/0008 tag; anything else is simply not DICOM.
            with open(path, "rb") as fh:
                head = fh.read(4)
            if len(head) < 4 or head[:2] not in (b"\x02\x00", b"\x08\x00", b"\x00\x08"):
                raise NotDicomError(f"{path}: not a DICOM file") from None
            ds = pydicom.dcmread(path, force=True, **kwargs)
    if len(ds) == 0:
        raise TruncatedFileError(
            f"{path}: truncated file: only the file meta header is present, the data set is missing"
        )
    meta = getattr(ds, "file_meta", None)
    group_length = meta.get("FileMetaInformationGroupLength", None) if meta is not None else None
    if isinstance(group_length, int) and os.path.getsize(path) < 132 + 12 + group_length:
        raise TruncatedFileError(f"{path}: truncated file: it ends inside the file meta header")
    _check_last_element(path, ds)
    # pydicom stops quietly (with a warning) when the file ends inside a data element.
    for w in caught:
        text = str(w.message)
        if "end of file" in text.lower() or "EOF" in text:
            raise TruncatedFileError(f"{path}: truncated file: it ends inside a data element ({text})")
    return ds


def _check_last_element(path: Path, ds: Dataset) -> None:
    """Raise TruncatedFileError when the last data element's value runs past the end of file.

    pydicom reads a cut value silently (a short read), so a truncated header would otherwise
    parse into plausible-looking, wrong attributes (e.g. half a SeriesInstanceUID).
    """
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if ts and ts not in _UNCOMPRESSED_FILE_SYNTAXES:
        uid = UID(ts) if is_valid_uid(ts) else None
        if uid is None or not uid.is_transfer_syntax or not uid.is_encapsulated:
            return  # deflated or unknown: offsets may not be file offsets
    tags = list(ds.keys())
    if not tags:
        return
    raw = ds.get_item(max(tags), keep_deferred=True)
    value_tell = getattr(raw, "value_tell", None)
    length = getattr(raw, "length", None)
    if value_tell is None or length is None or length == 0xFFFFFFFF:
        return
    size = os.path.getsize(path)
    if value_tell + length > size:
        try:
            name = pydicom.datadict.dictionary_description(raw.tag)
        except KeyError:
            name = "private element"
        raise TruncatedFileError(
            f"{path}: truncated file: {name} {raw.tag} should hold {length} bytes but the file "
            f"ends after {max(size - value_tell, 0)}"
        )


def read_header(path: Path, *, with_pixel_offset: bool = True, fast: bool = True) -> SliceHeader:
    """Read the header of ``path`` without its pixel values.

    Args:
        path: the file.
        with_pixel_offset: also locate the Pixel Data value (offset and length) so that it can be
            read later without parsing the file again; False stops parsing before the pixels
            (fastest, used when only listing series).
        fast: try :mod:`quant.dicom.fastparse` first (same result; pydicom reads the rest).

    Raises:
        NotDicomError: the file is not DICOM at all.
        TruncatedFileError, UnreadableDicomError, InvalidTagError: a broken DICOM file.
    """
    path = Path(path)
    quick = fast_header(path) if fast else None
    if quick is not None:
        try:
            return _build(
                path,
                quick.values.get,
                quick.transfer_syntax,
                quick.media_sop_class,
                quick.has_pixels,
                quick.pixel_offset if with_pixel_offset else None,
                quick.pixel_length if with_pixel_offset else None,
            )
        except DicomImportError:
            raise
        except Exception as exc:
            raise InvalidTagError(
                f"{path}: an attribute has an invalid value ({type(exc).__name__}: {exc})"
            ) from exc
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
    media_sop = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""

    has_pixels = PIXEL_DATA_TAG in ds or any(tag in ds for tag in _FLOAT_PIXEL_TAGS)
    offset = length = None
    # Offsets are only file offsets when the data set is not deflated.
    native_file = ts in _UNCOMPRESSED_FILE_SYNTAXES
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
    return _build(path, lambda kw: dataset_value(ds, kw), str(ts), media_sop, has_pixels, offset, length)


def _build(
    path: Path,
    get: Getter,
    ts: str,
    media_sop: str,
    has_pixels: bool,
    offset: int | None,
    length: int | None,
) -> SliceHeader:
    """A SliceHeader from attribute values (``get(keyword)``, None when absent)."""
    ts_uid = UID(ts) if is_valid_uid(ts) else None
    known_ts = ts_uid is not None and ts_uid.is_transfer_syntax
    phi = tuple(
        t
        for t in (text_value(get, "PatientName"), text_value(get, "PatientID"))
        for t in [t, *t.replace("^", " ").split()]
        if len(t) >= 3
    )
    return SliceHeader(
        path=path,
        sop_class_uid=text_value(get, "SOPClassUID") or media_sop,
        modality=text_value(get, "Modality").upper(),
        study_uid=text_value(get, "StudyInstanceUID"),
        series_uid=text_value(get, "SeriesInstanceUID"),
        series_description=text_value(get, "SeriesDescription"),
        series_number=int_value(get, "SeriesNumber", path),
        acquisition_number=int_value(get, "AcquisitionNumber", path),
        rows=int_value(get, "Rows", path, 0) or 0,
        columns=int_value(get, "Columns", path, 0) or 0,
        iop=floats_value(get, "ImageOrientationPatient", 6, path),
        ipp=floats_value(get, "ImagePositionPatient", 3, path),  # type: ignore[arg-type]
        pixel_spacing=floats_value(get, "PixelSpacing", 2, path),  # type: ignore[arg-type]
        rescale_slope=float_value(get, "RescaleSlope", path, 1.0),
        rescale_intercept=float_value(get, "RescaleIntercept", path, 0.0),
        bits_allocated=int_value(get, "BitsAllocated", path, 0) or 0,
        bits_stored=int_value(get, "BitsStored", path, 0) or 0,
        pixel_representation=int_value(get, "PixelRepresentation", path, 0) or 0,
        samples_per_pixel=int_value(get, "SamplesPerPixel", path, 1) or 1,
        photometric=text_value(get, "PhotometricInterpretation").upper(),
        number_of_frames=int_value(get, "NumberOfFrames", path, 1) or 1,
        transfer_syntax=ts,
        has_pixels=has_pixels,
        pixel_offset=offset,
        pixel_length=length,
        is_implicit_vr=bool(ts_uid.is_implicit_VR) if known_ts else True,  # type: ignore[union-attr]
        is_little_endian=bool(ts_uid.is_little_endian) if known_ts else True,  # type: ignore[union-attr]
        phi_strings=phi,
    )
