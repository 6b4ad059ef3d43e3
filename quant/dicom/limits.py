"""Size limits checked *before* DICOM data is inflated or allocated (decompression bombs, absurd
image-size claims). A CT slice is at most 4096 x 4096 pixels; a series at most
:data:`MAX_SLICES` slices; a deflated data set inflates to at most :data:`MAX_INFLATED_BYTES`."""

from __future__ import annotations

import zlib
from pathlib import Path

from quant.dicom.errors import DicomImportError

__all__ = ["MAX_ROWS_COLUMNS", "MAX_SLICES", "MAX_INFLATED_BYTES", "DEFLATED_SYNTAX", "ResourceLimitError",
           "check_deflated_size", "check_image_size"]

MAX_ROWS_COLUMNS = 4096
MAX_SLICES = 4000
MAX_INFLATED_BYTES = 2 * MAX_ROWS_COLUMNS**2 + (16 << 20)  # one 16-bit slice at the limit, plus 16 MiB
DEFLATED_SYNTAX = "1.2.840.10008.1.2.1.99"


class ResourceLimitError(DicomImportError):
    """A file or series claims more data than LungRead accepts (refused before allocating it)."""


def check_image_size(where: object, rows: int, columns: int, n_slices: int = 1) -> None:
    """Refuse absurd declared sizes before any pixel buffer is allocated."""
    if rows > MAX_ROWS_COLUMNS or columns > MAX_ROWS_COLUMNS:
        raise ResourceLimitError(f"{where}: declares {rows}x{columns} pixels per slice, over the "
                                 f"{MAX_ROWS_COLUMNS}x{MAX_ROWS_COLUMNS} limit; refused")
    if n_slices > MAX_SLICES:
        raise ResourceLimitError(f"{where}: {n_slices} slices, over the {MAX_SLICES}-slice limit; refused")


def check_deflated_size(path: Path, data_offset: int) -> None:
    """Stream-inflate a deflated data set (from ``data_offset``) in 1 MiB steps, discarding the
    output, and refuse it once it passes :data:`MAX_INFLATED_BYTES`; memory stays bounded."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    with open(path, "rb") as fh:
        fh.seek(data_offset)
        while chunk := fh.read(1 << 16):
            pending = chunk
            while pending:
                total += len(inflater.decompress(pending, 1 << 20))
                if total > MAX_INFLATED_BYTES:
                    raise ResourceLimitError(
                        f"{path}: deflated data inflates beyond {MAX_INFLATED_BYTES >> 20} MiB (a decompression "
                        "bomb?); refused before reading it")
                pending = inflater.unconsumed_tail
            if inflater.eof:
                break
