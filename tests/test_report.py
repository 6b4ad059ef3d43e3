"""PNG figures and the PDF report of the endpoint analysis."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from quant.analysis import run_analysis
from quant.report import FIGURE_NAMES, write_figures, write_report
from tests.test_analysis import _pairs, _trial


@pytest.fixture(scope="module")
def analysis():
    return run_analysis(_trial(), _pairs())


def test_png_figures_decode(tmp_path, analysis):
    from matplotlib.image import imread

    paths = write_figures(analysis, _pairs(), tmp_path)
    assert set(paths) == set(FIGURE_NAMES)
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = imread(path)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300
        # something was drawn: not a blank white canvas
        assert float(np.std(img[..., :3])) > 0.05
    assert "matplotlib.pyplot" not in sys.modules


def test_pdf_report_pages(tmp_path, analysis):
    path = write_report(analysis, _pairs(), tmp_path / "report.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    counts = [int(m) for m in re.findall(rb"/Count (\d+)", data)]
    # cover + 5 figures + one page per table (summary 24 rows, between-arm 10, normal CT 3,
    # agreement 21: each fits on one 32-row page)
    assert counts and max(counts) == 1 + 5 + 4


def test_report_of_blinded_data(tmp_path):
    res = run_analysis(_trial(blinded=True))
    path = write_report(res, [], tmp_path / "blinded.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    paths = write_figures(res, [], tmp_path)
    assert all(p.stat().st_size > 1000 for p in paths.values())


def test_unknown_figure_name_is_refused(tmp_path, analysis):
    with pytest.raises(ValueError, match="unknown figure name"):
        write_figures(analysis, _pairs(), tmp_path, names=["lespct_by_visit", "histogram"])


def test_report_pool_draws_what_the_serial_path_draws(tmp_path, analysis):
    """The worker processes of `lungread stats` write the same PNGs (byte for byte: Agg is
    deterministic) and a PDF with the same pages as drawing in this process."""
    from quant.report_pool import ReportPool

    serial = write_figures(analysis, _pairs(), tmp_path / "serial")
    with ReportPool(parallel=True) as pool:
        pngs, pdf = pool.write(analysis, _pairs(), png_dir=tmp_path / "pool", pdf_path=tmp_path / "r.pdf",
                               title="T")
        assert pool._pool is not None, "the workers did not start: nothing was drawn in parallel"
        only_pngs, no_pdf = pool.write(analysis, _pairs(), png_dir=tmp_path / "pool2", pdf_path=None, title="T")
    assert list(pngs) == list(FIGURE_NAMES) and list(only_pngs) == list(FIGURE_NAMES) and no_pdf is None
    for name in FIGURE_NAMES:
        assert pngs[name].read_bytes() == serial[name].read_bytes() == only_pngs[name].read_bytes(), name
    counts = [int(m) for m in re.findall(rb"/Count (\d+)", pdf.read_bytes())]
    assert max(counts) == 1 + 5 + 4


def test_report_pool_falls_back_when_a_worker_dies(tmp_path, analysis):
    from quant.report_pool import ReportPool

    with ReportPool(parallel=True) as pool:
        pool._started.wait()
        for process in list(pool._pool._processes.values()):
            process.kill()
            process.join()
        pngs, pdf = pool.write(analysis, _pairs(), png_dir=tmp_path / "png", pdf_path=tmp_path / "r.pdf", title="T")
    assert pool._pool is None
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs.values()) and len(pngs) == 5
    assert pdf.read_bytes().startswith(b"%PDF")


def test_report_pool_serial_draws_the_same_files(tmp_path, analysis):
    from quant.report_pool import ReportPool

    with ReportPool(parallel=False) as pool:
        pngs, pdf = pool.write(analysis, _pairs(), png_dir=tmp_path / "png", pdf_path=tmp_path / "r.pdf", title="T")
        assert pool._pool is None
    assert list(pngs) == list(FIGURE_NAMES) and pdf.read_bytes().startswith(b"%PDF")


def test_idle_core_measure_is_within_the_machine(monkeypatch):
    import os

    from quant import report_pool

    value = report_pool._idle_cores(0.02)
    assert 0.0 <= value <= (os.cpu_count() or 1) + 1e-9
    # Unmeasurable (no /proc/stat): counted as no idle core, so the report is drawn in-process.
    monkeypatch.setattr(report_pool, "_cpu_times", lambda: (_ for _ in ()).throw(OSError("no /proc")))
    assert report_pool._idle_cores(0.0) == 0.0
