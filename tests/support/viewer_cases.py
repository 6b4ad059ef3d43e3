"""Cases for the viewer tests: the small phantom when quant.phantom is available, else a
synthetic chest (two ellipsoid lungs, soft tissue, a bony ring, one GGO blob with a solid core)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID, LesionMasks, LungMasks
from quant.volume import Volume


@dataclass
class Case:
    volume: Volume
    lungs: LungMasks
    lesions: LesionMasks


def synthetic_case(shape=(40, 96, 112), spacing=(2.5, 1.6, 1.6)) -> Case:
    nz, ny, nx = shape
    z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    hu = np.full(shape, -1000, np.int16)
    body = ((x - nx / 2) / (nx * 0.47)) ** 2 + ((y - ny / 2) / (ny * 0.45)) ** 2 < 1
    hu[body] = 40
    ring = body & (((x - nx / 2) / (nx * 0.42)) ** 2 + ((y - ny / 2) / (ny * 0.40)) ** 2 >= 1)
    hu[ring] = 700
    shell = ((z - nz / 2) / (nz * 0.45)) ** 2
    right = (((x - nx * 0.30) / (nx * 0.15)) ** 2 + ((y - ny / 2) / (ny * 0.30)) ** 2 + shell) < 1
    left = (((x - nx * 0.70) / (nx * 0.15)) ** 2 + ((y - ny / 2) / (ny * 0.30)) ** 2 + shell) < 1
    hu[right | left] = -850
    lung_labels = np.zeros(shape, np.uint8)
    lung_labels[right] = RIGHT_LUNG  # index x low = patient right with an identity direction
    lung_labels[left] = LEFT_LUNG
    blob = (((x - nx * 0.70) / 6.0) ** 2 + ((y - ny * 0.55) / 6.0) ** 2 + ((z - nz / 2) / 3.0) ** 2) < 1
    core = (((x - nx * 0.70) / 3.0) ** 2 + ((y - ny * 0.55) / 3.0) ** 2 + ((z - nz / 2) / 1.5) ** 2) < 1
    lesion_labels = np.zeros(shape, np.uint8)
    lesion_labels[blob & left] = GGO
    lesion_labels[core & left] = SOLID
    hu[blob & left] = -550
    hu[core & left] = 10
    rng = np.random.default_rng(3)
    hu = (hu + rng.normal(0, 15, shape)).astype(np.int16)
    return Case(Volume(hu, spacing), LungMasks(lung_labels), LesionMasks(lesion_labels))


def editable_case(small_phantom=None) -> Case:
    """A fresh, editable copy of the small phantom (labels copied) or the synthetic case."""
    if small_phantom is None:
        return synthetic_case()
    return Case(
        small_phantom.volume,
        LungMasks(np.ascontiguousarray(small_phantom.lung_labels, dtype=np.uint8).copy()),
        LesionMasks(np.ascontiguousarray(small_phantom.lesion_labels, dtype=np.uint8).copy()),
    )
