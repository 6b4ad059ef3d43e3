"""Blinded image folders: links named by a random key, so no path handed to a reader or adjudicator
carries the subject code, visit name or any other folder name of the original data."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from db.engine import default_data_dir
from db.errors import WorkflowError
from db.models import Scan
from quant.dicom.load import series_content_hash

__all__ = ["blinded_series", "check_case_images"]


def blinded_series(scan: Scan, case_code: str) -> tuple[Path, tuple[Path, ...]]:
    """Create (idempotently) ``<data dir>/blinded/<image key>/NNNN.dcm`` links to the scan's files.

    Returns the link folder and the links in slice-file order. Links are symbolic where the OS
    allows it, hard links otherwise. Raises WorkflowError when the original files are gone; whether
    they changed is :func:`check_case_images` (it reads every file, so not here).
    """
    target_dir = default_data_dir() / "blinded" / scan.image_key
    target_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(scan.folder)
    links: list[Path] = []
    for i, name in enumerate(json.loads(scan.files_json)):
        src = Path(name) if os.path.isabs(name) else folder / name
        link = target_dir / f"{i:04d}.dcm"
        links.append(link)
        if link.exists():
            continue
        if not src.is_file():
            raise WorkflowError(f"the images of case {case_code} are missing on this computer; ask the trial manager")
        if link.is_symlink():  # dangling link from a moved folder
            link.unlink()
        try:
            link.symlink_to(src)
        except OSError:
            os.link(src, link)
    return target_dir, tuple(links)


def check_case_images(files: Sequence[Path], content_hash: str, case_code: str) -> None:
    """Refuse a case whose image files no longer hash to ``content_hash``, the hash recorded at
    intake (a swapped, edited or re-sent series). Reads every file: the desktop calls it in the
    load worker, before the images are shown, never on the GUI thread or inside a transaction.

    Raises:
        WorkflowError: the files changed since intake.
    """
    if series_content_hash(list(files)) != content_hash:
        raise WorkflowError(f"the images of case {case_code} changed since they were imported (their content hash "
                            "differs): the case is refused; ask the trial manager to check the image files")
