"""Exceptions raised when DICOM files cannot be turned into a CT volume.

Every problem found by :mod:`quant.dicom.load` is one of these. Each message names the file (or the
series and the slice positions) and says what is wrong, so a core-lab manager can fix the export
without a developer. All derive from :class:`DicomImportError`, itself a
:class:`~quant.errors.LungReadError` (shown to the user without a traceback).
"""

from __future__ import annotations

from quant.errors import LungReadError

__all__ = [
    "DicomImportError",
    "NoDicomFilesError",
    "PathNotFoundError",
    "NotDicomError",
    "UnreadableDicomError",
    "TruncatedFileError",
    "InvalidTagError",
    "NotImageError",
    "NotCTError",
    "MissingPixelDataError",
    "UnsupportedImageError",
    "UnsupportedTransferSyntaxError",
    "PixelDecodeError",
    "MissingGeometryError",
    "InconsistentSeriesError",
    "MixedSeriesError",
    "SeriesNotFoundError",
    "TooFewSlicesError",
    "DuplicateSliceError",
    "MissingSlicesError",
    "NonUniformSpacingError",
    "GantryTiltError",
]


class DicomImportError(LungReadError):
    """DICOM input that cannot be loaded as a CT volume."""


class NoDicomFilesError(DicomImportError):
    """A folder (or file list) holds no DICOM file at all."""


class PathNotFoundError(DicomImportError):
    """The given file or folder does not exist."""


class NotDicomError(DicomImportError):
    """A file that was explicitly given is not a DICOM file."""


class UnreadableDicomError(DicomImportError):
    """A DICOM file whose header cannot be parsed (corrupt data elements)."""


class TruncatedFileError(DicomImportError):
    """A DICOM file that ends before its data does (incomplete copy or download)."""


class InvalidTagError(DicomImportError):
    """A required attribute is present but its value is malformed."""


class NotImageError(DicomImportError):
    """A DICOM object that is not an image (RT structure set, structured report, DICOMDIR, ...)."""


class NotCTError(DicomImportError):
    """An image of another modality (MR, CR, PT, ...) where a CT series is required."""


class MissingPixelDataError(DicomImportError):
    """An image file without its Pixel Data element."""


class UnsupportedImageError(DicomImportError):
    """An image LungRead cannot use: colour, multi-frame, or an unusual pixel layout."""


class UnsupportedTransferSyntaxError(DicomImportError):
    """Pixel data compressed with a transfer syntax for which no decoder is installed."""


class PixelDecodeError(DicomImportError):
    """Pixel data that the decoder rejects or that does not match the image size."""


class MissingGeometryError(DicomImportError):
    """An image without the position/orientation/spacing needed to place it in the patient."""


class InconsistentSeriesError(DicomImportError):
    """Slices of one series that disagree on orientation, size or pixel spacing."""


class MixedSeriesError(DicomImportError):
    """Several series (or sub-series) were found and none was chosen."""


class SeriesNotFoundError(DicomImportError):
    """The requested SeriesInstanceUID is not among the files."""


class TooFewSlicesError(DicomImportError):
    """Too few slices to form a volume (the slice spacing needs at least two)."""


class DuplicateSliceError(DicomImportError):
    """Two slices at the same position along the slice normal."""


class MissingSlicesError(DicomImportError):
    """A gap between slices larger than 1.5 times the usual spacing."""


class NonUniformSpacingError(DicomImportError):
    """Slice positions that are not evenly spaced (and not simply missing slices)."""


class GantryTiltError(DicomImportError):
    """Slice positions that do not run along the slice normal (tilted gantry acquisition)."""
