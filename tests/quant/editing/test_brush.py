"""Brush geometry and paint strokes: exact voxels in mm on anisotropic spacing, no gaps."""

from __future__ import annotations

import numpy as np
import pytest

from quant.editing.brush import brush_offsets, stroke_footprint
from quant.editing.editor import EditingError
from quant.labels import GGO, SOLID
from tests.support.editing import (
    SHAPE,
    SPACING,
    analytic_ball,
    analytic_capsule,
    make_editor,
    n_components,
)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_disk_dab_paints_exactly_the_analytic_disk(axis):
    editor = make_editor(lungs_everywhere=True, label=SOLID, radius_mm=3.0)
    centre = (10, 20, 24)
    change = editor.begin_stroke("paint", centre, axis=axis)
    step = editor.end_stroke()
    expected = analytic_ball(centre, 3.0, disk_axis=axis)
    assert np.array_equal(editor.lesions.labels > 0, expected)
    assert np.array_equal(np.sort(change.indices), np.flatnonzero(expected))
    assert set(np.unique(editor.lesions.labels[expected])) == {SOLID}
    assert step is not None and step.label == "Paint solid, 3 mm"
    # The disk is round in mm, not in voxels: 0.8 mm rows vs 0.6 mm columns on an axial slice.
    if axis == 0:
        assert editor.lesions.labels[10, 20, 24 + 5] == SOLID  # 3.0 mm
        assert editor.lesions.labels[10, 20, 24 + 6] == 0  # 3.6 mm
        assert editor.lesions.labels[10, 20 + 3, 24] == SOLID  # 2.4 mm
        assert editor.lesions.labels[10, 20 + 4, 24] == 0  # 3.2 mm


def test_sphere_dab_paints_exactly_the_analytic_sphere():
    editor = make_editor(lungs_everywhere=True, label=GGO, radius_mm=5.0, brush_shape="sphere")
    editor.begin_stroke("paint", (10, 20, 24))
    assert editor.end_stroke().label == "Paint ground-glass, 5 mm sphere"
    expected = analytic_ball((10, 20, 24), 5.0)
    assert np.array_equal(editor.lesions.labels == GGO, expected)
    # Anisotropic: 2 slices (5 mm) up, but 6 rows (4.8 mm) and 8 columns (4.8 mm) across.
    zs = np.flatnonzero(expected.any(axis=(1, 2)))
    assert (zs.min(), zs.max()) == (8, 12)
    assert expected.sum() == len(brush_offsets(5.0, SPACING, "sphere"))


def test_fractional_centre_sphere_matches_brute_force():
    centre = (9.6, 20.3, 23.7)
    flat = stroke_footprint(centre, None, 4.2, SPACING, SHAPE, "sphere")
    assert np.array_equal(flat, np.flatnonzero(analytic_ball(centre, 4.2)))


def test_brush_offsets_are_cached_read_only_and_in_plane_for_disks():
    offs = brush_offsets(3.0, SPACING, "disk", axis=1)
    assert offs is brush_offsets(3.0, SPACING, "disk", axis=1)
    assert not offs.flags.writeable
    assert np.all(offs[:, 1] == 0)
    assert len(offs) == analytic_ball((10, 20, 24), 3.0, disk_axis=1).sum()


def test_fast_disk_stroke_leaves_no_gap():
    """Two far-apart mouse events: the whole segment is painted, as one connected region."""
    editor = make_editor(lungs_everywhere=True, label=SOLID, radius_mm=1.5)
    a, b = (10, 3, 2), (10, 37, 45)
    editor.begin_stroke("paint", a)
    editor.continue_stroke(b)
    editor.end_stroke()
    painted = editor.lesions.labels > 0
    assert n_components(painted, 6) == 1
    t = np.linspace(0, 1, 2000)[:, None]
    on_line = np.floor(np.asarray(a) + (np.subtract(b, a)) * t + 0.5).astype(int)
    assert painted[tuple(on_line.T)].all()
    # Exactly the capsule (disk swept along the segment) on that slice.
    expected = analytic_capsule(a, b, 1.5, spacing=(0.0, 0.8, 0.6)) & analytic_ball(
        (10, 0, 0), 1e9, disk_axis=0
    )
    assert np.array_equal(painted, expected)


def test_fast_sphere_stroke_in_3d_matches_capsule_and_is_connected():
    editor = make_editor(lungs_everywhere=True, label=SOLID, radius_mm=2.0, brush_shape="sphere")
    pts = [(1, 2, 3), (18, 30, 44), (5, 38, 10)]
    editor.begin_stroke("paint", pts[0])
    for p in pts[1:]:
        editor.continue_stroke(p)
    editor.end_stroke()
    painted = editor.lesions.labels > 0
    expected = analytic_capsule(pts[0], pts[1], 2.0) | analytic_capsule(pts[1], pts[2], 2.0)
    assert np.array_equal(painted, expected)
    assert n_components(painted, 6) == 1


def test_tiny_brush_still_draws_a_connected_line():
    editor = make_editor(lungs_everywhere=True, label=GGO, radius_mm=0.1)
    editor.begin_stroke("paint", (10, 5, 5))
    editor.continue_stroke((10, 30, 40))
    editor.end_stroke()
    painted = editor.lesions.labels > 0
    assert n_components(painted, 26) == 1
    assert painted[10, 5, 5] and painted[10, 30, 40]
    assert painted.sum() >= 36  # at least one voxel per column crossed


def test_disk_stroke_across_slices_paints_each_slice_it_passes():
    editor = make_editor(lungs_everywhere=True, label=GGO, radius_mm=1.0)
    editor.begin_stroke("paint", (4, 20, 10))
    editor.continue_stroke((8, 20, 30))
    editor.end_stroke()
    zs = np.flatnonzero((editor.lesions.labels > 0).any(axis=(1, 2)))
    assert list(zs) == [4, 5, 6, 7, 8]


def test_strokes_outside_the_volume_are_clipped():
    editor = make_editor(lungs_everywhere=True, label=GGO, radius_mm=3.0)
    editor.begin_stroke("paint", (10, -2, -2))
    editor.continue_stroke((10, -50, -50))
    editor.end_stroke()
    assert editor.lesions.labels[10, 0, 0] == GGO
    far = make_editor(lungs_everywhere=True)
    assert far.begin_stroke("paint", (100, 100, 100)).is_empty
    assert far.end_stroke() is None


@pytest.mark.parametrize(
    "kwargs",
    [dict(radius_mm=0.0), dict(radius_mm=-1.0), dict(brush_shape="cube"), dict(label=3)],
)
def test_bad_brush_settings_raise_editing_error(kwargs):
    editor = make_editor(**kwargs)
    with pytest.raises(EditingError):
        editor.begin_stroke("paint", (10, 20, 10))


def test_bad_tool_and_continue_without_begin_raise():
    editor = make_editor()
    with pytest.raises(EditingError, match="unknown brush tool"):
        editor.begin_stroke("smudge", (10, 20, 10))  # type: ignore[arg-type]
    with pytest.raises(EditingError, match="no stroke"):
        editor.continue_stroke((10, 20, 10))
    with pytest.raises(EditingError, match="non-finite|finite"):
        editor.begin_stroke("paint", (np.nan, 1, 1))


def test_undo_labels_round_the_brush_size_to_a_tenth_of_a_mm():
    editor = make_editor(lungs_everywhere=True, label=SOLID, radius_mm=8.05255)
    editor.begin_stroke("paint", (10, 20, 24), axis=0)
    assert editor.end_stroke().label == "Paint solid, 8.1 mm"
