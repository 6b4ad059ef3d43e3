"""Find DICOM series in a folder, group files into (sub-)series and summarise them de-identified.

A folder from a PACS export or a CD often holds several series (scouts, thin and thick
reconstructions, dose reports) and sometimes several acquisitions under one SeriesInstanceUID.
Files are grouped by SeriesInstanceUID, then split into sub-series on orientation, image size
and, when acquisitions repeat the same positions, on AcquisitionNumber.

Summaries carry a display label built only from modality, description, slice count, size,
orientation and spacing. PatientName, PatientID and date-like text are scrubbed from it, since
labels are shown to blinded readers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from quant.dicom.errors import (
    DicomImportError,
    NoDicomFilesError,
    NotDicomError,
    NotImageError,
    PathNotFoundError,
)
from quant.dicom.free_text import redact_free_text
from quant.dicom.geometry import orientation_name, orientation_vectors, same_orientation
from quant.dicom.header import SliceHeader, read_header

__all__ = [
    "ScanResult",
    "SeriesGroup",
    "SeriesSummary",
    "group_headers",
    "list_files",
    "scan_folder",
    "summarise",
]

MEDIA_DIRECTORY_SOP = "1.2.840.10008.1.3.10"  # DICOMDIR

_DATE_PATTERNS = (
    re.compile(r"\b(19|20)\d{2}[-./]?(0[1-9]|1[0-2])[-./]?(0[1-9]|[12]\d|3[01])\b"),
    re.compile(r"\b(0?[1-9]|[12]\d|3[01])[-./](0?[1-9]|1[0-2])[-./](19|20)?\d{2}\b"),
)


@dataclass
class SeriesGroup:
    """Headers of one (sub-)series. ``key`` is the SeriesInstanceUID, plus ``#n`` for sub-series."""

    key: str
    headers: list[SliceHeader]

    @property
    def first(self) -> SliceHeader:
        return self.headers[0]

    @property
    def is_image(self) -> bool:
        return any(h.is_image for h in self.headers)

    @property
    def modality(self) -> str:
        return self.first.modality


@dataclass(frozen=True)
class SeriesSummary:
    """One (sub-)series found by :func:`scan_folder`; no PHI.

    ``key`` identifies the sub-series (pass it as ``series_uid`` to ``load_series``);
    ``pixel_spacing`` is (row, column) mm; ``slice_spacing`` the median distance between slice
    positions in mm (None when it cannot be computed).
    """

    key: str
    series_uid: str
    study_uid: str
    modality: str
    description: str
    n_slices: int
    rows: int
    columns: int
    files: list[Path]
    display_label: str
    orientation: str
    pixel_spacing: tuple[float, float] | None
    slice_spacing: float | None
    acquisition_number: int | None
    sop_class: str
    is_image: bool
    # The series description as the site typed it (may hold PHI): only for ``lungread info --phi``.
    raw_description: str = field(default="", repr=False)


@dataclass
class ScanResult:
    """What :func:`scan_folder` found: series summaries and the files it skipped (path, reason)."""

    series: list[SeriesSummary] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def list_files(path: Path) -> list[Path]:
    """All regular files under ``path`` (recursively, sorted), or ``[path]`` for a file."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.exists():
        raise PathNotFoundError(f"{path}: no such file or folder")
    if not path.is_dir():
        raise NoDicomFilesError(f"{path}: neither a file nor a folder")
    files: list[Path] = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        files.extend(Path(root) / n for n in sorted(names))
    return [f for f in files if f.is_file()]


def _projections(headers: Sequence[SliceHeader]) -> np.ndarray | None:
    iop = headers[0].iop
    if iop is None or any(h.ipp is None for h in headers):
        return None
    try:
        normal = orientation_vectors(iop, "")[:, 2]
    except DicomImportError:
        return None
    return np.array([h.ipp for h in headers], dtype=np.float64) @ normal


def _split_acquisitions(headers: list[SliceHeader]) -> list[list[SliceHeader]]:
    """Split on AcquisitionNumber, but only when acquisitions repeat positions.

    Some scanners number every step-and-shoot rotation as its own acquisition; those together
    still form one volume, so a split happens only when positions overlap.
    """
    numbers = {h.acquisition_number for h in headers}
    if len(numbers) < 2:
        return [headers]
    proj = _projections(headers)
    if proj is None or len(np.unique(np.round(proj, 3))) == len(proj):
        return [headers]
    by_number: dict[int | None, list[SliceHeader]] = {}
    for h in headers:
        by_number.setdefault(h.acquisition_number, []).append(h)
    return [by_number[k] for k in sorted(by_number, key=lambda n: (n is None, n or 0))]


def group_headers(headers: Iterable[SliceHeader]) -> list[SeriesGroup]:
    """Group headers into (sub-)series, in a stable order (series number, UID, file name)."""
    by_uid: dict[str, list[SliceHeader]] = {}
    for h in sorted(headers, key=lambda h: str(h.path)):
        by_uid.setdefault(h.series_uid, []).append(h)
    groups: list[SeriesGroup] = []
    for uid, members in sorted(
        by_uid.items(), key=lambda kv: (kv[1][0].series_number or 0, kv[0])
    ):
        clusters: list[list[SliceHeader]] = []
        for h in members:
            for cluster in clusters:
                c = cluster[0]
                if (
                    c.is_image == h.is_image
                    and (c.rows, c.columns) == (h.rows, h.columns)
                    and same_orientation(c.iop, h.iop)
                    and c.sop_class_uid == h.sop_class_uid
                ):
                    cluster.append(h)
                    break
            else:
                clusters.append([h])
        parts = [p for cluster in clusters for p in _split_acquisitions(cluster)]
        for n, part in enumerate(parts, start=1):
            key = uid if len(parts) == 1 else f"{uid}#{n}"
            groups.append(SeriesGroup(key=key, headers=part))
    return groups


def _scrub(text: str, phi: Iterable[str]) -> str:
    """Remove PatientName/PatientID fragments and anything date-like from ``text``."""
    for value in sorted(set(phi), key=len, reverse=True):
        text = re.sub(re.escape(value), "", text, flags=re.IGNORECASE)
    for pattern in _DATE_PATTERNS:
        text = pattern.sub("", text)
    return re.sub(r"\s{2,}", " ", text).strip(" -_^,;")


def summarise(group: SeriesGroup) -> SeriesSummary:
    """De-identified summary of one group."""
    first = group.first
    phi = {s for h in group.headers for s in h.phi_strings}
    # Free text: the header's own name/ID/date fragments out, then only acquisition vocabulary.
    description = redact_free_text(_scrub(first.series_description, phi))
    orientation = orientation_name(first.iop) if group.is_image else "-"
    slice_spacing = None
    proj = _projections(group.headers) if group.is_image and len(group.headers) > 1 else None
    if proj is not None:
        steps = np.diff(np.sort(proj))
        steps = steps[steps > 1e-3]
        slice_spacing = float(np.median(steps)) if steps.size else None
    n = len(group.headers)
    parts = [first.modality or "?", description or "(no description)"]
    if group.is_image:
        parts.append(f"{n} slice{'s' if n != 1 else ''}")
        parts.append(f"{first.rows}x{first.columns}")
        geom = orientation
        if first.pixel_spacing is not None:
            sp = f"{first.pixel_spacing[0]:.2f}x{first.pixel_spacing[1]:.2f}"
            if slice_spacing is not None:
                sp += f"x{slice_spacing:.2f}"
            geom += f" {sp} mm"
        parts.append(geom)
    else:
        parts.append(first.sop_class_name)
        parts.append(f"{n} object{'s' if n != 1 else ''}")
    return SeriesSummary(
        key=group.key,
        series_uid=first.series_uid,
        study_uid=first.study_uid,
        modality=first.modality,
        description=description,
        n_slices=n,
        rows=first.rows,
        columns=first.columns,
        files=[h.path for h in group.headers],
        display_label=" | ".join(parts),
        orientation=orientation,
        pixel_spacing=first.pixel_spacing,
        slice_spacing=slice_spacing,
        acquisition_number=first.acquisition_number,
        sop_class=first.sop_class_name,
        is_image=group.is_image,
        raw_description=first.series_description or "",
    )


def read_headers(
    files: Sequence[Path],
    *,
    with_pixel_offset: bool,
    skip_broken: bool,
    skip_non_dicom: bool,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[SliceHeader], list[tuple[Path, str]]]:
    """Headers of ``files`` plus the skipped (path, reason) pairs.

    Non-DICOM files are skipped when ``skip_non_dicom``; broken DICOM files (truncated, corrupt)
    when ``skip_broken``; otherwise their :class:`DicomImportError` propagates. DICOMDIR index
    files are always skipped.
    """
    headers: list[SliceHeader] = []
    skipped: list[tuple[Path, str]] = []
    total = len(files)
    for i, f in enumerate(files, start=1):
        try:
            h = read_header(f, with_pixel_offset=with_pixel_offset)
        except NotDicomError:
            if not skip_non_dicom:
                raise
            skipped.append((f, "not a DICOM file"))
        except DicomImportError as exc:
            if not skip_broken:
                raise
            skipped.append((f, str(exc)))
        else:
            if h.sop_class_uid == MEDIA_DIRECTORY_SOP:
                if not skip_non_dicom:
                    raise NotImageError(
                        f"{f}: a DICOMDIR (media index), not an image; load the series folder instead"
                    )
                skipped.append((f, "DICOMDIR (media index, not an image)"))
            else:
                headers.append(h)
        if progress is not None:
            progress(i, total)
    return headers, skipped


def scan_folder(path: Path, progress: Callable[[int, int], None] | None = None) -> ScanResult:
    """List the DICOM series under ``path`` (recursive, headers only), de-identified.

    Non-DICOM and unreadable files are skipped and listed in ``ScanResult.skipped``.

    Raises:
        NoDicomFilesError: no readable DICOM file under ``path``.
    """
    try:
        files = list_files(Path(path))
        headers, skipped = read_headers(
            files, with_pixel_offset=False, skip_broken=True, skip_non_dicom=True, progress=progress
        )
        if not headers:
            raise NoDicomFilesError(
                f"{path}: no DICOM image files found ({len(files)} file(s) looked at, "
                f"{len(skipped)} skipped)"
            )
        return ScanResult(series=[summarise(g) for g in group_headers(headers)], skipped=skipped)
    except DicomImportError:
        raise
    except Exception as exc:
        raise DicomImportError(
            f"{path}: scanning failed ({type(exc).__name__}: {exc})"
        ) from exc
