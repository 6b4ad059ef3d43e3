"""Endpoint report: PNG figures and a PDF (figures + tables) drawn with matplotlib's Agg canvas.

pyplot is never imported: it would pick an interactive (Qt) backend inside the desktop app and
keeps global figure state. Figures are built as ``matplotlib.figure.Figure`` and rendered with
``FigureCanvasAgg`` (PNG) or ``backend_pdf.PdfPages`` (PDF), so this module is safe in worker
threads and headless runs.

Figures (units: % of whole-lung volume; change in percentage points):
* ``lespct_by_visit.png`` / ``solpct_by_visit.png``: median with IQR per arm over visits;
* ``lespct_change.png`` / ``solpct_change.png``: change from baseline, median with IQR;
* ``bland_altman.png``: reader A - reader B lesion % against their mean, bias and 95% limits.
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

from quant.analysis.agreement import ReadPair
from quant.analysis.csv_export import plan_lines
from quant.analysis.tables import PARAMS, AnalysisResult
from quant.stats.agreement import bland_altman

__all__ = ["visit_figure", "bland_altman_figure", "write_figures", "write_report", "FIGURE_NAMES"]

FIGURE_NAMES = ("lespct_by_visit", "solpct_by_visit", "lespct_change", "solpct_change", "bland_altman")
_ARM_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
_ROWS_PER_PAGE = 32
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


def visit_figure(result: AnalysisResult, paramcd: str = "LESPCT", variable: str = "AVAL") -> Figure:
    """Median with IQR (error bars Q1..Q3) per arm over visits, x = visit number, labelled by name."""
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    rows = [s for s in result.summaries if s.paramcd == paramcd and s.variable == variable and s.n > 0]
    visits = sorted({(s.visit_num, s.visit) for s in result.summaries if s.paramcd == paramcd})
    arms = sorted({s.arm for s in rows}, key=lambda a: (a != result.treatment, a))
    width = 0.08 * (len(arms) - 1)
    for i, arm in enumerate(arms):
        pts = sorted((s.visit_num, s.median, s.q1, s.q3, s.n) for s in rows if s.arm == arm)
        if not pts:
            continue
        xs = np.array([p[0] for p in pts]) + (i * 0.08 - width / 2)
        med = np.array([p[1] for p in pts])
        err = np.array([[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]])
        label = f"{arm or 'all (blinded)'}"
        ax.errorbar(xs, med, yerr=err, marker="o", capsize=3, color=_ARM_COLOURS[i % 4], label=label)
    ax.set_xticks([v for v, _ in visits], [name for _, name in visits], rotation=30, ha="right")
    what = PARAMS[paramcd].split(",")[0]
    if variable == "CHG":
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_ylabel("change from baseline (percentage points)")
        ax.set_title(f"{what}, change from baseline: median (IQR)", y=_TITLE_Y)
    else:
        ax.set_ylabel(f"{what} (% of lung volume)")
        ax.set_title(f"{what}: median (IQR) by arm", y=_TITLE_Y)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.2, top=0.92)  # fixed: tight_layout is slow
    return fig


def _pair_values(pairs: Sequence[ReadPair]) -> tuple[np.ndarray, np.ndarray]:
    ok = [(p.lesion_pct_a, p.lesion_pct_b) for p in pairs if p.lesion_pct_a is not None and p.lesion_pct_b is not None]
    return np.array([a for a, _ in ok], dtype=float), np.array([b for _, b in ok], dtype=float)


def bland_altman_figure(pairs: Sequence[ReadPair]) -> Figure:
    """Bland-Altman plot of the double reads' lesion % (first read A minus second read B)."""
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    a, b = _pair_values(pairs)
    ax.set_xlabel("mean of the two reads (lesion %, % of lung volume)")
    ax.set_ylabel("read A - read B (percentage points)")
    if a.size >= 2:
        ba = bland_altman(a, b)
        ax.scatter((a + b) / 2.0, a - b, s=10, alpha=0.6)
        for y, style, text in ((ba.bias, "-", "bias"), (ba.loa_low, "--", "-1.96 SD"), (ba.loa_high, "--", "+1.96 SD")):
            ax.axhline(y, color="k", ls=style, lw=1)
            ax.annotate(f"{text} {y:.2f}", xy=(1.0, y), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8)
        ax.set_title(f"Bland-Altman, lesion % (n = {ba.n} read pairs)", y=_TITLE_Y)
    else:
        ax.text(0.5, 0.5, "fewer than 2 complete read pairs", ha="center", va="center", transform=ax.transAxes)
        ax.set_title("Bland-Altman, lesion %", y=_TITLE_Y)
    ax.grid(alpha=0.3)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.13, top=0.92)
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
    return [
        ("Summary per visit and arm (% of lung volume; CHG in percentage points)",
         ["visit", "param", "var", "arm", "n/N", "median", "IQR", "mean", "SD"], summary),
        (f"Between arms, {t} - {c}: Hodges-Lehmann (95% CI), Wilcoxon p; Welch (95% CI), p",
         ["visit", "param", "var", f"n {t}/{c}", "HL shift (95% CI)", "p", "method", "Welch diff (95% CI)", "p"], comp),
        (f"Normal CT: n/N per arm, Fisher exact p, {t} - {c} difference (Newcombe 95% CI)",
         ["visit", t, c, "Fisher p", "difference (95% CI)"], prop),
        ("Reader agreement (lesion %: ICC(2,1), Bland-Altman; normal CT: kappa)",
         ["scope", "statistic", "estimate", "CI low", "CI high", "n"], agree),
    ]


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(v)) for v in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    def line(vals):
        return "  ".join(str(v).ljust(w) for v, w in zip(vals, widths))
    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def _table_pages(title: str, header: list[str], rows: list[list[str]]) -> list[Figure]:
    # One monospaced text block per page: ax.table creates one Text artist per cell, which is
    # ~10x slower to lay out, and `lungread stats` has a 2 s budget.
    pages = []
    chunks = [rows[i : i + _ROWS_PER_PAGE] for i in range(0, len(rows), _ROWS_PER_PAGE)] or [[]]
    for k, chunk in enumerate(chunks):
        fig = Figure(figsize=(11.69, 8.27))  # A4 landscape, inches
        suffix = f" (page {k + 1} of {len(chunks)})" if len(chunks) > 1 else ""
        fig.text(0.04, 0.95, title + suffix, fontsize=11, va="top")
        body = _text_table(header, chunk) if chunk else "no rows (blinded data or nothing estimable)"
        fig.text(0.04, 0.90, body, fontsize=8, family=["Courier", "monospace"], va="top")
        pages.append(fig)
    return pages


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
            "Missing data: observed cases; n = values used, N = scans at that visit and arm.",
            *[line for line in plan_lines(result) if line],
            "Hodges-Lehmann shift with Wilcoxon rank-sum p as R wilcox.test(conf.int = TRUE):",
            "exact when both arms n < 50 without ties, else normal approximation with continuity correction.",
            "Normal CT: Fisher exact two-sided p; Newcombe hybrid-score 95% CI of the difference.",
        ]
        for i, line in enumerate(lines):
            cover.text(0.05, 0.84 - 0.036 * i, line, fontsize=8.5, wrap=True)
        pages = [cover, *figures.values()]
        for title_, header, rows in _tables(result):
            pages.extend(_table_pages(title_, header, rows))
        for number, page in enumerate(pages, start=1):  # numbered: a page torn out is missed
            page.text(0.98, 0.015, f"{title} - page {number} of {len(pages)}", ha="right", fontsize=7,
                      color="0.35")
            pdf.savefig(page)
    return out_path

