"""Pure viewer plumbing: zero-copy images, change boxes, display settings, surfaces."""

from __future__ import annotations

import numpy as np
import pytest


def test_live_image_shares_memory_with_numpy():
    from viewer.scene.image_data import LiveImage, array_from_image

    arr = np.zeros((4, 5, 6), np.uint8)
    live = LiveImage(arr, (2.0, 1.0, 0.5))
    assert live.image.GetDimensions() == (6, 5, 4)
    assert live.image.GetSpacing() == (0.5, 1.0, 2.0)
    t0 = live.image.GetMTime()
    arr[3, 2, 1] = 7  # edit in place: VTK sees it without a copy
    live.mark_modified()
    assert live.image.GetMTime() > t0
    assert live.image.GetScalarComponentAsDouble(1, 2, 3, 0) == 7
    view = array_from_image(live.image)
    assert np.shares_memory(view, arr)


def test_bbox_of_flat_indices():
    from viewer.scene.image_data import bbox_of_flat_indices

    shape = (10, 20, 30)
    idx = np.ravel_multi_index(([2, 5], [3, 1], [29, 0]), shape).astype(np.int64)
    assert bbox_of_flat_indices(idx, shape) == ((2, 1, 0), (6, 4, 30))
    assert bbox_of_flat_indices(np.zeros(0, np.int64), shape) is None


def test_display_settings_presets_and_errors():
    from viewer.scene.display import DisplayConfigError, display_settings, parse_display_settings

    s = display_settings()
    assert (s.presets["lung"].level, s.presets["lung"].width) == (-600.0, 1500.0)
    assert (s.presets["mediastinum"].level, s.presets["mediastinum"].width) == (40.0, 400.0)
    assert (s.presets["bone"].level, s.presets["bone"].width) == (400.0, 1800.0)
    assert s.preset_for_key("2").name == "mediastinum"
    assert s.presets["lung"].range_hu == (-1350.0, 150.0)
    with pytest.raises(DisplayConfigError, match="window_level"):
        parse_display_settings({"default": {}})


def test_layers_notify_only_with_the_changed_box():
    from quant.labels import VoxelChange
    from tests.support.viewer_cases import synthetic_case
    from viewer.scene.layers import ViewerLayers

    case = synthetic_case()
    layers = ViewerLayers(case.volume, case.lungs, case.lesions)
    seen = []

    class Listener:
        def cb(self, target, box):
            seen.append((target, box))

    listener = Listener()
    layers.add_change_callback(listener.cb)
    idx = np.ravel_multi_index(([3, 4], [10, 12], [20, 25]), case.volume.shape).astype(np.int64)
    change = VoxelChange("lesion", idx, np.zeros(2, np.uint8), np.ones(2, np.uint8))
    change.apply_to(case.lesions.labels)
    layers.apply_change(change)
    assert seen == [("lesion", ((3, 10, 20), (5, 13, 26)))]
    del listener  # weakly held: a dead view is dropped
    layers.apply_change(change)
    assert len(seen) == 1


def test_lesion_surfaces_are_closed_and_in_world_mm():
    from viewer.scene.surfaces import label_surface

    mask = np.zeros((20, 30, 40), bool)
    mask[5:15, 10:20, 10:30] = True
    spacing = (2.0, 1.0, 0.5)
    poly = label_surface(mask, spacing, smoothing_iterations=5)
    assert poly.GetNumberOfCells() > 100
    x0, x1, y0, y1, z0, z1 = poly.GetBounds()
    # The box spans voxels 10..29 (x, 0.5 mm), 10..19 (y, 1 mm), 5..14 (z, 2 mm): boundary
    # half-way to the next voxel, give or take the smoothing.
    assert abs(x0 - 4.75) < 0.6 and abs(x1 - 14.75) < 0.6
    assert abs(y0 - 9.5) < 1.1 and abs(y1 - 19.5) < 1.1
    assert abs(z0 - 9.0) < 2.1 and abs(z1 - 29.0) < 2.1
    assert label_surface(np.zeros((4, 4, 4), bool), spacing).GetNumberOfPoints() == 0
