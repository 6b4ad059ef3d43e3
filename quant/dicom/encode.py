"""Re-encode a DICOM file into a compressed transfer syntax with external encoders.

pydicom has no JPEG Lossless encoder, and openjpeg (through pydicom) fails on images thinner than
32 pixels, so :mod:`quant.dicom.write` hands those cases to python-gdcm (Apache-2.0) or to dcmtk's
``dcmcjpeg`` (Debian package ``dcmtk``).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

from pydicom.uid import JPEG2000Lossless, JPEGLosslessSV1, JPEGLSLossless, RLELossless

from quant.errors import LungReadError

__all__ = [
    "DicomWriteError",
    "SYNTAX_NAMES",
    "encode_jpeg_lossless",
    "encode_with_dcmtk",
    "encode_with_gdcm",
]


class DicomWriteError(LungReadError):
    """A series could not be written (unsupported transfer syntax, missing encoder, bad input)."""


SYNTAX_NAMES = {
    str(RLELossless): "RLE Lossless",
    str(JPEGLSLossless): "JPEG-LS Lossless",
    str(JPEG2000Lossless): "JPEG 2000 Lossless",
    str(JPEGLosslessSV1): "JPEG Lossless, First-Order Prediction (SV1)",
}

_GDCM_SYNTAX_NAMES = {
    str(JPEGLosslessSV1): "JPEGLosslessProcess14_1",
    str(JPEG2000Lossless): "JPEG2000Lossless",
    str(JPEGLSLossless): "JPEGLSLossless",
    str(RLELossless): "RLELossless",
}


def encode_with_gdcm(src: Path, dst: Path, ts: str) -> None:
    """Re-encode ``src`` into ``dst`` with transfer syntax ``ts`` using python-gdcm."""
    try:
        import gdcm  # python-gdcm, Apache-2.0
    except ImportError as exc:  # pragma: no cover - installed with the project
        raise DicomWriteError(
            f"encoding {SYNTAX_NAMES[ts]} here needs python-gdcm, which is not installed"
        ) from exc
    reader = gdcm.ImageReader()
    reader.SetFileName(str(src))
    if not reader.Read():
        raise DicomWriteError(f"gdcm could not read {src.name} to re-encode it")
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax, _GDCM_SYNTAX_NAMES[ts])))
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise DicomWriteError(f"gdcm failed to encode {src.name} as {SYNTAX_NAMES[ts]}")
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(dst))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    if not writer.Write():
        raise DicomWriteError(f"gdcm could not write {dst.name}")


def encode_with_dcmtk(src: Path, dst: Path) -> None:
    """Re-encode ``src`` as JPEG Lossless SV1 into ``dst`` with dcmtk's ``dcmcjpeg``."""
    exe = shutil.which("dcmcjpeg")
    if exe is None:
        raise DicomWriteError(
            "JPEG Lossless needs python-gdcm or dcmtk's dcmcjpeg (Debian package 'dcmtk'); "
            "neither is available"
        )
    proc = subprocess.run(
        [exe, "+e1", "+tl", "+un", str(src), str(dst)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise DicomWriteError(
            f"dcmcjpeg failed to encode {src.name} as JPEG Lossless SV1: {proc.stderr.strip()}"
        )


def encode_jpeg_lossless(src: Path, dst: Path) -> None:
    """Re-encode ``src`` as JPEG Lossless SV1 (pydicom has no encoder for it).

    python-gdcm runs in-process (about 10x faster than a dcmcjpeg process per slice); dcmtk's
    dcmcjpeg is the fallback.
    """
    if importlib.util.find_spec("gdcm") is not None:
        encode_with_gdcm(src, dst, str(JPEGLosslessSV1))
    else:
        encode_with_dcmtk(src, dst)
