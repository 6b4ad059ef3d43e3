"""A whole synthetic two-arm trial, calibrated on the UC-MSC COVID-19 RCT (NCT04288102).

:func:`make_trial` writes one phantom scan per subject and visit, ``manifest.csv`` (what a core lab
receives: subject, visit, day, series folder, study date) and a *separate* ``randomization.csv``
(subject, arm), randomised 2:1 MSC:Placebo in permuted blocks of three.

Planted effect (per-scan truth is exact; see :func:`lesion_trajectory`):

* baseline lesion % 15..38 % (stratified over subjects);
* day 10: MSC lesions fall by ~45 % of baseline, placebo by ~5 %, giving an MSC − placebo median
  change difference of about −10 points (model trial: −10.8);
* then both arms regress, MSC faster; by month 12 about 18 % of MSC subjects are normal
  (lesion % = 0) and no placebo subject is (residual lesions ≥ 1 %).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from quant.phantom.scan import PhantomError

__all__ = [
    "DEFAULT_VISITS",
    "VISIT_DAYS",
    "ARMS",
    "TrialFiles",
    "SubjectPlan",
    "plan_trial",
    "lesion_trajectory",
    "make_trial",
]

#: Visit names in order; days after baseline in :data:`VISIT_DAYS`.
DEFAULT_VISITS: tuple[str, ...] = ("BASELINE", "DAY10", "DAY28", "MONTH3", "MONTH6", "MONTH9", "MONTH12")
VISIT_DAYS: dict[str, int] = {
    "BASELINE": 0, "DAY10": 10, "DAY28": 28, "MONTH3": 90, "MONTH6": 180, "MONTH9": 270, "MONTH12": 365,
}
ARMS = ("MSC", "Placebo")
#: Share of MSC subjects with a normal CT (no lesions) from month 12 (model trial: 10/56).
MSC_NORMAL_SHARE = 0.18
#: Residual lesion fraction of baseline after day 28, per arm: (days, fraction) knots.
_KNOTS = {
    "MSC": ((28, 0.40), (90, 0.20), (180, 0.10), (270, 0.07), (365, 0.05)),
    "Placebo": ((28, 0.72), (90, 0.45), (180, 0.27), (270, 0.18), (365, 0.13)),
}
#: Lesion % floor for subjects that never become normal (well above the normal-CT cut-off).
_RESIDUAL_FLOOR_PCT = 1.0


@dataclass(frozen=True)
class TrialFiles:
    """Where a written trial lives. ``manifest`` and ``randomization`` are CSV paths."""

    root: Path
    manifest: Path
    randomization: Path


@dataclass(frozen=True)
class SubjectPlan:
    """One subject's arm, seed and planned lesion trajectory."""

    code: str
    arm: str
    seed: int
    baseline_pct: float
    day10_drop: float        # fraction of baseline lost by day 10
    speed: float             # multiplies the later residual fractions (per-subject variation)
    normal_at_m12: bool
    solid_share: float
    start: date


def _visit_days(visits: Sequence[str | tuple[str, int]]) -> list[tuple[str, int]]:
    out = []
    for v in visits:
        if isinstance(v, tuple):
            name, day = str(v[0]), int(v[1])
        elif v in VISIT_DAYS:
            name, day = v, VISIT_DAYS[v]
        else:
            raise PhantomError(f"unknown visit {v!r}; use one of {list(VISIT_DAYS)} or (name, day) pairs")
        out.append((name, day))
    if not out:
        raise PhantomError("a trial needs at least one visit")
    return out


def plan_trial(subjects: int, seed: int = 0) -> list[SubjectPlan]:
    """Arms (2:1 in permuted blocks of 3; two subjects get one arm each) and trajectories for
    ``subjects`` subjects."""
    if subjects < 1:
        raise PhantomError(f"a trial needs at least one subject, got {subjects}")
    rng = np.random.default_rng([seed, 0x7121A1])
    arms: list[str] = []
    while len(arms) < subjects:
        arms.extend(rng.permutation(["MSC", "MSC", "Placebo"]).tolist())
    arms = arms[:subjects]
    if subjects == 2 and len(set(arms)) == 1:  # a two-subject trial still has both arms
        arms = rng.permutation(["MSC", "Placebo"]).tolist()
    plans: list[SubjectPlan] = []
    idx = {arm: [i for i, a in enumerate(arms) if a == arm] for arm in ARMS}
    # Stratified baselines per arm (Latin-hypercube), so small trials already show the planted effect.
    baseline = np.empty(subjects)
    for arm, members in idx.items():
        n = len(members)
        if n:
            u = (rng.permutation(n) + rng.uniform(0.1, 0.9, n)) / n
            baseline[members] = 15.0 + 23.0 * u
    msc = idx["MSC"]
    n_normal = int(round(MSC_NORMAL_SHARE * len(msc)))
    normal = set(rng.choice(msc, size=n_normal, replace=False).tolist()) if n_normal else set()
    first = date(2020, 3, 5)
    for i, arm in enumerate(arms):
        drop = rng.normal(0.42, 0.06) if arm == "MSC" else rng.normal(0.05, 0.06)
        plans.append(
            SubjectPlan(
                code=f"S{i + 1:03d}",
                arm=arm,
                seed=int(rng.integers(0, 2**31 - 1)),
                baseline_pct=float(baseline[i]),
                day10_drop=float(np.clip(drop, -0.1, 0.7)),
                speed=float(np.exp(rng.normal(0.0, 0.15))),
                normal_at_m12=i in normal,
                solid_share=float(rng.uniform(0.15, 0.3)),
                start=first + timedelta(days=int(rng.integers(0, 60))),
            )
        )
    return plans


def lesion_trajectory(plan: SubjectPlan, day: int) -> float:
    """Planned lesion % of lung volume for ``plan`` at ``day`` after baseline."""
    b = plan.baseline_pct
    if day <= 0:
        return b
    d10 = b * (1.0 - plan.day10_drop)
    if day <= 10:
        return b + (d10 - b) * day / 10.0
    days = [10] + [k for k, _ in _KNOTS[plan.arm]]
    fracs = [1.0 - plan.day10_drop] + [min(f * plan.speed, 1.0 - plan.day10_drop) for _, f in _KNOTS[plan.arm]]
    frac = float(np.interp(day, days, fracs))
    pct = b * frac
    if plan.normal_at_m12 and day >= 365:
        return 0.0
    if plan.normal_at_m12 and day > 180:
        # Fading out towards a normal CT: linear to zero at month 12.
        return pct * (365 - day) / (365 - 180)
    return max(pct, _RESIDUAL_FLOOR_PCT)


def _write_subject(args: tuple) -> list[dict[str, str]]:
    """Worker: write all visits of one subject; returns its manifest rows."""
    from quant.phantom.io import fake_phi_for, write_scan
    from quant.phantom.scan import make_scan

    plan, visits, root, size, trial_seed = args
    phi0 = fake_phi_for(plan.seed)
    rows = []
    for v, (name, day) in enumerate(visits):
        pct = lesion_trajectory(plan, day)
        # Consolidation organises and clears: the solid share falls over follow-up.
        share = plan.solid_share * (1.0 if day <= 28 else 0.6)
        scan = make_scan(size, plan.seed, lesion_pct=pct, solid_share=share, noise_seed=plan.seed * 31 + v + 1)
        study = plan.start + timedelta(days=day)
        scan_seed = (trial_seed * 1_000_003 + plan.seed * 17 + v) % (2**31)
        phi = dict(phi0)
        phi["StudyDate"] = study.strftime("%Y%m%d")
        phi["AccessionNumber"] = fake_phi_for(scan_seed)["AccessionNumber"]
        folder = Path(plan.code) / name
        write_scan(scan, Path(root) / folder, phi=phi, seed=scan_seed)
        rows.append(
            {
                "subject": plan.code,
                "visit": name,
                "visit_day": str(day),
                "series_folder": (folder / "dicom").as_posix(),
                "study_date": study.isoformat(),
            }
        )
    return rows


def make_trial(
    out: Path | str,
    subjects: int = 12,
    visits: Sequence[str | tuple[str, int]] = DEFAULT_VISITS,
    seed: int = 0,
    size: str = "small",
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    arm_names: tuple[str, str] = ARMS,
) -> TrialFiles:
    """Write a synthetic trial into ``out``: scans, ``manifest.csv`` and ``randomization.csv``.

    Args:
        out: trial folder (created). Scans go to ``out/<subject>/<visit>/`` (DICOM in ``dicom/``,
            truth beside it).
        subjects: number of subjects (randomised 2:1 MSC:Placebo).
        visits: visit names from :data:`VISIT_DAYS`, or (name, day) pairs.
        seed: makes the whole trial deterministic.
        size: phantom size per scan ("small" is the practical choice).
        progress: called as ``progress(done_scans, total_scans)``.
        workers: processes for writing subjects in parallel (None: up to 4, 1: in-process).
        arm_names: how ``randomization.csv`` spells the (MSC, Placebo) arms, e.g. ("UC-MSC", "placebo").
    """
    if len(arm_names) != 2 or len(set(arm_names)) != 2 or not all(n.strip() for n in arm_names):
        raise PhantomError(f"arm_names must be two different, non-empty names, not {arm_names!r}")
    spelled = dict(zip(ARMS, arm_names))
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    visit_days = _visit_days(visits)
    plans = plan_trial(subjects, seed)
    total = len(plans) * len(visit_days)
    jobs = [(p, visit_days, str(root), size, seed) for p in plans]
    n_workers = min(4, os.cpu_count() or 1, len(plans)) if workers is None else max(1, int(workers))
    rows: dict[str, list[dict[str, str]]] = {}
    done = 0
    if progress:
        progress(0, total)
    if n_workers == 1:
        for job in jobs:
            rows[job[0].code] = _write_subject(job)
            done += len(visit_days)
            if progress:
                progress(done, total)
    else:
        import multiprocessing

        with ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for job, result in zip(jobs, pool.map(_write_subject, jobs)):
                rows[job[0].code] = result
                done += len(visit_days)
                if progress:
                    progress(done, total)

    manifest = root / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["subject", "visit", "visit_day", "series_folder", "study_date"])
        w.writeheader()
        for p in plans:
            w.writerows(rows[p.code])
    randomization = root / "randomization.csv"
    with randomization.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "arm"])
        for p in plans:
            w.writerow([p.code, spelled[p.arm]])
    return TrialFiles(root, manifest, randomization)
