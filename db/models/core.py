"""SQLAlchemy 2.0 models of the reading database.

Blinding by construction: the arm of a subject lives only in :class:`Randomization`, whose rows
are written by unblinding (statistician, locked database). Scans keep de-identified display
metadata only; the DICOM PHI is never copied into the database.
Times are UTC ISO-8601 strings (``2026-01-31T12:00:00.123456+00:00``) so that they hash and compare
the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "User",
    "LoginThrottle",
    "Trial",
    "Subject",
    "Visit",
    "Scan",
    "Setting",
    "ReadTask",
    "MaskBlob",
    "Read",
    "AdjudicationTask",
    "AuditEvent",
    "DatabaseLock",
    "Unblinding",
    "Randomization",
    "RandomisedSubject",
    "ROLES",
]

ROLES = ("reader", "adjudicator", "manager", "statistician")


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # Login verifier and the Ed25519 private key wrapped under the password (db.security.keys);
    # a reading package's copy has no verifier (empty string), only the wrapped key.
    password_hash: Mapped[str] = mapped_column(String(255))
    signing_key: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    public_key: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)  # raw Ed25519, hex
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[str] = mapped_column(String(40))


class LoginThrottle(Base):
    """Consecutive failed sign-ins per user *name*, known or not (no enumeration), and until when
    sign-in is refused: the time-based back-off of :mod:`db.security.accounts`."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[Optional[str]] = mapped_column(String(40), nullable=True)
    last_failure_at: Mapped[Optional[str]] = mapped_column(String(40), nullable=True)


class Trial(Base):
    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # Charter as canonical JSON: visits, readers_per_scan, adjudication triggers, concordant rule.
    charter_json: Mapped[str] = mapped_column(Text)
    worklist_seed: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    created_at: Mapped[str] = mapped_column(String(40))


class Subject(Base):
    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("trial_id", "code", name="uq_subject_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("subject_id", "name", name="uq_visit_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    visit_day: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    study_date: Mapped[Optional[str]] = mapped_column(String(16), nullable=True)


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    series_uid: Mapped[str] = mapped_column(String(128), unique=True)
    folder: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    # Random key naming the blinded image link folder handed to readers (never the real path).
    image_key: Mapped[str] = mapped_column(String(32), unique=True)
    # File names of the series inside ``folder`` (JSON list), to build the blinded link folder.
    files_json: Mapped[str] = mapped_column(Text)
    # De-identified display metadata only (rows, columns, slices, modality): canonical JSON.
    display_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(40))
    # The de-identified copy in the image store (db.workflow.image_store): the content hash that
    # names its folder and its file count. None: imported before the store (site files).
    store_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    store_files: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    store_series_uid: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)  # the copy's (mapped) UID


class Setting(Base):
    """Database-wide settings: ``image_store`` (folder), ``uid_key`` (hex)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ReadTask(Base):
    __tablename__ = "read_tasks"
    __table_args__ = (UniqueConstraint("scan_id", "reader_id", name="uq_task_scan_reader"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"), index=True)
    reader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reader_slot: Mapped[int] = mapped_column(Integer)  # 1 or 2: "reader 1" of the charter rule
    case_code: Mapped[str] = mapped_column(String(16), unique=True)
    order_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | draft | signed
    created_at: Mapped[str] = mapped_column(String(40))


class MaskBlob(Base):
    """A compressed label map, content-addressed by the SHA-256 of its run-length encoding."""

    __tablename__ = "mask_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    codec: Mapped[str] = mapped_column(String(32))
    shape: Mapped[str] = mapped_column(String(64))  # "z,y,x"
    dtype: Mapped[str] = mapped_column(String(16))
    n_runs: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Read(Base):
    """One revision of a read. Revisions are never updated except for the sign/reopen fields.

    A reader's read belongs to a :class:`ReadTask`; an adjudicator's own read has no task and is
    referenced by :attr:`AdjudicationTask.chosen_read_id`.
    """

    __tablename__ = "reads"
    __table_args__ = (
        UniqueConstraint("task_id", "revision", name="uq_read_task_revision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("read_tasks.id"), nullable=True, index=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # draft | signed | reopened
    metrics_json: Mapped[str] = mapped_column(Text)
    lesion_pct: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    solid_pct: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    normal_ct: Mapped[Optional[bool]] = mapped_column(Boolean, nullable=True)
    confidence: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    not_evaluable_reason: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    algorithm_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    protocol_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    lung_mask_sha: Mapped[Optional[str]] = mapped_column(ForeignKey("mask_blobs.sha256"), nullable=True)
    lesion_mask_sha: Mapped[Optional[str]] = mapped_column(ForeignKey("mask_blobs.sha256"), nullable=True)
    saved_at: Mapped[str] = mapped_column(String(40))
    signed_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_at: Mapped[Optional[str]] = mapped_column(String(40), nullable=True)
    sign_meaning: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


class AdjudicationTask(Base):
    __tablename__ = "adjudication_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"), index=True)
    adjudicator_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    case_code: Mapped[str] = mapped_column(String(16), unique=True)
    read_a_id: Mapped[int] = mapped_column(ForeignKey("reads.id"))
    read_b_id: Mapped[int] = mapped_column(ForeignKey("reads.id"))
    trigger: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # open | decided | cancelled
    choice: Mapped[Optional[str]] = mapped_column(String(8), nullable=True)  # A | B | own
    chosen_read_id: Mapped[Optional[int]] = mapped_column(ForeignKey("reads.id"), nullable=True)
    signed_at: Mapped[Optional[str]] = mapped_column(String(40), nullable=True)
    sign_meaning: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    created_at: Mapped[str] = mapped_column(String(40))
    rationale_reason: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)  # ADJUDICATION_REASONS
    rationale: Mapped[Optional[str]] = mapped_column(Text, nullable=True)  # the adjudicator's own words


class AuditEvent(Base):
    """Append-only, hash-chained: ``hash = SHA-256(prev_hash + canonical JSON of the event)``;
    an event done by a signed-in person is also Ed25519-signed with their key (db.security.audit)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    username: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    old_json: Mapped[str] = mapped_column(Text)
    new_json: Mapped[str] = mapped_column(Text)
    reason: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of the row state this event leaves (db.security.signed_state), when it changes one
    state_sha256: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    signer_key: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)  # key fingerprint
    signature: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)  # Ed25519, hex


class DatabaseLock(Base):
    __tablename__ = "database_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), unique=True)
    locked_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    locked_at: Mapped[str] = mapped_column(String(40))
    open_tasks: Mapped[int] = mapped_column(Integer)
    override_reason: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


class Unblinding(Base):
    __tablename__ = "unblindings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), unique=True)
    unblinded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unblinded_at: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    n_subjects: Mapped[int] = mapped_column(Integer)


class Randomization(Base):
    """Arm of a subject. Rows exist only after unblinding."""

    __tablename__ = "randomization"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), unique=True)
    arm: Mapped[str] = mapped_column(String(64))


class RandomisedSubject(Base):
    """One line of the randomisation list loaded at unblinding, whether the subject has scans or
    not: the analysis population (Alembic revision 0003)."""

    __tablename__ = "randomised_subjects"
    __table_args__ = (UniqueConstraint("trial_id", "subject_code", name="uq_randomised_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"))
    subject_code: Mapped[str] = mapped_column(String(64))
    arm: Mapped[str] = mapped_column(String(64))
