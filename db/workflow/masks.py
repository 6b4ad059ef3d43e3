"""Compact, checksummed storage of label maps (lung and lesion masks).

Codec ``rle-zlib``: the C-order flattened array is run-length encoded (run values in the array's
dtype, then run lengths as little-endian uint32), and that byte string is zlib-compressed. A
512x512x300 lung mask has ~100-300 thousand runs and compresses to ~50-150 kB.

The SHA-256 checksum covers the uncompressed run-length bytes, which determine the array exactly
given its shape and dtype; it is cheap (about 1 MB hashed instead of 78 MB) and doubles as a
content address, so an autosave with unchanged masks stores nothing new. Decoding verifies the
checksum and the total voxel count and raises :class:`MaskIntegrityError` on any mismatch.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from db.errors import MaskIntegrityError

__all__ = ["EncodedMask", "encode_mask", "decode_mask", "CODEC", "ZLIB_LEVEL"]

CODEC = "rle-zlib"
ZLIB_LEVEL = 3  # on run-length bytes: level 3 is ~7x faster than 6 (15 vs 110 ms for a full-size lung mask), 20% larger
_SUPPORTED = ("bool", "uint8", "int8", "uint16", "int16")


@dataclass(frozen=True)
class EncodedMask:
    """A compressed label map: ``shape`` (z, y, x), ``dtype`` name, run count, checksum, payload."""

    shape: tuple[int, ...]
    dtype: str
    codec: str
    n_runs: int
    sha256: str
    data: bytes

    @property
    def nbytes(self) -> int:
        return len(self.data)


_CHUNK = 1 << 18  # elements per comparison block: keeps the temporaries in cache


def _run_boundaries(flat: NDArray) -> NDArray[np.int64]:
    """Indices i (>= 1) where ``flat[i] != flat[i - 1]``, computed block by block.

    Blocking avoids two full-size temporaries (a 78 MB boolean array for a 512x512x300 mask and
    its page faults) and is 2-3x faster than the one-shot ``flatnonzero(flat[1:] != flat[:-1])``.
    """
    n = flat.size
    buf = np.empty(min(_CHUNK, max(n - 1, 1)), dtype=bool)
    parts = []
    for a in range(1, n, _CHUNK):
        b = min(n, a + _CHUNK)
        m = b - a
        if not flat[a - 1] and not flat[a:b].any():
            continue  # all background (most of a lesion mask): one read pass, no boundary
        np.not_equal(flat[a:b], flat[a - 1 : b - 1], out=buf[:m])
        nz = np.flatnonzero(buf[:m])
        if nz.size:
            parts.append(nz + a)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def encode_mask(labels: NDArray) -> EncodedMask:
    """Encode a label array (any shape; bool or small integer dtype) losslessly."""
    arr = np.asarray(labels)
    if arr.dtype.name not in _SUPPORTED:
        raise MaskIntegrityError(f"cannot store a mask of dtype {arr.dtype}; use uint8 labels")
    flat = np.ascontiguousarray(arr).reshape(-1)
    if arr.dtype == np.bool_:
        flat = flat.view(np.uint8)
    if flat.size == 0:
        values = flat[:0]
        lengths = np.zeros(0, dtype="<u4")
    else:
        boundaries = _run_boundaries(flat)
        starts = np.empty(boundaries.size + 1, dtype=np.int64)
        starts[0] = 0
        starts[1:] = boundaries
        values = flat[starts]
        ends = np.empty_like(starts)
        ends[:-1] = boundaries
        ends[-1] = flat.size
        lengths = (ends - starts).astype("<u4")
    raw = values.astype(values.dtype.newbyteorder("<"), copy=False).tobytes() + lengths.tobytes()
    return EncodedMask(
        shape=tuple(int(n) for n in arr.shape),
        dtype=arr.dtype.name,
        codec=CODEC,
        n_runs=int(values.size),
        sha256=hashlib.sha256(raw).hexdigest(),
        data=zlib.compress(raw, ZLIB_LEVEL),
    )


def decode_mask(mask: EncodedMask) -> NDArray:
    """Decode and verify an :class:`EncodedMask`; returns a new array of its shape and dtype."""
    if mask.codec != CODEC:
        raise MaskIntegrityError(f"unknown mask codec {mask.codec!r} (this version reads {CODEC!r})")
    if mask.dtype not in _SUPPORTED:
        raise MaskIntegrityError(f"unknown mask dtype {mask.dtype!r}")
    try:
        raw = zlib.decompress(mask.data)
    except zlib.error as exc:
        raise MaskIntegrityError(f"stored mask {mask.sha256[:12]} is corrupt: {exc}") from exc
    if hashlib.sha256(raw).hexdigest() != mask.sha256:
        raise MaskIntegrityError(f"stored mask {mask.sha256[:12]} fails its SHA-256 checksum")
    store = np.dtype("uint8" if mask.dtype == "bool" else mask.dtype).newbyteorder("<")
    nval = mask.n_runs * store.itemsize
    if len(raw) != nval + 4 * mask.n_runs:
        raise MaskIntegrityError(f"stored mask {mask.sha256[:12]} has a wrong run count")
    values = np.frombuffer(raw, dtype=store, count=mask.n_runs)
    lengths = np.frombuffer(raw, dtype="<u4", offset=nval, count=mask.n_runs)
    size = int(np.prod(mask.shape, dtype=np.int64))
    if int(lengths.sum(dtype=np.int64)) != size:
        raise MaskIntegrityError(
            f"stored mask {mask.sha256[:12]} holds {int(lengths.sum())} voxels, its shape {mask.shape} needs {size}"
        )
    out = np.repeat(values, lengths).astype(mask.dtype if mask.dtype != "bool" else np.uint8, copy=False)
    if mask.dtype == "bool":
        out = out.view(np.bool_)
    return out.reshape(mask.shape)
