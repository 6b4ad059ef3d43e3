"""CPU compositing of one slice: CT window/level + lesion colours + lung outline -> RGB.

Why on the CPU: with software OpenGL (Mesa llvmpipe, the reading rooms' VMs and CI) every
full-view textured layer costs about 10 ms of fragment work per frame, so three stacked layers
(CT, lesion overlay, lung outline) cost three times one. Composing the slice in numpy costs a few
ms for a whole 512x512 slice and far less for a brush dab, because a label change recomposes
only its bounding box of the slab; VTK then draws one texture.

All lookups go through one table: (lesion label, HU) -> packed RGBA (uint32), indexed by
``label << 16 | hu.view(uint16)``; it holds the window/level grey already blended with each
label's colour at its opacity, so composing a slice is a single gather (about 2 ms for 512x512).
The table (3 x 65536 entries) is rebuilt when the window or a label's look changes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["rgba_table", "outline_of", "compose", "pack_rgba"]

_INT16_VALUES = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.float32)


def pack_rgba(rgb: NDArray[np.uint8]) -> NDArray[np.uint32]:
    """(..., 3) uint8 RGB -> (...) uint32 whose bytes in memory are R, G, B, 255."""
    rgba = np.empty(rgb.shape[:-1] + (4,), np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = 255
    return rgba.view(np.uint32)[..., 0]


def rgba_table(
    level: float, width: float, rgba_by_label: list[tuple[float, float, float, float]]
) -> NDArray[np.uint32]:
    """(label, HU) -> packed RGBA for window ``level``/``width`` (HU).

    ``rgba_by_label[k]`` is the colour (RGB 0..1) and opacity of label k; label 0 usually has
    opacity 0 (plain grey). Index the result with ``label << 16 | hu.view(np.uint16)``.
    """
    low = level - width / 2.0
    grey = np.clip((_INT16_VALUES - low) * (255.0 / max(width, 1e-3)), 0, 255)[:, None]
    out = np.empty((len(rgba_by_label), 65536, 3), np.uint8)
    for label, (r, g, b, a) in enumerate(rgba_by_label):
        colour = np.array([r, g, b], np.float32) * 255.0
        out[label] = np.rint(grey * (1.0 - a) + colour * a).astype(np.uint8)
    return pack_rgba(out).reshape(-1)


def outline_of(labels2d: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Boundary pixels (4-neighbourhood) of the nonzero region of a 2-D label slice."""
    inside = labels2d > 0
    interior = inside.copy()
    interior[1:, :] &= inside[:-1, :]
    interior[:-1, :] &= inside[1:, :]
    interior[:, 1:] &= inside[:, :-1]
    interior[:, :-1] &= inside[:, 1:]
    return inside & ~interior


def _blend(out: NDArray[np.uint32], where: NDArray[np.bool_], rgba: tuple[float, float, float, float]) -> None:
    """Blend colour ``rgba`` (RGB 0..1, opacity) over the packed pixels of ``out`` at ``where``."""
    if not where.any():
        return
    pixels = out[where].view(np.uint8).reshape(-1, 4)
    colour = np.array(rgba[:3], np.float32) * 255.0
    a = rgba[3]
    pixels[:, :3] = np.clip(pixels[:, :3] * (1.0 - a) + colour * a, 0, 255).astype(np.uint8)
    out[where] = pixels.view(np.uint32)[:, 0]


def compose(
    hu2d: NDArray[np.int16],
    lesion2d: NDArray[np.uint8],
    lung2d: NDArray[np.uint8] | None,
    table: NDArray[np.uint32],
    outline_rgba: tuple[float, float, float, float],
    out: NDArray[np.uint32],
    margin: tuple[int, int, int, int] = (0, 0, 0, 0),
    lesion_outlines: tuple[tuple[int, tuple[float, float, float, float]], ...] = (),
) -> None:
    """Write the packed-RGBA composite of one slice region into ``out`` (h, w) uint32.

    ``hu2d``/``lesion2d``/``lung2d`` may carry a margin of extra rows/columns (top, bottom,
    left, right) around the region, used only to find the lung outline correctly at the region
    border; ``out`` has the region's size. The inputs may be strided views (coronal and
    sagittal slices of a (z, y, x) volume): nothing here needs them contiguous.
    ``lesion_outlines``: (label value, RGBA) of lesion labels drawn as outlines (their fill in
    ``table`` is then usually transparent).
    """
    t, b, l, r = margin
    h, w = hu2d.shape
    core = (slice(t, h - b), slice(l, w - r))
    index = lesion2d[core].astype(np.uint32)  # the one copy of the inputs, contiguous
    index <<= 16
    index |= hu2d[core].view(np.uint16)
    # Gather straight into the texture memory: mode="wrap" lets numpy skip the bounds-check
    # buffer (every index is in range by construction: label <= 2, 16-bit HU).
    np.take(table, index, out=out, mode="wrap")
    if lung2d is not None and outline_rgba[3] > 0:
        _blend(out, outline_of(lung2d)[core], outline_rgba)
    for value, rgba in lesion_outlines:
        if rgba[3] > 0:
            _blend(out, outline_of(lesion2d == value)[core], rgba)
