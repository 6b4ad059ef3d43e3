"""SliceView driven by real Qt mouse/wheel/key events (pytest-qt, Xvfb, xcb).

Mouse positions are aimed at voxels through the renderer (SliceView.widget_point, i.e.
vtkRenderer.WorldToDisplay), and the outcome is checked on the label arrays and rendered pixels.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.slice_views import drag, make_view, pixels, send_mouse, wheel

pytestmark = pytest.mark.gui


def lung_voxel_line(case, z, n=3, length_vox=12):
    """``n`` points on slice z along x inside the left lung, away from lesions and edges."""
    lung = case.lungs.labels[z] > 0
    free = lung & (case.lesions.labels[z] == 0)
    from scipy.ndimage import binary_erosion

    core = binary_erosion(free, iterations=6)
    ys, xs = np.nonzero(core)
    assert ys.size, "no free lung interior on this slice"
    y0, x0 = ys[len(ys) // 2], xs[len(xs) // 2]
    x_end = x0
    while x_end + 1 < lung.shape[1] and core[y0, x_end + 1] and x_end - x0 < length_vox:
        x_end += 1
    return [(z, y0, x) for x in np.linspace(x0, x_end, n)]


def capsule_disk(shape, spacing, a, b, radius_mm, axis=0):
    """Voxels (bool) within radius_mm of segment a-b on the slice of a (disk brush), mm metric."""
    z = int(round(a[0]))
    s = np.asarray(spacing, float)
    yy, xx = np.meshgrid(np.arange(shape[1]), np.arange(shape[2]), indexing="ij")
    p = np.stack([yy * s[1], xx * s[2]], -1)
    a2, b2 = np.array(a[1:]) * s[1:], np.array(b[1:]) * s[1:]
    d = b2 - a2
    t = np.zeros(yy.shape) if not d.any() else np.clip(((p - a2) @ d) / (d @ d), 0, 1)
    dist2 = ((p - (a2 + t[..., None] * d)) ** 2).sum(-1)
    out = np.zeros(shape, bool)
    out[z] = dist2 <= radius_mm**2 + 1e-6
    return out


def test_display_mapping_hits_the_aimed_voxel(qtbot, case):
    view, _, _ = make_view(qtbot, case, mode="navigate")
    z = view.scene.slice_index
    for target in [(z, 10, 12), (z, case.volume.shape[1] // 2, case.volume.shape[2] - 5)]:
        pos = view.widget_point(target)
        pos.setX(round(pos.x()))
        pos.setY(round(pos.y()))
        assert tuple(np.rint(view.index_at(pos)).astype(int)) == target


def test_paint_drag_adds_exactly_the_expected_voxels(qtbot, case):
    view, editor, _ = make_view(qtbot, case, radius_mm=7.0)
    z = view.scene.slice_index
    before = case.lesions.labels.copy()
    points = lung_voxel_line(case, z, n=4)
    positions = drag(view, points)
    idx = [view.index_at(p.toPoint().toPointF()) for p in positions]
    expected = np.zeros(case.volume.shape, bool)
    for a, b in zip(idx[:-1], idx[1:]):
        expected |= capsule_disk(case.volume.shape, case.volume.spacing, a, b, 7.0)
    expected &= case.lungs.labels > 0
    expected &= before == 0
    changed = case.lesions.labels != before
    assert changed.sum() > 20
    np.testing.assert_array_equal(changed, expected)
    assert np.all(case.lesions.labels[changed] == editor.label)
    assert editor.can_undo and editor.undo_label.startswith("Paint")


def test_fast_drag_leaves_no_gap(qtbot, case):
    view, _, _ = make_view(qtbot, case, radius_mm=1.0)
    z = view.scene.slice_index
    start, end = lung_voxel_line(case, z, n=2, length_vox=14)
    before = case.lesions.labels.copy()
    drag(view, [start, end])  # two far-apart events only
    painted = (case.lesions.labels != before)[z]
    y = int(start[1])
    x0, x1 = int(round(start[2])), int(round(end[2]))
    assert painted[y, x0 : x1 + 1].all(), "the stroke between far-apart mouse events has a gap"


def test_erase_removes_voxels(qtbot, case):
    view, editor, tools = make_view(qtbot, case, radius_mm=8.0)
    z = view.scene.slice_index
    points = lung_voxel_line(case, z, n=3)
    before = case.lesions.labels.copy()
    drag(view, points)
    stroke = case.lesions.labels != before
    assert stroke.sum() > 20
    tools.set_mode("erase")
    drag(view, points)
    assert not case.lesions.labels[stroke].any(), "erase left painted voxels behind"
    np.testing.assert_array_equal(case.lesions.labels[~stroke], before[~stroke])
    assert editor.undo_label.startswith("Erase")


def test_undo_restores_bit_for_bit_and_redo_reapplies(qtbot, case):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    view, editor, _ = make_view(qtbot, case, radius_mm=10.0)
    z = view.scene.slice_index
    before = case.lesions.labels.copy()
    drag(view, lung_voxel_line(case, z, n=5))
    after = case.lesions.labels.copy()
    assert not np.array_equal(before, after)
    QTest.keyClick(view.vtk_widget, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(case.lesions.labels, before)
    QTest.keyClick(view.vtk_widget, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(case.lesions.labels, after)


def test_wheel_and_page_keys_move_the_slice(qtbot, case):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    view, _, _ = make_view(qtbot, case, mode="navigate")
    seen = []
    view.sliceChanged.connect(seen.append)
    k = view.scene.slice_index
    wheel(view, 1)
    assert view.scene.slice_index == k + 1
    wheel(view, -3)
    assert view.scene.slice_index == k - 2
    QTest.keyClick(view.vtk_widget, Qt.Key.Key_PageUp)
    assert view.scene.slice_index == k - 1
    assert seen == [k + 1, k - 2, k - 1]


def test_right_drag_changes_the_window_and_keys_pick_presets(qtbot, case):
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest

    view, _, _ = make_view(qtbot, case, mode="navigate")
    assert view.scene.window_level == (-600.0, 1500.0)
    grey_before = pixels(view).mean()
    rgb_before = view.scene.slice_rgb().copy()
    w = view.vtk_widget
    right = Qt.MouseButton.RightButton
    send_mouse(w, "press", QPointF(200, 200), right, right)
    send_mouse(w, "move", QPointF(260, 200), Qt.MouseButton.NoButton, right)
    send_mouse(w, "release", QPointF(260, 200), right, Qt.MouseButton.NoButton)
    level, width = view.scene.window_level
    assert level == -600.0 and width > 1500.0
    assert not np.array_equal(view.scene.slice_rgb(), rgb_before)  # the picture follows
    send_mouse(w, "press", QPointF(200, 200), right, right)
    send_mouse(w, "move", QPointF(200, 250), Qt.MouseButton.NoButton, right)
    send_mouse(w, "release", QPointF(200, 250), right, Qt.MouseButton.NoButton)
    assert view.scene.window_level[0] > -600.0
    QTest.keyClick(w, Qt.Key.Key_2)
    assert view.scene.window_level == (40.0, 400.0)
    # Mediastinal window: lungs go black, so the picture gets darker.
    assert pixels(view).mean() < grey_before
    QTest.keyClick(w, Qt.Key.Key_3)
    assert view.scene.window_level == (400.0, 1800.0)


def test_painted_spot_renders_in_the_label_colour(qtbot, case):
    from quant.labels import SOLID

    view, editor, _ = make_view(qtbot, case, radius_mm=10.0)
    editor.label = SOLID
    view.layers.set_label_visible("lung", False)  # keep the lung outline out of the sample
    z = view.scene.slice_index
    centre = lung_voxel_line(case, z, n=1)[0]
    pos = view.widget_point(centre)
    img_before = pixels(view)
    row, col = int(round(pos.y())), int(round(pos.x()))
    drag(view, [centre])
    assert case.lesions.labels[centre[0], centre[1], int(centre[2])] == SOLID
    # Move the cursor away so the brush outline does not cover the sampled pixel.
    from PySide6.QtCore import QPointF, Qt

    send_mouse(view.vtk_widget, "move", QPointF(2, 2), Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    img = pixels(view).astype(int)
    patch = img[row - 1 : row + 2, col - 1 : col + 2].reshape(-1, 3).mean(0)
    before = img_before[row - 1 : row + 2, col - 1 : col + 2].reshape(-1, 3).mean(0)
    # Dark lung under a red-orange overlay: red dominates, and much more than before.
    assert patch[0] > patch[1] + 40 and patch[0] > patch[2] + 60, patch
    assert patch[0] > before[0] + 40
    # Hiding the solid label brings the grey back.
    view.layers.set_label_visible("solid", False)
    img_hidden = pixels(view).astype(int)
    hidden = img_hidden[row - 1 : row + 2, col - 1 : col + 2].reshape(-1, 3).mean(0)
    assert abs(hidden[0] - hidden[2]) < 10


def test_cursor_shows_hu_and_ctrl_wheel_zooms_and_shift_wheel_sizes_brush(qtbot, case):
    from PySide6.QtCore import Qt

    view, editor, _ = make_view(qtbot, case, radius_mm=3.0)
    z = view.scene.slice_index
    target = (z, case.volume.shape[1] // 2, case.volume.shape[2] // 3)
    pos = view.widget_point(target)
    send_mouse(view.vtk_widget, "move", pos, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    assert view.scene.cursor_hu() == int(case.volume.hu[target])
    text = view.scene.annotation.GetText(0)
    assert f"{int(case.volume.hu[target]):+d} HU" in text and "mm LPS" in text
    scale = view.scene.renderer.GetActiveCamera().GetParallelScale()
    wheel(view, 2, Qt.KeyboardModifier.ControlModifier)
    assert view.scene.renderer.GetActiveCamera().GetParallelScale() < scale * 0.8
    wheel(view, 1, Qt.KeyboardModifier.ShiftModifier)
    assert editor.radius_mm > 3.0
    assert view.scene.brush_radius_mm == editor.radius_mm
    assert view.scene.brush_actor.GetVisibility()


def test_orientation_letters_follow_radiological_convention(qtbot, case):
    from viewer.scene.orientation import screen_letters

    assert screen_letters("axial", np.eye(3)) == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    assert screen_letters("coronal", np.eye(3)) == {"left": "R", "right": "L", "top": "S", "bottom": "I"}
    assert screen_letters("sagittal", np.eye(3)) == {"left": "A", "right": "P", "top": "S", "bottom": "I"}
    flipped = np.diag([-1.0, 1.0, 1.0])  # x index runs to patient right
    assert screen_letters("axial", flipped)["left"] == "L"


def test_island_click_removes_the_component_and_metrics_follow(qtbot, case):
    from scipy.ndimage import label as connected

    from quant.metrics import MetricsTracker, measure

    view, editor, tools = make_view(qtbot, case, mode="island")
    tracker = MetricsTracker(case.volume, case.lungs, case.lesions)
    editor.add_listener(tracker.apply)
    metrics_seen = []
    tools.stepRecorded.connect(lambda step: metrics_seen.append(tracker.metrics))
    components, n = connected(case.lesions.labels > 0, structure=np.ones((3, 3, 3)))
    assert n >= 1
    z = view.scene.slice_index
    ys, xs = np.nonzero(components[z])
    target = (z, int(ys[0]), int(xs[0]))
    component = components == components[target]
    before = case.lesions.labels.copy()
    drag(view, [target])
    assert not case.lesions.labels[component].any()
    np.testing.assert_array_equal(case.lesions.labels[~component], before[~component])
    assert editor.undo_label.startswith("Remove island")
    # Incremental metrics equal a full recompute after the click.
    assert metrics_seen and metrics_seen[-1] == measure(case.volume, case.lungs, case.lesions)


def test_grow_click_adds_a_region_inside_the_hu_range(qtbot, case):
    view, editor, tools = make_view(qtbot, case, mode="grow")
    tools.grow_hu_range = (-1024.0, -500.0)  # aerated lung: grows through normal parenchyma
    tools.grow_max_radius_mm = 8.0
    z = view.scene.slice_index
    seed = tuple(int(round(v)) for v in lung_voxel_line(case, z, n=1)[0])
    assert -1024 <= case.volume.hu[seed] <= -500, "seed must lie in the grow range"
    before = case.lesions.labels.copy()
    drag(view, [seed])
    grown = case.lesions.labels != before
    assert grown[seed] and grown.sum() > 10
    hu = case.volume.hu[grown]
    assert hu.min() >= -1024 and hu.max() <= -500
    assert (case.lungs.labels[grown] > 0).all()
    zz, yy, xx = np.nonzero(grown)
    d = np.sqrt(((zz - seed[0]) * case.volume.spacing[0]) ** 2 + ((yy - seed[1]) * case.volume.spacing[1]) ** 2
                + ((xx - seed[2]) * case.volume.spacing[2]) ** 2)
    assert d.max() <= 8.0 + 1e-6
