"""Opening a case off the GUI thread (``desktop.reading.case_loader.load_case``) when the automatic
segmentation refuses the scan: the case still opens, with empty masks and the reason, so the reader
can mark it not evaluable; a real chest CT opens with the automatic result and its QC flags."""

from __future__ import annotations

import numpy as np

from desktop.reading.case_loader import load_case
from quant.volume import Volume
from tests.support.paths import TEST_DATA


def _progress(done: int, total: int, text: str) -> None:
    return None


def test_a_scan_without_lungs_opens_empty_with_the_reason(tmp_path):
    from quant.dicom.write import write_series

    hu = np.full((12, 48, 48), 35, np.int16)  # soft tissue: no air inside a body at all
    hu[:, :4] = -1000
    folder = tmp_path / "no_lungs"
    write_series(Volume(hu, spacing=(3.0, 2.5, 2.5)), folder)
    loaded = load_case(folder, None, _progress, lambda: False)
    assert loaded.segmentation_refused is not None
    assert "no plausible lungs" in loaded.segmentation_refused
    assert loaded.lungs.labels.shape == hu.shape and loaded.lungs.labels.max() == 0
    assert loaded.lesions.labels.max() == 0
    assert loaded.algorithm_version is None and not loaded.segmentation_cancelled


def test_a_real_chest_ct_opens_with_its_qc_flags():

    folder = TEST_DATA / "realct" / "cancer_lpcd_A0002_B40f" / "dicom"
    loaded = load_case(folder, None, _progress, lambda: False)
    assert loaded.segmentation_refused is None and loaded.lungs.labels.max() == 2
    assert "thick_slices" in [f.code for f in loaded.qc_flags]
