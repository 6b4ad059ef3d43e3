"""Load CT volumes from DICOM series, safely and fast.

Public entry points:

- :func:`scan_folder` lists the series in a folder (headers only, de-identified labels);
- :func:`load_series` turns one CT series into a :class:`~quant.volume.Volume` in HU;
- :func:`series_content_hash` fingerprints the files of a series.

Every failure raises a :class:`DicomImportError` subclass whose message names the file (or the
series and slice positions) and the problem; no other exception escapes these functions.

The loaded volume is canonicalised by axis permutation and flips only (never resampled) so that
its direction is as close to the identity as the acquisition allows: array (z, y, x) with z the
most inferior slice first, y running anterior to posterior and x right to left (LPS).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pydicom

from quant.dicom.errors import (
    DicomImportError,
    DuplicateSliceError,
    GantryTiltError,
    InconsistentSeriesError,
    InvalidTagError,
    MissingGeometryError,
    MissingPixelDataError,
    MissingSlicesError,
    MixedSeriesError,
    NoDicomFilesError,
    NonUniformSpacingError,
    NotCTError,
    NotDicomError,
    NotImageError,
    PathNotFoundError,
    PixelDecodeError,
    SeriesNotFoundError,
    TooFewSlicesError,
    TruncatedFileError,
    UnreadableDicomError,
    UnsupportedImageError,
    UnsupportedTransferSyntaxError,
)
from quant.dicom.geometry import canonical_plan, canonicalise, stack_slices
from quant.dicom.header import SliceHeader, is_valid_uid
from quant.dicom.limits import check_image_size
from quant.dicom.pixels import check_decodable, read_slices
from quant.dicom.scan import (
    ScanResult,
    SeriesGroup,
    SeriesSummary,
    group_headers,
    list_files,
    read_headers,
    scan_folder,
    summarise,
)
from quant.volume import Volume

__all__ = [
    "DicomImportError",
    "DuplicateSliceError",
    "GantryTiltError",
    "InconsistentSeriesError",
    "InvalidTagError",
    "MissingGeometryError",
    "MissingPixelDataError",
    "MissingSlicesError",
    "MixedSeriesError",
    "NoDicomFilesError",
    "NonUniformSpacingError",
    "NotCTError",
    "NotDicomError",
    "NotImageError",
    "PathNotFoundError",
    "PixelDecodeError",
    "ScanResult",
    "SeriesNotFoundError",
    "SeriesSummary",
    "TooFewSlicesError",
    "TruncatedFileError",
    "UnreadableDicomError",
    "UnsupportedImageError",
    "UnsupportedTransferSyntaxError",
    "load_series",
    "scan_folder",
    "series_content_hash",
    "voxel_hash",
]

Progress = Callable[[int, int], None]


def _source_files(source: Path | str | Sequence[Path | str]) -> tuple[list[Path], bool]:
    """(files, explicit): a folder is listed recursively; a file or a list is taken as given."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            return list_files(path), False
        if not path.exists():
            raise PathNotFoundError(f"{path}: no such file or folder")
        return [path], True
    files = [Path(f) for f in source]
    for f in files:
        if not f.is_file():
            raise PathNotFoundError(f"{f}: no such file")
    return files, True


def _known_non_image(h: SliceHeader) -> bool:
    """True for registered non-image SOP classes (RT plan, SR, ...), which may lack a series."""
    known = is_valid_uid(h.sop_class_uid) and h.sop_class_uid in pydicom.uid.UID_dictionary
    return known and not h.is_image


def _describe(groups: Sequence[SeriesGroup]) -> str:
    return "; ".join(
        f"{g.key} ({summarise(g).display_label}; e.g. file {g.first.path.name})" for g in groups
    )


def _choose_group(groups: list[SeriesGroup], series_uid: str | None, where: str) -> SeriesGroup:
    if series_uid is not None:
        chosen = [g for g in groups if g.key == series_uid]
        if not chosen:
            chosen = [g for g in groups if g.first.series_uid == series_uid]
        if not chosen:
            raise SeriesNotFoundError(
                f"{where}: no series {series_uid}; found: {_describe(groups)}"
            )
        if len(chosen) > 1:
            raise MixedSeriesError(
                f"{where}: series {series_uid} holds {len(chosen)} sub-series (different "
                f"orientation, size or acquisition); choose one key: {_describe(chosen)}"
            )
        return chosen[0]
    ct_images = [g for g in groups if g.is_image and g.modality == "CT"]
    if len(ct_images) == 1:
        return ct_images[0]
    if len(ct_images) > 1:
        raise MixedSeriesError(
            f"{where}: {len(ct_images)} CT series found and none chosen; pass one series_uid: "
            f"{_describe(ct_images)}"
        )
    if len(groups) == 1:
        return groups[0]  # validated (and rejected with a precise message) below
    images = [g for g in groups if g.is_image]
    if images:
        found = ", ".join(sorted({g.modality or "no modality" for g in images}))
        raise NotCTError(
            f"{where}: no CT series; found {found} image series, e.g. {images[0].first.path}"
        )
    h = groups[0].first
    raise NotImageError(
        f"{where}: no image series; e.g. {h.path} is not an image ({h.sop_class_name})"
    )


def _validate(h: SliceHeader) -> None:
    """Reject slices that are not single-frame greyscale CT images with pixel data."""
    if not h.is_image:
        raise NotImageError(
            f"{h.path}: not an image ({h.sop_class_name}); LungRead needs CT image slices"
        )
    if h.modality != "CT":
        modality = h.modality or "missing"
        raise NotCTError(
            f"{h.path}: modality {modality} ({h.sop_class_name}), not CT; LungRead reads CT only"
        )
    if not h.has_pixels:
        raise MissingPixelDataError(f"{h.path}: CT image without Pixel Data (header-only or truncated file)")
    if h.number_of_frames > 1:
        raise UnsupportedImageError(
            f"{h.path}: multi-frame image ({h.number_of_frames} frames, {h.sop_class_name}); "
            "export the series as single-frame CT images"
        )
    if h.samples_per_pixel != 1 or h.photometric not in ("MONOCHROME1", "MONOCHROME2", ""):
        raise UnsupportedImageError(
            f"{h.path}: colour image ({h.photometric or 'unknown'}, {h.samples_per_pixel} samples "
            "per pixel); CT must be greyscale"
        )
    check_image_size(h.path, h.rows, h.columns)  # before any buffer of that size exists
    if h.bits_allocated not in (8, 16, 32) or h.rows <= 0 or h.columns <= 0:
        raise UnsupportedImageError(
            f"{h.path}: unsupported pixel layout ({h.rows}x{h.columns}, "
            f"{h.bits_allocated} bits allocated)"
        )
    check_decodable(h)


def _load(
    source: Path | str | Sequence[Path | str], series_uid: str | None, progress: Progress | None
) -> Volume:
    files, explicit = _source_files(source)
    where = str(source) if isinstance(source, (str, Path)) else f"{len(files)} given file(s)"
    headers, skipped = read_headers(
        files, with_pixel_offset=True, skip_broken=False, skip_non_dicom=not explicit
    )
    if not headers:
        raise NoDicomFilesError(f"{where}: no DICOM files found ({len(files)} file(s) looked at)")
    orphans = [h for h in headers if not h.series_uid and not _known_non_image(h)]
    if orphans:
        # An image that cannot be attributed to a series is usually a damaged slice of the
        # series being loaded: loading without it would silently drop a slice.
        raise InvalidTagError(
            f"{orphans[0].path}: image without SeriesInstanceUID (incomplete or damaged file?); "
            "it cannot be assigned to a series"
        )
    group = _choose_group(group_headers(headers), series_uid, where)
    for h in group.headers:
        _validate(h)
    label = summarise(group).display_label
    try:
        stack = stack_slices(group.headers, label)
    except MissingSlicesError as exc:
        if not skipped:
            raise
        names = ", ".join(p.name for p, _ in skipped[:3])
        raise MissingSlicesError(
            f"{exc} ({len(skipped)} file(s) in the folder were skipped as not DICOM, e.g. {names})"
        ) from exc
    ordered = [group.headers[i] for i in stack.order]
    n, rows, cols = len(ordered), ordered[0].rows, ordered[0].columns
    check_image_size(label, rows, cols, n)

    perm, signs = canonical_plan(stack.direction)
    z_only = perm == (0, 1, 2) and signs[:2] == (1, 1)
    hu = np.empty((n, rows, cols), dtype=np.int16)
    if z_only and signs[2] < 0:
        # A pure slice-order reversal costs nothing: read each slice into its final place.
        targets = list(range(n - 1, -1, -1))
        sz, sy, sx = stack.spacing
        origin = np.asarray(stack.origin) + stack.direction[:, 2] * sz * (n - 1)
        direction = stack.direction * np.array([1.0, 1.0, -1.0])
        read_slices(ordered, hu, targets, progress)
        return Volume(hu=hu, spacing=stack.spacing, origin=tuple(origin), direction=direction)
    read_slices(ordered, hu, list(range(n)), progress)
    return canonicalise(hu, stack.spacing, stack.origin, stack.direction)


def load_series(
    source: Path | str | Sequence[Path | str],
    series_uid: str | None = None,
    progress: Progress | None = None,
) -> Volume:
    """Load one CT series as a :class:`Volume` (int16 HU, (z, y, x), spacing mm, LPS geometry).

    Args:
        source: a folder (searched recursively; non-DICOM files are ignored), one file, or a
            list of files.
        series_uid: SeriesInstanceUID (or a sub-series key ``UID#n`` from :func:`scan_folder`)
            to load when the source holds several series. Without it, the single CT series is
            loaded, and several CT series raise :class:`MixedSeriesError` listing them.
        progress: ``progress(done, total)`` while slices are read.

    HU = stored value × RescaleSlope + RescaleIntercept, rounded and clipped to int16.

    Raises:
        DicomImportError: a precise subclass, always naming the file or the series positions.
    """
    try:
        return _load(source, series_uid, progress)
    except DicomImportError:
        raise
    except MemoryError as exc:
        raise DicomImportError(f"{source}: not enough memory to load the series") from exc
    except Exception as exc:  # a bug or an unforeseen file oddity: still a user-facing error
        raise DicomImportError(
            f"{source}: the series could not be loaded ({type(exc).__name__}: {exc})"
        ) from exc


def voxel_hash(volume: Volume) -> str:
    """SHA-256 hex digest of a volume's HU voxels (z, y, x int16 bytes) alone: the same images give
    the same hash whatever their headers, file names or UIDs (a de-identified copy, a re-send)."""
    return hashlib.sha256(np.ascontiguousarray(volume.hu).tobytes()).hexdigest()


def series_content_hash(files: Path | str | Sequence[Path | str]) -> str:
    """SHA-256 hex digest over the contents of ``files`` (a folder: all files in it, recursively).

    Independent of file names and order: the per-file digests are sorted before hashing, so the
    same series copied elsewhere or renamed gets the same hash.
    """
    try:
        paths = list_files(Path(files)) if isinstance(files, (str, Path)) else [Path(f) for f in files]
        digests = []
        for p in paths:
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            digests.append(h.digest())
    except DicomImportError:
        raise
    except FileNotFoundError as exc:
        raise PathNotFoundError(f"{exc.filename}: no such file") from exc
    except OSError as exc:
        raise UnreadableDicomError(f"{exc.filename}: cannot read the file: {exc.strerror}") from exc
    total = hashlib.sha256()
    for d in sorted(digests):
        total.update(d)
    return total.hexdigest()
