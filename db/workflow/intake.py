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

__all__ = ["pick_series", "SeriesTags", "series_tags", "IntakeLine", "intake_report"]


@dataclass(frozen=True)
class SeriesTags:
    """What one header read of a series' first file tells intake: ConvolutionKernel, whether
    BurnedInAnnotation is YES, whether a contrast agent is declared (ContrastBolusAgent or
    ContrastBolusRoute present), CTDIvol (mGy) and kVp where present."""

    kernel: str
    burned_in: bool
    contrast: bool
    ctdi_vol_mgy: float | None
    kvp: float | None


def _number(value: object) -> float | None:
    try:
        return round(float(value), 2) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def series_tags(path: Path) -> SeriesTags:
    """:class:`SeriesTags` of a series' first file (one header read)."""
    import pydicom
    from pydicom.multival import MultiValue

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    kernel = ds.get("ConvolutionKernel", "")
    kernel = "\\".join(str(v) for v in kernel) if isinstance(kernel, MultiValue) else str(kernel)
    contrast = any(str(ds.get(k, "") or "").strip() for k in ("ContrastBolusAgent", "ContrastBolusRoute"))
    return SeriesTags(kernel, str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES", contrast,
                      _number(ds.get("CTDIvol")), _number(ds.get("KVP")))


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
    tags = {s.key: series_tags(s.files[0]) if s.is_image else None for s in series}
    candidates = [Candidate(s.key, s.modality or "", s.orientation, s.n_slices, s.slice_spacing,
                            tags[s.key].kernel if tags[s.key] else "", redact_free_text(s.description),
                            bool(tags[s.key] and tags[s.key].burned_in)) for s in series]
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
    qc: str = ""  # z coverage, gaps, contrast, dose, kVp (as recorded at intake)
    stored: bool = True  # False: imported before the image store, read from site files

    def describe(self) -> str:
        spacing = f"{self.slice_mm:.2f} mm" if self.slice_mm else "? mm"
        store = "" if self.stored else "\tNOT IN THE IMAGE STORE (lungread trial store-images)"
        lines = [f"{self.subject}\t{self.visit}\t{self.n_slices} slices x {spacing}\tkernel {self.kernel or '?'}\t"
                 f"{self.description or '(no description)'}\t{self.qc or '(no QC recorded)'}\t{self.selection}{store}"]
        lines += [f"\t\tnot chosen: {why}" for why in self.not_chosen]
        return "\n".join(lines)


def qc_summary(display: dict) -> str:  # type: ignore[type-arg]
    """One line of a scan's intake QC figures (empty for scans imported before they were kept)."""
    if "coverage_mm" not in display:
        return ""
    parts = [f"coverage {display['coverage_mm']:.0f} mm", f"gaps {display.get('gaps') or '?'}",
             f"contrast {'yes' if display.get('contrast') else 'none declared'}"]
    if display.get("ctdi_vol_mgy") is not None:
        parts.append(f"CTDIvol {display['ctdi_vol_mgy']:g} mGy")
    if display.get("kvp") is not None:
        parts.append(f"{display['kvp']:g} kVp")
    return ", ".join(parts)


def intake_report(db: Database, actor: Actor) -> list[IntakeLine]:
    """Manager: every imported scan with its series, QC figures and the reason it was chosen."""

    def work(s: Session) -> list[IntakeLine]:
        require_role(s, actor, ("manager",), "only a manager may see the intake report (it names subjects)")
        rows = s.execute(select(Subject.code, Visit.name, Scan.display_json, Scan.store_hash)
                         .join(Visit, Visit.subject_id == Subject.id)
                         .join(Scan, Scan.visit_id == Visit.id).order_by(Subject.code, Visit.id)).all()
        out = []
        for code, visit, display_json, store_hash in rows:
            d = json.loads(display_json)
            out.append(IntakeLine(code, visit, int(d.get("n_slices") or 0), d.get("slice_mm"), str(d.get("kernel") or ""),
                                  str(d.get("description") or ""), str(d.get("selection") or "(imported before "
                                                                                             "series selection)"),
                                  tuple(d.get("not_chosen") or ()), qc_summary(d), store_hash is not None))
        return out

    return db.read(work)
