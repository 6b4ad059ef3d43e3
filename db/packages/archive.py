"""Extracting a reading-package zip with its size bounded *before* anything is written.

A zip states each member's uncompressed size, and Python's zipfile never inflates a member past its
stated size (the CRC check then fails), so the stated sizes bound the extraction. They are checked
first: no absolute or ``..`` names, no member over :data:`MAX_MEMBER_BYTES` (a DICOM slice or the
reader database), no member that inflates more than :data:`MAX_RATIO` times (a decompression bomb;
real DICOM and SQLite compress a few times, not a thousand), and room on the disk for the whole.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath

from db.packages.errors import PackageError

__all__ = ["extract_package_zip", "MAX_MEMBER_BYTES", "MAX_RATIO"]

MAX_MEMBER_BYTES = 4 * 1024**3  # the reader database of a large package stays far below this
MAX_RATIO = 200  # uncompressed / compressed, for members of more than 1 MiB
_SMALL = 1024**2


def _check_members(path: Path, zf: zipfile.ZipFile, target_dir: Path) -> None:
    total = 0
    for info in zf.infolist():
        name = info.filename
        parts = PurePosixPath(name).parts
        if PurePosixPath(name).is_absolute() or ".." in parts or "\\" in name:
            raise PackageError(f"{path}: unsafe file name {name!r} in the zip; refused")
        if info.file_size > MAX_MEMBER_BYTES:
            raise PackageError(f"{path}: member {name!r} claims {info.file_size:,} bytes, over the "
                               f"{MAX_MEMBER_BYTES:,}-byte limit; refused")
        if info.file_size > _SMALL and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise PackageError(f"{path}: member {name!r} inflates {info.file_size // max(info.compress_size, 1):,} "
                               "times (a decompression bomb?); refused")
        total += info.file_size
    free = shutil.disk_usage(target_dir).free
    if total > free:
        raise PackageError(f"{path}: the package needs {total:,} bytes once extracted, but {target_dir} has "
                           f"{free:,} free; refused")


def extract_package_zip(path: Path, target: Path) -> None:
    """Extract the package zip ``path`` into the folder ``target`` after the checks above.

    Raises:
        PackageError: not a zip, corrupt, unsafe names, or a size limit breached (nothing written).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            target.mkdir(parents=True, exist_ok=True)
            _check_members(path, zf, target)
            zf.extractall(target)
    except zipfile.BadZipFile as exc:
        raise PackageError(f"{path}: corrupt zip ({exc})") from exc
    except OSError as exc:
        raise PackageError(f"{path}: cannot extract the package ({exc.strerror or exc})") from exc
