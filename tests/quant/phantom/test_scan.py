"""The synthetic chest CT: anatomy, HU per tissue, exact truth, lesion burden, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID
from quant.phantom import PhantomError, make_scan, truth_metrics
from quant.phantom.anatomy import Tissue


def _interior(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    return ndimage.binary_erosion(mask, iterations=iterations)


def test_small_geometry(small_phantom):
    v = small_phantom.volume
    assert v.hu.dtype == np.int16
    assert v.shape == (80, 128, 128)
    assert v.spacing == (3.0, 2.7, 2.7)
    assert np.allclose(v.direction, np.eye(3))
    for arr in (small_phantom.lung_labels, small_phantom.lesion_labels):
        assert arr.shape == v.shape and arr.dtype == np.uint8
    assert small_phantom.bone.shape == small_phantom.airway.shape == v.shape


def test_deterministic_for_a_seed():
    a = make_scan("small", seed=3, lesion_pct=12)
    b = make_scan("small", seed=3, lesion_pct=12)
    c = make_scan("small", seed=4, lesion_pct=12)
    assert np.array_equal(a.volume.hu, b.volume.hu)
    assert np.array_equal(a.lung_labels, b.lung_labels)
    assert np.array_equal(a.lesion_labels, b.lesion_labels)
    assert a.truth == b.truth
    assert not np.array_equal(a.volume.hu, c.volume.hu)
    assert a.truth["lung_ml"] != c.truth["lung_ml"]


def test_hu_of_each_tissue(small_phantom):
    hu = small_phantom.volume.hu
    t = small_phantom.tissue
    parenchyma = _interior((small_phantom.lung_labels > 0) & (small_phantom.lesion_labels == 0)) & (t == Tissue.LUNG)
    parenchyma &= hu < -500  # leave out the vessels
    assert -870 <= np.median(hu[parenchyma]) <= -830
    fat = _interior(t == Tissue.FAT)
    assert -120 <= np.median(hu[fat]) <= -80
    muscle = _interior(t == Tissue.MUSCLE)
    assert 25 <= np.median(hu[muscle]) <= 60
    assert np.median(hu[small_phantom.bone]) >= 300
    assert np.median(hu[_interior(t == Tissue.AIR, 3)]) == pytest.approx(-1000, abs=5)
    assert np.median(hu[_interior(small_phantom.airway)]) < -900
    heart = _interior(t == Tissue.HEART, 2)
    assert 25 <= np.median(hu[heart]) <= 60


def test_truth_matches_label_maps(small_phantom):
    s = small_phantom
    ml = s.volume.voxel_volume_ml
    t = s.truth
    assert t == truth_metrics(s.lung_labels, s.lesion_labels, ml)
    assert t["lung_right_ml"] == pytest.approx((s.lung_labels == RIGHT_LUNG).sum() * ml)
    assert t["lung_left_ml"] == pytest.approx((s.lung_labels == LEFT_LUNG).sum() * ml)
    assert t["lung_ml"] == pytest.approx(t["lung_left_ml"] + t["lung_right_ml"])
    assert t["ggo_ml"] == pytest.approx((s.lesion_labels == GGO).sum() * ml)
    assert t["solid_ml"] == pytest.approx((s.lesion_labels == SOLID).sum() * ml)
    assert t["lesion_pct"] == pytest.approx(100 * s.lesion.sum() / s.lungs.sum())
    assert t["solid_pct"] == pytest.approx(100 * (s.lesion_labels == SOLID).sum() / s.lungs.sum())
    left_les = (s.lesion & (s.lung_labels == LEFT_LUNG)).sum()
    assert t["lesion_pct_left"] == pytest.approx(100 * left_les / (s.lung_labels == LEFT_LUNG).sum())
    assert 2500 < t["lung_ml"] < 6000  # an adult's lungs
    assert set(np.unique(s.lung_labels)) == {0, 1, 2}
    assert set(np.unique(s.lesion_labels)) <= {0, 1, 2}
    # Lesions only inside the lungs; airways never lung.
    assert not (s.lesion & ~s.lungs).any()
    assert not (s.airway & s.lungs).any()
    assert s.airway.sum() * ml > 10


def test_right_lung_is_low_x_index(small_phantom):
    x = np.arange(small_phantom.volume.shape[2])
    right_x = (small_phantom.lung_labels == RIGHT_LUNG).sum(axis=(0, 1)) @ x
    left_x = (small_phantom.lung_labels == LEFT_LUNG).sum(axis=(0, 1)) @ x
    assert right_x / (small_phantom.lung_labels == RIGHT_LUNG).sum() < 60
    assert left_x / (small_phantom.lung_labels == LEFT_LUNG).sum() > 68


def test_lungs_are_separate_but_nearly_touch(small_phantom):
    lab = small_phantom.lung_labels
    right, left = lab == RIGHT_LUNG, lab == LEFT_LUNG
    near_right = ndimage.binary_dilation(right, structure=np.ones((3, 3, 3), bool))
    assert not (near_right & left).any(), "left and right lung are 26-connected"
    # Each lung is one connected piece.
    for m in (right, left):
        assert ndimage.label(m, structure=np.ones((3, 3, 3)))[1] == 1
    # Anterior junction line: somewhere only 1-2 voxels between the lungs along a row.
    x = np.arange(lab.shape[2])
    max_right = np.where(right, x, -1).max(axis=2)
    min_left = np.where(left, x, 10_000).min(axis=2)
    both = (max_right >= 0) & (min_left < 10_000)
    gap = (min_left - max_right - 1)[both]
    assert gap.min() in (1, 2)
    # ...and the image shows tissue between them there (not a lung-dark gap).
    z, y = np.argwhere(both & (min_left - max_right - 1 == gap.min()))[0]
    between = small_phantom.volume.hu[z, y, max_right[z, y] + 1 : min_left[z, y]]
    assert between.max() > -750


def test_lesions_bilateral_peripheral_posterior_basal(small_phantom):
    s = small_phantom
    assert s.truth["lesion_pct_left"] > 1 and s.truth["lesion_pct_right"] > 1
    zyx_les = np.argwhere(s.lesion)
    zyx_lung = np.argwhere(s.lungs)
    assert zyx_les[:, 1].mean() > zyx_lung[:, 1].mean() + 3  # posterior (higher y index)
    assert zyx_les[:, 0].mean() < zyx_lung[:, 0].mean() - 3  # basal (lower z index)
    # Peripheral: lesions lie closer to the pleura than lung on average; some touch the pleura.
    depth = ndimage.distance_transform_edt(s.lungs, sampling=s.volume.spacing)
    assert depth[s.lesion].mean() < 0.7 * depth[s.lungs].mean()
    touching = s.lesion & ~ndimage.binary_erosion(s.lungs)
    assert touching.sum() > 50
    solid_touching = (s.lesion_labels == SOLID) & ~ndimage.binary_erosion(s.lungs)
    assert solid_touching.any()


def test_lesion_hu_bands_agree_with_labels(small_phantom):
    hu = small_phantom.volume.hu
    ggo = _interior(small_phantom.lesion_labels == GGO)
    solid = _interior(small_phantom.lesion_labels == SOLID)
    assert ggo.sum() > 200 and solid.sum() > 20
    in_ggo_band = ((hu[ggo] >= -750) & (hu[ggo] < -300)).mean()
    in_solid_band = ((hu[solid] >= -300) & (hu[solid] < 50)).mean()
    assert in_ggo_band > 0.9
    assert in_solid_band > 0.75
    assert -600 <= np.median(hu[ggo]) <= -500
    # airless lung, not fat
    assert 10 <= np.median(hu[solid]) <= 45


def test_vessels_branch_and_taper(small_phantom):
    s = small_phantom
    dense = s.lungs & ~s.lesion & (s.volume.hu > -400)
    ml = s.volume.voxel_volume_ml
    # Vessels make up a few % of the lung and reach both lungs.
    assert 0.004 < dense.sum() / s.lungs.sum() < 0.08
    assert (dense & (s.lung_labels == LEFT_LUNG)).sum() * ml > 5
    assert (dense & (s.lung_labels == RIGHT_LUNG)).sum() * ml > 5
    # The trees (size-independent, in mm): every segment tapers, branches split into two, and
    # vessels ending near the pleura are much thinner than the hilar trunks.
    from quant.phantom.scan import _patient

    patient = _patient(7, 0.0)
    segs = patient.vessels
    assert len(segs) > 300
    assert all(seg.rb < seg.ra for seg in segs)
    starts = {}
    for seg in segs:
        starts.setdefault(tuple(np.round(seg.a, 6)), []).append(seg)
    assert max(len(v) for v in starts.values()) >= 2
    ends = np.array([seg.b for seg in segs])
    _, depth = patient.lookup.query(ends)
    radius = np.array([seg.rb for seg in segs])
    assert radius[depth < 10].mean() < 1.5
    assert max(seg.ra for seg in segs) > 4.0


@pytest.mark.parametrize("pct", [1.0, 8.0, 30.0, 55.0])
def test_requested_lesion_pct_is_achieved(pct):
    s = make_scan("small", seed=11, lesion_pct=pct)
    assert s.truth["lesion_pct"] == pytest.approx(pct, abs=0.05)
    assert 0 < s.truth["solid_pct"] < s.truth["lesion_pct"]


def test_zero_lesion_pct_means_no_lesions():
    s = make_scan("small", seed=5, lesion_pct=0)
    assert not s.lesion.any()
    assert s.truth["lesion_pct"] == 0 and s.truth["lesion_ml"] == 0 and s.truth["solid_ml"] == 0
    inner = _interior(s.lungs) & (s.volume.hu > -600) & (s.volume.hu < -300)
    # Without lesions, GGO-band voxels in the lung are only vessel edges and noise: rare.
    assert inner.sum() / s.lungs.sum() < 0.03


def test_lesions_regress_in_place():
    big = make_scan("small", seed=9, lesion_pct=30)
    small = make_scan("small", seed=9, lesion_pct=10)
    assert np.array_equal(big.lung_labels, small.lung_labels)
    assert not (small.lesion & ~big.lesion).any()


def test_consolidation_adds_a_large_solid_region():
    plain = make_scan("small", seed=2, lesion_pct=20, solid_share=0.3)
    cons = make_scan("small", seed=2, lesion_pct=20, solid_share=0.3, consolidation=1.0)
    lab, n = ndimage.label(cons.lesion_labels == SOLID)
    largest = np.bincount(lab.ravel())[1:].max()
    lab0, _ = ndimage.label(plain.lesion_labels == SOLID)
    assert largest > np.bincount(lab0.ravel())[1:].max()
    z, y, x = np.argwhere(lab == np.argmax(np.bincount(lab.ravel())[1:]) + 1).mean(axis=0)
    assert x < 64  # right lung


def test_oblique_rotates_geometry_only():
    a = make_scan("small", seed=3, lesion_pct=5)
    b = make_scan("small", seed=3, lesion_pct=5, oblique=True)
    assert np.array_equal(a.volume.hu, b.volume.hu)
    angle = np.degrees(np.arccos(b.volume.direction[2, 2]))
    assert angle == pytest.approx(15.0)
    # Same physical centre of the field.
    centre = (np.asarray(a.volume.shape) - 1) / 2
    assert np.allclose(a.volume.index_to_lps(centre), b.volume.index_to_lps(centre), atol=1e-4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": "huge"}, {"lesion_pct": -1}, {"lesion_pct": 80}, {"noise_sigma": -3},
        {"solid_hu": 60.0}, {"solid_hu": -400.0}, {"solid_texture_hu": -1.0},
    ],
)
def test_bad_parameters_raise_phantom_error(kwargs):
    with pytest.raises(PhantomError):
        make_scan(**kwargs)


def test_solid_hu_is_a_parameter(small_phantom):
    from quant.phantom.image import PARTIAL_SOLID_HU, PARTIAL_SOLID_TEXTURE_HU

    partial = make_scan("small", 7, solid_hu=PARTIAL_SOLID_HU, solid_texture_hu=PARTIAL_SOLID_TEXTURE_HU)
    # Only the solid component changes: same labels, same HU everywhere else.
    assert np.array_equal(partial.lesion_labels, small_phantom.lesion_labels)
    assert np.array_equal(partial.lung_labels, small_phantom.lung_labels)
    far = ~ndimage.binary_dilation(small_phantom.lesion_labels == SOLID, np.ones((3, 3, 3), bool), iterations=3)
    assert np.array_equal(partial.volume.hu[far], small_phantom.volume.hu[far])
    solid = _interior(small_phantom.lesion_labels == SOLID)
    assert solid.sum() > 20
    # The default solid component is airless lung at about +30 HU, homogeneous: the noise (20 HU)
    # dominates its spread ...
    assert 15 <= np.median(small_phantom.volume.hu[solid]) <= 40
    q25, q75 = np.percentile(small_phantom.volume.hu[solid], [25, 75])
    assert q75 - q25 < 45
    # ... and the partially aerated option is at about -110 HU.
    assert -140 <= np.median(partial.volume.hu[solid]) <= -80
    assert partial.params["solid_hu"] == PARTIAL_SOLID_HU
    assert "solid_hu" not in small_phantom.params  # the default is not recorded


@pytest.mark.slow
def test_full_size_depicts_the_same_patient():
    small = make_scan("small", seed=7, lesion_pct=15)
    full = make_scan("full", seed=7, lesion_pct=15)
    assert full.volume.shape == (300, 512, 512)
    assert full.volume.spacing == (1.0, 0.7, 0.7)
    assert full.truth["lung_ml"] == pytest.approx(small.truth["lung_ml"], rel=0.03)
    assert full.truth["lesion_pct"] == pytest.approx(15, abs=0.01)
    assert full.truth == truth_metrics(full.lung_labels, full.lesion_labels, full.volume.voxel_volume_ml)
    lab = full.lung_labels
    near_right = ndimage.binary_dilation(lab == RIGHT_LUNG, structure=np.ones((3, 3, 3), bool))
    assert not (near_right & (lab == LEFT_LUNG)).any()
