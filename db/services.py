"""The public service functions of the reading database (import from here).

Every function takes the :class:`~db.engine.Database` and, where a person acts, the
:class:`~db.records.Actor` returned by :func:`authenticate`. Roles and states are checked here, so the
GUI, the command line and the tests go through the same rules.
"""

from __future__ import annotations

from db.charter import Charter
from db.endpoints.dataset import AnalysisDataset, analysis_dataset
from db.endpoints.rule import endpoint_table, endpoint_value
from db.engine import Database, connect, database_url, default_data_dir
from db.errors import AuthenticationError, PermissionDenied, WorkflowError
from db.exports.analysis import analyse, begin_analysis_export, export_analysis
from db.exports.masks import MaskFile, export_masks
from db.exports.read_columns import dictionary_path
from db.exports.reads import export_reads
from db.exports.reads import export_reads as export_reads_csv
from db.packages.errors import PackageError, PackageRefused
from db.packages.export import ExportReport, export_package
from db.packages.merge import PackageImportReport, import_package
from db.packages.open import open_package, package_of_url, package_root, package_url
from db.packages.unlock import package_unlock_code, unlock_package_account
from db.records import (
    Actor,
    AdjudicationDecision,
    AdjudicationTaskView,
    AdjudicationView,
    CaseView,
    EndpointValue,
    ImportReport,
    LockView,
    ReadInput,
    ReadView,
    ReferenceCase,
    TaskView,
    UnblindReport,
    WorklistReport,
)
from db.security.accounts import (
    MAX_FAILED_LOGINS,
    authenticate,
    change_password,
    create_user,
    list_users,
    reauthenticate,
    set_account,
    unlock_user,
    user_count,
)
from db.security.audit import (
    AuditVerification,
    audit_anchor,
    read_anchor,
    trust_root_of,
    verify_audit_trail,
    write_anchor,
)
from db.security.trust import TrustReport, verify_trust
from db.workflow.adjudication import (
    ADJUDICATION_REASONS,
    adjudication_queue,
    assign_adjudicator,
    decide_adjudication,
    discordance,
    open_adjudication,
)
from db.workflow.charter_edit import set_charter
from db.workflow.image_store import set_image_store
from db.workflow.imagelinks import check_case_images
from db.workflow.intake import IntakeLine, intake_report
from db.workflow.lock import lock_database, lock_status, unblind
from db.workflow.progress import progress_dashboard
from db.workflow.reads import reopen_read, save_draft, sign_read
from db.workflow.series_override import SeriesCandidate, select_series, series_candidates
from db.workflow.store_backfill import BackfillReport, scans_outside_store, store_site_images
from db.workflow.store_check import StoreProblem, verify_image_store
from db.workflow.trials import create_trial, get_trial, import_manifest
from db.workflow.worklist import generate_worklist, next_task, open_task, worklist


def trust_root(database: Database) -> str | None:
    """The fingerprint of the trial's root key (the first manager's), or None before there is one."""
    return database.read(trust_root_of)


def schema_revision(database: Database) -> str | None:
    """The Alembic revision the database's schema is at."""
    from db.migrations import current_revision  # alembic loads only when asked

    return current_revision(database.engine)


__all__ = [
    "Database", "connect", "database_url", "default_data_dir", "schema_revision", "trust_root",
    "change_password", "set_account", "TrustReport", "verify_trust", "IntakeLine", "intake_report", "check_case_images",
    "set_image_store", "BackfillReport", "store_site_images", "scans_outside_store", "StoreProblem", "verify_image_store", "SeriesCandidate", "select_series", "series_candidates",
    "MAX_FAILED_LOGINS", "authenticate", "create_user", "list_users", "reauthenticate", "unlock_user", "user_count",
    "ADJUDICATION_REASONS", "adjudication_queue", "assign_adjudicator", "decide_adjudication", "discordance", "open_adjudication",
    "AuditVerification", "verify_audit_trail", "Charter", "endpoint_table", "endpoint_value",
    "AuthenticationError", "PermissionDenied", "WorkflowError", "analysis_dataset", "export_analysis", "export_reads",
    "export_reads_csv", "lock_database",
    "lock_status", "unblind", "progress_dashboard", "reopen_read", "save_draft", "sign_read", "create_trial",
    "set_charter", "get_trial", "import_manifest", "Actor", "AdjudicationDecision", "AdjudicationTaskView", "AdjudicationView",
    "CaseView", "ReferenceCase", "EndpointValue", "ImportReport", "ReadInput", "ReadView", "TaskView", "generate_worklist",
    "next_task", "open_task", "worklist",
    "AnalysisDataset", "analyse", "export_masks", "dictionary_path", "begin_analysis_export", "audit_anchor", "read_anchor", "write_anchor",
    "PackageError", "PackageRefused", "export_package", "import_package", "open_package", "package_root",
    "package_url", "package_of_url", "package_unlock_code", "unlock_package_account",
    "MaskFile", "ExportReport", "PackageImportReport", "LockView", "UnblindReport", "WorklistReport",
]
