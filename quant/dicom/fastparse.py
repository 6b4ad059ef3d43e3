"""A minimal, fast DICOM header walker for the common case; pydicom handles everything else.

Reading headers dominates the time to load a series: pydicom builds a full Dataset for every
file. This walker reads only the first bytes of a Part 10 file, steps over data elements
(including nested sequences) and keeps the few values LungRead needs, plus the Pixel Data offset.

It gives up, returning None, on anything unusual: no preamble, big endian or deflated syntaxes,
a header longer than its buffer, unexpected VRs, non-Latin character sets, elements out of order
or running past the end of the file. The caller then reads the file with pydicom, which produces
the precise error or the correct values. For files it does accept it yields exactly the values
pydicom would (tests compare both on pydicom's corpus).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FastHeader", "fast_header", "WANTED_TAGS"]

_HEAD_BYTES = 16384
_PIXEL_DATA = 0x7FE00010
_FLOAT_PIXELS = (0x7FE00008, 0x7FE00009)
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_LONG_VRS = frozenset(
    (b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UT", b"UN", b"UC", b"UR", b"SV", b"UV")
)
_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
# Encapsulated (compressed) syntaxes encode the data set as explicit VR little endian.
_ENCAPSULATED_PREFIXES = ("1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5")

# tag -> (keyword, VR) of every value the loader uses.
WANTED_TAGS: dict[int, tuple[str, str]] = {
    0x00080005: ("SpecificCharacterSet", "CS"),
    0x00080016: ("SOPClassUID", "UI"),
    0x00080060: ("Modality", "CS"),
    0x0008103E: ("SeriesDescription", "LO"),
    0x00100010: ("PatientName", "PN"),
    0x00100020: ("PatientID", "LO"),
    0x0020000D: ("StudyInstanceUID", "UI"),
    0x0020000E: ("SeriesInstanceUID", "UI"),
    0x00200011: ("SeriesNumber", "IS"),
    0x00200012: ("AcquisitionNumber", "IS"),
    0x00200032: ("ImagePositionPatient", "DS"),
    0x00200037: ("ImageOrientationPatient", "DS"),
    0x00280002: ("SamplesPerPixel", "US"),
    0x00280004: ("PhotometricInterpretation", "CS"),
    0x00280008: ("NumberOfFrames", "IS"),
    0x00280010: ("Rows", "US"),
    0x00280011: ("Columns", "US"),
    0x00280030: ("PixelSpacing", "DS"),
    0x00280100: ("BitsAllocated", "US"),
    0x00280101: ("BitsStored", "US"),
    0x00280103: ("PixelRepresentation", "US"),
    0x00281052: ("RescaleIntercept", "DS"),
    0x00281053: ("RescaleSlope", "DS"),
}
_TEXT_VRS = ("LO", "PN", "SH")
_CHARSETS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}

_u16 = struct.Struct("<H").unpack_from
_u32 = struct.Struct("<I").unpack_from
_tag = struct.Struct("<HH").unpack_from


class _GiveUp(Exception):
    """Internal: this file needs pydicom."""


@dataclass(frozen=True)
class FastHeader:
    """Values (keyword -> str | list[str] | int) plus what the loader needs about Pixel Data."""

    values: dict[str, object]
    transfer_syntax: str
    media_sop_class: str
    has_pixels: bool
    pixel_offset: int | None
    pixel_length: int | None


def _element(buf: bytes, pos: int, implicit: bool) -> tuple[int, bytes | None, int, int]:
    """(tag, VR or None, value length, value start) of the element at ``pos``."""
    if pos + 8 > len(buf):
        raise _GiveUp
    group, elem = _tag(buf, pos)
    tag = (group << 16) | elem
    if implicit or group == 0xFFFE:
        return tag, None, _u32(buf, pos + 4)[0], pos + 8
    vr = buf[pos + 4 : pos + 6]
    if vr in _LONG_VRS:
        if pos + 12 > len(buf):
            raise _GiveUp
        return tag, vr, _u32(buf, pos + 8)[0], pos + 12
    if not (65 <= vr[0] <= 90 and 65 <= vr[1] <= 90):
        raise _GiveUp
    return tag, vr, _u16(buf, pos + 6)[0], pos + 8


def _skip_sequence(buf: bytes, pos: int, implicit: bool, depth: int = 0) -> int:
    """Position just after an undefined-length sequence whose items start at ``pos``."""
    if depth > 8:
        raise _GiveUp
    while True:
        tag, _, length, start = _element(buf, pos, True)
        if tag == _SEQ_END:
            return start
        if tag != _ITEM:
            raise _GiveUp
        if length != _UNDEFINED:
            pos = start + length
            continue
        pos = start
        while True:  # an item of undefined length: walk its elements up to the item delimiter
            tag, vr, length, start = _element(buf, pos, implicit)
            if tag == _ITEM_END:
                pos = start
                break
            if length == _UNDEFINED:
                if vr == b"UN":
                    raise _GiveUp  # implicit-VR content inside an explicit file
                pos = _skip_sequence(buf, start, implicit, depth + 1)
            else:
                pos = start + length


def _walk(buf: bytes, size: int) -> FastHeader:
    if len(buf) < 132 or buf[128:132] != b"DICM":
        raise _GiveUp
    pos = 132
    meta: dict[int, bytes] = {}
    while True:  # file meta group: always explicit VR little endian
        tag, vr, length, start = _element(buf, pos, False)
        if tag >> 16 != 0x0002:
            break
        if length == _UNDEFINED or start + length > len(buf):
            raise _GiveUp
        meta[tag] = buf[start : start + length]
        pos = start + length
    ts = meta.get(0x00020010, b"").decode("ascii", "replace").strip("\x00 ")
    if ts == _IMPLICIT_LE:
        implicit = True
    elif ts == _EXPLICIT_LE or ts.startswith(_ENCAPSULATED_PREFIXES):
        implicit = False
    else:
        raise _GiveUp
    media_sop = meta.get(0x00020002, b"").decode("ascii", "replace").strip("\x00 ")

    raw: dict[int, tuple[bytes | None, bytes]] = {}
    previous = -1
    has_pixels = False
    offset = length_px = None
    while True:
        tag, vr, length, start = _element(buf, pos, implicit)
        if tag <= previous or tag in _FLOAT_PIXELS:
            raise _GiveUp
        previous = tag
        if tag == _PIXEL_DATA:
            has_pixels = True
            if length != _UNDEFINED:
                if start + length > size:
                    raise _GiveUp  # truncated: pydicom reports it precisely
                if ts in (_IMPLICIT_LE, _EXPLICIT_LE):
                    offset, length_px = start, length
            break
        if tag > _PIXEL_DATA:
            break
        if length == _UNDEFINED:
            if vr == b"UN" or (vr is not None and vr != b"SQ") or (implicit and tag in WANTED_TAGS):
                raise _GiveUp
            pos = _skip_sequence(buf, start, implicit)
            continue
        end = start + length
        if end > len(buf):
            raise _GiveUp
        if tag in WANTED_TAGS:
            raw[tag] = (vr, buf[start:end])
        pos = end
        if pos == size:
            break  # header-only file that ends cleanly
    return FastHeader(
        values=_decode(raw),
        transfer_syntax=ts,
        media_sop_class=media_sop,
        has_pixels=has_pixels,
        pixel_offset=offset,
        pixel_length=length_px,
    )


def _decode(raw: dict[int, tuple[bytes | None, bytes]]) -> dict[str, object]:
    values: dict[str, object] = {}
    charset = raw.get(0x00080005)
    encoding = _CHARSETS.get(charset[1].decode("ascii", "replace").strip("\x00 ") if charset else "")
    for tag, (vr, data) in raw.items():
        keyword, expected = WANTED_TAGS[tag]
        if vr is not None and vr.decode("ascii", "replace") != expected:
            raise _GiveUp  # unusual VR (e.g. UN): pydicom knows how to convert it
        if expected == "US":
            if len(data) != 2:
                raise _GiveUp
            values[keyword] = int.from_bytes(data, "little")
            continue
        if expected in _TEXT_VRS:
            if encoding is None:
                raise _GiveUp
            text = data.decode(encoding)
            values[keyword] = text.rstrip(" \x00")
            continue
        try:
            text = data.decode("ascii").strip(" \x00")
        except UnicodeDecodeError:
            raise _GiveUp from None
        if expected in ("DS", "IS") and "\\" in text:
            values[keyword] = [v.strip() for v in text.split("\\")]
        else:
            values[keyword] = text
    return values


def fast_header(path: Path) -> FastHeader | None:
    """The header values of ``path``, or None when the file needs the full pydicom reader."""
    try:
        with open(path, "rb") as fh:
            buf = fh.read(_HEAD_BYTES)
            size = os.fstat(fh.fileno()).st_size
        return _walk(buf, size)
    except (_GiveUp, OSError, UnicodeDecodeError, struct.error):
        return None
