"""Export lung and lesion label maps as DICOM SEG (highdicom) and NIfTI (nibabel).

The label arrays live on LungRead's canonical :class:`~quant.volume.Volume` grid ((z, y, x),
``quant.dicom.load.load_series`` reorders axes/flips to the nearest-to-identity direction). A DICOM SEG
must instead be framed like its *source* images: one frame per source slice, rows/columns as in
that slice. :func:`source_frames` therefore maps each source slice's pixel grid through patient
coordinates (LPS mm) back to volume indices and samples the labels there; it refuses when the
source geometry and the volume do not line up voxel for voxel.

NIfTI stores RAS+ world coordinates and (i, j, k) = (x, y, z) array order, so :func:`write_nifti`
transposes the array and flips the first two axes of LungRead's LPS affine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from quant.errors import LungReadError
from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID
from quant.volume import Volume

__all__ = [
    "MaskExportError",
    "SourceFrames",
    "source_frames",
    "write_dicom_seg",
    "write_nifti",
    "nifti_affine",
    "SEGMENTS",
]

#: (segment number, label, which map, label value, category (scheme, code, meaning), type (...))
SEGMENTS = (
    (1, "Right lung", "lung", RIGHT_LUNG, ("SCT", "91723000", "Anatomical Structure"), ("SCT", "3341006", "Right lung")),
    (2, "Left lung", "lung", LEFT_LUNG, ("SCT", "91723000", "Anatomical Structure"), ("SCT", "44029006", "Left lung")),
    (3, "Ground-glass", "lesion", GGO, ("SCT", "49755003", "Morphologically Abnormal Structure"), ("DCM", "112120", "Ground glass opacity")),
    (4, "Solid", "lesion", SOLID, ("SCT", "49755003", "Morphologically Abnormal Structure"), ("SCT", "95436008", "Lung consolidation")),
)

#: how far (in voxels) a source pixel centre may fall from a volume voxel centre
_GRID_TOL = 1e-2


class MaskExportError(LungReadError):
    """The masks cannot be exported (geometry mismatch with the source series, unreadable files)."""


@dataclass(frozen=True)
class SourceFrames:
    """Source slices sorted along their normal, and where their pixels sit in the volume.

    datasets: pydicom datasets (headers only) in that order. origin: (n_frames, 3) int (z, y, x)
    volume index of each frame's first pixel; step_col / step_row: (3,) int index steps for +1
    column / +1 row (unit steps along volume axes, since the grids coincide).
    """

    datasets: list
    origin: NDArray[np.int64]
    step_col: NDArray[np.int64]
    step_row: NDArray[np.int64]
    rows: int
    cols: int

    def sample(self, labels: NDArray) -> NDArray:
        """Labels (volume grid, z/y/x) resampled onto the source frames: (n_frames, rows, cols)."""
        a = int(np.flatnonzero(self.step_col)[0])  # volume axis along a source row (columns)
        b = int(np.flatnonzero(self.step_row)[0])  # volume axis down a source column (rows)
        cols_off = np.arange(self.cols) * self.step_col[a]
        rows_off = np.arange(self.rows) * self.step_row[b]
        out = np.empty((len(self.datasets), self.rows, self.cols), dtype=labels.dtype)
        for k, o in enumerate(self.origin):
            # open-mesh indexing: two 1-D index vectors broadcast to (rows, cols), third axis fixed
            idx: list = [int(v) for v in o]
            idx[a] = (o[a] + cols_off)[None, :]
            idx[b] = (o[b] + rows_off)[:, None]
            out[k] = labels[tuple(idx)]
        return out


def source_frames(series_files: Sequence[Path | str], volume: Volume) -> SourceFrames:
    """Read the source headers and map every source pixel to its voxel of ``volume``.

    Raises:
        MaskExportError: unreadable file, mixed series, or a source pixel that does not sit on a
            voxel centre of ``volume`` (the masks were not made on this series).
    """
    import pydicom

    datasets = []
    for f in series_files:
        try:
            datasets.append(pydicom.dcmread(f, stop_before_pixels=True))
        except Exception as exc:  # pydicom raises several unrelated types for bad files
            raise MaskExportError(f"cannot read source DICOM file {f}: {exc}") from exc
    if not datasets:
        raise MaskExportError("no source DICOM files given for the segmentation")
    uids = {str(ds.SeriesInstanceUID) for ds in datasets}
    if len(uids) != 1:
        raise MaskExportError(f"source files belong to {len(uids)} series; give the files of one series")
    iop = np.asarray(datasets[0].ImageOrientationPatient, dtype=np.float64)
    row_dir, col_dir = iop[:3], iop[3:]  # direction of increasing column index, of increasing row index
    normal = np.cross(row_dir, col_dir)
    datasets.sort(key=lambda ds: float(np.dot(normal, np.asarray(ds.ImagePositionPatient, dtype=np.float64))))
    rows, cols = int(datasets[0].Rows), int(datasets[0].Columns)
    dr, dc = (float(v) for v in datasets[0].PixelSpacing)  # row spacing (between rows), column spacing
    shape = np.asarray(volume.shape)
    origins = np.empty((len(datasets), 3), dtype=np.int64)
    steps = None
    for k, ds in enumerate(datasets):
        if (int(ds.Rows), int(ds.Columns)) != (rows, cols):
            raise MaskExportError("source slices differ in size; cannot build one segmentation")
        ipp = np.asarray(ds.ImagePositionPatient, dtype=np.float64)
        # the source pixel grid is affine: its first pixel, one step along a row and along a
        # column, and the far corner (for the bounds check) fix it
        pts = volume.lps_to_index(
            np.stack([ipp, ipp + dc * row_dir, ipp + dr * col_dir, ipp + (cols - 1) * dc * row_dir + (rows - 1) * dr * col_dir])
        )
        frac = np.stack([pts[0], pts[1] - pts[0], pts[2] - pts[0], pts[3]])
        ints = np.rint(frac)
        if np.max(np.abs(frac - ints)) > _GRID_TOL or np.abs(ints[1]).sum() != 1 or np.abs(ints[2]).sum() != 1:
            raise MaskExportError(
                "the masks' volume grid does not match the source series (source pixels fall between "
                "voxels): export from the series the masks were made on"
            )
        ints = ints.astype(np.int64)
        if steps is None:
            steps = (ints[1], ints[2])
        for corner in (ints[0], ints[3]):
            if corner.min() < 0 or np.any(corner >= shape):
                raise MaskExportError("the source series extends outside the masks' volume: wrong series?")
        origins[k] = ints[0]
    return SourceFrames(datasets, origins, steps[0], steps[1], rows, cols)


def _code(triple: tuple[str, str, str]):
    from pydicom.sr.coding import Code

    scheme, value, meaning = triple
    return Code(value=value, scheme_designator=scheme, meaning=meaning)


def write_dicom_seg(
    series_files: Sequence[Path | str],
    volume: Volume,
    lesion_labels: NDArray[np.uint8],
    lung_labels: NDArray[np.uint8],
    out_path: Path | str,
    *,
    series_description: str = "LungRead lung and lesion segmentation",
    series_number: int = 900,
    software_version: str = "0.1.0",
    algorithm_version: str = "",
    content_label: str = "LUNGREAD",
    manufacturer: str = "LungRead",
    series_uid: str | None = None,
    sop_uid: str | None = None,
    patient_id: str | None = None,
) -> Path:
    """Write a binary DICOM SEG with four segments referencing the source CT series.

    Segments: 1 right lung, 2 left lung (lungs include the lesions inside them, so segments
    overlap), 3 ground-glass, 4 solid. Frames follow the source slices (one frame per source
    slice that has any segment; empty frames are omitted). Algorithm type SEMIAUTOMATIC: automatic
    segmentation corrected by a reader.

    Args:
        series_files: the source CT files (any order) the masks were made on.
        volume: the Volume loaded from those files (labels are on its grid, (z, y, x)).
        lesion_labels, lung_labels: uint8 label maps (quant.labels values), volume.shape.
        out_path: the .dcm file to write.

        patient_id: the trial's de-identified subject code: the SEG then names the patient by it
            alone (highdicom copies the source's patient and study module, names and dates included).

    Raises:
        MaskExportError: shape mismatch, or masks not on the source series' grid.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    for name, arr in (("lesion_labels", lesion_labels), ("lung_labels", lung_labels)):
        if np.shape(arr) != volume.shape:
            raise MaskExportError(f"{name} has shape {np.shape(arr)}, the volume {volume.shape}")
    frames = source_frames(series_files, volume)
    lung_f = frames.sample(np.asarray(lung_labels))
    lesion_f = frames.sample(np.asarray(lesion_labels))
    maps = {"lung": lung_f, "lesion": lesion_f}
    pixels = np.stack([maps[which] == value for _, _, which, value, _, _ in SEGMENTS], axis=-1)

    algorithm = hd.AlgorithmIdentificationSequence(
        name="LungRead lung and lesion segmentation",
        # HU thresholds + morphology, then reader edits (CID 7162 "Algorithm Family")
        family=codes.cid7162.MorphologicalOperations,
        version=algorithm_version or software_version,
    )
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=num,
            segment_label=label,
            segmented_property_category=_code(cat),
            segmented_property_type=_code(typ),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.SEMIAUTOMATIC,
            algorithm_identification=algorithm,
            tracking_uid=generate_uid(),
            tracking_id=f"LungRead {label}",
        )
        for num, label, _, _, cat, typ in SEGMENTS
    ]
    seg = hd.seg.Segmentation(
        source_images=frames.datasets,
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=series_uid or generate_uid(),
        series_number=series_number,
        sop_instance_uid=sop_uid or generate_uid(),
        instance_number=1,
        manufacturer=manufacturer,
        manufacturer_model_name="LungRead",
        software_versions=software_version,
        device_serial_number="0",
        content_label=content_label,
        content_description="Lungs and lesions",
        series_description=series_description,
    )
    if patient_id is not None:
        _only_trial_identity(seg, patient_id)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(out_path)
    return out_path


# Patient and study attributes a SEG copies from its source: emptied (type 2) or removed (type 3).
_EMPTIED = ("PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "ReferringPhysicianName",
            "AccessionNumber", "StudyID")
_REMOVED = ("PatientAge", "PatientSize", "PatientWeight", "PatientAddress", "PatientTelephoneNumbers",
            "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "PatientBirthName",
            "PatientMotherBirthName", "IssuerOfPatientID", "EthnicGroup", "PatientComments", "InstitutionName",
            "InstitutionAddress", "InstitutionalDepartmentName", "StationName", "StudyDescription",
            "OperatorsName", "PerformingPhysicianName", "NameOfPhysiciansReadingStudy", "RequestingPhysician",
            "SeriesDate", "SeriesTime", "AcquisitionDate", "AcquisitionTime", "AdmittingDiagnosesDescription")


def _only_trial_identity(seg: object, patient_id: str) -> None:
    for keyword in _EMPTIED:
        if keyword in seg:  # type: ignore[operator]
            setattr(seg, keyword, "")
    for keyword in _REMOVED:
        if keyword in seg:  # type: ignore[operator]
            delattr(seg, keyword)
    for item in getattr(seg, "ContributingEquipmentSequence", []):  # the source's equipment, with its site
        for keyword in ("InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "StationName"):
            if keyword in item:
                delattr(item, keyword)
    seg.PatientName = patient_id  # type: ignore[attr-defined]
    seg.PatientID = patient_id  # type: ignore[attr-defined]
    seg.PatientIdentityRemoved = "YES"  # type: ignore[attr-defined]
    seg.DeidentificationMethod = "LungRead: trial subject code only"  # type: ignore[attr-defined]


def nifti_affine(volume: Volume) -> NDArray[np.float64]:
    """4x4 affine from NIfTI (i, j, k) = (x, y, z) voxel indices to RAS+ mm (LPS with x, y negated)."""
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ volume.affine_lps


def write_nifti(volume: Volume, labels: NDArray | None, out_path: Path | str) -> Path:
    """Write ``labels`` (uint8, z/y/x, on ``volume``'s grid), or the HU image when labels is None,
    as NIfTI-1 (.nii or .nii.gz) with qform = sform = the RAS affine (code 1, scanner)."""
    import nibabel as nib

    data = volume.hu if labels is None else np.asarray(labels)
    if data.shape != volume.shape:
        raise MaskExportError(f"labels have shape {data.shape}, the volume {volume.shape}")
    affine = nifti_affine(volume)
    img = nib.Nifti1Image(np.ascontiguousarray(np.transpose(data, (2, 1, 0))), affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    img.header.set_xyzt_units("mm")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, out_path)
    return out_path
