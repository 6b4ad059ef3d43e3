"""Drawing the report in two worker processes, started early so that matplotlib's import overlaps
the caller's own work.

Why: ``lungread stats`` has a 2 s budget on 2 cores. Serially it spends ~0.6 s importing
matplotlib and ~1 s drawing (five PNG figures, then the PDF, which draws them again as vectors)
after the database work. Here a ``forkserver`` preloaded with :mod:`quant.report` imports
matplotlib on the second core while the caller imports SQLAlchemy and computes the analysis; the
PNGs and the PDF are then drawn at the same time by two workers forked from it.

The forkserver is started from a background thread, because starting the first worker blocks
until the server has finished its preload. :meth:`ReportPool.write` draws in this process
instead (slower on idle cores, same files) where ``forkserver`` does not exist (Windows), where
the other cores are busy (less than half a core idle over 0.1 s besides this process, read from
``/proc/stat``: three processes sharing busy cores are slower than one), or when a worker dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
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


def _cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all cores from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


def _idle_cores(sample_s: float = 0.1) -> float:
    """Cores idle over the next ``sample_s`` seconds (this process's own busy core counts as
    busy); 0 where it cannot be measured."""
    try:
        idle0, total0 = _cpu_times()
        time.sleep(sample_s)
        idle1, total1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return 0.0
    return (os.cpu_count() or 1) * (idle1 - idle0) / max(total1 - total0, 1)


def _ready() -> int:
    return os.getpid()


def _draw_pngs(result: "AnalysisResult", pairs: Sequence["ReadPair"], out_dir: Path, part: int,
               parts: int) -> dict[str, Path]:
    """PNG figures number part, part + parts, ... of :data:`quant.report.FIGURE_NAMES`."""
    from quant import report

    return report.write_figures(result, pairs, out_dir, names=report.FIGURE_NAMES[part::parts])


def _draw_pdf(result: "AnalysisResult", pairs: Sequence["ReadPair"], path: Path, title: str) -> Path:
    from quant import report

    return report.write_report(result, pairs, path, title=title)


class ReportPool:
    """Two report-drawing worker processes; create it as early as possible, then call
    :meth:`write` once the analysis is computed, and :meth:`close` (or use it as a context
    manager)."""

    def __init__(self, parallel: bool | None = None) -> None:
        """``parallel``: True to use worker processes where the platform allows, False never,
        None (default) when there are idle cores (see the module docstring)."""
        self._pool: ProcessPoolExecutor | None = None
        self._started = threading.Event()
        if parallel is False or "forkserver" not in multiprocessing.get_all_start_methods():
            self._started.set()
            return
        threading.Thread(target=self._start, args=(parallel is None,), name="report-pool-start", daemon=True).start()

    def _start(self, only_if_idle: bool) -> None:
        if only_if_idle and _idle_cores() < 0.5:
            _log.info("no idle core: drawing the report in this process")
            self._started.set()
            return
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
        # quant.report (matplotlib) is not imported here: this process never draws when the
        # workers run, and the import alone costs ~0.6 s.
        self._started.wait()
        jobs: list[tuple] = []
        if pdf_path is not None:
            jobs.append((_draw_pdf, result, pairs, Path(pdf_path), title))
        split = 1 if pdf_path is not None else _WORKERS  # beside the PDF the PNGs are one job
        if png_dir is not None:
            jobs += [(_draw_pngs, result, pairs, Path(png_dir), k, split) for k in range(split)]
        outputs = self._run(jobs)
        pdf = outputs.pop(0) if pdf_path is not None else None
        pngs: dict[str, Path] = {}
        parts = [list(out.items()) for out in outputs]
        for i in range(sum(len(p) for p in parts)):  # back to FIGURE_NAMES order
            name, path = parts[i % split][i // split]
            pngs[name] = path
        return pngs, pdf

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
