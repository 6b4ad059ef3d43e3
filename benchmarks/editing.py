"""Benchmark of the pure mask-editing operations on a full-size (512 x 512 x 300) label volume.

Prints ms per stroke segment (p50 / p95 / max) for the disk, sphere and threshold brushes, ms per
undo and redo, the undo-history memory after 100 strokes, and one-off timings of the region tools.
No GUI: this is the quant.editing.editor share of the brush-to-pixels latency in benchmarks/interaction.py.

    .venv/bin/python benchmarks/editing.py [--strokes 100] [--segments 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from quant.editing.editor import MaskEditor
from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID, LesionMasks, LungMasks
from quant.volume import Volume

SHAPE = (300, 512, 512)
SPACING = (1.0, 0.7, 0.7)


def make_scene(seed: int) -> MaskEditor:
    """Two ellipsoidal lungs (about 2.5 L each) with noisy parenchyma and dense patches."""
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    lung = np.zeros(SHAPE, dtype=np.uint8)
    for cx, value in ((150, RIGHT_LUNG), (362, LEFT_LUNG)):
        inside = ((z - 150) / 130.0) ** 2 + ((y - 256) / 170.0) ** 2 + ((x - cx) / 95.0) ** 2 <= 1
        lung[inside] = value
    hu = rng.normal(0, 25, SHAPE).astype(np.int16)
    hu += np.where(lung > 0, -850, 40).astype(np.int16)
    patch = ((z - 120) / 25.0) ** 2 + ((y - 300) / 30.0) ** 2 + ((x - 150) / 30.0) ** 2 <= 1
    hu[patch] += 400  # a ground-glass patch for grow
    volume = Volume(hu=hu, spacing=SPACING)
    return MaskEditor(volume, LungMasks(lung), LesionMasks(np.zeros(SHAPE, dtype=np.uint8)))


def run_strokes(editor: MaskEditor, rng, n_strokes: int, n_segments: int, step_px: float):
    """Random-walk drags on axial slices inside the lungs.

    Returns per-event (begin + each segment) wall-clock and thread-CPU times in ms. On a shared
    machine the wall p95 mostly measures waiting for a core; the CPU time is the editor's own cost.
    """
    wall, cpu = [], []

    def timed_call(fn, *a):
        w0, c0 = time.perf_counter(), time.thread_time()
        fn(*a)
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)

    for _ in range(n_strokes):
        while True:  # start inside a lung, where a reader paints
            p = np.array([rng.integers(60, 240), rng.integers(150, 360), rng.integers(90, 420)], float)
            if editor.lungs.labels[tuple(p.astype(int))]:
                break
        timed_call(editor.begin_stroke, "paint", p, 0)
        for _ in range(n_segments):
            p = p + np.array([0.0, *rng.normal(0.0, step_px, 2)])
            timed_call(editor.continue_stroke, p)
        editor.end_stroke()
    return np.array(wall) * 1e3, np.array(cpu) * 1e3


def fmt(times) -> str:
    wall, cpu = times
    return (
        f"wall p50 {np.percentile(wall, 50):6.3f} p95 {np.percentile(wall, 95):6.3f} max {wall.max():6.1f} ms"
        f" | cpu p50 {np.percentile(cpu, 50):6.3f} p95 {np.percentile(cpu, 95):6.3f} ms"
    )


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, (time.perf_counter() - t0) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strokes", type=int, default=100)
    ap.add_argument("--segments", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    editor = make_scene(args.seed)
    print(f"scene {SHAPE[::-1]} x,y,z at {SPACING[::-1]} mm built in {time.perf_counter() - t0:.1f} s")

    editor.label, editor.radius_mm, editor.brush_shape = SOLID, 3.0, "disk"
    ms = run_strokes(editor, rng, args.strokes, args.segments, step_px=8.0)
    mb = editor.history_nbytes / 1e6
    print(f"disk 3 mm, {args.strokes} strokes x {args.segments} segments, ~8 px/event: {fmt(ms)}")
    print(f"history after {args.strokes} strokes: {mb:.2f} MB in {editor.history.n_undo} steps")

    ms = run_strokes(editor, rng, 20, args.segments, step_px=40.0)
    print(f"disk 3 mm, fast strokes, ~40 px/event:            {fmt(ms)}")

    editor.label, editor.radius_mm, editor.brush_shape = GGO, 5.0, "sphere"
    ms = run_strokes(editor, rng, 20, args.segments, step_px=8.0)
    print(f"sphere 5 mm, ~8 px/event:                          {fmt(ms)}")

    editor.radius_mm, editor.brush_shape, editor.hu_range = 8.0, "disk", (-750.0, -300.0)
    ms = run_strokes(editor, rng, 20, args.segments, step_px=8.0)
    editor.hu_range = None
    print(f"threshold disk 8 mm, ~8 px/event:                  {fmt(ms)}")

    undo_ms = np.array([timed(editor.undo)[1] for _ in range(50)])
    redo_ms = np.array([timed(editor.redo)[1] for _ in range(50)])
    print(f"undo per step: p50 {np.median(undo_ms):.3f} max {undo_ms.max():.3f} ms; "
          f"redo per step: p50 {np.median(redo_ms):.3f} max {redo_ms.max():.3f} ms")
    print(f"history now: {editor.history_nbytes / 1e6:.2f} MB in {editor.history.n_undo} steps")

    editor.label = GGO
    step, ms1 = timed(editor.grow, (120, 300, 150), (-600.0, -300.0), 30.0)
    print(f"grow 30 mm: {ms1:.1f} ms, {step.n_voxels if step else 0} voxels")
    step, ms1 = timed(editor.remove_island, (120, 300, 150))
    print(f"remove island: {ms1:.1f} ms, {step.n_voxels if step else 0} voxels")
    step, ms1 = timed(editor.remove_small, 0.05)
    print(f"remove small < 0.05 mL: {ms1:.1f} ms, {step.n_voxels if step else 0} voxels")
    step, ms1 = timed(editor.keep_largest)
    print(f"keep largest: {ms1:.1f} ms, {step.n_voxels if step else 0} voxels")
    editor.lesions.labels[:] = 0
    editor.clear_history()
    editor.label, editor.radius_mm = SOLID, 10.0
    for z in (100, 110):
        editor.begin_stroke("paint", (z, 250, 150))
        editor.end_stroke()
    step, ms1 = timed(editor.fill_between_slices, 0)
    print(f"fill between slices (10-slice gap, 10 mm disks): {ms1:.1f} ms, {step.n_voxels} voxels")


if __name__ == "__main__":
    main()
