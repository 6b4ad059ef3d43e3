"""What the report's cover page says about where its numbers come from: software and
segmentation versions, the charter, who locked and unblinded the database and when, the audit
trail's head at the time of the analysis, and when the report was made."""

from __future__ import annotations

from importlib import metadata

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.charter import Charter
from db.models import AuditEvent, DatabaseLock, Read, Trial, Unblinding, User
from db.security.audit import trust_root_of, utc_now
from quant.analysis.population import MITT_RULES

__all__ = ["cover_lines"]


def _software() -> str:
    try:
        return metadata.version("lungread")
    except metadata.PackageNotFoundError:  # run from a checkout without installing
        return "unknown (not installed)"


def _when(ts: str) -> str:
    return ts[:19].replace("T", " ")


def _who(s: Session, user_id: int | None) -> str:
    user = s.get(User, user_id) if user_id is not None else None
    return user.username if user is not None else f"user {user_id}"


def _charter(charter: Charter) -> str:
    normal = "yes" if charter.adjudicate_normal_disagreement else "no"
    return (f"Charter: concordant pairs by {charter.concordant_rule}; adjudication when |delta lesion %| > "
            f"{charter.adjudication_threshold_pct:g} points or (normal-CT disagreement: {normal}); primary visit "
            f"{charter.primary_visit or 'first after baseline'}; secondary p values: {charter.multiplicity}; "
            f"mITT: {MITT_RULES[charter.mitt_rule]}.")


def cover_lines(s: Session, trial: Trial, charter: Charter) -> tuple[str, ...]:
    """The cover page's provenance lines, read inside the analysis session."""
    lines = [f"Study {trial.name}; LungRead {_software()}; report made {_when(utc_now())} UTC.", _charter(charter)]
    algorithms = s.execute(select(Read.algorithm_version, Read.protocol_hash, func.count())
                           .where(Read.status == "signed").group_by(Read.algorithm_version, Read.protocol_hash)
                           .order_by(func.count().desc())).all()
    if algorithms:
        lines.append("Segmentation of the signed reads: " + "; ".join(
            f"{alg or 'none'} (protocol {(ph or '-')[:12]}): {n} read(s)" for alg, ph, n in algorithms))
    lock = s.scalars(select(DatabaseLock).where(DatabaseLock.trial_id == trial.id)).first()
    if lock is not None:
        override = f" (override: {lock.override_reason})" if lock.override_reason else ""
        lines.append(f"Database locked {_when(lock.locked_at)} UTC by {_who(s, lock.locked_by)}{override}.")
    unblinding = s.scalars(select(Unblinding).where(Unblinding.trial_id == trial.id)).first()
    if unblinding is not None:
        lines.append(f"Unblinded {_when(unblinding.unblinded_at)} UTC by {_who(s, unblinding.unblinded_by)} with "
                     f"{unblinding.file_name} (SHA-256 {unblinding.file_sha256[:16]}...).")
    else:
        lines.append("Not unblinded: arms unknown, the analysis is blinded.")
    head = s.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    if head is not None:
        lines.append(f"Audit trail head when analysed: event {head[0]}, hash {head[1]}.")
    root = trust_root_of(s)
    lines.append(f"Trust root (first manager's key): {root}; check with `lungread audit verify --trust`." if root
                 else "No trust root: this database predates signing keys.")
    return tuple(lines)
