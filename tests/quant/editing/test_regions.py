"""Region tools: grow within an HU range / lungs / radius, remove island, keep largest,
remove small, fill between slices."""

from __future__ import annotations

import numpy as np
import pytest

from quant.editing.editor import EditingError
from quant.editing.interpolation import signed_distance_2d
from quant.labels import GGO, SOLID
from tests.support.editing import SHAPE, SPACING, analytic_ball, make_editor


def _blob_hu(box, value=-500):
    hu = np.full(SHAPE, -850, dtype=np.int16)
    hu[box] = value
    return hu


def test_grow_stops_at_the_hu_range():
    box = (slice(8, 12), slice(15, 25), slice(8, 16))
    hu = _blob_hu(box)
    hu[10, 20, 12] = -700  # a hole outside the range splits nothing (6-connected around it)
    editor = make_editor(hu=hu, label=GGO)
    step = editor.grow((10, 18, 10), (-600, -400), 50.0)
    expected = np.zeros(SHAPE, dtype=bool)
    expected[box] = True
    expected[10, 20, 12] = False
    assert np.array_equal(editor.lesions.labels == GGO, expected)
    assert step.label == "Grow ground-glass, HU -600..-400, 50 mm"


def test_grow_stops_at_the_lung_mask():
    box = (slice(8, 12), slice(15, 25), slice(15, 30))  # right lung ends at x 21, left starts 26
    editor = make_editor(hu=_blob_hu(box), label=SOLID)
    editor.grow((10, 20, 18), (-600, -400), 50.0)
    expected = np.zeros(SHAPE, dtype=bool)
    expected[8:12, 15:25, 15:22] = True  # only the right-lung part: no jump across the gap
    assert np.array_equal(editor.lesions.labels == SOLID, expected)


def test_grow_stops_at_the_radius_in_mm():
    editor = make_editor(hu=np.full(SHAPE, -500, dtype=np.int16), label=GGO)
    editor.grow((10, 20, 12), (-600, -400), 4.0)
    expected = analytic_ball((10, 20, 12), 4.0) & (editor.lungs.labels > 0)
    assert np.array_equal(editor.lesions.labels == GGO, expected)


def test_grow_is_6_connected_and_respects_the_overwrite_policy():
    hu = np.full(SHAPE, -850, dtype=np.int16)
    hu[10, 10:15, 10:15] = -500
    hu[10, 15:20, 15:20] = -500  # touches the first square only at a corner
    editor = make_editor(hu=hu, label=GGO)
    editor.lesions.labels[10, 12, 12] = SOLID
    editor.grow((10, 11, 11), (-600, -400), 30.0)
    assert (editor.lesions.labels[10, 10:15, 10:15] == GGO).sum() == 24
    assert editor.lesions.labels[10, 12, 12] == SOLID  # GGO does not overwrite solid by default
    assert not editor.lesions.labels[10, 15:20, 15:20].any()


def test_grow_on_a_seed_outside_the_range_changes_nothing():
    editor = make_editor(label=GGO)
    assert editor.grow((10, 20, 10), (-600, -400), 30.0) is None
    assert editor.grow((10, 20, 23), (-900, 100), 30.0) is None  # between the lungs
    assert not editor.can_undo and not editor.lesions.labels.any()
    with pytest.raises(EditingError):
        editor.grow((10, 20, 10), (-400, -600), 30.0)
    with pytest.raises(EditingError):
        editor.grow((10, 20, 10), (-900, -400), 0.0)


def _two_lesions(editor):
    les = editor.lesions.labels
    les[5:9, 8:14, 6:12] = GGO
    les[6:8, 10:12, 8:10] = SOLID  # solid core inside the first lesion
    les[7, 14, 12] = GGO  # a corner-touching voxel: same lesion (26-connected)
    les[12:14, 25:27, 30:32] = SOLID  # second lesion, 8 voxels
    les[15, 30, 40] = GGO  # third, 1 voxel
    return les


def test_remove_island_deletes_the_whole_lesion_under_the_click():
    editor = make_editor()
    les = _two_lesions(editor)
    before = les.copy()
    step = editor.remove_island((7, 11, 9))  # click on the solid core
    first = np.zeros(SHAPE, dtype=bool)
    first[5:9, 8:14, 6:12] = True
    first[7, 14, 12] = True
    assert not les[first].any()
    assert np.array_equal(les[~first], before[~first])
    assert step.label == "Remove island, 0.17 mL"  # 145 voxels x 1.2 uL = 0.174 mL
    assert editor.remove_island((0, 0, 0)) is None  # no lesion there: no step
    assert editor.undo() is step and np.array_equal(les, before)


def test_keep_largest_and_remove_small():
    editor = make_editor()
    les = _two_lesions(editor)
    before = les.copy()
    step = editor.keep_largest()
    assert step.label == "Keep largest lesion"
    assert les[12:14, 25:27, 30:32].sum() == 0 and les[15, 30, 40] == 0
    assert np.array_equal(les[5:9, 8:14, 6:12], before[5:9, 8:14, 6:12])
    assert editor.keep_largest() is None  # one lesion left: nothing to do
    editor.undo()
    voxel_ml = np.prod(SPACING) / 1000.0
    step = editor.remove_small(5 * voxel_ml)  # removes the 1-voxel lesion, keeps the 8-voxel one
    assert step.label == f"Remove lesions < {5 * voxel_ml:g} mL"
    assert les[15, 30, 40] == 0 and (les[12:14, 25:27, 30:32] == SOLID).all()
    assert editor.remove_small(5 * voxel_ml) is None
    editor.remove_small(9 * voxel_ml)
    assert les[12:14, 25:27, 30:32].sum() == 0 and les[5:9, 8:14, 6:12].any()


def _circle(shape2d, centre, radius_mm, spacing2d):
    yy, xx = np.mgrid[: shape2d[0], : shape2d[1]]
    return ((yy - centre[0]) * spacing2d[0]) ** 2 + ((xx - centre[1]) * spacing2d[1]) ** 2 <= radius_mm**2


def test_fill_between_slices_interpolates_a_growing_shifting_circle():
    editor = make_editor(lungs_everywhere=True, label=SOLID)
    les = editor.lesions.labels
    les[4] = np.where(_circle(SHAPE[1:], (15, 14), 3.0, SPACING[1:]), SOLID, 0)
    les[12] = np.where(_circle(SHAPE[1:], (19, 20), 7.0, SPACING[1:]), SOLID, 0)
    step = editor.fill_between_slices(axis=0)
    assert step.label == "Fill between slices, solid"
    areas = [(les[k] == SOLID).sum() for k in range(4, 13)]
    assert all(a < b for a, b in zip(areas[:-1], areas[1:]))  # grows steadily
    cy = [np.argwhere(les[k] == SOLID)[:, 0].mean() for k in range(4, 13)]
    assert all(a < b for a, b in zip(cy[:-1], cy[1:]))  # and moves steadily
    mid = (les[8] == SOLID).sum()
    assert areas[0] < mid < areas[-1]
    assert les[:4].sum() == 0 and les[13:].sum() == 0
    # Each filled slice is exactly the zero set of the interpolated signed distance maps.
    d0 = signed_distance_2d(les[4] > 0, SPACING[1:])
    d1 = signed_distance_2d(les[12] > 0, SPACING[1:])
    assert np.array_equal(les[8] > 0, 0.5 * d0 + 0.5 * d1 < 0)
    assert editor.fill_between_slices(axis=0) is None  # no gaps left


def test_fill_between_identical_slices_copies_the_shape_and_obeys_policy_and_axis():
    editor = make_editor(lungs_everywhere=True, label=GGO)
    les = editor.lesions.labels
    shape2d = (SHAPE[0], SHAPE[2])
    disk = _circle(shape2d, (10, 24), 5.0, (SPACING[0], SPACING[2]))
    les[:, 10, :][disk] = GGO
    les[:, 16, :][disk] = GGO
    les[10, 13, 24] = SOLID  # GGO may not overwrite solid by default
    editor.fill_between_slices(axis=1)
    for y in range(11, 16):
        got = les[:, y, :] == GGO
        expect = disk.copy()
        if y == 13:
            expect[10, 24] = False
        assert np.array_equal(got, expect)
    assert les[10, 13, 24] == SOLID


def test_fill_between_slices_max_gap_and_empty_label():
    editor = make_editor(lungs_everywhere=True, label=GGO)
    les = editor.lesions.labels
    les[2, 18:22, 20:24] = GGO
    les[5, 18:22, 20:24] = GGO
    les[15, 18:22, 20:24] = GGO
    editor.fill_between_slices(axis=0, max_gap=3)
    assert les[3:5].any() and not les[6:15].any()
    editor.label = SOLID
    assert editor.fill_between_slices(axis=0) is None


def test_remove_island_follows_a_lesion_larger_than_its_first_search_box():
    editor = make_editor()
    les = editor.lesions.labels
    les[10, 5, 5:21] = GGO
    les[10, 5:36, 20] = SOLID  # an L-shaped lesion 46 voxels long
    les[3:6, 30:35, 30:40] = GGO  # another lesion, left alone
    other = les[3:6, 30:35, 30:40].copy()
    step = editor.remove_island((10, 5, 5))
    assert step.n_voxels == 16 + 31 - 1
    assert not les[10].any()
    assert np.array_equal(les[3:6, 30:35, 30:40], other)
