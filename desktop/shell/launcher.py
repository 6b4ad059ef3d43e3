"""Start-up flow: (demo creation) -> login dialog -> the role's main window -> (sign out -> login).

A window is on screen at every moment: the demo's first-run progress window appears before any
heavy work starts, and the login dialog is shown before SQLAlchemy or VTK are imported.
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QObject, QTimer

from desktop.app.application import create_application, delete_all_windows, install_exception_hook
from desktop.app.session import AppContext

__all__ = ["Launcher", "launch"]

# Set by benchmarks/startup.py: print "login-shown <seconds>" once the login dialog is visible, then quit.
PROBE_ENV = "LUNGREAD_STARTUP_PROBE"
_T0 = time.perf_counter()


class Launcher(QObject):
    """Owns the top-level windows and moves between them."""

    def __init__(self, context: AppContext, *, demo: bool = False, subjects: int = 8,
                 visits: int = 4, seed: int = 0, reset: bool = False) -> None:
        super().__init__()
        self.context = context
        self.demo = demo
        self.demo_options = dict(subjects=subjects, visits=visits, seed=seed, reset=reset)
        self.login = None
        self.main_window = None
        self._setup_worker = None

    def start(self) -> None:
        if self.demo:
            self._prepare_demo()
        else:
            self.show_login()

    # --- demo ----------------------------------------------------------------------------------
    def _prepare_demo(self) -> None:
        from desktop.demo import first_run as demo_setup

        root = demo_setup.demo_root()
        self.context.demo_root = root
        self.context.url = demo_setup.demo_url(root)
        if self.demo_options["reset"]:
            demo_setup.remove_demo(root)
        if demo_setup.is_ready(root):
            self.show_login()
            return
        from desktop.app.workers import run_with_progress

        opts = self.demo_options

        def work(progress, cancelled):  # noqa: ANN001, ANN202
            return demo_setup.create_demo(root, subjects=opts["subjects"], visits=opts["visits"],
                                          seed=opts["seed"], progress=progress, cancelled=cancelled)

        def failed(exc: BaseException) -> None:
            from desktop.app.application import show_exception

            demo_setup.remove_demo(root)
            show_exception(None, exc)
            from PySide6.QtWidgets import QApplication

            QApplication.quit()

        def cancelled() -> None:
            demo_setup.remove_demo(root)
            from PySide6.QtWidgets import QApplication

            QApplication.quit()

        self._setup_worker = run_with_progress(
            None, "LungRead — creating the demo trial",
            "Creating the demo trial (first run only): phantom CT scans, database, accounts, worklist…",
            work, on_success=lambda _r: self.show_login(), on_error=failed, on_cancel=cancelled,
        )

    # --- login / main window -------------------------------------------------------------------
    def show_login(self) -> None:
        from desktop.shell.login import LoginDialog

        self.login = LoginDialog(self.context)
        self.login.accepted.connect(self._signed_in)
        self.login.rejected.connect(self._login_closed)
        self.login.package_opened.connect(self.open_database)
        self.login.show()
        if os.environ.get(PROBE_ENV):
            QTimer.singleShot(0, self._probe)

    def _probe(self) -> None:
        from PySide6.QtWidgets import QApplication

        # Count until the window is really mapped and painted on the X server.
        handle = self.login.windowHandle() if self.login is not None else None
        deadline = time.perf_counter() + 5.0
        while handle is not None and not handle.isExposed() and time.perf_counter() < deadline:
            QApplication.processEvents()
        QApplication.processEvents()
        heavy = [m for m in ("vtkmodules", "sqlalchemy", "scipy") if m in sys.modules]
        print(f"login-shown {time.perf_counter() - _T0:.3f} heavy={','.join(heavy) or 'none'}",
              flush=True)
        QApplication.quit()

    def _login_closed(self) -> None:
        if self.main_window is None:
            from PySide6.QtWidgets import QApplication

            QApplication.quit()

    def _signed_in(self) -> None:
        from PySide6.QtWidgets import QApplication

        from desktop.shell.main_window import MainWindow

        self.main_window = MainWindow(self.context)
        self.main_window.signed_out.connect(self._signed_out)
        self.main_window.package_opened.connect(self.open_database)
        self.main_window.closed.connect(QApplication.quit)
        self.main_window.show()
        self.login = None

    def _signed_out(self) -> None:
        window = self.main_window
        self.main_window = None
        self.context.actor = None
        if window is not None:
            window.deleteLater()
        self.show_login()

    def open_database(self, url: str) -> None:
        """Leave the current database (the main window already closed itself) and sign in to ``url``,
        e.g. a reading package's database (File → Open reading package)."""
        window = self.main_window
        self.main_window = None
        if window is not None:
            window.deleteLater()
        if self.login is not None:  # opened from the login dialog: drop it without quitting
            old, self.login = self.login, None
            old.rejected.disconnect(self._login_closed)
            old.close()
            old.deleteLater()
        self.context = AppContext(url=url)
        self.show_login()


def launch(*, url: str | None = None, demo: bool = False, subjects: int = 8, visits: int = 4,
           seed: int = 0, reset: bool = False) -> int:
    """Run the application until the last window closes; returns the exit code."""
    app = create_application()
    install_exception_hook()
    app.setQuitOnLastWindowClosed(False)  # moving between login and main windows closes both briefly
    context = AppContext(url=url)
    launcher = Launcher(context, demo=demo, subjects=subjects, visits=visits, seed=seed, reset=reset)
    QTimer.singleShot(0, launcher.start)
    code = int(app.exec())
    from desktop.app.workers import stop_all
    from desktop.reading.segment_process import shutdown

    shutdown()  # terminates a running segmentation, so the workers below finish at once
    stop_all()
    launcher.login = launcher.main_window = None
    delete_all_windows()
    return code
