"""Free-text DICOM values (SeriesDescription, ProtocolName) reduced to what is safe to show.

Sites type anything into these fields: "LUNG 1.0 B70f", but also "DOE JOHN MRN123456 1961-03-05".
Removing the header's own PatientName/PatientID is not enough (the text may hold another spelling,
a medical record number, a date), and an allow-list of *tags* keeps whatever the tag holds. So the
text is reduced word by word to a vocabulary of acquisition terms: body region, plane, kernel,
reconstruction, contrast phase, thickness and a few more. Anything else becomes ``*``. A technician
still recognises "LUNG 1.0 B70f"; "DOE JOHN MRN123456" shows as "* * *".

The raw value is only ever shown on request (``lungread info --phi``).
"""

from __future__ import annotations

import re

__all__ = ["redact_free_text", "REDACTED"]

REDACTED = "*"

_WORDS = frozenset("""
abd abdomen ac acq acquisition angio aorta apex arterial ax axial base bases body bone brain
breath ce chest ct cta contrast cor coronal delay delayed dose dual dynamic energy exp expiration
expiratory full fast head helical high hr hrct image images ins insp inspiration inspiratory iterative
iv kernel late ld lowdose low lung lungs mediastinal mediastinum mip minip mpr native neck non noncontrast
oblique pa pe phase plain portal post pre primary prone protocol pulmonary range recon reconstruction
ref routine sag sagittal scout screening series sharp slice slices smooth soft spiral standard std
supine surview thick thin thin-slice thorax thoracic tissue topo topogram localizer localiser venous
vessel volume vol w wo with without and of the lungread phantom synthetic demo segmentation mask seg
""".split())
# Kernel and filter codes (B70f, I50f, FC51, YA, L, Br64, Qr40d), thickness and dose tokens.
_TOKENS = (
    re.compile(r"[A-Za-z]{1,2}\d{1,3}[a-z]?\d?", re.ASCII),  # B70f, I50f, FC51, Br64, Qr40d
    re.compile(r"\d{1,2}([.,]\d{1,2})?(mm|cm)?", re.ASCII),  # 1.0, 5mm, 0,6
    re.compile(r"\d{1,3}(kv|mas|kvp)", re.ASCII | re.IGNORECASE),  # 120kV
    re.compile(r"[x/+&()\[\]#:.,=_-]+", re.ASCII),  # separators
)


# Short kernel / phase codes; other one- and two-letter words could be initials or names.
_SHORT = frozenset({"b", "c", "d", "e", "l", "ya", "yb", "yc", "yd", "fc", "fl", "ld", "hr", "pa", "ap", "c+", "c-",
                    "iv", "3d", "2d", "o"})


def _safe(word: str) -> bool:
    if word.lower() in _WORDS or word.lower() in _SHORT:
        return True
    return any(p.fullmatch(word) for p in _TOKENS)


def redact_free_text(text: str | None) -> str:
    """``text`` with every word outside the acquisition vocabulary replaced by ``*``."""
    if not text:
        return ""
    out: list[str] = []
    for word in re.split(r"\s+", text.strip()):
        if not word:
            continue
        if re.search(r"\d{4,}", word):  # a year, a date, a record number: the whole word goes
            out.append(REDACTED)
            continue
        parts = re.split(r"([/_,;()\[\]-])", word)  # "Lung_1.0-B70f": judge each piece
        safe = [p if (not p or _safe(p) or p in "/_,;()[]-") else REDACTED for p in parts]
        out.append("".join(safe))
    return " ".join(out)
