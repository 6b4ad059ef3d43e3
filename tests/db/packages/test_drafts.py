"""A reader's master draft travels into their reading package: the case opens offline with the
same metrics and masks, and the signed read comes back as the task's next master revision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select

from db.models import AuditEvent, Read, ReadTask
from db.packages.export import export_package
from db.packages.merge import import_package
from db.packages.open import open_package
from db.services import authenticate, open_task, save_draft, worklist
from tests.support.db_trial import PASSWORD, read_input, write_mini_trial
from tests.support.packages import MASK_SHAPE, build_master, sign_offline


def test_master_draft_is_carried_and_the_signed_read_comes_back(tmp_path: Path) -> None:
    trial = write_mini_trial(tmp_path / "trial", ["S1", "S2"], ["V1"], shape=MASK_SHAPE)
    master = build_master(tmp_path / "master.sqlite", trial.manifest)
    r1 = master.actors["r1"]
    tasks = worklist(master.db, r1)
    started = tasks[0]
    online = read_input(7.25, 2.5, shape=MASK_SHAPE, seed=3)
    save_draft(master.db, r1, started.task_id, online)

    report = export_package(master.db, master.boss, "r1", tmp_path / "pkg")
    assert report.carried_drafts == 1 and report.n_tasks == len(tasks)

    pkg = open_package(report.path)
    try:
        actor = authenticate(pkg, "r1", PASSWORD)
        offline = {t.case_code: t for t in worklist(pkg, actor)}
        assert offline[started.case_code].status == "draft"
        assert all(t.status == "new" for code, t in offline.items() if code != started.case_code)
        case = open_task(pkg, actor, offline[started.case_code].task_id)
        assert case.draft is not None and case.draft.metrics["lesion_pct"] == 7.25
        assert np.array_equal(case.draft.lesion_labels, online.lesion_labels)
        assert np.array_equal(case.draft.lung_labels, online.lung_labels)
        carried = pkg.read(lambda s: [e.new_json for e in s.scalars(select(AuditEvent)
                                                                  .where(AuditEvent.action == "carry_draft"))])
        assert len(carried) == 1 and started.case_code in carried[0]
    finally:
        pkg.dispose()

    signed = sign_offline(report.path, "r1", lambda code: 9.0)
    result = import_package(master.db, master.boss, report.path)
    assert sorted(result.merged) == sorted(signed)

    def revisions(s):
        task = s.scalars(select(ReadTask).where(ReadTask.case_code == started.case_code)).one()
        return task.status, [(r.revision, r.status, r.lesion_pct)
                             for r in s.scalars(select(Read).where(Read.task_id == task.id).order_by(Read.revision))]

    status, revs = master.db.read(revisions)
    assert status == "signed" and revs == [(1, "draft", 7.25), (2, "signed", 9.0)]
    master.db.dispose()
