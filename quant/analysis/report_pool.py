"""Drawing the report in two worker processes, started early so that matplotlib's import overlaps
the caller's own work, and drawn while the caller goes on with its own.

Why: ``lungread stats`` has a 2 s budget on 2 cores. Serially it spends ~0.6 s importing
matplotlib and ~0.7 s drawing (five PNG figures, then the PDF, which draws them again as
vectors) after the database work. Here a ``forkserver`` preloaded with :mod:`quant.analysis.report`
imports matplotlib on the second core while the caller imports SQLAlchemy and computes the
analysis. :meth:`ReportPool.submit` then hands out one job per file (the PDF first, as the
largest) to two workers forked from it and returns at once, so the caller writes its CSV files
meanwhile; :meth:`ReportDrawing.result` waits for the files.

The forkserver is started at once, from a background thread, because starting the first worker
blocks until the server has finished its preload. The report is drawn in this process instead
(slower on idle cores, same files) where ``forkserver`` does not exist (Windows), where the cores
are busy, or, job by job, when a worker dies. Busy means: over its first 0.3 s, the new
forkserver (importing matplotlib) got less than 80 % of a core (CPU ticks from
``/proc/PID/stat``; unreadable ticks count as busy). Processes sharing busy cores are slower than
one, so the forkserver is then ended. The check delays nothing: the forkserver imports meanwhile.
Without ``/proc/thread-self/children`` (not Linux) the forkserver cannot be found: no check, and
it is left to end with this process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quant.analysis.agreement import ReadPair
    from quant.analysis.tables import AnalysisResult

__all__ = ["ReportPool", "ReportDrawing"]

_log = logging.getLogger(__name__)
_WORKERS = 2
# The forkserver importing matplotlib gets 0.9-1 core on an idle machine; on 2 cores beside this
# process (importing too) and one other busy process, 0.5-0.8.
_MIN_CPU_SHARE = 0.8


def _child_pids() -> list[int]:
    """Processes started by the calling thread (Linux ``/proc/thread-self/children``); none where
    that cannot be read."""
    try:
        with open("/proc/thread-self/children", encoding="ascii") as fh:
            return [int(p) for p in fh.read().split()]
    except (OSError, ValueError):
        return []


def _is_forkserver(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"multiprocessing.forkserver" in fh.read()
    except OSError:
        return False


def _cpu_ticks(pids: Sequence[int]) -> int:
    """CPU clock ticks (user + system) the processes ``pids`` have used so far."""
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks


def _cpu_share(pids: Sequence[int], sample_s: float = 0.3) -> float:
    """Cores' worth of CPU time the processes ``pids`` got over the next ``sample_s`` seconds;
    0 where it cannot be measured."""
    try:
        t0, ticks0 = time.perf_counter(), _cpu_ticks(pids)
        time.sleep(sample_s)
        t1, ticks1 = time.perf_counter(), _cpu_ticks(pids)
    except (OSError, ValueError, IndexError):
        return 0.0
    return (ticks1 - ticks0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)


def _figure_names() -> tuple[str, ...]:
    """Run in a worker (quant.analysis.report is preloaded there): the figures a report has."""
    from quant.analysis import report

    return tuple(report.FIGURE_NAMES)


def _draw_png(result: "AnalysisResult", pairs: Sequence["ReadPair"], out_dir: Path, name: str) -> Path:
    from quant.analysis import report

    return report.write_figures(result, pairs, out_dir, names=(name,))[name]


def _draw_pdf(result: "AnalysisResult", pairs: Sequence["ReadPair"], path: Path, title: str) -> Path:
    from quant.analysis import report

    return report.write_report(result, pairs, path, title=title)


class ReportPool:
    """Two report-drawing worker processes; create it as early as possible, then
    :meth:`submit` once the analysis is computed, and :meth:`close` (or use it
    as a context manager)."""

    def __init__(self, parallel: bool | None = None) -> None:
        """``parallel``: True to use worker processes where the platform allows, False never,
        None (default) when there are idle cores (see the module docstring)."""
        self._executor: ProcessPoolExecutor | None = None
        self._children: list[int] = []  # processes the starter thread spawned (forkserver, tracker)
        self._figure_names: tuple[str, ...] = ()
        self._started = threading.Event()
        if parallel is False or "forkserver" not in multiprocessing.get_all_start_methods():
            self._started.set()
            return
        threading.Thread(target=self._start, args=(parallel is None,), name="report-pool-start", daemon=True).start()

    @property
    def parallel(self) -> bool:
        """Whether the worker processes are up (waits until their start has finished)."""
        self._started.wait()
        return self._executor is not None

    def _start(self, only_if_idle: bool) -> None:
        try:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["quant.analysis.report"])
            forkserver.ensure_running()  # returns at once: the server imports matplotlib meanwhile
            # This thread's children: the forkserver and its resource tracker (asleep), unless an
            # earlier pool of this process started them (then its import is paid: just use it).
            self._children = _child_pids()
            if only_if_idle and self._children and _cpu_share(self._children) < _MIN_CPU_SHARE:
                _log.info("the cores are busy: drawing the report in this process")
                self._end_forkserver()  # rather than let it import matplotlib for nothing
                return
            executor = ProcessPoolExecutor(_WORKERS, mp_context=ctx)
            answers = [f.result() for f in [executor.submit(_figure_names) for _ in range(_WORKERS)]]
            self._executor, self._figure_names = executor, answers[0]
        except Exception as exc:  # noqa: BLE001  no worker processes here: draw in-process
            _log.warning("report workers unavailable (%s); drawing in this process", exc)
        finally:
            self._started.set()

    def _lost_workers(self, exc: BaseException) -> None:
        _log.warning("report workers lost (%s); drawing in this process", exc)
        self._executor = None

    def submit(
        self,
        result: "AnalysisResult",
        pairs: Sequence["ReadPair"],
        *,
        png_dir: Path | None,
        pdf_path: Path | None,
        title: str,
    ) -> "ReportDrawing":
        """Start drawing the PNG figures into ``png_dir`` and/or the PDF report at ``pdf_path``
        (see :mod:`quant.analysis.report`) and return at once; :meth:`ReportDrawing.result` waits."""
        return ReportDrawing(self, result, pairs, png_dir=png_dir, pdf_path=pdf_path, title=title)

    def _end_forkserver(self) -> None:
        """Terminate the forkserver this pool started. Left alone it lives until this process
        exits and then spends ~0.1 s tearing down matplotlib, holding this process's stdout and
        stderr open meanwhile (a caller reading them to the end waits for it). A later pool
        starts a new one (multiprocessing notices the old one is gone)."""
        # Told apart from the resource tracker by its command line (read now: right after the
        # spawn it may not have been exec'd yet).
        for pid in [p for p in self._children if _is_forkserver(p)]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
                # Wait until it is gone, but leave it to multiprocessing to reap (WNOWAIT), which
                # checks on it with waitpid before it starts a new one.
                os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        self._children = []

    def close(self) -> None:
        """Shut the workers down and end the forkserver."""
        self._started.wait()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._end_forkserver()

    def __enter__(self) -> "ReportPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReportDrawing:
    """A report being drawn (:meth:`ReportPool.submit`). The jobs go to the workers as soon as
    they are up (from a helper thread when they are still starting); :meth:`result` waits for
    them, or draws in this process what no worker drew."""

    def __init__(self, pool: ReportPool, result: "AnalysisResult", pairs: Sequence["ReadPair"], *,
                 png_dir: Path | None, pdf_path: Path | None, title: str) -> None:
        self._pool = pool
        self._args = (result, pairs)
        # The workers get the tables without the long dataset (2/3 of the pickle; no figure uses it).
        self._worker_args = (dataclasses.replace(result, long=[]), pairs)
        self._png_dir = None if png_dir is None else Path(png_dir)
        self._pdf_path = None if pdf_path is None else Path(pdf_path)
        self._title = title
        self._lock = threading.Lock()
        self._futures: dict[str, Future] | None = None  # "" -> the PDF, else figure name -> PNG
        self._files: tuple[dict[str, Path], Path | None] | None = None
        if pool._started.is_set():
            self._dispatch()
        else:
            threading.Thread(target=self._dispatch, name="report-dispatch", daemon=True).start()

    def _dispatch(self) -> None:
        self._pool._started.wait()
        with self._lock:
            executor = self._pool._executor
            if self._futures is not None or executor is None:
                return
            futures: dict[str, Future] = {}
            try:
                if self._pdf_path is not None:  # the largest job first: the two workers even out
                    futures[""] = executor.submit(_draw_pdf, *self._worker_args, self._pdf_path, self._title)
                if self._png_dir is not None:
                    for name in self._pool._figure_names:
                        futures[name] = executor.submit(_draw_png, *self._worker_args, self._png_dir, name)
            except (BrokenProcessPool, RuntimeError) as exc:  # died, or shut down meanwhile
                self._pool._lost_workers(exc)
            self._futures = futures

    def result(self) -> tuple[dict[str, Path], Path | None]:
        """(figure name -> PNG path in :data:`quant.analysis.report.FIGURE_NAMES` order, PDF path or None)."""
        self._dispatch()  # nothing to do when the constructor or its thread did it
        with self._lock:
            if self._files is None:
                self._files = self._collect(self._futures or {})
            return self._files

    def _collect(self, futures: dict[str, Future]) -> tuple[dict[str, Path], Path | None]:
        done: dict[str, Path] = {}
        for key, future in futures.items():
            try:
                done[key] = future.result()
            except BrokenProcessPool as exc:
                self._pool._lost_workers(exc)
        return self._draw_rest(done)

    def _draw_rest(self, done: dict[str, Path]) -> tuple[dict[str, Path], Path | None]:
        """Draw in this process whatever ``done`` (worker output) lacks."""
        names = self._pool._figure_names if self._png_dir is not None else ()  # () unless workers ran
        wanted = ([""] if self._pdf_path is not None else []) + list(names)
        if (self._png_dir is None or names) and all(k in done for k in wanted):
            return {n: done[n] for n in names}, done.get("")
        from quant.analysis import report  # only now: matplotlib's import alone costs ~0.6 s

        names = report.FIGURE_NAMES if self._png_dir is not None else ()
        missing = [n for n in names if n not in done]
        if self._pdf_path is not None and "" not in done:
            # write_report draws the figures once for the PDF and the PNGs
            png_dir = self._png_dir if len(missing) == len(names) else None
            done[""] = report.write_report(*self._args, self._pdf_path, title=self._title, png_dir=png_dir)
            if png_dir is not None:
                done.update({n: png_dir / f"{n}.png" for n in missing})
        missing = [n for n in names if n not in done]
        if missing:
            done.update(report.write_figures(*self._args, self._png_dir, names=missing))
        return {n: done[n] for n in names}, done.get("")
