"""Image formation: tissue classes and labels → HU, partial-volume blur, noise, int16.

The image is built label-first: each voxel gets the mean HU of its class plus low-frequency texture,
then a Gaussian blur models the partial-volume effect of the scanner's point-spread function and
white Gaussian noise models quantum noise. Labels therefore agree exactly with the noise-free image,
and HU bands agree with them away from edges.

Reconstruction kernels (:data:`KERNELS`): "soft" is the model above. "sharp" (a B70f-like lung
kernel) then edge-enhances image and noise together in-plane (a Laplacian plus an unsharp mask), so
edges overshoot and the noise is high-frequency (neighbouring voxels anti-correlated); the noise is
scaled so that its standard deviation in the final image is still ``noise_sigma``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.labels import GGO, SOLID
from quant.phantom.anatomy import TISSUE_HU, Tissue

__all__ = [
    "PARENCHYMA_HU", "GGO_HU", "SOLID_HU", "SOLID_TEXTURE_HU", "DENSE_SOLID_HU", "DENSE_SOLID_TEXTURE_HU",
    "PARTIAL_SOLID_HU", "PARTIAL_SOLID_TEXTURE_HU",
    "VESSEL_HU", "slice_hu", "blur_and_noise", "KERNELS", "SHARP_LAPLACE", "SHARP_SIGMA_VOX", "SHARP_AMOUNT",
]

PARENCHYMA_HU = -855.0   # mean aerated lung; +-20 HU anterior→posterior gravity gradient
GGO_HU = -555.0          # mean ground glass: centre of the -750..-300 band
#: Dense consolidation, the default solid component: airless lung is about +20..+50 HU on real CT,
#: fairly homogeneous. (Until segmentation 2.0 the default was -110 HU: fat HU, which real
#: consolidation is not, and which hid the confusion of fat with lesion.)
DENSE_SOLID_HU = 30.0
DENSE_SOLID_TEXTURE_HU = 12.0
SOLID_HU = DENSE_SOLID_HU
SOLID_TEXTURE_HU = DENSE_SOLID_TEXTURE_HU
#: Partially aerated consolidation (a mix of air and tissue), textured: a ``solid_hu`` option.
PARTIAL_SOLID_HU = -110.0
PARTIAL_SOLID_TEXTURE_HU = 35.0
VESSEL_HU = 40.0         # blood in pulmonary vessels

#: Default blur sigma in voxels (z, y, x): a CT point-spread function of about one voxel FWHM·2.
BLUR_SIGMA_VOX = (0.6, 0.8, 0.8)

#: Reconstruction kernels of :func:`blur_and_noise`.
KERNELS = ("soft", "sharp")
#: The "sharp" kernel, in-plane: out = in + SHARP_LAPLACE · (in - mean of the 4 in-plane neighbours)
#: + SHARP_AMOUNT · (in - gauss(in, SHARP_SIGMA_VOX voxels)). The first term makes the noise
#: high-frequency (neighbours anti-correlated, about -0.25), the second makes edges overshoot
#: (about 10 % of the step: ~90 HU at the lung / chest-wall edge).
SHARP_LAPLACE = 1.5
SHARP_SIGMA_VOX = 1.0
SHARP_AMOUNT = 0.5
_NEIGHBOURS4 = np.zeros((1, 3, 3), dtype=np.float32)
_NEIGHBOURS4[0, 0, 1] = _NEIGHBOURS4[0, 2, 1] = _NEIGHBOURS4[0, 1, 0] = _NEIGHBOURS4[0, 1, 2] = 0.25


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
        # Airless lung of its own tissue class (atelectasis, mediastinal consolidation): dense and
        # fairly homogeneous whatever solid_hu is.
        airless = lung & (tissue != Tissue.LUNG)
        if airless.any():
            amp = DENSE_SOLID_TEXTURE_HU
            hu[airless] = TISSUE_HU[tissue[airless]] + np.clip(amp * texture[airless], -2.0 * amp, 2.0 * amp)
    return hu


def _sharpen(block: NDArray[np.float32]) -> None:
    """The sharp kernel's in-plane edge enhancement of a (z, y, x) slab, in place."""
    smooth = ndimage.gaussian_filter(block, (0.0, SHARP_SIGMA_VOX, SHARP_SIGMA_VOX), mode="nearest", truncate=3.0)
    near = ndimage.convolve(block, _NEIGHBOURS4, mode="nearest")
    block *= np.float32(1.0 + SHARP_LAPLACE + SHARP_AMOUNT)
    block -= np.float32(SHARP_LAPLACE) * near
    block -= np.float32(SHARP_AMOUNT) * smooth


def _sharp_noise_gain() -> float:
    """Factor by which the sharp kernel scales the standard deviation of white noise."""
    delta = np.zeros((1, 25, 25), dtype=np.float64)
    delta[0, 12, 12] = 1.0
    h = delta.astype(np.float32)
    _sharpen(h)
    return float(np.sqrt((h.astype(np.float64) ** 2).sum()))


def blur_and_noise(
    hu: NDArray[np.float32],
    noise_sigma: float,
    seed: int,
    blur_sigma_vox: tuple[float, float, float] = BLUR_SIGMA_VOX,
    box: tuple[slice, slice, slice] | None = None,
    kernel: str = "soft",
) -> NDArray[np.int16]:
    """Blur (partial volume), add Gaussian noise (``noise_sigma`` HU), round to int16 HU.

    ``box`` (optional) bounds the non-uniform part of the image (the body, with a margin); only
    it is blurred. The volume ``hu`` is consumed (blurred in place when ``box`` is given).
    Noise and conversion run slab by slab, so the peak memory is about two float32 volumes.
    ``kernel`` "sharp" edge-enhances image and noise in-plane (see the module docstring); the
    noise standard deviation of the result is ``noise_sigma`` for either kernel.
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; use one of {list(KERNELS)}")
    sharp = kernel == "sharp"
    sigma = float(noise_sigma) / (_sharp_noise_gain() if sharp else 1.0)
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
            block += rng.standard_normal(block.shape, dtype=np.float32) * np.float32(sigma)
        if sharp:
            _sharpen(block)
        np.rint(block, out=block)
        np.clip(block, -1024, 3071, out=block)
        out[sl] = block
    return out
