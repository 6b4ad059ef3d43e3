"""Blinding: planted PHI, subject codes, visit names and dates never reach a reader or adjudicator.

Unique strings go into the DICOM PHI fields, the subject codes, the visit names, the study dates and
(through those) the folder paths. Every reader- and adjudicator-facing service result, every error
message they can provoke, and the output of ``lungread worklist show`` must contain none of them.
"""

from __future__ import annotations

import csv
from pathlib import Path

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
            results.append(("series files", [str(p.resolve().name) for p in case.series_files]))
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
