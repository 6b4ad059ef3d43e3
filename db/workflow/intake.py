"""Which series of a manifest row's folder is imported: the only one, the one the manager named
(``series_uid`` column), or the one the reading rule picks from a study delivery
(:mod:`quant.dicom.series_choice`). The reason is kept with the scan (display metadata and the
signed ``create scan`` event) and shown by ``lungread trial intake-report``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import ManifestError
from db.models import Scan, Subject, Visit
from db.records import Actor
from db.security.access import require_role
from quant.dicom.free_text import redact_free_text

__all__ = ["pick_series", "series_tags", "IntakeLine", "intake_report"]


def series_tags(path: Path) -> tuple[str, bool]:
    """``(ConvolutionKernel, BurnedInAnnotation == YES)`` of a series' first file (one header read)."""
    import pydicom
    from pydicom.multival import MultiValue

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    kernel = ds.get("ConvolutionKernel", "")
    kernel = "\\".join(str(v) for v in kernel) if isinstance(kernel, MultiValue) else str(kernel)
    return kernel, str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES"


def pick_series(folder_text: str, series: list, wanted: str) -> tuple[object, str, tuple[str, ...]]:  # type: ignore[type-arg]
    """``(summary, reason, not_chosen)`` for one manifest row; ManifestError when none or a tie."""
    from quant.dicom.series_choice import Candidate, SeriesChoiceError, choose_series
    from quant.protocol import default_protocol

    if wanted:
        named = [s for s in series if s.series_uid == wanted]
        if not named:
            raise ManifestError(f"series {wanted} is not in folder {folder_text!r}")
        return named[0], "named in the manifest's series_uid column (the manager's choice)", ()
    if not series:
        raise ManifestError(f"no readable DICOM series in folder {folder_text!r}")
    if len(series) == 1:
        return series[0], "the only series in the folder", ()
    by_key = {s.key: s for s in series}
    tags = {s.key: series_tags(s.files[0]) if s.is_image else ("", False) for s in series}
    candidates = [Candidate(s.key, s.modality or "", s.orientation, s.n_slices, s.slice_spacing, tags[s.key][0],
                            redact_free_text(s.description), tags[s.key][1]) for s in series]
    try:
        choice = choose_series(candidates, default_protocol().qc.max_slice_mm)
    except SeriesChoiceError as exc:
        raise ManifestError(f"folder {folder_text!r} holds {len(series)} series and {exc}") from exc
    not_chosen = tuple(f"{c.label()}: {why}" for c, why in choice.others)
    return by_key[choice.chosen.key], f"selected from {len(series)} series: {choice.reason}", not_chosen


@dataclass(frozen=True)
class IntakeLine:
    """One imported scan as the manager reviews it: what was received and why this series."""

    subject: str
    visit: str
    n_slices: int
    slice_mm: float | None
    kernel: str
    description: str
    selection: str
    not_chosen: tuple[str, ...]

    def describe(self) -> str:
        spacing = f"{self.slice_mm:.2f} mm" if self.slice_mm else "? mm"
        lines = [f"{self.subject}\t{self.visit}\t{self.n_slices} slices x {spacing}\tkernel {self.kernel or '?'}\t"
                 f"{self.description or '(no description)'}\t{self.selection}"]
        lines += [f"\t\tnot chosen: {why}" for why in self.not_chosen]
        return "\n".join(lines)


def intake_report(db: Database, actor: Actor) -> list[IntakeLine]:
    """Manager: every imported scan with its series, QC figures and the reason it was chosen."""

    def work(s: Session) -> list[IntakeLine]:
        require_role(s, actor, ("manager",), "only a manager may see the intake report (it names subjects)")
        rows = s.execute(select(Subject.code, Visit.name, Scan.display_json).join(Visit, Visit.subject_id == Subject.id)
                         .join(Scan, Scan.visit_id == Visit.id).order_by(Subject.code, Visit.id)).all()
        out = []
        for code, visit, display_json in rows:
            d = json.loads(display_json)
            out.append(IntakeLine(code, visit, int(d.get("n_slices") or 0), d.get("slice_mm"), str(d.get("kernel") or ""),
                                  str(d.get("description") or ""), str(d.get("selection") or "(imported before "
                                                                                             "series selection)"),
                                  tuple(d.get("not_chosen") or ())))
        return out

    return db.read(work)
