"""Masks exported for the sponsor name the patient by the trial's subject code only: no planted
name, ID, birth date or institution from the site's CT reaches the DICOM SEG (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pydicom

import db
from db.services import export_masks, generate_worklist, import_manifest
from tests.support.db_trial import make_accounts, read_input, sign_all, write_mini_trial

PHI = {"PatientName": "DOE^JOHN", "PatientID": "MRN123456", "PatientBirthDate": "19610305",
       "InstitutionName": "ST MARY HOSPITAL"}


def test_dicom_seg_carries_only_the_subject_code(tmp_path: Path) -> None:
    trial = write_mini_trial(tmp_path / "site", ["S1"], ["V1"], phi=PHI)
    database = db.connect(tmp_path / "t.sqlite")
    try:
        actors = make_accounts(database, {"boss": "manager", "r1": "reader", "r2": "reader"})
        assert import_manifest(database, actors["boss"], trial.manifest).ok
        generate_worklist(database, actors["boss"], seed=1, readers=["r1", "r2"])
        for reader in ("r1", "r2"):
            sign_all(database, actors[reader], lambda scan_id, slot: read_input(5.0, 1.0, shape=trial.shape))
        files = export_masks(database, actors["boss"], tmp_path / "out", formats=("seg",))
    finally:
        database.dispose()
    assert files
    for f in files:
        raw = f.path.read_bytes()
        for value in ("DOE", "JOHN", "MRN123456", "19610305", "ST MARY"):
            assert value.encode() not in raw, (f.path.name, value)
        ds = pydicom.dcmread(f.path)
        assert str(ds.PatientName) == ds.PatientID == "S1" and ds.PatientIdentityRemoved == "YES"
