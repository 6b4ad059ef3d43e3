"""Per-user Ed25519 signing keys, stored encrypted under a key derived from the user's password.

Two independent scrypt derivations with their own random salts:

- the **login verifier** (:mod:`db.security.passwords`, N = 2^14, about 50 ms), checked at every
  sign-in and at every e-signature's password re-entry, so signing a read stays fast;
- the **key-encryption key** (N = 2^16, r = 8, p = 1: 64 MiB, about 0.2 s on one core), derived
  once per sign-in to unwrap the 32-byte Ed25519 private key with AES-256-GCM (authenticated
  data: the public key). The unwrapped key stays in memory for the session
  (:attr:`db.records.Actor.key`).

A reading package carries only the wrapped key, never the verifier: the reader proves the password
offline by unwrapping it (the GCM tag fails otherwise), and an offline guess against a package
costs the 64 MiB derivation. Wrapped format (parameters kept so they can be raised later):
``ed25519-aesgcm$N$r$p$<salt hex>$<nonce hex>$<ciphertext hex>``.

A key's **fingerprint** is the SHA-256 (hex) of its raw 32-byte public key; the trial's trust root is
the fingerprint of the first manager's key (:mod:`db.security.trust`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from db.security.passwords import hash_password, verify_password

__all__ = ["SigningKey", "Credentials", "new_credentials", "rewrap_credentials", "open_credentials",
           "dummy_login_work", "fingerprint", "verify_signature", "SCRYPT_N"]

SCRYPT_N = 2**16
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_WRAPPED = "ed25519-aesgcm"
_MAXMEM = 512 * 1024 * 1024


def fingerprint(public_hex: str) -> str:
    """SHA-256 (hex) of a raw Ed25519 public key given as hex."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()


@dataclass(frozen=True)
class SigningKey:
    """An unwrapped private key, held in memory for the signed-in session only."""

    public_hex: str
    _private: Ed25519PrivateKey = field(repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_hex)

    def sign(self, message: bytes) -> str:
        """Ed25519 signature of ``message`` (hex, 128 characters)."""
        return self._private.sign(message).hex()


def verify_signature(public_hex: str, message: bytes, signature_hex: str) -> bool:
    """True when ``signature_hex`` is a valid Ed25519 signature of ``message`` by ``public_hex``."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class Credentials:
    """What an account stores: login verifier (scrypt, db.security.passwords), wrapped private key,
    public key (hex); ``key`` is the same key unwrapped, for the session that made it."""

    password_hash: str
    signing_key: str
    public_key: str
    key: SigningKey = field(repr=False, compare=False)


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=_MAXMEM)


def _public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _wrap(password: str, key: Ed25519PrivateKey, password_hash: str) -> Credentials:
    salt = secrets.token_bytes(_SALT_BYTES)
    kek = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    public = _public_hex(key)
    nonce = secrets.token_bytes(12)
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    ct = AESGCM(kek).encrypt(nonce, raw, bytes.fromhex(public))
    wrapped = f"{_WRAPPED}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${nonce.hex()}${ct.hex()}"
    return Credentials(password_hash, wrapped, public, SigningKey(public, key))


def new_credentials(password: str) -> Credentials:
    """A fresh Ed25519 key pair wrapped under ``password`` (slow by design: two scrypt derivations)."""
    return _wrap(password, Ed25519PrivateKey.generate(), hash_password(password))


def rewrap_credentials(password: str, key: SigningKey) -> Credentials:
    """The same key pair wrapped under a new password (a password change keeps the key)."""
    return _wrap(password, key._private, hash_password(password))


def _unwrap(kek: bytes, wrapped: list[str], public_hex: str) -> SigningKey | None:
    nonce, ct = bytes.fromhex(wrapped[5]), bytes.fromhex(wrapped[6])
    try:
        raw = AESGCM(kek).decrypt(nonce, ct, bytes.fromhex(public_hex))
    except InvalidTag:
        return None
    key = Ed25519PrivateKey.from_private_bytes(raw)
    if _public_hex(key) != public_hex:
        return None
    return SigningKey(public_hex, key)


def _split(wrapped_key: str) -> list[str] | None:
    parts = wrapped_key.split("$") if wrapped_key else []
    return parts if len(parts) == 7 and parts[0] == _WRAPPED else None


def open_credentials(password: str, password_hash: str, signing_key: str, public_hex: str) -> SigningKey | None:
    """The unwrapped key when ``password`` is right, else None.

    Checks the verifier first (a wrong password costs the verifier's work only, the same as
    :func:`dummy_login_work`); with an empty ``password_hash`` (a reading package) the key's own
    authentication tag is the check.
    """
    if password_hash and not verify_password(password, password_hash):
        return None
    wrapped = _split(signing_key)
    if wrapped is None:
        return None
    n, r, p, salt = int(wrapped[1]), int(wrapped[2]), int(wrapped[3]), bytes.fromhex(wrapped[4])
    return _unwrap(_derive(password, salt, n, r, p), wrapped, public_hex)


_DUMMY_HASH = hash_password(secrets.token_hex(16))


def dummy_login_work(password: str) -> None:
    """The verifier work of a real check, for an unknown user (no timing difference)."""
    verify_password(password, _DUMMY_HASH)
