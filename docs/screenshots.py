"""Regenerate a PNG of each main screen of the desktop application into docs/screenshots/.

Builds a small demo trial in a temporary data folder, drives the real widgets (login, worklist,
reading workspace with automatic segmentation and the 3D view, adjudication, manager dashboard,
statistician tables and figure) and grabs each window. Runs under Xvfb (re-executes itself through
``xvfb-run`` when there is no DISPLAY) with the xcb platform, like the GUI tests.

Usage: .venv/bin/python docs/screenshots.py [--out docs/screenshots] [--subjects 6 --visits 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1600, 1000)


def _wait(app, predicate, timeout_s: float = 300.0) -> None:
    import time

    end = time.monotonic() + timeout_s
    while not predicate():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > end:
            raise TimeoutError("the screen did not become ready in time")


def _grab(app, widget, path: Path) -> None:
    for _ in range(20):
        app.processEvents()
    # QWidget.grab() does not capture OpenGL (VTK) children: grab the screen area instead.
    screen = widget.screen()
    geo = widget.frameGeometry()
    pixmap = screen.grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
    pixmap.save(str(path))
    print(f"wrote {path}")


def _sign_in(app, context, username: str):
    from db import services
    from desktop.app.session import DEMO_PASSWORD
    from desktop.shell.main_window import MainWindow

    context.actor = services.authenticate(context.database(), username, DEMO_PASSWORD)
    window = MainWindow(context)
    window.resize(*SIZE)
    window.move(0, 0)
    window.show()
    _wait(app, window.isVisible)
    return window


def _paint(views, radius_mm: float, n: int, seed: int) -> None:
    """Paint ``n`` ground-glass sphere dabs on lung voxels of the middle axial slice (a reader's edit)."""
    import numpy as np

    editor = views.editor
    editor.brush_shape = "sphere"
    editor.radius_mm = radius_mm
    z = views.views["axial"].scene.slice_index
    ys, xs = np.nonzero(views.lungs.labels[z] > 0)
    rng = np.random.default_rng(seed)
    for i in rng.choice(len(xs), size=n, replace=False):
        editor.begin_stroke("paint", (z, ys[i], xs[i]), axis=0)
        editor.end_stroke()
    views.tools.metricsChanged.emit(views.tracker.metrics)


def _measure_and_outline(app, window, ws, path: Path) -> None:
    """The display controls and measurements: lesions as outlines at a lower opacity, a ruler and
    an ROI on the axial slice, the lesion list filled in; then back to the defaults."""
    import numpy as np

    from quant.measure import circle_roi, ruler

    views = ws.views
    axial = views.views["axial"]
    z = axial.scene.slice_index
    ys, xs = np.nonzero(views.lungs.labels[z] > 0)
    y0, y1 = int(np.percentile(ys, 30)), int(np.percentile(ys, 70))
    x0 = int(np.percentile(xs, 20))
    volume = views.volume
    line = ruler((z, y0, x0), (z, y1, x0 + 25), volume.spacing, axis=0)
    roi = circle_roi(volume.hu, (z, (y0 + y1) // 2, int(np.percentile(xs, 80))),
                     (z, (y0 + y1) // 2, int(np.percentile(xs, 80)) + 8), 0, volume.spacing)
    views.tools.set_measurements([line, roi])
    ws.display.outline.setChecked(True)
    ws.display.opacity["ggo"].setValue(25)
    ws.palette.select_tool("ruler")
    from PySide6.QtWidgets import QScrollArea

    side = ws.findChild(QScrollArea)
    side.ensureWidgetVisible(ws.findings.table)  # the lesion list in view, below the tools
    _grab(app, window, path)
    side.ensureWidgetVisible(ws.palette)
    ws.display.outline.setChecked(False)
    ws.display.opacity["ggo"].setValue(45)
    views.tools.set_measurements([])
    ws.palette.select_tool("paint")


def _read_all(app, context, username: str, out: Path | None) -> None:
    """Sign every case of ``username``'s worklist through the reading workspace.

    reader2 adds a few mL of ground glass to each case and a large amount to its first one (so that
    case is discordant and goes to adjudication). ``out``: grab the first case's workspace there.
    """
    from desktop.app.session import DEMO_PASSWORD

    window = _sign_in(app, context, username)
    screen = window.role_screen
    _wait(app, lambda: screen.worklist.table.rowCount() > 0)
    if out is not None:
        _grab(app, window, out / "worklist.png")
    screen.open_task(screen.worklist.tasks[0].task_id)
    ws = screen.workspace
    n = 0
    plain = sequential = False
    while True:
        _wait(app, lambda: (ws.views is not None and ws.sign_button.isEnabled())
              or screen.currentWidget() is screen.worklist)
        if screen.currentWidget() is screen.worklist:
            break
        if out is not None and not plain and ws.reference is None:
            plain = True
            ws.palette.select_tool("paint")
            _grab(app, window, out / "workspace.png")
            _measure_and_outline(app, window, ws, out / "workspace_outlines.png")
        if out is not None and not sequential and ws.reference is not None and "signed" in ws.reference.title.text() \
                and "not signed" not in ws.reference.title.text():
            sequential = True
            _grab(app, window, out / "workspace_sequential.png")
        if username == "reader2":
            _paint(ws.views, 35.0 if n == 0 else 8.0, 5 if n == 0 else 2, seed=n)
        ws.form.normal_no.setChecked(True)
        ws.form.confidence.setCurrentIndex(4)
        ws.sign(password=DEMO_PASSWORD)
        n += 1
    window.close()


def run(out: Path, subjects: int, visits: int) -> None:
    from PySide6.QtWidgets import QApplication

    from desktop.app.application import create_application
    from desktop.app.session import DEMO_PASSWORD, AppContext
    from desktop.demo.first_run import create_demo, demo_root, demo_url
    from desktop.shell.login import LoginDialog

    app = create_application()
    out.mkdir(parents=True, exist_ok=True)
    root = demo_root()
    print("creating the demo trial…", flush=True)
    create_demo(root, subjects=subjects, visits=visits, seed=5)
    context = AppContext(url=demo_url(root), demo_root=root)
    # Sequential reading on, so a follow-up shows its baseline beside it (workspace_sequential.png).
    from dataclasses import replace

    from db import services

    database = context.database()
    manager = services.authenticate(database, "manager", DEMO_PASSWORD)
    services.set_charter(database, manager, replace(services.get_trial(database).charter, sequential_reading=True),
                         "screenshots: sequential reading")

    login = LoginDialog(context)
    login.username.setText("reader1")
    login.show()
    _wait(app, login.isVisible)
    _grab(app, login, out / "login.png")
    login.close()

    print("reader1 and reader2 read every case…", flush=True)
    _read_all(app, context, "reader1", out)
    _read_all(app, context, "reader2", None)

    window = _sign_in(app, context, "adjudicator")
    adj = window.role_screen
    _wait(app, lambda: adj.queue.count() > 0)
    first = True
    while adj.queue.count() and "open" in adj.queue.item(0).text():
        adj.open_adjudication(adj.queue.item(0).data(256))
        _wait(app, lambda: adj.select_b.isEnabled())
        adj.reason.setCurrentIndex(adj.reason.findData("lesion extent"))
        adj.rationale.setText("Read A misses the posterior basal ground glass")
        if first:
            _grab(app, window, out / "adjudication.png")
            first = False
        adj.decide("B", password=DEMO_PASSWORD)
    window.close()

    window = _sign_in(app, context, "manager")
    mgr = window.role_screen
    _wait(app, lambda: mgr.progress_table.rowCount() > 0)
    _grab(app, window, out / "manager.png")
    mgr.setCurrentWidget(mgr.intake)
    mgr.intake.refresh()
    _grab(app, window, out / "manager_intake.png")
    mgr.lock_database(confirm=False, override_reason="screenshot session")
    window.close()

    window = _sign_in(app, context, "statistician")
    stat = window.role_screen
    _wait(app, lambda: stat.unblind_button.isEnabled())
    stat.unblind(context.randomization_csv)
    _wait(app, lambda: stat.result is not None)
    _grab(app, window, out / "statistician.png")
    stat.tabs.setCurrentIndex(stat.tabs.count() - 1)
    _grab(app, window, out / "statistician_figure.png")
    window.close()
    QApplication.processEvents()
    from desktop.app.application import delete_all_windows

    delete_all_windows()  # as the application does at exit: no crash in interpreter shutdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--subjects", type=int, default=6)
    parser.add_argument("--visits", type=int, default=2)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            raise SystemExit("no DISPLAY and no xvfb-run")
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1920x1200x24", sys.executable, *sys.argv]
        raise SystemExit(subprocess.call(cmd))
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LUNGREAD_DATA_DIR"] = tmp
        run(args.out.resolve(), args.subjects, args.visits)


if __name__ == "__main__":
    main()
