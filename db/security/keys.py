"""Per-user Ed25519 signing keys, stored encrypted under a key derived from the user's password.

One scrypt derivation (N = 2^16, r = 8, p = 1: 64 MiB, about 0.2 s on one core) of the password
with a random 16-byte salt gives 64 bytes: the first 32 are the **login verifier** (stored in
``users.password_hash``), the last 32 the **key-encryption key** that wraps the 32-byte Ed25519
private key with AES-256-GCM (``users.signing_key``, authenticated data: the public key). The two
halves are independent outputs of scrypt's final PBKDF2 step, so the stored verifier does not reveal
the key-encryption key. A reading package carries only the wrapped key, never the verifier: the reader
proves their password offline by unwrapping it (the GCM tag fails otherwise).

Stored formats (parameters kept so they can be raised later):

- verifier: ``scrypt64$N$r$p$<salt hex>$<verifier hex>``
- wrapped key: ``ed25519-aesgcm$N$r$p$<salt hex>$<nonce hex>$<ciphertext hex>``

A key's **fingerprint** is the SHA-256 (hex) of its raw 32-byte public key; the trial's trust root is
the fingerprint of the first manager's key (:mod:`db.security.trust`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

__all__ = ["SigningKey", "Credentials", "new_credentials", "rewrap_credentials", "open_credentials",
           "unwrap_key", "dummy_login_work", "fingerprint", "verify_signature", "SCRYPT_N"]

SCRYPT_N = 2**16
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_VERIFIER = "scrypt64"
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
    """What an account stores: login verifier, wrapped private key, public key (hex)."""

    password_hash: str
    signing_key: str
    public_key: str


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes]:
    out = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=64, maxmem=_MAXMEM)
    return out[:32], out[32:]


def _public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _wrap(password: str, key: Ed25519PrivateKey) -> Credentials:
    salt = secrets.token_bytes(_SALT_BYTES)
    verifier, kek = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    public = _public_hex(key)
    nonce = secrets.token_bytes(12)
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    ct = AESGCM(kek).encrypt(nonce, raw, bytes.fromhex(public))
    params = f"{SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}"
    return Credentials(f"{_VERIFIER}${params}${verifier.hex()}", f"{_WRAPPED}${params}${nonce.hex()}${ct.hex()}", public)


def new_credentials(password: str) -> Credentials:
    """A fresh Ed25519 key pair wrapped under ``password`` (slow by design: one scrypt)."""
    return _wrap(password, Ed25519PrivateKey.generate())


def rewrap_credentials(password: str, key: SigningKey) -> Credentials:
    """The same key pair wrapped under a new password (a password change keeps the key)."""
    return _wrap(password, key._private)


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
    """The unwrapped key when ``password`` is right, else None (one scrypt either way).

    With an empty ``password_hash`` (a reading package) the key's own authentication tag is the check.
    """
    wrapped = _split(signing_key)
    if wrapped is None:
        dummy_login_work(password)
        return None
    n, r, p, salt = int(wrapped[1]), int(wrapped[2]), int(wrapped[3]), bytes.fromhex(wrapped[4])
    verifier, kek = _derive(password, salt, n, r, p)
    if password_hash:
        parts = password_hash.split("$")
        if len(parts) != 6 or parts[0] != _VERIFIER or parts[4] != wrapped[4]:
            return None
        if not hmac.compare_digest(verifier, bytes.fromhex(parts[5])):
            return None
    return _unwrap(kek, wrapped, public_hex)


def unwrap_key(password: str, signing_key: str, public_hex: str) -> SigningKey | None:
    """Unwrap a key with its password alone (reading packages, which hold no verifier)."""
    return open_credentials(password, "", signing_key, public_hex)


_DUMMY_SALT = secrets.token_bytes(_SALT_BYTES)


def dummy_login_work(password: str) -> None:
    """The scrypt work of a real check, for an unknown user (no timing difference)."""
    _derive(password, _DUMMY_SALT, SCRYPT_N, SCRYPT_R, SCRYPT_P)
