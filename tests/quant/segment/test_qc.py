"""Quality-control flags of the automatic segmentation (:mod:`quant.segment.qc`).

Each flag is raised by the situation it names and not otherwise: coverage on phantoms that cut
the apex or hold only the bases, lung volume, slice thickness, and a solid component at fat HU.
The flags travel in a read's metrics (``qc_flags`` / ``qc_notes``) and out through reads.csv.
"""

from __future__ import annotations

import numpy as np
import pytest

from quant.labels import SOLID, LesionMasks, LungMasks
from quant.metrics import measure
from quant.protocol import default_protocol
from quant.segment.qc import QC_CODES, QCFlag, assess, from_metrics, to_metrics
from quant.volume import Volume


def _codes(flags) -> list[str]:
    return [f.code for f in flags]


def _box_case(spacing=(1.0, 1.0, 1.0), lung_hu=-850, solid_hu=None, lung_slices=slice(5, 45)):
    """A 50^3 volume with one box 'lung' (label 1) and a solid lesion cube inside it."""
    hu = np.full((50, 50, 50), 40, np.int16)
    lung = np.zeros(hu.shape, np.uint8)
    lung[lung_slices, 5:45, 5:45] = 1
    hu[lung > 0] = lung_hu
    lesion = np.zeros(hu.shape, np.uint8)
    if solid_hu is not None:
        lesion[20:30, 20:30, 20:30] = SOLID
        hu[lesion > 0] = solid_hu
    return Volume(hu, spacing), LungMasks(lung), LesionMasks(lesion)


def _assess(volume, lungs, lesions):
    metrics = measure(volume, lungs, lesions)
    return assess(volume, lungs, lesions, metrics, default_protocol())


def test_a_well_covered_thin_slice_adult_lung_raises_nothing():
    volume, lungs, lesions = _box_case(spacing=(1.0, 2.0, 2.0))  # 40 x 80 x 80 mm = 256 mL ...
    # ... too small for an adult: only the volume flag
    assert _codes(_assess(volume, lungs, lesions)) == ["implausible_lung_volume"]
    big = Volume(volume.hu, (2.0, 4.0, 4.0))  # 2 L
    assert _codes(_assess(big, lungs, lesions)) == []


def test_lung_on_the_top_or_bottom_slice_is_incomplete_coverage():
    volume, lungs, lesions = _box_case(spacing=(2.0, 4.0, 4.0), lung_slices=slice(5, 50))
    flags = _assess(volume, lungs, lesions)
    assert _codes(flags) == ["incomplete_coverage"]
    assert "top slice" in flags[0].message and "cm²" in flags[0].message
    volume, lungs, lesions = _box_case(spacing=(2.0, 4.0, 4.0), lung_slices=slice(0, 45))
    assert "bottom slice" in _assess(volume, lungs, lesions)[0].message
    # with z running downwards (direction z = -1), the top is the first slice
    flipped = Volume(volume.hu, volume.spacing, direction=np.diag([1.0, 1.0, -1.0]))
    assert "top slice" in _assess(flipped, lungs, lesions)[0].message


def test_thick_slices_and_fat_like_solid():
    volume, lungs, lesions = _box_case(spacing=(5.0, 3.0, 3.0), solid_hu=-100)
    flags = _assess(volume, lungs, lesions)
    assert set(_codes(flags)) == {"thick_slices", "fat_like_solid"}
    fat = next(f for f in flags if f.code == "fat_like_solid")
    assert "-100 HU" in fat.message
    # airless lung at +30 HU is not fat
    volume, lungs, lesions = _box_case(spacing=(5.0, 3.0, 3.0), solid_hu=30)
    assert _codes(_assess(volume, lungs, lesions)) == ["thick_slices"]


def test_flags_round_trip_through_read_metrics():
    flags = (QCFlag("thick_slices", "slices 8 mm apart"), QCFlag("incomplete_coverage", "apex cut"))
    stored = to_metrics(flags)
    assert stored["qc_flags"] == "thick_slices;incomplete_coverage"
    assert from_metrics(dict(stored, lesion_pct=1.0)) == flags
    # a read without notes still names the flags
    titles = from_metrics({"qc_flags": "thick_slices"})
    assert titles[0].code == "thick_slices" and "thick" in titles[0].message
    assert from_metrics({}) == ()
    assert set(QC_CODES) >= {"incomplete_coverage", "implausible_lung_volume", "thick_slices", "fat_like_solid"}


@pytest.mark.parametrize("coverage, expected", [("apex_cut", "incomplete_coverage"), ("bases_only", "incomplete_coverage")])
def test_cut_coverage_phantoms_are_flagged(coverage, expected):
    from quant.phantom import REAL_CHEST, make_scan
    from quant.segment.pipeline import segment

    scan = make_scan("small", 49, lesion_pct=10.0, **dict(REAL_CHEST, coverage=coverage))
    codes = _codes(segment(scan.volume).qc)
    assert expected in codes
    if coverage == "bases_only":
        assert "implausible_lung_volume" in codes


def test_full_coverage_phantom_is_not_flagged_for_coverage():
    from quant.phantom import make_scan
    from quant.segment.pipeline import segment

    codes = _codes(segment(make_scan("small", 11, lesion_pct=0.0).volume).qc)
    assert "incomplete_coverage" not in codes and "implausible_lung_volume" not in codes
    assert "thick_slices" in codes  # the small phantom has 3 mm slices


def test_a_noisy_image_is_flagged_with_its_noise():
    # Aerated lung with 80 HU of noise (a low-dose sharp-kernel scan) against 15 HU (standard dose).
    rng = np.random.default_rng(0)
    volume, lungs, lesions = _box_case(spacing=(2.0, 4.0, 4.0))
    codes = {}
    for sigma in (80.0, 15.0):
        noisy = volume.hu + rng.normal(0.0, sigma, volume.shape).round().astype(np.int16)
        codes[sigma] = {f.code: f.message for f in _assess(Volume(noisy, volume.spacing), lungs, lesions)}
    assert "noisy_image" not in codes[15.0]
    message = codes[80.0]["noisy_image"]
    measured = float(message.split("image noise ")[1].split(" HU")[0])
    assert 70.0 <= measured <= 90.0, message


def test_the_low_dose_phantom_is_flagged_noisy():
    from quant.phantom import REAL_CHEST, make_scan
    from quant.segment.pipeline import segment

    scan = make_scan("small", 51, lesion_pct=5.0, **dict(REAL_CHEST, noise_sigma=60.0, kernel="sharp"))
    noisy = next(f for f in segment(scan.volume).qc if f.code == "noisy_image")
    assert "HU in the aerated lung" in noisy.message
