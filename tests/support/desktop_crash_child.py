"""Child process for the crash-recovery test: the real application, killed during a draft edit.

Usage: python -m tests.support.desktop_crash_child DB_URL TASK_ID
Opens the task as reader1 in the real main window, paints one stroke with mouse events, waits for
the autosave (LUNGREAD_AUTOSAVE_S is short in the test), prints ``SAVED <revision> <sha256 of the
lesion labels>``, then starts a second stroke without releasing the mouse and prints ``EDITING``.
The parent kills it with SIGKILL at that point.
"""

from __future__ import annotations

import hashlib
import sys
import time

import numpy as np


def main() -> None:
    from PySide6.QtWidgets import QApplication

    from db import services
    from desktop.app.application import create_application
    from desktop.app.session import DEMO_PASSWORD, AppContext
    from desktop.shell.main_window import MainWindow
    from tests.support.desktop import drag
    from tests.support.slice_views import send_mouse

    url, task_id = sys.argv[1], int(sys.argv[2])
    app = create_application()
    context = AppContext(url=url)
    context.actor = services.authenticate(context.database(), "reader1", DEMO_PASSWORD)
    window = MainWindow(context)
    window.resize(1200, 800)
    window.show()
    screen = window.role_screen
    screen.open_task(task_id)
    workspace = screen.workspace

    def wait(predicate, timeout=240.0):
        end = time.monotonic() + timeout
        while not predicate():
            app.processEvents()
            time.sleep(0.005)
            if time.monotonic() > end:
                print("TIMEOUT", flush=True)
                sys.exit(3)

    wait(lambda: workspace.views is not None and workspace.sign_button.isEnabled())
    views = workspace.views
    axial = views.views["axial"]
    wait(lambda: all(v.isVisible() and v.vtk_widget.width() > 150 for v in views.views.values()))
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    z = axial.scene.slice_index
    ys, xs = np.nonzero(views.lungs.labels[z] > 0)
    pick = np.linspace(0, len(xs) - 1, 6).astype(int)
    points = [np.array([z, ys[i], xs[i]], float) for i in pick]
    workspace.palette.select_tool("paint")
    saved: list[int] = []
    workspace.autosaver.saved.connect(lambda rev, reason: saved.append(rev))
    workspace.autosaver.dirty = False  # only the stroke below makes the draft we check
    drag(axial, points)
    workspace.form.comment.setPlainText("draft before the crash")
    wait(lambda: bool(saved) and not workspace.autosaver.dirty)
    digest = hashlib.sha256(views.lesions.labels.tobytes()).hexdigest()
    print(f"SAVED {saved[-1]} {digest}", flush=True)
    # A second stroke, mouse still down: this edit is in flight when the process dies.
    from PySide6.QtCore import Qt

    left = Qt.MouseButton.LeftButton
    w = axial.vtk_widget
    send_mouse(w, "press", axial.widget_point(points[0] + [0, 3, 0]), left, left)
    send_mouse(w, "move", axial.widget_point(points[-1] + [0, 3, 0]), Qt.MouseButton.NoButton, left)
    print("EDITING", flush=True)
    while True:
        QApplication.processEvents()
        time.sleep(0.01)


if __name__ == "__main__":
    main()
