"""The reading workspace: three linked MPR views + 3D, tool palette, W/L bar, live metrics, read form.

Flow of one case: ``open_task`` asks ``db.services.open_task`` for the blinded case, loads the series
and restores the draft or runs the automatic segmentation in a worker (progress + Cancel), then
shows the views. Edits go through ``quant.editing.editor.MaskEditor`` (via ``viewer.widgets.tools.EditTools``);
metrics update incrementally. Drafts autosave every 30 s and on case switch; signing takes the
password again (e-signature) and the next case opens.

The workspace only ever sees the case code and the image location (``CaseView``): no subject,
visit, date, site or arm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from db import services
from db.services import AuthenticationError, PermissionDenied, ReadInput, WorkflowError
from desktop.app.application import describe_exception, remember_splitter, show_error
from desktop.app.session import AppContext
from desktop.app.workers import run_with_progress
from desktop.reading.autosave import Autosaver
from desktop.reading.case_loader import load_case
from desktop.reading.case_messages import ask_leave_unsaved, opening_messages, refusal_text
from desktop.reading.case_views import build_case_views
from desktop.reading.findings_panel import FindingsPanel
from desktop.reading.read_form import FormState, MetricsPanel, ReadForm
from desktop.reading.reference_view import ReferenceView, load_reference
from desktop.reading.segment_process import prewarm
from desktop.reading.shortcuts import install_shortcuts
from desktop.reading.sign_dialog import MEANING_READ, collect_signature
from desktop.reading.tool_palette import WindowLevelBar
from desktop.reading.tool_panel import ToolPanel
from desktop.reading.view_area import CaseViewArea, remember_view, remembered_view
from quant.measure import LesionComponent, lesion_list

if TYPE_CHECKING:
    from db.services import CaseView
    from desktop.app.workers import Worker
    from desktop.reading.case_loader import LoadedCase
    from desktop.reading.case_views import CaseViews
    from quant.editing.history import HistoryStep
    from quant.volume import Volume

__all__ = ["ReadingWorkspace"]

class ReadingWorkspace(QWidget):
    """One open reading task at a time."""

    back_requested = Signal()
    signed = Signal(int)  # task id
    status_message = Signal(str)
    case_opened = Signal(str)  # case code
    case_ready = Signal()  # views shown (after load + segmentation/restore)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("readingWorkspace")
        self.case: CaseView | None = None
        self.loaded: LoadedCase | None = None
        self.views: CaseViews | None = None
        self.read_only = False
        self.refusal: str | None = None  # why the service refuses changes to the open case (lock, ...)
        self._save_error = ""
        self.load_worker: Worker | None = None
        self._load_token = 0  # results of a superseded load are dropped
        self.autosaver = Autosaver(self._save_draft, self)
        self.autosaver.saved.connect(self._autosaved)
        self.autosaver.failed.connect(self._autosave_failed)
        self._build()
        self._shortcuts()
        prewarm()  # the first case opens without the helper's start-up time

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.case_title = QLabel("")
        self.case_title.setObjectName("caseTitle")
        self.wl_bar = WindowLevelBar()
        self.wl_bar.preset_selected.connect(self.apply_preset)
        back = QPushButton("◀ Worklist")
        back.setToolTip("Back to the worklist (the draft is saved)")
        back.clicked.connect(self.back_requested)
        top = QHBoxLayout()
        top.addWidget(back)
        top.addSpacing(12)
        top.addWidget(self.case_title)
        top.addSpacing(24)
        top.addWidget(self.wl_bar, 1)
        self.view_area = CaseViewArea()
        top.addWidget(self.view_area.layout_choice)

        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()

        self.tool_panel = ToolPanel(lambda: self.views)  # editing disabled while read-only
        self.palette, self.options, self.display = self.tool_panel.palette, self.tool_panel.options, \
            self.tool_panel.display
        self.findings = FindingsPanel(lambda: self.views)
        self.metrics = MetricsPanel()
        self.form = ReadForm()
        self.form.changed.connect(self.autosaver.mark_dirty)
        self.save_button = QPushButton("Save draft")
        self.save_button.setObjectName("saveDraft")
        self.save_button.setToolTip("Save a draft now (Ctrl+S); drafts also autosave every 30 s")
        self.save_button.clicked.connect(lambda: self.save_draft_now())
        self.sign_button = QPushButton("Sign…")
        self.sign_button.setObjectName("primary")
        self.sign_button.setToolTip("Sign this read with your password (Ctrl+Enter)")
        self.sign_button.clicked.connect(lambda: self.sign())
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.sign_button)

        side = QFrame()
        side.setObjectName("sidePanel")
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.tool_panel)
        side_layout.addWidget(self.findings)
        side_layout.addWidget(self.metrics)
        side_layout.addWidget(self.form)
        side_layout.addStretch(1)
        side_layout.addLayout(buttons)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(460)
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("workspaceSplitter")
        self.splitter.addWidget(self.view_area)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([1100, 330])
        remember_splitter(self.splitter, "workspace")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self._set_enabled(False)

    def _shortcuts(self) -> None:
        handlers: dict[str, Callable[[], object]] = {f"wl:{n}": (lambda n=n: self.apply_preset(n))
                                                     for n in ("lung", "mediastinum", "bone")}
        handlers.update(self.tool_panel.handlers(lambda: self.read_only))
        handlers.update({"undo": self.undo, "redo": self.redo,
                         "save": lambda: self.save_draft_now(), "sign": lambda: self.sign()})
        install_shortcuts(self, handlers)

    def _set_enabled(self, on: bool) -> None:
        editable = on and not self.read_only
        self.tool_panel.setEditable(editable)
        self.form.setEditable(editable)
        self.save_button.setEnabled(editable)
        self.sign_button.setEnabled(editable)
        self.wl_bar.setEnabled(on)
        self.display.setEnabled(on)

    # ------------------------------------------------------------------ open / close
    def open_task(self, task_id: int) -> None:
        """Open a task: fetch the blinded case, then load + segment (or restore) in a worker."""
        database = self.context.database()
        self.case = services.open_task(database, self.context.actor, task_id)
        lock = services.lock_status(database)
        self.refusal = None if lock is None else (
            f"the database was locked on {str(lock.locked_at).replace('T', ' ')[:19]} UTC by {lock.locked_by}")
        self.read_only = str(self.case.status) == "signed" or self.refusal is not None
        self.case_title.setText(f"Case {self.case.case_code}")
        self.case_opened.emit(self.case.case_code)
        self.banner.hide()
        self._set_enabled(False)
        self.tool_panel.reset_for_new_case()
        source = list(self.case.series_files) or self.case.series_dir
        draft, reference, opened = self.case.draft, self.case.reference, self.case

        def work(progress, cancelled):  # noqa: ANN001, ANN202
            # The images must still be the ones imported (reads every file: here, not on the GUI thread).
            services.check_case_images(opened.series_files, opened.content_hash, opened.case_code)
            if reference is not None:
                services.check_case_images(reference.series_files, reference.content_hash, reference.case_code)
            case = load_case(source, draft, progress, cancelled)
            found = lesion_list(case.lesions.labels, case.lungs.labels, case.volume.spacing)  # not on the GUI thread
            return case, (load_reference(reference, progress) if reference is not None else None), found

        self._load_token += 1
        token = self._load_token

        def loaded(result: tuple[LoadedCase, Volume | None, list[LesionComponent]]) -> None:
            if token == self._load_token and self.case is not None:  # not a case closed meanwhile
                self._loaded(*result)

        def cancelled() -> None:
            if token == self._load_token:
                self.back_requested.emit()

        self.load_worker = run_with_progress(
            self, f"Case {self.case.case_code}", "Loading images…", work,
            on_success=loaded, on_cancel=cancelled)

    def _loaded(self, loaded: LoadedCase, reference_volume: Volume | None = None,
                lesions: list[LesionComponent] | None = None) -> None:
        assert self.case is not None
        self.loaded = loaded
        self.views = build_case_views(loaded.volume, loaded.lungs, loaded.lesions,
                                      editable=not self.read_only, parent=self.view_area)
        self.view_area.show_views(self.views, self.case.reference, reference_volume,
                                  remembered_view(self.context, self.case.task_id))
        if self.views.tools is not None:
            self.views.tools.metricsChanged.connect(self.metrics.show_metrics)
            self.views.tools.stepRecorded.connect(self._step_recorded)
        self.tool_panel.apply_to(self.views)
        draft = self.case.draft
        self.findings.attach(self.views, draft.metrics if draft is not None else None, self.autosaver.mark_dirty,
                             lesions if lesions is not None else [])
        self.metrics.show_metrics(self.views.tracker.metrics)
        self.metrics.show_qc(loaded.qc_flags)
        self.form.set_state(FormState(
            normal_ct=getattr(draft, "normal_ct", None), confidence=getattr(draft, "confidence", None),
            comment=getattr(draft, "comment", "") or "",
            not_evaluable_reason=getattr(draft, "not_evaluable_reason", None)) if draft else FormState())
        self._set_enabled(True)
        messages = opening_messages(loaded, draft, self.read_only, self.refusal)
        if messages:
            self.banner.setText(" ".join(messages))
            self.banner.show()
            self.status_message.emit(messages[0])
        if not self.read_only:
            self.autosaver.start()  # no draft until the reader changes something
        # The progress dialog took the focus; give it back to the images so keys work at once.
        self.window().activateWindow()
        self.views.views["axial"].vtk_widget.setFocus()
        self.case_ready.emit()

    @property
    def reference(self) -> ReferenceView | None:
        """Sequential reading's baseline view beside the case, or None."""
        return self.view_area.reference

    def close_case(self) -> bool:
        """Save the draft (case switch), drop the views; False if saving failed and the user stays."""
        self._load_token += 1
        if self.load_worker is not None and self.load_worker.isRunning():
            self.load_worker.abandon()  # finishes in the background; its result is dropped
        if self.case is not None and not self.read_only and self.views is not None:
            # A refusal turns the case read-only (_autosave_failed): leaving is then always possible.
            if not self.autosaver.flush("switch") and not self.read_only \
                    and not ask_leave_unsaved(self, self._save_error or "unknown error"):
                return False
        self.autosaver.stop()
        state = self.view_area.view_state()
        if self.case is not None and state is not None:  # to come back to this slice and zoom
            remember_view(self.context, self.case.task_id, state)
        self.view_area.clear()
        self.views = None
        self.case = None
        self.loaded = None
        self._set_enabled(False)
        return True

    # ------------------------------------------------------------------ tools
    def apply_preset(self, name: str) -> None:
        if self.views is not None:
            self.views.apply_preset(name)
            self.wl_bar.mark(name)

    def undo(self) -> None:
        if self.views is not None and self.views.tools is not None and not self.read_only:
            self.views.tools.undo()

    def redo(self) -> None:
        if self.views is not None and self.views.tools is not None and not self.read_only:
            self.views.tools.redo()

    def _step_recorded(self, step: HistoryStep) -> None:
        self.autosaver.mark_dirty()
        self.findings.mark_out_of_date()
        self.status_message.emit(str(getattr(step, "label", "")))

    # ------------------------------------------------------------------ save / sign
    def read_input(self) -> ReadInput:
        """The ``db.services.ReadInput`` for the current masks, metrics and form."""
        state = self.form.state()
        metrics = self.views.tracker.metrics.as_dict() if self.views is not None else {}
        if self.loaded is not None and self.loaded.qc_flags:
            from quant.segment.qc import to_metrics  # lazy: quant.segment otherwise runs only in the helper

            metrics.update(to_metrics(self.loaded.qc_flags))
        if self.views is not None:
            metrics.update(self.findings.metric(self.views))
        return ReadInput(
            metrics=metrics,
            normal_ct=state.normal_ct,
            confidence=state.confidence,
            comment=state.comment,
            lung_labels=self.views.lungs.labels if self.views is not None else None,
            lesion_labels=self.views.lesions.labels if self.views is not None else None,
            algorithm_version=self.loaded.algorithm_version if self.loaded is not None else None,
            protocol_hash=self.loaded.protocol_hash if self.loaded is not None else None,
            not_evaluable_reason=state.not_evaluable_reason,
        )

    def _save_draft(self) -> int:
        return services.save_draft(self.context.database(), self.context.actor, self.case.task_id,
                                   self.read_input())

    def save_draft_now(self) -> int | None:
        if self.case is None or self.read_only or self.views is None:
            return None
        self.autosaver.dirty = True
        self.autosaver.flush("manual")
        return self.autosaver.last_revision

    def _autosaved(self, revision: int, reason: str) -> None:
        what = "Draft saved" if reason == "manual" else "Draft autosaved"
        self.status_message.emit(f"{what} (revision {revision}).")

    def _autosave_failed(self, exc: BaseException) -> None:
        what, _ = describe_exception(exc)
        self._save_error = what
        if isinstance(exc, (PermissionDenied, WorkflowError, AuthenticationError)):
            self._refused(what)  # saving will never succeed again: say so, and let the reader go
        else:
            self.status_message.emit(f"Draft could not be saved: {what}")

    def _refused(self, why: str) -> None:
        """The service refuses every change to this case now (database locked, account disabled,
        ...): stop editing, keep what was saved, and say so; every way out keeps working."""
        self.refusal = why
        self.autosaver.stop()
        self.palette.select_tool("navigate")
        self.read_only = True
        self._set_enabled(True)
        self.banner.setText(refusal_text(why, self.autosaver.last_revision))
        self.banner.show()
        self.status_message.emit(f"Read-only: {why}")

    def sign(self, password: str | None = None) -> bool:
        """Sign with the e-signature dialog (or ``password`` directly, for scripted use)."""
        if self.case is None or self.read_only or self.views is None:
            return False
        problem = self.form.problem()
        if problem is not None:
            show_error(self, problem, "Complete the read form, then sign again.", title="Sign read")
            return False
        metrics = self.views.tracker.metrics
        state = self.form.state()
        summary = (f"Case {self.case.case_code}: not evaluable ({state.not_evaluable_reason})"
                   if state.not_evaluable_reason else
                   f"Case {self.case.case_code}: lesion {metrics.lesion_pct:.2f} %, solid "
                   f"{metrics.solid_pct:.2f} %, normal CT: {'yes' if state.normal_ct else 'no'}.")
        database, actor, task_id, read = (self.context.database(), self.context.actor,
                                          self.case.task_id, self.read_input())
        signature = collect_signature(
            self, actor.username, summary, MEANING_READ,
            lambda pw, meaning: services.sign_read(database, actor, task_id, read, pw, meaning),
            password=password)
        if signature is None:
            return False
        task_id = self.case.task_id
        self.autosaver.stop()
        self.status_message.emit(f"Case {self.case.case_code} signed.")
        self.read_only = True
        self._set_enabled(True)
        self.signed.emit(task_id)  # last: the reader screen may open the next case right away
        return True
