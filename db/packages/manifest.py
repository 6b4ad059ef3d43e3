"""The manifest of a reading package: SHA-256 of every file, authenticated by HMAC-SHA256.

Layout of a package folder (or of the zip made from it)::

    manifest.json        {"body": {...}, "hmac": "<hex>"}
    reading.sqlite       the reader database (changes while the reader works)
    protocol.toml        the quantification protocol (resources/protocol.toml at export)
    images/<key>/NNNN.dcm  de-identified series, one folder per task

``body`` holds the format tag, package id, reader, creation time, the tasks (case code, new
series UID, content hash and file list of each de-identified series), ``files`` (relative path
-> SHA-256 of every image file) and ``database`` (its SHA-256 at export, for information, and the
hash of its first audit event, the anchor of the package's own audit chain). The MAC is
HMAC-SHA256 over the canonical JSON of ``body`` with a random 32-byte key that stays in the master
database (:class:`db.models.packages.ReadingPackage`), so nobody without the master database can
change a listed hash or add a task. The database file cannot be covered by a fixed hash (reading
changes it); its content is verified at import through the anchor, the task list above, the
package audit chain and each signature (:mod:`db.packages.merge`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path, PurePosixPath
from typing import Any

from db.packages.errors import PackageError
from db.security.audit import canonical_json
from db.security.keys import SigningKey, verify_signature

__all__ = [
    "FORMAT",
    "MANIFEST_NAME",
    "DATABASE_NAME",
    "IMAGES_DIR",
    "PROTOCOL_NAME",
    "file_sha256",
    "manifest_mac",
    "write_manifest",
    "read_manifest",
    "verify_files",
    "manifest_signature_ok",
]

FORMAT = "lungread-reading-package/1"
MANIFEST_NAME = "manifest.json"
DATABASE_NAME = "reading.sqlite"
IMAGES_DIR = "images"
PROTOCOL_NAME = "protocol.toml"  # the quantification protocol the reader works with


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_mac(body: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 (hex) of the canonical JSON of ``body``."""
    return hmac.new(key, canonical_json(body).encode("utf-8"), hashlib.sha256).hexdigest()


def write_manifest(root: Path, body: dict[str, Any], key: bytes, signer: SigningKey | None = None) -> str:
    """Write ``root/manifest.json`` with its MAC and, given ``signer`` (the exporting manager's key),
    an Ed25519 signature over the same canonical body (which then names the signer's public key),
    checkable without the master database. Returns the SHA-256 of the written file."""
    doc: dict[str, Any] = {"body": body, "hmac": manifest_mac(body, key)}
    if signer is not None:
        body["signer_public_key"] = signer.public_hex
        doc = {"body": body, "hmac": manifest_mac(body, key),
               "signature": signer.sign(canonical_json(body).encode("utf-8"))}
    data = json.dumps(doc, sort_keys=True, indent=1)
    path = root / MANIFEST_NAME
    path.write_text(data, encoding="utf-8")
    return file_sha256(path)


def read_manifest(root: Path) -> tuple[dict[str, Any], str]:
    """``(body, mac)`` of ``root/manifest.json``; PackageError when it is missing or malformed."""
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise PackageError(f"{root} is not a reading package: it has no {MANIFEST_NAME}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        body, mac = doc["body"], doc["hmac"]
        if not isinstance(body, dict) or not isinstance(mac, str) or body.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} manifest")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise PackageError(f"{path}: unreadable package manifest ({exc}); the package is corrupt") from exc
    return body, mac


def manifest_signature_ok(root: Path, body: dict[str, Any], public_hex: str | None = None) -> bool:
    """True when ``root/manifest.json`` carries a valid Ed25519 signature of ``body`` by
    ``public_hex`` (default: the key the body names, which only proves the manifest is intact)."""
    try:
        doc = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    key = public_hex or body.get("signer_public_key")
    sig = doc.get("signature") if isinstance(doc, dict) else None
    if not isinstance(key, str) or not isinstance(sig, str) or body.get("signer_public_key") != key:
        return False
    return verify_signature(key, canonical_json(body).encode("utf-8"), sig)


def _safe_relpath(rel: str) -> bool:
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or ".." in p.parts:
        return False
    return p.parts[0] == IMAGES_DIR or rel == PROTOCOL_NAME


def verify_files(root: Path, body: dict[str, Any]) -> list[str]:
    """Problems with the image files: missing, changed (hash), unlisted extra files, unsafe names."""
    problems: list[str] = []
    listed: dict[str, str] = dict(body.get("files", {}))
    for rel, expected in sorted(listed.items()):
        if not _safe_relpath(rel):
            problems.append(f"{rel}: not a package image path")
            continue
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: file missing")
        elif file_sha256(path) != expected:
            problems.append(f"{rel}: file changed (SHA-256 differs from the manifest)")
    images = root / IMAGES_DIR
    if images.is_dir():
        for path in sorted(images.rglob("*")):
            if path.is_file() and path.relative_to(root).as_posix() not in listed:
                problems.append(f"{path.relative_to(root).as_posix()}: file not in the manifest")
    return problems
