"""The 3D scene (pure VTK, no Qt): CT volume rendering with a lung preset + lesion surfaces.

Used by the Qt :class:`viewer.widgets.view3d.VolumeView3D` and by the offscreen snapshot. World frame:
index-aligned mm (:mod:`viewer.scene.image_data`). The camera looks at the patient from the front
(anterior), head up, patient right on screen left, as a radiologist expects.

Lung preset (HU -> opacity): aerated lung (-950..-500 HU) as a faint blue-grey haze so the lung
shape reads without hiding what is inside it, soft tissue transparent, bone (> 250 HU) light
ivory for anatomical context. Lesions are drawn as surfaces, not by transfer function: their
HU bands overlap vessels and chest wall.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401  (OpenGL implementation of the mapper)
from vtkmodules.vtkCommonCore import vtkPoints  # noqa: F401  (keeps vtkCommonCore loaded)
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPiecewiseFunction, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkColorTransferFunction,
    vtkPolyDataMapper,
    vtkRenderer,
    vtkVolume,
    vtkVolumeProperty,
)
from vtkmodules.vtkRenderingVolume import vtkGPUVolumeRayCastMapper

from viewer.scene.image_data import image_from_array
from viewer.scene.layers import ViewerLayers
from viewer.scene.surfaces import LesionSurfaces

__all__ = ["VolumeScene3D", "MAX_VOLUME_DIM"]

#: The CT is subsampled (integer stride) until no axis exceeds this many voxels: software GL renders
#: a 3D texture of this size interactively, and the 3D view is for orientation, not measurement.
MAX_VOLUME_DIM = 192


Quality = Literal["interactive", "high"]


def _lung_preset(prop: vtkVolumeProperty, shade: bool) -> None:
    color = vtkColorTransferFunction()
    color.AddRGBPoint(-1024, 0.0, 0.0, 0.0)
    color.AddRGBPoint(-900, 0.45, 0.55, 0.70)
    color.AddRGBPoint(-500, 0.65, 0.72, 0.85)
    color.AddRGBPoint(-200, 0.80, 0.55, 0.45)
    color.AddRGBPoint(250, 0.95, 0.90, 0.80)
    color.AddRGBPoint(1500, 1.0, 1.0, 0.95)
    opacity = vtkPiecewiseFunction()
    opacity.AddPoint(-1024, 0.0)
    opacity.AddPoint(-960, 0.0)
    opacity.AddPoint(-900, 0.012)
    opacity.AddPoint(-600, 0.012)
    opacity.AddPoint(-450, 0.0)
    opacity.AddPoint(180, 0.0)
    opacity.AddPoint(350, 0.05)
    opacity.AddPoint(1500, 0.12)
    prop.SetColor(color)
    prop.SetScalarOpacity(opacity)
    prop.SetInterpolationTypeToLinear()
    prop.SetShade(shade)
    prop.SetAmbient(0.35)
    prop.SetDiffuse(0.7)
    prop.SetSpecular(0.15)


class VolumeScene3D:
    """3D renderer over shared :class:`ViewerLayers`.

    Args:
        layers: the case.
        renderer: an existing renderer (e.g. a viewport of an offscreen window), or a new one.
        volume_rendering: draw the CT volume (False: surfaces only).
        quality: "interactive" (no shading, coarse ray sampling: a frame stays well under a
            second even with Mesa software GL) or "high" (shaded, fine sampling: snapshots).
    """

    def __init__(
        self,
        layers: ViewerLayers,
        renderer: vtkRenderer | None = None,
        volume_rendering: bool = True,
        quality: Quality = "interactive",
    ) -> None:
        self.quality = quality
        self.layers = layers
        settings = layers.settings
        self.renderer = renderer or vtkRenderer()
        self.renderer.GradientBackgroundOn()
        self.renderer.SetBackground(*settings.background_3d_bottom)
        self.renderer.SetBackground2(*settings.background_3d_top)

        self.volume_actor: vtkVolume | None = None
        if volume_rendering:
            self.volume_actor = self._make_volume()
            self.renderer.AddVolume(self.volume_actor)

        self.lesion_actor = self._surface_actor(settings.ggo.color, 0.55)
        self.solid_actor = self._surface_actor(settings.solid.color, 1.0)
        for actor in (self.lesion_actor, self.solid_actor):
            self.renderer.AddActor(actor)
        self.reset_camera()

    def _make_volume(self) -> vtkVolume:
        hu = self.layers.volume.hu
        f = [int(v) for v in np.ceil(np.array(hu.shape) / MAX_VOLUME_DIM)]  # (z, y, x) strides
        # A display-only copy: subsampled, and air outside the lungs + soft tissue blanked, so
        # the lung haze is the lungs' (not the skin's partial-volume rim) and bone gives context.
        sub = hu[:: f[0], :: f[1], :: f[2]]
        lungs = self.layers.lungs.labels[:: f[0], :: f[1], :: f[2]] > 0
        self._display_hu = np.ascontiguousarray(np.where(lungs | (sub > 150), sub, -1024).astype(np.int16))
        spacing_zyx = np.array(self.layers.volume.spacing) * np.array(f)
        image = image_from_array(self._display_hu, spacing_zyx)
        mapper = vtkGPUVolumeRayCastMapper()
        high = self.quality == "high"
        mapper.AutoAdjustSampleDistancesOff()
        # Ray step in mm and rays per pixel: the main cost knobs of software ray casting.
        mapper.SetSampleDistance(float(spacing_zyx.max()) * (0.75 if high else 1.5))
        mapper.SetImageSampleDistance(1.0 if high else 1.5)
        mapper.SetInputData(image)
        mapper.SetBlendModeToComposite()
        prop = vtkVolumeProperty()
        _lung_preset(prop, shade=high)
        actor = vtkVolume()
        actor.SetMapper(mapper)
        actor.SetProperty(prop)
        actor.PickableOff()
        return actor

    def _surface_actor(self, color, opacity: float) -> vtkActor:
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(vtkPolyData())
        mapper.ScalarVisibilityOff()
        actor = vtkActor()
        actor.SetMapper(mapper)
        prop = actor.GetProperty()
        prop.SetColor(*color)
        prop.SetOpacity(opacity)
        prop.SetSpecular(0.25)
        prop.SetSpecularPower(20)
        prop.SetInterpolationToPhong()
        return actor

    def set_surfaces(self, surfaces: LesionSurfaces) -> None:
        """Show new lesion surfaces (GUI thread only)."""
        self.lesion_actor.GetMapper().SetInputData(surfaces.lesion)
        self.solid_actor.GetMapper().SetInputData(surfaces.solid)
        self.apply_visibility()

    def apply_visibility(self) -> None:
        """Follow the layers' per-label visibility and opacity."""
        layers = self.layers
        self.lesion_actor.SetVisibility(layers.is_visible("ggo"))
        self.lesion_actor.GetProperty().SetOpacity(min(1.0, 0.3 + layers.opacity("ggo")))
        self.solid_actor.SetVisibility(layers.is_visible("solid"))

    def reset_camera(self) -> None:
        """Anterior view, head up, whole volume in view."""
        vol = self.layers.volume
        extent = (np.array(vol.shape[::-1]) - 1) * np.array(vol.spacing[::-1])
        centre = extent / 2.0
        camera = self.renderer.GetActiveCamera()
        camera.ParallelProjectionOff()
        camera.SetFocalPoint(*centre)
        # Index y grows posteriorly and z superiorly (identity direction): look along +y.
        camera.SetPosition(centre[0], centre[1] - 1000.0, centre[2])
        camera.SetViewUp(0.0, 0.0, 1.0)
        camera.SetViewAngle(30.0)
        camera.Azimuth(-25.0)
        camera.Elevation(15.0)
        camera.OrthogonalizeViewUp()
        self.renderer.ResetCamera(0.0, extent[0], 0.0, extent[1], 0.0, extent[2])
        camera.Dolly(1.75)
        self.renderer.ResetCameraClippingRange()
