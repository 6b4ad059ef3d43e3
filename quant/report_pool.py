"""Drawing the report in two worker processes, started early so that matplotlib's import overlaps
the caller's own work.

Why: ``lungread stats`` has a 2 s budget on 2 cores. Serially it spends ~0.6 s importing
matplotlib and ~1 s drawing (five PNG figures, then the PDF, which draws them again as vectors)
after the database work. Here a ``forkserver`` preloaded with :mod:`quant.report` imports
matplotlib on the second core while the caller imports SQLAlchemy and computes the analysis; the
PNGs and the PDF are then drawn at the same time by two workers forked from it.

The forkserver is started from a background thread, because starting the first worker blocks
until the server has finished its preload. Where ``forkserver`` does not exist (Windows) or a
worker dies, :meth:`ReportPool.write` draws in this process instead: slower, same files.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quant.analysis import AnalysisResult
    from quant.analysis_agreement import ReadPair

__all__ = ["ReportPool"]

_log = logging.getLogger(__name__)
_WORKERS = 2


def _ready() -> int:
    return os.getpid()


def _draw_pngs(result: "AnalysisResult", pairs: Sequence["ReadPair"], out_dir: Path,
               names: Sequence[str]) -> dict[str, Path]:
    from quant import report

    return report.write_figures(result, pairs, out_dir, names=names)


def _draw_pdf(result: "AnalysisResult", pairs: Sequence["ReadPair"], path: Path, title: str) -> Path:
    from quant import report

    return report.write_report(result, pairs, path, title=title)


class ReportPool:
    """Two report-drawing worker processes; create it as early as possible, then call
    :meth:`write` once the analysis is computed, and :meth:`close` (or use it as a context
    manager)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._started = threading.Event()
        if "forkserver" not in multiprocessing.get_all_start_methods():
            self._started.set()
            return
        threading.Thread(target=self._start, name="report-pool-start", daemon=True).start()

    def _start(self) -> None:
        try:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["quant.report"])
            pool = ProcessPoolExecutor(_WORKERS, mp_context=ctx)
            for future in [pool.submit(_ready) for _ in range(_WORKERS)]:
                future.result()
            self._pool = pool
        except Exception as exc:  # noqa: BLE001  no worker processes here: draw in-process
            _log.warning("report workers unavailable (%s); drawing in this process", exc)
        finally:
            self._started.set()

    def write(
        self,
        result: "AnalysisResult",
        pairs: Sequence["ReadPair"],
        *,
        png_dir: Path | None,
        pdf_path: Path | None,
        title: str,
    ) -> tuple[dict[str, Path], Path | None]:
        """Draw the PNG figures into ``png_dir`` and/or the PDF report at ``pdf_path`` (see
        :mod:`quant.report`); returns (figure name -> PNG path, PDF path)."""
        from quant.report import FIGURE_NAMES

        self._started.wait()
        jobs: list[tuple] = []
        if pdf_path is not None:
            jobs.append((_draw_pdf, result, pairs, Path(pdf_path), title))
        if png_dir is not None:
            # Alone, the PNGs are split over both workers; beside the PDF they are one job.
            split = 1 if pdf_path is not None else _WORKERS
            for k in range(split):
                jobs.append((_draw_pngs, result, pairs, Path(png_dir), FIGURE_NAMES[k::split]))
        outputs = self._run(jobs)
        pngs: dict[str, Path] = {}
        pdf: Path | None = None
        for out in outputs:
            if isinstance(out, dict):
                pngs.update(out)
            else:
                pdf = out
        return {name: pngs[name] for name in FIGURE_NAMES if name in pngs}, pdf

    def _run(self, jobs: list[tuple]) -> list:
        if self._pool is not None:
            try:
                futures: list[Future] = [self._pool.submit(*job) for job in jobs]
                return [f.result() for f in futures]
            except BrokenProcessPool as exc:
                _log.warning("a report worker died (%s); drawing in this process", exc)
                self._pool = None
        return [job[0](*job[1:]) for job in jobs]

    def close(self) -> None:
        self._started.wait()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> "ReportPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
