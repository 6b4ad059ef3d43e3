"""PNG figures and the PDF report of the endpoint analysis."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from quant.analysis.report import FIGURE_NAMES, write_figures, write_report
from quant.analysis.tables import run_analysis
from tests.support.analysis_records import read_pairs, trial_records
from tests.support.paths import REPO_ROOT


@pytest.fixture(scope="module")
def analysis():
    return run_analysis(trial_records(), read_pairs())


def test_png_figures_decode(tmp_path, analysis):
    from matplotlib.image import imread

    paths = write_figures(analysis, read_pairs(), tmp_path)
    assert set(paths) == set(FIGURE_NAMES)
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = imread(path)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300
        # something was drawn: not a blank white canvas
        assert float(np.std(img[..., :3])) > 0.05
    assert "matplotlib.pyplot" not in sys.modules


def test_pdf_report_pages(tmp_path, analysis):
    path = write_report(analysis, read_pairs(), tmp_path / "report.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    counts = [int(m) for m in re.findall(rb"/Count (\d+)", data)]
    # cover + 5 figures + table pages: summary (24 rows), between-arm (10) and normal CT (3) share
    # one page (48 rows and the titles), agreement (23) the next
    assert counts and max(counts) == 1 + 5 + 2


def test_report_of_blinded_data(tmp_path):
    res = run_analysis(trial_records(blinded=True))
    path = write_report(res, [], tmp_path / "blinded.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    paths = write_figures(res, [], tmp_path)
    assert all(p.stat().st_size > 1000 for p in paths.values())


def test_unknown_figure_name_is_refused(tmp_path, analysis):
    with pytest.raises(ValueError, match="unknown figure name"):
        write_figures(analysis, read_pairs(), tmp_path, names=["lespct_by_visit", "histogram"])


def test_report_pool_draws_what_the_serial_path_draws(tmp_path, analysis):
    """The worker processes of `lungread stats` write the same PNGs (byte for byte: Agg is
    deterministic) and a PDF with the same pages as drawing in this process."""
    from quant.analysis import report_pool
    from quant.analysis.report_pool import ReportPool

    serial = write_figures(analysis, read_pairs(), tmp_path / "serial")
    with ReportPool(parallel=True) as pool:
        pngs, pdf = pool.submit(analysis, read_pairs(), png_dir=tmp_path / "pool", pdf_path=tmp_path / "r.pdf",
                                title="T").result()
        assert pool.parallel, "the workers did not start: nothing was drawn in parallel"
        only_pngs, no_pdf = pool.submit(analysis, read_pairs(), png_dir=tmp_path / "pool2", pdf_path=None,
                                        title="T").result()
        servers = [pid for pid in pool._children if report_pool._is_forkserver(pid)]
    # The pool ends its forkserver: left alone it would hold this process's stdout open until
    # after this process exits. Gone, or a zombie that multiprocessing reaps later.
    if sys.platform.startswith("linux"):
        assert len(servers) == 1
        stat = Path(f"/proc/{servers[0]}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    assert list(pngs) == list(FIGURE_NAMES) and list(only_pngs) == list(FIGURE_NAMES) and no_pdf is None
    for name in FIGURE_NAMES:
        assert pngs[name].read_bytes() == serial[name].read_bytes() == only_pngs[name].read_bytes(), name
    counts = [int(m) for m in re.findall(rb"/Count (\d+)", pdf.read_bytes())]
    assert max(counts) == 1 + 5 + 2


def test_report_pool_falls_back_when_a_worker_dies(tmp_path, analysis):
    from quant.analysis.report_pool import ReportPool

    with ReportPool(parallel=True) as pool:
        assert pool.parallel
        for process in list(pool._executor._processes.values()):
            process.kill()
            process.join()
        pngs, pdf = pool.submit(analysis, read_pairs(), png_dir=tmp_path / "png", pdf_path=tmp_path / "r.pdf",
                                title="T").result()
    assert not pool.parallel
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs.values()) and len(pngs) == 5
    assert pdf.read_bytes().startswith(b"%PDF")


def test_report_pool_serial_draws_the_same_files(tmp_path, analysis):
    from quant.analysis.report_pool import ReportPool

    with ReportPool(parallel=False) as pool:
        pngs, pdf = pool.submit(analysis, read_pairs(), png_dir=tmp_path / "png", pdf_path=tmp_path / "r.pdf",
                                title="T").result()
        assert not pool.parallel
    assert list(pngs) == list(FIGURE_NAMES) and pdf.read_bytes().startswith(b"%PDF")


def _spin(seconds: float) -> None:
    import time

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and CPU affinity are Linux's")
def test_cpu_share_sees_a_competitor_for_the_cpu(monkeypatch):
    """The pool's busy-machine check: a busy process that shares its CPU with a busy thread of
    this one gets about half of it; unmeasurable counts as busy (the report is drawn in-process)."""
    import os
    import subprocess
    import threading

    from quant.analysis import report_pool

    cpu = min(os.sched_getaffinity(0))
    rival = subprocess.Popen([sys.executable, "-c", f"import os, time\nos.sched_setaffinity(0, {{{cpu}}})\n"
                              "end = time.perf_counter() + 3\nwhile time.perf_counter() < end: pass"])
    started = threading.Event()

    def busy() -> None:
        os.sched_setaffinity(0, {cpu})  # this thread only
        started.set()
        _spin(1.2)

    thread = threading.Thread(target=busy)
    thread.start()
    started.wait()
    try:
        share = report_pool._cpu_share([rival.pid], 0.5)
    finally:
        thread.join()
        rival.kill()
        rival.wait()
    assert 0.0 < share < report_pool._MIN_CPU_SHARE
    monkeypatch.setattr(report_pool, "_cpu_ticks", lambda pids: (_ for _ in ()).throw(OSError("no /proc")))
    assert report_pool._cpu_share([rival.pid], 0.0) == 0.0


_SUBMIT_EARLY = """
import pickle, sys
from pathlib import Path
from quant.analysis.report_pool import ReportPool
result, pairs, out = pickle.loads(sys.stdin.buffer.read())
with ReportPool(parallel=True) as pool:
    drawing = pool.submit(result, pairs, png_dir=Path(out) / "png", pdf_path=Path(out) / "r.pdf", title="T")
    pngs, pdf = drawing.result()
    print(pool.parallel, "matplotlib" in sys.modules, *sorted(pngs), pdf.name)
"""


def test_report_submitted_before_the_workers_are_up_is_drawn_by_them(tmp_path, analysis):
    """`lungread stats` submits as soon as its analysis is done, maybe before the workers have
    imported matplotlib: the jobs still go to the workers, and the submitting process never
    imports matplotlib (its import alone would cost ~0.6 s of the 2 s budget)."""
    import pickle
    import subprocess

    root = REPO_ROOT
    proc = subprocess.run([sys.executable, "-c", _SUBMIT_EARLY], input=pickle.dumps((analysis, read_pairs(), str(tmp_path))),
                          capture_output=True, cwd=root, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split() == ["True", "False", *sorted(FIGURE_NAMES), "r.pdf"]
    serial = write_figures(analysis, read_pairs(), tmp_path / "serial")
    for name in FIGURE_NAMES:
        assert (tmp_path / "png" / f"{name}.png").read_bytes() == serial[name].read_bytes(), name
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_report_drawing_result_is_stable_and_serial_fallback_draws_only_what_is_missing(tmp_path, analysis):
    from quant.analysis.report_pool import ReportPool

    with ReportPool(parallel=False) as pool:
        drawing = pool.submit(analysis, read_pairs(), png_dir=None, pdf_path=tmp_path / "only.pdf", title="T")
        first = drawing.result()
        assert drawing.result() is first  # drawn once
    assert first[0] == {} and first[1].read_bytes().startswith(b"%PDF")
    assert not (tmp_path / "png").exists()


def test_every_pdf_page_is_numbered(tmp_path, analysis):
    """'page i of n' on every page, so a missing page shows (read from an uncompressed PDF)."""
    import matplotlib

    with matplotlib.rc_context({"pdf.compression": 0}):
        data = write_report(analysis, read_pairs(), tmp_path / "r.pdf", title="T report").read_bytes()
    pages = max(int(m) for m in re.findall(rb"/Count (\d+)", data))
    found = re.findall(rb"\(T report - page (\d+) of (\d+)\)", data)
    assert sorted(int(i) for i, _ in found) == list(range(1, pages + 1))
    assert {int(n) for _, n in found} == {pages}


def test_visit_figures_use_the_study_day_and_show_n(analysis):
    from quant.analysis.report import visit_figure

    ax = visit_figure(analysis, "LESPCT", "CHG").axes[0]
    assert ax.get_xscale() == "function" and list(ax.get_xticks()) == [1.0, 10.0, 365.0]  # VISITS' days
    assert [t.get_text() for t in ax.get_xticklabels()] == ["BASELINE\nday 1", "DAY10\nday 10", "MONTH12\nday 365"]
    texts = [t.get_text() for t in ax.texts]
    # n per arm and visit under the axis: S002 (MSC) has no DAY10 value
    assert "n MSC" in texts and "n Placebo" in texts and texts.count("9") == 1 and texts.count("10") == 2
    # a visit without a study day: visit numbers, said so on the axis
    import dataclasses

    no_day = dataclasses.replace(analysis, summaries=[dataclasses.replace(s, study_day=None) for s in analysis.summaries])
    ax = visit_figure(no_day, "LESPCT", "AVAL").axes[0]
    assert ax.get_xscale() == "linear" and list(ax.get_xticks()) == [0.0, 1.0, 6.0]
    assert ax.get_xlabel() == "visit (study day not known)"


def test_bland_altman_names_the_readers():
    import dataclasses

    from quant.analysis.report import bland_altman_figure

    two = [p for p in read_pairs() if {p.reader_a, p.reader_b} == {"alice", "bob"}]
    ax = bland_altman_figure(two).axes[0]
    assert ax.get_ylabel() == "alice - bob (percentage points)"
    # alice reads 1 point higher whichever column her read came in: the plotted differences say so
    diffs = ax.collections[0].get_offsets()[:, 1]
    assert 0.3 < float(np.mean(diffs)) < 1.7 and len(diffs) == 30
    three = two + [dataclasses.replace(two[0], reader_a="carol", reader_b="bob"),
                   dataclasses.replace(two[1], reader_a="carol", reader_b="alice")]
    ax = bland_altman_figure(three).axes[0]
    assert "reader X - reader Y" in ax.get_ylabel()
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == [
        "X = alice, Y = bob (30)", "X = alice, Y = carol (1)", "X = bob, Y = carol (1)"]
