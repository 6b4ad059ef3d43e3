"""Choosing the series to read from a site's study delivery (scout, soft and lung kernels, thin and
thick reconstructions, MIPs, partial scans), by the charter's rule, never by guess.

Rule: an axial CT image series with at least :data:`MIN_SLICES` slices, slices no thicker than the
protocol allows (``[qc] max_slice_mm``), at least :data:`MIN_COVERAGE_MM` of cranio-caudal coverage
(a scan that cuts the lungs is shorter) and no burned-in annotation. Among those, a lung (sharp)
kernel is preferred, then the thinnest slices, then the longest coverage. When the best two are
equal on kernel and slice spacing the choice is **ambiguous** and refused with the candidates
listed, for the manager to name one (the manifest's ``series_uid`` column). Every candidate gets
the reason it was or was not chosen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from quant.errors import LungReadError

__all__ = ["Candidate", "SeriesChoice", "SeriesChoiceError", "choose_series", "is_lung_kernel", "MIN_SLICES",
           "MIN_COVERAGE_MM"]

MIN_SLICES = 10  # fewer: a scout, a localiser or a single image
MIN_COVERAGE_MM = 150.0  # shorter: the lungs are cut (an adult chest spans 250-350 mm)

# Sharp / lung reconstruction kernels of the main vendors, and the word "lung" in the description.
_LUNG_KERNEL = re.compile(r"^(B[5-9]\d|Br[5-9]\d|I[5-9]\d|Bl[5-9]\d|Hr[5-9]\d|Y[A-D]|FC5[0-9]|FC8\d|L|LUNG|BONE|"
                          r"BONEPLUS|SHARP|DETAIL|EDGE)", re.IGNORECASE)


class SeriesChoiceError(LungReadError):
    """No series of a delivery fits the rule, or two fit equally well (with the candidates)."""


@dataclass(frozen=True)
class Candidate:
    """One series of a delivery, as the rule sees it (no PHI: the description is already redacted)."""

    key: str
    modality: str
    orientation: str
    n_slices: int
    slice_mm: float | None
    kernel: str
    description: str
    burned_in: bool

    @property
    def coverage_mm(self) -> float:
        return (self.n_slices - 1) * self.slice_mm if self.slice_mm else 0.0

    def label(self) -> str:
        spacing = f"{self.slice_mm:.2f} mm" if self.slice_mm else "? mm"
        return (f"{self.description or '(no description)'} [{self.modality} {self.orientation}, {self.n_slices} slices "
                f"x {spacing}, kernel {self.kernel or '?'}]")


@dataclass(frozen=True)
class SeriesChoice:
    chosen: Candidate
    reason: str
    others: tuple[tuple[Candidate, str], ...]  # every other candidate and why it was not chosen


def is_lung_kernel(kernel: str, description: str) -> bool:
    return bool(_LUNG_KERNEL.match(kernel.strip())) or "lung" in description.lower()


def _unfit(c: Candidate, max_slice_mm: float) -> str | None:
    if c.modality != "CT":
        return f"not CT ({c.modality or 'no modality'})"
    if c.orientation != "axial":
        return f"not axial ({c.orientation})"
    if c.n_slices < MIN_SLICES:
        return f"only {c.n_slices} slice(s): a scout or localiser"
    if c.burned_in:
        return "burned-in annotation"
    if c.slice_mm is None or c.slice_mm > max_slice_mm:
        return f"slices {c.slice_mm or '?'} mm apart, thicker than the protocol's {max_slice_mm:g} mm"
    if c.coverage_mm < MIN_COVERAGE_MM:
        return f"covers {c.coverage_mm:.0f} mm, less than {MIN_COVERAGE_MM:.0f} mm: the lungs are cut"
    return None


def choose_series(candidates: Sequence[Candidate], max_slice_mm: float) -> SeriesChoice:
    """The series to read, with reasons; SeriesChoiceError when none fits or the choice is a tie."""
    unfit = {c.key: _unfit(c, max_slice_mm) for c in candidates}
    fit = [c for c in candidates if unfit[c.key] is None]
    if not fit:
        listed = "; ".join(f"{c.label()}: {unfit[c.key]}" for c in candidates)
        raise SeriesChoiceError(f"no series fits the reading rule ({listed})")

    def rank(c: Candidate) -> tuple[bool, float, float]:
        return (is_lung_kernel(c.kernel, c.description), -(c.slice_mm or 99.0), c.coverage_mm)

    fit.sort(key=rank, reverse=True)
    best = fit[0]
    if len(fit) > 1 and rank(fit[1])[:2] == rank(best)[:2]:
        tied = "; ".join(f"{c.label()} (key {c.key})" for c in fit if rank(c)[:2] == rank(best)[:2])
        raise SeriesChoiceError(f"ambiguous: several series fit equally well ({tied}); name one in the manifest's "
                                "series_uid column")
    kernel = "lung kernel" if rank(best)[0] else "no lung kernel available"
    reason = f"axial CT, {kernel}, thinnest slices ({best.slice_mm:.2f} mm), {best.coverage_mm:.0f} mm coverage"
    others = tuple((c, unfit[c.key] or "a softer kernel or thicker slices than the chosen one")
                   for c in candidates if c.key != best.key)
    return SeriesChoice(best, reason, others)
