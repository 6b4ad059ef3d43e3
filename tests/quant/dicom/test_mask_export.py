"""DICOM SEG and NIfTI export of label maps, checked against the source series files."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from quant.dicom.load import load_series
from quant.dicom.mask_export import SEGMENTS, MaskExportError, nifti_affine, write_dicom_seg, write_nifti
from quant.dicom.write import write_series
from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID
from quant.volume import Volume
from tests.support.required_tools import dciodvfy_errors

# HU bands that define the labels in these tests. Because every label is a function of the voxel's
# HU, the expected SEG frame for a source file can be computed from that file's own pixels,
# independently of any geometry code.
_BANDS = [  # (lo, hi, which, value)
    (-1000, -600, "lung", RIGHT_LUNG),
    (-600, -400, "lung", LEFT_LUNG),
    (-400, -200, "lesion", GGO),
    (-200, 0, "lesion", SOLID),
]


def _labels_from_hu(hu):
    lung = np.zeros(hu.shape, np.uint8)
    lesion = np.zeros(hu.shape, np.uint8)
    for lo, hi, which, value in _BANDS:
        m = (hu >= lo) & (hu < hi)
        (lung if which == "lung" else lesion)[m] = value
    return lung, lesion


def _source_volume(direction=None) -> Volume:
    rng = np.random.default_rng(8)
    # blocky content so that segments have extent; values span all four bands and "outside"
    blocks = rng.integers(-1000, 400, size=(4, 5, 6))
    hu = np.kron(blocks, np.ones((3, 4, 4)))[:, :18, :22].astype(np.int16)
    return Volume(
        hu=hu,
        spacing=(2.5, 0.8, 0.9),
        origin=(-10.0, 5.0, 100.0),
        direction=np.eye(3) if direction is None else direction,
    )


def _source_hu(path):
    ds = pydicom.dcmread(path)
    return ds, ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)


# x index axis pointing to patient right, y and z swapped: the loader must reorder/flip axes
_PERMUTED = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


@pytest.mark.parametrize(
    "slice_axis,reverse,direction",
    [(0, False, None), (1, True, None), (2, False, None), (0, True, _PERMUTED)],
    ids=["axial", "coronal-reversed", "sagittal", "permuted-direction"],
)
def test_dicom_seg_frames_match_source_pixels(tmp_path, slice_axis, reverse, direction):
    import highdicom as hd

    src = write_series(_source_volume(direction), tmp_path / "ct", slice_axis=slice_axis, reverse=reverse, seed=3)
    vol = load_series(src)  # canonical grid: the labels live here, as in the app
    lung, lesion = _labels_from_hu(vol.hu)
    out = write_dicom_seg(src, vol, lesion, lung, tmp_path / "seg.dcm", algorithm_version="test-1")

    seg = hd.seg.segread(out)
    assert seg.Modality == "SEG"
    assert seg.number_of_segments == len(SEGMENTS) == 4
    assert [seg.get_segment_description(i).segment_label for i in range(1, 5)] == [
        "Right lung", "Left lung", "Ground-glass", "Solid"
    ]
    first = pydicom.dcmread(src[0], stop_before_pixels=True)
    assert seg.StudyInstanceUID == first.StudyInstanceUID
    assert seg.FrameOfReferenceUID == first.FrameOfReferenceUID
    assert seg.PatientID == first.PatientID
    ref_series = seg.ReferencedSeriesSequence[0]
    assert ref_series.SeriesInstanceUID == first.SeriesInstanceUID
    assert len(ref_series.ReferencedInstanceSequence) == len(src)

    uids, expected = [], []
    for path in src:
        ds, hu = _source_hu(path)
        uids.append(ds.SOPInstanceUID)
        lung_f, lesion_f = _labels_from_hu(hu)
        expected.append(np.stack([(lung_f if w == "lung" else lesion_f) == v for _, _, w, v in _BANDS], axis=-1))
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=[1, 2, 3, 4], assert_missing_frames_are_empty=True
    )
    assert pixels.shape == (len(src),) + expected[0].shape
    np.testing.assert_array_equal(pixels.astype(bool), np.stack(expected))
    assert np.count_nonzero(pixels) > 100  # all four segments are non-trivial
    assert all(np.any(pixels[..., i]) for i in range(4))

    errors = dciodvfy_errors(out)
    assert not errors, "\n".join(errors)


def test_dicom_seg_refuses_masks_from_another_grid(tmp_path):
    src = write_series(_source_volume(), tmp_path / "ct", seed=1)
    vol = load_series(src)
    other = Volume(hu=vol.hu, spacing=(2.5, 0.8, 0.9), origin=(-10.3, 5.0, 100.0))  # shifted 0.3 mm
    lung, lesion = _labels_from_hu(vol.hu)
    with pytest.raises(MaskExportError, match="does not match"):
        write_dicom_seg(src, other, lesion, lung, tmp_path / "seg.dcm")
    with pytest.raises(MaskExportError, match="shape"):
        write_dicom_seg(src, vol, lesion[:-1], lung, tmp_path / "seg.dcm")
    with pytest.raises(MaskExportError, match="no source"):
        write_dicom_seg([], vol, lesion, lung, tmp_path / "seg.dcm")
    other_series = write_series(_source_volume(), tmp_path / "ct2", seed=5)
    with pytest.raises(MaskExportError, match="2 series"):
        write_dicom_seg(src + other_series[:1], vol, lesion, lung, tmp_path / "seg.dcm")
    (tmp_path / "junk.dcm").write_bytes(b"not dicom")
    with pytest.raises(MaskExportError, match="cannot read"):
        write_dicom_seg([tmp_path / "junk.dcm"], vol, lesion, lung, tmp_path / "seg.dcm")
    assert not (tmp_path / "seg.dcm").exists()


@pytest.mark.parametrize("direction", [None, _PERMUTED])
def test_nifti_affine_overlays_source(tmp_path, direction):
    import nibabel as nib

    src = write_series(_source_volume(direction), tmp_path / "ct", seed=2)
    vol = load_series(src)
    lung, _ = _labels_from_hu(vol.hu)
    out = write_nifti(vol, lung, tmp_path / "lung.nii.gz")
    img = nib.load(out)
    data = np.asarray(img.dataobj)
    assert data.dtype == np.uint8
    np.testing.assert_array_equal(data, lung.transpose(2, 1, 0))
    assert int(img.header["qform_code"]) == 1 and int(img.header["sform_code"]) == 1
    np.testing.assert_allclose(img.get_qform(), img.get_sform(), atol=1e-5)

    rng = np.random.default_rng(0)
    zyx = rng.integers(0, vol.shape, size=(50, 3))
    lps = vol.index_to_lps(zyx)
    ras = lps * np.array([-1.0, -1.0, 1.0])
    ijk1 = np.column_stack([zyx[:, 2], zyx[:, 1], zyx[:, 0], np.ones(len(zyx))])
    np.testing.assert_allclose((img.affine @ ijk1.T).T[:, :3], ras, atol=1e-4)
    np.testing.assert_allclose(nifti_affine(vol)[:3, 3], ras_origin := vol.index_to_lps([0, 0, 0])[0] * [-1, -1, 1])
    assert ras_origin.shape == (3,)

    # overlay check against a source file: its pixel (r, c) is at IPP + c*dc*X + r*dr*Y in LPS;
    # the NIfTI voxel found from that RAS point must carry the label of that pixel's HU
    ds, hu = _source_hu(src[len(src) // 2])
    iop = np.asarray(ds.ImageOrientationPatient, float)
    ipp = np.asarray(ds.ImagePositionPatient, float)
    dr, dc = (float(v) for v in ds.PixelSpacing)
    inv = np.linalg.inv(img.affine)
    lung_src, _ = _labels_from_hu(hu)
    for r, c in [(0, 0), (5, 7), (hu.shape[0] - 1, hu.shape[1] - 1), (9, 2)]:
        p_lps = ipp + c * dc * iop[:3] + r * dr * iop[3:]
        ijk = inv @ np.append(p_lps * [-1, -1, 1], 1.0)
        i, j, k = np.rint(ijk[:3]).astype(int)
        assert np.allclose(ijk[:3], (i, j, k), atol=1e-3)
        assert data[i, j, k] == lung_src[r, c]


def test_nifti_of_hu_image(tmp_path):
    import nibabel as nib

    vol = _source_volume()
    out = write_nifti(vol, None, tmp_path / "ct.nii")
    img = nib.load(out)
    np.testing.assert_array_equal(np.asarray(img.dataobj), vol.hu.transpose(2, 1, 0))
    with pytest.raises(MaskExportError, match="shape"):
        write_nifti(vol, np.zeros((1, 2, 3), np.uint8), tmp_path / "bad.nii")
