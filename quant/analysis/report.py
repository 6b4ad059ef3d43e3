"""Endpoint report: PNG figures and a PDF (figures + tables) drawn with matplotlib's Agg canvas.

pyplot is never imported: it would pick an interactive (Qt) backend inside the desktop app and
keeps global figure state. Figures are built as ``matplotlib.figure.Figure`` and rendered with
``FigureCanvasAgg`` (PNG) or ``backend_pdf.PdfPages`` (PDF), so this module is safe in worker
threads and headless runs.

Figures (units: % of whole-lung volume; change in percentage points):
* ``lespct_by_visit.png`` / ``solpct_by_visit.png``: median with IQR per arm over study days,
  with n per arm and visit;
* ``lespct_change.png`` / ``solpct_change.png``: change from baseline, median with IQR, with n;
* ``bland_altman.png``: one named reader's lesion % minus the other's against their mean, bias and
  95% limits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.transforms import offset_copy

from quant.analysis.agreement import ReadPair
from quant.analysis.csv_export import plan_lines
from quant.analysis.population import MITT_RULES
from quant.analysis.tables import PARAMS, AnalysisResult
from quant.stats.agreement import bland_altman

__all__ = ["visit_figure", "bland_altman_figure", "write_figures", "write_report", "FIGURE_NAMES"]

FIGURE_NAMES = ("lespct_by_visit", "solpct_by_visit", "lespct_change", "solpct_change", "bland_altman")
_ARM_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
_ROWS_PER_PAGE = 48  # Courier 8 pt lines: 48 rows, a title and a header fill an A4 landscape page
# The PDF uses the PDF core fonts (Helvetica, Courier): nothing to embed or subset, which makes
# text pages ~10x and figure pages ~2x cheaper to write than with embedded DejaVu glyphs (the 2 s
# budget of `lungread stats`).
# Helvetica has no U+2212 (it would print a wrong glyph), so ticks use the ASCII hyphen-minus.
_PDF_RC = {"pdf.use14corefonts": True, "axes.unicode_minus": False}
# PNG text unhinted: FreeType's hinting costs ~10 ms per figure, and at 110 dpi with
# antialiasing the glyphs look the same.
_PNG_RC = {"text.hinting": "no_hinting"}
# A fixed title height: by default matplotlib measures every tick label's box to lift the title
# clear of them, ~35 ms per figure drawn; nothing is drawn above these axes.
_TITLE_Y = 1.0


@contextmanager
def _quiet_font_fallback():
    """Silence font_manager's "Failed to find font weight normal for Helvetica, now using medium"
    (the core AFM fonts only come in "medium"; the fallback is exactly what we want)."""
    logger = logging.getLogger("matplotlib.font_manager")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(old)


def _signed_sqrt(x):
    return np.sign(x) * np.sqrt(np.abs(x))


def _signed_square(x):
    return np.sign(x) * np.square(x)


def visit_figure(result: AnalysisResult, paramcd: str = "LESPCT", variable: str = "AVAL") -> Figure:
    """Median with IQR (error bars Q1..Q3) per arm over visits, placed at each visit's nominal
    study day (square-root scale, so that day 0, 10 and 28 stay apart beside day 365; visit
    numbers when a day is unknown), ticks named by visit, and n per arm and visit under the axis."""
    fig = Figure(figsize=(7.5, 4.8))
    ax = fig.add_subplot(1, 1, 1)
    rows = [s for s in result.summaries if s.paramcd == paramcd and s.variable == variable and s.n > 0]
    every = [s for s in result.summaries if s.paramcd == paramcd and s.variable == variable]
    visits = sorted({(s.visit_num, s.visit, s.study_day) for s in every})
    by_day = bool(visits) and all(day is not None for _, _, day in visits)
    where = {vnum: (day if by_day else vnum) for vnum, _, day in visits}
    if by_day:
        ax.set_xscale("function", functions=(_signed_sqrt, _signed_square))
    arms = sorted({s.arm for s in every}, key=lambda a: (a != result.treatment, a))
    # Offset artists do not update the data limits: the y range is set from the values.
    ys = [v for s in rows for v in (s.q1, s.median, s.q3) if v is not None] + ([0.0] if variable == "CHG" else [])
    if ys:
        span = (max(ys) - min(ys)) or 1.0
        ax.set_ylim(min(ys) - 0.08 * span, max(ys) + 0.08 * span)
    for i, arm in enumerate(arms):
        colour = _ARM_COLOURS[i % 4]
        # arms side by side, a fixed number of points apart whatever the scale
        shift = offset_copy(ax.transData, fig=fig, x=6.0 * (i - (len(arms) - 1) / 2), units="points")
        pts = sorted((where[s.visit_num], s.median, s.q1, s.q3) for s in rows if s.arm == arm)
        if pts:
            xs = np.array([p[0] for p in pts], dtype=float)
            med = np.array([p[1] for p in pts])
            err = np.array([[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]])
            ax.errorbar(xs, med, yerr=err, marker="o", capsize=3, color=colour, transform=shift,
                        label=arm or "all (blinded)")
        # n under the axis: one row per arm, a column per visit (0 where the arm has no value)
        n_at = {s.visit_num: s.n for s in every if s.arm == arm}
        row_y = -42 - 10 * i
        ax.annotate(f"n {arm or 'all'}", xy=(0.0, 0.0), xycoords="axes fraction", xytext=(-6, row_y),
                    textcoords="offset points", ha="right", va="center", fontsize=7, color=colour)
        for vnum, _, _ in visits:
            ax.annotate(str(n_at.get(vnum, 0)), xy=(where[vnum], 0.0), xycoords=("data", "axes fraction"),
                        xytext=(0, row_y), textcoords="offset points", ha="center", va="center", fontsize=7,
                        color=colour)
    if visits:
        ticks = [where[vnum] for vnum, _, _ in visits]
        labels = [f"{name}\nday {day:g}" if by_day else name for _, name, day in visits]
        ax.set_xticks(ticks, labels, fontsize=7)
        pad = 0.06 * (_signed_sqrt(max(ticks)) - _signed_sqrt(min(ticks))) if by_day else 0.3
        lo, hi = (_signed_sqrt(min(ticks)) - pad, _signed_sqrt(max(ticks)) + pad) if by_day else \
            (min(ticks) - pad, max(ticks) + pad)
        ax.set_xlim(*((_signed_square(lo), _signed_square(hi)) if by_day else (lo, hi)))
    ax.set_xlabel("study day (square-root scale)" if by_day else "visit (study day not known)", fontsize=8,
                  labelpad=22 + 10 * len(arms))
    what = PARAMS[paramcd].split(",")[0]
    if variable == "CHG":
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_ylabel("change from baseline (percentage points)")
        ax.set_title(f"{what}, change from baseline: median (IQR)", y=_TITLE_Y)
    else:
        ax.set_ylabel(f"{what} (% of lung volume)")
        ax.set_title(f"{what}: median (IQR) by arm", y=_TITLE_Y)
    if ax.get_legend_handles_labels()[0]:  # no arm with a value at any visit: nothing to explain
        ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.19 + 0.035 * len(arms), top=0.93)  # fixed: tight_layout is slow
    return fig


def _oriented_pairs(pairs: Sequence[ReadPair]) -> list[tuple[str, str, float, float]]:
    """(reader X, reader Y, X's lesion %, Y's lesion %) of each complete pair, X before Y
    alphabetically: the difference always has the same sign convention for a reader pair."""
    out = []
    for p in pairs:
        if p.lesion_pct_a is None or p.lesion_pct_b is None:
            continue
        if p.reader_a <= p.reader_b:
            out.append((p.reader_a, p.reader_b, p.lesion_pct_a, p.lesion_pct_b))
        else:
            out.append((p.reader_b, p.reader_a, p.lesion_pct_b, p.lesion_pct_a))
    return out


def bland_altman_figure(pairs: Sequence[ReadPair]) -> Figure:
    """Bland-Altman plot of the double reads' lesion %: for each scan, one named reader minus the
    other (alphabetical order within a reader pair), coloured by reader pair when there are several;
    bias and 95% limits of agreement labelled beside the axes, clear of the points."""
    fig = Figure(figsize=(7.0, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    oriented = _oriented_pairs(pairs)
    reader_pairs = sorted({(x, y) for x, y, _, _ in oriented})
    ax.set_xlabel("mean of the two reads (lesion %, % of lung volume)")
    if len(reader_pairs) == 1:
        x_name, y_name = reader_pairs[0]
        ax.set_ylabel(f"{x_name} - {y_name} (percentage points)")
    else:
        ax.set_ylabel("reader X - reader Y of each pair (percentage points)")
    if len(oriented) >= 2:
        a = np.array([o[2] for o in oriented])
        b = np.array([o[3] for o in oriented])
        ba = bland_altman(a, b)
        for i, (x_name, y_name) in enumerate(reader_pairs):
            mine = np.array([(o[0], o[1]) == (x_name, y_name) for o in oriented])
            ax.scatter((a[mine] + b[mine]) / 2.0, a[mine] - b[mine], s=10, alpha=0.6,
                       color=_ARM_COLOURS[i % 4] if len(reader_pairs) > 1 else "#1f77b4",
                       label=f"X = {x_name}, Y = {y_name} ({int(mine.sum())})")
        for y, style, text in ((ba.bias, "-", "bias"), (ba.loa_low, "--", "-1.96 SD"), (ba.loa_high, "--", "+1.96 SD")):
            ax.axhline(y, color="k", ls=style, lw=1)
            ax.annotate(f"{text}\n{y:.2f}", xy=(1.0, y), xycoords=("axes fraction", "data"), xytext=(4, 0),
                        textcoords="offset points", ha="left", va="center", fontsize=7)
        if len(reader_pairs) > 1:
            ax.legend(loc="best", fontsize=7)
        ax.set_title(f"Bland-Altman, lesion % (n = {ba.n} read pairs)", y=_TITLE_Y)
    else:
        ax.text(0.5, 0.5, "fewer than 2 complete read pairs", ha="center", va="center", transform=ax.transAxes)
        ax.set_title("Bland-Altman, lesion %", y=_TITLE_Y)
    ax.grid(alpha=0.3)
    fig.subplots_adjust(left=0.12, right=0.86, bottom=0.13, top=0.92)
    return fig


def _all_figures(result: AnalysisResult, pairs: Sequence[ReadPair],
                 names: Sequence[str] = FIGURE_NAMES) -> dict[str, Figure]:
    makers = {
        "lespct_by_visit": lambda: visit_figure(result, "LESPCT", "AVAL"),
        "solpct_by_visit": lambda: visit_figure(result, "SOLPCT", "AVAL"),
        "lespct_change": lambda: visit_figure(result, "LESPCT", "CHG"),
        "solpct_change": lambda: visit_figure(result, "SOLPCT", "CHG"),
        "bland_altman": lambda: bland_altman_figure(pairs),
    }
    unknown = set(names) - set(makers)
    if unknown:
        raise ValueError(f"unknown figure name(s) {sorted(unknown)}; known: {', '.join(FIGURE_NAMES)}")
    return {name: makers[name]() for name in names}


def write_figures(result: AnalysisResult, pairs: Sequence[ReadPair], out_dir: Path, dpi: int = 110,
                  names: Sequence[str] = FIGURE_NAMES) -> dict[str, Path]:
    """Write the PNG figures ``names`` (default: all five, see module docstring) into out_dir;
    returns name -> path."""
    return _save_pngs(_all_figures(result, pairs, names), Path(out_dir), dpi)


def _save_pngs(figures: dict[str, Figure], out_dir: Path, dpi: int) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    with rc_context(_PNG_RC):
        for name, fig in figures.items():
            paths[name] = out_dir / f"{name}.png"
            FigureCanvasAgg(fig)  # attach an Agg canvas explicitly: no backend lookup, no pyplot
            # zlib level 1: a third of the encode time of the default 6 for ~20% larger files
            fig.savefig(paths[name], dpi=dpi, format="png", pil_kwargs={"compress_level": 1})
    return paths


def _f(v: float | None, digits: int = 2) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def _p(v: float | None) -> str:
    return "" if v is None else ("<0.0001" if v < 1e-4 else f"{v:.4f}")


def _tables(result: AnalysisResult) -> list[tuple[str, list[str], list[list[str]]]]:
    summary = [
        [s.visit, s.paramcd, s.variable, s.arm, f"{s.n}/{s.n_total}", _f(s.median), f"{_f(s.q1)} - {_f(s.q3)}", _f(s.mean), _f(s.sd)]
        for s in result.summaries
    ]
    comp = []
    for c in result.comparisons:
        hl = c.hl
        w = c.welch
        comp.append([
            c.visit, c.paramcd, c.variable, f"{c.n_treatment} / {c.n_control}",
            f"{_f(hl.estimate)} ({_f(hl.ci_low)}, {_f(hl.ci_high)})" if hl else "n.e.",
            _p(hl.p_value) if hl else "", ("exact" if hl.exact else "normal") if hl else "",
            f"{_f(w.diff)} ({_f(w.ci_low)}, {_f(w.ci_high)})" if w else "n.e.", _p(w.p_value) if w else "",
        ])
    prop = [
        [p.visit, f"{p.k_treatment}/{p.n_treatment} (N {p.total_treatment})", f"{p.k_control}/{p.n_control} (N {p.total_control})",
         _p(p.fisher_p), f"{_f(p.diff, 3)} ({_f(p.ci_low, 3)}, {_f(p.ci_high, 3)})" if p.diff is not None else "n.e."]
        for p in result.proportions
    ]
    agree = [[a.scope, a.statistic, _f(a.estimate, 3), _f(a.ci_low, 3), _f(a.ci_high, 3), str(a.n)] for a in result.agreement]
    t, c = result.treatment, result.control
    return _population_tables(result) + [
        ("Summary per visit and arm (% of lung volume; CHG in percentage points)",
         ["visit", "param", "var", "arm", "n/N", "median", "IQR", "mean", "SD"], summary),
        (f"Between arms, {t} - {c}: Hodges-Lehmann (95% CI), Wilcoxon p; Welch (95% CI), p",
         ["visit", "param", "var", f"n {t}/{c}", "HL shift (95% CI)", "p", "method", "Welch diff (95% CI)", "p"], comp),
        (f"Normal CT: n/N per arm, Fisher exact p, {t} - {c} difference (Newcombe 95% CI)",
         ["visit", t, c, "Fisher p", "difference (95% CI)"], prop),
        ("Reader agreement (lesion %: ICC(2,1), Bland-Altman; normal CT: kappa)",
         ["scope", "statistic", "estimate", "CI low", "CI high", "n"], agree),
    ]


def _population_tables(result: AnalysisResult) -> list[tuple[str, list[str], list[list[str]]]]:
    """The CONSORT-style counts per arm, and the primary endpoint beside its sensitivity analysis."""
    pop = result.population
    if pop is None:
        return []
    arms = [c.arm for c in pop.counts]
    count = {c.arm: c for c in pop.counts}
    visits = sorted({(vnum, visit) for (_, vnum, visit, _) in pop.missing}
                    | {(s.visit_num, s.visit) for s in result.summaries})
    rows = [["randomised", *[str(count[a].randomised) for a in arms]],
            ["with at least one scan", *[str(count[a].with_scans) for a in arms]]]
    kinds = sorted({kind for (_, _, _, kind) in pop.missing})
    for _, visit in visits:
        rows.append([f"{visit}: lesion % evaluable", *[str(count[a].evaluable.get(visit, 0)) for a in arms]])
        for kind in kinds:
            n = [sum(v for (arm, _, vis, k), v in pop.missing.items() if arm == a and vis == visit and k == kind)
                 for a in arms]
            if any(n):
                rows.append([f"{visit}: {kind}", *[str(x) for x in n]])
    rows.append(["in mITT (analysed)", *[str(count[a].mitt) for a in arms]])
    out = [(f"Population, CONSORT-style counts per arm (mITT: {MITT_RULES[pop.mitt_rule]})", ["", *arms], rows)]
    primary = [h for h in result.hypotheses if h.role == "primary"]
    comp = {(c.visit, c.paramcd, c.variable): c for c in result.comparisons}
    plan = []
    for h in primary:
        c = comp[(h.visit, h.paramcd, h.variable)]
        hl = c.hl
        plan.append([f"primary: observed cases, mITT ({h.visit})", f"{c.n_treatment} / {c.n_control}", "0 / 0",
                     f"{_f(hl.estimate)} ({_f(hl.ci_low)}, {_f(hl.ci_high)})" if hl else "n.e.", "", _p(h.p_value)])
    for w in result.sensitivity:
        plan.append([f"sensitivity: worst rank, all randomised ({w.visit})", f"{w.n_treatment} / {w.n_control}",
                     f"{w.imputed_treatment} / {w.imputed_control}", "", _f(w.win_probability, 3),
                     _p(w.p_value) or w.note])
    if plan:
        out.append((f"Primary endpoint, change from baseline in lesion %, {result.treatment} - {result.control}",
                    ["analysis", f"n {result.treatment}/{result.control}", "imputed worst", "HL shift (95% CI)",
                     f"P({result.treatment} better)", "Wilcoxon p"], plan))
    return out


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(v)) for v in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    def line(vals):
        return "  ".join(str(v).ljust(w) for v, w in zip(vals, widths))
    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def _table_pages(tables: Sequence[tuple[str, list[str], list[list[str]]]]) -> list[Figure]:
    """The tables as text pages: a long table is split (with "page i of n" in its title), short
    ones share a page while they fit (_ROWS_PER_PAGE lines, a title and header counting 4)."""
    # One monospaced text block per table: ax.table creates one Text artist per cell, which is
    # ~10x slower to lay out, and `lungread stats` has a 2 s budget.
    blocks: list[tuple[str, str, int]] = []  # (title, body, lines)
    for title, header, rows in tables:
        chunks = [rows[i : i + _ROWS_PER_PAGE] for i in range(0, len(rows), _ROWS_PER_PAGE)] or [[]]
        for k, chunk in enumerate(chunks):
            suffix = f" (page {k + 1} of {len(chunks)})" if len(chunks) > 1 else ""
            body = _text_table(header, chunk) if chunk else "no rows (blinded data or nothing estimable)"
            blocks.append((title + suffix, body, len(chunk) + 4))
    pages: list[list[tuple[str, str, int]]] = []
    for block in blocks:
        if pages and sum(b[2] for b in pages[-1]) + block[2] <= _ROWS_PER_PAGE + 4:
            pages[-1].append(block)
        else:
            pages.append([block])
    figures = []
    for page in pages:
        fig = Figure(figsize=(11.69, 8.27))  # A4 landscape, inches
        y = 0.95
        for title, body, lines in page:
            fig.text(0.04, y, title, fontsize=11, va="top")
            fig.text(0.04, y - 0.05, body, fontsize=8, family=["Courier", "monospace"], va="top")
            y -= 0.06 + 0.0165 * (lines - 1)  # Courier 8 pt at 1.2 line spacing: 9.6 pt of 595
        figures.append(fig)
    return figures


def write_report(
    result: AnalysisResult,
    pairs: Sequence[ReadPair],
    out_path: Path,
    title: str = "LungRead endpoint report",
    png_dir: Path | None = None,
    dpi: int = 110,
) -> Path:
    """Write a PDF: a title page, the five figures, then the summary, between-arm, normal-CT and
    agreement tables (paginated). With ``png_dir`` the same figures are also written there as PNG
    (drawn once: cheaper than :func:`write_figures` + this). Returns the PDF path."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    figures = _all_figures(result, pairs)
    if png_dir is not None:
        _save_pngs(figures, Path(png_dir), dpi)
    with rc_context(_PDF_RC), _quiet_font_fallback(), PdfPages(out_path, metadata={"Title": title, "Creator": "LungRead"}) as pdf:
        cover = Figure(figsize=(11.69, 8.27))
        cover.text(0.05, 0.9, title, fontsize=18)
        lines = [
            *result.provenance,
            f"Subjects: {result.n_subjects}; "
            + (f"comparison {result.treatment} - {result.control} (treatment - control)." if result.treatment
               else "blinded: no arms, no between-arm comparison."),
            "Endpoints: " + "; ".join(f"{code} = {label}" for code, label in PARAMS.items() if code != "NORMCT") + ";",
            f"NORMCT = {PARAMS['NORMCT']}; CHG = value - baseline value (percentage points).",
            "Missing data: observed cases; n = values used, N = scans at that visit and arm; counts per arm and "
            "visit on the population page.",
            *[line for line in plan_lines(result) if line],
            "Hodges-Lehmann shift with Wilcoxon rank-sum p as R wilcox.test(conf.int = TRUE):",
            "exact when both arms n < 50 without ties, else normal approximation with continuity correction.",
            "Normal CT: Fisher exact two-sided p; Newcombe hybrid-score 95% CI of the difference.",
        ]
        for i, line in enumerate(lines):
            cover.text(0.05, 0.84 - 0.036 * i, line, fontsize=8.5, wrap=True)
        pages = [cover, *figures.values()]
        pages.extend(_table_pages(_tables(result)))
        for number, page in enumerate(pages, start=1):  # numbered: a page torn out is missed
            page.text(0.98, 0.015, f"{title} - page {number} of {len(pages)}", ha="right", fontsize=7,
                      color="0.35")
            pdf.savefig(page)
    return out_path

