"""De-identification of reading packages (issue 8): planted PHI never reaches any byte of the
package, UIDs are replaced consistently per series, pixel data is bit-identical, and the reader
database holds only the reader's own tasks, account and placeholders."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from sqlalchemy import select

from db.models import ReadTask, Scan, Subject, User, Visit
from db.packages.export import PLACEHOLDER_SUBJECT, export_package
from db.packages.open import open_package
from db.services import authenticate, sign_read, worklist
from tests.support.db_trial import PASSWORD, read_input
from tests.support.packages import MEANING, build_master

PHI = {
    "PatientName": "QZXNAMEPLANT^ALPHA",
    "PatientID": "QZXPID4471",
    "PatientBirthDate": "19010203",
    "StudyDate": "19020304",
    "InstitutionName": "QZX INSTITUTION PLANT",
    "ReferringPhysicianName": "QZXREFDOC^BETA",
    "AccessionNumber": "QZXACC9931",
}
PRIVATE = "QZXPRIVATEPLANT"
SUBJECTS = ("QZXSUBJA", "QZXSUBJB")
VISITS = ("QZXVISITONE", "QZXVISITTWO")


def _planted_trial(root: Path) -> Path:
    """2 subjects x 2 visits of tiny series with planted PHI, a private tag, and planted folder names."""
    from quant.dicom.write import write_series
    from quant.volume import Volume

    rng = np.random.default_rng(3)
    rows = []
    for s_i, subject in enumerate(SUBJECTS):
        for v_i, visit in enumerate(VISITS):
            out = root / subject / visit
            hu = rng.integers(-1000, 300, size=(5, 12, 14)).astype(np.int16)
            ts = "1.2.840.10008.1.2.4.70" if (s_i, v_i) == (0, 0) else None  # one compressed series
            write_series(Volume(hu, (2.5, 1.5, 1.5)), out, phi=dict(PHI), private_tag_value=PRIVATE,
                         seed=10 * s_i + v_i, transfer_syntax=ts)
            rows.append({"subject": subject, "visit": visit, "visit_day": str(v_i), "series_folder": f"{subject}/{visit}",
                         "study_date": "19020304"})
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return manifest


def _planted() -> list[bytes]:
    values = list(PHI.values()) + [PRIVATE, *SUBJECTS, *VISITS]
    out = [v.encode() for v in values] + [v.encode("utf-16-le") for v in values]
    out += [PHI["PatientName"].split("^")[0].encode(), PHI["ReferringPhysicianName"].split("^")[0].encode()]
    return out


def _assert_clean(files: list[Path], extra: list[bytes] = ()) -> None:  # type: ignore[assignment]
    needles = _planted() + list(extra)
    assert files
    for f in files:
        data = f.read_bytes()
        for needle in needles:
            assert needle not in data, f"{needle!r} found in {f}"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """Master with the planted trial and reader r1's package (shared: the tests only add to it)."""
    root = tmp_path_factory.mktemp("deid")
    manifest = _planted_trial(root / "trial")
    master = build_master(root / "master.sqlite", manifest)
    return master, export_package(master.db, master.boss, "r1", root / "pkg")


def _source_uids(master) -> list[bytes]:
    out = []
    for scan in master.db.read(lambda s: list(s.scalars(select(Scan)))):
        for name in json.loads(scan.files_json):
            ds = dcmread(Path(scan.folder) / name, stop_before_pixels=True)
            out += [str(ds.StudyInstanceUID).encode(), str(ds.SeriesInstanceUID).encode(),
                    str(ds.SOPInstanceUID).encode(), str(ds.FrameOfReferenceUID).encode()]
    return out


def test_no_planted_string_in_any_byte(exported, tmp_path: Path) -> None:
    master, report = exported
    root = report.path
    source_uids = _source_uids(master)
    _assert_clean([p for p in root.rglob("*") if p.is_file()], source_uids)
    # Read offline (drafts, a signature, WAL): still nothing, including the -wal file while open.
    pkg = open_package(root)
    actor = authenticate(pkg, "r1", PASSWORD)
    sign_read(pkg, actor, worklist(pkg, actor)[0].task_id, read_input(3.0, 1.0, shape=(5, 12, 14)), PASSWORD, MEANING)
    files_open = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.name.endswith("-wal") for p in files_open)
    _assert_clean(files_open, source_uids)
    pkg.dispose()
    _assert_clean([p for p in root.rglob("*") if p.is_file()], source_uids)
    # The zip variant holds the same clean content.
    z = export_package(master.db, master.boss, "r2", tmp_path / "pkg2", zip_package=True)
    out = tmp_path / "unzipped"
    with zipfile.ZipFile(z.path) as zf:
        zf.extractall(out)
    _assert_clean([p for p in out.rglob("*") if p.is_file()], source_uids)


def test_uids_consistent_and_pixels_identical(exported) -> None:
    master, report = exported
    body = json.loads((report.path / "manifest.json").read_text())["body"]
    by_code = master.db.read(lambda s: {t.case_code: s.get(Scan, t.scan_id) for t in s.scalars(select(ReadTask))})
    new_series = set()
    for entry in body["tasks"]:
        scan = by_code[entry["case_code"]]
        sources = [dcmread(Path(scan.folder) / n) for n in json.loads(scan.files_json)]
        outs = [dcmread(report.path / entry["folder"] / n) for n in entry["files"]]
        assert len(outs) == len(sources) == 5
        for key in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
            values = {str(getattr(d, key)) for d in outs}
            assert len(values) == 1 and values != {str(getattr(sources[0], key))}
        assert str(outs[0].SeriesInstanceUID) == entry["series_uid"]
        new_series.add(entry["series_uid"])
        sops = [str(d.SOPInstanceUID) for d in outs]
        assert len(set(sops)) == 5 and not set(sops) & {str(d.SOPInstanceUID) for d in sources}
        assert all(str(d.file_meta.MediaStorageSOPInstanceUID) == str(d.SOPInstanceUID) for d in outs)
        for src, out in zip(sources, outs):
            assert out.PixelData == src.PixelData  # bit-identical, compressed or not
            assert out.file_meta.TransferSyntaxUID == src.file_meta.TransferSyntaxUID
            assert out.PatientIdentityRemoved == "YES" and out.PatientName == entry["case_code"]
            assert not any(e.tag.is_private for e in out)
            assert out.StudyDate == "" and out.PatientBirthDate == "" and "InstitutionName" not in out
            assert np.array_equal(out.pixel_array, src.pixel_array)
    assert len(new_series) == 4


def test_package_database_holds_only_the_readers_work(exported) -> None:
    master, report = exported
    pkg = open_package(report.path)
    try:
        users, subjects, visits, tasks = pkg.read(lambda s: (
            [(u.username, u.role) for u in s.scalars(select(User))], [x.code for x in s.scalars(select(Subject))],
            [v.name for v in s.scalars(select(Visit))], [t.case_code for t in s.scalars(select(ReadTask))]))
    finally:
        pkg.dispose()
    master_r1 = master.db.read(lambda s: sorted(t.case_code for t in s.scalars(
        select(ReadTask).join(User, User.id == ReadTask.reader_id).where(User.username == "r1"))))
    assert users == [("r1", "reader")]
    assert subjects == [PLACEHOLDER_SUBJECT]
    assert sorted(visits) == sorted(tasks) == master_r1  # visits are opaque placeholders named by case code
    # The reader's own password works offline; nobody else's account exists there.
    pkg = open_package(report.path)
    try:
        assert authenticate(pkg, "r1", PASSWORD).username == "r1"
    finally:
        pkg.dispose()


def test_uid_mapping_is_keyed_and_deterministic(tmp_path: Path) -> None:
    from quant.dicom.deidentify import DeidentificationError, UidMapper, deidentify_file

    a, b = UidMapper(b"key-a"), UidMapper(b"key-b")
    uid = "1.2.840.113619.2.55.3.604688119.969.1268071029.320"
    assert a(uid) == UidMapper(b"key-a")(uid) and a(uid) != b(uid) and a(uid) != a(uid + "1")
    assert a(uid).startswith("2.25.") and len(a(uid)) <= 64 and a.mapping[uid] == a(uid)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom at all")
    with pytest.raises(DeidentificationError, match="cannot read it as DICOM"):
        deidentify_file(junk, tmp_path / "out.dcm", a, patient_label="X")


def test_burned_in_annotation_is_never_packaged(tmp_path: Path) -> None:
    from quant.dicom.deidentify import DeidentificationError, UidMapper, deidentify_file
    from quant.dicom.write import write_series
    from quant.volume import Volume

    write_series(Volume(np.zeros((2, 8, 8), np.int16), (2.5, 1.0, 1.0)), tmp_path / "s")
    src = next((tmp_path / "s").glob("*.dcm"))
    ds = dcmread(src)
    ds.BurnedInAnnotation = "YES"
    ds.save_as(src)
    with pytest.raises(DeidentificationError, match="BurnedInAnnotation=YES"):
        deidentify_file(src, tmp_path / "out.dcm", UidMapper(b"k"), patient_label="X")
    assert not (tmp_path / "out.dcm").exists()
