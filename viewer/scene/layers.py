"""The data every view of one case shares: CT, lung and lesion label maps, label colours.

:class:`ViewerLayers` wraps the *live* arrays (``Volume.hu``, ``LungMasks.labels``,
``LesionMasks.labels``) as zero-copy VTK images. Editors change the arrays in place and report
each :class:`quant.labels.VoxelChange` to :meth:`ViewerLayers.apply_change`, which marks the
image modified and tells the views the changed bounding box, so only views whose slice crosses
the box re-render.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Literal

import numpy as np

from quant.labels import LabelTarget, LesionMasks, LungMasks, VoxelChange
from quant.volume import Volume
from viewer.scene.display import DisplaySettings, LabelStyle, display_settings
from viewer.scene.image_data import Box, LiveImage, bbox_of_flat_indices

__all__ = ["ViewerLayers", "LabelName", "ChangeCallback"]

LabelName = Literal["ggo", "solid", "lung"]
ChangeCallback = Callable[[LabelTarget, Box], None]


class ViewerLayers:
    """CT + label maps of one case as VTK images, with per-label visibility and opacity.

    Args:
        volume: the CT (HU, (z, y, x)).
        lungs / lesions: live label maps (edited in place elsewhere); None gives empty maps.
        settings: display settings (default: ``resources/display.toml``).
    """

    def __init__(
        self,
        volume: Volume,
        lungs: LungMasks | None = None,
        lesions: LesionMasks | None = None,
        settings: DisplaySettings | None = None,
    ) -> None:
        self.volume = volume
        self.settings = settings or display_settings()
        self.lungs = lungs if lungs is not None else LungMasks(np.zeros(volume.shape, np.uint8))
        self.lesions = (
            lesions if lesions is not None else LesionMasks(np.zeros(volume.shape, np.uint8))
        )
        for name, arr in (("lung", self.lungs.labels), ("lesion", self.lesions.labels)):
            if arr.shape != volume.shape or arr.dtype != np.uint8:
                raise ValueError(f"{name} labels must be uint8 {volume.shape}, got {arr.dtype} {arr.shape}")
        self.ct = LiveImage(np.ascontiguousarray(volume.hu), volume.spacing)
        self.lesion = LiveImage(self.lesions.labels, volume.spacing)
        self.lung = LiveImage(self.lungs.labels, volume.spacing)
        self._styles: dict[LabelName, LabelStyle] = {
            "ggo": self.settings.ggo,
            "solid": self.settings.solid,
            "lung": self.settings.lung,
        }
        self._visible: dict[LabelName, bool] = {"ggo": True, "solid": True, "lung": True}
        self._opacity: dict[LabelName, float] = {k: v.opacity for k, v in self._styles.items()}
        self._lesion_outline = False  # lesion labels as outlines instead of a fill
        self._overlays_hidden = False  # the CT alone, whatever each label's visibility
        #: Incremented on every visibility/opacity change; views recompose when it moves.
        self.style_version = 0
        self._callbacks: list[Callable[[], ChangeCallback | None]] = []

    # ----------------------------------------------------------------- label look
    def style(self, name: LabelName) -> LabelStyle:
        return self._styles[name]

    def is_visible(self, name: LabelName) -> bool:
        return self._visible[name]

    def opacity(self, name: LabelName) -> float:
        return self._opacity[name]

    def set_label_visible(self, name: LabelName, visible: bool) -> None:
        """Show or hide one label in every view (takes effect on the next render)."""
        self._visible[name] = bool(visible)
        self.style_version += 1

    def set_label_opacity(self, name: LabelName, opacity: float) -> None:
        """Set one label's overlay opacity (0..1) in every view."""
        self._opacity[name] = float(np.clip(opacity, 0.0, 1.0))
        self.style_version += 1

    @property
    def lesion_outline(self) -> bool:
        return self._lesion_outline

    def set_lesion_outline(self, outline: bool) -> None:
        """Draw the lesion labels as outlines (the parenchyma inside stays visible) or filled."""
        self._lesion_outline = bool(outline)
        self.style_version += 1

    @property
    def overlays_hidden(self) -> bool:
        return self._overlays_hidden

    def set_overlays_hidden(self, hidden: bool) -> None:
        """Show the CT alone (every label hidden) without changing any label's own visibility."""
        self._overlays_hidden = bool(hidden)
        self.style_version += 1

    def rgba(self, name: LabelName) -> tuple[float, float, float, float]:
        """Colour (RGB 0..1) and effective opacity (0 when hidden) of one label."""
        r, g, b = self._styles[name].color
        shown = self._visible[name] and not self._overlays_hidden
        return r, g, b, (self._opacity[name] if shown else 0.0)

    def fill_rgba(self, name: LabelName) -> tuple[float, float, float, float]:
        """What a label's voxels are filled with: its :meth:`rgba`, or nothing for a lesion label
        drawn as an outline."""
        r, g, b, a = self.rgba(name)
        return r, g, b, (0.0 if self._lesion_outline and name != "lung" else a)

    def outline_rgba(self, name: LabelName) -> tuple[float, float, float, float]:
        """A label's outline colour: the lung is always an outline; a lesion label in outline mode
        is drawn opaque (a thin line hides nothing), else not outlined."""
        r, g, b, a = self.rgba(name)
        if name == "lung":
            return r, g, b, a
        return r, g, b, (1.0 if self._lesion_outline and a > 0.0 else 0.0)

    # ----------------------------------------------------------------- edits
    def add_change_callback(self, callback: ChangeCallback) -> None:
        """Call ``callback(target, box)`` after every applied change (box: changed voxel bbox).

        Bound methods are held weakly, so a closed view does not linger in the list.
        """
        if inspect.ismethod(callback):
            self._callbacks.append(weakref.WeakMethod(callback))
        else:
            self._callbacks.append(lambda cb=callback: cb)

    def apply_change(self, change: VoxelChange) -> None:
        """React to a change *already written* into the live arrays (MaskEditor listener)."""
        box = bbox_of_flat_indices(change.indices, self.volume.shape)
        if box is None:
            return
        self.mark_changed(change.target, box)

    def mark_changed(self, target: LabelTarget, box: Box) -> None:
        """Flag ``target``'s image as modified inside ``box`` and notify the views."""
        (self.lung if target == "lung" else self.lesion).mark_modified()
        for ref in list(self._callbacks):
            callback = ref()
            if callback is None:
                self._callbacks.remove(ref)
            else:
                callback(target, box)

    def replace_labels(self, lungs: LungMasks | None, lesions: LesionMasks | None) -> None:
        """Copy new label maps into the live arrays (same shape), e.g. after segmentation."""
        full: Box = ((0, 0, 0), self.volume.shape)
        if lungs is not None:
            self.lungs.labels[...] = lungs.labels
            self.mark_changed("lung", full)
        if lesions is not None:
            self.lesions.labels[...] = lesions.labels
            self.mark_changed("lesion", full)
