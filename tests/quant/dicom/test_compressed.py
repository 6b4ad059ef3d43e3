"""quant.dicom.load: series in each lossless compressed transfer syntax load bit-identical.

Encoders: RLE (pydicom), JPEG-LS (pyjpegls), JPEG 2000 (pylibjpeg-openjpeg, gdcm fallback),
JPEG Lossless SV1 (dcmtk's dcmcjpeg). Decoders: pylibjpeg / pyjpegls / gdcm through pydicom.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless, JPEGLosslessSV1, JPEGLSLossless, RLELossless

from quant.dicom.load import load_series
from quant.dicom.write import write_series
from tests.support.dicom_cases import synthetic_volume

SYNTAXES = [RLELossless, JPEGLSLossless, JPEG2000Lossless, JPEGLosslessSV1]


@pytest.fixture(scope="module")
def volume(small_phantom):
    """A 12-slice slab of the small phantom (keeps the test fast), geometry preserved."""
    vol = small_phantom.volume
    return type(vol)(
        hu=np.ascontiguousarray(vol.hu[30:42]),
        spacing=vol.spacing,
        origin=tuple(vol.index_to_lps([30, 0, 0])[0]),
        direction=vol.direction,
    )


@pytest.mark.parametrize("syntax", SYNTAXES, ids=lambda u: u.name)
def test_phantom_series_loads_bit_identical(tmp_path, volume, syntax):
    paths = write_series(volume, tmp_path, transfer_syntax=syntax)
    assert {pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID for p in paths} == {syntax}
    loaded = load_series(tmp_path)
    np.testing.assert_array_equal(loaded.hu, volume.hu)
    assert loaded.same_geometry(volume, atol=1e-4)


@pytest.mark.parametrize("syntax", [JPEG2000Lossless, JPEGLosslessSV1], ids=lambda u: u.name)
def test_signed_values_and_coronal_slices(tmp_path, syntax):
    """Values below -1024 force signed storage; coronal slices are thin (9 rows)."""
    vol = synthetic_volume(shape=(9, 40, 36), seed=21)
    write_series(vol, tmp_path, transfer_syntax=syntax, slice_axis=1)
    loaded = load_series(tmp_path)
    np.testing.assert_array_equal(loaded.hu, vol.hu)


def test_series_mixing_syntaxes(tmp_path):
    """Slices of one series stored in different syntaxes (re-sent slices) still load together."""
    vol = synthetic_volume(shape=(6, 32, 32), seed=22)
    uid = pydicom.uid.generate_uid()
    paths = write_series(vol, tmp_path / "plain", series_uid=uid, shuffle=False)
    rle = write_series(vol, tmp_path / "rle", series_uid=uid, shuffle=False, transfer_syntax=RLELossless)
    files = paths[::2] + rle[1::2]
    np.testing.assert_array_equal(load_series(files).hu, vol.hu)
