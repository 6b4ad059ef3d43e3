"""Typed access to the few DICOM attributes LungRead reads, with precise errors.

Values come either from a pydicom Dataset (:func:`dataset_value`, which parses the common numeric
and UID attributes straight from their raw bytes: pydicom's generic conversion and validation
cost as much as parsing the file) or from :mod:`quant.dicom.fastparse`. The typed accessors raise
:class:`~quant.dicom.errors.InvalidTagError` naming the file and attribute for malformed values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from quant.dicom.errors import InvalidTagError

__all__ = [
    "Getter",
    "dataset_value",
    "float_value",
    "floats_value",
    "int_value",
    "text_value",
]

# Attributes parsed straight from their raw bytes (pydicom's generic conversion and validation
# cost as much as parsing the file). Anything unexpected falls back to pydicom.
_RAW_SPECS: dict[str, tuple[int, str]] = {
    "Rows": (0x00280010, "US"),
    "Columns": (0x00280011, "US"),
    "SamplesPerPixel": (0x00280002, "US"),
    "BitsAllocated": (0x00280100, "US"),
    "BitsStored": (0x00280101, "US"),
    "PixelRepresentation": (0x00280103, "US"),
    "ImageOrientationPatient": (0x00200037, "DS"),
    "ImagePositionPatient": (0x00200032, "DS"),
    "PixelSpacing": (0x00280030, "DS"),
    "RescaleIntercept": (0x00281052, "DS"),
    "RescaleSlope": (0x00281053, "DS"),
    "SeriesNumber": (0x00200011, "IS"),
    "AcquisitionNumber": (0x00200012, "IS"),
    "NumberOfFrames": (0x00280008, "IS"),
    "SOPClassUID": (0x00080016, "UI"),
    "StudyInstanceUID": (0x0020000D, "UI"),
    "SeriesInstanceUID": (0x0020000E, "UI"),
    "Modality": (0x00080060, "CS"),
    "PhotometricInterpretation": (0x00280004, "CS"),
}
_MISSING = object()


def _raw_value(ds: Dataset, keyword: str) -> object:
    """Value of ``keyword`` parsed from raw bytes; ``_MISSING`` when that is not possible."""
    tag, vr = _RAW_SPECS[keyword]
    raw = ds.get_item(tag, keep_deferred=True)
    if raw is None:
        return None
    if not isinstance(raw, RawDataElement) or raw.VR not in (None, vr):
        return _MISSING
    data = raw.value
    if not isinstance(data, bytes):
        return _MISSING
    if vr == "US":
        if len(data) != 2:
            return _MISSING
        return int.from_bytes(data, "little" if raw.is_little_endian else "big")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return _MISSING
    text = text.strip(" \x00")
    if vr in ("DS", "IS") and "\\" in text:
        return [v.strip() for v in text.split("\\")]
    return text


def dataset_value(ds: Dataset, keyword: str) -> object:
    """The value of ``keyword`` (None when absent), fast for the attributes in _RAW_SPECS."""
    if keyword in _RAW_SPECS:
        value = _raw_value(ds, keyword)
        if value is not _MISSING:
            return value
    return ds.get(keyword, None)


def _is_multi(value: object) -> bool:
    return isinstance(value, (list, tuple, pydicom.multival.MultiValue))


Getter = Callable[[str], object]


def text_value(get: Getter, keyword: str) -> str:
    value = get(keyword)
    if value is None:
        return ""
    if _is_multi(value):
        return "\\".join(str(v) for v in value)  # type: ignore[union-attr]
    return str(value).strip()


def int_value(get: Getter, keyword: str, path: Path, default: int | None = None) -> int | None:
    value = get(keyword)
    if value is None or value == "":
        return default
    try:
        if _is_multi(value):
            value = value[0]  # type: ignore[index]
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, IndexError) as exc:
        raise InvalidTagError(f"{path}: {keyword} has an invalid value {value!r}") from exc


def floats_value(get: Getter, keyword: str, count: int, path: Path) -> tuple[float, ...] | None:
    """A multi-valued numeric attribute as ``count`` floats; None when absent or empty."""
    value = get(keyword)
    if value is None or value == "":
        return None
    items = list(value) if _is_multi(value) else [value]  # type: ignore[call-overload]
    try:
        floats = tuple(float(v) for v in items)
    except (TypeError, ValueError) as exc:
        raise InvalidTagError(f"{path}: {keyword} is not numeric: {value!r}") from exc
    if len(floats) != count:
        raise InvalidTagError(f"{path}: {keyword} should have {count} values, found {len(floats)}")
    if any(f != f or abs(f) == float("inf") for f in floats):
        raise InvalidTagError(f"{path}: {keyword} contains NaN or infinity: {value!r}")
    return floats


def float_value(get: Getter, keyword: str, path: Path, default: float) -> float:
    values = floats_value(get, keyword, 1, path)
    return default if values is None else values[0]
