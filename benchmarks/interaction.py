"""Interaction latency and undo memory of the viewer on a full-size phantom.

Run under Xvfb with Mesa software GL, e.g.::

    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python benchmarks/interaction.py

Three linked ~700x700 slice views (MprViewer without the 3D cell) show a 512x512x~300 phantom.
Real Qt mouse/wheel events are sent to the axial view and times are taken with
``time.perf_counter`` from just before the event is dispatched to the end of the render of the
view(s) concerned (an ``EndEvent`` observer on each render window), so they include the editor,
the label-image update and the OpenGL frame.

Prints:
* brush event -> painted (axial) view re-rendered: p50 / p95 ms;
* brush event -> all three linked views re-rendered (strokes at the crosshair, which every view
  shows): p50 / p95 ms;
* slice scroll (wheel event -> scrolled view re-rendered): p50 / p95 ms;
* undo history after 100 strokes: MB;
* for scale, stock VTK under the same load: a bare ``vtkImageSliceMapper`` CT view of the same
  size scrolling, and three such windows re-rendered one after the other.

Idle-time work (the views compose neighbour slices ahead after a frame) runs in ``settle()``
between measured events, as it runs between input events in the application.

Goals (issue 5): brush p95 <= 20 ms, three views p95 <= 50 ms, scroll p95 <= 16 ms, history
<= 50 MB; issue 15: the same with ``--outlines`` (lesions drawn as outlines) and ``--threshold``
(the threshold-limited brush).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def _pct(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values) * 1000.0
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def _reference_windows(scan, size: int, n: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Stock VTK under the same machine load: bare ``vtkImageSliceMapper``s showing the CT alone
    (default window settings), each in its own size x size window - the floor a plain VTK slice
    stack reaches here. Returns (scroll of one window, re-render of three windows after a data
    change (as for a brush dab seen by three views)) as (p50, p95) ms."""
    from vtkmodules.vtkRenderingCore import vtkImageSlice, vtkImageSliceMapper, vtkRenderer, vtkRenderWindow

    from viewer.scene.image_data import image_from_array

    image = image_from_array(np.ascontiguousarray(scan.volume.hu), scan.volume.spacing)
    shape = scan.volume.shape
    windows, mappers = [], []
    for vtk_axis in (2, 1, 0):  # axial, coronal, sagittal
        mapper = vtkImageSliceMapper()
        mapper.SetInputData(image)
        mapper.SetOrientation(vtk_axis)
        mapper.SetSliceNumber(shape[2 - vtk_axis] // 2)
        actor = vtkImageSlice()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColorWindow(1500)
        actor.GetProperty().SetColorLevel(-600)
        renderer = vtkRenderer()
        renderer.AddViewProp(actor)
        renderer.GetActiveCamera().ParallelProjectionOn()
        renderer.ResetCamera()
        window = vtkRenderWindow()
        window.SetMultiSamples(0)
        window.SetSize(size, size)
        window.AddRenderer(renderer)
        window.Render()
        windows.append(window)
        mappers.append(mapper)
    scroll, three = [], []
    nz = shape[0]
    for i in range(n):
        mappers[0].SetSliceNumber(nz // 2 + (i % 20) - 10)
        t0 = time.perf_counter()
        windows[0].Render()
        scroll.append(time.perf_counter() - t0)
    for i in range(max(n // 3, 10)):
        image.Modified()
        t0 = time.perf_counter()
        for window in windows:
            window.Render()
        three.append(time.perf_counter() - t0)
    for window in windows:
        window.Finalize()
    return _pct(scroll), _pct(three)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="full", help="phantom size (full | small)")
    parser.add_argument("--events", type=int, default=200, help="brush events per measurement")
    parser.add_argument("--scrolls", type=int, default=150)
    parser.add_argument("--view", type=int, default=700, help="slice view edge in pixels")
    parser.add_argument("--outlines", action="store_true", help="lesions drawn as outlines (display control)")
    parser.add_argument("--threshold", action="store_true",
                        help="threshold-limited brush (HU -1000..+50: the lung and lesion bands)")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
    from PySide6.QtGui import QMouseEvent, QWheelEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)

    from quant.editing.editor import MaskEditor
    from quant.labels import LesionMasks, LungMasks
    from quant.phantom import make_scan
    from viewer.scene.layers import ViewerLayers
    from viewer.widgets.mpr import MprViewer
    from viewer.widgets.tools import EditTools

    t = time.perf_counter()
    scan = make_scan(size=args.size, seed=3)
    print(f"phantom {scan.volume.shape} (z, y, x) at {scan.volume.spacing} mm "
          f"made in {time.perf_counter() - t:.1f} s", flush=True)
    lungs = LungMasks(np.ascontiguousarray(scan.lung_labels, dtype=np.uint8))
    lesions = LesionMasks(np.ascontiguousarray(scan.lesion_labels, dtype=np.uint8))
    layers = ViewerLayers(scan.volume, lungs, lesions)
    editor = MaskEditor(scan.volume, lungs, lesions)
    tools = EditTools(editor, layers)
    mpr = MprViewer(layers, tools, with_3d=False)
    mpr.resize(2 * args.view + 2, 2 * args.view + 2)
    mpr.show()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)
    axial, coronal, sagittal = (mpr.views[o] for o in ("axial", "coronal", "sagittal"))
    print(f"view size {axial.render_window.GetSize()} px", flush=True)

    end_time: dict[str, float] = {}
    end_cpu: dict[str, float] = {}

    def on_end(name: str) -> None:
        end_time[name] = time.perf_counter()
        end_cpu[name] = time.process_time()  # all threads of this process (llvmpipe included)

    for name, view in mpr.views.items():
        view.render_window.AddObserver("EndEvent", lambda *_a, n=name: on_end(n))

    widget = axial.vtk_widget

    def mouse(kind, pos: QPointF, button=Qt.MouseButton.LeftButton) -> None:
        types = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
                 "release": QEvent.Type.MouseButtonRelease}
        buttons = Qt.MouseButton.NoButton if kind == "release" else button
        ev_button = Qt.MouseButton.NoButton if kind == "move" else button
        ev = QMouseEvent(types[kind], pos, widget.mapToGlobal(pos), ev_button, buttons,
                         Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, ev)

    def settle() -> None:
        while any(v._dirty for v in mpr.views.values()):
            app.processEvents()

    # Crosshair at a lung voxel of the middle slice, so every view shows the strokes.
    z = scan.volume.shape[0] // 2
    from scipy.ndimage import binary_erosion

    free = binary_erosion(scan.lungs[z] & ~scan.lesion[z], iterations=8)
    ys, xs = np.nonzero(free)
    pick = len(ys) // 3
    centre = np.array([z, ys[pick], xs[pick]], dtype=float)
    mpr.set_position(centre)
    mpr.render_all()
    settle()
    editor.radius_mm = 3.0
    if args.outlines:
        layers.set_lesion_outline(True)
    if args.threshold:
        editor.hu_range = (-1000.0, 50.0)
    print(f"lesions as outlines: {args.outlines}; threshold brush: {editor.hu_range}", flush=True)
    tools.set_mode("paint")
    settle()
    mpr.render_all()

    # --- brush -> painted view, and -> all three views -------------------------------
    rng = np.random.default_rng(0)
    brush_one: list[float] = []
    brush_cpu: list[float] = []
    brush_all: list[float] = []
    spacing = np.array(scan.volume.spacing)
    c_pos = axial.widget_point(centre)
    px_per_mm = abs(axial.widget_point(centre + [0, 0, 10 / spacing[2]]).x() - c_pos.x()) / 10.0
    strokes = max(1, args.events // 20)
    # Each measured event is a press (a brush dab) at the crosshair, which all three views show;
    # it is undone (unmeasured) before the next one, so every dab really changes voxels there.
    for i in range(args.events // 2):
        off = rng.uniform(-1.0, 1.0, size=2) * px_per_mm
        pos = QPointF(c_pos.x() + off[0], c_pos.y() + off[1])
        end_time.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        mouse("press", pos)
        t_axial = end_time.get("axial")
        settle()
        if t_axial is not None:
            brush_one.append(t_axial - t0)
            brush_cpu.append(end_cpu["axial"] - c0)
        if len(end_time) == 3:
            brush_all.append(max(end_time.values()) - t0)
        mouse("release", pos)
        settle()
        tools.undo()
        settle()

    # Longer strokes across the lung (axial view only crosses most of them).
    ys2, xs2 = np.nonzero(scan.lungs[z] & ~scan.lesion[z])
    for s in range(strokes):
        k = rng.integers(len(ys2))
        start = axial.widget_point((z, ys2[k], xs2[k]))
        mouse("press", start)
        settle()
        pos = QPointF(start)
        for i in range(20):
            pos = QPointF(pos.x() + rng.normal(0, 4), pos.y() + rng.normal(0, 4))
            end_time.clear()
            t0, c0 = time.perf_counter(), time.process_time()
            mouse("move", pos)
            if "axial" in end_time:
                brush_one.append(end_time["axial"] - t0)
                brush_cpu.append(end_cpu["axial"] - c0)
            settle()
        mouse("release", pos)
        settle()

    # --- scroll -------------------------------------------------------------------
    scroll: list[float] = []
    scroll_cpu: list[float] = []
    centre_pos = QPointF(widget.width() / 2, widget.height() / 2)
    for i in range(args.scrolls):
        step = 1 if (i // 40) % 2 == 0 else -1
        ev = QWheelEvent(centre_pos, widget.mapToGlobal(centre_pos), QPoint(0, 0),
                         QPoint(0, 120 * step), Qt.MouseButton.NoButton,
                         Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        end_time.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        QApplication.sendEvent(widget, ev)
        if "axial" in end_time:
            scroll.append(end_time["axial"] - t0)
            scroll_cpu.append(end_cpu["axial"] - c0)
        settle()

    # --- undo history after 100 strokes ------------------------------------------------
    editor.clear_history()
    editor.radius_mm = 5.0
    n_strokes = 0
    while n_strokes < 100:
        k = rng.integers(len(ys2))
        p = np.array([z + rng.integers(-20, 21), ys2[k], xs2[k]], dtype=float)
        editor.begin_stroke("paint", p, axis=0)
        for _ in range(15):
            p = p + [0, rng.normal(0, 3), rng.normal(0, 3)]
            editor.continue_stroke(p)
        if editor.end_stroke() is not None:
            n_strokes += 1
    app.processEvents()
    history_mb = editor.history_nbytes / 1e6

    b50, b95 = _pct(brush_one)
    a50, a95 = _pct(brush_all)
    s50, s95 = _pct(scroll)
    bc50, bc95 = _pct(brush_cpu)
    sc50, sc95 = _pct(scroll_cpu)
    (ref50, ref95), (ref3_50, ref3_95) = _reference_windows(scan, args.view, args.scrolls)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores (wall times scale with it; CPU "
          "times are this process's, llvmpipe threads included)")
    print(f"brush -> painted view   p50 {b50:6.1f} ms  p95 {b95:6.1f} ms  (n={len(brush_one)}; goal p95 <= 20)"
          f"   CPU p50 {bc50:.1f} p95 {bc95:.1f} ms")
    print(f"brush -> 3 linked views p50 {a50:6.1f} ms  p95 {a95:6.1f} ms  (n={len(brush_all)}; goal p95 <= 50)")
    print(f"slice scroll            p50 {s50:6.1f} ms  p95 {s95:6.1f} ms  (n={len(scroll)}; goal p95 <= 16)"
          f"   CPU p50 {sc50:.1f} p95 {sc95:.1f} ms")
    print(f"reference: bare CT slice mapper, same window size, scroll p50 {ref50:.1f} "
          f"p95 {ref95:.1f} ms; three such windows re-rendered p50 {ref3_50:.1f} p95 {ref3_95:.1f} ms")
    print(f"undo history after 100 strokes: {history_mb:.2f} MB (goal <= 50)")
    for view in mpr.views.values():
        view.render_window.RemoveAllObservers()  # Python callbacks must not outlive this frame
    mpr.close()
    mpr.deleteLater()
    app.processEvents()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: PySide6 + VTK objects freed in arbitrary order at exit abort
    # with "bool_dealloc" in this environment, after all figures are printed.
    os._exit(code)
