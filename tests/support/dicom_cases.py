"""Shared helpers for the DICOM tests: small synthetic CT volumes and file surgery with pydicom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from scipy.spatial.transform import Rotation

from quant.volume import Volume


def synthetic_volume(shape=(9, 40, 36), *, seed=0, direction=None, lo=-1100, hi=1800) -> Volume:
    """A small CT-like volume with random HU (below -1024 too, to exercise signed storage)."""
    rng = np.random.default_rng(seed)
    hu = rng.integers(lo, hi, size=shape).astype(np.int16)
    return Volume(
        hu=hu,
        spacing=(2.5, 0.8, 0.7),
        origin=(-14.0, 22.5, -101.25),
        direction=np.eye(3) if direction is None else direction,
    )


def oblique_direction(degrees: float = 15.0) -> np.ndarray:
    """A rotation about a tilted axis, ~``degrees`` away from the identity."""
    return Rotation.from_rotvec(np.radians(degrees) * np.array([0.6, 0.3, 0.74]) / 1.0).as_matrix()


def edit_file(path: Path, **changes) -> None:
    """Rewrite one DICOM file with attributes changed (keyword=value; value None deletes)."""
    ds = pydicom.dcmread(path)
    for keyword, value in changes.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


def positions(paths) -> np.ndarray:
    """ImagePositionPatient of each file, N×3 mm."""
    return np.array([[float(v) for v in pydicom.dcmread(p, stop_before_pixels=True).ImagePositionPatient] for p in paths])


def pydicom_stack(paths) -> tuple[np.ndarray, np.ndarray]:
    """What pydicom alone makes of a single-frame series, independent of quant.dicom: HU slices
    (stored value x RescaleSlope + RescaleIntercept, rounded, clipped to int16) sorted along the
    slice normal, and the ImageOrientationPatient of the first file. Raises whatever pydicom raises."""
    slices = []
    iop = None
    for p in paths:
        ds = pydicom.dcmread(p)
        orient = np.array([float(v) for v in ds.ImageOrientationPatient])
        iop = orient if iop is None else iop
        normal = np.cross(orient[:3], orient[3:])
        where = float(np.dot([float(v) for v in ds.ImagePositionPatient], normal))
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        hu = np.clip(np.rint(ds.pixel_array.astype(np.float64) * slope + intercept), -32768, 32767)
        slices.append((where, hu.astype(np.int16)))
    slices.sort(key=lambda item: item[0])
    return np.stack([hu for _, hu in slices]), iop  # type: ignore[return-value]
