"""The editor on the small phantom: real anatomy, live metrics, and a full undo back to the start."""

from __future__ import annotations

import numpy as np

from quant.editing.editor import MaskEditor
from quant.labels import GGO, SOLID, LesionMasks, LungMasks
from quant.metrics import MetricsTracker, measure
from quant.protocol import default_protocol


def test_edit_session_on_the_phantom_keeps_metrics_live_and_undoes_to_the_start(small_phantom):
    scan = small_phantom
    lungs = LungMasks(scan.lung_labels.copy())  # the fixture is shared: edit copies
    lesions = LesionMasks(scan.lesion_labels.copy())
    editor = MaskEditor(scan.volume, lungs, lesions)
    tracker = MetricsTracker(scan.volume, lungs, lesions)
    editor.add_listener(tracker.apply)
    start = (lungs.labels.copy(), lesions.labels.copy())
    prot = default_protocol().lesions

    def check():
        assert tracker.metrics == measure(scan.volume, lungs, lesions)
        assert not np.any((lesions.labels > 0) & (lungs.labels == 0))

    # A threshold GGO stroke across the middle of a lung: only voxels in the GGO band change.
    ys, xs = np.nonzero(lungs.labels[40] == 1)
    a = (40, ys.min() + 5, xs[ys == ys.min() + 5].mean())
    b = (40, ys.max() - 5, xs[ys == ys.max() - 5].mean())
    editor.label, editor.radius_mm = GGO, 6.0
    editor.hu_range = (prot.ggo_min_hu, prot.ggo_max_hu)
    before = lesions.labels.copy()
    editor.begin_stroke("paint", a)
    editor.continue_stroke(b)
    step = editor.end_stroke()
    check()
    changed = lesions.labels != before
    hu = scan.volume.hu[changed]
    assert step is not None and changed.sum() == step.n_voxels
    assert np.all((hu >= prot.ggo_min_hu) & (hu <= prot.ggo_max_hu))

    # Solid sphere, erase, lung erase through a lesion, island tools: metrics stay exact.
    editor.hu_range, editor.label, editor.brush_shape = None, SOLID, "sphere"
    editor.begin_stroke("paint", a)
    editor.continue_stroke(b)
    editor.end_stroke()
    check()
    editor.brush_shape = "disk"
    editor.begin_stroke("erase", a)
    editor.end_stroke()
    check()
    lz, ly, lx = np.argwhere(scan.lesion_labels > 0)[0]
    editor.begin_stroke("lung_erase", (lz, ly, lx))
    editor.end_stroke()
    check()
    remaining = np.argwhere(lesions.labels > 0)
    assert editor.remove_island(remaining[len(remaining) // 2]) is not None
    check()
    editor.remove_small(0.5)
    editor.keep_largest()
    check()
    assert editor.history.n_undo >= 6
    while editor.undo() is not None:
        check()
    assert np.array_equal(lungs.labels, start[0]) and np.array_equal(lesions.labels, start[1])
    assert tracker.metrics == measure(scan.volume, lungs, lesions)
