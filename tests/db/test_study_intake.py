"""A site delivers a whole study: LungRead picks the series the reading rule asks for, says why,
lists what it did not take, refuses a tie, and the manager can name the series (issue 18)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset

import db
from db.services import import_manifest, intake_report
from desktop.cli.main import main
from quant.dicom.write import write_series
from quant.volume import Volume
from tests.support.db_trial import PASSWORD, make_accounts


def _series(study: Path, name: str, n: int, z_mm: float, kernel: str, description: str, *, seed: int,
            sagittal: bool = False, burned_in: bool = False, contrast: bool = False) -> str:
    rng = np.random.default_rng(seed)
    hu = rng.integers(-1000, 100, (n, 24, 24)).astype(np.int16)
    out = study / name
    write_series(Volume(hu, (z_mm, 1.0, 1.0)), out, slice_axis=2 if sagittal else 0, seed=seed,
                 series_description=description)
    uid = ""
    for f in out.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.ConvolutionKernel = kernel
        if burned_in:
            ds.BurnedInAnnotation = "YES"
        if contrast:
            ds.ContrastBolusAgent, ds.CTDIvol = "Iohexol 350", 3.5
        ds.save_as(f)
        uid = ds.SeriesInstanceUID
    return uid


def _dicomdir(study: Path) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    meta.MediaStorageSOPInstanceUID = "2.25.42"
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.FileSetID = "SITE01"
    ds.preamble = b"\0" * 128
    ds.save_as(study / "DICOMDIR", enforce_file_format=True)


def _delivery(root: Path) -> dict[str, str]:
    study = root / "S01" / "BASELINE"
    uids = {
        "scout": _series(study, "1", 2, 1.0, "B30f", "Topogram", seed=1, sagittal=False),
        "soft": _series(study, "2", 90, 2.0, "B30f", "Thorax 2.0 B30f", seed=2),
        "lung_thin": _series(study, "3", 90, 2.0, "B70f", "Lung 2.0 B70f", seed=3, contrast=True),
        "lung_thick": _series(study, "4", 40, 5.0, "B70f", "Lung 5.0 B70f", seed=4),
        "cut": _series(study, "5", 40, 2.0, "B70f", "Lung 2.0 B70f partial", seed=5),
        "burned": _series(study, "6", 90, 2.0, "B70f", "Lung 2.0 B70f with report", seed=6, burned_in=True),
    }
    _dicomdir(study)
    return uids


def _manifest(root: Path, series_uid: str = "") -> Path:
    path = root / "manifest.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["subject", "visit", "series_folder", "series_uid"])
        writer.writeheader()
        writer.writerow({"subject": "S01", "visit": "BASELINE", "series_folder": "S01/BASELINE", "series_uid": series_uid})
    return path


@pytest.fixture()
def manager(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = db.connect(tmp_path / "t.sqlite")
    boss = make_accounts(database, {"boss": "manager"})["boss"]
    yield database, boss
    database.dispose()


def test_the_lung_kernel_thin_series_is_chosen_and_the_rest_explained(tmp_path: Path, manager, capsys,
                                                                        monkeypatch) -> None:
    database, boss = manager
    uids = _delivery(tmp_path)
    report = import_manifest(database, boss, _manifest(tmp_path))
    assert report.ok, report.errors
    (line,) = intake_report(database, boss)
    assert line.kernel == "B70f" and line.n_slices == 90 and line.slice_mm == pytest.approx(2.0)
    assert line.selection.startswith("selected from 6 series") and "lung kernel" in line.selection
    why = "\n".join(line.not_chosen)
    assert "a scout" in why and "thicker than the protocol" in why and "the lungs are cut" in why
    assert "burned-in annotation" in why and "softer kernel" in why
    assert line.qc == "coverage 180 mm, gaps none, contrast yes, CTDIvol 3.5 mGy, 120 kVp" and line.stored
    from db.models import Scan

    assert database.read(lambda s: s.query(Scan).one().series_uid) == uids["lung_thin"]
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    assert main(["trial", "intake-report", "--db", database.url, "--user", "boss"]) == 0
    out = capsys.readouterr().out
    assert "S01\tBASELINE\t90 slices" in out and "not chosen:" in out and "coverage 180 mm" in out


def test_a_tie_is_refused_with_the_candidates(tmp_path: Path, manager) -> None:
    database, boss = manager
    study = tmp_path / "S01" / "BASELINE"
    _series(study, "a", 90, 2.0, "B70f", "Lung 2.0 B70f", seed=1)
    _series(study, "b", 90, 2.0, "B60f", "Lung 2.0 B60f", seed=2)
    report = import_manifest(database, boss, _manifest(tmp_path))
    assert not report.ok and "ambiguous" in report.errors[0].message and "B60f" in report.errors[0].message


def test_the_manager_can_name_the_series(tmp_path: Path, manager) -> None:
    database, boss = manager
    uids = _delivery(tmp_path)
    report = import_manifest(database, boss, _manifest(tmp_path, series_uid=uids["soft"]))
    assert report.ok, report.errors
    (line,) = intake_report(database, boss)
    assert line.kernel == "B30f" and "the manager's choice" in line.selection


def test_the_manager_overrides_the_selection_with_a_reason_before_any_read(tmp_path: Path, manager, capsys,
                                                                            monkeypatch) -> None:
    from db.models import AuditEvent, Scan
    from db.services import (
        PermissionDenied,
        WorkflowError,
        authenticate,
        create_user,
        generate_worklist,
        save_draft,
        select_series,
        trust_root,
        verify_trust,
        worklist,
    )
    from tests.support.db_trial import read_input

    database, boss = manager
    uids = _delivery(tmp_path)
    assert import_manifest(database, boss, _manifest(tmp_path)).ok
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    url = database.url
    # Without --series-uid the command lists the delivery's series, marking the one read now.
    assert main(["trial", "select-series", "S01", "BASELINE", "--db", url, "--user", "boss"]) == 0
    listing = capsys.readouterr().out
    assert f"* {uids['lung_thin']}" in listing and f"  {uids['soft']}" in listing
    # A reason is required; a series that fails intake (burned-in text) is refused and nothing changes.
    assert main(["trial", "select-series", "S01", "BASELINE", "--series-uid", uids["soft"], "--db", url,
                 "--user", "boss"]) == 2
    assert "--reason is required" in capsys.readouterr().err
    with pytest.raises(WorkflowError, match="BurnedInAnnotation"):
        select_series(database, boss, "S01", "BASELINE", uids["burned"], "site asked")
    create_user(database, boss, "r1", "reader", PASSWORD)
    r1 = authenticate(database, "r1", PASSWORD)
    with pytest.raises(PermissionDenied):
        select_series(database, r1, "S01", "BASELINE", uids["soft"], "I prefer it")
    store_before = {p.name for p in (tmp_path / "t-images").glob("??/*")}
    assert main(["trial", "select-series", "S01", "BASELINE", "--series-uid", uids["soft"], "--reason",
                 "site: the B70f series is the wrong phase", "--db", url, "--user", "boss"]) == 0
    (line,) = intake_report(database, boss)
    assert line.kernel == "B30f" and "chosen by the manager after import: site: the B70f" in line.selection
    assert "the earlier selection" in line.not_chosen[0] and "Lung 2.0 B70f" in line.not_chosen[0]
    scan = database.read(lambda s: s.query(Scan).one())
    assert scan.series_uid == uids["soft"] and scan.store_hash not in store_before
    assert (tmp_path / "t-images" / scan.store_hash[:2] / scan.store_hash / "0000.dcm").is_file()
    event = database.read(lambda s: s.query(AuditEvent).filter_by(action="select_series").one())
    assert event.signature and uids["lung_thin"] in event.old_json and event.reason.startswith("site:")
    assert verify_trust(database, trust_root(database)).ok
    # Once a reader saved work on the scan, its series no longer changes.
    create_user(database, boss, "r2", "reader", PASSWORD)
    generate_worklist(database, boss, seed=1, readers=["r1", "r2"])
    task = worklist(database, r1)[0]
    save_draft(database, r1, task.task_id, read_input(5.0, 1.0, shape=(90, 24, 24)))
    with pytest.raises(WorkflowError, match="already has saved reads"):
        select_series(database, boss, "S01", "BASELINE", uids["lung_thin"], "changed my mind")
