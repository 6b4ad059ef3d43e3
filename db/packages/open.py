"""Open a reading package on the reader's computer (offline): the package database, ready for the
normal services (worklist, open_task, save_draft, sign_read), with its images found where the
package now lies.

Scans in a package database name their image folder relative to the package (``images/<key>``);
:func:`open_package` points them at the package's current location, so a package can be copied or
moved between computers. That location fix is not an audited edit: it changes no read, task or
signature, and import verification ignores it.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, connect, database_url
from db.models import Scan
from db.packages.archive import extract_package_zip
from db.packages.errors import PackageError
from db.packages.manifest import DATABASE_NAME, IMAGES_DIR, MANIFEST_NAME

__all__ = ["open_package", "package_root", "package_url", "package_of_url"]


def package_root(package: str | Path) -> Path:
    """The package folder; a ``.zip`` is extracted once beside itself (``NAME.zip`` -> ``NAME/``)."""
    path = Path(package).expanduser().resolve()
    if path.is_dir():
        if not (path / MANIFEST_NAME).is_file() or not (path / DATABASE_NAME).is_file():
            raise PackageError(f"{path} is not a reading package (no {MANIFEST_NAME} or {DATABASE_NAME})")
        return path
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise PackageError(f"{path}: no such reading package (a folder or .zip from `lungread package export`)")
    target = path.with_suffix("") if path.suffix == ".zip" else path.with_name(path.name + ".d")
    if not target.exists():
        try:
            extract_package_zip(path, target)
        except PackageError:
            shutil.rmtree(target, ignore_errors=True)
            raise
    return package_root(target)


def open_package(package: str | Path) -> Database:
    """Connect to the package's reader database, with scan folders pointed at this package."""
    root = package_root(package)
    database = connect(root / DATABASE_NAME)

    def work(s: Session) -> None:
        for scan in s.scalars(select(Scan)):
            parts = PurePosixPath(Path(scan.folder).as_posix()).parts
            rel = "/".join(parts[parts.index(IMAGES_DIR):]) if IMAGES_DIR in parts else scan.folder
            folder = str(root / rel)
            if scan.folder != folder:
                scan.folder = folder

    database.write(work)
    return database


def package_url(package: str | Path) -> str:
    """The database URL of a reading package folder or ``.zip`` (what ``lungread open`` opens).

    Checks that it is a package, extracts a zip once beside itself and points the package's scans
    at where it now lies (:func:`open_package`); raises ``PackageError`` otherwise.
    """
    package = Path(package)
    if package.name == "manifest.json":  # what the file dialogs let the user pick in a folder
        package = package.parent
    root = package_root(package)
    open_package(root).dispose()
    return str(database_url(str(root / DATABASE_NAME)))


def package_of_url(url: str | None) -> Path | None:
    """The reading package folder whose database ``url`` names, or None for any other database."""
    if not url:
        return None
    text = database_url(url)
    if not text.startswith("sqlite:///"):
        return None
    folder = Path(text[len("sqlite:///"):]).parent
    return folder if (folder / MANIFEST_NAME).is_file() else None
