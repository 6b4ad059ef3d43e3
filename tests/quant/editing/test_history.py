"""Undo/redo history: bit-for-bit undo, redo, one drag = one step, no empty steps, labels,
listeners, memory accounting, and a random model-based check with hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quant.editing.editor import EditingError, MaskEditor
from quant.editing.history import History, HistoryStep, compose_changes
from quant.labels import GGO, SOLID, VoxelChange
from quant.metrics import MetricsTracker, measure
from tests.support.editing import SHAPE, make_editor


def _snapshot(editor):
    return editor.lungs.labels.copy(), editor.lesions.labels.copy()


def _same(editor, snap):
    return np.array_equal(editor.lungs.labels, snap[0]) and np.array_equal(editor.lesions.labels, snap[1])


def test_one_drag_is_one_step_and_undo_redo_are_exact():
    editor = make_editor(label=SOLID, radius_mm=2.0)
    start = _snapshot(editor)
    editor.begin_stroke("paint", (10, 10, 8))
    for x in range(9, 19):
        editor.continue_stroke((10, 12, x))
    step = editor.end_stroke()
    after = _snapshot(editor)
    assert editor.history.n_undo == 1 and editor.undo_label == "Paint solid, 2 mm"
    assert len(step.changes) == 1 and step.n_voxels == (after[1] != start[1]).sum()
    assert editor.undo() is step
    assert _same(editor, start) and editor.redo_label == "Paint solid, 2 mm" and not editor.can_undo
    assert editor.redo() is step
    assert _same(editor, after) and not editor.can_redo
    assert editor.redo() is None


def test_a_click_that_changes_nothing_records_no_step():
    editor = make_editor(label=GGO, radius_mm=2.0)
    editor.begin_stroke("paint", (10, 20, 10))
    assert editor.end_stroke() is not None
    editor.begin_stroke("paint", (10, 20, 10))  # same spot again: already painted
    assert editor.end_stroke() is None
    editor.radius_mm = 1.0
    editor.begin_stroke("paint", (10, 20, 23.5))  # between the lungs, restricted to lungs
    assert editor.end_stroke() is None
    editor.begin_stroke("erase", (10, 2, 2))  # nothing to erase
    assert editor.end_stroke() is None
    assert editor.history.n_undo == 1
    assert editor.end_stroke() is None  # no stroke open


def test_new_edit_clears_redo_and_labels_follow_the_stack():
    editor = make_editor(radius_mm=3.0)
    editor.label = SOLID
    editor.begin_stroke("paint", (10, 20, 10))
    editor.end_stroke()
    editor.label, editor.radius_mm, editor.brush_shape = GGO, 2.5, "sphere"
    editor.begin_stroke("paint", (10, 20, 30))
    editor.end_stroke()
    assert editor.undo_label == "Paint ground-glass, 2.5 mm sphere"
    editor.undo()
    assert (editor.undo_label, editor.redo_label) == ("Paint solid, 3 mm", "Paint ground-glass, 2.5 mm sphere")
    editor.begin_stroke("erase", (10, 20, 10))  # erase GGO where only solid lies: no-op
    assert editor.end_stroke() is None and editor.can_redo  # a no-op does not clear redo
    editor.label = SOLID
    editor.begin_stroke("erase", (10, 20, 10))
    editor.end_stroke()
    assert editor.undo_label == "Erase solid, 2.5 mm sphere" and not editor.can_redo


def test_undo_during_a_stroke_ends_it_first_and_cancel_reverts():
    editor = make_editor(label=GGO)
    start = _snapshot(editor)
    editor.begin_stroke("paint", (10, 20, 10))
    editor.undo()
    assert _same(editor, start) and not editor.stroke_in_progress and editor.can_redo
    editor.begin_stroke("paint", (10, 20, 10))
    editor.continue_stroke((10, 25, 15))
    editor.cancel_stroke()
    assert _same(editor, start) and not editor.can_undo


def test_history_keeps_at_least_100_steps_and_drops_the_oldest():
    with pytest.raises(EditingError, match="at least 100"):
        History(50)
    editor = MaskEditor(
        make_editor().volume, make_editor().lungs, make_editor().lesions, max_history=120
    )
    editor.label, editor.radius_mm = GGO, 0.5
    start = _snapshot(editor)
    for i in range(150):
        editor.begin_stroke("paint", (2 + i % 16, 4 + i // 16, 5))
        editor.end_stroke()
    assert editor.history.n_undo == 120
    while editor.undo() is not None:
        pass
    # The 30 oldest dots could not be undone, all later ones were.
    painted = editor.lesions.labels > 0
    assert painted.sum() == 30 and not _same(editor, start)


def test_history_memory_is_sparse_and_accounted_exactly():
    editor = make_editor(label=SOLID, radius_mm=3.0, lungs_everywhere=True)
    rng = np.random.default_rng(0)
    total = 0
    for _ in range(100):
        p = rng.uniform((0, 0, 0), SHAPE)
        editor.begin_stroke("paint", p)
        for _ in range(5):
            p = p + rng.normal(0, 3, 3) * (0, 1, 1)
            editor.continue_stroke(p)
        step = editor.end_stroke()
        total += 0 if step is None else sum(len(c) for c in step.changes)
        if editor.history.n_undo % 7 == 0:
            editor.undo()  # undone steps still count: they sit on the redo stack
            editor.redo()
    assert editor.history_nbytes == total * (8 + 1 + 1)  # int64 index + old + new
    assert editor.history_nbytes < 50e6
    assert editor.history_nbytes < editor.lesions.labels.nbytes * 10  # nothing like snapshots


def test_listener_gets_every_change_and_replay_reproduces_the_arrays():
    editor = make_editor(radius_mm=2.5)
    editor.lesions.labels[8:12, 10:20, 6:14] = GGO
    lung0, les0 = _snapshot(editor)
    copies = {"lung": lung0.copy(), "lesion": les0.copy()}
    seen: list[VoxelChange] = []
    tracker = MetricsTracker(editor.volume, editor.lungs, editor.lesions)

    def listener(change):
        seen.append(change)
        change.apply_to(copies[change.target])
        tracker.apply(change)

    editor.add_listener(listener)
    editor.label = SOLID
    editor.begin_stroke("paint", (10, 15, 8))
    editor.continue_stroke((10, 18, 12))
    assert len(seen) == 2  # one per segment, as they happen
    editor.end_stroke()
    editor.begin_stroke("lung_erase", (10, 15, 8))
    editor.end_stroke()
    editor.begin_stroke("lung_paint", (10, 15, 8))
    editor.end_stroke()
    editor.undo()
    editor.grow((5, 30, 30), (-900, -800), 6.0)
    editor.remove_island((10, 12, 12))
    editor.undo()
    editor.redo()
    editor.fill_between_slices()
    editor.keep_largest()
    editor.undo()
    editor.undo()
    assert all(not c.is_empty for c in seen)
    assert np.array_equal(copies["lung"], editor.lungs.labels)
    assert np.array_equal(copies["lesion"], editor.lesions.labels)
    assert tracker.metrics == measure(editor.volume, editor.lungs, editor.lesions)
    editor.remove_listener(listener)
    n = len(seen)
    editor.undo()
    assert len(seen) == n


def test_compose_changes_keeps_first_old_and_last_new():
    a = VoxelChange("lesion", np.array([5, 7], np.int64), np.array([0, 0], np.uint8), np.array([1, 1], np.uint8))
    b = VoxelChange("lesion", np.array([7, 9], np.int64), np.array([1, 0], np.uint8), np.array([2, 2], np.uint8))
    c = VoxelChange("lesion", np.array([5], np.int64), np.array([1], np.uint8), np.array([0], np.uint8))
    lung = VoxelChange("lung", np.array([3], np.int64), np.array([1], np.uint8), np.array([0], np.uint8))
    merged = compose_changes([a, lung, b, c])
    assert [m.target for m in merged] == ["lesion", "lung"]
    assert merged[0].indices.tolist() == [7, 9]  # voxel 5 went 0 -> 1 -> 0: dropped
    assert merged[0].old.tolist() == [0, 0] and merged[0].new.tolist() == [2, 2]
    assert HistoryStep("x", merged).nbytes == 3 * 10


_POINT = st.tuples(st.floats(0, SHAPE[0] - 1), st.floats(0, SHAPE[1] - 1), st.floats(0, SHAPE[2] - 1))
_STROKE = st.tuples(
    st.just("stroke"),
    st.sampled_from(["paint", "erase", "lung_paint", "lung_erase"]),
    st.sampled_from([GGO, SOLID]),
    st.sampled_from(["disk", "sphere"]),
    st.floats(0.3, 4.0),
    st.lists(_POINT, min_size=1, max_size=4),
)
_OPS = st.lists(st.one_of(_STROKE, st.just(("undo",)), st.just(("redo",))), max_size=25)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_OPS, overwrite=st.booleans())
def test_random_edit_undo_redo_sequences_match_a_snapshot_model(ops, overwrite):
    editor = make_editor(radius_mm=2.0)
    editor.lesions.labels[5:10, 10:30, 8:40] = GGO
    editor.lesions.labels[editor.lungs.labels == 0] = 0
    editor.ggo_overwrites_solid = overwrite
    undo_model = [_snapshot(editor)]  # states; the last one is current
    redo_model: list = []
    for op in ops:
        if op[0] == "stroke":
            _, tool, label, shape, radius, points = op
            editor.label, editor.brush_shape, editor.radius_mm = label, shape, radius
            editor.begin_stroke(tool, points[0])
            for p in points[1:]:
                editor.continue_stroke(p)
            step = editor.end_stroke()
            state = _snapshot(editor)
            changed = not (np.array_equal(state[0], undo_model[-1][0]) and np.array_equal(state[1], undo_model[-1][1]))
            assert (step is not None) == changed
            if changed:
                undo_model.append(state)
                redo_model.clear()
        elif op[0] == "undo":
            step = editor.undo()
            assert (step is None) == (len(undo_model) == 1)
            if step is not None:
                redo_model.append(undo_model.pop())
        else:
            step = editor.redo()
            assert (step is None) == (not redo_model)
            if step is not None:
                undo_model.append(redo_model.pop())
        assert _same(editor, undo_model[-1])
        assert not np.any((editor.lesions.labels > 0) & (editor.lungs.labels == 0))
        assert editor.can_undo == (len(undo_model) > 1) and editor.can_redo == bool(redo_model)


def test_a_failing_listener_leaves_arrays_and_history_consistent():
    editor = make_editor(label=SOLID, radius_mm=2.0)
    start = _snapshot(editor)
    calls = []

    def broken(change):
        calls.append(change)
        raise RuntimeError("viewer bug")

    editor.add_listener(broken)
    with pytest.raises(RuntimeError):
        editor.begin_stroke("paint", (10, 20, 10))
    after = _snapshot(editor)
    assert not _same(editor, start) and len(calls) == 1
    assert editor.stroke_in_progress  # the dab was applied, so the drag stays open
    assert editor.end_stroke() is not None
    with pytest.raises(RuntimeError):
        editor.undo()
    editor.remove_listener(broken)
    assert _same(editor, start) and editor.redo() is not None and _same(editor, after)


def test_a_drag_keeps_the_settings_it_began_with_and_bad_settings_open_no_stroke():
    editor = make_editor(lungs_everywhere=True, label=SOLID, radius_mm=1.0)
    editor.begin_stroke("paint", (10, 20, 10))
    editor.radius_mm, editor.label = 5.0, GGO  # e.g. Shift+wheel during the drag
    editor.continue_stroke((10, 20, 30))
    step = editor.end_stroke()
    assert step.label == "Paint solid, 1 mm"
    assert set(np.unique(editor.lesions.labels)) == {0, SOLID}
    assert (editor.lesions.labels > 0).sum() < 100
    editor.radius_mm = -1
    with pytest.raises(EditingError):
        editor.begin_stroke("paint", (10, 20, 10))
    assert not editor.stroke_in_progress
    with pytest.raises(EditingError, match="HU range"):
        editor.radius_mm, editor.hu_range = 2.0, (50, -50)
        editor.begin_stroke("paint", (10, 20, 10))


def test_editor_rejects_arrays_it_cannot_edit_in_place():
    good = make_editor()
    lung_f = np.asfortranarray(good.lungs.labels)
    from quant.labels import LesionMasks, LungMasks

    with pytest.raises(EditingError, match="C-contiguous"):
        MaskEditor(good.volume, LungMasks(lung_f), good.lesions)
    with pytest.raises(EditingError, match="shape"):
        MaskEditor(good.volume, good.lungs, LesionMasks(np.zeros((2, 2, 2), np.uint8)))
