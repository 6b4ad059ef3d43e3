"""The adjudicator's screen: queue of discordant pairs, Read A / Read B side by side, decision.

The two reads of one scan are shown as anonymous "Read A" and "Read B" (the order is random and
stored by ``db``): the same CT with each read's masks and metrics, scrolling/crosshair/window
linked between the two. *Select A* / *Select B* sign that read as the result; *Read myself* opens
the editing tools on a copy of the masks and signs the adjudicator's own read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from db import services
from db.services import ReadInput
from desktop.app.application import remember_splitter, show_error
from desktop.app.session import AppContext
from desktop.app.workers import run_with_progress
from desktop.reading.case_loader import load_volume
from desktop.reading.case_views import build_case_views
from desktop.reading.read_form import FormState, MetricsPanel, ReadForm
from desktop.reading.sign_dialog import MEANING_ADJUDICATION, collect_signature
from desktop.reading.tool_palette import ToolPalette, WindowLevelBar
from quant.labels import LesionMasks, LungMasks

if TYPE_CHECKING:
    from db.services import AdjudicationDecision, AdjudicationView, ReadView
    from desktop.app.workers import Worker
    from desktop.reading.case_views import CaseViews
    from quant.volume import Volume
    from viewer.scene.layers import ViewerLayers
    from viewer.widgets.slice_view import SliceView

__all__ = ["AdjudicationScreen"]


def _read_summary(read: ReadView) -> str:
    if read.not_evaluable_reason:
        return f"Not evaluable: {read.not_evaluable_reason}"
    normal = {True: "yes", False: "no"}.get(read.normal_ct, "—")
    text = f"Normal CT: {normal}   Confidence: {read.confidence or '—'}"
    if read.comment:
        text += f"\nComment: {read.comment}"
    return text


class _ReadPanel(QFrame):
    """One read: title, a slice view over its masks, its metrics and call."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("readPanel")
        self.title = QLabel(title)
        self.title.setObjectName("caseTitle")
        self.view_holder = QVBoxLayout()
        self.metrics = MetricsPanel()
        self.call = QLabel("")
        self.call.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addLayout(self.view_holder, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.metrics, 1)
        bottom.addWidget(self.call, 1)
        layout.addLayout(bottom)
        self.view: SliceView | None = None
        self.layers: ViewerLayers | None = None


class AdjudicationScreen(QWidget):
    status_message = Signal(str)
    title_changed = Signal(str)
    decided = Signal(int)
    case_ready = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("adjudicationScreen")
        self.view_data: AdjudicationView | None = None
        self.volume: Volume | None = None
        self.own: CaseViews | None = None  # the adjudicator's own read
        self.worker: Worker | None = None

        self.queue = QListWidget()
        self.queue.setObjectName("adjudicationQueue")
        self.queue.setMaximumWidth(220)
        self.queue.itemDoubleClicked.connect(lambda item: self.open_adjudication(item.data(Qt.ItemDataRole.UserRole)))
        queue_box = QVBoxLayout()
        heading = QLabel("Queue")
        heading.setObjectName("caseTitle")
        queue_box.addWidget(heading)
        queue_box.addWidget(self.queue, 1)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        queue_box.addWidget(refresh)

        self.header = QLabel("Double-click a case in the queue.")
        self.header.setObjectName("caseTitle")
        self.wl_bar = WindowLevelBar()
        self.wl_bar.preset_selected.connect(self.apply_preset)
        self.orientation = QComboBox()
        self.orientation.addItems(["axial", "coronal", "sagittal"])
        self.orientation.currentTextChanged.connect(lambda _t: self._show_pair())
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.orientation)
        top.addWidget(self.wl_bar)

        self.panel_a = _ReadPanel("Read A")
        self.panel_b = _ReadPanel("Read B")
        pair = QSplitter(Qt.Orientation.Horizontal)
        pair.setObjectName("adjudicationSplitter")
        pair.addWidget(self.panel_a)
        pair.addWidget(self.panel_b)
        remember_splitter(pair, "adjudication")
        self.select_a = QPushButton("Select A")
        self.select_b = QPushButton("Select B")
        self.read_myself = QPushButton("Read myself")
        for b, name, tip in ((self.select_a, "selectA", "Sign Read A as the result of this case"),
                             (self.select_b, "selectB", "Sign Read B as the result of this case"),
                             (self.read_myself, "readMyself", "Correct the masks yourself and sign your own read")):
            b.setObjectName(name)
            b.setToolTip(tip)
            b.setMinimumWidth(120)
        self.select_a.clicked.connect(lambda: self.decide("A"))
        self.select_b.clicked.connect(lambda: self.decide("B"))
        self.read_myself.clicked.connect(self.start_own_read)
        decision = QHBoxLayout()
        decision.addStretch(1)
        decision.addWidget(self.select_a)
        decision.addWidget(self.select_b)
        decision.addWidget(self.read_myself)
        compare = QWidget()
        cl = QVBoxLayout(compare)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(pair, 1)
        cl.addLayout(decision)

        self.own_page = QWidget()
        self.own_views_holder = QVBoxLayout()
        self.palette = ToolPalette()
        self.own_metrics = MetricsPanel()
        self.own_form = ReadForm()
        self.sign_own = QPushButton("Sign my read…")
        self.sign_own.setObjectName("primary")
        self.sign_own.clicked.connect(lambda: self.decide("own"))
        back = QPushButton("Back to comparison")
        back.clicked.connect(lambda: self.pages.setCurrentIndex(0))
        side = QFrame()
        side.setObjectName("sidePanel")
        side.setMaximumWidth(360)
        sl = QVBoxLayout(side)
        for w in (self.palette, self.own_metrics, self.own_form):
            sl.addWidget(w)
        sl.addStretch(1)
        sl.addWidget(back)
        sl.addWidget(self.sign_own)
        ol = QHBoxLayout(self.own_page)
        ol.setContentsMargins(0, 0, 0, 0)
        ol.addLayout(self.own_views_holder, 1)
        ol.addWidget(side)
        self.palette.bind(lambda: self.own)

        self.pages = QStackedWidget()
        self.pages.addWidget(compare)
        self.pages.addWidget(self.own_page)

        # Why: required with every decision (the service refuses one without), on both pages.
        self.reason = QComboBox()
        self.reason.setObjectName("adjudicationReason")
        self.reason.addItem("— reason —", None)
        for text in services.ADJUDICATION_REASONS:
            self.reason.addItem(text, text)
        self.rationale = QLineEdit()
        self.rationale.setObjectName("adjudicationRationale")
        self.rationale.setPlaceholderText("Rationale (required): why this read is the result")
        self.rationale.setMaxLength(2000)
        why = QHBoxLayout()
        why.addWidget(QLabel("Why"))
        why.addWidget(self.reason)
        why.addWidget(self.rationale, 1)

        right = QVBoxLayout()
        right.addLayout(top)
        right.addLayout(why)
        right.addWidget(self.pages, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(queue_box)
        layout.addLayout(right, 1)
        self._enable(False)
        QTimer.singleShot(0, self.refresh)

    def about_to_leave(self) -> bool:
        """Release the VTK render windows (sign-out / close); nothing to save here."""
        self._close_views()
        return True

    def _close_pair(self) -> None:
        for panel in (self.panel_a, self.panel_b):
            if panel.view is not None:
                panel.view.close_vtk()
                panel.view.hide()
                panel.view.deleteLater()
                panel.view = None

    def _close_views(self) -> None:
        self._close_pair()
        if self.own is not None:
            self.own.close()
            self.own = None

    def _enable(self, on: bool) -> None:
        for w in (self.select_a, self.select_b, self.read_myself, self.wl_bar, self.orientation, self.reason,
                  self.rationale):
            w.setEnabled(on)

    def refresh(self) -> None:
        self.queue.clear()
        for item in services.adjudication_queue(self.context.database(), self.context.actor):
            entry = QListWidgetItem(f"{item.case_code}   ({item.status})")
            entry.setData(Qt.ItemDataRole.UserRole, int(item.adjudication_id))
            self.queue.addItem(entry)

    # ------------------------------------------------------------------ open
    def open_adjudication(self, adj_id: int) -> None:
        self.view_data = services.open_adjudication(self.context.database(), self.context.actor, adj_id)
        v = self.view_data
        self.header.setText(f"Case {v.case_code} — discordant: {v.trigger}")
        self.title_changed.emit(f"Case {v.case_code}")
        source = list(v.series_files) or v.series_dir

        def work(progress, cancelled):  # noqa: ANN001, ANN202
            services.check_case_images(v.series_files, v.content_hash, v.case_code)  # still the imported images
            return load_volume(source, progress)

        self.worker = run_with_progress(self, f"Case {v.case_code}", "Loading images…", work, on_success=self._loaded)

    def _loaded(self, volume: Volume) -> None:
        self.volume = volume
        v = self.view_data
        for panel, read in ((self.panel_a, v.read_a), (self.panel_b, v.read_b)):
            panel.metrics.show_metrics(_MetricsView(read.metrics))
            panel.call.setText(_read_summary(read))
        self.pages.setCurrentIndex(0)
        self._show_pair()
        self._enable(v.status == "open")
        self.case_ready.emit()

    def _masks(self, read: ReadView) -> tuple[LungMasks, LesionMasks]:
        shape = self.volume.shape
        lung = read.lung_labels if read.lung_labels is not None else np.zeros(shape, np.uint8)
        lesion = read.lesion_labels if read.lesion_labels is not None else np.zeros(shape, np.uint8)
        return LungMasks(np.array(lung, dtype=np.uint8)), LesionMasks(np.array(lesion, dtype=np.uint8))

    def _show_pair(self) -> None:
        if self.volume is None or self.view_data is None:
            return
        # Lazy: VTK loads only when a case is shown.
        from viewer.scene.layers import ViewerLayers
        from viewer.widgets.slice_view import SliceView

        orientation = self.orientation.currentText()
        self._close_pair()
        for panel, read in ((self.panel_a, self.view_data.read_a), (self.panel_b, self.view_data.read_b)):
            lungs, lesions = self._masks(read)
            panel.layers = ViewerLayers(self.volume, lungs, lesions)
            panel.view = SliceView(panel.layers, orientation)
            panel.view.setObjectName(f"view_{panel.title.text().replace(' ', '')}")
            panel.view_holder.addWidget(panel.view)
            panel.view.set_slice(self.volume.shape[panel.view.scene.axes.slice_axis] // 2)
        a, b = self.panel_a.view, self.panel_b.view
        for src, dst in ((a, b), (b, a)):
            src.sliceChanged.connect(lambda i, d=dst: d.set_slice(i))
            src.crosshairRequested.connect(lambda p, d=dst, s=src: (s.set_crosshair(p), d.set_crosshair(p)))
            src.windowLevelChanged.connect(
                lambda lvl, wid, d=dst: d.scene.window_level != (lvl, wid) and d.set_window_level(lvl, wid))

    def apply_preset(self, name: str) -> None:
        from viewer.scene.display import display_settings  # lazy: viewer (VTK) only once a case is shown

        preset = display_settings().presets[name]
        for panel in (self.panel_a, self.panel_b):
            if panel.view is not None:
                panel.view.set_window_level(preset.level, preset.width)
        if self.own is not None:
            self.own.apply_preset(name)
        self.wl_bar.mark(name)

    # ------------------------------------------------------------------ own read
    def start_own_read(self) -> None:
        """Open the editing tools on a copy of Read A's masks."""
        if self.own is not None:
            self.own.close()
        lungs, lesions = self._masks(self.view_data.read_a)
        self.own = build_case_views(self.volume, lungs, lesions, editable=True, parent=self.own_page)
        self.own_views_holder.addWidget(self.own.widget)
        self.own.tools.metricsChanged.connect(self.own_metrics.show_metrics)
        self.palette.apply_to(self.own)
        self.own_metrics.show_metrics(self.own.tracker.metrics)
        self.own_form.set_state(FormState())
        self.pages.setCurrentIndex(1)

    # ------------------------------------------------------------------ decide
    def decide(self, choice: str, password: str | None = None) -> AdjudicationDecision | None:
        """Sign choice "A", "B" or "own" (e-signature dialog unless ``password`` is given)."""
        v = self.view_data
        own = None
        if choice == "own":
            problem = self.own_form.problem()
            if problem is not None:
                show_error(self, problem, "Complete the read form, then sign again.")
                return None
            s = self.own_form.state()
            own = ReadInput(metrics=self.own.tracker.metrics.as_dict(), normal_ct=s.normal_ct,
                            confidence=s.confidence, comment=s.comment,
                            lung_labels=self.own.lungs.labels, lesion_labels=self.own.lesions.labels,
                            algorithm_version=v.read_a.algorithm_version, protocol_hash=v.read_a.protocol_hash,
                            not_evaluable_reason=s.not_evaluable_reason)
        reason, rationale = self.reason.currentData(), self.rationale.text().strip()
        if reason is None or not rationale:
            show_error(self, "Give the reason and the rationale of your decision.",
                       "Both are kept with the decision and in the audit trail.")
            return None
        what = {"A": "Select Read A", "B": "Select Read B", "own": "Sign my own read"}[choice]
        database, actor = self.context.database(), self.context.actor
        decision = collect_signature(
            self, actor.username, f"Case {v.case_code}: {what} as the result.", MEANING_ADJUDICATION,
            lambda pw, meaning: services.decide_adjudication(database, actor, v.adjudication_id, choice,
                                                             pw, meaning, own=own, reason=reason,
                                                             rationale=rationale),
            password=password)
        if decision is None:
            return None
        self.status_message.emit(f"Case {v.case_code}: decision signed ({what}).")
        self.reason.setCurrentIndex(0)
        self.rationale.clear()
        self._enable(False)
        self.pages.setCurrentIndex(0)
        self.refresh()
        self.decided.emit(int(v.adjudication_id))
        return decision


class _MetricsView:
    """Attribute access over a stored metrics dict, for :class:`MetricsPanel`."""

    def __init__(self, metrics: dict[str, Any]) -> None:
        self._m = metrics or {}

    def __getattr__(self, name: str) -> Any:
        return self._m.get(name)
