"""The images of a reading package: every exported series de-identified into ``images/<key>``.

De-identification is pydicom work (~10 ms of CPU per file: parse, filter, write), so series are
spread over worker processes (``spawn``: safe from the GUI's worker thread). UIDs come from a
keyed mapper (:class:`quant.dicom.deidentify.UidMapper`), so every process maps the same UID to the same
new UID, and the result does not depend on how the series were spread.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db.packages.errors import PackageError
from db.packages.manifest import IMAGES_DIR, file_sha256

__all__ = ["SeriesJob", "write_package_images"]

_MIN_SERIES_FOR_WORKERS = 3  # below this, starting processes costs more than it saves
_MAX_WORKERS = 8


@dataclass(frozen=True)
class SeriesJob:
    """One series to package: its case code, source files (absolute paths) and, when known, their
    content hash (checked first: a changed series is not packaged)."""

    case_code: str
    sources: tuple[Path, ...]
    content_hash: str | None = None


def _package_series(job: SeriesJob, stage: Path, folder_rel: str, uid_key: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    from pydicom import dcmread

    from quant.dicom.deidentify import UidMapper, deidentify_series
    from quant.dicom.load import series_content_hash

    if job.content_hash is not None and series_content_hash(list(job.sources)) != job.content_hash:
        raise PackageError(f"the images of case {job.case_code} changed since they were imported (their content hash "
                           "differs); nothing was exported: check the image store")
    written = deidentify_series(job.sources, stage / folder_rel, UidMapper(uid_key), patient_label=job.case_code)
    hashes = {f"{folder_rel}/{p.name}": file_sha256(p) for p in written}
    series_uid = str(dcmread(written[0], stop_before_pixels=True).SeriesInstanceUID)
    entry = {"case_code": job.case_code, "folder": folder_rel, "files": [p.name for p in written],
             "series_uid": series_uid, "content_hash": series_content_hash(written)}
    return entry, hashes


def _workers(n_jobs: int) -> int:
    if n_jobs < _MIN_SERIES_FOR_WORKERS:
        return 1
    return max(1, min(os.cpu_count() or 1, n_jobs, _MAX_WORKERS))


def write_package_images(
    jobs: Sequence[SeriesJob],
    stage: Path,
    uid_key: bytes,
    progress: Callable[[int, int], None] | None = None,
    *,
    workers: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """De-identify every job's series into ``stage/images/<random key>``.

    Returns the manifest's task entries (in ``jobs`` order) and relative path -> SHA-256 of every
    written file. ``progress(done_files, total_files)`` is called after each series; an exception
    it raises (a cancel) stops the export. ``workers``: processes (default: one per core, up to
    8; 1 for fewer than 3 series).

    Raises:
        PackageError: a source file is missing.
        DeidentificationError: a source file is not a DICOM image.
    """
    for job in jobs:
        missing = [p for p in job.sources if not p.is_file()]
        if missing:
            raise PackageError(f"the images of case {job.case_code} are missing: {missing[0]}; "
                               "restore the image store and export again")
    folders = [f"{IMAGES_DIR}/{secrets.token_hex(8)}" for _ in jobs]
    total = sum(len(job.sources) for job in jobs)
    results: dict[int, tuple[dict[str, Any], dict[str, str]]] = {}
    done = 0
    n = workers if workers is not None else _workers(len(jobs))
    if n <= 1:
        for i, job in enumerate(jobs):
            results[i] = _package_series(job, stage, folders[i], uid_key)
            done += len(job.sources)
            if progress is not None:
                progress(done, total)
    else:
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_package_series, job, stage, folders[i], uid_key): i for i, job in enumerate(jobs)}
            try:
                for future in as_completed(futures):
                    i = futures[future]
                    results[i] = future.result()
                    done += len(jobs[i].sources)
                    if progress is not None:
                        progress(done, total)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    tasks = [results[i][0] for i in range(len(jobs))]
    files = {path: sha for i in range(len(jobs)) for path, sha in results[i][1].items()}
    return tasks, files
