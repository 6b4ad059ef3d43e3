"""Simulated reading for the headless demo: automatic segmentation, two readers, one adjudicator.

Used by :mod:`desktop.demo.headless` (see its docstring for the whole pipeline). Everything goes
through :mod:`db.services` with the same blinded views a person gets (worklist, case codes, blinded
image links); only the *decisions* are simulated:

* :func:`segment_all`: the automatic segmentation of every series of the manifest, once per series
  in a process pool, keyed by the series content hash (both readers would get the same result);
* :func:`simulate_readers`: each reader opens their cases in their own order, starts from the
  automatic result, saves it as a draft (revision 1), applies :func:`perturb` and signs
  (revision 2);
* :func:`simulate_adjudicator`: picks, for every open adjudication, the read whose lesion % is
  closer to the phantom's truth (``truth.json`` beside the series, found by content hash).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from desktop.app.session import DEMO_PASSWORD
from quant.labels import GGO, LesionMasks, LungMasks
from quant.metrics import measure

if TYPE_CHECKING:
    from tqdm import tqdm

    from db.services import Actor, Database, ReadView
    from quant.editing.editor import MaskEditor

__all__ = ["perturb", "segment_all", "simulate_readers", "simulate_adjudicator", "progress_bar",
           "SIGN_MEANING", "ADJ_MEANING"]

SIGN_MEANING = "I am the author of this read"
ADJ_MEANING = "I adjudicated this case"


def _stroke_points(rng: np.random.Generator, start: np.ndarray, shape: tuple[int, ...]) -> list[np.ndarray]:
    pts = [start.astype(np.float64)]
    for _ in range(int(rng.integers(4, 9))):
        step = np.array([0.0, *rng.uniform(-5.0, 5.0, 2)])
        pts.append(np.clip(pts[-1] + step, 0, np.array(shape) - 1))
    return pts


def perturb(editor: MaskEditor, rng: np.random.Generator) -> list[str]:
    """Apply one simulated reader's edits through ``editor`` (a :class:`quant.editing.editor.MaskEditor`
    over the reader's own copy of the automatic masks); returns the undo labels of the strokes
    that changed something.

    In random order: 2-5 GGO *paint* strokes and 0-2 *erase* strokes (any lesion label), each with
    a sphere brush of radius 7-11 mm, starting on a random voxel of a lesion's edge and wandering
    4-8 steps of up to 5 voxels in the axial plane, restricted to the lungs: a few mL each, as a
    reader adding ground glass the algorithm missed next to a lesion, or trimming a lesion's edge.
    A lesion-free scan is left as it is. ``rng`` makes the edits reproducible.
    """
    from scipy.ndimage import binary_erosion  # lazy: scipy only when the readers edit

    lesions = editor.lesions.labels
    shape = lesions.shape
    # Strokes start on the lesion *edge*, where readers disagree (an interior start repaints lesion).
    edge = (lesions > 0) & ~binary_erosion(lesions > 0)
    lesion_idx = np.flatnonzero(edge)
    done: list[str] = []
    editor.brush_shape = "sphere"
    editor.restrict_to_lungs = True
    plan = ["paint"] * int(rng.integers(2, 6)) + ["erase"] * int(rng.integers(0, 3))
    for tool in rng.permutation(plan).tolist():
        if lesion_idx.size == 0:
            break
        start = np.array(np.unravel_index(int(lesion_idx[rng.integers(lesion_idx.size)]), shape))
        editor.label = GGO
        editor.erase_any_lesion = True
        editor.radius_mm = float(rng.uniform(7.0, 11.0))
        pts = _stroke_points(rng, start, shape)
        editor.begin_stroke(tool, pts[0], axis=0)
        for p in pts[1:]:
            editor.continue_stroke(p)
        step = editor.end_stroke()
        if step is not None:
            done.append(step.label)
    return done


def _auto_segment(folder: str) -> tuple[str, np.ndarray, np.ndarray, str, str, tuple]:
    """Process-pool worker: (voxel hash, lung labels, lesion labels, algorithm version, protocol
    hash, QC flags) of the series in ``folder`` (keyed by voxels: readers open the image store's
    de-identified copy, whose files differ from the site's)."""
    # Lazy: the DICOM and segmentation stacks load only where they run (pool workers, readers).
    from quant.dicom.load import load_series, scan_folder, voxel_hash
    from quant.segment.pipeline import segment

    volume = load_series(scan_folder(Path(folder)).series[0].files)
    result = segment(volume)
    return (voxel_hash(volume), result.lungs.labels, result.lesions.labels, result.algorithm_version,
            result.protocol_hash, tuple(result.qc))


def progress_bar(total: int, desc: str) -> tqdm:
    from tqdm import tqdm  # lazy: tqdm only for the headless run's progress bars

    return tqdm(total=total, desc=desc, file=sys.stderr, unit="scan", leave=False, dynamic_ncols=True)


def segment_all(manifest: Path, workers: int | None) -> tuple[dict[str, tuple], dict[str, float]]:
    """Automatic segmentation of every series (process pool) and truth lesion % by content hash."""
    with open(manifest, newline="", encoding="utf-8") as fh:
        folders = [str(manifest.parent / r["series_folder"]) for r in csv.DictReader(fh)]
    n = min(4, os.cpu_count() or 1, len(folders)) if workers is None else max(1, workers)
    auto: dict[str, tuple] = {}
    truth_of: dict[str, float] = {}
    bar = progress_bar(len(folders), "automatic segmentation")

    def keep(folder: str, res: tuple) -> None:
        auto[res[0]] = res[1:]
        truth_of[res[0]] = json.loads((Path(folder).parent / "truth.json").read_text())["truth"]["lesion_pct"]
        bar.update(1)

    if n == 1:
        for folder in folders:
            keep(folder, _auto_segment(folder))
    else:
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as pool:
            for folder, res in zip(folders, pool.map(_auto_segment, folders)):
                keep(folder, res)
    bar.close()
    return auto, truth_of


def simulate_readers(db: Database, actors: dict[str, Actor], auto: dict[str, tuple], seed: int) -> None:
    # Lazy: SQLAlchemy stays out of the spawn pool workers, which import this module; scipy/DICOM as above.
    from db.services import ReadInput, open_task, save_draft, sign_read, worklist
    from quant.dicom.load import load_series, voxel_hash
    from quant.editing.editor import MaskEditor
    from quant.segment.qc import to_metrics

    for r_index, reader in enumerate(("reader1", "reader2"), start=1):
        actor = actors[reader]
        tasks = worklist(db, actor)
        bar = progress_bar(len(tasks), f"{reader} reading")
        for task in tasks:
            case = open_task(db, actor, task.task_id, with_masks=False)
            volume = load_series(case.series_files)
            key = voxel_hash(volume)
            lung0, lesion0, algo, phash, qc = auto[key]
            lungs = LungMasks(np.array(lung0, dtype=np.uint8, order="C"))
            lesions = LesionMasks(np.array(lesion0, dtype=np.uint8, order="C"))
            start = measure(volume, lungs, lesions)
            common = dict(algorithm_version=algo, protocol_hash=phash)
            flags = to_metrics(qc) if qc else {}
            save_draft(db, actor, task.task_id, ReadInput(
                metrics=dict(start.as_dict(), **flags), normal_ct=start.suggested_normal, lung_labels=lungs.labels,
                lesion_labels=lesions.labels, comment="automatic segmentation, not yet reviewed", **common))
            rng = np.random.default_rng([seed, r_index, int(key[:12], 16)])
            edits = perturb(MaskEditor(volume, lungs, lesions), rng)
            m = measure(volume, lungs, lesions)
            sign_read(db, actor, task.task_id, ReadInput(
                metrics=dict(m.as_dict(), **flags), normal_ct=m.suggested_normal, confidence=int(rng.integers(3, 6)),
                comment="; ".join(edits) or "no edit", lung_labels=lungs.labels, lesion_labels=lesions.labels,
                **common), DEMO_PASSWORD, SIGN_MEANING)
            bar.update(1)
        bar.close()


def simulate_adjudicator(db: Database, actor: Actor, truth_of: dict[str, float]) -> int:
    # Lazy: as in simulate_readers.
    from db.services import adjudication_queue, decide_adjudication, open_adjudication

    queue = [a for a in adjudication_queue(db, actor) if a.status == "open"]
    for item in queue:
        view = open_adjudication(db, actor, item.adjudication_id, with_masks=False)
        truth = truth_of[view.display["pixel_sha256"]]  # the voxel hash intake recorded

        def error(read: ReadView) -> float:
            v = read.metrics.get("lesion_pct")
            return abs(float(v) - truth) if read.not_evaluable_reason is None and v is not None else float("inf")

        choice = "A" if error(view.read_a) <= error(view.read_b) else "B"
        decide_adjudication(db, actor, item.adjudication_id, choice, DEMO_PASSWORD, ADJ_MEANING,
                            reason="lesion extent", rationale="simulated reading: the read closer to the phantom truth")
    return len(queue)
