"""Side-panel widgets of the reading workspace: live metrics, the read form, Not evaluable.

Numbers come from ``quant.metrics`` (the workspace feeds them); the form only collects the
reader's call. Nothing here knows about the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from quant.metrics import Metrics
    from quant.segment.qc import QCFlag

__all__ = ["MetricsPanel", "ReadForm", "FormState", "NOT_EVALUABLE_REASONS"]

NOT_EVALUABLE_REASONS: tuple[str, ...] = (
    "Motion artefact",
    "Wrong series (not a chest CT)",
    "Incomplete lung coverage",
    "Severe noise or artefact",
    "Contrast or reconstruction unsuitable",
    "Other (see comment)",
)

# (Metrics field, display name, unit, format)
_METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("lesion_pct", "Lesion", "% of lung", "{:.2f}"),
    ("solid_pct", "Solid", "% of lung", "{:.2f}"),
    ("lung_ml", "Lung volume", "mL", "{:.0f}"),
    ("ggo_ml", "Ground-glass", "mL", "{:.1f}"),
    ("solid_ml", "Solid", "mL", "{:.1f}"),
)


class MetricsPanel(QGroupBox):
    """Live lesion %, solid %, lung mL (plus GGO / solid mL) of the current masks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Metrics", parent)
        self.setObjectName("metricsPanel")
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        for row, (key, name, unit, _fmt) in enumerate(_METRICS):
            label = QLabel(name)
            label.setObjectName("metricName")
            value = QLabel("—")
            value.setObjectName("metricValue" if row < 3 else "metricSmall")
            value.setProperty("metric", key)
            unit_label = QLabel(unit)
            unit_label.setObjectName("metricName")
            grid.addWidget(label, row, 0)
            grid.addWidget(value, row, 1)
            grid.addWidget(unit_label, row, 2)
            self.values[key] = value
        self.suggestion = QLabel("")
        self.suggestion.setObjectName("metricName")
        self.suggestion.setWordWrap(True)
        grid.addWidget(self.suggestion, len(_METRICS), 0, 1, 3)
        # Quality-control flags of the automatic result: when its numbers cannot be trusted.
        self.qc = QLabel("")
        self.qc.setObjectName("qcFlags")
        self.qc.setWordWrap(True)
        self.qc.hide()
        grid.addWidget(self.qc, len(_METRICS) + 1, 0, 1, 3)

    def show_qc(self, flags: Iterable[QCFlag] | None) -> None:
        """Show the automatic result's QC flags (``quant.segment.qc.QCFlag``; empty: hide)."""
        flags = tuple(flags or ())
        self.qc.setText("\n".join(f"⚠ {f.message}" for f in flags))
        self.qc.setToolTip("Quality control of the automatic segmentation: "
                           + ", ".join(f.code for f in flags))
        self.qc.setVisible(bool(flags))

    def show_metrics(self, metrics: Metrics | None) -> None:
        """Display a ``quant.metrics.Metrics`` (or None to clear)."""
        for key, _name, _unit, fmt in _METRICS:
            value = None if metrics is None else getattr(metrics, key, None)
            self.values[key].setText("—" if value is None else fmt.format(value))
        if metrics is None:
            self.suggestion.setText("")
        else:
            normal = getattr(metrics, "suggested_normal", False)
            self.suggestion.setText("Suggestion: normal CT" if normal else "Suggestion: abnormal CT")

    def text_of(self, key: str) -> str:
        return self.values[key].text()


@dataclass
class FormState:
    """What the reader entered. ``normal_ct``/``confidence`` None when not answered."""

    normal_ct: bool | None = None
    confidence: int | None = None
    comment: str = ""
    not_evaluable_reason: str | None = None


class ReadForm(QGroupBox):
    """Normal CT yes/no, confidence 1–5, comment; or Not evaluable with a reason and comment."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Read", parent)
        self.setObjectName("readForm")
        self.normal_yes = QRadioButton("Yes")
        self.normal_yes.setObjectName("normalYes")
        self.normal_no = QRadioButton("No")
        self.normal_no.setObjectName("normalNo")
        for radio in (self.normal_yes, self.normal_no):  # never squeezed to "Nc" in a narrow panel
            radio.setMinimumWidth(radio.sizeHint().width())
        self._normal_group = QButtonGroup(self)
        self._normal_group.addButton(self.normal_yes)
        self._normal_group.addButton(self.normal_no)
        normal_row = QHBoxLayout()
        normal_row.addWidget(QLabel("Normal CT"))
        normal_row.addStretch(1)
        normal_row.addWidget(self.normal_yes)
        normal_row.addWidget(self.normal_no)

        self.confidence = QComboBox()
        self.confidence.setObjectName("confidence")
        self.confidence.addItem("— choose —", None)
        for level, text in ((1, "1 — very low"), (2, "2 — low"), (3, "3 — moderate"),
                            (4, "4 — high"), (5, "5 — very high")):
            self.confidence.addItem(text, level)
        conf_row = QHBoxLayout()
        conf_row.addWidget(QLabel("Confidence"))
        conf_row.addWidget(self.confidence, 1)

        self.comment = QPlainTextEdit()
        self.comment.setObjectName("comment")
        self.comment.setPlaceholderText("Comment (optional)")
        self.comment.setMaximumHeight(70)

        self.not_evaluable = QCheckBox("Not evaluable")
        self.not_evaluable.setObjectName("notEvaluable")
        self.not_evaluable.setToolTip("Sign this scan as not evaluable instead of reading it; the "
                                      "endpoint is then missing with the reason given")
        self.reason = QComboBox()
        self.reason.setObjectName("notEvaluableReason")
        self.reason.addItems(NOT_EVALUABLE_REASONS)
        self.reason.setEnabled(False)
        self.not_evaluable.toggled.connect(self._toggle_not_evaluable)

        layout = QVBoxLayout(self)
        layout.addLayout(normal_row)
        layout.addLayout(conf_row)
        layout.addWidget(self.comment)
        layout.addWidget(self.not_evaluable)
        layout.addWidget(self.reason)
        for signal in (self.normal_yes.toggled, self.normal_no.toggled,
                       self.confidence.currentIndexChanged, self.comment.textChanged,
                       self.not_evaluable.toggled, self.reason.currentIndexChanged):
            signal.connect(lambda *_: self.changed.emit())

    def _toggle_not_evaluable(self, on: bool) -> None:
        self.reason.setEnabled(on)
        for w in (self.normal_yes, self.normal_no, self.confidence):
            w.setEnabled(not on)

    def state(self) -> FormState:
        normal = True if self.normal_yes.isChecked() else False if self.normal_no.isChecked() else None
        return FormState(
            normal_ct=None if self.not_evaluable.isChecked() else normal,
            confidence=None if self.not_evaluable.isChecked() else self.confidence.currentData(),
            comment=self.comment.toPlainText().strip(),
            not_evaluable_reason=self.reason.currentText() if self.not_evaluable.isChecked() else None,
        )

    def set_state(self, state: FormState) -> None:
        self.blockSignals(True)
        self._normal_group.setExclusive(False)
        self.normal_yes.setChecked(state.normal_ct is True)
        self.normal_no.setChecked(state.normal_ct is False)
        self._normal_group.setExclusive(True)
        index = self.confidence.findData(state.confidence) if state.confidence is not None else 0
        self.confidence.setCurrentIndex(max(index, 0))
        self.comment.setPlainText(state.comment or "")
        self.not_evaluable.setChecked(state.not_evaluable_reason is not None)
        if state.not_evaluable_reason is not None:
            i = self.reason.findText(state.not_evaluable_reason)
            if i < 0:
                self.reason.addItem(state.not_evaluable_reason)
                i = self.reason.count() - 1
            self.reason.setCurrentIndex(i)
        self.blockSignals(False)

    def problem(self) -> str | None:
        """Why the form cannot be signed yet, or None."""
        s = self.state()
        if s.not_evaluable_reason is not None:
            if s.not_evaluable_reason.startswith("Other") and not s.comment:
                return "Describe the reason in the comment when choosing “Other”."
            return None
        if s.normal_ct is None:
            return "Answer “Normal CT” (yes or no) before signing."
        if s.confidence is None:
            return "Choose your confidence before signing."
        return None

    def setEditable(self, editable: bool) -> None:  # noqa: N802 - Qt naming
        for w in (self.normal_yes, self.normal_no, self.confidence, self.comment,
                  self.not_evaluable, self.reason):
            w.setEnabled(editable)
        if editable:
            self._toggle_not_evaluable(self.not_evaluable.isChecked())
