"""Where the reading workspace shows a case's images: the views (or a placeholder), the layout
choice, the sequential-reading reference beside them, and where the reader left each case.

The workspace owns the case (:class:`desktop.reading.case_views.CaseViews`); this widget only
places its viewer, keeps the reader's layout from case to case, and brings a case opened again
back to its slice and zoom (:func:`remember_view`, kept in the user settings per database and task).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFrame, QLabel, QVBoxLayout, QWidget

from desktop.reading.reference_view import ReferenceView

if TYPE_CHECKING:
    from db.services import ReferenceCase
    from desktop.app.session import AppContext
    from desktop.reading.case_views import CaseViews
    from quant.volume import Volume

__all__ = ["CaseViewArea", "remember_view", "remembered_view"]

_LAYOUTS = (("2x2", "2 × 2 views"), ("1x3", "3 views in a row"), ("1x1", "one view"))


class CaseViewArea(QFrame):
    """The black image area; ``layout_choice`` is the combo box the workspace puts in its bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewArea")
        self.setStyleSheet("QFrame#viewArea { background-color: #000000; }")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.placeholder = QLabel("No case open")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self.placeholder)
        self.views: CaseViews | None = None
        self.reference: ReferenceView | None = None  # sequential reading's baseline view
        self.layout_choice = QComboBox()
        self.layout_choice.setObjectName("viewLayout")
        for name, text in _LAYOUTS:
            self.layout_choice.addItem(text, name)
        self.layout_choice.setToolTip("View layout (double-click or F in a view: that view alone, and back)")
        self.layout_choice.currentIndexChanged.connect(
            lambda _i: self.views is not None and self.views.widget.set_layout(self.layout_choice.currentData()))

    def show_views(self, views: CaseViews, reference: ReferenceCase | None = None,
                   reference_volume: Volume | None = None, saved_state: dict | None = None) -> None:
        """Show a case's viewer (with the baseline on its left under sequential reading) in the
        reader's layout, at ``saved_state`` (a viewer view state) when the case was open before."""
        self.clear()
        self.placeholder.hide()
        self.views = views
        if reference is not None and reference_volume is not None:
            self.reference = ReferenceView(reference, reference_volume)
            views.add_beside(self.reference)
            self.reference.follow(views.views["axial"])
        self._layout.addWidget(views.container)
        views.widget.set_layout(self.layout_choice.currentData())  # the reader's layout carries over
        if saved_state is not None:
            views.widget.restore_view_state(saved_state)
        views.widget.layoutChanged.connect(self._layout_shown)

    def view_state(self) -> dict | None:
        """The shown viewer's view state (crosshair, slices, zoom, layout), or None."""
        return self.views.widget.view_state() if self.views is not None else None

    def clear(self) -> None:
        """Close the shown views (VTK windows first) and show the placeholder."""
        if self.reference is not None:
            self.reference.close_vtk()
            self.reference = None
        if self.views is not None:
            self.views.close()
            self.views = None
        self.placeholder.show()

    def _layout_shown(self, name: str) -> None:
        self.layout_choice.blockSignals(True)
        self.layout_choice.setCurrentIndex(self.layout_choice.findData(name))
        self.layout_choice.blockSignals(False)


def _view_key(context: AppContext, task_id: int) -> str:
    import hashlib

    database = hashlib.sha256(str(context.url).encode("utf-8")).hexdigest()[:16]
    return f"case_view/{database}/{int(task_id)}"


def remember_view(context: AppContext, task_id: int, state: dict) -> None:
    """Keep where the reader left a case (the viewer's view state) in the user settings."""
    import json

    from desktop.app.application import settings

    store = settings()
    store.setValue(_view_key(context, task_id), json.dumps(state))
    store.sync()


def remembered_view(context: AppContext, task_id: int) -> dict | None:
    """The view state :func:`remember_view` kept for this case of this database, or None."""
    import json

    from desktop.app.application import settings

    text = settings().value(_view_key(context, task_id))
    try:
        state = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return state if isinstance(state, dict) else None
