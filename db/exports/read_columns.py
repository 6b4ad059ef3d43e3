"""Columns of ``reads.csv`` and its data dictionary (the export itself: :func:`db.exports.reads.export_reads`)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DICTIONARY", "METRIC_COLUMNS", "dictionary_path"]

METRIC_COLUMNS = ("lung_ml", "lung_left_ml", "lung_right_ml", "ggo_ml", "solid_ml", "lesion_ml",
                  "lesion_pct_left", "lesion_pct_right", "solid_pct_left", "solid_pct_right")

# column -> (type, unit, description)
DATA_DICTIONARY: dict[str, tuple[str, str, str]] = {
    "read_id": ("integer", "", "database id of the signed read (endpoint source ids refer to it)"),
    "subject": ("text", "", "pseudonymous subject code from the manifest"),
    "visit": ("text", "", "visit name from the manifest"),
    "visit_day": ("integer", "days", "nominal study day of the visit"),
    "arm": ("text", "", "randomised arm; empty until the statistician has unblinded the locked database"),
    "series_uid": ("text", "", "DICOM SeriesInstanceUID of the read series as readers saw it: the image "
                   "store's de-identified copy, which DICOM SEG exports reference"),
    "case_code": ("text", "", "random case code the reader or adjudicator saw"),
    "reader": ("text", "", "username of the signer"),
    "read_kind": ("text", "", "reader1 / reader2 (independent reads) or adjudicator (adjudicator's own read)"),
    "revision": ("integer", "", "revision number of the signed read (drafts before it are kept)"),
    "signed_at": ("text", "UTC ISO-8601", "time of the e-signature"),
    "sign_meaning": ("text", "", "meaning of the e-signature"),
    "lesion_pct": ("float", "% of lung volume", "(GGO + solid) / whole-lung volume x 100"),
    "solid_pct": ("float", "% of lung volume", "solid / whole-lung volume x 100"),
    "normal_ct": ("boolean", "", "reader's normal-CT call (true/false, empty if not given)"),
    "confidence": ("integer", "1-5", "reader's confidence"),
    "not_evaluable_reason": ("text", "", "set when the reader marked the scan not evaluable"),
    **{c: ("float", "mL" if c.endswith("_ml") else "% of that lung's volume", f"measured {c}") for c in METRIC_COLUMNS},
    "algorithm_version": ("text", "", "version of the automatic segmentation the read started from"),
    "qc_flags": ("text", "", "quality-control flags of that automatic segmentation, codes joined by ';' "
                 "(incomplete_coverage, implausible_lung_volume, thick_slices, fat_like_solid, noisy_image); "
                 "empty when none"),
    "protocol_hash": ("text", "", "SHA-256 of the quantification protocol parameters"),
    "comment": ("text", "", "reader's free-text comment"),
    "measurements": ("text", "mm, mm², HU", "the reader's measurements joined by '; ': 'Ruler 23.4 mm' or "
                     "'ROI 51 mm², -812 ± 35 HU (-890..-701)' (mean ± SD, min..max); the exact values are in "
                     "the signed metrics JSON"),
    "endpoint_status": ("text", "", "concordant / adjudicated / missing / pending for the scan"),
    "endpoint_source": ("boolean", "", "true when this read is a source of the scan's endpoint value"),
}


def dictionary_path(out: Path) -> Path:
    """``reads.csv`` -> ``reads.dictionary.csv``."""
    return out.with_name(out.stem + ".dictionary.csv")
