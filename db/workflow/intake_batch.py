"""Checking a manifest's rows and copying their series into the image store, spread over worker
processes for a large delivery.

Each row is CPU work (every file decoded, the series de-identified and hashed: ~10 ms per file),
independent of the others, so rows go to a ``spawn`` process pool (safe from the GUI's worker
thread) when there are enough of them; a small manifest stays in this process, where starting the
workers would cost more than it saves. The results come back in manifest order, so the import's
duplicate checks and messages do not depend on how rows were spread.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

from db.workflow.image_store import store_series
from db.workflow.series_check import IntakeRow, check_intake_row
from quant.errors import LungReadError

__all__ = ["check_and_store_rows"]

_MIN_ROWS_FOR_WORKERS = 12
_MAX_WORKERS = 8


def _check_and_store(number: int, rec: dict[str, str], base: Path, root: Path, uid_key: bytes,
                     known: frozenset[tuple[str, str]]) -> IntakeRow | str:
    """One row: its checked series, copied into the store unless imported before; or why not."""
    try:
        row = check_intake_row(number, rec, base)
    except LungReadError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read series files: {exc}"
    if (row.series_uid, row.content_hash) in known:
        return row
    try:
        stored = store_series(root, row.sources, uid_key)
    except LungReadError as exc:
        return f"cannot copy the series into the image store: {exc}"
    return replace(row, store_hash=stored.store_hash, store_files=stored.n_files, store_series_uid=stored.series_uid,
                   store_created=stored.created)


def check_and_store_rows(
    records: Sequence[dict[str, str]],
    base: Path,
    root: Path,
    uid_key: bytes,
    known: set[tuple[str, str]],
    progress: Callable[[int, int], None] | None = None,
    *,
    workers: int | None = None,
) -> list[IntakeRow | str]:
    """Row ``i`` (1-based in the manifest) checked and stored, or the message saying why not, in
    manifest order. ``known``: (series UID, content hash) of scans imported before (not copied
    again). ``workers``: processes (default: one per core, up to 8, for 12 rows or more)."""
    n = len(records)
    frozen = frozenset(known)
    if workers is None:
        workers = min(os.cpu_count() or 1, n, _MAX_WORKERS) if n >= _MIN_ROWS_FOR_WORKERS else 1
    results: dict[int, IntakeRow | str] = {}
    if workers <= 1:
        for i, rec in enumerate(records, start=1):
            if progress is not None:
                progress(i - 1, n)
            results[i] = _check_and_store(i, rec, base, root, uid_key, frozen)
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_check_and_store, i, rec, base, root, uid_key, frozen): i
                       for i, rec in enumerate(records, start=1)}
            try:
                for done, future in enumerate(as_completed(futures), start=1):
                    results[futures[future]] = future.result()
                    if progress is not None:
                        progress(done, n)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    if progress is not None:
        progress(n, n)
    return [results[i] for i in range(1, n + 1)]
