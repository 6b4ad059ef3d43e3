"""Primary and secondary endpoints, and the multiplicity adjustment of the secondary p values.

The primary endpoint is the treatment - control Hodges-Lehmann shift of the change from baseline
in whole-lung lesion % (LESPCT, CHG) at the primary visit, tested at the full two-sided alpha
with the Wilcoxon rank-sum test. The secondary family, in this fixed order, is every other
post-baseline change-from-baseline comparison (visit by visit: LESPCT, then SOLPCT; Wilcoxon p)
followed by the post-baseline normal-CT comparisons (Fisher p), visit by visit. Welch p values are supportive
and not adjusted.

Adjustments of the secondary family (R's ``p.adjust``):

* ``holm``: Holm's step-down (``p.adjust(p, "holm")``);
* ``hierarchy``: fixed-sequence testing in the order above; an adjusted p is the largest raw p
  up to that hypothesis (a hypothesis counts only if every one before it does);
* ``none``: raw p values, stated as unadjusted.
"""

from __future__ import annotations

from collections.abc import Sequence

from quant.errors import LungReadError

__all__ = ["MULTIPLICITY", "MultiplicityError", "holm", "fixed_sequence", "adjust"]

MULTIPLICITY = ("holm", "hierarchy", "none")


class MultiplicityError(LungReadError):
    """An unknown adjustment, or a primary visit the data does not have."""


def holm(p: Sequence[float]) -> list[float]:
    """Holm-adjusted p values in the input order (R: ``p.adjust(p, "holm")``)."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def fixed_sequence(p: Sequence[float]) -> list[float]:
    """Fixed-sequence adjusted p values: the running maximum in the given order."""
    out, running = [], 0.0
    for value in p:
        running = max(running, value)
        out.append(running)
    return out


def adjust(p: Sequence[float], method: str) -> list[float]:
    """Adjust the secondary family's p values by ``method`` (one of :data:`MULTIPLICITY`)."""
    if method == "holm":
        return holm(p)
    if method == "hierarchy":
        return fixed_sequence(p)
    if method == "none":
        return list(p)
    raise MultiplicityError(f"multiplicity must be one of {', '.join(MULTIPLICITY)}, not {method!r}")
