"""quant.dicom.load: round trips through real DICOM files, canonical orientation, scanning, hashing."""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pydicom
import pytest

from quant.dicom.load import (
    MixedSeriesError,
    NoDicomFilesError,
    load_series,
    scan_folder,
    series_content_hash,
)
from quant.dicom.write import write_series
from quant.volume import Volume
from tests.support.dicom_cases import edit_file, oblique_direction, synthetic_volume


def _assert_same(loaded: Volume, expected: Volume) -> None:
    assert loaded.hu.dtype == np.int16
    np.testing.assert_array_equal(loaded.hu, expected.hu)
    np.testing.assert_allclose(loaded.spacing, expected.spacing, atol=1e-4)
    np.testing.assert_allclose(loaded.origin, expected.origin, atol=1e-4)
    np.testing.assert_allclose(loaded.direction, expected.direction, atol=1e-6)


@pytest.mark.parametrize("oblique", [False, True], ids=["identity", "oblique15"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
@pytest.mark.parametrize("slice_axis", [0, 1, 2], ids=["axial", "coronal", "sagittal"])
def test_round_trip_any_slicing(tmp_path, slice_axis, reverse, oblique):
    vol = synthetic_volume(direction=oblique_direction(15) if oblique else None)
    write_series(vol, tmp_path, slice_axis=slice_axis, reverse=reverse, shuffle=True, seed=slice_axis)
    _assert_same(load_series(tmp_path), vol)


def test_file_list_in_random_order(tmp_path):
    vol = synthetic_volume(seed=4)
    paths = write_series(vol, tmp_path, slice_axis=1)
    shuffled = [paths[i] for i in np.random.default_rng(5).permutation(len(paths))]
    _assert_same(load_series(shuffled), vol)


def test_ignores_instance_number_and_slice_location(tmp_path):
    vol = synthetic_volume(seed=6)
    paths = write_series(vol, tmp_path, shuffle=False)
    # Scramble the attributes that naive loaders sort or space by.
    for i, p in enumerate(paths):
        edit_file(p, InstanceNumber=(i * 7) % len(paths) + 1, SliceLocation=str(-3.0 * i), SliceThickness="9")
    _assert_same(load_series(tmp_path), vol)


# Signed axis permutations: the loader must undo any of them by permutation/flip alone.
_SIGNED_PERMUTATIONS = [
    np.eye(3)[:, list(p)] * np.array(s)
    for p, s in [
        ((0, 1, 2), (-1, 1, -1)),
        ((1, 0, 2), (1, -1, 1)),
        ((2, 0, 1), (1, 1, -1)),
        ((0, 2, 1), (-1, -1, -1)),
    ]
]


@pytest.mark.parametrize("direction", _SIGNED_PERMUTATIONS, ids=lambda d: "d" + "".join(f"{int(v):+d}" for v in d.ravel()))
def test_canonical_orientation_keeps_every_voxel_in_place(tmp_path, direction):
    vol = synthetic_volume(shape=(6, 10, 8), seed=8, direction=direction)
    write_series(vol, tmp_path)
    loaded = load_series(tmp_path)
    np.testing.assert_allclose(loaded.direction, np.eye(3), atol=1e-9)
    # Every loaded voxel holds the HU of the original voxel at the same patient position.
    idx = np.array(list(itertools.product(*(range(n) for n in loaded.shape))))
    orig_idx = np.rint(vol.lps_to_index(loaded.index_to_lps(idx))).astype(int)
    np.testing.assert_array_equal(
        loaded.hu[tuple(idx.T)], vol.hu[tuple(orig_idx.T)]
    )
    assert sorted(loaded.spacing) == sorted(vol.spacing)


def test_rescale_slope_and_intercept(tmp_path):
    vol = synthetic_volume(shape=(3, 12, 10), seed=9, lo=-1000, hi=1000)
    paths = write_series(vol, tmp_path, shuffle=False)
    # Same stored values, new rescale: HU = stored * 0.5 - 10.25, rounded.
    for p in paths:
        edit_file(p, RescaleSlope="0.5", RescaleIntercept="-10.25")
    stored = vol.hu.astype(np.int64) + 1024
    expected = np.rint(stored * 0.5 - 10.25).astype(np.int16)
    np.testing.assert_array_equal(load_series(tmp_path).hu, expected)


def test_hu_beyond_int16_is_clipped(tmp_path):
    vol = synthetic_volume(shape=(2, 8, 8), seed=10, lo=0, hi=1000)
    paths = write_series(vol, tmp_path, shuffle=False)
    for p in paths:
        edit_file(p, RescaleSlope="100")
    hu = load_series(tmp_path).hu
    expected = np.clip((vol.hu.astype(np.int64) + 1024) * 100 - 1024, -32768, 32767)
    np.testing.assert_array_equal(hu, expected)
    assert hu.max() == 32767


def test_progress_reports_every_slice(tmp_path):
    vol = synthetic_volume(shape=(12, 16, 16), seed=11)
    write_series(vol, tmp_path)
    calls = []
    load_series(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (12, 12)
    assert [d for d, _ in calls] == list(range(1, 13))


def test_scan_folder_groups_and_deidentifies(tmp_path):
    vol = synthetic_volume(shape=(5, 32, 32), seed=12)
    phi = {"PatientName": "ZEBEDEE^QUENTIN", "PatientID": "PID-777-SECRET", "StudyDate": "20210314"}
    write_series(vol, tmp_path / "a", phi=phi, series_description="Chest ZEBEDEE 20210314")
    # Same SeriesInstanceUID, other orientation: a sub-series.
    uid = pydicom.dcmread(next((tmp_path / "a").glob("*.dcm"))).SeriesInstanceUID
    write_series(vol, tmp_path / "b", slice_axis=2, phi=phi, series_uid=uid)
    (tmp_path / "notes.txt").write_text("not dicom")
    result = scan_folder(tmp_path)
    assert [p.name for p, _ in result.skipped] == ["notes.txt"]
    assert sorted((s.n_slices, s.orientation) for s in result.series) == [(5, "axial"), (32, "sagittal")]
    assert {s.key for s in result.series} == {f"{uid}#1", f"{uid}#2"}
    for s in result.series:
        assert s.modality == "CT" and s.is_image
        for secret in ("ZEBEDEE", "QUENTIN", "PID-777", "20210314", "2021"):
            assert secret not in s.display_label
    axial = next(s for s in result.series if s.orientation == "axial")
    assert axial.slice_spacing == pytest.approx(2.5)
    assert axial.pixel_spacing == pytest.approx((0.8, 0.7))
    # Each sub-series loads by its key; the bare UID is ambiguous.
    assert load_series(tmp_path, series_uid=f"{uid}#2").shape == vol.shape
    with pytest.raises(MixedSeriesError, match="#1"):
        load_series(tmp_path, series_uid=uid)


def test_scan_folder_without_dicom(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(NoDicomFilesError, match="no DICOM"):
        scan_folder(tmp_path)


def test_content_hash_ignores_names_and_order(tmp_path):
    vol = synthetic_volume(shape=(4, 8, 8), seed=13)
    paths = write_series(vol, tmp_path / "a")
    copy = tmp_path / "b"
    copy.mkdir()
    for i, p in enumerate(reversed(paths)):
        shutil.copy(p, copy / f"renamed{i}.dcm")
    h = series_content_hash(paths)
    assert len(h) == 64 and h == series_content_hash(copy) == series_content_hash(list(reversed(paths)))
    data = bytearray(paths[0].read_bytes())
    data[-1] ^= 1
    paths[0].write_bytes(bytes(data))
    assert series_content_hash(paths) != h


def test_small_phantom_round_trip(tmp_path, small_phantom):
    write_series(small_phantom.volume, tmp_path, slice_axis=1, reverse=True)
    _assert_same(load_series(tmp_path), small_phantom.volume)
