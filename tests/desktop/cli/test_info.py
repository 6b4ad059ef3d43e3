"""``lungread info PATH``: de-identified series summaries; user errors exit 2 without traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydicom

from desktop.cli.main import main
from quant.dicom.write import write_series
from tests.support.dicom_cases import synthetic_volume
from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT
SECRETS = ("ZANZIBAR", "PETRONELLA", "PID-4242-XYZ", "19450817", "20200409", "St. Secret Clinic", "PRIVATE-NOTE-99")


def _write(folder: Path) -> None:
    phi = {
        "PatientName": "ZANZIBAR^PETRONELLA",
        "PatientID": "PID-4242-XYZ",
        "PatientBirthDate": "19450817",
        "StudyDate": "20200409",
        "InstitutionName": "St. Secret Clinic",
    }
    vol = synthetic_volume(shape=(6, 24, 20))
    write_series(vol, folder / "ax", phi=phi, private_tag_value="PRIVATE-NOTE-99",
                 series_description="Chest ZANZIBAR 20200409")
    write_series(vol, folder / "cor", phi=phi, slice_axis=1, series_description="Coronal MPR")


def test_info_prints_deidentified_summaries(tmp_path, capsys):
    _write(tmp_path)
    (tmp_path / "readme.txt").write_text("ZANZIBAR notes")
    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0] == "2 series found; 1 file(s) skipped (not DICOM or unreadable)"
    assert "CT | Chest | 6 slices | 24x20 | axial 0.80x0.70x2.50 mm" in out
    assert "CT | Coronal MPR | 24 slices | 6x20 | coronal" in out
    for secret in SECRETS:
        assert secret not in out
    uid = pydicom.dcmread(next((tmp_path / "ax").glob("*.dcm"))).SeriesInstanceUID
    assert uid not in out  # UIDs only with --keys
    assert main(["info", "--keys", str(tmp_path)]) == 0
    assert f"key: {uid}" in capsys.readouterr().out


def test_info_bad_path_exits_2_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "desktop.cli.main", "info", str(tmp_path / "missing")],
        capture_output=True, text=True, cwd=REPO,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "missing: no such file or folder" in proc.stderr
    assert proc.stdout == ""


def test_info_folder_without_dicom_exits_2(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("x")
    assert main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no DICOM image files found" in err and "Traceback" not in err
