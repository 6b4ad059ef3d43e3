"""The manager's charter editor: adjudication threshold, normal-CT disagreement rule, concordant
rule and visit schedule, and the analysis plan (treatment and control arm, primary visit,
multiplicity adjustment, mITT rule), changed with a reason before the first read is signed.

Whether a change is still allowed is decided by ``db.services.set_charter``; refusals are shown
here as they come.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from db import services
from desktop.app.session import AppContext
from quant.analysis.multiplicity import MULTIPLICITY
from quant.analysis.population import MITT_RULES
from quant.errors import LungReadError

if TYPE_CHECKING:
    from db.services import Charter

__all__ = ["CharterEditor"]


class CharterEditor(QGroupBox):
    """Form over the trial charter; :meth:`load` reads it, :meth:`save` changes it."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Reading charter", parent)
        self.context = context
        self.setObjectName("charterEditor")
        self.charter: Charter | None = None
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 100.0)
        self.threshold.setSingleStep(0.5)
        self.threshold.setDecimals(1)
        self.threshold.setSuffix(" points")
        self.threshold.setToolTip("A read pair goes to adjudication when |Δ lesion %| is above this "
                                  "(percentage points of whole-lung volume)")
        self.normal = QCheckBox("Adjudicate when the normal-CT calls differ")
        self.concordant = QComboBox()
        self.concordant.addItems(["mean", "reader1"])
        self.concordant.setToolTip("Endpoint value of a concordant pair: the mean of both reads, or reader 1's")
        self.visits = QLineEdit()
        self.visits.setPlaceholderText("any visit name (or e.g. BASELINE, DAY10, MONTH12)")
        self.treatment = QLineEdit()
        self.treatment.setPlaceholderText("as the randomisation list spells it (empty: named at analysis)")
        self.control = QLineEdit()
        self.control.setPlaceholderText("between-arm figures are treatment - control")
        self.primary_visit = QLineEdit()
        self.primary_visit.setPlaceholderText("visit of the primary endpoint (empty: the first after baseline)")
        self.multiplicity = QComboBox()
        self.multiplicity.addItems(list(MULTIPLICITY))
        self.multiplicity.setToolTip("Adjustment of the secondary p values: Holm, a fixed hierarchy, or none")
        self.mitt_rule = QComboBox()
        for key, meaning in MITT_RULES.items():
            self.mitt_rule.addItem(meaning, key)
        self.mitt_rule.setToolTip("Who is in the mITT analysis population")
        self.sequential = QCheckBox("Sequential reading: the baseline beside each follow-up")
        self.sequential.setObjectName("sequentialReading")
        self.sequential.setToolTip("A follow-up's reader sees the same subject's baseline read-only beside it "
                                   "(off: every scan read independently)")
        self.reason = QLineEdit()
        self.reason.setObjectName("charterReason")
        self.reason.setPlaceholderText("why the charter changes (recorded in the audit trail)")
        self.save_button = QPushButton("Save charter")
        self.save_button.setObjectName("saveCharter")
        self.save_button.clicked.connect(lambda: self.save())
        self.message = QLabel("")
        self.message.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Adjudication threshold", self.threshold)
        form.addRow("", self.normal)
        form.addRow("Concordant pair value", self.concordant)
        form.addRow("Visit schedule", self.visits)
        form.addRow("Treatment arm", self.treatment)
        form.addRow("Control arm", self.control)
        form.addRow("Primary visit", self.primary_visit)
        form.addRow("Secondary p values", self.multiplicity)
        form.addRow("mITT population", self.mitt_rule)
        form.addRow("", self.sequential)
        form.addRow("Reason", self.reason)
        form.addRow(self.save_button, self.message)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setObjectName("errorText" if error else "metricName")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)

    def load(self) -> None:
        """Show the current charter (the form is disabled while there is no trial)."""
        try:
            trial = services.get_trial(self.context.database())
        except LungReadError as exc:
            self.setEnabled(False)
            self._say(str(exc))
            return
        self.setEnabled(True)
        self.charter = trial.charter
        self.threshold.setValue(float(trial.charter.adjudication_threshold_pct))
        self.normal.setChecked(bool(trial.charter.adjudicate_normal_disagreement))
        self.concordant.setCurrentText(trial.charter.concordant_rule)
        self.visits.setText(", ".join(trial.charter.visits))
        self.treatment.setText(trial.charter.treatment_arm or "")
        self.control.setText(trial.charter.control_arm or "")
        self.primary_visit.setText(trial.charter.primary_visit or "")
        self.multiplicity.setCurrentText(trial.charter.multiplicity)
        self.mitt_rule.setCurrentIndex(self.mitt_rule.findData(trial.charter.mitt_rule))
        self.sequential.setChecked(bool(trial.charter.sequential_reading))
        self._say("Fixed once the first read is signed.")

    def edited(self) -> Charter:
        """The charter the form now describes."""
        visits = tuple(v.strip() for v in self.visits.text().split(",") if v.strip())
        return replace(self.charter, adjudication_threshold_pct=round(self.threshold.value(), 1),
                       adjudicate_normal_disagreement=self.normal.isChecked(),
                       concordant_rule=self.concordant.currentText(), visits=visits,
                       treatment_arm=self.treatment.text().strip() or None,
                       control_arm=self.control.text().strip() or None,
                       primary_visit=self.primary_visit.text().strip() or None,
                       multiplicity=self.multiplicity.currentText(), mitt_rule=self.mitt_rule.currentData(),
                       sequential_reading=self.sequential.isChecked())

    def save(self) -> bool:
        """Change the charter through the service; returns True when it changed."""
        if self.charter is None:
            return False
        try:
            view = services.set_charter(self.context.database(), self.context.actor, self.edited(), self.reason.text())
        except LungReadError as exc:
            self._say(str(exc)[:1].upper() + str(exc)[1:], error=True)
            return False
        self.charter = view.charter
        self.reason.clear()
        self._say("Charter saved; the change and its reason are in the audit trail.")
        return True
