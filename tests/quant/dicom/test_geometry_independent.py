"""The loader's geometry against an independent reader (SimpleITK / GDCM's ImageSeriesReader).

The round-trip tests write with LungRead's own writer and read with its own loader, so a sign
error made in both would pass them. Here every sampled voxel of the loaded volume must sit, in
SimpleITK's physical (LPS) space, exactly on a SimpleITK voxel holding the same HU: on oblique,
reversed and non-axial series, and on the real CT kept in the repository.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from quant.dicom.load import load_series
from quant.dicom.write import write_series
from quant.volume import Volume
from tests.support.dicom_cases import oblique_direction, synthetic_volume
from tests.support.paths import TEST_DATA


def _sitk_series(folder: Path) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    files = reader.GetGDCMSeriesFileNames(str(folder))
    assert files, f"SimpleITK found no series in {folder}"
    reader.SetFileNames(files)
    return reader.Execute()


def _assert_same_voxels(vol: Volume, image: sitk.Image, n: int = 400, seed: int = 0) -> None:
    """Sample voxels (corners included) of ``vol``; each maps to a whole SimpleITK index with the
    same HU."""
    array = sitk.GetArrayViewFromImage(image)  # (z, y, x) in SimpleITK's own index order
    assert sorted(array.shape) == sorted(vol.shape)
    rng = np.random.default_rng(seed)
    corners = np.array([[z, y, x] for z in (0, vol.shape[0] - 1) for y in (0, vol.shape[1] - 1)
                        for x in (0, vol.shape[2] - 1)])
    idx = np.vstack([corners, rng.integers(0, vol.shape, size=(n, 3))])
    lps = vol.index_to_lps(idx)
    for (z, y, x), point in zip(idx, lps):
        cont = np.array(image.TransformPhysicalPointToContinuousIndex(tuple(float(c) for c in point)))
        whole = np.rint(cont).astype(int)
        np.testing.assert_allclose(cont, whole, atol=1e-3, err_msg=f"voxel {(z, y, x)} falls between voxels")
        sx, sy, sz = whole
        assert int(array[sz, sy, sx]) == int(vol.hu[z, y, x]), f"voxel {(z, y, x)}"


@pytest.mark.parametrize("oblique", [False, True], ids=["identity", "oblique15"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
@pytest.mark.parametrize("slice_axis", [0, 1, 2], ids=["axial", "coronal", "sagittal"])
def test_written_series_agree_with_simpleitk(tmp_path, slice_axis, reverse, oblique):
    truth = synthetic_volume(seed=slice_axis + 3, direction=oblique_direction(15) if oblique else None)
    write_series(truth, tmp_path, slice_axis=slice_axis, reverse=reverse, shuffle=True, seed=1)
    loaded = load_series(tmp_path)
    _assert_same_voxels(loaded, _sitk_series(tmp_path))


@pytest.mark.parametrize("case", ["cancer_lpcd_A0002_B40f", "abdomen_ts_3mm"])
def test_real_ct_agrees_with_simpleitk(case):
    folder = TEST_DATA / "realct" / case / "dicom"
    loaded = load_series(folder)
    _assert_same_voxels(loaded, _sitk_series(folder), n=2000)
