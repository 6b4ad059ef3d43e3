"""Child process for the exit-path test: the real ``lungread`` entry point, driven to one way out.

Usage: python -m tests.support.exit_path_child PATH -- LUNGREAD_ARGS...

Runs ``desktop.cli.main.main(LUNGREAD_ARGS)`` (what the ``lungread`` console script runs) with a
driver on the Qt event loop that signs in as reader1 and leaves by PATH:

* ``login-quit``: the login dialog's Quit button;
* ``worklist-quit``: File > Quit on the worklist;
* ``workspace-quit``: File > Quit with a case open (no edit);
* ``close-mid-edit``: one paint stroke, then the window's close (what the window manager sends)
  before the autosave timer; prints ``PAINTED <lesion %>`` so the parent can find the draft;
* ``sign-out``: File > Sign out, then Quit on the login dialog.

The process then exits as the application does: the parent checks the exit code and that
nothing crashed during interpreter shutdown (``os._exit`` is never called here).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator

DEMO_USER, DEMO_PASSWORD = os.environ.get("LUNGREAD_EXIT_USER", "reader1"), "lungread"
Step = Callable[[], bool]


def _top(kind: str):
    from PySide6.QtWidgets import QApplication

    for w in QApplication.topLevelWidgets():
        if type(w).__name__ == kind and w.isVisible():
            return w
    return None


def _action(window, text: str):
    from PySide6.QtGui import QAction

    for action in window.findChildren(QAction):
        if action.text().replace("&", "") == text:
            return action
    raise LookupError(f"no action {text!r}")


def _sign_in() -> Iterator[Step]:
    yield lambda: _top("LoginDialog") is not None
    login = _top("LoginDialog")
    login.username.setText(DEMO_USER)
    login.password.setText(DEMO_PASSWORD)
    login.sign_in.click()
    yield lambda: _top("MainWindow") is not None


def _open_case() -> Iterator[Step]:
    window = _top("MainWindow")
    screen = window.role_screen
    yield lambda: screen.worklist.table.rowCount() > 0
    screen.worklist.table.cellDoubleClicked.emit(0, 0)  # as a double click on the first case
    yield lambda: screen.workspace is not None and screen.workspace.views is not None \
        and screen.workspace.sign_button.isEnabled()


def _paint_stroke() -> None:
    import numpy as np

    from tests.support.desktop import drag

    workspace = _top("MainWindow").role_screen.workspace
    views = workspace.views
    axial = views.views["axial"]
    z = axial.scene.slice_index
    ys, xs = np.nonzero(views.lungs.labels[z] > 0)
    pick = np.linspace(0, len(xs) - 1, 6).astype(int)
    workspace.palette.select_tool("paint")
    drag(axial, [np.array([z, ys[i], xs[i]], float) for i in pick])
    print(f"PAINTED {views.tracker.metrics.lesion_pct!r}", flush=True)


def drive(path: str) -> Iterator[Step]:
    if path == "login-quit":
        yield lambda: _top("LoginDialog") is not None
        login = _top("LoginDialog")
        [b for b in login.findChildren(type(login.sign_in)) if b.text() == "Quit"][0].click()
        return
    yield from _sign_in()
    window = _top("MainWindow")
    if path == "worklist-quit":
        _action(window, "Quit").trigger()
    elif path == "workspace-quit":
        yield from _open_case()
        _action(window, "Quit").trigger()
    elif path == "close-mid-edit":
        yield from _open_case()
        window.role_screen.workspace.autosaver.dirty = False  # only the stroke makes the draft checked
        _paint_stroke()
        window.close()
    elif path == "sign-out":
        _action(window, "Sign out").trigger()
        yield lambda: _top("LoginDialog") is not None and _top("MainWindow") is None
        login = _top("LoginDialog")
        [b for b in login.findChildren(type(login.sign_in)) if b.text() == "Quit"][0].click()
    else:
        raise SystemExit(f"unknown exit path {path!r}")


def main() -> int:
    path, sep, *args = sys.argv[1:]
    assert sep == "--", "usage: exit_path_child PATH -- LUNGREAD_ARGS..."
    from PySide6.QtCore import QTimer

    from desktop.app.application import create_application
    from desktop.cli.main import main as lungread

    create_application()
    steps = drive(path)
    waiting: list[Step] = []
    deadline = time.monotonic() + 300

    def tick() -> None:
        try:
            if waiting and not waiting[0]():
                if time.monotonic() > deadline:
                    from PySide6.QtWidgets import QApplication

                    print("DRIVER-TIMEOUT", flush=True)
                    timer.stop()
                    QApplication.exit(3)
                return
            waiting[:] = [next(steps)]
        except StopIteration:
            timer.stop()
            print("DRIVER-DONE", flush=True)

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    code = lungread(args)
    print(f"LUNGREAD-RETURNED {code}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
