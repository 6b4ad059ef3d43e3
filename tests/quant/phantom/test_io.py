"""Writing phantoms to disk (DICOM + truth) and the ``lungread phantom`` command line."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest

from desktop.cli.main import main
from quant.phantom import load_truth, make_scan, write_scan


@pytest.fixture(scope="module")
def scan():
    return make_scan("small", seed=21, lesion_pct=14)


def test_write_scan_layout_and_truth_roundtrip(scan, tmp_path):
    out = write_scan(scan, tmp_path / "p", seed=5)
    assert out == tmp_path / "p"
    files = sorted((out / "dicom").glob("*.dcm"))
    assert len(files) == 80
    doc = json.loads((out / "truth.json").read_text())
    for key in ("lung_ml", "ggo_ml", "solid_ml", "lesion_ml", "lesion_pct", "solid_pct"):
        assert doc["truth"][key] == pytest.approx(scan.truth[key])
        assert doc[key] == doc["truth"][key]
    with np.load(out / "truth.npz") as z:
        assert {"hu", "lung_labels", "lesion_labels", "spacing", "origin", "direction"} <= set(z.files)
        assert np.array_equal(z["hu"], scan.volume.hu)
    back = load_truth(out)
    assert np.array_equal(back.lung_labels, scan.lung_labels)
    assert np.array_equal(back.lesion_labels, scan.lesion_labels)
    assert back.volume.same_geometry(scan.volume)
    assert back.truth == pytest.approx(scan.truth)


def test_fake_phi_is_written_and_overridable(scan, tmp_path):
    out = write_scan(scan, tmp_path / "p", seed=5, phi={"PatientName": "Doe^Jane", "PatientID": "X123"})
    ds = pydicom.dcmread(next((out / "dicom").glob("*.dcm")), stop_before_pixels=True)
    assert str(ds.PatientName) == "Doe^Jane" and ds.PatientID == "X123"
    for key in ("PatientBirthDate", "StudyDate", "InstitutionName", "ReferringPhysicianName", "AccessionNumber"):
        assert str(getattr(ds, key)).strip()
    doc = json.loads((out / "truth.json").read_text())
    assert doc["phi"]["InstitutionName"] == ds.InstitutionName
    other = write_scan(scan, tmp_path / "q", seed=6)
    ds2 = pydicom.dcmread(next((other / "dicom").glob("*.dcm")), stop_before_pixels=True)
    assert ds2.PatientID != ds.PatientID


@pytest.mark.parametrize(
    ("orientation", "reverse"), [("axial", False), ("axial", True), ("coronal", False), ("oblique", True)]
)
def test_written_series_loads_back_as_the_truth(scan, tmp_path, orientation, reverse):
    from quant.dicom.load import load_series

    out = write_scan(scan, tmp_path / orientation, orientation=orientation, reverse_z=reverse, seed=3)
    truth = load_truth(out)
    vol = load_series(out / "dicom")
    assert vol.shape == truth.volume.shape
    assert np.allclose(vol.spacing, truth.volume.spacing, atol=1e-4)
    assert np.allclose(vol.origin, truth.volume.origin, atol=1e-3)
    assert np.allclose(vol.direction, truth.volume.direction, atol=1e-6)
    assert np.array_equal(vol.hu, truth.volume.hu)
    if orientation == "oblique":
        assert np.degrees(np.arccos(vol.direction[2, 2])) == pytest.approx(15.0, abs=1e-3)


def test_cli_phantom_scan_writes_a_loadable_series(tmp_path, capsys):
    from quant.dicom.load import load_series

    out = tmp_path / "cli"
    assert main(["phantom", "scan", str(out), "--seed", "4", "--lesion-pct", "12", "--reverse-z"]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "12.00 %" in printed
    truth = load_truth(out)
    assert truth.truth["lesion_pct"] == pytest.approx(12.0, abs=0.05)
    assert np.array_equal(load_series(out / "dicom").hu, truth.volume.hu)


def test_cli_phantom_trial_writes_manifest(tmp_path, capsys):
    # One subject, two visits: the whole trial is exercised in test_phantom_trial.py.
    assert main(["phantom", "trial", str(tmp_path / "t"), "--subjects", "1", "--seed", "2", "--visits", "2"]) == 0
    out = capsys.readouterr().out
    assert "manifest.csv" in out and "randomization.csv" in out
    assert (tmp_path / "t" / "S001" / "DAY10" / "truth.json").is_file()
    assert not (tmp_path / "t" / "S001" / "DAY28").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["phantom"],
        ["phantom", "scan"],
        ["phantom", "scan", "OUT", "--size", "huge"],
        ["phantom", "scan", "OUT", "--lesion-pct", "75"],
        ["phantom", "scan", "OUT", "--lesion-pct", "lots"],
        ["phantom", "scan", "OUT", "--orientation", "sagittal"],
        ["phantom", "scan", "OUT", "--seed", "-1"],
        ["phantom", "trial", "OUT", "--subjects", "0"],
    ],
)
def test_cli_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_cli_out_is_a_file_exits_2_without_traceback(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["phantom", "scan", str(f)]) == 2
    err = capsys.readouterr().err
    assert "not a folder" in err and "Traceback" not in err


@pytest.mark.slow
def test_full_size_series_loads_back_identical(tmp_path):
    from quant.dicom.load import load_series

    scan = make_scan("full", seed=8, lesion_pct=10)
    out = write_scan(scan, tmp_path / "full", orientation="coronal", reverse_z=True, seed=8)
    vol = load_series(out / "dicom")
    assert vol.same_geometry(scan.volume)
    assert np.array_equal(vol.hu, scan.volume.hu)
