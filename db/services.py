"""The public service functions of the reading database (import from here).

Every function takes the :class:`~db.engine.Database` and, where a person acts, the
:class:`~db.views.Actor` returned by :func:`authenticate`. Roles and states are checked here, so the
GUI, the command line and the tests go through the same rules.
"""

from __future__ import annotations

from .accounts import MAX_FAILED_LOGINS, authenticate, create_user, list_users, reauthenticate, unlock_user, user_count
from .adjudication import adjudication_queue, assign_adjudicator, decide_adjudication, discordance, open_adjudication
from .audit import AuditVerification, verify_audit_trail
from .charter import Charter
from .endpoints import endpoint_table, endpoint_value
from .charter_edit import set_charter
from .errors import AuthenticationError, PermissionDenied, WorkflowError
from .analysis_dataset import analysis_dataset
from .exports import export_analysis, export_reads
from .exports import export_reads as export_reads_csv
from .lock import lock_database, lock_status, unblind
from .progress import progress_dashboard
from .reads import reopen_read, save_draft, sign_read
from .trials import create_trial, get_trial, import_manifest
from .views import (
    Actor,
    AdjudicationDecision,
    AdjudicationTaskView,
    AdjudicationView,
    CaseView,
    EndpointValue,
    ImportReport,
    ReadInput,
    ReadView,
    TaskView,
)
from .worklist import generate_worklist, next_task, open_task, worklist

__all__ = [
    "MAX_FAILED_LOGINS", "authenticate", "create_user", "list_users", "reauthenticate", "unlock_user", "user_count",
    "adjudication_queue", "assign_adjudicator", "decide_adjudication", "discordance", "open_adjudication",
    "AuditVerification", "verify_audit_trail", "Charter", "endpoint_table", "endpoint_value",
    "AuthenticationError", "PermissionDenied", "WorkflowError", "analysis_dataset", "export_analysis", "export_reads",
    "export_reads_csv", "lock_database",
    "lock_status", "unblind", "progress_dashboard", "reopen_read", "save_draft", "sign_read", "create_trial",
    "set_charter", "get_trial", "import_manifest", "Actor", "AdjudicationDecision", "AdjudicationTaskView", "AdjudicationView",
    "CaseView", "EndpointValue", "ImportReport", "ReadInput", "ReadView", "TaskView", "generate_worklist",
    "next_task", "open_task", "worklist",
]
