"""Full-size phantoms (512 x 512 x 300 at 0.7 x 0.7 x 1.0 mm): the coarse-grid + refinement path.

Two scans, generated once (about a minute each): a heavy burden with a large subpleural
consolidation, and a scan without lesions.
"""

from __future__ import annotations

import pytest

from quant.segment.pipeline import segment
from tests.support.overlap import dice

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def full_results():
    from quant.phantom import make_scan

    out = []
    for seed, pct, cons in ((31, 45.0, 1.0), (32, 0.0, 0.0)):
        scan = make_scan("full", seed, lesion_pct=pct, consolidation=cons)
        out.append((scan, segment(scan.volume)))
    return out


@pytest.mark.xfail(strict=True, reason=(
    "segmentation 2.2 limit: the large posterior-basal consolidation (+30 HU) lies below and behind "
    "the aerated lung, which neither encloses nor fronts it, so it is left out of the lung mask"
))
def test_full_size_heavy_burden_accuracy(full_results):
    heavy, res = full_results[0]
    lung_dice = dice(res.lungs.labels > 0, heavy.lungs)
    right_dice = dice(res.lungs.labels == 1, heavy.lung_labels == 1)
    assert lung_dice >= 0.97 and right_dice >= 0.96, (lung_dice, right_dice)
    lesion_dice = dice(res.lesions.labels > 0, heavy.lesion)
    assert lesion_dice >= 0.85, lesion_dice
    lesion_err = res.metrics.lesion_pct - heavy.truth["lesion_pct"]
    solid_err = res.metrics.solid_pct - heavy.truth["solid_pct"]
    assert abs(lesion_err) <= 2.5 and abs(solid_err) <= 1.0, (lesion_err, solid_err)
    # the large subpleural consolidation is inside the lung mask (all but its partial-volume rim)
    solid = heavy.lesion_labels == 2
    inside = float(((res.lungs.labels > 0) & solid).sum()) / float(solid.sum())
    assert inside >= 0.93, inside


def test_full_size_clean_scan(full_results):
    clean, res0 = full_results[1]
    lung_dice = dice(res0.lungs.labels > 0, clean.lungs)
    right_dice = dice(res0.lungs.labels == 1, clean.lung_labels == 1)
    assert lung_dice >= 0.97 and right_dice >= 0.96, (lung_dice, right_dice)
    assert res0.metrics.lesion_pct <= 0.5, res0.metrics.lesion_pct
    assert res0.metrics.suggested_normal is True
