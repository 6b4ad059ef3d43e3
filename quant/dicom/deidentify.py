"""DICOM de-identification for reading packages (PS3.15 Annex E, Basic Application Level
Confidentiality Profile), with pixel data left bit-identical.

Choice of tool: pydicom plus the profile's actions, applied as an **allow-list**. We evaluated
``deid`` (pydicom/deid 0.4.13, MIT): its default recipe (``deid/data/deid.dicom``) is a site recipe,
not the PS3.15 table -- it keeps InstitutionName, removes *every* attribute whose name contains
"UID" (SOPClassUID included, which breaks the files) and adds site-specific values
(IssuerOfPatientID "STARR"). Using it well would mean writing our own recipe in its DSL (a
hand-written tag list again) plus a matplotlib dependency. So ``deid`` is not a dependency.

How the profile's actions map here (E.1-1 action codes):
- **X (remove)**: every attribute not in :data:`RETAINED` is removed. That covers the profile's
  table (names, IDs, addresses, institution, physicians, device serials, comments, descriptions,
  other dates and times, acquisition context, ...) and also what the table cannot list:
  site-specific attributes and **all private tags** (PS3.15 E.3.10: private attributes are
  removed unless known safe; we keep none).
- **Z (zero-length / dummy)**: the type-2 attributes of the Patient and Study modules that must
  exist are written empty (PatientBirthDate, PatientSex, StudyDate, StudyTime,
  ReferringPhysicianName, AccessionNumber, StudyID); PatientName and PatientID get the
  package's opaque label (the reader's case code), a dummy value the profile allows.
- **D (dates)**: all dates and times are removed or emptied, not shifted (option "Retain
  Longitudinal Temporal Information" is *not* used); LongitudinalTemporalInformationModified
  = REMOVED.
- **U (UIDs)**: Study, Series, SOP Instance and Frame of Reference UIDs are replaced by
  ``2.25.<integer>`` UIDs derived from a keyed hash (HMAC-SHA256 of the original UID under the
  package key, as a name-based UUID), so one original UID always maps to the same new UID in a
  package (series stay consistent), differs between packages, and cannot be reversed without the
  key. Well-known UIDs (SOP Class, Transfer Syntax) are kept.
- **K (keep)**: only the attributes reading needs: image pixel module, geometry (position,
  orientation, spacing, thickness), rescale (HU), window, modality, image type, numbers, and
  Manufacturer (type 2; written empty when absent; device serials and station names are removed).
- PatientIdentityRemoved = YES and DeidentificationMethodCodeSequence = (113100, DCM, "Basic
  Application Confidentiality Profile") are added; the 128-byte preamble is zeroed.

PixelData (and its transfer syntax) is copied as the same bytes: encapsulated (compressed) data
is not decoded, so de-identification never changes an image. Burned-in annotation is not
searched for (the phantom and CT series carry none; BurnedInAnnotation is not YES).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from quant.errors import LungReadError

__all__ = [
    "DeidentificationError",
    "UidMapper",
    "RETAINED",
    "REPLACED_UIDS",
    "EMPTIED",
    "deidentify_dataset",
    "deidentify_file",
    "deidentify_series",
    "DEID_METHOD",
]

DEID_METHOD = "PS3.15 Basic Profile, LungRead allow-list"  # LO: at most 64 characters

# K: attributes kept as they are (image content, geometry, HU scaling). Nothing here can identify a
# person: no names, IDs, dates, times, free text or device identity.
RETAINED: frozenset[str] = frozenset({
    "SpecificCharacterSet", "SOPClassUID", "ImageType", "Modality", "SeriesNumber", "InstanceNumber",
    "AcquisitionNumber", "PatientPosition", "BodyPartExamined", "SliceThickness", "SpacingBetweenSlices",
    "KVP", "ConvolutionKernel", "ImagePositionPatient", "ImageOrientationPatient", "SliceLocation",
    "PositionReferenceIndicator", "SamplesPerPixel", "PhotometricInterpretation", "PlanarConfiguration",
    "NumberOfFrames", "Rows", "Columns", "PixelSpacing", "BitsAllocated", "BitsStored", "HighBit",
    "PixelRepresentation", "PixelPaddingValue", "SmallestImagePixelValue", "LargestImagePixelValue",
    "WindowCenter", "WindowWidth", "RescaleIntercept", "RescaleSlope", "RescaleType",
    "LossyImageCompression", "LossyImageCompressionRatio", "LossyImageCompressionMethod",
    "BurnedInAnnotation", "PixelData", "Manufacturer",
})
# U: instance UIDs replaced through the keyed mapping.
REPLACED_UIDS: tuple[str, ...] = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")
# Z: type-2 attributes that must be present, written with zero length.
EMPTIED: tuple[tuple[str, str], ...] = (
    ("PatientBirthDate", "DA"), ("PatientSex", "CS"), ("StudyDate", "DA"), ("StudyTime", "TM"),
    ("ReferringPhysicianName", "PN"), ("AccessionNumber", "SH"), ("StudyID", "SH"),
)


class DeidentificationError(LungReadError):
    """A file could not be de-identified (not DICOM, unreadable, or no pixel data)."""


@dataclass
class UidMapper:
    """Deterministic, keyed replacement of DICOM UIDs (same key and UID -> same new UID).

    ``key``: secret bytes (per package). New UIDs are ``2.25.<decimal>`` (PS3.5 B.2): the integer
    of a name-based UUID made from the first 16 bytes of HMAC-SHA256(key, uid).
    """

    key: bytes
    _cache: dict[str, str] = field(default_factory=dict, repr=False)

    def __call__(self, uid: str) -> str:
        uid = str(uid).strip()
        new = self._cache.get(uid)
        if new is None:
            digest = hmac.new(self.key, uid.encode("ascii", "replace"), "sha256").digest()
            # A name-based UUID (version bits set) from the keyed hash, as a 2.25 OID (PS3.5 B.2).
            # (pydicom's generate_uid(prefix=None) ignores entropy_srcs and is random.)
            new = f"2.25.{uuid.UUID(bytes=digest[:16], version=5).int}"
            self._cache[uid] = new
        return new

    @property
    def mapping(self) -> dict[str, str]:
        """Original UID -> new UID for every UID mapped so far."""
        return dict(self._cache)


def _method_code() -> DicomSequence:
    item = Dataset()
    item.CodeValue = "113100"
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = "Basic Application Confidentiality Profile"
    return DicomSequence([item])


def deidentify_dataset(src: Dataset, uids: UidMapper, *, patient_label: str) -> Dataset:
    """A new, de-identified dataset built from ``src`` (``src`` is not modified).

    ``patient_label``: opaque text written as PatientName and PatientID (e.g. the case code).
    PixelData is the same bytes object as in ``src``.
    """
    if "PixelData" not in src:
        raise DeidentificationError("the file holds no image (no PixelData); only image files can be packaged")
    if str(src.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        raise DeidentificationError("the image declares BurnedInAnnotation=YES: text burned into its pixels (names, "
                                    "dates) cannot be removed by header de-identification; it is not packaged")
    out = Dataset()
    for elem in src:
        if elem.tag.is_private or elem.keyword not in RETAINED:
            continue  # X: removed (including all private tags)
        out.add(elem)
    for keyword in REPLACED_UIDS:
        if keyword in src and src[keyword].value:
            setattr(out, keyword, uids(src[keyword].value))
    for keyword, vr in EMPTIED:
        out.add_new(keyword, vr, "")
    if "Manufacturer" not in out:
        out.add_new("Manufacturer", "LO", "")  # type 2 in General Equipment
    out.PatientName = patient_label
    out.PatientID = patient_label
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = DEID_METHOD
    out.DeidentificationMethodCodeSequence = _method_code()
    out.LongitudinalTemporalInformationModified = "REMOVED"

    src_meta = getattr(src, "file_meta", None)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = out.SOPClassUID
    meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    meta.TransferSyntaxUID = src_meta.TransferSyntaxUID  # same syntax: PixelData bytes stay valid
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    out.file_meta = meta
    out.preamble = b"\0" * 128
    return out


def deidentify_file(src: Path, dst: Path, uids: UidMapper, *, patient_label: str) -> Path:
    """De-identify one DICOM file into ``dst`` (parent folders are created)."""
    try:
        ds = dcmread(src)
    except (InvalidDicomError, OSError, ValueError) as exc:
        raise DeidentificationError(f"{src}: cannot read it as DICOM: {exc}") from exc
    if getattr(ds, "file_meta", None) is None or "TransferSyntaxUID" not in ds.file_meta:
        raise DeidentificationError(f"{src}: no transfer syntax in the file meta information")
    out = deidentify_dataset(ds, uids, patient_label=patient_label)
    dst.parent.mkdir(parents=True, exist_ok=True)
    out.save_as(dst, enforce_file_format=True)
    return dst


def deidentify_series(
    files: Sequence[Path] | Iterable[Path],
    out_dir: Path,
    uids: UidMapper,
    *,
    patient_label: str,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """De-identify a series into ``out_dir/NNNN.dcm`` (numbered in the given file order)."""
    files = list(files)
    out: list[Path] = []
    for i, src in enumerate(files):
        out.append(deidentify_file(Path(src), out_dir / f"{i:04d}.dcm", uids, patient_label=patient_label))
        if progress is not None:
            progress(i + 1, len(files))
    return out
