"""The analysis dataset of a trial: one endpoint value per scan and the double-read pairs.

:func:`analysis_dataset` reads the whole database in a handful of bulk queries (no query per scan:
``lungread stats`` on 100 subjects x 7 visits must stay well under 2 s) and hands the endpoint
analysis (:mod:`quant.analysis.tables`) plain records:

* :class:`quant.analysis.tables.EndpointRecord` per scan, resolved by the one endpoint rule,
  :func:`db.endpoints.rule.resolve` (adjudicated -> the chosen read; concordant -> mean
  of the two reads or reader 1; not evaluable -> missing with the reason; unfinished -> missing
  with ``pending: ...``), with the source read ids;
* :class:`quant.analysis.tables.ReadPair` per scan whose two independent reads are signed (reader pair
  named in alphabetical order, so A is always the same account of a pair), with whether the
  scan went to adjudication.

Visits are ordered by the charter's visit schedule when it has one, else by nominal study day
(then name); ``visit_num`` is the 1-based position in that order and ``visit_day`` the manifest's
nominal day. Arms come from the :class:`~db.models.Randomization` rows, which exist only after
unblinding, and are handed out only to a statistician: before unblinding (or to a manager) every
record has ``arm=None``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.charter import visit_order
from db.endpoints.rule import Adjudication, Resolution, SignedRead, resolve
from db.engine import Database
from db.models import AdjudicationTask, RandomisedSubject, Randomization, Read, ReadTask, Scan, Subject, User, Visit
from db.records import Actor
from db.security.access import charter_of, current_trial, lock_of, require_role, unblinding_of
from quant.analysis.population import DEFAULT_MITT_RULE
from quant.analysis.tables import EndpointRecord, ReadPair

__all__ = ["AnalysisDataset", "analysis_dataset", "collect_dataset", "visit_order"]

ANALYSIS_ROLES = ("manager", "statistician")


@dataclass(frozen=True)
class AnalysisDataset:
    """What the endpoint analysis needs, with the state it was taken in.

    ``records``: one per scan (subject x visit). ``pairs``: double reads for reader agreement.
    ``studyid``: the trial name. ``unblinded``: whether records carry arms. ``locked``: whether the
    database was locked. ``n_pending``: scans whose endpoint is not final (reads or adjudication
    unfinished); they are in ``records`` as missing with reason ``pending: ...``.
    ``endpoint_status``: scan id -> (``concordant`` | ``adjudicated`` | ``missing`` | ``pending``,
    source read ids), as :class:`db.records.EndpointValue` names them.
    """

    records: tuple[EndpointRecord, ...]
    pairs: tuple[ReadPair, ...]
    studyid: str
    unblinded: bool
    locked: bool
    n_pending: int
    visits: tuple[str, ...]
    endpoint_status: dict[int, tuple[str, tuple[int, ...]]]
    arms: tuple[str, ...] = ()  # the randomisation list's arms; empty while blinded
    treatment_arm: str | None = None  # the charter's names, if it gives them
    control_arm: str | None = None
    primary_visit: str | None = None  # the charter's analysis plan
    multiplicity: str = "holm"
    mitt_rule: str = DEFAULT_MITT_RULE
    randomised: tuple[tuple[str, str], ...] | None = None  # (subject, arm) of the whole list; None while blinded


def _record(base: dict, res: Resolution) -> EndpointRecord:
    missing = f"pending: {res.rule}" if res.status == "pending" else res.missing_reason
    return EndpointRecord(**base, lesion_pct=res.lesion_pct, solid_pct=res.solid_pct, normal_ct=res.normal_ct,
                          source_read_ids=res.source_read_ids, missing_reason=missing)


def collect_dataset(s: Session, *, with_arms: bool) -> AnalysisDataset:
    """Build the dataset inside an open session (no role check: callers check access first)."""
    trial = current_trial(s)
    charter = charter_of(trial)
    unblinded = unblinding_of(s, trial) is not None
    locked = lock_of(s, trial) is not None
    arms: dict[int, str] = {}
    randomised: tuple[tuple[str, str], ...] | None = None
    if with_arms and unblinded:
        arms = dict(s.execute(select(Randomization.subject_id, Randomization.arm)).all())
        randomised = tuple((code, arm) for code, arm in s.execute(
            select(RandomisedSubject.subject_code, RandomisedSubject.arm)
            .where(RandomisedSubject.trial_id == trial.id).order_by(RandomisedSubject.subject_code)))
        if not randomised:  # unblinded before revision 0003 kept the imaged subjects' arms only
            randomised = tuple((code, arm) for code, arm in s.execute(
                select(Subject.code, Randomization.arm).join(Randomization, Randomization.subject_id == Subject.id)
                .order_by(Subject.code)))

    scans = s.execute(
        select(Scan.id, Subject.id, Subject.code, Visit.name, Visit.visit_day)
        .join(Visit, Scan.visit_id == Visit.id).join(Subject, Visit.subject_id == Subject.id)
        .where(Subject.trial_id == trial.id)
    ).all()
    order = visit_order(charter, {(v, d) for _, _, _, v, d in scans})
    names = dict(s.execute(select(User.id, User.username)).all())

    tasks: dict[int, list[tuple[int, int, int, str]]] = defaultdict(list)  # scan -> (slot, task, reader, status)
    for tid, scan_id, reader_id, slot, status in s.execute(
        select(ReadTask.id, ReadTask.scan_id, ReadTask.reader_id, ReadTask.reader_slot, ReadTask.status)
    ):
        tasks[scan_id].append((slot, tid, reader_id, status))

    cols = (Read.id, Read.lesion_pct, Read.solid_pct, Read.normal_ct, Read.not_evaluable_reason)
    latest_signed: dict[int, tuple[int, SignedRead]] = {}  # task id -> (revision, its newest signed read)
    for task_id, revision, *row in s.execute(
        select(Read.task_id, Read.revision, *cols).where(Read.status == "signed", Read.task_id.is_not(None))
    ):
        old = latest_signed.get(task_id)
        if old is None or revision > old[0]:
            latest_signed[task_id] = (revision, SignedRead(*row))

    adjudications: dict[int, AdjudicationTask] = {}
    for adj in s.scalars(select(AdjudicationTask).where(AdjudicationTask.status != "cancelled")
                         .order_by(AdjudicationTask.id)):
        adjudications.setdefault(adj.scan_id, adj)
    chosen_ids = [a.chosen_read_id for a in adjudications.values() if a.chosen_read_id is not None]
    chosen: dict[int, SignedRead] = {}
    for i in range(0, len(chosen_ids), 500):  # bounded IN lists
        for row in s.execute(select(*cols).where(Read.id.in_(chosen_ids[i:i + 500]))):
            chosen[row[0]] = SignedRead(*row)

    records: list[EndpointRecord] = []
    pairs: list[ReadPair] = []
    status_of: dict[int, tuple[str, tuple[int, ...]]] = {}
    n_pending = 0
    for scan_id, subject_id, code, visit, _day in sorted(scans, key=lambda r: (r[2], order[r[3]][0])):
        vnum = order[visit][0]
        base = dict(subject=code, arm=arms.get(subject_id), visit=visit, visit_num=vnum, visit_day=_day)
        scan_tasks = sorted(tasks.get(scan_id, []))
        reads = [latest_signed[tid][1] if status == "signed" and tid in latest_signed else None
                 for _, tid, _, status in scan_tasks]
        adj = adjudications.get(scan_id)
        adjudication = None if adj is None else Adjudication(
            adj.status, adj.choice, chosen.get(adj.chosen_read_id) if adj.chosen_read_id is not None else None)
        res = resolve(charter, reads, adjudication)
        all_signed = len(reads) >= charter.readers_per_scan and all(r is not None for r in reads)
        if all_signed and len(scan_tasks) == 2:
            (_, _, ra, _), (_, _, rb, _) = scan_tasks
            a, b = reads[0], reads[1]
            assert a is not None and b is not None
            if names.get(rb, "") < names.get(ra, ""):  # alphabetical: the pair is the same either way
                ra, rb, a, b = rb, ra, b, a
            pairs.append(ReadPair(
                scan_id=scan_id, reader_a=names.get(ra, str(ra)), reader_b=names.get(rb, str(rb)),
                lesion_pct_a=None if a.not_evaluable_reason is not None else a.lesion_pct,
                lesion_pct_b=None if b.not_evaluable_reason is not None else b.lesion_pct,
                normal_a=None if a.not_evaluable_reason is not None else a.normal_ct,
                normal_b=None if b.not_evaluable_reason is not None else b.normal_ct,
                adjudicated=adj is not None, visit=visit, subject=code,
            ))
        record = _record(base, res)
        n_pending += res.status == "pending"
        records.append(record)
        status_of[scan_id] = (res.status, record.source_read_ids)
    return AnalysisDataset(
        records=tuple(records), pairs=tuple(pairs), studyid=trial.name, unblinded=bool(arms), locked=locked,
        n_pending=n_pending, visits=tuple(sorted(order, key=lambda n: order[n][0])), endpoint_status=status_of,
        arms=tuple(sorted(set(arms.values()))), treatment_arm=charter.treatment_arm, control_arm=charter.control_arm,
        primary_visit=charter.primary_visit, multiplicity=charter.multiplicity, randomised=randomised,
        mitt_rule=charter.mitt_rule,
    )


def analysis_dataset(db: Database, actor: Actor) -> AnalysisDataset:
    """Manager or statistician: the endpoint records and read pairs of the trial.

    Arms are filled in only for a statistician on an unblinded database; a manager always gets the
    blinded dataset (arm None). Records of unfinished scans are missing with ``pending: ...``.

    Raises:
        PermissionDenied: a reader or adjudicator asks (they must stay blind to other reads).
    """

    def work(s: Session) -> AnalysisDataset:
        user = require_role(s, actor, ANALYSIS_ROLES,
                            "only a manager (blinded) or a statistician may build the analysis dataset")
        return collect_dataset(s, with_arms=user.role == "statistician")

    return db.read(work)
