"""One planted-PHI delivery, followed everywhere (issue 18): no planted name, ID, date or
institution string from the site's CT headers or free text reaches a file a reader can open (the
image store, a reading package with its database, the worklist and cases), an export meant for
the sponsor (reads, analysis, DICOM SEG, NIfTI), or ``lungread info`` without ``--phi``."""

from __future__ import annotations

from pathlib import Path

import pydicom

import db
from db.services import (
    export_analysis,
    export_masks,
    export_package,
    export_reads,
    generate_worklist,
    import_manifest,
    lock_database,
    open_task,
    unblind,
    worklist,
)
from desktop.cli.main import main
from tests.support.db_trial import make_accounts, read_input, sign_all, write_mini_trial

PHI = {"PatientName": "DOE^JOHN", "PatientID": "MRN123456", "PatientBirthDate": "19610305",
       "StudyDate": "19990413", "InstitutionName": "ST MARY HOSPITAL", "ReferringPhysicianName": "PLANTREF^DOC",
       "AccessionNumber": "ACCPLANT5521"}
FREE_TEXT = "DOE JOHN MRN123456 1961-03-05 ST MARY"
SECRETS = ("DOE", "JOHN", "MRN123456", "19610305", "1961-03-05", "19990413", "ST MARY", "PLANTREF", "ACCPLANT5521")


def _plant_free_text(folder: Path) -> None:
    for f in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.SeriesDescription = FREE_TEXT
        ds.ImageComments = FREE_TEXT
        ds.StudyDescription = FREE_TEXT
        ds.save_as(f)


def _assert_no_secret(where: str, data: bytes) -> None:
    for secret in SECRETS:
        assert secret.encode() not in data, f"{secret!r} in {where}"


def _every_file(root: Path) -> list[Path]:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files, f"nothing under {root}"
    return files


def test_planted_phi_reaches_no_reader_file_no_sponsor_export_and_no_info(tmp_path: Path, monkeypatch, capsys) -> None:
    site = write_mini_trial(tmp_path / "site", ["S1", "S2"], ["V1"], phi=PHI)
    _plant_free_text(site.root)
    planted = next(site.root.rglob("*.dcm")).read_bytes()
    assert all(secret.encode() in planted for secret in ("DOE", "MRN123456", "19610305", "ST MARY", FREE_TEXT))
    database = db.connect(tmp_path / "t.sqlite")
    try:
        actors = make_accounts(database)
        boss = actors["boss"]
        assert import_manifest(database, boss, site.manifest).ok
        generate_worklist(database, boss, seed=1, readers=["r1", "r2"])
        # The image store: every byte of every file.
        for f in _every_file(tmp_path / "t-images"):
            _assert_no_secret(f"store file {f}", f.read_bytes())
        # What a reader's services hand out: the worklist, the case views and their image files.
        _assert_no_secret("worklist", repr(worklist(database, actors["r1"])).encode())
        for task in worklist(database, actors["r1"]):
            case = open_task(database, actors["r1"], task.task_id, with_masks=False)
            _assert_no_secret("case view", repr(case).encode())
            for f in case.series_files:
                _assert_no_secret(f"case file {f}", f.read_bytes())
        # A reading package: its images, its reading database, its manifest.
        package = export_package(database, boss, "r1", tmp_path / "pkg")
        for f in _every_file(package.path):
            _assert_no_secret(f"package file {f}", f.read_bytes())
        # The sponsor's exports after lock and unblinding.
        for reader in ("r1", "r2"):
            sign_all(database, actors[reader], lambda scan_id, slot: read_input(5.0, 1.0, shape=site.shape))
        lock_database(database, boss)
        unblind(database, actors["stat"], site.randomization)
        out = tmp_path / "sponsor"
        export_reads(database, actors["stat"], out / "reads.csv")
        export_analysis(database, actors["stat"], out / "analysis", figures=False, report=False,
                        treatment="ARM-ALPHA", control="ARM-BETA")
        masks = export_masks(database, actors["stat"], out / "masks", formats=("seg", "nifti"))
        assert {m.path.name.split(".")[-1] for m in masks} >= {"dcm", "gz"}
        for f in _every_file(out):
            _assert_no_secret(f"sponsor export {f}", f.read_bytes())
        seg = next(pydicom.dcmread(m.path) for m in masks if m.path.name.endswith(".seg.dcm"))
        assert str(seg.PatientName) == seg.PatientID in ("S1", "S2") and seg.PatientIdentityRemoved == "YES"
    finally:
        database.dispose()
    # lungread info: no PHI unless asked; with --phi the manager sees it (so the plant is real).
    series = site.root / "S1" / "V1" / "dicom"
    capsys.readouterr()
    assert main(["info", str(series)]) == 0
    _assert_no_secret("lungread info", capsys.readouterr().out.encode())
    assert main(["info", "--phi", str(series)]) == 0
    assert "DOE" in capsys.readouterr().out
