"""The images of a case are re-checked against the hash recorded at intake before they are shown
(`check_case_images`, run by the desktop's load worker): a subject's files replaced by another
subject's are refused with a clear message (issue 18)."""

from __future__ import annotations

import shutil
from pathlib import Path

import db
from db.services import WorkflowError, check_case_images, generate_worklist, import_manifest, open_task, worklist
from tests.support.db_trial import make_accounts, write_mini_trial


def test_swapped_images_are_refused_when_a_case_opens(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LUNGREAD_DATA_DIR", str(tmp_path / "data"))
    trial = write_mini_trial(tmp_path / "site", ["S1", "S2"], ["V1"])
    database = db.connect(tmp_path / "t.sqlite")
    try:
        actors = make_accounts(database, {"boss": "manager", "r1": "reader", "r2": "reader"})
        assert import_manifest(database, actors["boss"], trial.manifest).ok
        generate_worklist(database, actors["boss"], seed=1, readers=["r1", "r2"])
        r1 = actors["r1"]
        tasks = worklist(database, r1)
        for task in tasks:  # intact: both pass
            case = open_task(database, r1, task.task_id, with_masks=False)
            check_case_images(case.series_files, case.content_hash, case.case_code)
        s1, s2 = (tmp_path / "site" / s / "V1" / "dicom" for s in ("S1", "S2"))
        # The site "re-sends" S1 with S2's images under S1's file names.
        for mine, theirs in zip(sorted(s1.glob("*.dcm")), sorted(s2.glob("*.dcm")), strict=True):
            shutil.copy2(theirs, mine)
        refused = 0
        for task in tasks:
            case = open_task(database, r1, task.task_id, with_masks=False)
            try:
                check_case_images(case.series_files, case.content_hash, case.case_code)
            except WorkflowError as exc:
                assert "changed since they were imported" in str(exc)
                refused += 1
        assert refused == 1
    finally:
        database.dispose()
