"""The phantom's realistic options: fat touching the pleura, abdominal gas, effusion, atelectasis,
consolidation against the mediastinum, a sharp low-dose kernel and cut coverage.

Every check is on the truth (tissue classes, labels) or on the noise-free image, so it holds for
any segmentation algorithm; the segmentation accuracy on these phantoms is in
``tests/quant/segment/test_real_anatomy.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from quant.labels import LEFT_LUNG, RIGHT_LUNG, SOLID
from quant.phantom import REAL_CHEST, PhantomError, make_scan, truth_metrics
from quant.phantom.anatomy import TISSUE_HU, Tissue

CUBE = np.ones((3, 3, 3), dtype=bool)
SEED = 3


def _touching(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Voxels of ``a`` 26-adjacent to a voxel of ``b``."""
    return a & ndimage.binary_dilation(b, structure=CUBE)


def _truth_is_consistent(scan) -> None:
    assert scan.truth == truth_metrics(scan.lung_labels, scan.lesion_labels, scan.volume.voxel_volume_ml)
    assert not (scan.lesion & ~scan.lungs).any()
    near_right = ndimage.binary_dilation(scan.lung_labels == RIGHT_LUNG, structure=CUBE)
    assert not (near_right & (scan.lung_labels == LEFT_LUNG)).any()


@pytest.fixture(scope="module")
def plain():
    return make_scan("small", SEED, lesion_pct=5, noise_sigma=0)


@pytest.fixture(scope="module")
def fatty():
    return make_scan("small", SEED, lesion_pct=5, noise_sigma=0, chest_fat=True)


@pytest.fixture(scope="module")
def gassy():
    return make_scan("small", SEED, lesion_pct=5, noise_sigma=0, abdominal_gas=True)


@pytest.fixture(scope="module")
def wet():
    """Bilateral 300 mL effusions with 10 mm atelectasis, noise-free."""
    return make_scan("small", SEED, lesion_pct=15, noise_sigma=0, effusion_ml=300.0, atelectasis_mm=10.0)


# -- fat ---------------------------------------------------------------------------------------
def test_chest_fat_touches_the_lung_and_is_never_lung(plain, fatty):
    ml = fatty.volume.voxel_volume_ml
    fat = fatty.tissue == Tissue.FAT
    new_fat = fat & (plain.tissue != Tissue.FAT)
    assert not (fat & fatty.lungs).any()
    # Without the option the lung touches almost no fat; with it, a large surface does.
    assert _touching(plain.tissue == Tissue.FAT, plain.lungs).sum() < 500
    assert _touching(new_fat, fatty.lungs).sum() > 5000
    assert 150 < new_fat.sum() * ml < 1200
    # Fat only replaces other tissue (or, for the fat pads and the great-vessel cuff, a little lung).
    assert not (fatty.lungs & ~plain.lungs).any()
    lost = (plain.lungs & ~fatty.lungs).sum() * ml
    assert 5 < lost < 0.05 * plain.truth["lung_ml"]
    _truth_is_consistent(fatty)


def test_chest_fat_lies_at_the_costal_and_mediastinal_pleura_and_the_heart(plain, fatty):
    new_fat = (fatty.tissue == Tissue.FAT) & (plain.tissue != Tissue.FAT)
    touching = _touching(new_fat, fatty.lungs)
    # Extrapleural fat: between the lung and the muscle / rib layer.
    wall = np.isin(fatty.tissue, [Tissue.MUSCLE, Tissue.RIB])
    assert (_touching(touching, wall)).sum() > 2000
    # Mediastinal fat: it touches the mediastinum or great vessels and lies near the midline.
    medi = np.isin(fatty.tissue, [Tissue.MEDIASTINUM, Tissue.VESSEL])
    mid = np.zeros_like(touching)
    mid[:, :, 44:84] = True
    assert (_touching(touching, medi) & mid).sum() > 100
    # Pericardial fat pads: fat touching both the heart and the lung near the lung bases.
    heart = fatty.tissue == Tissue.HEART
    pads = _touching(touching, heart)
    assert pads.sum() > 50
    z_lung = np.argwhere(fatty.lungs)[:, 0]
    assert np.median(np.argwhere(pads)[:, 0]) < np.percentile(z_lung, 35)


def test_fat_hu_is_about_minus_100(plain, fatty):
    assert TISSUE_HU[Tissue.FAT] == -100
    new_fat = (fatty.tissue == Tissue.FAT) & (plain.tissue != Tissue.FAT)
    inner = ndimage.binary_erosion(new_fat)
    assert inner.sum() > 200
    assert -120 <= np.median(fatty.volume.hu[inner]) <= -80
    # At the lung surface the thin fat is blurred with the lung, but still far from soft tissue.
    rim = _touching(new_fat, fatty.lungs)
    assert np.median(fatty.volume.hu[rim]) < -100


# -- abdominal gas -----------------------------------------------------------------------------
def test_abdominal_gas_lies_below_the_diaphragm_and_is_not_lung(plain, gassy):
    ml = gassy.volume.voxel_volume_ml
    gas = gassy.tissue == Tissue.BOWEL_GAS
    assert 25 < gas.sum() * ml < 250
    assert TISSUE_HU[Tissue.BOWEL_GAS] == -1000
    inner = ndimage.binary_erosion(gas)
    assert inner.sum() > 50 and np.median(gassy.volume.hu[inner]) < -900
    # Gas never replaces lung, is never next to it, and lies in the left upper abdomen.
    assert np.array_equal(gassy.lung_labels, plain.lung_labels)
    assert not _touching(gas, gassy.lungs).any()
    assert np.argwhere(gas)[:, 2].mean() > gassy.volume.shape[2] / 2
    # Below the diaphragm: in every (y, x) column with gas, the lung lies above the gas.
    z = np.arange(gas.shape[0])[:, None, None]
    top_gas = np.where(gas, z, -1).max(axis=0)
    bottom_lung = np.where(gassy.lungs, z, 10_000).min(axis=0)
    cols = top_gas >= 0
    assert (top_gas[cols] < bottom_lung[cols]).all()
    # The stomach's air-fluid level (patient supine): a coronal plane, the posterior limit of the
    # gas in many (z, x) columns.
    y = np.arange(gas.shape[1])[None, :, None]
    back = np.where(gas, y, -1).max(axis=1)
    _, counts = np.unique(back[back >= 0], return_counts=True)
    assert counts.max() > 0.3 * (back >= 0).sum()
    assert gassy.params["abdominal_gas"] is True
    _truth_is_consistent(gassy)


# -- effusion and atelectasis ------------------------------------------------------------------
def test_effusion_is_dependent_fluid_and_not_lung(wet):
    ml = wet.volume.voxel_volume_ml
    eff = wet.tissue == Tissue.EFFUSION
    assert eff.sum() * ml == pytest.approx(600.0, abs=2 * ml)
    assert 0 <= TISSUE_HU[Tissue.EFFUSION] <= 20
    inner = ndimage.binary_erosion(eff)
    assert 0 <= np.median(wet.volume.hu[inner]) <= 20
    assert np.percentile(wet.volume.hu[inner], 90) - np.percentile(wet.volume.hu[inner], 10) < 15  # homogeneous
    assert not (eff & wet.lungs).any() and not (eff & wet.lesion).any()
    # Dependent: posterior and basal relative to the lung; against the posterior chest wall.
    e, lung = np.argwhere(eff), np.argwhere(wet.lungs)
    assert e[:, 1].mean() > lung[:, 1].mean() + 10  # y index: posterior
    assert e[:, 0].mean() < lung[:, 0].mean() - 5   # z index: basal
    wall = np.isin(wet.tissue, [Tissue.MUSCLE, Tissue.RIB, Tissue.FAT, Tissue.CORTEX, Tissue.VERTEBRA])
    assert _touching(eff, wall).sum() > 0.1 * eff.sum()
    # Both sides, about 300 mL each.
    x_mid = wet.volume.shape[2] / 2
    right = eff & (np.arange(eff.shape[2]) < x_mid)[None, None, :]
    assert right.sum() * ml == pytest.approx(300.0, rel=0.05)
    _truth_is_consistent(wet)


def test_effusion_replaces_lung_one_side_at_a_time():
    base = make_scan("small", SEED, lesion_pct=0, noise_sigma=0)
    one = make_scan("small", SEED, lesion_pct=0, noise_sigma=0, effusion_ml=(200.0, 0.0))
    eff = one.tissue == Tissue.EFFUSION
    assert not (one.lungs & ~base.lungs).any()
    assert (base.lungs & ~one.lungs).sum() == eff.sum()
    assert (base.lung_labels[eff] == RIGHT_LUNG).all()
    assert not one.lesion.any() and not np.isin(one.tissue, [Tissue.ATELECTASIS, Tissue.CONSOLIDATION]).any()
    assert one.truth["lung_left_ml"] == base.truth["lung_left_ml"]
    assert one.truth["lung_ml"] == pytest.approx(base.truth["lung_ml"] - 200.0, abs=one.volume.voxel_volume_ml)


def test_atelectasis_is_airless_lung_and_solid_lesion(wet):
    atel = wet.tissue == Tissue.ATELECTASIS
    assert atel.sum() * wet.volume.voxel_volume_ml > 20
    assert wet.lungs[atel].all()
    assert (wet.lesion_labels[atel] == SOLID).all()
    # Airless: about +35 HU away from the aerated lung (the band is thin: its edge is blurred).
    assert 30 <= TISSUE_HU[Tissue.ATELECTASIS] <= 40
    aerated = wet.lungs & (wet.tissue == Tissue.LUNG)
    away = atel & ~ndimage.binary_dilation(aerated, structure=CUBE)
    assert away.sum() > 200
    assert 20 <= np.median(wet.volume.hu[away]) <= 50
    # Just inside the effusion: most of it touches the fluid.
    eff = wet.tissue == Tissue.EFFUSION
    assert _touching(atel, eff).sum() > 0.5 * atel.sum()
    # It counts towards the requested lesion burden.
    assert wet.truth["lesion_pct"] == pytest.approx(15.0, abs=0.05)
    assert wet.truth["solid_ml"] >= atel.sum() * wet.volume.voxel_volume_ml


def test_atelectasis_without_effusion_lies_along_the_posterior_bases():
    s = make_scan("small", SEED, lesion_pct=0, noise_sigma=0, atelectasis_mm=8.0)
    atel = s.tissue == Tissue.ATELECTASIS
    assert not (s.tissue == Tissue.EFFUSION).any()
    assert s.truth["lesion_pct"] == s.truth["solid_pct"] > 0.5
    a, lung = np.argwhere(atel), np.argwhere(s.lungs)
    assert a[:, 1].mean() > lung[:, 1].mean() + 10
    assert a[:, 0].mean() < lung[:, 0].mean() - 5
    assert (s.lesion_labels[atel] == SOLID).all() and (s.lesion == atel).all()


def test_mediastinal_consolidation_is_dense_lung_touching_the_mediastinum():
    s = make_scan("small", SEED, lesion_pct=10, noise_sigma=0, mediastinal_consolidation=1.0)
    cons = s.tissue == Tissue.CONSOLIDATION
    ml = s.volume.voxel_volume_ml
    assert cons.sum() * ml > 40
    assert (s.lung_labels[cons] == LEFT_LUNG).all()
    assert (s.lesion_labels[cons] == SOLID).all()
    medi = np.isin(s.tissue, [Tissue.MEDIASTINUM, Tissue.VESSEL, Tissue.ESOPHAGUS, Tissue.HEART])
    assert _touching(cons, medi).sum() > 30
    inner = ndimage.binary_erosion(cons)
    assert 20 <= np.median(s.volume.hu[inner]) <= 40
    assert s.truth["lesion_pct"] == pytest.approx(10.0, abs=0.05)
    _truth_is_consistent(s)


# -- kernel ------------------------------------------------------------------------------------
def test_sharp_kernel_has_high_frequency_noise_and_overshooting_edges():
    stats = {}
    for kernel in ("soft", "sharp"):
        noisy = make_scan("small", SEED, lesion_pct=5, noise_sigma=60, kernel=kernel)
        clean = make_scan("small", SEED, lesion_pct=5, noise_sigma=0, kernel=kernel)
        noise = noisy.volume.hu.astype(np.float64) - clean.volume.hu
        liver = ndimage.binary_erosion(clean.tissue == Tissue.LIVER, iterations=2)
        sd = noise[liver].std()
        step = np.diff(noise, axis=2)[liver[:, :, 1:] & liver[:, :, :-1]]
        rim = _touching(clean.tissue == Tissue.MUSCLE, clean.lungs)
        stats[kernel] = (sd, step.std() / sd, np.percentile(clean.volume.hu[rim], 99))
    for kernel in stats:  # noise_sigma is the final noise SD whatever the kernel
        assert stats[kernel][0] == pytest.approx(60.0, rel=0.05)
    # Neighbouring voxels anti-correlated: larger voxel-to-voxel differences for the same SD.
    assert stats["sharp"][1] > stats["soft"][1] + 0.1
    # Edge overshoot: the chest wall next to the lung is brighter than the wall itself.
    assert stats["sharp"][2] > stats["soft"][2] + 25


# -- coverage ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_coverage():
    return make_scan("small", SEED, lesion_pct=15, **REAL_CHEST)


def _first_lattice_slice(scan, full) -> int:
    k = (scan.volume.index_to_lps([0, 0, 0])[0][2] - full.volume.index_to_lps([0, 0, 0])[0][2]) / full.volume.spacing[0]
    assert k == pytest.approx(round(k), abs=1e-6)
    return int(round(k))


def test_apex_cut_crops_the_top_with_its_geometry(full_coverage):
    cut = make_scan("small", SEED, lesion_pct=15, coverage="apex_cut", **REAL_CHEST)
    n = cut.volume.shape[0]
    assert n < full_coverage.volume.shape[0] - 5
    assert cut.lungs[-1].sum() > 200  # the lungs run out of the top of the scan
    k0 = _first_lattice_slice(cut, full_coverage)
    assert k0 == 0
    assert np.allclose(cut.volume.index_to_lps([[0, 10, 20], [n - 1, 100, 90]]), full_coverage.volume.index_to_lps([[0, 10, 20], [n - 1, 100, 90]]))
    # The same patient, cropped: labels equal the full scan's slices, truth recomputed on them.
    assert np.array_equal(cut.lung_labels, full_coverage.lung_labels[:n])
    assert np.array_equal(cut.lesion_labels, full_coverage.lesion_labels[:n])
    assert cut.truth["lung_ml"] < full_coverage.truth["lung_ml"] - 100
    _truth_is_consistent(cut)


def test_bases_only_is_mostly_upper_abdomen(full_coverage):
    s = make_scan("small", SEED, lesion_pct=15, coverage="bases_only", **REAL_CHEST)
    assert 20 < s.truth["lung_ml"] < 300
    assert s.lungs[-1].any() and not s.lungs[0].any()
    slices_with_lung = s.lungs.any(axis=(1, 2)).mean()
    assert slices_with_lung < 0.5
    assert (s.tissue == Tissue.BOWEL_GAS).sum() * s.volume.voxel_volume_ml > 25
    k0 = _first_lattice_slice(s, full_coverage)
    assert k0 < -20  # reaches well below the standard field
    overlap = s.volume.shape[0] + k0
    assert np.array_equal(s.lung_labels[-k0:], full_coverage.lung_labels[:overlap])
    assert s.params["coverage"] == "bases_only"
    _truth_is_consistent(s)


def test_z_range_picks_lattice_slices(full_coverage):
    s = make_scan("small", SEED, lesion_pct=15, z_range_mm=(-60.0, 30.0), **REAL_CHEST)
    assert s.volume.shape == (30, 128, 128)
    assert s.params["z_slices_mm"] == [-58.5, 28.5]
    k0 = _first_lattice_slice(s, full_coverage)
    assert np.array_equal(s.lung_labels, full_coverage.lung_labels[k0:k0 + 30])
    _truth_is_consistent(s)


def test_cut_realistic_scan_survives_a_dicom_roundtrip(tmp_path):
    from quant.dicom.load import load_series
    from quant.phantom import load_truth, write_scan

    s = make_scan("small", SEED, lesion_pct=10, coverage="bases_only", effusion_ml=100.0, **REAL_CHEST)
    out = write_scan(s, tmp_path / "bases", seed=2, reverse_z=True)
    truth = load_truth(out)
    vol = load_series(out / "dicom")
    assert vol.shape == s.volume.shape
    assert np.allclose(vol.origin, s.volume.origin, atol=1e-3)
    assert np.array_equal(vol.hu, s.volume.hu)
    assert np.array_equal(truth.lung_labels, s.lung_labels)
    assert truth.truth == pytest.approx(s.truth)
    assert truth.params["coverage"] == "bases_only" and truth.params["effusion_ml"] == [100.0, 100.0]


# -- presets, parameters, determinism ------------------------------------------------------------
def test_real_chest_preset_and_defaults():
    assert dict(REAL_CHEST) == {"chest_fat": True, "abdominal_gas": True}
    with pytest.raises(TypeError):
        REAL_CHEST["chest_fat"] = False  # type: ignore[index]
    a = make_scan("small", 5, lesion_pct=8, **REAL_CHEST)
    b = make_scan("small", 5, lesion_pct=8, **REAL_CHEST)
    assert np.array_equal(a.volume.hu, b.volume.hu) and a.truth == b.truth
    assert a.params["chest_fat"] is True and a.params["abdominal_gas"] is True
    plain = make_scan("small", 5, lesion_pct=8)
    new_keys = {"chest_fat", "abdominal_gas", "effusion_ml", "atelectasis_mm", "mediastinal_consolidation",
                "kernel", "coverage", "z_range_mm", "z_slices_mm"}
    assert not new_keys & set(plain.params)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"effusion_ml": -1.0}, {"effusion_ml": 2500.0}, {"effusion_ml": (100.0,)}, {"effusion_ml": 1500.0},
        {"atelectasis_mm": -2.0}, {"atelectasis_mm": 50.0}, {"mediastinal_consolidation": 1.5},
        {"kernel": "bone"}, {"coverage": "head"}, {"coverage": "apex_cut", "z_range_mm": (-50.0, 50.0)},
        {"z_range_mm": (40.0, -40.0)}, {"z_range_mm": (10.0, 11.0)}, {"effusion_ml": "lots"},
    ],
)
def test_bad_realistic_parameters_raise_phantom_error(kwargs):
    with pytest.raises(PhantomError):
        make_scan("small", SEED, lesion_pct=5, **kwargs)


@pytest.mark.slow
def test_full_size_realistic_chest_depicts_the_same_patient():
    kwargs = dict(lesion_pct=15, effusion_ml=(250.0, 150.0), atelectasis_mm=8.0, mediastinal_consolidation=0.6, **REAL_CHEST)
    small = make_scan("small", SEED, **kwargs)
    full = make_scan("full", SEED, **kwargs)
    ml = full.volume.voxel_volume_ml
    assert full.truth["lung_ml"] == pytest.approx(small.truth["lung_ml"], rel=0.03)
    assert (full.tissue == Tissue.EFFUSION).sum() * ml == pytest.approx(400.0, abs=0.1)
    for tissue in (Tissue.BOWEL_GAS, Tissue.ATELECTASIS, Tissue.CONSOLIDATION):
        v_full = (full.tissue == tissue).sum() * ml
        v_small = (small.tissue == tissue).sum() * small.volume.voxel_volume_ml
        assert v_full == pytest.approx(v_small, rel=0.35), tissue
    assert _touching(full.tissue == Tissue.FAT, full.lungs).sum() * ml > 20
    _truth_is_consistent(full)
