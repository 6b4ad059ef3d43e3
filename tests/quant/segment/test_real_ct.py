"""Automatic segmentation on real patient CT kept in the repository (``tests/data/realct/``).

The phantom alone proved to be a mirror of the project's own assumptions: the previous algorithm
met every phantom bound and called 30-90 % of real scans lesion (body fat taken for lung and for
solid lesion, bowel gas for lung). These tests hold the result on real scans to the issue-14
acceptance figures, on the two real cases whose licences allow them in the repository:

* a lung-cancer CT (8 mm slices): lesion outside the tumour boxes grown by 10 mm <= 1 % of lung;
  the tumour is measured as solid lesion; solid voxels are not fat (median >= -50 HU) and <= 5 % of
  lesion voxels have a fat-like 3x3x3 mean; QC flags the thick slices;
* an abdominal CT holding only the lung bases: the bases are segmented (lung Dice >= 0.8 against
  TotalSegmentator's masks) and the scan is flagged as not covering the lungs, never "88 % lesion".

Both run through the library and through the real ``lungread segment`` process. The cancer case
also stands in for scans the suite does not hold: made low-dose (added noise), cut by a narrower
field of view, with contrast-enhanced blood (simulated) and with emphysematous lungs (simulated).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from benchmarks.realct_cases import RealCase, find_cases, with_added_noise
from quant.labels import SOLID
from tests.support.overlap import dice
from tests.support.paths import TEST_DATA

DATA = TEST_DATA / "realct"
FAT_BAND_HU = (-190.0, -30.0)


def _case(prefix: str) -> RealCase:
    return next(c for c in find_cases(DATA) if c.name.startswith(prefix))


@pytest.fixture(scope="module")
def cancer():
    from quant.dicom.load import load_series
    from quant.segment.pipeline import segment

    case = _case("cancer")
    volume = load_series(case.dicom)
    return case, volume, segment(volume)


@pytest.fixture(scope="module")
def abdomen():
    from quant.dicom.load import load_series
    from quant.segment.pipeline import segment

    case = _case("abdomen")
    volume = load_series(case.dicom)
    return case, volume, segment(volume)


def test_the_real_cases_are_complete_and_unaltered():
    import hashlib

    lines = (DATA / "MANIFEST.sha256").read_text().splitlines()
    assert len(lines) > 100
    for line in lines:
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_cancer_ct_lesion_lies_in_the_tumour(cancer):
    case, volume, result = cancer
    lung = result.lungs.labels > 0
    lesion = (result.lesions.labels > 0) & lung
    grown = case.tumour_boxes(volume)  # grown by the case's 10 mm margin
    outside_pct = 100.0 * np.count_nonzero(lesion & ~grown) / np.count_nonzero(lung)
    assert outside_pct <= 1.0, outside_pct
    # The tumour (touching the mediastinal pleura) is in the lung mask and measured as solid.
    tight = case.tumour_boxes(volume, margin_mm=0.0)
    solid_in_tumour_ml = np.count_nonzero((result.lesions.labels == SOLID) & lung & tight) * volume.voxel_volume_ml
    assert solid_in_tumour_ml >= 5.0, solid_in_tumour_ml
    # A plausible adult lung, not the chest wall: the old algorithm called it 5.5 L and 50 % lesion.
    assert 2000.0 <= result.metrics.lung_ml <= 4000.0
    assert result.metrics.lesion_pct <= 5.0


def test_cancer_ct_solid_is_not_fat(cancer):
    _case_, volume, result = cancer
    lung = result.lungs.labels > 0
    solid = (result.lesions.labels == SOLID) & lung
    assert np.count_nonzero(solid) * volume.voxel_volume_ml >= 0.002 * result.metrics.lung_ml
    assert np.median(volume.hu[solid]) >= -50.0
    lesion = (result.lesions.labels > 0) & lung
    mean3 = ndimage.uniform_filter(volume.hu.astype(np.float32), size=3)[lesion]
    fat_like = np.mean((mean3 >= FAT_BAND_HU[0]) & (mean3 <= FAT_BAND_HU[1]))
    assert fat_like <= 0.05, fat_like


def test_cancer_ct_is_flagged_for_its_8_mm_slices(cancer):
    _case_, _volume, result = cancer
    codes = [f.code for f in result.qc]
    assert "thick_slices" in codes
    assert "fat_like_solid" not in codes and "implausible_lung_volume" not in codes


def test_abdominal_ct_lung_bases_are_segmented_and_flagged(abdomen):
    case, volume, result = abdomen
    ref = case.reference_lung(volume)
    lung = result.lungs.labels > 0
    value = dice(lung, ref)
    assert value >= 0.8, value
    assert result.metrics.lung_ml < 300.0  # the bases, not litres of stomach and colon gas
    assert result.metrics.lesion_pct <= 5.0
    codes = [f.code for f in result.qc]
    assert "incomplete_coverage" in codes and "implausible_lung_volume" in codes


def test_lungread_segment_process_on_real_ct(tmp_path):
    # The installed entry point, as a user runs it.
    exe = Path(sys.executable).with_name("lungread")
    assert exe.is_file(), exe
    proc = subprocess.run(
        [str(exe), "segment", str(_case("abdomen").dicom), "--json", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    codes = {f["code"] for f in data["qc_flags"]}
    assert {"incomplete_coverage", "implausible_lung_volume"} <= codes
    assert data["algorithm_version"].startswith("lungread-seg-2")
    assert (tmp_path / "lung_labels.nii.gz").is_file() and (tmp_path / "lesion_labels.nii.gz").is_file()


def test_cancer_ct_made_low_dose_keeps_its_lesion_in_the_tumour():
    # The same scan with 80 HU of white noise added (a low-dose stress). Smoothing such a scan for
    # detection flattens the vessel ridges; the parenchyma mean then took in the vessels' blood
    # and put ground glass in the dependent left lower lobe: 10.3 % of lung outside the boxes.
    from quant.dicom.load import load_series
    from quant.segment.pipeline import segment

    case = _case("cancer")
    volume = with_added_noise(load_series(case.dicom), 80.0, seed=0)
    result = segment(volume)
    lung = result.lungs.labels > 0
    lesion = (result.lesions.labels > 0) & lung
    outside_pct = 100.0 * np.count_nonzero(lesion & ~case.tumour_boxes(volume)) / np.count_nonzero(lung)
    assert outside_pct <= 1.0, outside_pct
    tight = case.tumour_boxes(volume, margin_mm=0.0)
    assert np.count_nonzero((result.lesions.labels == SOLID) & lung & tight) * volume.voxel_volume_ml >= 5.0


def test_abdominal_ct_made_low_dose_still_finds_the_lung_bases():
    # With 80 HU of noise the gas of the stomach and colon (merged, 3x the lung base) passed as
    # lung-like and, reaching the top slice like the left lung base, won the tie by size: 340 mL,
    # Dice 0.25. Ties now go to the component with more voxels at parenchymal HU.
    from quant.dicom.load import load_series
    from quant.segment.pipeline import segment

    case = _case("abdomen")
    volume = with_added_noise(load_series(case.dicom), 80.0, seed=0)
    result = segment(volume)
    ref = case.reference_lung(volume)
    lung = result.lungs.labels > 0
    value = dice(lung, ref)
    assert value >= 0.8, value
    codes = {f.code for f in result.qc}
    assert {"incomplete_coverage", "implausible_lung_volume", "noisy_image"} <= codes


def test_cancer_ct_reconstructed_with_a_narrower_field_of_view(cancer):
    # The same scan with 12 % of the image cut off at each side (a targeted reconstruction): the
    # lungs reach the image edge, where the usual rule took their air for the air around the
    # patient and kept a 25 mL pocket as "the lungs". The body is now closed along the edge.
    from dataclasses import replace

    from quant.segment.pipeline import segment

    _case_, volume, full = cancer
    cut = int(0.12 * volume.shape[2])
    origin = np.asarray(volume.origin) + volume.direction[:, 0] * volume.spacing[2] * cut
    narrow = replace(volume, hu=volume.hu[:, :, cut:-cut].copy(), origin=tuple(origin))
    result = segment(narrow)
    assert abs(result.metrics.lung_ml - full.metrics.lung_ml) <= 0.05 * full.metrics.lung_ml
    assert abs(result.metrics.lesion_pct - full.metrics.lesion_pct) <= 1.0
    coverage = next(f for f in result.qc if f.code == "incomplete_coverage")
    assert "field of view cuts the lungs" in coverage.message


def _mediastinal_blood(volume, labels) -> np.ndarray:
    """Weight 0..1 of 'blood' for a crude contrast simulation: soft tissue (10..90 HU after a 1.5 mm
    smoothing) between the two lungs and at least 4 mm from anything else (heart chambers, great
    vessels), with a 1 mm soft edge."""
    from quant.segment.pleura import mediastinal_band

    sp = volume.spacing
    hu = volume.hu.astype(np.float32)
    smooth = ndimage.gaussian_filter(hu, sigma=[1.5 / s for s in sp])
    soft = (smooth > 10.0) & (smooth < 90.0)
    core = mediastinal_band(labels) & (ndimage.distance_transform_edt(soft, sampling=sp) >= 4.0)
    return ndimage.gaussian_filter(core.astype(np.float32), sigma=[1.0 / s for s in sp])


def test_cancer_ct_with_contrast_enhanced_blood_keeps_its_lung_mask(cancer):
    # The real cases are unenhanced; oncology chest CT mostly is not. With blood at +200 HU (above
    # bone_min_hu) the heart and great vessels must not become a "rib line" that ends a chest-wall
    # gap, nor lung, nor lesion.
    from quant.segment.pipeline import segment
    from quant.volume import Volume

    case, volume, plain = cancer
    lung0 = plain.lungs.labels > 0
    blood = _mediastinal_blood(volume, plain.lungs.labels)
    assert np.count_nonzero(blood > 0.5) * volume.voxel_volume_ml >= 100.0  # the simulation took
    enhanced = np.clip(volume.hu + 200.0 * blood, -1024, 3071).astype(np.int16)
    result = segment(Volume(enhanced, volume.spacing, volume.origin, volume.direction))
    lung = result.lungs.labels > 0
    # The heart and great vessels (hundreds of mL) stay out: under 1 mL of enhanced tissue joins
    # the lung (the simulation also enhances the hilar part of the tumour, whose edge may move).
    assert np.count_nonzero(lung & ~lung0 & (blood > 0.5)) * volume.voxel_volume_ml < 1.0
    value = dice(lung, lung0)
    assert value >= 0.995, value
    lesion = (result.lesions.labels > 0) & lung
    assert 100.0 * np.count_nonzero(lesion & ~case.tumour_boxes(volume)) / np.count_nonzero(lung) <= 1.0
    assert abs(result.metrics.lesion_pct - plain.metrics.lesion_pct) <= 0.2


def test_cancer_ct_with_emphysematous_lungs_keeps_its_lungs_and_tumour(cancer):
    # Emphysema: much of the lung below the airway threshold (-950 HU). The airway search must not
    # leak into it and the lungs must still be lung-like (not refused, not taken for gas).
    from quant.segment.pipeline import segment
    from quant.volume import Volume

    case, volume, plain = cancer
    lung0 = plain.lungs.labels > 0
    hu = volume.hu.astype(np.float32)
    aerated = lung0 & (hu < -700)
    rng = np.random.default_rng(0)
    hu[aerated] -= 150.0 * np.sqrt(rng.random(np.count_nonzero(aerated), dtype=np.float32))
    darker = np.clip(hu, -1024, None).astype(np.int16)
    assert np.mean(darker[lung0] < -950) >= 0.2  # the simulation took
    result = segment(Volume(darker, volume.spacing, volume.origin, volume.direction))
    lung = result.lungs.labels > 0
    value = dice(lung, lung0)
    assert value >= 0.99, value
    tight = case.tumour_boxes(volume, margin_mm=0.0)
    assert np.count_nonzero((result.lesions.labels == SOLID) & lung & tight) * volume.voxel_volume_ml >= 5.0
