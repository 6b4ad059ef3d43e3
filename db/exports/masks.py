"""Access-checked export of stored read masks as DICOM SEG and/or NIfTI.

Two selections:

* ``per="read"``: every *current* signed read that has masks (a reader's newest signed revision,
  or an adjudicator's own read); superseded and reopened revisions are left out.
* ``per="endpoint"``: the source read(s) of each scan's endpoint value (the adjudicated read, or
  both reads of a concordant pair under the "mean" rule: a mean has no mask of its own, so both
  source masks are written).

File names carry subject, visit and read id (never an arm), e.g. ``S001_DAY10_read12.seg.dcm``,
``S001_DAY10_read12_lung.nii.gz`` and ``S001_DAY10_read12_lesion.nii.gz``. The DICOM SEG
references the scan's de-identified series in the image store (:func:`quant.dicom.mask_export.write_dicom_seg`); NIfTI files
carry the RAS affine of the series (:func:`quant.dicom.mask_export.write_nifti`). Access follows the
reads rule of :mod:`db.exports.access` (masks are read content): a manager at any time, a statistician
after unblinding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.endpoints.dataset import collect_dataset
from db.engine import Database
from db.errors import WorkflowError
from db.exports.access import audit_export, reads_access
from db.models import AdjudicationTask, Read, Scan, Subject, Visit
from db.records import Actor
from db.workflow.imagelinks import scan_images
from db.workflow.read_store import load_mask

__all__ = ["MaskFile", "export_masks", "MASK_FORMATS"]

MASK_FORMATS = ("seg", "nifti")


@dataclass(frozen=True)
class MaskFile:
    """One written file: which read of which scan, the format ("seg" | "nifti") and its path."""

    read_id: int
    scan_id: int
    subject: str
    visit: str
    format: str
    path: Path


@dataclass(frozen=True)
class _Item:
    read_id: int
    scan_id: int
    subject: str
    visit: str
    lung_sha: str
    lesion_sha: str
    algorithm_version: str


def _current_reads(s: Session) -> set[int]:
    newest: dict[int, tuple[int, int, str]] = {}
    for rid, task_id, revision, status in s.execute(
        select(Read.id, Read.task_id, Read.revision, Read.status).where(Read.task_id.is_not(None))
    ):
        if task_id not in newest or revision > newest[task_id][1]:
            newest[task_id] = (rid, revision, status)
    ids = {rid for rid, _, status in newest.values() if status == "signed"}
    ids.update(rid for rid in s.scalars(select(AdjudicationTask.chosen_read_id)
                                        .where(AdjudicationTask.choice == "own")) if rid is not None)
    return ids


def _select(s: Session, per: str, read_ids: Iterable[int] | None) -> list[_Item]:
    if per == "read":
        wanted = _current_reads(s) if read_ids is None else set(read_ids)
    elif per == "endpoint":
        status = collect_dataset(s, with_arms=False).endpoint_status
        wanted = {rid for st, ids in status.values() if st in ("concordant", "adjudicated") for rid in ids}
    else:
        raise WorkflowError(f"masks are exported per 'read' or per 'endpoint', not {per!r}")
    q = (select(Read.id, Scan.id, Subject.code, Visit.name, Read.lung_mask_sha, Read.lesion_mask_sha,
                Read.algorithm_version, Read.status)
         .join(Scan, Read.scan_id == Scan.id).join(Visit, Scan.visit_id == Visit.id)
         .join(Subject, Visit.subject_id == Subject.id).order_by(Subject.code, Visit.visit_day, Read.id))
    items = []
    for rid, scan_id, code, visit, lung, lesion, algo, status in s.execute(q):
        if rid in wanted and status == "signed" and lung is not None and lesion is not None:
            items.append(_Item(rid, scan_id, code, visit, lung, lesion, algo or ""))
    if read_ids is not None and per == "read":
        missing = sorted(set(read_ids) - {i.read_id for i in items})
        if missing:
            raise WorkflowError(f"read(s) {missing} are not signed reads with stored masks")
    return items


def _series_files(s: Session, scan_id: int) -> list[Path]:
    scan = s.get(Scan, scan_id)
    assert scan is not None
    files = list(scan_images(s, scan)[0])
    if not files or not all(f.is_file() for f in files):
        raise WorkflowError(f"the images of scan {scan.id} are missing under {files[0].parent if files else '?'}; "
                            "masks are exported on a computer that reaches the trial's image store")
    return files


def export_masks(
    db: Database,
    actor: Actor,
    out_dir: str | Path,
    *,
    per: str = "read",
    formats: Iterable[str] = MASK_FORMATS,
    read_ids: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[MaskFile]:
    """Write the selected reads' lung and lesion masks into ``out_dir`` (see module docstring).

    Args:
        per: "read" (current signed reads, or only ``read_ids``) or "endpoint" (endpoint sources).
        formats: any of "seg" (one DICOM SEG per read: 4 segments right/left lung, GGO, solid) and
            "nifti" (``*_lung.nii.gz`` labels 1 right / 2 left, ``*_lesion.nii.gz`` 1 GGO / 2 solid).
        progress: ``progress(done, total)`` over reads.

    Raises:
        PermissionDenied: the reads rule of :mod:`db.exports.access`.
        WorkflowError: unknown selection/format, images missing, masks not on the series' grid.
    """
    from quant.dicom.load import load_series
    from quant.dicom.mask_export import write_dicom_seg, write_nifti

    formats = tuple(dict.fromkeys(formats))
    bad = [f for f in formats if f not in MASK_FORMATS]
    if bad or not formats:
        raise WorkflowError(f"mask format(s) {bad or '(none)'}: choose from {', '.join(MASK_FORMATS)}")
    out_dir = Path(out_dir)
    ids = None if read_ids is None else [int(i) for i in read_ids]
    user, items = db.read(lambda s: (reads_access(s, actor)[0], _select(s, per, ids)))
    written: list[MaskFile] = []
    by_scan: dict[int, list[_Item]] = {}
    for item in items:
        by_scan.setdefault(item.scan_id, []).append(item)
    done = 0
    if progress:
        progress(0, len(items))
    for scan_id, group in by_scan.items():
        files = db.read(lambda s: _series_files(s, scan_id))
        volume = load_series(files)
        for item in group:
            lung, lesion = db.read(lambda s: (load_mask(s, item.lung_sha), load_mask(s, item.lesion_sha)))
            if lung is None or lesion is None:
                raise WorkflowError(f"the masks of read {item.read_id} are missing from the database")
            if lung.shape != volume.shape or lesion.shape != volume.shape:
                raise WorkflowError(f"read {item.read_id}: masks {lung.shape} do not match the series {volume.shape}")
            stem = f"{item.subject}_{item.visit}_read{item.read_id}"
            if "seg" in formats:
                path = write_dicom_seg(files, volume, lesion, lung, out_dir / f"{stem}.seg.dcm",
                                       algorithm_version=item.algorithm_version,
                                       series_description=f"LungRead read {item.read_id}",
                                       patient_id=item.subject)
                written.append(MaskFile(item.read_id, scan_id, item.subject, item.visit, "seg", path))
            if "nifti" in formats:
                for what, labels in (("lung", lung), ("lesion", lesion)):
                    path = write_nifti(volume, labels, out_dir / f"{stem}_{what}.nii.gz")
                    written.append(MaskFile(item.read_id, scan_id, item.subject, item.visit, "nifti", path))
            done += 1
            if progress:
                progress(done, len(items))
    audit_export(db, actor, "masks", out_dir, {"per": per, "formats": list(formats), "reads": len(items),
                                               "files": len(written)})
    return written
