"""Decompression bombs and absurd size claims are refused before anything large is allocated: a
small deflated DICOM file that inflates to 512 MB (ten times the limit), and a slice that claims
65535 x 65535 pixels."""

from __future__ import annotations

import io
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.filewriter import write_file_meta_info

from quant.dicom.header import read_header
from quant.dicom.limits import ResourceLimitError


def _deflated_bomb(path: Path, inflated_bytes: int) -> Path:
    """A DICOM file whose deflated data set is one private OB element of ``inflated_bytes`` zeros."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = "2.25.1"
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1.99"
    head = io.BytesIO()
    head.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(head, meta, enforce_standard=True)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    with open(path, "wb") as fh:
        fh.write(head.getvalue())
        # (0008,0060) Modality CS "CT", then (0009,1010) OB of zeros (explicit VR little endian)
        fh.write(deflater.compress(b"\x08\x00\x60\x00CS\x02\x00CT"))
        fh.write(deflater.compress(b"\x09\x00\x10\x10OB\x00\x00" + inflated_bytes.to_bytes(4, "little")))
        zeros = b"\0" * (1 << 24)
        for _ in range(inflated_bytes >> 24):
            fh.write(deflater.compress(zeros))
        fh.write(deflater.flush())
    return path


def test_deflated_bomb_is_refused_by_the_reader(tmp_path: Path) -> None:
    bomb = _deflated_bomb(tmp_path / "bomb.dcm", 256 << 20)  # limit: 48 MiB
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(ResourceLimitError, match="decompression bomb"):
        read_header(bomb)


def test_lungread_info_on_a_bomb_stays_small(tmp_path: Path) -> None:
    from quant.dicom.write import write_series
    from quant.volume import Volume

    folder = tmp_path / "delivery"
    write_series(Volume(np.zeros((4, 16, 16), np.int16), (2.5, 1.0, 1.0)), folder / "ct")
    _deflated_bomb(folder / "IM9999.dcm", 512 << 20)
    # The child reports its own high-water mark (VmHWM of its fresh address space: ru_maxrss would
    # include the forking test process's size from before the exec).
    child = ("import sys; from desktop.cli.main import main; rc = main(['info', sys.argv[1]]); "
             "hwm = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]; "
             "print('VMHWM_KIB=' + hwm, file=sys.stderr); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", child, str(folder)], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    peak_kib = int(proc.stderr.rsplit("VMHWM_KIB=", 1)[1].split()[0])
    assert peak_kib < 500 * 1024, f"peak {peak_kib / 1024:.0f} MiB"  # was 4.27 GB before the bound
    assert proc.returncode == 0 and "1 series found; 1 file(s) skipped" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr.lower()


def test_a_slice_claiming_65535_squared_pixels_is_refused_before_allocation(tmp_path: Path) -> None:
    import pydicom

    from quant.dicom.load import load_series
    from quant.dicom.write import write_series
    from quant.volume import Volume

    folder = tmp_path / "ct"
    write_series(Volume(np.zeros((4, 16, 16), np.int16), (2.5, 1.0, 1.0)), folder)
    for f in folder.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.Rows = ds.Columns = 65535
        ds.save_as(f)
    with pytest.raises(ResourceLimitError, match="65535x65535 pixels per slice"):
        load_series(folder)
