"""The correction tools in the real workspace, driven with real widgets and mouse events: each
changes the mask voxels a radiologist expects, and each is undoable."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.support.desktop import drag, open_case
from tests.support.slice_views import send_mouse

pytestmark = [pytest.mark.gui, pytest.mark.slow]

from tests.support.desktop import restore_app_theme  # noqa: E402,F401  (autouse fixture)


@pytest.fixture
def workspace(reader_screen, qtbot):
    _context, tasks, _window, screen = reader_screen
    return open_case(qtbot, screen, tasks[0])


def _lung_row(views, z, band=None):
    """A row of one lung's voxels on slice z, (y, x0, x1), never crossing the mediastinum: the
    row of the right lung with the most voxels (with ``band``: the most voxels in that HU band)."""
    from quant.labels import RIGHT_LUNG

    lung = views.lungs.labels[z] == RIGHT_LUNG
    score = lung if band is None else lung & (views.volume.hu[z] >= band[0]) & (views.volume.hu[z] <= band[1])
    y = int(np.argmax(score.sum(axis=1)))
    xs = np.nonzero(lung[y])[0]
    runs = np.split(xs, np.nonzero(np.diff(xs) > 1)[0] + 1)
    run = max(runs, key=len)
    return y, int(run.min()) + 2, int(run.max()) - 2


def test_threshold_brush_changes_only_voxels_in_the_hu_band(workspace):
    from quant.labels import RIGHT_LUNG, SOLID

    views, options = workspace.views, workspace.options
    hu = views.volume.hu
    in_band = (views.lungs.labels == RIGHT_LUNG) & (hu >= -300) & (hu <= 50)
    z = int(np.argmax(in_band.sum(axis=(1, 2))))  # the slice with most solid-band lung (a lesion)
    views.views["axial"].set_slice(z, render=True)
    views.lesions.labels[z] = 0
    y, x0, x1 = _lung_row(views, z, band=(-300, 50))
    workspace.palette.solid.setChecked(True)
    workspace.palette.select_tool("paint")
    options.limit.setCurrentIndex(options.limit.findData("solid"))
    assert views.editor.hu_range == (-300.0, 50.0)  # the protocol's solid band
    before = views.lesions.labels.copy()
    drag(views.views["axial"], [np.array([z, y, x], float) for x in np.linspace(x0, x1, 12)])
    changed = views.lesions.labels != before
    assert changed.any(), "some voxels in the band were painted"
    assert np.all((hu[changed] >= -300) & (hu[changed] <= 50)) and np.all(views.lesions.labels[changed] == SOLID)
    # Under the brush but outside the band (aerated lung): untouched. Without the limit: painted.
    workspace.undo()
    assert np.array_equal(views.lesions.labels, before)
    options.limit.setCurrentIndex(0)
    assert views.editor.hu_range is None
    drag(views.views["axial"], [np.array([z, y, x], float) for x in np.linspace(x0, x1, 12)])
    unlimited = views.lesions.labels != before
    assert unlimited.sum() > changed.sum() and (hu[unlimited] < -300).any()


def test_grow_is_previewed_then_kept_or_discarded(workspace, qtbot):
    from quant.labels import GGO

    views, options, tools = workspace.views, workspace.options, workspace.views.tools
    z = views.views["axial"].scene.slice_index
    y, x0, x1 = _lung_row(views, z)
    seed = (z, y, (x0 + x1) // 2)
    views.lesions.labels[...] = 0
    options.grow_low.setValue(-1000)
    options.grow_high.setValue(0)  # aerated lung is in range: the region is bounded by the reach
    options.grow_reach.setValue(6)
    assert tools.grow_hu_range == (-1000.0, 0.0) and tools.grow_max_radius_mm == 6.0
    workspace.palette.ggo.setChecked(True)
    workspace.palette.select_tool("grow")
    axial = views.views["axial"]
    point = axial.widget_point(np.array(seed, float))
    send_mouse(axial.vtk_widget, "press", point, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
    send_mouse(axial.vtk_widget, "release", point, Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton)
    grown = views.lesions.labels == GGO
    assert grown.any() and options.preview.isVisible() and "Grow preview: +" in options.preview.text()
    zz, yy, xx = np.nonzero(grown)
    dist = np.sqrt((((np.stack([zz, yy, xx], 1) - seed) * np.array(views.volume.spacing)) ** 2).sum(1))
    assert dist.max() <= 6.0 + 1e-6  # never beyond the reach
    ml = float(options.preview.text().split("+")[1].split()[0])
    assert ml == pytest.approx(grown.sum() * views.volume.voxel_volume_ml, abs=0.006)
    qtbot.keyClick(axial.vtk_widget, Qt.Key.Key_Escape)  # Esc: the preview goes, the tool stays
    assert not (views.lesions.labels == GGO).any() and not options.preview.isVisible()
    assert tools.mode == "grow"
    send_mouse(axial.vtk_widget, "press", point, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
    send_mouse(axial.vtk_widget, "release", point, Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton)
    qtbot.mouseClick(options.keep, Qt.MouseButton.LeftButton)
    assert np.array_equal(views.lesions.labels == GGO, grown) and not options.preview.isVisible()
    workspace.undo()  # kept grows are ordinary undo steps
    assert not (views.lesions.labels == GGO).any()


def test_fill_between_slices_interpolates_and_undoes(workspace, qtbot):
    from quant.labels import SOLID

    views = workspace.views
    z = views.views["axial"].scene.slice_index
    y, x0, x1 = _lung_row(views, z)
    views.lesions.labels[...] = 0
    cx = (x0 + x1) // 2
    for k in (z - 2, z + 2):  # the same small square drawn on two slices, 3 empty between
        views.lesions.labels[k, y - 2:y + 3, cx - 2:cx + 3] = SOLID
    views.layers.mark_changed("lesion", ((0, 0, 0), views.volume.shape))
    workspace.palette.solid.setChecked(True)
    before = views.lesions.labels.copy()
    qtbot.mouseClick(workspace.options.fill, Qt.MouseButton.LeftButton)
    for k in (z - 1, z, z + 1):
        assert (views.lesions.labels[k, y - 1:y + 2, cx - 1:cx + 2] == SOLID).all(), k
    assert workspace.palette.undo_button.isEnabled() and "Fill between slices" in workspace.palette.undo_button.toolTip()
    workspace.undo()
    assert np.array_equal(views.lesions.labels, before)


def test_erase_clears_any_lesion_label_and_shift_only_the_selected_one(workspace):
    from quant.labels import GGO, SOLID

    views = workspace.views
    z = views.views["axial"].scene.slice_index
    y, x0, x1 = _lung_row(views, z)
    views.lesions.labels[...] = 0
    xm = (x0 + x1) // 2
    views.lesions.labels[z, y - 3:y + 4, x0:xm] = GGO
    views.lesions.labels[z, y - 3:y + 4, xm:x1] = SOLID
    views.layers.mark_changed("lesion", ((0, 0, 0), views.volume.shape))
    workspace.palette.ggo.setChecked(True)  # the selected label is GGO
    workspace.palette.select_tool("erase")
    axial = views.views["axial"]
    line = [np.array([z, y, x], float) for x in np.linspace(x0 + 1, x1 - 1, 14)]
    # Shift: only the selected label (GGO) goes; solid stays.
    w = axial.vtk_widget
    shift = Qt.KeyboardModifier.ShiftModifier
    pts = [axial.widget_point(p) for p in line]
    send_mouse(w, "press", pts[0], Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, shift)
    for p in pts[1:]:
        send_mouse(w, "move", p, Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, shift)
    send_mouse(w, "release", pts[-1], Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton, shift)
    row = views.lesions.labels[z, y]
    assert not (row[x0 + 2:xm - 2] == GGO).any() and (row[xm + 2:x1 - 2] == SOLID).all()
    # Default: every lesion label under the brush, whatever is selected.
    drag(axial, line)
    assert not views.lesions.labels[z, y, x0 + 2:x1 - 2].any()
    workspace.undo()
    workspace.undo()
    assert (views.lesions.labels[z, y, x0:xm] == GGO).all() and (views.lesions.labels[z, y, xm:x1] == SOLID).all()


def test_measurements_and_lesion_list_are_kept_with_the_read(workspace, demo, qtbot):
    from db import services
    from quant.measure import from_json

    context, tasks = demo
    views, findings = workspace.views, workspace.findings
    # The lesion list adds up to the lesion volume the metrics report, and a click jumps there.
    assert findings.lesions, "the demo case has lesions"
    total = sum(c.volume_ml for c in findings.lesions)
    assert total == pytest.approx(views.tracker.metrics.lesion_ml, rel=1e-9)
    assert findings.table.rowCount() == len(findings.lesions)
    findings.table.cellClicked.emit(0, 0)
    assert np.allclose(views.widget.position_zyx, np.clip(findings.lesions[0].centroid, 0, None), atol=1e-9)
    # Ruler (M) and ROI (C) by keys and drags; both listed, then saved with the draft.
    axial = views.views["axial"]
    z = axial.scene.slice_index
    y, x0, x1 = _lung_row(views, z)
    qtbot.keyClick(axial.vtk_widget, Qt.Key.Key_M)
    drag(axial, [np.array([z, y, x0], float), np.array([z, y, x1], float)])
    qtbot.keyClick(axial.vtk_widget, Qt.Key.Key_C)
    drag(axial, [np.array([z, y, (x0 + x1) / 2], float), np.array([z, y, (x0 + x1) / 2 + 4], float)])
    assert findings.measure_list.count() == 2 and findings.measure_list.item(0).text().startswith("Ruler")
    assert workspace.autosaver.dirty
    workspace.save_draft_now()
    draft = services.open_task(context.database(), context.actor, tasks[0]).draft
    saved = from_json(draft.metrics["measurements"])
    assert [m.kind for m in saved] == ["ruler", "roi"] and saved == views.tools.measurements
    # Delete one: the draft changes again; reopening the case shows what was saved.
    findings.measure_list.setCurrentRow(0)
    qtbot.mouseClick(findings.delete, Qt.MouseButton.LeftButton)
    assert [m.kind for m in views.tools.measurements] == ["roi"] and workspace.autosaver.dirty
    workspace.save_draft_now()
    assert workspace.close_case()
    workspace.open_task(tasks[0])
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.sign_button.isEnabled(), timeout=120000)
    assert [m.kind for m in workspace.views.tools.measurements] == ["roi"]
    assert findings.measure_list.count() == 1 and not workspace.autosaver.dirty
    # After an edit the list says it is out of date; Update finds the lesions again (in a worker).
    views, findings = workspace.views, workspace.findings
    z0 = views.views["axial"].scene.slice_index
    y0, a0, b0 = _lung_row(views, z0)
    workspace.palette.select_tool("paint")
    before = views.lesions.labels[z0].copy()
    drag(views.views["axial"], [np.array([z0, y0, x], float) for x in np.linspace(a0, b0, 8)])
    assert (views.lesions.labels[z0] != before).any(), "the stroke painted nothing"
    assert "out of date" in findings.state.text()
    worker = findings.refresh_lesions()
    qtbot.waitUntil(lambda: not worker.isRunning() and "lesion(s)" in findings.state.text(), timeout=60000)
    assert sum(c.volume_ml for c in findings.lesions) == pytest.approx(views.tracker.metrics.lesion_ml, rel=1e-9)
