"""``lungread snapshot`` renders four views offscreen, with no X server (DISPLAY unset)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT


def read_png(path: Path) -> np.ndarray:
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOImage import vtkPNGReader

    reader = vtkPNGReader()
    reader.SetFileName(str(path))
    reader.Update()
    image = reader.GetOutput()
    w, h, _ = image.GetDimensions()
    n = image.GetPointData().GetScalars().GetNumberOfComponents()
    return vtk_to_numpy(image.GetPointData().GetScalars()).reshape(h, w, n)[::-1, :, :3]


def lesion_coloured(rgb: np.ndarray) -> np.ndarray:
    """Pixels tinted by the GGO (yellow) or solid (red-orange) overlay: red high, blue low."""
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    return (r > 110) & (r - b > 70)


def test_snapshot_command_without_display(tmp_path, small_phantom):
    from quant.phantom import write_scan

    series = write_scan(small_phantom, tmp_path / "case")
    out = tmp_path / "snap.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run(
        [sys.executable, "-m", "desktop.cli.main", "snapshot", str(series), "--out", str(out),
         "--segment", "--size", "800x600"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    rgb = read_png(out)
    assert rgb.shape == (600, 800, 3)
    panes = {
        "axial": rgb[:300, :400], "3d": rgb[:300, 400:],
        "coronal": rgb[300:, :400], "sagittal": rgb[300:, 400:],
    }
    for name, pane in panes.items():
        grey = pane.mean(axis=2)
        assert grey.std() > 20, f"{name} pane looks empty"
        assert (grey > 100).mean() > 0.02, f"{name} pane has almost nothing bright"
    for name in ("axial", "coronal", "sagittal"):
        assert lesion_coloured(panes[name]).sum() > 200, f"no lesion overlay in the {name} pane"
    assert lesion_coloured(panes["3d"]).sum() > 50, "no lesion surface in the 3D pane"


def test_snapshot_rejects_a_bad_size(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "desktop.cli.main", "snapshot", str(tmp_path), "--out",
         str(tmp_path / "x.png"), "--size", "big"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "1600x1200" in proc.stderr and "Traceback" not in proc.stderr
