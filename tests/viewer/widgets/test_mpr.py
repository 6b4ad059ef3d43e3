"""Linked MPR views and the 3D view, driven by real Qt events (pytest-qt, Xvfb, xcb)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.slice_views import drag, pixels, wheel

pytestmark = pytest.mark.gui


def make_mpr(qtbot, case, with_3d=False, volume_rendering=False):
    from quant.editing.editor import MaskEditor
    from viewer.scene.layers import ViewerLayers
    from viewer.widgets.mpr import MprViewer
    from viewer.widgets.tools import EditTools

    layers = ViewerLayers(case.volume, case.lungs, case.lesions)
    editor = MaskEditor(case.volume, case.lungs, case.lesions)
    tools = EditTools(editor, layers)
    mpr = MprViewer(layers, tools, with_3d=with_3d, volume_rendering=volume_rendering)
    mpr.resize(700, 700)
    qtbot.addWidget(mpr)
    mpr.show()
    qtbot.waitExposed(mpr)
    mpr.render_all()
    return mpr, editor, tools


def test_click_in_one_view_moves_the_others(qtbot, case):
    mpr, _, _ = make_mpr(qtbot, case)
    axial, coronal, sagittal = (mpr.views[o] for o in ("axial", "coronal", "sagittal"))
    z = axial.scene.slice_index
    target = (z, 30, 90)
    drag(axial, [target])  # navigate mode: a click moves the crosshair
    assert tuple(np.rint(mpr.position_zyx).astype(int)) == target
    assert coronal.scene.slice_index == 30
    assert sagittal.scene.slice_index == 90
    assert axial.scene.slice_index == z
    # Scrolling the coronal view moves the crosshair along y in the others, not their slices.
    wheel(coronal, 2)
    assert coronal.scene.slice_index == 32
    assert mpr.position_zyx[1] == 32
    assert axial.scene.crosshair_zyx[1] == 32 and axial.scene.slice_index == z
    qtbot.waitUntil(lambda: not axial._dirty and not sagittal._dirty, timeout=2000)


def test_paint_in_axial_updates_only_views_crossing_the_stroke(qtbot, case):
    mpr, editor, tools = make_mpr(qtbot, case)
    tools.set_mode("paint")
    editor.radius_mm = 6.0
    qtbot.wait(50)
    axial, coronal, sagittal = (mpr.views[o] for o in ("axial", "coronal", "sagittal"))
    counts = {o: 0 for o in mpr.views}
    for o, v in mpr.views.items():
        v.rendered.connect(lambda o=o: counts.__setitem__(o, counts[o] + 1))
    z = axial.scene.slice_index
    # A stroke through the coronal slice but far from the sagittal slice.
    y = coronal.scene.slice_index
    lung_x = np.flatnonzero((case.lungs.labels[z, y] > 0) & (case.lesions.labels[z, y] == 0))
    far = lung_x[np.abs(lung_x - sagittal.scene.slice_index) > 8]
    assert far.size, "need lung on this row away from the sagittal plane"
    x = int(far[far.size // 2])
    drag(axial, [(z, y, x)])
    qtbot.wait(50)
    assert case.lesions.labels[z, y, x] == editor.label
    assert counts["axial"] >= 1 and counts["coronal"] >= 1
    assert counts["sagittal"] == 0, "a view whose slice the stroke missed re-rendered"
    # The coronal view shows the new paint in its picture (crosshair hidden: it runs along z).
    coronal.scene.set_crosshair(coronal.scene.crosshair_zyx, visible=False)
    mpr.layers.set_label_visible("lung", False)  # the lung outline may run through the spot
    img = pixels(coronal).astype(int)
    pos = coronal.widget_point((z, y, x))
    r, c = int(round(pos.y())), int(round(pos.x()))
    patch = img[r - 1 : r + 2, c - 1 : c + 2].reshape(-1, 3).mean(0)
    assert patch[0] > patch[2] + 40  # yellow overlay: red/green high, blue low


def test_3d_surfaces_update_in_background_after_edit(qtbot, case):
    mpr, editor, tools = make_mpr(qtbot, case, with_3d=True, volume_rendering=True)
    view3d = mpr.view3d
    qtbot.waitUntil(lambda: not view3d.pending, timeout=20000)
    before = view3d.scene.lesion_actor.GetMapper().GetInput().GetNumberOfPoints()
    assert before > 0
    # Erase every lesion through the editor: the surface must become empty, off the GUI thread.
    case_labels = case.lesions.labels
    editor.erase_any_lesion = True
    from quant.labels import VoxelChange

    idx = np.flatnonzero(case_labels)
    change = VoxelChange("lesion", idx, case_labels.reshape(-1)[idx].copy(), np.zeros(idx.size, np.uint8))
    change.apply_to(case_labels)
    mpr.layers.apply_change(change)
    assert view3d.pending
    with qtbot.waitSignal(view3d.surfacesUpdated, timeout=20000):
        pass
    assert view3d.scene.lesion_actor.GetMapper().GetInput().GetNumberOfPoints() == 0


def test_window_level_drag_applies_to_every_view_unless_shift(qtbot, case):
    from PySide6.QtCore import QPointF, Qt

    from tests.support.slice_views import send_mouse

    mpr, _, _ = make_mpr(qtbot, case)
    axial, coronal, sagittal = (mpr.views[o] for o in ("axial", "coronal", "sagittal"))
    right = Qt.MouseButton.RightButton

    def wl_drag(view, modifiers=None):
        w = view.vtk_widget
        start, end = QPointF(100, 100), QPointF(160, 130)
        send_mouse(w, "press", start, right, right, modifiers)
        send_mouse(w, "move", end, Qt.MouseButton.NoButton, right, modifiers)
        send_mouse(w, "release", end, right, Qt.MouseButton.NoButton, modifiers)
        return view.scene.window_level

    before = coronal.scene.window_level
    after = wl_drag(axial)
    assert after != before and coronal.scene.window_level == after == sagittal.scene.window_level
    alone = wl_drag(coronal, Qt.KeyboardModifier.ShiftModifier)  # Shift: this view only
    assert alone != after and axial.scene.window_level == after == sagittal.scene.window_level
    qtbot.waitUntil(lambda: not axial._dirty and not sagittal._dirty, timeout=2000)


def test_maximise_and_layouts(qtbot, case):
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    mpr, _, _ = make_mpr(qtbot, case)
    axial, coronal, sagittal = (mpr.views[o] for o in ("axial", "coronal", "sagittal"))
    w = coronal.vtk_widget
    at = QPointF(80, 80)
    double = QMouseEvent(QMouseEvent.Type.MouseButtonDblClick, at, w.mapToGlobal(at), Qt.MouseButton.LeftButton,
                         Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(w, double)  # double-click: the coronal view alone, filling the viewer
    assert mpr.layout_name == "1x1" and coronal.isVisible() and not axial.isVisible()
    qtbot.waitUntil(lambda: coronal.width() > 0.9 * mpr.width())
    qtbot.keyClick(w, Qt.Key.Key_F)  # F: back to the layout before
    assert mpr.layout_name == "2x2" and axial.isVisible() and sagittal.isVisible()
    qtbot.waitUntil(lambda: coronal.width() < 0.6 * mpr.width())
    mpr.set_layout("1x3")
    qtbot.waitUntil(lambda: abs(axial.height() - mpr.height()) < 10 and axial.width() < 0.4 * mpr.width())
    assert all(v.isVisible() for v in (axial, coronal, sagittal))
    with pytest.raises(ValueError, match="layout must be one of"):
        mpr.set_layout("3x3")
