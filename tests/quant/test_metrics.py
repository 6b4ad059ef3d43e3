"""Endpoint metrics: exact numbers on hand-built label maps, and the incremental tracker."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID, LesionMasks, LungMasks, VoxelChange
from quant.metrics import MetricsTracker, count_table, measure
from quant.protocol import default_protocol
from quant.volume import Volume

SHAPE = (4, 5, 6)


def _volume() -> Volume:
    # 2 x 5 x 10 mm voxels = 0.1 mL each
    return Volume(np.zeros(SHAPE, dtype=np.int16), spacing=(2.0, 5.0, 10.0))


def test_measure_exact_numbers():
    vol = _volume()
    lung = np.zeros(SHAPE, np.uint8)
    lesion = np.zeros(SHAPE, np.uint8)
    lung[0:2] = RIGHT_LUNG  # 60 voxels = 6 mL
    lung[2:4, :, :3] = LEFT_LUNG  # 30 voxels = 3 mL
    lesion[0, 0, :] = GGO  # 6 right GGO
    lesion[0, 1, :2] = SOLID  # 2 right solid
    lesion[2, 0, :3] = SOLID  # 3 left solid
    lesion[3, 4, 5] = GGO  # outside the lungs: not counted
    m = measure(vol, LungMasks(lung), LesionMasks(lesion))
    assert m.lung_ml == pytest.approx(9.0)
    assert m.lung_right_ml == pytest.approx(6.0)
    assert m.lung_left_ml == pytest.approx(3.0)
    assert m.ggo_ml == pytest.approx(0.6)
    assert m.solid_ml == pytest.approx(0.5)
    assert m.lesion_ml == pytest.approx(1.1)
    assert m.lesion_pct == pytest.approx(100 * 11 / 90)
    assert m.solid_pct == pytest.approx(100 * 5 / 90)
    assert m.lesion_pct_right == pytest.approx(100 * 8 / 60)
    assert m.lesion_pct_left == pytest.approx(100 * 3 / 30)
    assert m.solid_pct_right == pytest.approx(100 * 2 / 60)
    assert m.solid_pct_left == pytest.approx(100 * 3 / 30)
    assert m.suggested_normal is False
    d = m.as_dict()
    assert set(d) >= {"lung_ml", "lesion_pct", "solid_pct", "suggested_normal"}


def test_suggested_normal_follows_protocol_threshold():
    vol = _volume()
    lung = np.full(SHAPE, RIGHT_LUNG, np.uint8)  # 120 voxels
    lesion = np.zeros(SHAPE, np.uint8)
    assert measure(vol, LungMasks(lung), LesionMasks(lesion)).suggested_normal is True
    lesion.reshape(-1)[:1] = GGO  # 0.83 % > 0.5 %
    m = measure(vol, LungMasks(lung), LesionMasks(lesion))
    assert m.lesion_pct == pytest.approx(100 / 120)
    assert m.lesion_pct >= default_protocol().normal.max_lesion_pct
    assert m.suggested_normal is False


def test_empty_lungs_give_zero_percentages():
    vol = _volume()
    m = measure(vol, LungMasks(np.zeros(SHAPE, np.uint8)), LesionMasks(np.zeros(SHAPE, np.uint8)))
    assert m.lung_ml == 0 and m.lesion_pct == 0 and m.solid_pct_left == 0


def test_invalid_labels_are_rejected():
    lung = np.zeros(SHAPE, np.uint8)
    lung[0, 0, 0] = 7
    with pytest.raises(ValueError, match="0, 1 or 2"):
        count_table(lung, np.zeros(SHAPE, np.uint8))


def test_count_table_chunks_agree_with_direct_count(monkeypatch):
    import quant.metrics as qm

    rng = np.random.default_rng(1)
    lung = rng.integers(0, 3, (7, 11, 13)).astype(np.uint8)
    lesion = rng.integers(0, 3, (7, 11, 13)).astype(np.uint8)
    expected = np.zeros((3, 3), np.int64)
    np.add.at(expected, (lung.ravel(), lesion.ravel()), 1)
    monkeypatch.setattr(qm, "_CHUNK", 17)  # many chunks, one partial
    assert np.array_equal(count_table(lung, lesion), expected)


change_strategy = st.lists(
    st.tuples(
        st.sampled_from(["lung", "lesion"]),
        st.lists(st.integers(0, int(np.prod(SHAPE)) - 1), min_size=0, max_size=40, unique=True),
        st.integers(0, 2),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), edits=change_strategy)
def test_tracker_equals_full_recompute_after_random_edits(seed, edits):
    rng = np.random.default_rng(seed)
    vol = _volume()
    lungs = LungMasks(rng.integers(0, 3, SHAPE).astype(np.uint8))
    lesions = LesionMasks(rng.integers(0, 3, SHAPE).astype(np.uint8))
    tracker = MetricsTracker(vol, lungs, lesions)
    start_counts, start_metrics = count_table(lungs.labels, lesions.labels), measure(vol, lungs, lesions)
    history = []
    for target, idx, value in edits:
        labels = lungs.labels if target == "lung" else lesions.labels
        indices = np.asarray(idx, dtype=np.int64)
        old = labels.reshape(-1)[indices].copy()
        new = np.full(indices.size, value, dtype=np.uint8)
        change = VoxelChange(target, indices, old, new)
        change.apply_to(labels)
        tracker.apply(change)
        history.append(change)
        assert np.array_equal(tracker.counts, count_table(lungs.labels, lesions.labels))
        assert tracker.metrics == measure(vol, lungs, lesions)
    # Undo everything (inverse changes in reverse order): back to the start, still consistent.
    for change in reversed(history):
        inverse = change.inverse()
        target = lungs.labels if inverse.target == "lung" else lesions.labels
        inverse.apply_to(target)
        tracker.apply(inverse)
    assert np.array_equal(tracker.counts, start_counts)
    assert tracker.metrics == start_metrics


def test_recompute_follows_a_bulk_replacement():
    """Labels replaced wholesale (no VoxelChange) leave the tracker stale until recompute()."""
    rng = np.random.default_rng(3)
    vol = _volume()
    lungs = LungMasks(rng.integers(0, 3, SHAPE).astype(np.uint8))
    lesions = LesionMasks(np.zeros(SHAPE, np.uint8))
    tracker = MetricsTracker(vol, lungs, lesions)
    before = tracker.metrics
    lesions.labels[...] = rng.integers(0, 3, SHAPE).astype(np.uint8)
    assert tracker.metrics == before  # not told: still the old numbers
    after = tracker.recompute()
    assert after == measure(vol, lungs, lesions) != before
    assert np.array_equal(tracker.counts, count_table(lungs.labels, lesions.labels))
