"""Real CT case folders with references, as laid out in ``shared/data/realct/`` (see its README).

A case folder holds ``dicom/`` (the series), ``case.json`` (what the series and its reference are)
and the reference itself, one of:

* ``labels.csv``: radiologist slice-level infection flags (and lobe flags), one row per file;
* ``annotation_xml/``: Pascal-VOC tumour bounding boxes, one XML per annotated slice, named after
  the SOPInstanceUID of that slice (``case.json`` maps boxes drawn on another reconstruction to the
  file at the same position here);
* ``ref/``: NIfTI lung (lobe) masks on the CT's own grid.

Every reference is mapped onto the loaded :class:`quant.volume.Volume` by patient position (LPS
mm), never by the order of files in a listing. Used by ``benchmarks/real_ct.py`` and by the tests
that run on the real cases copied into ``tests/data/realct/``.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pydicom
from numpy.typing import NDArray

from quant.volume import Volume

__all__ = ["RealCase", "find_cases"]


@dataclass(frozen=True)
class RealCase:
    """One case folder: ``name``, its ``folder``, and the parsed ``case.json`` (``info``)."""

    name: str
    folder: Path
    info: dict

    @property
    def dicom(self) -> Path:
        return self.folder / self.info.get("ct", {}).get("path", "dicom")

    # -- slice positions -------------------------------------------------------------------------

    def _file_slice_index(self, volume: Volume) -> dict[str, int]:
        """File name -> z index of the loaded volume, from each file's ImagePositionPatient."""
        out: dict[str, int] = {}
        for path in sorted(self.dicom.iterdir()):
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["ImagePositionPatient"])
            z = volume.lps_to_index([float(v) for v in ds.ImagePositionPatient])[0, 0]
            out[path.name] = int(round(z))
        return out

    # -- references ------------------------------------------------------------------------------

    def reference_lung(self, volume: Volume) -> NDArray[np.bool_] | None:
        """The reference lung mask on ``volume``'s grid (union of the ``ref_lung`` files), or None."""
        ref = self.info.get("ref_lung")
        if not ref:
            return None
        import nibabel as nib
        from scipy import ndimage

        threshold = float(ref.get("threshold", 0.5))
        union = None
        affine = None
        for name in ref["files"]:
            img = nib.load(str(self.folder / name))
            data = np.asanyarray(img.dataobj) > threshold
            union = data if union is None else union | data
            affine = img.affine
        # volume index (x, y, z) -> LPS -> RAS -> NIfTI voxel (i, j, k)
        ras_from_lps = np.diag([-1.0, -1.0, 1.0, 1.0])
        m = np.linalg.inv(affine) @ ras_from_lps @ volume.affine_lps
        # ndimage works in (z, y, x) output order and NIfTI (i, j, k) input order
        perm = np.zeros((4, 4))
        perm[0, 2] = perm[1, 1] = perm[2, 0] = perm[3, 3] = 1.0  # (z, y, x) -> (x, y, z)
        mat = m @ perm
        out = ndimage.affine_transform(
            union.astype(np.uint8), mat[:3, :3], offset=mat[:3, 3], output_shape=volume.shape, order=0
        )
        return out.astype(bool)

    def slice_flags(self, volume: Volume) -> tuple[NDArray[np.int64], NDArray[np.bool_]] | None:
        """(z indices, infection flags) of the labelled slices, matched by file name; or None."""
        labels = self.folder / (self.info.get("slice_labels") or {}).get("file", "labels.csv")
        if not self.info.get("slice_labels") or not labels.is_file():
            return None
        index = self._file_slice_index(volume)
        zs, flags = [], []
        with labels.open(newline="") as f:
            for row in csv.DictReader(f):
                if row["file"] not in index:
                    continue  # a deleted file has no image
                zs.append(index[row["file"]])
                flags.append(row["infection"] == "1")
        return np.array(zs, dtype=np.int64), np.array(flags, dtype=bool)

    def lesion_free_side(self) -> str | None:
        """"left" or "right" where the reference says that lung has no lesion."""
        return (self.info.get("slice_labels") or {}).get("lesion_free_side")

    def tumour_boxes(self, volume: Volume, margin_mm: float | None = None) -> NDArray[np.bool_] | None:
        """Tumour boxes on ``volume``'s grid, grown by ``margin_mm`` (default: case.json's) in
        every direction (z included); or None when the case has none."""
        tb = self.info.get("tumour_boxes")
        if not tb:
            return None
        margin = float(tb.get("margin_mm", 10.0) if margin_mm is None else margin_mm)
        index = {}
        for path in sorted(self.dicom.iterdir()):
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
            index[str(ds.SOPInstanceUID)] = path.name
        other = tb.get("other_series_slices", {})
        file_z = self._file_slice_index(volume)
        out = np.zeros(volume.shape, dtype=bool)
        sz, sy, sx = volume.spacing
        for xml in sorted((self.folder / tb["xml_dir"]).glob("*.xml")):
            uid = xml.stem
            name = index.get(uid) or other.get(uid, {}).get("same_position_file_here")
            if name is None:
                continue
            z = file_z[name]
            for box in ET.parse(xml).getroot().iter("bndbox"):
                x0, y0 = int(box.findtext("xmin")), int(box.findtext("ymin"))
                x1, y1 = int(box.findtext("xmax")), int(box.findtext("ymax"))
                mz, my, mx = (int(np.floor(margin / s + 1e-9)) for s in (sz, sy, sx))
                out[
                    max(z - mz, 0) : z + mz + 1,
                    max(y0 - my, 0) : y1 + my + 1,
                    max(x0 - mx, 0) : x1 + mx + 1,
                ] = True
        return out


def with_added_noise(volume: Volume, sigma_hu: float, seed: int = 0) -> Volume:
    """``volume`` with Gaussian noise of ``sigma_hu`` (HU, one standard deviation, white, fixed
    ``seed``) added and clipped to -1024..3071 HU: a real scan made to look like a low-dose one, so
    a reference case also tests robustness to noise (real low-dose noise is coloured by the kernel;
    white noise of the same SD is the harder case for a voxel-wise rule)."""
    if sigma_hu <= 0:
        return volume
    noisy = volume.hu + np.random.default_rng(seed).normal(0.0, sigma_hu, volume.shape)
    return replace(volume, hu=np.clip(np.rint(noisy), -1024, 3071).astype(np.int16))


def find_cases(root: Path) -> list[RealCase]:
    """Every folder under ``root`` (depth 1) that holds a ``case.json`` and its series."""
    cases = []
    for folder in sorted(Path(root).iterdir()):
        meta = folder / "case.json"
        if folder.is_dir() and meta.is_file():
            info = json.loads(meta.read_text("utf-8"))
            case = RealCase(folder.name, folder, info)
            if case.dicom.is_dir():
                cases.append(case)
    return cases
