"""Checking one manifest row against its delivery before anything is imported: which series is
taken (:func:`db.workflow.intake.pick_series`), that every file of it reads, that it is one CT
series without burned-in annotation and with complete, regular geometry, and the QC figures the
manager reviews (slices, spacing, z coverage, kernel, contrast, dose)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from db.errors import ManifestError
from db.workflow.intake import pick_series, series_tags
from quant.dicom.free_text import redact_free_text
from quant.errors import LungReadError

__all__ = ["IntakeRow", "check_intake_row"]


@dataclass(frozen=True)
class IntakeRow:
    """One manifest row checked against its files: the series chosen, its hashes and display metadata."""

    row: int
    subject: str
    visit: str
    visit_day: int | None
    study_date: str | None
    folder: Path
    series_uid: str
    content_hash: str
    files: tuple[str, ...]
    display: dict[str, object]
    sources: tuple[Path, ...]  # the series' files, in slice-file order
    store_hash: str | None = None  # its de-identified copy in the image store
    store_files: int | None = None
    store_series_uid: str | None = None
    store_created: bool = False  # this import wrote the copy (dropped again if the import is refused)


def check_intake_row(number: int, rec: dict[str, str], base: Path) -> IntakeRow:
    """Check one manifest row (``subject, visit, series_folder`` [, ``visit_day, study_date,
    series_uid``]; folders relative to ``base``) against its files: the series chosen, every file
    readable, one CT series, no burned-in annotation, complete regular geometry. Raises
    LungReadError (ManifestError) with the row's problem."""
    from quant.dicom.load import load_series, scan_folder, series_content_hash, voxel_hash

    subject, visit, folder_text = rec.get("subject", ""), rec.get("visit", ""), rec.get("series_folder", "")
    if not subject or not visit or not folder_text:
        raise ManifestError("subject, visit and series_folder must all be filled in")
    visit_day: int | None = None
    if rec.get("visit_day"):
        try:
            visit_day = int(rec["visit_day"])
        except ValueError:
            raise ManifestError(f"visit_day {rec['visit_day']!r} is not a whole number of days") from None
    folder = Path(folder_text)
    if not folder.is_absolute():
        folder = base / folder
    folder = folder.resolve()
    if not folder.is_dir():
        raise ManifestError(f"series folder {folder_text!r} does not exist")
    result = scan_folder(folder)
    unreadable = [(p, why) for p, why in result.skipped if not why.startswith("DICOMDIR")]
    if unreadable:
        names = "; ".join(f"{p.name!r}: {why}" for p, why in unreadable[:3])
        raise ManifestError(f"series folder {folder_text!r} holds {len(unreadable)} file(s) that are not readable "
                            f"DICOM ({names}): an incomplete or damaged delivery is not imported")
    summary, selection, not_chosen = pick_series(folder_text, list(result.series), rec.get("series_uid", ""))
    if summary.modality != "CT":
        raise ManifestError(f"the series in {folder_text!r} is {summary.modality or 'of no modality'}, not CT")
    tags = series_tags(summary.files[0])
    if tags.burned_in:
        raise ManifestError(f"the series in {folder_text!r} declares BurnedInAnnotation=YES: its pixels may show "
                            "names or dates that de-identification cannot remove; deliver a series without burned-in text")
    try:  # every file decoded, geometry regular, pixel data complete: problems surface now, not at a reader
        volume = load_series(list(summary.files), series_uid=summary.key)  # headers of this series only
    except LungReadError as exc:
        raise ManifestError(f"the series in {folder_text!r} cannot be read completely: {exc}") from exc
    files = [Path(f) for f in summary.files]
    rel: list[str] = []
    for f in files:
        try:
            rel.append(f.resolve().relative_to(folder).as_posix())
        except ValueError:
            rel.append(str(f.resolve()))
    display = {
        "modality": str(getattr(summary, "modality", "") or ""),
        "rows": int(getattr(summary, "rows", 0) or 0),
        "columns": int(getattr(summary, "columns", 0) or 0),
        "n_slices": int(getattr(summary, "n_slices", len(files)) or len(files)),
        "slice_mm": summary.slice_spacing, "kernel": tags.kernel,
        # QC at intake: z coverage, gaps (load_series refuses irregular spacing), contrast, dose.
        "coverage_mm": round(float(volume.shape[0] * volume.spacing[0]), 1), "gaps": "none",
        # The voxels alone (headers aside): the same images delivered for two visits are caught.
        "pixel_sha256": voxel_hash(volume),
        "contrast": tags.contrast, "ctdi_vol_mgy": tags.ctdi_vol_mgy, "kvp": tags.kvp,
        "description": redact_free_text(summary.description), "selection": selection, "not_chosen": list(not_chosen),
    }
    return IntakeRow(
        row=number, subject=subject, visit=visit, visit_day=visit_day,
        study_date=rec.get("study_date") or None, folder=folder, series_uid=summary.series_uid,
        content_hash=series_content_hash(files), files=tuple(sorted(rel)), display=display, sources=tuple(files),
    )
