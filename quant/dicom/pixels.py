"""Read slice pixels into a preallocated int16 HU array, fast.

Uncompressed little-endian 16-bit slices (by far the most common CT export) are read straight
from the file at the Pixel Data offset found while parsing the header, into the destination
slice itself, and rescaled in place: no second DICOM parse and no temporary arrays. Everything else
(compressed transfer syntaxes, big endian, 8/32-bit) goes through pydicom's decoders (pylibjpeg,
pyjpegls, gdcm). Slices are read in a small thread pool; file reads and numpy release the GIL.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from quant.dicom.errors import (
    DicomImportError,
    PixelDecodeError,
    TruncatedFileError,
    UnsupportedTransferSyntaxError,
)
from quant.dicom.header import SliceHeader, is_valid_uid, uid_name

__all__ = ["check_decodable", "read_slices", "rescale_into"]

_FAST_SYNTAXES = {str(ImplicitVRLittleEndian), str(ExplicitVRLittleEndian)}
_INT16_MIN, _INT16_MAX = -32768, 32767


def check_decodable(h: SliceHeader) -> None:
    """Raise :class:`UnsupportedTransferSyntaxError` when no installed decoder handles ``h``."""
    if not is_valid_uid(h.transfer_syntax):
        raise UnsupportedTransferSyntaxError(
            f"{h.path}: invalid transfer syntax UID {h.transfer_syntax!r}; pixel data cannot be decoded"
        )
    uid = UID(h.transfer_syntax)
    if not uid.is_transfer_syntax:
        raise UnsupportedTransferSyntaxError(
            f"{h.path}: unknown transfer syntax {uid_name(h.transfer_syntax)}; pixel data cannot be decoded"
        )
    if not uid.is_compressed:
        return
    try:
        decoder = pydicom.pixels.get_decoder(uid)
    except NotImplementedError:
        decoder = None
    if decoder is None or not decoder.is_available:
        raise UnsupportedTransferSyntaxError(
            f"{h.path}: pixel data compressed as {uid_name(uid)} ({uid}); no decoder for it is installed"
        )


def rescale_into(stored: NDArray[np.integer], slope: float, intercept: float, dst: NDArray[np.int16]) -> None:
    """Write ``stored * slope + intercept`` (HU, rounded, clipped to int16) into ``dst``.

    ``stored`` may share memory with ``dst`` (the fast path reads raw bytes into ``dst`` itself).
    """
    if slope == 1.0 and float(intercept).is_integer() and stored.dtype.itemsize <= 2:
        ic = int(intercept)
        # Unsigned values cannot underflow int16 after a negative-or-small intercept: skip min().
        lo = 0 if stored.dtype.kind == "u" else int(stored.min())
        hi = int(stored.max())
        if _INT16_MIN <= lo + ic and hi + ic <= _INT16_MAX and _INT16_MIN <= ic <= _INT16_MAX:
            # Exact in int16: modular int16 arithmetic equals the true value when it fits.
            if stored.dtype.itemsize == 2:
                src = stored.view(np.int16)
            else:
                src = stored.astype(np.int16)
            np.add(src, np.int16(ic), out=dst, casting="unsafe")
            return
    if slope == 1.0 and float(intercept).is_integer():
        values = stored.astype(np.int64) + int(intercept)
    else:
        values = np.rint(stored.astype(np.float64) * slope + intercept)
    np.clip(values, _INT16_MIN, _INT16_MAX, out=values)
    dst[...] = values.astype(np.int16)


def _read_native(h: SliceHeader, dst: NDArray[np.int16]) -> None:
    """Uncompressed little-endian 16-bit slice: read the bytes into ``dst`` and rescale in place."""
    nbytes = h.rows * h.columns * 2
    with open(h.path, "rb") as fh:
        fh.seek(h.pixel_offset)  # type: ignore[arg-type]
        got = fh.readinto(memoryview(dst).cast("B"))
    if got != nbytes:
        raise TruncatedFileError(f"{h.path}: truncated file: {got} of {nbytes} pixel bytes present")
    stored: NDArray[np.integer] = dst.view(np.int16 if h.pixel_representation else np.uint16)
    bits = h.bits_stored
    if 0 < bits < 16:
        # Bits above BitsStored may hold overlays or garbage: mask them, sign-extending if signed.
        if h.pixel_representation:
            shift = np.int16(16 - bits)
            np.left_shift(stored, shift, out=stored)
            np.right_shift(stored, shift, out=stored)
        else:
            np.bitwise_and(stored, np.uint16((1 << bits) - 1), out=stored)
    rescale_into(stored, h.rescale_slope, h.rescale_intercept, dst)


def _read_decoded(h: SliceHeader, dst: NDArray[np.int16]) -> None:
    """Any other slice: full pydicom read and decode, then rescale."""
    try:
        ds = pydicom.dcmread(h.path)
        arr = ds.pixel_array
    except DicomImportError:
        raise
    except (EOFError, ValueError) as exc:
        text = str(exc)
        if isinstance(exc, EOFError) or "shorter than" in text or "truncat" in text.lower():
            raise TruncatedFileError(f"{h.path}: truncated pixel data ({text})") from exc
        raise PixelDecodeError(f"{h.path}: pixel data cannot be decoded ({text})") from exc
    except Exception as exc:  # decoder plug-ins raise assorted types
        raise PixelDecodeError(
            f"{h.path}: pixel data cannot be decoded as {uid_name(h.transfer_syntax)} "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    if arr.shape != (h.rows, h.columns):
        raise PixelDecodeError(
            f"{h.path}: decoded pixel data has shape {arr.shape}, expected {(h.rows, h.columns)}"
        )
    if arr.dtype.kind not in "iu":
        raise PixelDecodeError(f"{h.path}: pixel data type {arr.dtype} is not integer")
    rescale_into(arr, h.rescale_slope, h.rescale_intercept, dst)


def _can_read_native(h: SliceHeader) -> bool:
    return (
        h.pixel_offset is not None
        and h.transfer_syntax in _FAST_SYNTAXES
        and h.bits_allocated == 16
        and h.samples_per_pixel == 1
        and h.number_of_frames == 1
        and (h.pixel_length or 0) >= h.rows * h.columns * 2
    )


def read_slices(
    headers: Sequence[SliceHeader],
    out: NDArray[np.int16],
    targets: Sequence[int],
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> None:
    """Read ``headers[i]`` into ``out[targets[i]]`` as int16 HU.

    Args:
        headers: one single-frame slice each.
        out: C-contiguous (n, rows, columns) int16 array.
        targets: destination slice index for each header.
        progress: called as ``progress(done, total)`` from the calling thread.
        workers: thread count (default: up to 4, at most the CPU count).
    """
    total = len(headers)

    def one(i: int) -> None:
        h = headers[i]
        dst = out[targets[i]]
        if _can_read_native(h):
            _read_native(h, dst)
        else:
            _read_decoded(h, dst)

    if workers is None:
        workers = max(1, min(4, os.cpu_count() or 1))
    # Decoders warn about harmless oddities (e.g. a pixel representation fixed up from the
    # codestream). catch_warnings is process-global, so it is entered once here, not per thread.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run(one, total, workers, progress)


def _run(
    one: Callable[[int], None],
    total: int,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    if workers == 1 or total < 8:
        for i in range(total):
            one(i)
            if progress is not None:
                progress(i + 1, total)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one, i) for i in range(total)]
        try:
            for done, fut in enumerate(as_completed(futures), start=1):
                fut.result()
                if progress is not None:
                    progress(done, total)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
