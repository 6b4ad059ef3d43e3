"""Lesion segmentation pieces on synthetic volumes with known geometry: vessel ridges, the
half-maximum lesion edge, and the protocol fields that drive them."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest
from scipy import ndimage

from quant.labels import LungMasks
from quant.protocol import ProtocolError, default_protocol, protocol_from_dict
from quant.segment.lesions import segment_lesions
from quant.segment.vessels import vessel_mask
from quant.volume import Volume
from tests.support.overlap import dice

SPACING = (3.0, 2.7, 2.7)
SHAPE = (40, 64, 64)


def _chest(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free labels of a box of aerated lung inside soft tissue, with one ground-glass ball
    (radius ~11 mm) and one thin vessel (radius 1.4 mm, along z) that ends at the ball.

    Returns (hu int16 after blur and 20 HU noise, lung bool, lesion bool, vessel bool).
    """
    z, y, x = np.indices(SHAPE).astype(np.float32)
    mm = (z * SPACING[0], y * SPACING[1], x * SPACING[2])
    lung = (z >= 4) & (z < 36) & (y >= 6) & (y < 58) & (x >= 6) & (x < 58)
    centre = (60.0, 86.0, 86.0)
    lesion = lung & (sum((a - c) ** 2 for a, c in zip(mm, centre)) < 11.0 ** 2)
    vessel = lung & ~lesion & ((mm[1] - 86.0) ** 2 + (mm[2] - 120.0) ** 2 < 1.4 ** 2)
    vessel |= lung & ~lesion & ((mm[1] - 86.0) ** 2 + (mm[2] - 86.0) ** 2 < 1.4 ** 2) & (mm[0] > 60.0)
    hu = np.full(SHAPE, 40.0, np.float32)
    hu[lung] = -850.0
    hu[vessel] = 40.0
    hu[lesion] = -550.0
    hu = ndimage.gaussian_filter(hu, (0.6, 0.8, 0.8), mode="nearest")
    hu += np.random.default_rng(seed).normal(0.0, 20.0, SHAPE).astype(np.float32)
    return np.rint(hu).astype(np.int16), lung, lesion, vessel


def test_thin_vessel_is_a_ridge_and_ground_glass_is_not():
    hu, lung, lesion, vessel = _chest()
    # A 2.8 mm vessel on a 2.7 mm grid never reaches blood density: partial volume lowers it.
    assert hu[vessel].max() < default_protocol().lesions.vessel_min_hu
    inner = ndimage.binary_erosion(lung)
    found = vessel_mask(hu.astype(np.float32), inner, default_protocol().lesions)
    assert found[vessel & inner].mean() >= 0.9
    assert found[lesion].mean() <= 0.02
    # Nothing far from the vessel (aerated lung, the ball) is called vessel.
    far = inner & ~ndimage.binary_dilation(vessel, iterations=2)
    assert found[far].sum() <= 3


def test_lesion_edge_is_the_half_maximum_and_the_vessel_is_not_lesion():
    hu, lung, lesion, vessel = _chest()
    volume = Volume(hu, SPACING)
    lungs = LungMasks(lung.astype(np.uint8))
    half = segment_lesions(volume, lungs).labels > 0
    assert dice(half, lesion) >= 0.9
    # The lesion volume is right to within 10 %, where a fixed -750 HU edge counts the blurred rim.
    assert abs(int(half.sum()) - int(lesion.sum())) <= 0.1 * lesion.sum()
    p = default_protocol()
    plain = segment_lesions(volume, lungs, replace(p, lesions=replace(p.lesions, edge_fraction=0.0))).labels > 0
    assert np.all(plain[half])
    assert plain.sum() > 1.08 * lesion.sum()
    # The vessel leaving the ball is not grown into beyond the ball's own rim.
    off = vessel & ~ndimage.binary_dilation(lesion, iterations=2)
    assert off.sum() > 10 and not np.any(half & off)


def _raw_protocol() -> dict:
    text = resources.files("resources").joinpath("protocol.toml").read_text("utf-8")
    return tomllib.loads(text)


@pytest.mark.parametrize("key, value", [("edge_fraction", 1.0), ("edge_fraction", -0.1), ("vessel_ridge_hu", 0)])
def test_protocol_rejects_bad_lesion_edge_and_ridge_values(key, value):
    raw = _raw_protocol()
    raw["lesions"][key] = value
    with pytest.raises(ProtocolError, match=key):
        protocol_from_dict(raw)


def test_protocol_hash_covers_the_new_fields():
    raw = _raw_protocol()
    base = protocol_from_dict(raw).hash
    assert base == default_protocol().hash
    raw["lesions"]["edge_fraction"] = 0.4
    assert protocol_from_dict(raw).hash != base
    raw = _raw_protocol()
    del raw["lesions"]["vessel_ridge_hu"]
    with pytest.raises(ProtocolError, match="vessel_ridge_hu"):
        protocol_from_dict(raw)


def _dense_consolidation_chest(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Box of aerated lung inside soft tissue (+40 HU) with a subpleural consolidation at +30 HU
    (a ball of radius 18 mm cut by the lateral pleura, so it touches the wall) and a vessel of
    radius 5.5 mm (a hilar trunk: +40 HU blood, dense enough to reach blood HU after blur), both airless.

    Returns (hu int16 after blur and 20 HU noise, lung bool, consolidation bool, vessel bool).
    """
    z, y, x = np.indices(SHAPE).astype(np.float32)
    mm = (z * SPACING[0], y * SPACING[1], x * SPACING[2])
    lung = (z >= 4) & (z < 36) & (y >= 6) & (y < 58) & (x >= 6) & (x < 58)
    centre = (60.0, 86.0, 6 * SPACING[2])
    cons = lung & (sum((a - c) ** 2 for a, c in zip(mm, centre)) < 18.0**2)
    vessel = lung & ((mm[1] - 86.0) ** 2 + (mm[2] - 120.0) ** 2 < 5.5**2)
    rng = np.random.default_rng(seed)
    hu = np.full(SHAPE, 40.0, np.float32)
    hu[lung] = -850.0
    hu[vessel] = 40.0
    hu[cons] = 30.0 + np.clip(12.0 * rng.standard_normal(int(cons.sum())), -27, 27)
    hu = ndimage.gaussian_filter(hu, (0.6, 0.8, 0.8), mode="nearest")
    hu += rng.normal(0.0, 20.0, SHAPE).astype(np.float32)
    return np.rint(hu).astype(np.int16), lung, cons, vessel


def test_dense_consolidation_is_solid_and_a_dense_vessel_is_not_lesion():
    # Airless lung is as dense as blood: density alone (HU >= vessel_min_hu) must not call a
    # consolidation a vessel, and noise pushing its voxels past +50 HU must not punch holes in it.
    hu, lung, cons, vessel = _dense_consolidation_chest()
    labels = segment_lesions(Volume(hu, SPACING), LungMasks(lung.astype(np.uint8))).labels
    core = ndimage.binary_erosion(cons) & ndimage.binary_erosion(lung)
    assert (labels[core] == 2).mean() >= 0.95
    assert (labels[cons] > 0).mean() >= 0.9
    inner = ndimage.binary_erosion(lung)
    assert not np.any(labels[vessel & inner & ~ndimage.binary_dilation(cons, iterations=3)])
    # The vessel mask keeps the (thin) vessel and leaves the (thick) consolidation out.
    p = default_protocol().lesions
    found = vessel_mask(hu.astype(np.float32), inner, p, SPACING)
    vessel_core = vessel & inner & (hu >= p.vessel_min_hu)
    assert vessel_core.sum() > 20 and found[vessel_core].mean() >= 0.9
    assert found[core].mean() <= 0.02


_PLEURAL_LAYER_LIMIT = (
    "segmentation 2.2 limit: with the true lung mask, lesion on the lung's outermost voxel layer "
    "(partial volume with the chest wall) is missed, 5-10 % of the lesion here (2.3-3.3 points at "
    "38-60 % burden); the growth limit is not the cause (unlimited growth changes nothing)"
)


@pytest.mark.parametrize("seed, pct, cons", [
    pytest.param(17, 38.0, 0.0, marks=pytest.mark.xfail(strict=True, reason=_PLEURAL_LAYER_LIMIT)),
    pytest.param(20, 60.0, 0.8, marks=pytest.mark.xfail(strict=True, reason=_PLEURAL_LAYER_LIMIT)),
])
def test_dense_phantom_lesions_inside_the_true_lung_mask(seed, pct, cons):
    # With realistic airless lung (+30 HU) and the true lung mask, the lesion step alone.
    from quant.phantom import make_scan
    from quant.phantom.image import DENSE_SOLID_HU, DENSE_SOLID_TEXTURE_HU

    scan = make_scan(
        "small", seed, lesion_pct=pct, consolidation=cons,
        solid_hu=DENSE_SOLID_HU, solid_texture_hu=DENSE_SOLID_TEXTURE_HU,
    )
    _assert_lesion_step_on_the_true_lungs(scan, lesion_pct_error=1.5)


@pytest.mark.parametrize("seed, pct", [(48, 30.0), (51, 5.0)])
def test_low_dose_sharp_kernel_lesions_inside_the_true_lung_mask(seed, pct):
    # Noise of ~65 HU (low dose, sharp kernel): read voxel by voxel, a third of the ground glass
    # falls across the half-maximum edge or out of the band (lesion % 5.5 points low at 30 %).
    # The lesion step reads each voxel's local mean there; the lung mask is the truth, so this is
    # the lesion step alone.
    from quant.phantom import REAL_CHEST, make_scan

    scan = make_scan("small", seed, lesion_pct=pct, **dict(REAL_CHEST, noise_sigma=60.0, kernel="sharp"))
    _assert_lesion_step_on_the_true_lungs(scan, lesion_pct_error=2.5)


def _assert_lesion_step_on_the_true_lungs(scan, lesion_pct_error: float) -> None:
    """The lesion step alone, given the phantom's true lung mask: lesion Dice >= 0.9, solid % within
    1 point and lesion % within ``lesion_pct_error`` points of the truth."""
    from quant.metrics import measure

    lungs = LungMasks(scan.lung_labels.copy())
    lesions = segment_lesions(scan.volume, lungs)
    m = measure(scan.volume, lungs, lesions)
    assert dice(lesions.labels > 0, scan.lesion) >= 0.9
    assert abs(m.solid_pct - scan.truth["solid_pct"]) <= 1.0
    assert abs(m.lesion_pct - scan.truth["lesion_pct"]) <= lesion_pct_error
