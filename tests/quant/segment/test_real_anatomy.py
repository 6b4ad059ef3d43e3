"""Automatic segmentation accuracy on phantoms with what real chests have.

The basic phantom (tests/quant/segment/test_pipeline.py) has no fat against the pleura, no abdominal gas, no
effusion and only -110 HU consolidation; an algorithm that adds "everything below -20 HU near the
lung" passes it and fails on real CT (fat at -100 HU becomes lung and solid lesion). These cases
use the phantom's realistic options (:func:`quant.phantom.make_scan`, :data:`REAL_CHEST`) and hold
the automatic result to the project's accuracy bounds:

* lung Dice >= 0.97 against the truth, right and left not swapped;
* lesion % error (measured - truth, percentage points): median <= 1.0 and max <= 2.5 over cases;
* a clean scan (no lesions; with fat and gas, and with effusion) reads lesion % <= 0.5 and is
  suggested normal;
* fat, abdominal gas and effusion stay out of the lung: after one binary erosion of each tissue
  mask (so the one-voxel partial-volume rim at the lung surface does not count), at most 1 % of
  its voxels lie in the automatic lung mask. For fat the denominator is the fat near the lungs
  (within :data:`NEAR_LUNG_MM` of the true lung: extrapleural, mediastinal and pericardial fat),
  since the far larger subcutaneous fat would dilute the bound.

A lungs-bases-only scan (an abdominal CT) is held only to what any sane algorithm must do: if it
measures the scan at all, its lung mask holds no abdominal gas.

Each case is generated and segmented once per module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import ndimage

from quant.labels import LEFT_LUNG, RIGHT_LUNG
from quant.phantom import REAL_CHEST, PhantomScan
from quant.phantom.anatomy import Tissue
from quant.phantom.image import DENSE_SOLID_HU, DENSE_SOLID_TEXTURE_HU
from quant.segment.pipeline import SegmentationError, SegmentationResult, segment
from tests.support.overlap import dice

DENSE = {"solid_hu": DENSE_SOLID_HU, "solid_texture_hu": DENSE_SOLID_TEXTURE_HU}
#: Fat within this distance (mm) of the true lung is "chest fat" for the fat-in-lung check.
NEAR_LUNG_MM = 15.0
#: Largest share of a tissue's eroded voxels allowed in the automatic lung mask.
MAX_TISSUE_IN_LUNG = 0.01

# name → (seed, lesion %, make_scan options)
CASES: dict[str, tuple[int, float, dict]] = {
    "chest-fat-5pct": (41, 5.0, {"chest_fat": True}),
    "fat-gas-clean": (42, 0.0, dict(REAL_CHEST)),
    "fat-gas-15pct": (43, 15.0, dict(REAL_CHEST)),
    "effusion-clean": (44, 0.0, dict(REAL_CHEST, effusion_ml=300.0)),
    "effusion-atelectasis-15pct": (45, 15.0, dict(REAL_CHEST, effusion_ml=(150.0, 250.0), atelectasis_mm=5.0)),
    "wall-consolidation-30pct": (46, 30.0, dict(REAL_CHEST, consolidation=1.0, **DENSE)),
    "mediastinal-consolidation-15pct": (47, 15.0, dict(REAL_CHEST, mediastinal_consolidation=1.0, **DENSE)),
    "low-dose-sharp-30pct": (48, 30.0, dict(REAL_CHEST, noise_sigma=60.0, kernel="sharp")),
    "low-dose-sharp-5pct": (51, 5.0, dict(REAL_CHEST, noise_sigma=60.0, kernel="sharp", **DENSE)),
    "apex-cut-15pct": (49, 15.0, dict(REAL_CHEST, coverage="apex_cut")),
}
CLEAN = ["fat-gas-clean", "effusion-clean"]
BASES_ONLY = (50, 15.0, dict(REAL_CHEST, coverage="bases_only"))


@dataclass
class Case:
    scan: PhantomScan
    result: SegmentationResult | None
    error: Exception | None = None

    def lungs(self) -> np.ndarray:
        if self.result is None:
            pytest.fail(f"segmentation failed: {self.error!r}")
        return self.result.lungs.labels > 0


def _run(seed: int, pct: float, options: dict) -> Case:
    from quant.phantom import make_scan

    scan = make_scan("small", seed, lesion_pct=pct, **options)
    try:
        return Case(scan, segment(scan.volume))
    except SegmentationError as exc:
        return Case(scan, None, exc)


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return {name: _run(*spec) for name, spec in CASES.items()}


# Segmentation 2.2 does not reach the bounds on these cases (the issue-14 note lists the figures):
# each is a strict xfail, so it becomes a failure the day it passes.
LIMIT = (
    "segmentation 2.2 limit: airless (+30 HU) lung that the aerated lung neither encloses nor "
    "fronts (basal and mediastinal consolidation, atelectasis behind an effusion, the lesion cores "
    "of a low-dose sharp-kernel scan) is left out of the lung mask"
)
LUNG_FAILS = {
    "effusion-atelectasis-15pct", "wall-consolidation-30pct",
    "mediastinal-consolidation-15pct", "low-dose-sharp-30pct",
}


def _ids(fails: frozenset[str] | set[str] = frozenset()) -> list:
    return [
        pytest.param(name, id=name, marks=pytest.mark.xfail(strict=True, reason=LIMIT) if name in fails else ())
        for name in CASES
    ]


@pytest.mark.parametrize("name", _ids(LUNG_FAILS))
def test_lung_dice(cases, name):
    case = cases[name]
    lung = case.lungs()
    labels = case.result.lungs.labels
    scan = case.scan
    value = dice(lung, scan.lungs)
    assert value >= 0.97, f"lung Dice {value:.4f} (truth {scan.truth['lung_ml']:.0f} mL, automatic {lung.sum() * scan.volume.voxel_volume_ml:.0f} mL)"
    # right and left not swapped
    assert dice(labels == RIGHT_LUNG, scan.lung_labels == RIGHT_LUNG) >= 0.96
    assert dice(labels == LEFT_LUNG, scan.lung_labels == LEFT_LUNG) >= 0.96


@pytest.mark.xfail(strict=True, reason=LIMIT)
def test_lesion_percentage_errors(cases):
    errors = {}
    for name, case in cases.items():
        case.lungs()  # fails with the segmentation error, if any
        errors[name] = case.result.metrics.lesion_pct - case.scan.truth["lesion_pct"]
    err = np.abs(np.array(list(errors.values())))
    table = ", ".join(f"{k}: {v:+.2f}" for k, v in errors.items())
    assert np.median(err) <= 1.0, f"median |error| {np.median(err):.2f} points ({table})"
    assert err.max() <= 2.5, f"max |error| {err.max():.2f} points ({table})"


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in CLEAN])
def test_clean_scan_is_suggested_normal(cases, name):
    case = cases[name]
    case.lungs()
    assert case.scan.truth["lesion_pct"] == 0.0
    measured = case.result.metrics.lesion_pct
    assert measured <= 0.5, f"lesion % {measured:.2f} on a scan without lesions"
    assert case.result.metrics.suggested_normal is True


def _in_lung(tissue_mask: np.ndarray, lung: np.ndarray) -> tuple[int, int]:
    """(eroded voxels in the automatic lung, eroded voxels) of a tissue mask."""
    core = ndimage.binary_erosion(tissue_mask)
    return int((core & lung).sum()), int(core.sum())


@pytest.mark.parametrize("name", _ids())
def test_fat_gas_and_effusion_stay_out_of_the_lung(cases, name):
    case = cases[name]
    lung = case.lungs()
    scan = case.scan
    outside = ndimage.distance_transform_edt(~scan.lungs, sampling=scan.volume.spacing)
    masks = {
        "chest fat": (scan.tissue == Tissue.FAT) & (outside <= NEAR_LUNG_MM),
        "abdominal gas": scan.tissue == Tissue.BOWEL_GAS,
        "effusion": scan.tissue == Tissue.EFFUSION,
    }
    report, bad = [], []
    for label, mask in masks.items():
        n_in, n = _in_lung(mask, lung)
        if n == 0:
            continue
        report.append(f"{label}: {n_in}/{n}")
        if n_in > MAX_TISSUE_IN_LUNG * n:
            bad.append(label)
    assert report, "the case has none of these tissues"
    assert not bad, f"in the automatic lung mask (eroded voxels): {', '.join(report)}"


def test_all_fat_stays_out_of_the_lung(cases):
    # The same bound with every fat voxel (subcutaneous included) as the denominator.
    report = {}
    for name, case in cases.items():
        n_in, n = _in_lung(case.scan.tissue == Tissue.FAT, case.lungs())
        report[name] = (n_in, n)
    bad = {k: f"{a}/{b}" for k, (a, b) in report.items() if a > MAX_TISSUE_IN_LUNG * b}
    assert not bad, bad


def test_bases_only_scan_never_takes_abdominal_gas_for_lung():
    case = _run(*BASES_ONLY)
    scan = case.scan
    gas = scan.tissue == Tissue.BOWEL_GAS
    assert scan.truth["lung_ml"] < 300 and gas.sum() * scan.volume.voxel_volume_ml > 25
    if case.result is None:
        return  # refusing a scan without plausible lungs is allowed
    n_in, n = _in_lung(gas, case.result.lungs.labels > 0)
    assert n_in <= MAX_TISSUE_IN_LUNG * n, f"abdominal gas in the lung mask: {n_in}/{n} eroded voxels"
