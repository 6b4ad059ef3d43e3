"""Image formation: tissue classes and labels → HU, partial-volume blur, noise, int16.

The image is built label-first: each voxel gets the mean HU of its class plus low-frequency texture,
then a Gaussian blur models the partial-volume effect of the scanner's point-spread function and
white Gaussian noise models quantum noise. Labels therefore agree exactly with the noise-free image,
and HU bands agree with them away from edges.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.labels import GGO, SOLID
from quant.phantom.anatomy import TISSUE_HU

__all__ = [
    "PARENCHYMA_HU", "GGO_HU", "SOLID_HU", "SOLID_TEXTURE_HU", "DENSE_SOLID_HU", "DENSE_SOLID_TEXTURE_HU",
    "VESSEL_HU", "slice_hu", "blur_and_noise",
]

PARENCHYMA_HU = -855.0   # mean aerated lung; +-20 HU anterior→posterior gravity gradient
GGO_HU = -555.0          # mean ground glass: centre of the -750..-300 band
SOLID_HU = -110.0        # mean solid component / consolidation: inside -300..+50
SOLID_TEXTURE_HU = 35.0  # texture amplitude (HU per unit texture) of the solid component
#: Realistic dense consolidation (airless lung: about +20..+50 HU on real CT), fairly homogeneous.
DENSE_SOLID_HU = 30.0
DENSE_SOLID_TEXTURE_HU = 12.0
VESSEL_HU = 40.0         # blood in pulmonary vessels

#: Default blur sigma in voxels (z, y, x): a CT point-spread function of about one voxel FWHM·2.
BLUR_SIGMA_VOX = (0.6, 0.8, 0.8)


def slice_hu(
    tissue: NDArray[np.uint8],
    lung: NDArray[np.bool_],
    lesion: NDArray[np.uint8],
    vessel: NDArray[np.bool_],
    texture: NDArray[np.float32],
    posterior: NDArray[np.float32],
    solid_hu: float = SOLID_HU,
    solid_texture_hu: float = SOLID_TEXTURE_HU,
) -> NDArray[np.float32]:
    """Noise-free HU of one axial slice (float32).

    Args:
        tissue: tissue classes (:class:`quant.phantom.anatomy.Tissue`).
        lung: lung voxels (parenchyma, vessels and lesions inside the pleura).
        lesion: lesion labels (0 none, 1 GGO, 2 solid).
        vessel: pulmonary vessel voxels (only used inside the lung and outside lesions).
        texture: smooth unit-variance noise (low-frequency texture), same shape.
        posterior: -1 (front) .. +1 (back), for the dependent-density gradient of the lung.
        solid_hu: mean HU of the solid component / consolidation.
        solid_texture_hu: its texture amplitude (HU per unit texture, clipped at 16/7 of it).
    """
    hu = TISSUE_HU[tissue]
    if lung.any():
        t = texture[lung]
        hu[lung] = PARENCHYMA_HU + 14.0 * t + 20.0 * posterior[lung]
        v = vessel & lung & (lesion == 0)
        hu[v] = VESSEL_HU
        g = lesion == GGO
        if g.any():
            hu[g] = GGO_HU + np.clip(55.0 * texture[g], -110.0, 110.0)
        s = lesion == SOLID
        if s.any():
            clip = solid_texture_hu * (80.0 / 35.0)
            hu[s] = solid_hu + np.clip(solid_texture_hu * texture[s], -clip, clip)
    return hu


def blur_and_noise(
    hu: NDArray[np.float32],
    noise_sigma: float,
    seed: int,
    blur_sigma_vox: tuple[float, float, float] = BLUR_SIGMA_VOX,
    box: tuple[slice, slice, slice] | None = None,
) -> NDArray[np.int16]:
    """Blur (partial volume), add Gaussian noise (``noise_sigma`` HU), round to int16 HU.

    ``box`` (optional) bounds the non-uniform part of the image (the body, with a margin); only
    it is blurred. The volume ``hu`` is consumed (blurred in place when ``box`` is given).
    Noise and conversion run slab by slab, so the peak memory is about two float32 volumes.
    """
    if box is None:
        blurred = ndimage.gaussian_filter(hu, blur_sigma_vox, mode="nearest", truncate=3.0)
    else:
        # Outside the box the image is uniform (air): blurring it changes nothing.
        blurred = hu
        blurred[box] = ndimage.gaussian_filter(hu[box], blur_sigma_vox, mode="nearest", truncate=3.0)
    del hu
    out = np.empty(blurred.shape, dtype=np.int16)
    rng = np.random.default_rng([seed, 0x0015E])
    depth = max(1, 4_000_000 // (blurred.shape[1] * blurred.shape[2]))
    for start in range(0, blurred.shape[0], depth):
        sl = slice(start, min(start + depth, blurred.shape[0]))
        block = blurred[sl]
        if noise_sigma > 0:
            block += rng.standard_normal(block.shape, dtype=np.float32) * np.float32(noise_sigma)
        np.rint(block, out=block)
        np.clip(block, -1024, 3071, out=block)
        out[sl] = block
    return out
