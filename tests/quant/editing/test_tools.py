"""Brush tools on the label maps: threshold brush, lung restriction, erase, overwrite policy,
lung boundary paint/erase, and the labels of their undo steps."""

from __future__ import annotations

import numpy as np
import pytest

from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID
from tests.support.editing import LEFT_BOX, RIGHT_BOX, SHAPE, analytic_ball, make_editor


def _stroke(editor, tool, *points, axis=0):
    editor.begin_stroke(tool, points[0], axis=axis)
    for p in points[1:]:
        editor.continue_stroke(p)
    return editor.end_stroke()


def test_threshold_brush_paints_only_voxels_in_the_hu_range():
    rng = np.random.default_rng(3)
    hu = rng.integers(-1000, 100, size=SHAPE).astype(np.int16)
    editor = make_editor(lungs_everywhere=True, hu=hu, label=SOLID, radius_mm=4.0)
    editor.hu_range = (-300, 50)
    step = _stroke(editor, "paint", (10, 20, 24))
    disk = analytic_ball((10, 20, 24), 4.0, disk_axis=0)
    in_range = (hu >= -300) & (hu <= 50)
    assert np.array_equal(editor.lesions.labels == SOLID, disk & in_range)
    assert 0 < (disk & in_range).sum() < disk.sum()
    assert step.label == "Paint solid, 4 mm, HU -300..50"


def test_lesion_paint_stays_inside_the_lungs_unless_unrestricted():
    centre = (10, 20, 24)  # between the two lungs (x 22..25 is outside both)
    disk = analytic_ball(centre, 3.0, disk_axis=0)
    editor = make_editor(label=GGO, radius_mm=3.0)
    _stroke(editor, "paint", centre)
    lungs = editor.lungs.labels > 0
    assert np.array_equal(editor.lesions.labels > 0, disk & lungs)
    assert (disk & ~lungs).any()
    free = make_editor(label=GGO, radius_mm=3.0, restrict_to_lungs=False)
    _stroke(free, "paint", centre)
    assert np.array_equal(free.lesions.labels > 0, disk)


def test_erase_removes_the_current_label_only_or_any_lesion():
    editor = make_editor(lungs_everywhere=True, radius_mm=5.0)
    les = editor.lesions.labels
    les[10, 10:30, 10:20] = GGO
    les[10, 10:30, 20:30] = SOLID
    before = les.copy()
    disk = analytic_ball((10, 20, 20), 3.0, disk_axis=0)
    editor.label, editor.radius_mm = SOLID, 3.0
    step = _stroke(editor, "erase", (10, 20, 20))
    assert step.label == "Erase solid, 3 mm"
    expected = before.copy()
    expected[disk & (before == SOLID)] = 0
    assert np.array_equal(les, expected)
    editor.erase_any_lesion = True
    step = _stroke(editor, "erase", (10, 20, 20))
    assert step.label == "Erase lesion, 3 mm"
    expected[disk] = 0
    assert np.array_equal(les, expected)
    assert (les[10] == GGO).sum() > 0  # outside the brush nothing was erased


@pytest.mark.parametrize(
    "paint, solid_over_ggo, ggo_over_solid, overwrites",
    [
        (SOLID, True, False, True),
        (SOLID, False, False, False),
        (GGO, True, False, False),
        (GGO, True, True, True),
    ],
)
def test_overwrite_policy(paint, solid_over_ggo, ggo_over_solid, overwrites):
    editor = make_editor(lungs_everywhere=True, radius_mm=3.0, label=paint)
    editor.solid_overwrites_ggo = solid_over_ggo
    editor.ggo_overwrites_solid = ggo_over_solid
    other = GGO if paint == SOLID else SOLID
    les = editor.lesions.labels
    les[10, 18:23, 20:29] = other
    before = les.copy()
    _stroke(editor, "paint", (10, 20, 24))
    disk = analytic_ball((10, 20, 24), 3.0, disk_axis=0)
    expected = before.copy()
    expected[disk & ((before == 0) | overwrites)] = paint
    assert np.array_equal(les, expected)


def test_lung_paint_extends_the_lung_the_stroke_starts_in():
    editor = make_editor(radius_mm=2.0)
    lung = editor.lungs.labels
    before = lung.copy()
    # Starts inside the right lung near its edge, moves out across the gap into the left lung.
    step = _stroke(editor, "lung_paint", (10, 20, 20), (10, 20, 30))
    assert step.label == "Paint right lung, 2 mm"
    added = (lung != before)
    assert added.any()
    assert np.all(lung[added] == RIGHT_LUNG)
    assert np.all(before[added] == 0)  # never steals voxels from the left lung
    assert np.array_equal(lung[LEFT_BOX], before[LEFT_BOX])


def test_lung_paint_outside_the_lungs_uses_the_nearest_lung():
    editor = make_editor(radius_mm=1.0)
    step = _stroke(editor, "lung_paint", (10, 20, 45))  # 2 columns right of the left lung
    assert step.label == "Paint left lung, 1 mm"
    assert editor.lungs.labels[10, 20, 45] == LEFT_LUNG
    # No lung at all: the patient side decides (identity direction: high x index = left).
    for x, side in ((40, "left"), (5, "right")):
        empty = make_editor()
        empty.lungs.labels[:] = 0
        assert _stroke(empty, "lung_paint", (10, 20, x)).label.startswith(f"Paint {side} lung")


def test_lung_erase_clears_lesions_there_in_the_same_step():
    editor = make_editor(radius_mm=3.0)
    lung, les = editor.lungs.labels, editor.lesions.labels
    les[RIGHT_BOX] = GGO
    les[10, 15:25, 15:20] = SOLID
    lung0, les0 = lung.copy(), les.copy()
    seen = []
    editor.add_listener(lambda c: seen.append(c.target))
    step = _stroke(editor, "lung_erase", (10, 20, 18))
    assert step.label == "Erase lung, 3 mm"
    assert [c.target for c in step.changes] == ["lesion", "lung"]
    assert seen == ["lesion", "lung"]  # lesions go first: never a lesion outside a lung
    disk = analytic_ball((10, 20, 18), 3.0, disk_axis=0)
    assert np.all(lung[disk] == 0) and np.all(les[disk] == 0)
    assert not np.any((les > 0) & (lung == 0))
    assert np.array_equal(lung[~disk], lung0[~disk]) and np.array_equal(les[~disk], les0[~disk])
    editor.undo()
    assert np.array_equal(lung, lung0) and np.array_equal(les, les0)


def test_sphere_lung_paint_and_threshold_lung_erase():
    hu = np.full(SHAPE, -850, dtype=np.int16)
    hu[:, :, 12:] = -100  # a dense band inside the right lung
    editor = make_editor(hu=hu, radius_mm=4.0, brush_shape="sphere")
    editor.hu_range = (-1000, -500)
    before = editor.lungs.labels.copy()
    step = _stroke(editor, "lung_erase", (10, 20, 12))
    assert step.label == "Erase lung, 4 mm sphere, HU -1000..-500"
    removed = before != editor.lungs.labels
    assert removed.any() and np.all(hu[removed] <= -500)
    assert np.array_equal(removed, analytic_ball((10, 20, 12), 4.0) & (before > 0) & (hu <= -500))
