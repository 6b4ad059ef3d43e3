"""The trial's image store: every imported series, de-identified, in a content-addressed folder.

Import copies the chosen series of each visit into ``<store>/<h[:2]>/<h>/NNNN.dcm`` (slice-file
order), where ``h`` is :func:`quant.dicom.load.series_content_hash` of the *stored* files. The
copy is de-identified with the PS3.15 allow-list of :mod:`quant.dicom.deidentify` (every free-text
attribute removed, not cleaned; PatientName/ID an opaque label), so nothing a reader, a package
or the viewer opens carries PHI, and its path says nothing about subject or visit. Its UIDs are
mapped under the trial's key (setting ``uid_key``), so the same delivery stored twice lands in the
same folder. The hash is signed with the scan (``signed_state.scan_state``) and re-checked when a
case opens (:func:`db.workflow.imagelinks.check_case_images`).

Where the store is: ``$LUNGREAD_IMAGE_STORE`` (a workstation that mounts the shared folder
elsewhere), else the ``image_store`` setting (``lungread db init --image-store FOLDER``: required
beside PostgreSQL, a folder every workstation reaches), else beside a SQLite file
(``<file stem>-images``). Moving the store is a folder move plus one of these, never a re-import:
the hashes, not the paths, are what the database keeps.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import WorkflowError
from db.models import Scan, Setting
from quant.errors import LungReadError

__all__ = [
    "STORE_ENV",
    "PATIENT_LABEL",
    "StoredSeries",
    "store_root",
    "set_image_store",
    "trial_uid_key",
    "store_series",
    "stored_files",
    "discarded_on_failure",
]

STORE_ENV = "LUNGREAD_IMAGE_STORE"
PATIENT_LABEL = "LUNGREAD^BLINDED"  # PatientName/ID of every stored file: says nothing about the subject
_INCOMING = ".incoming"


@dataclass(frozen=True)
class StoredSeries:
    """A series in the store: the content hash naming its folder, its file count, its
    de-identified SeriesInstanceUID, and whether this call wrote it (False: stored before)."""

    store_hash: str
    n_files: int
    series_uid: str
    created: bool


def _setting(s: Session, key: str) -> str | None:
    row = s.get(Setting, key)
    return row.value if row is not None else None


def store_root(s: Session) -> Path:
    """The image store folder of the database ``s`` is bound to (see the module docstring).

    Raises:
        WorkflowError: a server database with no store configured.
    """
    env = os.environ.get(STORE_ENV)
    if env:
        return Path(env)
    configured = _setting(s, "image_store")
    if configured:
        return Path(configured)
    url = s.get_bind().url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        return path.with_name(f"{path.stem}-images")
    raise WorkflowError("this database has no image store; give a folder every workstation can reach with "
                        "`lungread db init --db URL --image-store FOLDER`")


def set_image_store(db: Database, folder: str | os.PathLike[str]) -> Path:
    """Record the image store folder (``db init --image-store``); created if missing. Changing it
    once series are stored is refused: move the folder and point ``$LUNGREAD_IMAGE_STORE`` at it.

    Raises:
        WorkflowError: another store already holds this database's series.
    """
    path = Path(folder).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkflowError(f"cannot create the image store folder {str(path)!r}: {exc.strerror}") from exc

    def work(s: Session) -> Path:
        current = _setting(s, "image_store")
        if current == str(path):
            return path
        stored = s.query(Scan.id).filter(Scan.store_hash.is_not(None)).first()
        if stored is not None:
            raise WorkflowError(f"this database's series are stored in {current or 'the default folder'}; moving "
                                f"the store is a folder move plus ${STORE_ENV}, not a new setting")
        s.merge(Setting(key="image_store", value=str(path)))
        return path

    return db.write(work)


def trial_uid_key(db: Database) -> bytes:
    """The key the store maps UIDs under (created on first use; one per database)."""

    def work(s: Session) -> bytes:
        value = _setting(s, "uid_key")
        if value is None:
            value = secrets.token_hex(32)
            s.add(Setting(key="uid_key", value=value))
        return bytes.fromhex(value)

    return db.write(work)


def stored_files(root: Path, store_hash: str, n_files: int) -> tuple[Path, ...]:
    """The files of a stored series, in slice-file order."""
    folder = root / store_hash[:2] / store_hash
    return tuple(folder / f"{i:04d}.dcm" for i in range(n_files))


def store_series(root: Path, files: Sequence[Path], uid_key: bytes) -> StoredSeries:
    """De-identify ``files`` (one series, in slice-file order) into the store; idempotent.

    Raises:
        WorkflowError: the store folder cannot be written.
        DeidentificationError: a file is not a DICOM image or declares burned-in annotation.
    """
    from pydicom import dcmread

    from quant.dicom.deidentify import UidMapper, deidentify_series
    from quant.dicom.load import series_content_hash

    incoming = root / _INCOMING / secrets.token_hex(8)
    try:
        uids = UidMapper(uid_key)
        written = deidentify_series(files, incoming, uids, patient_label=PATIENT_LABEL)
        store_hash = series_content_hash(written)
        series_uid = str(dcmread(written[0], stop_before_pixels=True).SeriesInstanceUID)
        final = root / store_hash[:2] / store_hash
        if final.is_dir() and _intact(final, store_hash, len(written)):
            return StoredSeries(store_hash, len(written), series_uid, created=False)
        if final.exists():
            shutil.rmtree(final)  # a damaged earlier copy: this one replaces it
        final.parent.mkdir(parents=True, exist_ok=True)
        for path in written:
            path.chmod(0o444)  # the store is written once; a reader's tool must not change it
        try:
            os.replace(incoming, final)
        except OSError:
            if final.is_dir() and _intact(final, store_hash, len(written)):  # another import stored it meanwhile
                return StoredSeries(store_hash, len(written), series_uid, created=False)
            raise
        return StoredSeries(store_hash, len(written), series_uid, created=True)
    except OSError as exc:
        raise WorkflowError(f"cannot write the image store {str(root)!r}: {exc.strerror or exc}") from exc
    finally:
        if incoming.exists():
            shutil.rmtree(incoming, ignore_errors=True)


def _intact(folder: Path, store_hash: str, n_files: int) -> bool:
    from quant.dicom.load import series_content_hash

    files = stored_files(folder.parent.parent, store_hash, n_files)
    try:
        return all(f.is_file() for f in files) and series_content_hash(list(files)) == store_hash
    except LungReadError:  # an unreadable copy is replaced
        return False


@contextmanager
def discarded_on_failure(root: Path, store_hashes: Iterable[str]) -> Iterator[None]:
    """Remove the store copies ``store_hashes`` (written by this change, not before) when the
    block raises: the database change that would have referred to them did not happen."""
    try:
        yield
    except BaseException:
        for store_hash in store_hashes:
            shutil.rmtree(root / store_hash[:2] / store_hash, ignore_errors=True)
        raise
