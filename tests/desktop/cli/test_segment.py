"""``lungread segment`` on DICOM folders written by the phantom: JSON on stdout, masks, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from desktop.cli.main import main
from quant.volume import Volume
from tests.support.overlap import dice


@pytest.fixture(scope="module")
def phantom_dir(tmp_path_factory):
    from quant.phantom import make_scan
    from quant.phantom.io import write_scan

    scan = make_scan("small", 23, lesion_pct=20.0, consolidation=0.5)
    return scan, write_scan(scan, tmp_path_factory.mktemp("phantom") / "scan", seed=23)


def test_cli_json_and_nifti_masks(phantom_dir, tmp_path, capsys):
    import nibabel as nib

    from quant.dicom.load import load_series
    from quant.dicom.mask_export import nifti_affine

    scan, folder = phantom_dir
    out = tmp_path / "masks"
    code = main(["segment", str(folder / "dicom"), "--json", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)  # exactly one JSON document on stdout
    assert data["algorithm_version"] and len(data["protocol_hash"]) == 64
    assert isinstance(data["qc_flags"], list)
    assert all(set(f) == {"code", "message"} for f in data["qc_flags"])
    # 3 mm slices: thicker than the protocol allows for lesion quantification
    assert "thick_slices" in [f["code"] for f in data["qc_flags"]]
    assert data["suggested_normal"] is False

    volume = load_series(folder / "dicom")
    lung_img = nib.load(out / "lung_labels.nii.gz")
    np.testing.assert_allclose(lung_img.affine, nifti_affine(volume), atol=1e-4)
    lungs = np.asarray(lung_img.dataobj).transpose(2, 1, 0)
    assert lungs.shape == volume.shape
    assert dice(lungs > 0, scan.lung_labels > 0) >= 0.97  # same grid as the truth
    # Patient left (label 2) lies at larger LPS x than patient right.
    zyx = np.argwhere(lungs == 2).mean(axis=0)
    assert volume.index_to_lps(zyx)[0, 0] > volume.index_to_lps(np.argwhere(lungs == 1).mean(axis=0))[0, 0]
    lesions = np.asarray(nib.load(out / "lesion_labels.nii.gz").dataobj).transpose(2, 1, 0)
    assert set(np.unique(lesions)) <= {0, 1, 2} and (lesions > 0).sum() > 0


@pytest.mark.xfail(strict=True, reason=(
    "segmentation 2.2 limit: airless (+30 HU) consolidation that the aerated lung neither encloses "
    "nor fronts is left out of the lung mask (here lesion % 2.6 points low)"
))
def test_cli_json_agrees_with_truth(phantom_dir, capsys):
    scan, folder = phantom_dir
    code = main(["segment", str(folder / "dicom"), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    truth = json.loads((folder / "truth.json").read_text())
    truth = truth.get("truth", truth)
    assert abs(data["lesion_pct"] - truth["lesion_pct"]) <= 2.5
    assert abs(data["solid_pct"] - truth["solid_pct"]) <= 2.5
    assert abs(data["lung_ml"] - truth["lung_ml"]) / truth["lung_ml"] <= 0.03


def test_cli_npz_output(phantom_dir, tmp_path, capsys):
    _, folder = phantom_dir
    code = main(["segment", str(folder / "dicom"), "--json", "--out", str(tmp_path), "--format", "npz"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    with np.load(tmp_path / "masks.npz") as z:
        assert z["lung_labels"].dtype == np.uint8
        assert int((z["lesion_labels"] > 0).sum()) > 0
    assert data["masks"] == [str(tmp_path / "masks.npz")]


def test_cli_no_lungs_exit_2(tmp_path, capsys):
    from quant.dicom.write import write_series

    hu = np.zeros((12, 48, 48), np.int16)  # water: no air inside a body at all
    write_series(Volume(hu, spacing=(3.0, 2.5, 2.5)), tmp_path / "water")
    code = main(["segment", str(tmp_path / "water"), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert "no plausible lungs" in captured.err
    assert captured.out == ""
