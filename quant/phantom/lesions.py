"""COVID-19-like lesions: a smooth "disease field" thresholded inside the lungs.

The field is a sum of Gaussian blobs centred in the lung periphery (subpleural, posterior-basal
predominant, both lungs), modulated by smooth noise for irregular margins, plus a weak background
that grows towards the pleura, the back and the bases. It lives on the size-independent coarse grid.

Lesion = lung ∧ field > t, with t the quantile that gives the requested lesion % of lung volume on
the output grid; solid (consolidation) = the top ``solid_share`` of the field inside the lesion. As
the burden falls over visits, lesions regress in place, as on serial CT.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.phantom.vessels import LungLookup

__all__ = ["disease_field", "smooth_noise"]

#: Depth below the pleura (mm) over which the disease field does not fade.
_PLATEAU_MM = 10.0
#: Blob amplitudes are spread (uniform 0.55..1 raised to this power) so that a small burden is a
#: few dominant patches, as early COVID-19 shows, rather than the caps of every blob.
_AMP_POWER = 4.0


def smooth_noise(shape: tuple[int, int, int], rng: np.random.Generator, sigma_vox: float) -> NDArray[np.float32]:
    """Gaussian-smoothed white noise, rescaled to zero mean and unit standard deviation."""
    n = rng.standard_normal(shape, dtype=np.float32)
    n = ndimage.gaussian_filter(n, sigma_vox, mode="wrap")
    n -= n.mean()
    n /= max(float(n.std()), 1e-6)
    return n


def disease_field(lookup: LungLookup, seed: int, consolidation: float = 0.0) -> NDArray[np.float32]:
    """The disease field (arbitrary units, higher = diseased first) on the lookup's coarse grid.

    ``consolidation`` (0..1) adds one large posterior-basal subpleural blob in the right lower lobe
    whose peak exceeds every other, so its core becomes a large consolidation.
    """
    rng = np.random.default_rng([seed, 0x1E5])
    g = lookup.grid
    z, y, x = g.z, g.y, g.x
    lung = lookup.side > 0
    depth = lookup.depth_mm
    # Posterior-ness and basal-ness of each lung sample, 0..1.
    kz, ky, kx = np.nonzero(lung)
    ys, zs = y[ky], z[kz]
    post = np.clip((ys - ys.min()) / max(np.ptp(ys), 1.0), 0, 1)
    basal = np.clip((zs.max() - zs) / max(np.ptp(zs), 1.0), 0, 1)
    d = depth[kz, ky, kx]
    weight = np.exp(-d / 5.0) * (1.0 + 8.0 * post**2) * (1.0 + 8.0 * basal**2)

    field = np.zeros(g.shape, dtype=np.float32)
    blobs = []
    side_of = lookup.side[kz, ky, kx]
    for side in (1, 2):
        cand = np.flatnonzero(side_of == side)
        if cand.size == 0:
            continue
        p = weight[cand] / weight[cand].sum()
        n = int(rng.integers(7, 12))
        for i in rng.choice(cand, size=n, p=p):
            blobs.append((x[kx[i]], y[ky[i]], z[kz[i]], rng.uniform(7.0, 16.0), rng.uniform(0.55, 1.0) ** _AMP_POWER))
    if consolidation > 0 and np.any(side_of == 1):
        cand = np.flatnonzero(side_of == 1)
        score = post[cand] + basal[cand] - d[cand] / 30.0
        i = cand[int(np.argmax(score))]
        blobs.append((x[kx[i]], y[ky[i]] - 10.0, z[kz[i]] + 15.0, 22.0 + 18.0 * consolidation, 1.2 + consolidation))
    h = g.spacing[0]
    for bx, by, bz, s, amp in blobs:
        r = 3.0 * s
        sl = []
        for ax, c in ((z, bz), (y, by), (x, bx)):
            i0 = max(int(np.searchsorted(ax, c - r)), 0)
            i1 = int(np.searchsorted(ax, c + r, side="right"))
            sl.append(slice(i0, i1))
        gz = ((z[sl[0]] - bz) ** 2)[:, None, None]
        gy = ((y[sl[1]] - by) ** 2)[None, :, None]
        gx = ((x[sl[2]] - bx) ** 2)[None, None, :]
        field[sl[0], sl[1], sl[2]] += amp * np.exp(-(gz + gy + gx) / (2.0 * s * s))
    del h
    # Irregular margins: multiplicative smooth noise (~6 mm), then a weak peripheral background so
    # that large burdens fill the subpleural, posterior and basal lung first.
    field *= 1.0 + 0.35 * smooth_noise(g.shape, rng, 2.0)
    zz = ((z.max() - z) / np.ptp(z))[:, None, None]
    yy = ((y - y.min()) / np.ptp(y))[None, :, None]
    # Subpleural predominance: the field fades with depth below the pleura, but only below a
    # subpleural plateau, so that a lesion at the pleura is a patch at least ~1 cm thick (real
    # COVID-19 opacities are) rather than a thin cap of its blob.
    field *= np.exp(-np.maximum(depth - _PLATEAU_MM, 0.0) / 25.0)
    field += 0.06 * np.exp(-depth / 12.0) + 0.04 * yy + 0.04 * zz
    field += 0.01 * smooth_noise(g.shape, rng, 3.0)
    return field
