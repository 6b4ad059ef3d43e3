"""Application-wide Qt setup: the QApplication, dark theme, remembered layout, error dialogs.

Kept free of VTK, SQLAlchemy and scipy imports so the login dialog appears fast; the heavy packages
load only when a screen that needs them is built.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from importlib import resources
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox, QSplitter, QWidget

from quant.errors import LungReadError

__all__ = [
    "APP_NAME",
    "create_application",
    "fit_to_screen",
    "set_text_scale",
    "step_text_scale",
    "text_scale",
    "delete_all_windows",
    "apply_dark_theme",
    "settings",
    "data_dir",
    "restore_geometry",
    "save_geometry",
    "remember_splitter",
    "show_error",
    "install_exception_hook",
    "describe_exception",
]

APP_NAME = "LungRead"
ORG_NAME = "LungRead"
log = logging.getLogger("lungread.desktop")


def data_dir() -> Path:
    """The user data folder (same rule as ``db.default_data_dir``, without importing SQLAlchemy).

    ``LUNGREAD_DATA_DIR`` wins over the platform folder so tests and demos stay isolated.
    """
    env = os.environ.get("LUNGREAD_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, ORG_NAME))


def settings() -> QSettings:
    """QSettings for window geometry and layout, stored next to the user data.

    An INI file under the data folder (rather than the platform registry) keeps test runs and
    demo folders from sharing layouts.
    """
    path = data_dir() / "settings.ini"
    return QSettings(str(path), QSettings.Format.IniFormat)


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style, a dark palette (for widgets the stylesheet misses) and ``resources/dark.qss``."""
    app.setStyle("Fusion")
    pal = QPalette()
    base, window, text = QColor("#141517"), QColor("#1e1f22"), QColor("#d8dade")
    pal.setColor(QPalette.ColorRole.Window, window)
    pal.setColor(QPalette.ColorRole.WindowText, text)
    pal.setColor(QPalette.ColorRole.Base, base)
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor("#1c1d21"))
    pal.setColor(QPalette.ColorRole.Text, text)
    pal.setColor(QPalette.ColorRole.Button, QColor("#2c2e33"))
    pal.setColor(QPalette.ColorRole.ButtonText, text)
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor("#2b2d31"))
    pal.setColor(QPalette.ColorRole.ToolTipText, text)
    pal.setColor(QPalette.ColorRole.Highlight, QColor("#2f6db5"))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor("#6b6e75"))
    app.setPalette(pal)
    app.setStyleSheet(_scaled_stylesheet(text_scale()))


TEXT_SCALES = (0.85, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0)


def text_scale() -> float:
    """The reader's text size, a factor of the stylesheet's point sizes (settings ``ui/text_scale``)."""
    try:
        value = float(settings().value("ui/text_scale", 1.0))
    except (TypeError, ValueError):
        return 1.0
    return value if TEXT_SCALES[0] <= value <= TEXT_SCALES[-1] else 1.0


def _scaled_stylesheet(scale: float) -> str:
    import re

    qss = resources.files("resources").joinpath("dark.qss").read_text(encoding="utf-8")
    return re.sub(r"(\d+(?:\.\d+)?)pt", lambda m: f"{float(m.group(1)) * scale:.1f}pt", qss)


def set_text_scale(scale: float) -> float:
    """Change every text's size to ``scale`` (clamped to :data:`TEXT_SCALES`), remembered for the
    next start; returns the scale in effect."""
    scale = min(max(float(scale), TEXT_SCALES[0]), TEXT_SCALES[-1])
    s = settings()
    s.setValue("ui/text_scale", scale)
    s.sync()
    app = QApplication.instance()
    if app is not None:
        app.setStyleSheet(_scaled_stylesheet(scale))  # type: ignore[union-attr]
    return scale


def step_text_scale(steps: int) -> float:
    """One step larger (+1) or smaller (-1) along :data:`TEXT_SCALES`; 0 resets to 1.0."""
    if steps == 0:
        return set_text_scale(1.0)
    now = text_scale()
    index = min(range(len(TEXT_SCALES)), key=lambda i: abs(TEXT_SCALES[i] - now))
    return set_text_scale(TEXT_SCALES[min(max(index + steps, 0), len(TEXT_SCALES) - 1)])


def fit_to_screen(window: QWidget) -> None:
    """Keep a top-level window inside its screen's available area (any scale factor): a stored or
    default size larger than the screen shrinks to fit, and the window moves fully on screen."""
    screen = window.screen() or QApplication.primaryScreen()
    if screen is None:
        return
    area = screen.availableGeometry()
    frame = window.frameGeometry()
    extra_w, extra_h = frame.width() - window.width(), frame.height() - window.height()
    width = min(window.width(), area.width() - extra_w)
    height = min(window.height(), area.height() - extra_h)
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    x = min(max(window.x(), area.left()), area.right() - width - extra_w + 1)
    y = min(max(window.y(), area.top()), area.bottom() - height - extra_h + 1)
    if (x, y) != (window.x(), window.y()):
        window.move(x, y)


def create_application(argv: list[str] | None = None) -> QApplication:
    """Return the QApplication (creating it if needed), themed and named."""
    app = QApplication.instance()
    if app is None:
        QApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationDisplayName(APP_NAME)
    apply_dark_theme(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


def delete_all_windows() -> None:
    """Delete every window while the application object still exists, in Qt's order (children
    with their parents), so nothing is left for the interpreter's shutdown to destroy in its own
    order: that left PySide deleting objects Qt still referenced ("shared QObject was deleted
    directly", then a segmentation fault on every exit). Called when the event loop has ended and
    the process is about to exit."""
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    app = QApplication.instance()
    if app is None:
        return
    for widget in QApplication.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    # What is still reachable are Python wrappers of widgets Qt has now deleted, held by closures
    # (signal lambdas). PySide's dealloc of such wrappers in the interpreter's final garbage
    # collection aborted with "bool_dealloc" (a refcount bug in the bindings). The process is
    # about to end: freeze them so that collection leaves them alone.
    gc.freeze()


# --- remembered geometry / layout -------------------------------------------------------------


def restore_geometry(widget: QWidget, key: str) -> bool:
    """Restore a window's geometry and the state of its named splitters; True if something was stored."""
    s = settings()
    geom = s.value(f"{key}/geometry")
    restored = False
    if isinstance(geom, QByteArray) and not geom.isEmpty():
        restored = widget.restoreGeometry(geom)
    for splitter in widget.findChildren(QSplitter):
        name = splitter.objectName()
        if not name:
            continue
        state = s.value(f"{key}/splitter/{name}")
        if isinstance(state, QByteArray) and not state.isEmpty():
            splitter.restoreState(state)
    return restored


def save_geometry(widget: QWidget, key: str) -> None:
    """Store a window's geometry and the state of its named splitters."""
    s = settings()
    s.setValue(f"{key}/geometry", widget.saveGeometry())
    for splitter in widget.findChildren(QSplitter):
        if splitter.objectName():
            s.setValue(f"{key}/splitter/{splitter.objectName()}", splitter.saveState())
    s.sync()


def remember_splitter(splitter: QSplitter, key: str) -> None:
    """Restore a splitter's sizes now and store them whenever the user moves it."""
    state = settings().value(f"{key}/splitter/{splitter.objectName()}")
    if isinstance(state, QByteArray) and not state.isEmpty():
        splitter.restoreState(state)

    def store(*_args: object) -> None:
        s = settings()
        s.setValue(f"{key}/splitter/{splitter.objectName()}", splitter.saveState())
        s.sync()

    splitter.splitterMoved.connect(store)


# --- errors ------------------------------------------------------------------------------------


def describe_exception(exc: BaseException) -> tuple[str, str]:
    """(what happened, what to do) in plain words for an exception; never a traceback."""
    if isinstance(exc, LungReadError):
        return str(exc), "Correct the problem described above and try again."
    if isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError)):
        return (
            f"A file or folder could not be found: {exc.filename or exc}",
            "Check that the path exists and is reachable, then try again.",
        )
    if isinstance(exc, PermissionError):
        return (
            f"Access was refused to {exc.filename or 'a file'}.",
            "Check the file permissions or choose another location.",
        )
    if isinstance(exc, MemoryError):
        return (
            "The computer ran out of memory.",
            "Close other programs and try again; your drafts are autosaved.",
        )
    name = type(exc).__name__
    return (
        f"An unexpected internal error occurred ({name}: {exc}).",
        "Your work is autosaved as a draft. Restart LungRead if the problem repeats, and send the "
        f"log file {log_path()} to your core-lab support.",
    )


def log_path() -> Path:
    return data_dir() / "lungread.log"


def show_error(parent: QWidget | None, what: str, todo: str, *, title: str = "LungRead",
               modal: bool = True) -> QMessageBox:
    """A plain error dialog: what happened, what to do. ``modal=False`` returns without waiting."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(what)
    box.setInformativeText(todo)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setObjectName("errorDialog")
    if modal:
        box.exec()
    else:
        # Keep a reference until it closes: a parentless box would otherwise be collected at once.
        _open_boxes.append(box)
        box.finished.connect(lambda _r, b=box: _open_boxes.remove(b) if b in _open_boxes else None)
        box.open()
    return box


_open_boxes: list[QMessageBox] = []


def show_exception(parent: QWidget | None, exc: BaseException, *, modal: bool = True) -> QMessageBox:
    what, todo = describe_exception(exc)
    return show_error(parent, what, todo, modal=modal)


def _write_log(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc_type, exc, tb)))
    except OSError:  # logging must never raise from inside the hook
        pass


def install_exception_hook() -> None:
    """Route uncaught exceptions (from slots and event handlers) to a plain error dialog.

    The traceback goes to the log file only; the user sees what happened and what to do. The
    dialog is opened non-blocking so a burst of errors cannot stack nested event loops.
    """

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        _write_log(exc_type, exc, tb)
        if QApplication.instance() is None:
            sys.__excepthook__(exc_type, exc, tb)
            return
        parent = QApplication.activeWindow()
        show_exception(parent if parent is not None and parent.isVisible() else None, exc, modal=False)

    sys.excepthook = hook
