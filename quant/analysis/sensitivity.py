"""Sensitivity analysis of the primary endpoint: worst-rank imputation over every randomised subject.

The primary analysis is observed-case in the mITT population. Its weak point is missing data:
subjects whose lesion % could not be measured at the primary visit (scan missing, not evaluable,
baseline missing) drop out, and if they drop out because they were doing badly the observed-case
shift flatters whichever arm lost more of them. The worst-rank analysis (Lachin, Control Clin
Trials 1999;20:408-422) keeps every randomised subject of the two arms: a subject without a
change from baseline at the primary visit is ranked worse than every observed subject (tied
among themselves), and the arms are compared with the Wilcoxon rank-sum test, as R does with

    wilcox.test(x, y)   # x, y: CHG with missing set to max(observed CHG) + 1

Worse means a larger increase in lesion %. The shift of imputed values has no clinical unit, so
the effect is reported as the probability that a treated subject fares better than a control
subject (ties count one half): 1 - W / (n_t n_c), 0.5 meaning no difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from quant.analysis.records import AnalysisRow
from quant.stats.two_sample import hodges_lehmann

__all__ = ["WorstRankResult", "worst_rank_primary"]


@dataclass(frozen=True)
class WorstRankResult:
    """Worst-rank Wilcoxon test of the change in lesion % at ``visit`` (treatment vs control).

    n_*: randomised subjects of the arm; imputed_*: of them, without an observed change;
    ``worst_value``: the value they were given (percentage points); ``p_value``: two-sided;
    ``win_probability``: P(treated subject better) + P(tie) / 2. ``note``: why not estimable.
    """

    visit: str
    treatment: str
    control: str
    n_treatment: int
    n_control: int
    imputed_treatment: int
    imputed_control: int
    worst_value: float | None
    p_value: float | None
    win_probability: float | None
    method: str
    note: str = ""


def worst_rank_primary(rows: Sequence[AnalysisRow], randomised: Sequence[tuple[str, str]], visit: str,
                       treatment: str, control: str) -> WorstRankResult:
    """The worst-rank analysis of LESPCT CHG at ``visit`` over the randomised subjects
    ((subject, arm) per line) of ``treatment`` and ``control``; ``rows``: the long dataset with
    every subject's observed values (mITT or not)."""
    chg = {r.subject: r.chg for r in rows
           if r.paramcd == "LESPCT" and r.visit == visit and r.chg is not None}
    arms = {arm: sorted({s for s, a in randomised if a == arm}) for arm in (treatment, control)}
    observed = [chg[s] for members in arms.values() for s in members if s in chg]
    imputed = {arm: sum(1 for s in members if s not in chg) for arm, members in arms.items()}
    base = dict(visit=visit, treatment=treatment, control=control, n_treatment=len(arms[treatment]),
                n_control=len(arms[control]), imputed_treatment=imputed[treatment],
                imputed_control=imputed[control])
    if not observed:
        return WorstRankResult(**base, worst_value=None, p_value=None, win_probability=None, method="",
                               note="no observed change at this visit")
    worst = max(observed) + 1.0
    x = [chg.get(s, worst) for s in arms[treatment]]
    y = [chg.get(s, worst) for s in arms[control]]
    try:
        test = hodges_lehmann(x, y)
    except ValueError as exc:
        return WorstRankResult(**base, worst_value=worst, p_value=None, win_probability=None, method="",
                               note=f"not estimable: {exc}")
    return WorstRankResult(**base, worst_value=worst, p_value=test.p_value,
                           win_probability=1.0 - test.statistic / (len(x) * len(y)), method=test.method)
