"""Annotations of a slice view: corner and edge text as cheap cached text actors, and the line
actors of the crosshair and brush outline.

``vtkCornerAnnotation`` re-fits its font size to the viewport on every render, which costs tens
of milliseconds per frame with software OpenGL. Here each slot is a plain ``vtkTextActor`` with
a fixed font size, placed in normalised viewport coordinates: its texture is rebuilt only when
its text changes, and an empty slot is hidden (drawn not at all).

Slots follow vtkCornerAnnotation's numbering: 0 lower-left, 1 lower-right, 2 upper-left,
3 upper-right, 4 lower edge, 5 right edge, 6 left edge, 7 upper edge.
"""

from __future__ import annotations

import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text actors need the FreeType renderer)
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkActor2D,
    vtkCoordinate,
    vtkPolyDataMapper2D,
    vtkRenderer,
    vtkTextActor,
)

__all__ = ["ViewText", "line_actor", "LOWER_LEFT", "LOWER_RIGHT", "UPPER_LEFT", "UPPER_RIGHT", "BOTTOM", "RIGHT",
           "LEFT", "TOP"]

LOWER_LEFT, LOWER_RIGHT, UPPER_LEFT, UPPER_RIGHT, BOTTOM, RIGHT, LEFT, TOP = range(8)

# slot -> (x, y) normalised viewport position, horizontal and vertical justification
_PLACES = {
    LOWER_LEFT: (0.008, 0.008, "left", "bottom"),
    LOWER_RIGHT: (0.992, 0.008, "right", "bottom"),
    UPPER_LEFT: (0.008, 0.992, "left", "top"),
    UPPER_RIGHT: (0.992, 0.992, "right", "top"),
    BOTTOM: (0.5, 0.008, "center", "bottom"),
    RIGHT: (0.992, 0.5, "right", "center"),
    LEFT: (0.008, 0.5, "left", "center"),
    TOP: (0.5, 0.992, "center", "top"),
}


class ViewText:
    """Eight text slots over a renderer (same API as vtkCornerAnnotation's SetText/GetText)."""

    def __init__(self, renderer: vtkRenderer, color, font_size: int = 14) -> None:
        self.actors: dict[int, vtkTextActor] = {}
        for slot, (x, y, hjust, vjust) in _PLACES.items():
            actor = vtkTextActor()
            actor.SetTextScaleModeToNone()
            prop = actor.GetTextProperty()
            prop.SetFontSize(font_size)
            prop.SetFontFamilyToArial()
            prop.SetColor(*color)
            prop.ShadowOn()
            {"left": prop.SetJustificationToLeft, "right": prop.SetJustificationToRight,
             "center": prop.SetJustificationToCentered}[hjust]()
            {"top": prop.SetVerticalJustificationToTop, "bottom": prop.SetVerticalJustificationToBottom,
             "center": prop.SetVerticalJustificationToCentered}[vjust]()
            if slot in (LEFT, RIGHT, TOP, BOTTOM):
                prop.BoldOn()
            coord = actor.GetPositionCoordinate()
            coord.SetCoordinateSystemToNormalizedViewport()
            coord.SetValue(x, y)
            actor.SetInput("")
            actor.VisibilityOff()
            actor.PickableOff()
            renderer.AddViewProp(actor)
            self.actors[slot] = actor

    def SetText(self, slot: int, text: str) -> None:  # noqa: N802 (VTK-style name)
        actor = self.actors[slot]
        if actor.GetInput() != text:
            actor.SetInput(text)
        actor.SetVisibility(bool(text))

    def GetText(self, slot: int) -> str:  # noqa: N802
        return self.actors[slot].GetInput() or ""

    def set_visible(self, visible: bool) -> None:
        for actor in self.actors.values():
            actor.SetVisibility(visible and bool(actor.GetInput()))


def line_actor(n_points: int, segments, color) -> tuple[vtkActor2D, vtkPoints]:
    """An unpickable 1-px line overlay over ``n_points`` world points (moved later through the
    returned ``vtkPoints``), joined by the (a, b) index pairs of ``segments``.

    A 2-D actor whose points are world mm projected by the camera, so it is drawn over the slice
    picture (itself a 2-D actor, :mod:`viewer.scene.slice_image`) in the order the actors were added.
    """
    points = vtkPoints()
    points.SetNumberOfPoints(n_points)
    for i in range(n_points):
        points.SetPoint(i, 0.0, 0.0, 0.0)
    lines = vtkCellArray()
    for a, b in segments:
        lines.InsertNextCell(2)
        lines.InsertCellPoint(a)
        lines.InsertCellPoint(b)
    poly = vtkPolyData()
    poly.SetPoints(points)
    poly.SetLines(lines)
    mapper = vtkPolyDataMapper2D()
    mapper.SetInputData(poly)
    world = vtkCoordinate()
    world.SetCoordinateSystemToWorld()
    mapper.SetTransformCoordinate(world)
    actor = vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*color)
    actor.GetProperty().SetLineWidth(1.0)
    actor.PickableOff()
    return actor, points
