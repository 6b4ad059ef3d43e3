"""``lungread demo --headless``: the whole trial pipeline on a phantom trial, with simulated readers.

Steps (everything goes through :mod:`db.services` and the export services, as a core lab would):

1. **Trial.** :func:`quant.phantom.make_trial` writes ``--subjects`` subjects (2:1 MSC:Placebo)
   at the visits of :func:`demo_visits` (default 4: BASELINE, DAY10, DAY28, MONTH12; day 10 and
   month 12 are always present from 3 visits on) into ``OUT/trial``.
2. **Database.** ``OUT/lungread.sqlite`` with the demo accounts (reader1, reader2, adjudicator,
   manager, statistician; password ``lungread``); the manager creates the trial with the charter
   of :func:`demo_charter`, imports the manifest and generates the worklist (seed ``--seed``).
   Blinded image links go to ``OUT/data`` (``LUNGREAD_DATA_DIR`` is pointed there for the run).
3. **Readers.** reader1 and reader2 work through their own shuffled worklists. For each case they
   load the blinded series, start from the automatic segmentation
   (:func:`quant.segment.pipeline.segment`; computed once per series in a process pool before the
   readers start, keyed by the series content hash: both readers would get the same result), save
   it as a draft (revision 1), apply their own perturbations with :class:`quant.editing.editor.MaskEditor`
   and sign (revision 2). The perturbations (:func:`desktop.demo.simulated_reading.perturb`; random
   generator seeded by ``--seed``, the reader and the series hash, so the two readers' edits are
   independent):

   * 2-5 GGO *paint* strokes with a sphere brush of radius 7-11 mm, each starting on a random
     voxel of a lesion's edge and wandering 4-8 steps of up to 5 voxels in the axial plane (a few
     mL each: a reader adding ground glass next to a lesion the algorithm under-segmented);
   * 0-2 *erase* strokes built the same way (any lesion label; a reader trimming a lesion edge).

   Metrics come from :func:`quant.metrics.measure` on the edited masks; the normal-CT call is the
   software's suggestion (``suggested_normal``), confidence is random 3-5.
4. **Adjudication.** Discordant pairs (|Δ lesion %| > 0.75 point in the demo charter, or different
   normal-CT calls) go to the adjudicator, who picks the read whose lesion % is closer to the
   phantom's truth (``truth.json`` beside the series; found through the series content hash).
5. **Lock, unblind, export.** The manager locks; the statistician unblinds with
   ``randomization.csv`` and exports into ``OUT/exports``: ``reads.csv`` (+ dictionary),
   ``adqct.csv``, ``endpoints.csv``, ``agreement.csv`` (+ dictionaries), ``figures/*.png``,
   ``report.pdf``, and the endpoint masks as DICOM SEG and NIfTI in ``masks/`` (the endpoint
   source reads of the first subject's baseline and day-10 scans, :data:`MASK_VISITS`: a SEG
   takes about a second to write, so all masks are left to ``lungread export masks``).

stdout gets the endpoint table (:func:`quant.analysis.csv_export.format_endpoint_table`) and the
truth check: the day-10 Hodges-Lehmann MSC - Placebo shift of the change in lesion % from the
reads next to the same estimate computed from the phantom's truth (:func:`truth_records`:
``truth.json`` ``lesion_pct`` of each scan, change from the subject's baseline, MSC vs Placebo,
:func:`quant.stats.two_sample.hodges_lehmann`). The planted effect is recovered when the two differ by
less than the half-width of the reads' 95% CI. Progress bars (tqdm) go to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.app.session import DEMO_PASSWORD, DEMO_USERS
from quant.errors import LungReadError

if TYPE_CHECKING:
    from db.services import Actor, Charter, Database
    from quant.analysis.tables import AnalysisResult, EndpointRecord
    from quant.phantom import TrialFiles
    from quant.stats.two_sample import ShiftEstimate

__all__ = [
    "run",
    "run_pipeline",
    "DemoResult",
    "demo_visits",
    "demo_charter",
    "truth_records",
    "DEFAULT_SUBJECTS",
    "DEFAULT_VISITS",
    "MASK_VISITS",
]

DEFAULT_SUBJECTS = 8
DEFAULT_VISITS = 4
#: the demo exports the masks of the first subject at these visits (all: ``lungread export masks``)
MASK_VISITS = ("BASELINE", "DAY10")
#: visits added in this order as --visits grows (BASELINE and DAY10 always; MONTH12 from 3 on)
_VISIT_ORDER = ("BASELINE", "DAY10", "MONTH12", "DAY28", "MONTH3", "MONTH6", "MONTH9")


def demo_visits(n: int) -> list[str]:
    """The first ``n`` (2..7) of BASELINE, DAY10, MONTH12, DAY28, MONTH3, MONTH6, MONTH9, in
    schedule (day) order."""
    # Lazy here and below: the numpy/scipy/SQLAlchemy stacks load when the pipeline runs, not on import.
    from quant.phantom.trial import VISIT_DAYS

    if not 2 <= n <= len(_VISIT_ORDER):
        raise LungReadError(f"--visits must be 2 to {len(_VISIT_ORDER)} (baseline and day 10 at least), not {n}")
    return sorted(_VISIT_ORDER[:n], key=VISIT_DAYS.__getitem__)


def demo_charter(visits: list[str], arms: tuple[str, str] | None = None) -> Charter:
    """The demo's charter: its visit schedule, mean of concordant pairs, adjudication when
    |Δ lesion %| > 0.75 point or the normal-CT calls differ (tighter than the default 5 points: the
    simulated readers differ by a few mL, i.e. tenths of a point, and about one pair in five
    should still reach the adjudicator). ``arms``: (treatment, control) as the randomisation list
    spells them, fixed in the charter when given."""
    from db.services import Charter  # lazy: as in demo_visits

    treatment, control = arms if arms is not None else (None, None)
    return Charter(visits=tuple(visits), adjudication_threshold_pct=0.75, treatment_arm=treatment,
                   control_arm=control)


@contextmanager
def _data_dir(path: Path) -> Iterator[None]:
    """Point LUNGREAD_DATA_DIR (blinded image links) at ``path`` for the run, then restore it."""
    old = os.environ.get("LUNGREAD_DATA_DIR")
    os.environ["LUNGREAD_DATA_DIR"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LUNGREAD_DATA_DIR", None)
        else:
            os.environ["LUNGREAD_DATA_DIR"] = old


def truth_records(trial_root: Path) -> list[EndpointRecord]:
    """Endpoint records of the phantom's *truth* (not reads): per manifest row, ``truth.json``
    ``lesion_pct`` / ``solid_pct`` beside the series folder, the arm from ``randomization.csv``
    and normal CT = truth lesion % is 0. Visit numbers follow the visit days."""
    from quant.analysis.tables import EndpointRecord  # lazy: as in demo_visits

    root = Path(trial_root)
    with open(root / "randomization.csv", newline="", encoding="utf-8") as fh:
        arms = {r["subject"]: r["arm"] for r in csv.DictReader(fh)}
    with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    days = sorted({int(r["visit_day"]) for r in rows})
    out = []
    for r in rows:
        truth = json.loads((root / r["series_folder"]).parent.joinpath("truth.json").read_text())["truth"]
        day = int(r["visit_day"])
        out.append(EndpointRecord(subject=r["subject"], arm=arms[r["subject"]], visit=r["visit"],
                                  visit_num=float(days.index(day) + 1), visit_day=day,
                                  lesion_pct=float(truth["lesion_pct"]), solid_pct=float(truth["solid_pct"]),
                                  normal_ct=float(truth["lesion_pct"]) == 0.0))
    return out


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote things, and what it computed."""

    out: Path
    db_url: str
    trial_root: Path
    exports: Path
    files: dict[str, Path]
    analysis: AnalysisResult  # of the reads
    truth: AnalysisResult  # of the phantom truth
    n_adjudicated: int
    mask_files: list[Path]


def _day10(result: AnalysisResult, visit: str = "DAY10") -> ShiftEstimate | None:
    for c in result.comparisons:
        if c.visit == visit and c.paramcd == "LESPCT" and c.variable == "CHG":
            return c.hl
    return None


def run_pipeline(
    out: Path,
    *,
    subjects: int = DEFAULT_SUBJECTS,
    visits: int = DEFAULT_VISITS,
    size: str = "small",
    seed: int = 0,
    workers: int | None = None,
    arms: tuple[str, str] | None = None,
) -> DemoResult:
    """Run steps 1-5 of the module docstring into the empty folder ``out``; returns what it wrote."""
    # Lazy: as in demo_visits.
    from db.services import authenticate, connect, create_trial, create_user, generate_worklist, import_manifest
    from desktop.demo.simulated_reading import progress_bar, segment_all, simulate_adjudicator, simulate_readers
    from quant.phantom import make_trial

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise LungReadError(f"{out} is not empty: give --out an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    names = demo_visits(visits)
    bar = progress_bar(subjects * len(names), "phantom trial")
    trial = make_trial(out / "trial", subjects=subjects, visits=names, seed=seed, size=size,
                       progress=lambda done, total: bar.update(done - bar.n), workers=workers,
                       **({"arm_names": arms} if arms is not None else {}))
    bar.close()
    with _data_dir(out / "data"):
        db = connect(out / "lungread.sqlite")
        try:
            mgr_name = next(name for name, role in DEMO_USERS if role == "manager")
            create_user(db, None, mgr_name, "manager", DEMO_PASSWORD)  # bootstrap: first account
            actors = {mgr_name: authenticate(db, mgr_name, DEMO_PASSWORD)}
            for name, role in DEMO_USERS:
                if name != mgr_name:
                    create_user(db, actors[mgr_name], name, role, DEMO_PASSWORD)
                    actors[name] = authenticate(db, name, DEMO_PASSWORD)
            manager = actors[mgr_name]
            create_trial(db, manager, "LUNGREAD-DEMO", demo_charter(names, arms))
            report = import_manifest(db, manager, trial.manifest)
            if not report.ok:
                raise LungReadError("demo import failed: " + "; ".join(f"row {e.row}: {e.message}" for e in report.errors))
            generate_worklist(db, manager, seed=seed)
            auto, truth_of = segment_all(trial.manifest, workers)
            simulate_readers(db, actors, auto, seed)
            n_adj = simulate_adjudicator(db, actors["adjudicator"], truth_of)
            return _finish(db, actors, trial, out, n_adj)
        finally:
            db.dispose()


def _finish(db: Database, actors: dict[str, Actor], trial: TrialFiles, out: Path, n_adj: int) -> DemoResult:
    # Lazy: as in demo_visits.
    from db.services import export_analysis, export_masks, export_reads, lock_database, unblind
    from desktop.demo.simulated_reading import progress_bar
    from quant.analysis.tables import run_analysis

    lock_database(db, actors["manager"])
    stat = actors["statistician"]
    unblind(db, stat, trial.randomization)
    exports = out / "exports"
    files = {"reads": export_reads(db, stat, exports / "reads.csv")}
    files["reads.dictionary"] = exports / "reads.dictionary.csv"
    analysis = export_analysis(db, stat, exports)
    files.update(analysis.files)
    first = min(r.subject for r in analysis.dataset.records)
    ep_reads = [i for r in analysis.dataset.records if r.subject == first and r.visit in MASK_VISITS
                and r.missing_reason is None for i in r.source_read_ids]
    bar = progress_bar(len(ep_reads), "mask export")
    masks = export_masks(db, stat, exports / "masks", per="read", read_ids=ep_reads,
                         progress=lambda done, total: bar.update(done - bar.n))
    bar.close()
    truth = run_analysis(truth_records(trial.root), (), analysis.result.treatment, analysis.result.control)
    return DemoResult(out=out, db_url=db.url, trial_root=trial.root, exports=exports, files=files,
                      analysis=analysis.result, truth=truth, n_adjudicated=n_adj,
                      mask_files=[m.path for m in masks])


def run(args: argparse.Namespace) -> int:
    """Handler of ``lungread demo --headless`` (dispatched by :mod:`desktop.cli.gui`)."""
    from quant.analysis.csv_export import format_endpoint_table  # lazy: as in demo_visits

    if not getattr(args, "out", None):
        raise LungReadError("lungread demo --headless needs --out DIR (an empty or new folder)")
    subjects = args.subjects if getattr(args, "subjects", None) else DEFAULT_SUBJECTS
    if subjects < 2:
        raise LungReadError(f"--subjects must be at least 2 (both arms need subjects), not {subjects}")
    arms = None
    if getattr(args, "arms", None):
        arms = tuple(a.strip() for a in args.arms.split(","))
        if len(arms) != 2 or not all(arms) or arms[0] == arms[1]:
            raise LungReadError(f"--arms takes two different names, TREATMENT,CONTROL (e.g. UC-MSC,placebo), not {args.arms!r}")
    res = run_pipeline(Path(args.out), subjects=subjects, visits=getattr(args, "visits", None) or DEFAULT_VISITS,
                       size=getattr(args, "size", "small") or "small", seed=int(getattr(args, "seed", 0) or 0),
                       arms=arms)  # type: ignore[arg-type]
    print(format_endpoint_table(res.analysis, "LESPCT"))
    print()
    print(format_endpoint_table(res.analysis, "SOLPCT"))
    hl, th = _day10(res.analysis), _day10(res.truth)
    if hl is not None and th is not None:
        half = (hl.ci_high - hl.ci_low) / 2
        verdict = "recovered" if abs(hl.estimate - th.estimate) < half else "NOT recovered"
        print(f"\nDay 10 change in lesion %, {res.analysis.treatment} - {res.analysis.control} (Hodges-Lehmann): "
              f"reads {hl.estimate:.2f} "
              f"(95% CI {hl.ci_low:.2f}, {hl.ci_high:.2f}); phantom truth {th.estimate:.2f}: planted effect {verdict}.")
    print(f"{res.n_adjudicated} adjudicated pair(s); exports in {res.exports}")
    return 0
