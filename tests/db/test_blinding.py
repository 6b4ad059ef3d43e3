"""Blinding: planted PHI, subject codes, visit names and dates never reach a reader or adjudicator.

Unique strings go into the DICOM PHI fields, the subject codes, the visit names, the study dates and
(through those) the folder paths. Every reader- and adjudicator-facing service result, every error
message they can provoke, and the output of ``lungread worklist show`` must contain none of them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

import db
from db.models import ReadTask
from db.services import (
    PermissionDenied,
    adjudication_queue,
    generate_worklist,
    import_manifest,
    next_task,
    open_adjudication,
    open_task,
    save_draft,
    sign_read,
    worklist,
)
from desktop.cli.main import main as cli_main
from tests.support.db_trial import PASSWORD, make_accounts, read_input, write_mini_trial

PHI = {
    "PatientName": "Zyxplanted^Quorvina",
    "PatientID": "PIDPLANT7731",
    "PatientBirthDate": "19230517",
    "StudyDate": "19990413",
    "InstitutionName": "Hospital Plantedvale",
    "ReferringPhysicianName": "Dr^Plantreferrer",
    "AccessionNumber": "ACCPLANT5521",
}
SUBJECTS = ["SUBJPLANTA01", "SUBJPLANTB02"]
VISITS = ["VISPLANTBASE", "VISPLANTWK2"]
STUDY_DATE = "19870611"


def _planted() -> list[str]:
    return [*PHI.values(), "Zyxplanted", "Quorvina", "Plantedvale", "Plantreferrer", *SUBJECTS, *VISITS, STUDY_DATE]


def _assert_clean(label: str, value: object) -> None:
    text = repr(value)
    for secret in _planted():
        assert secret not in text, f"{secret!r} leaked through {label}: {text[:300]}"


def test_reader_and_adjudicator_results_carry_no_identifying_string(tmp_path: Path, monkeypatch, capsys):
    trial = write_mini_trial(tmp_path / "data", SUBJECTS, VISITS, phi=PHI)
    # plant a study date in the manifest too
    rows = list(csv.DictReader(open(trial.manifest, newline="")))
    for r in rows:
        r["study_date"] = STUDY_DATE
    with open(trial.manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    url = str(tmp_path / "blind.sqlite")
    database = db.connect(url)
    actors = make_accounts(database)
    boss, r1, r2, adj_a, adj_b = (actors[n] for n in ("boss", "r1", "r2", "adj_a", "adj_b"))
    assert import_manifest(database, boss, trial.manifest).ok
    generate_worklist(database, boss, seed=3)  # readers r1, r2 only
    # The DICOM PHI is not copied into the database at all.
    with database.engine.connect() as conn:
        dump = " ".join(str(v) for t in ("scans", "visits", "subjects", "audit_events")
                        for row in conn.exec_driver_sql(f"SELECT * FROM {t}") for v in row)
    for secret in PHI.values():
        assert secret not in dump

    results: list[tuple[str, object]] = []
    for actor in (r1, r2):
        results.append(("worklist", worklist(database, actor)))
        while (task := next_task(database, actor)) is not None:
            results.append(("next_task", task))
            case = open_task(database, actor, task.task_id)
            results.append(("open_task", case))
            results.append(("series files", [str(p.resolve()) for p in case.series_files]))  # the store: no names
            results.append(("blinded dir listing", sorted(p.name for p in case.series_dir.iterdir())))
            lesion = 20.0 if actor is r1 else 40.0  # discordant: every pair goes to adjudication
            read = read_input(lesion, 1.0, shape=(trial.shape))
            results.append(("save_draft", save_draft(database, actor, task.task_id, read)))
            results.append(("sign_read", sign_read(database, actor, task.task_id, read, PASSWORD, "I am the author")))
            results.append(("open_task signed", open_task(database, actor, task.task_id)))
        results.append(("worklist after", worklist(database, actor)))
    # error messages a reader can provoke about someone else's case
    with database.session() as s:
        other = s.scalars(select(ReadTask).where(ReadTask.reader_id == r2.user_id)).first()
    with pytest.raises(PermissionDenied) as err:
        open_task(database, r1, other.id)
    results.append(("permission error", str(err.value)))

    n_adj = 0
    for actor in (adj_a, adj_b):
        queue = adjudication_queue(database, actor)
        results.append(("adjudication_queue", queue))
        for item in queue:
            view = open_adjudication(database, actor, item.adjudication_id)
            results.append(("open_adjudication", view))
            results.append(("read A/B", (view.read_a, view.read_b)))
            n_adj += 1
    assert n_adj == len(SUBJECTS) * len(VISITS)
    for label, value in results:
        _assert_clean(label, value)

    # the command line shows a reader only what that reader may see
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    capsys.readouterr()
    for user in ("r1", "adj_a"):
        assert cli_main(["worklist", "show", "--db", url, "--user", user]) == 0
        out = capsys.readouterr()
        _assert_clean(f"worklist show --user {user}", out.out + out.err)
        if user == "r1":
            codes = {t.case_code for t in worklist(database, r1)}
            assert all(code in out.out for code in codes) and codes
    database.dispose()


@pytest.mark.parametrize("sequential", [False, True])
def test_sequential_reading_shows_the_baseline_and_nothing_more(tmp_path, sequential):
    """Charter option off (default): a follow-up opens alone. On: it comes with the same subject's
    baseline under the reader's own random case code, with the reader's own signed baseline mask
    (never another reader's), and still without subject, visit or date."""
    from dataclasses import replace

    from db.models import Scan, Subject, Visit
    from db.services import get_trial, set_charter

    visits = ["BASEPLANTVISIT", "FOLLOWPLANTVISIT"]
    trial = write_mini_trial(tmp_path / "data", ["SUBJPLANT01"], visits)
    database = db.connect(tmp_path / "seq.sqlite")
    a = make_accounts(database)
    assert import_manifest(database, a["boss"], trial.manifest).ok
    if sequential:
        set_charter(database, a["boss"], replace(get_trial(database).charter, sequential_reading=True,
                                                 visits=tuple(visits)), "SAP: sequential reading")
    generate_worklist(database, a["boss"], seed=3)
    with database.session() as s:
        visit_of = {t.id: s.get(Visit, s.get(Scan, t.scan_id).visit_id).name
                    for t in s.scalars(select(ReadTask).where(ReadTask.reader_id == a["r1"].user_id))}
        code_of = {t.id: t.case_code for t in s.scalars(select(ReadTask))}
    base_task = next(t for t, v in visit_of.items() if v == visits[0])
    follow_task = next(t for t, v in visit_of.items() if v == visits[1])
    follow = open_task(database, a["r1"], follow_task)
    assert open_task(database, a["r1"], base_task).reference is None  # the baseline itself: nothing beside it
    if not sequential:
        assert follow.reference is None
        return
    ref = follow.reference
    assert ref is not None and ref.case_code == code_of[base_task] and ref.lesion_labels is None  # not signed yet
    # r2 signs their baseline read first: r1 must never see r2's mask.
    r2_base = next(t for t in code_of if t != base_task and t != follow_task and
                   database.read(lambda s, t=t: s.get(ReadTask, t).reader_id) == a["r2"].user_id
                   and database.read(lambda s, t=t: s.get(Visit, s.get(Scan, s.get(ReadTask, t).scan_id).visit_id).name)
                   == visits[0])
    sign_read(database, a["r2"], r2_base, read_input(30.0, 5.0, shape=trial.shape, seed=2), PASSWORD, "I read it")
    assert open_task(database, a["r1"], follow_task).reference.lesion_labels is None
    mine = read_input(10.0, 2.0, shape=trial.shape, seed=1)
    sign_read(database, a["r1"], base_task, mine, PASSWORD, "I read it")
    ref = open_task(database, a["r1"], follow_task).reference
    assert np.array_equal(ref.lesion_labels, mine.lesion_labels)
    text = repr(ref) + " ".join(str(p) for p in ref.series_files) + str(ref.series_dir)
    for word in (*visits, "SUBJPLANT01", "20200101", "20200102"):
        assert word not in text
    with database.session() as s:
        assert s.scalars(select(Subject)).one().code == "SUBJPLANT01"
    database.dispose()
