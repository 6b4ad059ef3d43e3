"""The reader's display controls in the real workspace: each changes the rendered pixels of the
image views as a radiologist expects, by checkbox, slider and key, and carries to the next case."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.support.desktop import login_reader1, open_case, wait_workers_idle
from tests.support.slice_views import pixels

pytestmark = [pytest.mark.gui, pytest.mark.slow]

from tests.support.desktop import restore_app_theme  # noqa: E402,F401  (autouse fixture)


def test_label_visibility_opacity_outline_and_ct_alone(reader_screen, qtbot):
    from quant.labels import SOLID

    context, tasks, window, screen = reader_screen
    workspace = open_case(qtbot, screen, tasks[0])
    views, panel = workspace.views, workspace.display
    axial = views.views["axial"]
    # A solid block in the middle of the shown slice, so the overlay has something to show.
    z = axial.scene.slice_index
    ys, xs = np.nonzero(views.lungs.labels[z] > 0)
    cy, cx = int(np.median(ys)), int(np.median(xs))
    views.lesions.labels[z, cy - 12:cy + 12, cx - 12:cx + 12] = SOLID
    views.layers.mark_changed("lesion", ((z, cy - 12, cx - 12), (z + 1, cy + 12, cx + 12)))

    def frame():
        axial.render()
        qtbot.wait(30)
        return pixels(axial).astype(int)

    def centre(img):  # well inside the block on screen, clear of the crosshair through the view centre
        p = axial.widget_point(np.array([z, cy + 6, cx + 6], float))
        x, y = int(p.x()), int(p.y())
        return img[y - 3:y + 4, x - 3:x + 4]

    filled = frame()
    panel.visible["solid"].setChecked(False)  # hide the label
    hidden = frame()
    assert np.abs(centre(filled) - centre(hidden)).mean() > 10
    panel.visible["solid"].setChecked(True)
    assert np.array_equal(frame(), filled)
    panel.opacity["solid"].setValue(100)  # opaque: the block is the label colour
    opaque = frame()
    colour = np.array(views.layers.style("solid").color) * 255
    assert np.abs(np.median(centre(opaque).reshape(-1, 3), axis=0) - colour).max() < 3  # (a crosshair may cross)
    qtbot.keyClick(axial.vtk_widget, Qt.Key.Key_BracketLeft)  # [ : fainter
    assert panel.opacity["solid"].value() == 90 and views.layers.opacity("solid") == pytest.approx(0.9)
    qtbot.keyClick(axial.vtk_widget, Qt.Key.Key_O)  # O: outlines only, the inside shows the CT
    assert panel.outline.isChecked()
    outlined = frame()
    assert np.abs(centre(outlined) - centre(hidden)).max() <= 2
    assert np.abs(outlined - hidden).sum() > 0  # the outline itself is drawn
    # X held: the CT alone (lung outline gone too); released: back as it was.
    qtbot.keyPress(axial.vtk_widget, Qt.Key.Key_X)
    alone = frame()
    panel.lung.setChecked(False)
    no_lung = frame()
    qtbot.keyRelease(axial.vtk_widget, Qt.Key.Key_X)
    assert np.array_equal(alone, no_lung)  # nothing but the CT while X is down
    assert not np.array_equal(frame(), alone)
    qtbot.keyClick(axial.vtk_widget, Qt.Key.Key_L)  # L: lung outline back
    assert panel.lung.isChecked()
    qtbot.keyClick(axial.vtk_widget, Qt.Key.Key_V)  # V: both lesion labels off
    assert not panel.visible["ggo"].isChecked() and not panel.visible["solid"].isChecked()

    # The reader's choice carries to the next case.
    workspace = open_case(qtbot, screen, tasks[1])
    layers = workspace.views.layers
    assert layers.lesion_outline and not layers.is_visible("solid") and layers.opacity("solid") == pytest.approx(0.9)


def test_a_case_opened_again_comes_back_at_its_slice_and_zoom(reader_screen, qtbot):
    from tests.support.slice_views import wheel

    context, tasks, window, screen = reader_screen
    workspace = open_case(qtbot, screen, tasks[0])
    axial = workspace.views.views["axial"]
    start = axial.scene.slice_index
    wheel(axial, 5)  # 5 slices on
    wheel(axial, 3, modifiers=Qt.KeyboardModifier.ControlModifier)  # zoom in
    left_at = axial.scene.slice_index
    scale = axial.scene.renderer.GetActiveCamera().GetParallelScale()
    assert left_at != start
    screen.show_worklist()  # leave the case, open the other one, then this one again
    open_case(qtbot, screen, tasks[1])
    assert workspace.views.views["axial"].scene.slice_index == workspace.views.views["axial"].scene.n_slices // 2
    screen.show_worklist()
    workspace = open_case(qtbot, screen, tasks[0])
    axial = workspace.views.views["axial"]
    assert axial.scene.slice_index == left_at
    assert axial.scene.renderer.GetActiveCamera().GetParallelScale() == pytest.approx(scale)


def test_sequential_reading_shows_the_signed_baseline_beside_the_follow_up(demo, qtbot):
    from dataclasses import replace

    from db import services
    from desktop.app.session import DEMO_PASSWORD
    from tests.support.slice_views import wheel

    context, tasks = demo
    database = context.database()
    manager = services.authenticate(database, "manager", DEMO_PASSWORD)
    charter = services.get_trial(database).charter
    services.set_charter(database, manager, replace(charter, sequential_reading=True), "SAP: sequential reading")
    window = login_reader1(qtbot, context)
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 2)
    cases = {t: services.open_task(database, context.actor, t, with_masks=False) for t in tasks}
    follow = next(t for t in tasks if cases[t].reference is not None)
    base = next(t for t in tasks if t != follow)
    assert cases[follow].reference.case_code == cases[base].case_code
    workspace = open_case(qtbot, screen, base)  # the baseline: no reference beside it
    assert workspace.reference is None
    workspace.form.normal_no.setChecked(True)
    workspace.form.confidence.setCurrentIndex(3)
    signed_mask = workspace.views.lesions.labels.copy()
    assert workspace.sign(password=DEMO_PASSWORD)  # the follow-up opens next, by itself
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.case.task_id == follow
                    and workspace.sign_button.isEnabled(), timeout=120000)
    # A widget added to a shown layout is shown by a queued call (QLayout::addChildWidget): wait
    # for that event, then hold the reference to what it shows.
    qtbot.waitUntil(lambda: workspace.reference is not None and workspace.reference.isVisible(), timeout=10000)
    ref = workspace.reference
    assert f"case {cases[base].case_code}" in ref.title.text() and "signed baseline read" in ref.title.text()
    assert np.array_equal(ref.layers.lesions.labels, signed_mask)
    with database.session() as s:  # no visit name anywhere on the reference
        from db.models import Visit

        names = [v.name for v in s.query(Visit)]
    assert not any(n in ref.title.text() for n in names)
    axial = workspace.views.views["axial"]
    wheel(axial, 4)
    qtbot.waitUntil(lambda: ref.view.scene.slice_index == axial.scene.slice_index)  # same patient z
    window.close()
    wait_workers_idle(qtbot)
