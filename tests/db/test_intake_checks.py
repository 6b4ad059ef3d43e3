"""A series is verified completely when a manifest is imported, so problems surface at intake and
not at a reader's screen: emptied or truncated files, another modality, one slice, duplicate or
missing geometry, absurd size claims (issue 18). The whole manifest is refused, nothing imported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import func, select

import db
from db.models import Scan
from db.services import import_manifest
from tests.support.db_trial import make_accounts, write_mini_trial


def _files(series: Path) -> list[Path]:
    return sorted(series.glob("*.dcm"), key=lambda f: int(pydicom.dcmread(f, stop_before_pixels=True).InstanceNumber))


def _empty_last(series: Path) -> None:
    for f in _files(series)[-2:]:
        f.write_bytes(b"")


def _truncate_pixels(series: Path) -> None:
    last = _files(series)[-1]
    last.write_bytes(last.read_bytes()[:-100])


def _set(series: Path, **values: object) -> None:
    for f in _files(series):
        ds = pydicom.dcmread(f)
        for key, value in values.items():
            setattr(ds, key, value)
        ds.save_as(f)


def _one_slice(series: Path) -> None:
    for f in _files(series)[1:]:
        f.unlink()


def _duplicate_position(series: Path) -> None:
    first, second = _files(series)[:2]
    ds = pydicom.dcmread(second)
    ds.ImagePositionPatient = pydicom.dcmread(first).ImagePositionPatient
    ds.save_as(second)


def _no_geometry(series: Path) -> None:
    for f in _files(series):
        ds = pydicom.dcmread(f)
        del ds.ImagePositionPatient
        ds.save_as(f)


def _copy_of_s1_with_a_new_uid(series: Path) -> None:
    """The site sends S1's images again as S2 (a new SeriesInstanceUID, same voxels)."""
    shutil.rmtree(series)
    shutil.copytree(series.parent.parent.parent / "S1" / "V1" / "dicom", series)
    _set(series, SeriesInstanceUID="1.2.826.0.1.3680043.2.1125.999")


@pytest.mark.parametrize("damage, expected", [
    (_empty_last, "not readable DICOM"),
    (_truncate_pixels, "cannot be read completely"),
    (lambda s: _set(s, Modality="MR"), "not CT"),
    (_one_slice, "cannot be read completely"),
    (_duplicate_position, "cannot be read completely"),
    (_no_geometry, "cannot be read completely"),
    (lambda s: _set(s, Rows=65535, Columns=65535), "over the 4096x4096 limit"),
    (lambda s: _set(s, BurnedInAnnotation="YES"), "BurnedInAnnotation=YES"),
    (_copy_of_s1_with_a_new_uid, "the same voxels as row 1"),
], ids=["emptied files", "truncated pixels", "MR", "one slice", "duplicate position", "no geometry", "65535 claim",
        "burned-in annotation", "same images twice"])
def test_a_damaged_series_refuses_the_manifest(tmp_path: Path, damage, expected: str) -> None:
    trial = write_mini_trial(tmp_path / "site", ["S1", "S2"], ["V1"])
    damage(tmp_path / "site" / "S2" / "V1" / "dicom")
    database = db.connect(tmp_path / "t.sqlite")
    try:
        boss = make_accounts(database, {"boss": "manager"})["boss"]
        report = import_manifest(database, boss, trial.manifest)
        assert not report.ok and len(report.errors) == 1, report.errors
        assert report.errors[0].row == 2 and expected in report.errors[0].message, report.errors[0].message
        assert database.read(lambda s: s.scalar(select(func.count(Scan.id)))) == 0
    finally:
        database.dispose()


def test_the_same_images_for_another_visit_later_are_refused_and_packages_still_export(tmp_path: Path) -> None:
    from db.services import export_package, generate_worklist

    trial = write_mini_trial(tmp_path / "site", ["S1", "S2"], ["V1"])
    database = db.connect(tmp_path / "t.sqlite")
    try:
        actors = make_accounts(database, {"boss": "manager", "r1": "reader", "r2": "reader"})
        assert import_manifest(database, actors["boss"], trial.manifest).ok
        generate_worklist(database, actors["boss"], seed=1, readers=["r1", "r2"])
        later = write_mini_trial(tmp_path / "later", ["S3"], ["V1"])
        shutil.rmtree(tmp_path / "later" / "S3" / "V1" / "dicom")
        shutil.copytree(tmp_path / "site" / "S1" / "V1" / "dicom", tmp_path / "later" / "S3" / "V1" / "dicom")
        _set(tmp_path / "later" / "S3" / "V1" / "dicom", SeriesInstanceUID="1.2.826.0.1.3680043.2.1125.998")
        report = import_manifest(database, actors["boss"], later.manifest)
        assert not report.ok and "imported before for another visit" in report.errors[0].message
        package = export_package(database, actors["boss"], "r1", tmp_path / "pkg")
        assert package.n_tasks == 2
    finally:
        database.dispose()
