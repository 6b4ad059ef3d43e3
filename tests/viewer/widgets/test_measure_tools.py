"""Ruler and ROI tools in a real slice view (mouse events), against the phantom's known geometry
and HU, and the lines they leave on the picture."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.slice_views import drag, make_view, pixels

pytestmark = pytest.mark.gui


def test_ruler_measures_the_drawn_distance_within_a_voxel(qtbot, case):
    view, _, tools = make_view(qtbot, case, mode="ruler")
    z = view.scene.slice_index
    seen: list = []
    tools.measurementsChanged.connect(seen.append)
    before = pixels(view).astype(int)
    start, end = np.array([z, 40.0, 30.0]), np.array([z, 70.0, 90.0])
    drag(view, [start, (start + end) / 2, end])
    (m,) = tools.measurements
    assert seen and seen[-1] == [m] and m.kind == "ruler" and m.axis == 0
    sz, sy, sx = case.volume.spacing
    truth = float(np.hypot(30 * sy, 60 * sx))
    assert abs(m.length_mm - truth) <= max(sy, sx), (m.length_mm, truth)
    assert m.describe().startswith("Ruler ") and m.describe().endswith(" mm")
    view.render()
    assert np.abs(pixels(view).astype(int) - before).sum(axis=2).max() > 100  # the line is drawn
    view.scene.set_slice(z + 3)  # another slice: not drawn there
    assert view.scene.set_measurements(tools.measurements) == 0


def test_roi_gives_the_hu_statistics_of_the_circle(qtbot, case):
    view, _, tools = make_view(qtbot, case, mode="roi")
    z = view.scene.slice_index
    centre, edge = np.array([z, 64.0, 40.0]), np.array([z, 64.0, 48.0])
    drag(view, [centre, edge])
    (m,) = tools.measurements
    # The same circle computed independently: voxel centres within the radius (mm) of the centre.
    hu = case.volume.hu[int(round(m.points[0][0]))].astype(float)
    _, sy, sx = case.volume.spacing
    cy, cx = m.points[0][1], m.points[0][2]
    radius = np.hypot((m.points[1][1] - cy) * sy, (m.points[1][2] - cx) * sx)
    assert abs(radius - 8 * sx) <= sx  # the drag's radius, within a voxel
    yy, xx = np.mgrid[: hu.shape[0], : hu.shape[1]]
    inside = ((yy - cy) * sy) ** 2 + ((xx - cx) * sx) ** 2 <= radius**2
    assert m.n_voxels == inside.sum() > 100
    assert abs(m.mean_hu - hu[inside].mean()) < 1.0
    assert (m.min_hu, m.max_hu) == (hu[inside].min(), hu[inside].max())
    assert m.area_mm2 == pytest.approx(inside.sum() * sy * sx)
    # A click without a drag measures nothing.
    drag(view, [centre])
    assert len(tools.measurements) == 1
