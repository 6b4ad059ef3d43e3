"""Write a phantom as a DICOM CT series with its ground truth beside it, and read the truth back.

Layout of ``out_dir``:

* ``dicom/*.dcm``: one CT file per slice (shuffled names), with fake PHI;
* ``truth.json``: truth metrics (mL, % of lung volume; at the top level and under ``"truth"``),
  generating parameters, geometry, the PHI written into the files, orientation options;
* ``truth.npz``: ``hu`` (int16), ``lung_labels``, ``lesion_labels`` (uint8), ``bone``, ``airway``
  (bool), ``spacing`` (z, y, x mm), ``origin`` (LPS mm), ``direction`` (3×3, columns = x, y, z index
  axes). Arrays are in the canonical (z, y, x) order with z inferior→superior, i.e. what
  :func:`quant.dicom.load.load_series` returns for the written series, whatever its orientation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from quant.phantom.scan import OBLIQUE_DEGREES, PhantomError, PhantomScan
from quant.volume import Volume

__all__ = ["write_scan", "load_truth", "ORIENTATIONS", "fake_phi_for"]

#: orientation option → DICOM slice axis of the (z, y, x) array.
ORIENTATIONS = {"axial": 0, "coronal": 1, "oblique": 0}


def fake_phi_for(seed: int) -> dict[str, str]:
    """Plausible, deterministic fake PHI (all seven keys) for a scan written with ``seed``."""
    from quant.dicom.write import fake_phi

    return fake_phi(seed)


def _oblique_volume(volume: Volume) -> Volume:
    """The same array with its patient geometry tilted about the volume centre (left-right axis)."""
    if not np.allclose(volume.direction, np.eye(3)):
        return volume  # already oblique (make_scan(oblique=True))
    a = np.deg2rad(OBLIQUE_DEGREES)
    rot = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])
    centre_idx = (np.asarray(volume.shape, dtype=float) - 1.0) / 2.0
    centre = volume.index_to_lps(centre_idx)[0]
    sz, sy, sx = volume.spacing
    half = centre_idx[::-1] * np.array([sx, sy, sz])  # (x, y, z) mm from voxel 0 to the centre
    origin = centre - rot @ half
    return Volume(volume.hu, volume.spacing, tuple(origin), rot)


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Like ``np.savez_compressed`` but with fast (level 1) deflate: labels shrink ~50×, and
    writing stays a small fraction of the DICOM writing time."""
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, arr in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(arr), allow_pickle=False)


def write_scan(
    scan: PhantomScan,
    out_dir: Path | str,
    *,
    orientation: str = "axial",
    reverse_z: bool = False,
    phi: dict[str, str] | None = None,
    transfer_syntax: str | None = None,
    seed: int = 0,
    series_description: str = "LungRead phantom chest CT",
) -> Path:
    """Write ``scan`` as a DICOM series plus ``truth.json`` and ``truth.npz`` into ``out_dir``.

    Args:
        orientation: "axial" (slices along z), "coronal" (slices along y) or "oblique" (axial
            slices of a geometry tilted by :data:`OBLIQUE_DEGREES`; the truth stores that tilt).
        reverse_z: write the slices in reversed order along the slice normal.
        phi: overrides of the fake PHI (PatientName, PatientID, PatientBirthDate, StudyDate,
            InstitutionName, ReferringPhysicianName, AccessionNumber).
        transfer_syntax: DICOM transfer syntax UID (None: Explicit VR Little Endian).
        seed: makes UIDs, file names and the fake PHI deterministic.

    Returns:
        ``out_dir``.
    """
    from quant.dicom.write import write_series

    if orientation not in ORIENTATIONS:
        raise PhantomError(f"unknown orientation {orientation!r}; use one of {sorted(ORIENTATIONS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    volume = _oblique_volume(scan.volume) if orientation == "oblique" else scan.volume
    phi_values = fake_phi_for(seed)
    phi_values.update(phi or {})
    files = write_series(
        volume,
        out_dir / "dicom",
        slice_axis=ORIENTATIONS[orientation],
        reverse=reverse_z,
        phi=phi_values,
        transfer_syntax=transfer_syntax,
        seed=seed,
        series_description=series_description,
    )
    _save_npz(
        out_dir / "truth.npz",
        hu=volume.hu,
        lung_labels=scan.lung_labels,
        lesion_labels=scan.lesion_labels,
        bone=scan.bone,
        airway=scan.airway,
        spacing=np.asarray(volume.spacing, dtype=np.float64),
        origin=np.asarray(volume.origin, dtype=np.float64),
        direction=np.asarray(volume.direction, dtype=np.float64),
    )
    doc = {
        **scan.truth,  # lung_ml, ggo_ml, solid_ml, lesion_ml, lesion_pct, solid_pct, ... (also under "truth")
        "truth": scan.truth,
        "params": scan.params,
        "orientation": orientation,
        "reverse_z": bool(reverse_z),
        "transfer_syntax": transfer_syntax,
        "n_files": len(files),
        "shape_zyx": list(volume.shape),
        "spacing_zyx_mm": list(volume.spacing),
        "origin_lps_mm": list(volume.origin),
        "direction": np.asarray(volume.direction).tolist(),
        "phi": phi_values,
    }
    (out_dir / "truth.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out_dir


def load_truth(out_dir: Path | str) -> PhantomScan:
    """Read ``truth.npz`` / ``truth.json`` written by :func:`write_scan` back into a PhantomScan."""
    out_dir = Path(out_dir)
    npz_path, json_path = out_dir / "truth.npz", out_dir / "truth.json"
    for p in (npz_path, json_path):
        if not p.is_file():
            raise PhantomError(f"{p} is missing: {out_dir} is not a phantom scan folder (write one with `lungread phantom scan`)")
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    with np.load(npz_path) as z:
        volume = Volume(z["hu"], tuple(z["spacing"]), tuple(z["origin"]), z["direction"])
        return PhantomScan(
            volume=volume,
            lung_labels=z["lung_labels"],
            lesion_labels=z["lesion_labels"],
            bone=z["bone"],
            airway=z["airway"],
            truth={k: float(v) for k, v in doc["truth"].items()},
            params=dict(doc.get("params", {})),
        )
