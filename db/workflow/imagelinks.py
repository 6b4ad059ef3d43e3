"""The image files of a case as handed to a reader, adjudicator, package or mask export.

A scan imported with the image store (:mod:`db.workflow.image_store`) is opened from the store:
de-identified files under a content hash, so no path carries the subject code, visit name or any
folder name of the delivery. A scan imported before the store (and a reading package's own scans,
which are de-identified package images) is opened through links named by a random key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from db.engine import default_data_dir
from db.errors import WorkflowError
from db.models import Scan
from db.workflow.image_store import store_root, stored_files
from quant.dicom.load import series_content_hash
from quant.errors import LungReadError

__all__ = ["case_images", "scan_images", "check_case_images"]


def scan_images(s: Session, scan: Scan) -> tuple[tuple[Path, ...], str]:
    """(files, content hash they must have) of the images a scan is read from: its store copy, or
    (imported before the store) its site files."""
    if scan.store_hash is not None:
        return stored_files(store_root(s), scan.store_hash, int(scan.store_files or 0)), scan.store_hash
    folder = Path(scan.folder)
    files = tuple(Path(n) if os.path.isabs(n) else folder / n for n in json.loads(scan.files_json))
    return files, scan.content_hash


def case_images(s: Session, scan: Scan, case_code: str) -> tuple[Path, tuple[Path, ...], str]:
    """(folder, files in slice-file order, content hash to re-check) of a case's images.

    Raises WorkflowError when the files are gone; whether they changed is :func:`check_case_images`
    (it reads every file, so not here).
    """
    missing = f"the images of case {case_code} are missing on this computer; ask the trial manager"
    files, content_hash = scan_images(s, scan)
    if scan.store_hash is not None:
        if not files or not all(f.is_file() for f in files):
            raise WorkflowError(missing)
        return files[0].parent, files, content_hash
    target_dir = default_data_dir() / "blinded" / scan.image_key
    target_dir.mkdir(parents=True, exist_ok=True)
    links: list[Path] = []
    for i, src in enumerate(files):
        link = target_dir / f"{i:04d}.dcm"
        links.append(link)
        if link.exists():
            continue
        if not src.is_file():
            raise WorkflowError(missing)
        if link.is_symlink():  # dangling link from a moved folder
            link.unlink()
        try:
            link.symlink_to(src)
        except OSError:
            os.link(src, link)
    return target_dir, tuple(links), content_hash


def check_case_images(files: Sequence[Path], content_hash: str, case_code: str) -> None:
    """Refuse a case whose image files no longer hash to ``content_hash``, the hash recorded at
    intake (a swapped, edited or re-sent series). Reads every file: the desktop calls it in the
    load worker, before the images are shown, never on the GUI thread or inside a transaction.

    Raises:
        WorkflowError: the files changed since intake (or are gone).
    """
    try:
        actual = series_content_hash(list(files))
    except LungReadError as exc:
        raise WorkflowError(f"the images of case {case_code} cannot be read ({exc}): the case is refused; "
                            "ask the trial manager to check the image store") from exc
    if actual != content_hash:
        raise WorkflowError(f"the images of case {case_code} changed since they were imported (their content hash "
                            "differs): the case is refused; ask the trial manager to check the image files")
