"""Frozen data objects returned by the services (never ORM objects).

Blinding lives here: :class:`TaskView`, :class:`CaseView`, :class:`ReadView`,
:class:`AdjudicationTaskView` and :class:`AdjudicationView` are what readers and adjudicators get.
They carry a random case code, the location of a blinded image folder (links named by a random key)
and the caller's own work (or, for an adjudicator, the two anonymous reads). They have no field for
a subject code, visit, date, site, arm, DICOM header value, reader name or the other reader's read.
Manager/statistician views (:class:`EndpointValue`, :class:`ProgressView`) may name subjects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from db.charter import Charter

__all__ = [
    "Actor",
    "UserView",
    "TrialView",
    "ImportRowError",
    "ImportReport",
    "WorklistReport",
    "TaskView",
    "ReadInput",
    "ReadView",
    "CaseView",
    "SignatureView",
    "AdjudicationTaskView",
    "AdjudicationView",
    "AdjudicationDecision",
    "ProgressView",
    "EndpointValue",
    "LockView",
    "UnblindReport",
]


class Signer(Protocol):
    """A private signing key held for a session (db.security.keys.SigningKey)."""

    public_hex: str

    @property
    def fingerprint(self) -> str: ...

    def sign(self, message: bytes) -> str: ...


@dataclass(frozen=True)
class Actor:
    """Who is calling: returned by ``authenticate``; services re-check the role in the database.

    ``key``: the account's private signing key, unwrapped with the password at sign-in and held in
    memory for the session only; every audited action of the session is signed with it.
    """

    user_id: int
    username: str
    role: str
    key: Signer | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class UserView:
    """An account as a manager sees it; ``locked``: sign-in refused until ``locked_until`` (UTC) after
    repeated failures (a time-based back-off, never permanent)."""

    user_id: int
    username: str
    role: str
    locked: bool
    active: bool
    failed_logins: int
    locked_until: str | None = None
    key_fingerprint: str | None = None


@dataclass(frozen=True)
class TrialView:
    trial_id: int
    name: str
    charter: Charter


@dataclass(frozen=True)
class ImportRowError:
    """One bad manifest row: ``row`` is the 1-based data row number (header excluded)."""

    row: int
    message: str


@dataclass(frozen=True)
class ImportReport:
    """Outcome of ``import_manifest``. Nothing is written unless every row is good (``ok``)."""

    n_rows: int
    created: int
    unchanged: int
    errors: tuple[ImportRowError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class WorklistReport:
    seed: int
    n_scans: int
    n_tasks: int
    tasks_per_reader: dict[str, int]


@dataclass(frozen=True)
class TaskView:
    """A reader's task as the reader sees it: case code, state, position in their own order;
    ``not_evaluable``: signed as not evaluable (the reason, else None)."""

    task_id: int
    case_code: str
    status: str  # new | draft | signed
    order_index: int
    not_evaluable: str | None = None


@dataclass(frozen=True)
class ReadInput:
    """What a reader (or adjudicator) submits.

    ``metrics``: the measure() dict (lesion_pct, solid_pct in % of lung volume, volumes in mL...).
    ``lung_labels`` / ``lesion_labels``: uint8 (z, y, x) label maps or None.
    ``not_evaluable_reason``: set to mark the scan not evaluable (metrics may then be empty).
    """

    metrics: dict[str, Any] = field(default_factory=dict)
    normal_ct: bool | None = None
    confidence: int | None = None
    comment: str = ""
    lung_labels: NDArray[np.uint8] | None = None
    lesion_labels: NDArray[np.uint8] | None = None
    algorithm_version: str | None = None
    protocol_hash: str | None = None
    not_evaluable_reason: str | None = None


@dataclass(frozen=True)
class ReadView:
    """A read's content, without author or any identifying field. ``label``: "own", "Read A", "Read B"."""

    label: str
    revision: int
    status: str  # draft | signed | reopened
    metrics: dict[str, Any]
    normal_ct: bool | None
    confidence: int | None
    comment: str
    not_evaluable_reason: str | None
    algorithm_version: str | None
    protocol_hash: str | None
    saved_at: str
    signed_at: str | None
    sign_meaning: str | None
    lung_labels: NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)
    lesion_labels: NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ReferenceCase:
    """Under sequential reading, the same subject's baseline scan shown beside a follow-up: the
    reader's own case code for it, its (blinded) images, and the lesion mask of the reader's own
    signed read of it (None while that read is not signed). No visit, date or subject."""

    case_code: str
    series_dir: Path
    series_files: tuple[Path, ...]
    lesion_labels: NDArray[np.uint8] | None = field(default=None, repr=False, compare=False)
    content_hash: str = ""  # the series' hash at intake, for check_case_images


@dataclass(frozen=True)
class CaseView:
    """An opened reading task: where the (blinded) images are and the reader's own latest read;
    ``reference``: the baseline beside it under sequential reading (None otherwise)."""

    task_id: int
    case_code: str
    status: str
    series_dir: Path
    series_files: tuple[Path, ...]
    display: dict[str, Any]  # rows, columns, n_slices, modality: de-identified only
    draft: ReadView | None
    reference: ReferenceCase | None = None
    content_hash: str = ""  # the series' hash at intake, for check_case_images


@dataclass(frozen=True)
class SignatureView:
    """A recorded e-signature: who signed, when (UTC ISO-8601) and what the signature means."""

    case_code: str
    revision: int
    signer: str
    signed_at: str
    meaning: str


@dataclass(frozen=True)
class AdjudicationTaskView:
    adjudication_id: int
    case_code: str
    status: str  # open | decided | cancelled


@dataclass(frozen=True)
class AdjudicationView:
    adjudication_id: int
    case_code: str
    status: str
    trigger: str
    series_dir: Path
    series_files: tuple[Path, ...]
    display: dict[str, Any]
    read_a: ReadView
    read_b: ReadView
    content_hash: str = ""  # the series' hash at intake, for check_case_images


@dataclass(frozen=True)
class AdjudicationDecision:
    adjudication_id: int
    case_code: str
    choice: str  # A | B | own
    signer: str
    signed_at: str
    meaning: str


@dataclass(frozen=True)
class ProgressView:
    """Manager dashboard figures."""

    n_scans: int
    tasks_by_status: dict[str, int]
    tasks_by_reader: dict[str, dict[str, int]]
    adjudications_by_status: dict[str, int]
    unassigned_adjudications: int
    locked: bool
    unblinded: bool
    # reader -> (scans of theirs sent to adjudication, their scans with both reads signed)
    adjudication_by_reader: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class EndpointValue:
    """The endpoint of one scan under the charter, traced to the read(s) it came from.

    ``status``: ``concordant`` | ``adjudicated`` | ``missing`` (not evaluable, with
    ``missing_reason``) | ``pending`` (reads or adjudication not finished).
    ``lesion_pct`` / ``solid_pct``: percent of whole-lung volume.
    """

    scan_id: int
    subject: str
    visit: str
    visit_day: int | None
    status: str
    rule: str
    lesion_pct: float | None
    solid_pct: float | None
    normal_ct: bool | None
    source_read_ids: tuple[int, ...]
    missing_reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    arm: str | None = None  # only after unblinding, and only in endpoint_table


@dataclass(frozen=True)
class LockView:
    locked_by: str
    locked_at: str
    open_tasks: int
    override_reason: str | None


@dataclass(frozen=True)
class UnblindReport:
    n_subjects: int
    arms: dict[str, int]
    unknown_subjects: tuple[str, ...]
