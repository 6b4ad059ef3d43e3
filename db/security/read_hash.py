"""The content hash of a signed read: one SHA-256 over everything a signature covers.

Recorded in the ``sign`` audit event when a read is signed (online or in a reading package), and
re-derived when a package comes back, so any later edit of a signed field (metric, comment, mask
checksum, meaning, time) is detected even without rewriting the audit chain.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from db.security.audit import canonical_json

__all__ = ["SIGNED_FIELDS", "read_content_hash", "read_fields"]

# Read columns covered by a signature (and copied when a package read is merged).
SIGNED_FIELDS = ("metrics_json", "lesion_pct", "solid_pct", "normal_ct", "confidence", "comment",
                 "not_evaluable_reason", "algorithm_version", "protocol_hash", "lung_mask_sha",
                 "lesion_mask_sha", "saved_at", "signed_at", "sign_meaning")


def read_fields(row: Any) -> dict[str, Any]:
    """The signed fields of a Read row, as a plain dict."""
    return {k: getattr(row, k) for k in SIGNED_FIELDS}


def read_content_hash(case_code: str, signer: str, revision: int, fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of everything a signature covers (metrics parsed as JSON)."""
    doc = {k: fields.get(k) for k in SIGNED_FIELDS if k != "saved_at"}
    doc["metrics_json"] = json.loads(fields["metrics_json"])
    doc.update(case_code=case_code, signer=signer, revision=revision)
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()
