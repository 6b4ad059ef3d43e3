"""Reader-agreement table of the endpoint analysis, from plain read pairs (no database types).

For every double-read scan the database hands over a :class:`ReadPair`; :func:`agreement_table`
computes ICC(2,1) and Bland-Altman on lesion % (percentage points), Cohen's kappa on the normal-CT
call, and the adjudication rate, for all pairs and for each reader pair. Pairs with a missing value
(not evaluable) are left out of the statistic that needs it; n says how many were used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from quant.stats.agreement import BlandAltman, IccResult, KappaResult, bland_altman, cohen_kappa, icc_2_1
from quant.stats.subject_bootstrap import subject_bootstrap_agreement

__all__ = ["ReadPair", "AgreementRow", "agreement_table"]


@dataclass(frozen=True)
class ReadPair:
    """The two independent reads of one scan (input of the agreement analysis).

    lesion_pct_*: % of whole-lung volume (None: not evaluable); normal_*: normal-CT calls;
    adjudicated: whether the pair went to adjudication; visit, subject: where the scan belongs
    (the subject lets the whole-trial agreement resample subjects, not scans).
    """

    scan_id: str | int
    reader_a: str
    reader_b: str
    lesion_pct_a: float | None
    lesion_pct_b: float | None
    normal_a: bool | None
    normal_b: bool | None
    adjudicated: bool
    visit: str | None = None
    subject: str | None = None


@dataclass(frozen=True)
class AgreementRow:
    """One agreement statistic for a scope ("all" or "readerX|readerY").

    statistic: ``icc_2_1`` (lesion %), ``bland_altman_bias|sd|loa_low|loa_high`` (lesion %,
    read A - read B, percentage points), ``kappa_normal_ct``, ``adjudication_rate`` (fraction of
    pairs adjudicated); scope "all" also has ``icc_2_1_subject_bootstrap`` and
    ``bland_altman_bias_subject_bootstrap``, whose intervals resample subjects with all their
    visits (:mod:`quant.stats.subject_bootstrap`). ci_low/ci_high: 95% CI where the statistic has one.
    """

    scope: str
    statistic: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    note: str = ""


def _agreement_for(scope: str, pairs: Sequence[ReadPair]) -> list[AgreementRow]:
    out: list[AgreementRow] = []
    cont = [(p.lesion_pct_a, p.lesion_pct_b) for p in pairs if p.lesion_pct_a is not None and p.lesion_pct_b is not None]
    r1 = [a for a, _ in cont]
    r2 = [b for _, b in cont]
    try:
        icc: IccResult = icc_2_1(r1, r2)
        out.append(AgreementRow(scope, "icc_2_1", icc.icc, icc.ci_low, icc.ci_high, len(cont)))
    except ValueError as exc:
        out.append(AgreementRow(scope, "icc_2_1", None, None, None, len(cont), f"not estimable: {exc}"))
    try:
        ba: BlandAltman = bland_altman(r1, r2)
        for name, value in (("bias", ba.bias), ("sd", ba.sd), ("loa_low", ba.loa_low), ("loa_high", ba.loa_high)):
            out.append(AgreementRow(scope, f"bland_altman_{name}", value, None, None, ba.n))
    except ValueError as exc:
        out.append(AgreementRow(scope, "bland_altman_bias", None, None, None, len(cont), f"not estimable: {exc}"))
    calls = [(p.normal_a, p.normal_b) for p in pairs if p.normal_a is not None and p.normal_b is not None]
    try:
        k: KappaResult = cohen_kappa([bool(a) for a, _ in calls], [bool(b) for _, b in calls])
        note = f"observed agreement {k.observed_agreement!r}"
        if len({a for a, _ in calls}) == 1 or len({b for _, b in calls}) == 1:
            # the asymptotic SE is 0 when a reader used one category: a zero-width interval is not real
            out.append(AgreementRow(scope, "kappa_normal_ct", k.kappa, None, None, k.n,
                                    note + "; one reader made a single call throughout: no confidence interval"))
        else:
            out.append(AgreementRow(scope, "kappa_normal_ct", k.kappa, k.ci_low, k.ci_high, k.n, note))
    except ValueError as exc:
        out.append(AgreementRow(scope, "kappa_normal_ct", None, None, None, len(calls), f"not estimable: {exc}"))
    n_adj = sum(1 for p in pairs if p.adjudicated)
    rate = n_adj / len(pairs) if pairs else None
    out.append(AgreementRow(scope, "adjudication_rate", rate, None, None, len(pairs), f"{n_adj} of {len(pairs)} pairs adjudicated"))
    return out


def _subject_bootstrap_rows(pairs: Sequence[ReadPair]) -> list[AgreementRow]:
    cont = [p for p in pairs if p.lesion_pct_a is not None and p.lesion_pct_b is not None]
    if not cont or any(p.subject is None for p in cont):
        return []  # pairs without subjects: nothing to resample by
    names = ("icc_2_1_subject_bootstrap", "bland_altman_bias_subject_bootstrap")
    try:
        boot = subject_bootstrap_agreement([p.lesion_pct_a for p in cont], [p.lesion_pct_b for p in cont],
                                           [p.subject for p in cont])
    except ValueError as exc:
        return [AgreementRow("all", name, None, None, None, len(cont), f"not estimable: {exc}") for name in names]
    note = (f"95% percentile interval of {boot.n_boot} resamples of the {boot.n_subjects} subjects with all their "
            f"visits (seed {boot.seed})")
    failed = f"; {boot.n_failed} resample(s) without variance left out" if boot.n_failed else ""
    return [AgreementRow("all", names[0], boot.icc, boot.icc_ci_low, boot.icc_ci_high, boot.n_pairs, note + failed),
            AgreementRow("all", names[1], boot.bias, boot.bias_ci_low, boot.bias_ci_high, boot.n_pairs, note)]


def agreement_table(pairs: Sequence[ReadPair]) -> list[AgreementRow]:
    """Reader agreement for all double reads (scope "all"), for each visit ("visit DAY10") and for
    each reader pair.

    For scopes "all" and per visit, column A is the first and B the second read of each pair. Per
    reader pair ("alice|bob", names sorted) each column is one reader, so a systematic reader bias
    shows in the Bland-Altman bias and lowers ICC(A,1). Scope "all" pools a subject's visits as if
    they were different subjects (its F interval is too narrow when visits correlate), so it also
    gets the subject-level bootstrap rows, the whole-trial figure to quote; each visit's scope has
    one scan per subject.
    """
    out = _agreement_for("all", list(pairs)) + _subject_bootstrap_rows(pairs)
    by_visit: dict[str, list[ReadPair]] = defaultdict(list)
    for p in pairs:
        if p.visit:
            by_visit[p.visit].append(p)
    for visit in by_visit:  # in the order the pairs come (the dataset orders them by visit)
        out.extend(_agreement_for(f"visit {visit}", by_visit[visit]))
    by_pair: dict[str, list[ReadPair]] = defaultdict(list)
    for p in pairs:
        if p.reader_a <= p.reader_b:
            by_pair[f"{p.reader_a}|{p.reader_b}"].append(p)
        else:  # orient the pair so that column A is always the same reader
            by_pair[f"{p.reader_b}|{p.reader_a}"].append(
                ReadPair(p.scan_id, p.reader_b, p.reader_a, p.lesion_pct_b, p.lesion_pct_a, p.normal_b, p.normal_a, p.adjudicated, p.visit,
                         p.subject)
            )
    for scope in sorted(by_pair):
        out.extend(_agreement_for(scope, by_pair[scope]))
    return out
