"""Automatic segmentation on real CT cases, scored against each case's reference.

    .venv/bin/python benchmarks/real_ct.py DATA_DIR [--case NAME ...] [--masks OUT_DIR] [--json] [--noise HU]

``DATA_DIR`` holds one folder per case in the layout of ``shared/data/realct/`` (``dicom/``,
``case.json`` and a reference; see ``benchmarks/realct_cases.py``). Each case runs in its own
process, so its peak memory is its own. One row per case:

* lung mL, and lung Dice where a reference lung mask exists;
* lesion % and solid % of lung, and the lesion % of each lung (L / R);
* median HU of the voxels labelled solid, and the share of lesion voxels whose 3×3×3 mean HU lies
  in the fat band (-190..-30 HU);
* slice-level sensitivity and specificity against slice flags (a slice is positive at >= 0.1 mL of
  lesion), and the lesion % of the lung the reference calls lesion-free;
* lesion % outside the tumour boxes grown by 10 mm (lesion volume outside / lung volume), and the
  share of dense (>= -300 HU) voxels in the boxes that are inside the lung mask;
* QC flags, segmentation time (s) and peak RSS of the case's process (load + segmentation, MB).

A scan the segmentation refuses prints its message instead of figures. ``--noise 80`` adds white
noise of that SD to every case first: the same references, scored as low-dose scans.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.realct_cases import RealCase, find_cases, with_added_noise  # noqa: E402

# A slice counts as positive when it holds at least this much lesion (mL).
SLICE_POSITIVE_ML = 0.1
FAT_BAND_HU = (-190.0, -30.0)


def evaluate(case: RealCase, masks_dir: Path | None, noise_hu: float = 0.0) -> dict:
    """Load, segment and score one case (run in a child process); ``noise_hu``: SD (HU) of white
    noise added after loading (:func:`benchmarks.realct_cases.with_added_noise`)."""
    from scipy import ndimage

    from quant.dicom.load import load_series
    from quant.labels import SOLID
    from quant.segment.pipeline import SegmentationError, segment

    t0 = time.perf_counter()
    volume = with_added_noise(load_series(case.dicom), noise_hu)
    load_s = time.perf_counter() - t0
    row: dict = {"case": case.name, "shape": list(volume.shape), "spacing": [round(s, 3) for s in volume.spacing]}
    row["load_s"] = round(load_s, 2)
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    try:
        result = segment(volume)
    except SegmentationError as exc:
        row["refused"] = str(exc)
        row["segment_s"] = round(time.perf_counter() - t0, 2)
        row["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return row
    row["segment_s"] = round(time.perf_counter() - t0, 2)
    row["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    row["loaded_mb"] = round(rss_loaded)
    m = result.metrics
    row.update(
        lung_ml=round(m.lung_ml, 1), lesion_pct=round(m.lesion_pct, 2), solid_pct=round(m.solid_pct, 2),
        lesion_pct_left=round(m.lesion_pct_left, 2), lesion_pct_right=round(m.lesion_pct_right, 2),
        suggested_normal=m.suggested_normal,
    )
    row["qc"] = [f.code for f in getattr(result, "qc", ())]
    lung = result.lungs.labels
    lesion = result.lesions.labels * (lung > 0)
    hu = volume.hu
    solid = lesion == SOLID
    row["solid_median_hu"] = round(float(np.median(hu[solid])), 1) if solid.any() else None
    any_lesion = lesion > 0
    if any_lesion.any():
        mean3 = ndimage.uniform_filter(hu.astype(np.float32), size=3)[any_lesion]
        row["fat_band_share"] = round(float(np.mean((mean3 >= FAT_BAND_HU[0]) & (mean3 <= FAT_BAND_HU[1]))), 4)
    else:
        row["fat_band_share"] = 0.0
    ref = case.reference_lung(volume)
    if ref is not None:
        mine = lung > 0
        row["lung_dice"] = round(2.0 * np.count_nonzero(mine & ref) / max(1, mine.sum() + ref.sum()), 4)
        row["ref_lung_ml"] = round(ref.sum() * volume.voxel_volume_ml, 1)
    flags = case.slice_flags(volume)
    if flags is not None:
        zs, positive = flags
        per_slice = np.count_nonzero(any_lesion.reshape(volume.shape[0], -1), axis=1) * volume.voxel_volume_ml
        found = per_slice[zs] >= SLICE_POSITIVE_ML
        tp = int(np.sum(found & positive))
        tn = int(np.sum(~found & ~positive))
        row["slice_sensitivity"] = round(tp / max(1, positive.sum()), 3)
        row["slice_specificity"] = round(tn / max(1, (~positive).sum()), 3)
    free = case.lesion_free_side()
    if free is not None:
        row[f"lesion_free_{free}_pct"] = row["lesion_pct_left" if free == "left" else "lesion_pct_right"]
    boxes = case.tumour_boxes(volume)
    if boxes is not None:
        lung_voxels = max(1, np.count_nonzero(lung))
        row["lesion_outside_boxes_pct"] = round(100.0 * np.count_nonzero(any_lesion & ~boxes) / lung_voxels, 2)
        tight = case.tumour_boxes(volume, margin_mm=0.0)
        dense = tight & (hu >= -300)
        row["box_dense_in_lung"] = round(float(np.count_nonzero(dense & (lung > 0)) / max(1, dense.sum())), 3)
    if masks_dir is not None:
        masks_dir.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(masks_dir / f"{case.name}.npz", lung=lung, lesion=result.lesions.labels)
    return row


def _child(case: RealCase, masks_dir: Path | None, noise_hu: float, queue) -> None:
    try:
        queue.put(evaluate(case, masks_dir, noise_hu))
    except Exception as exc:  # a crash is a result too: report it as the case's row
        queue.put({"case": case.name, "error": f"{type(exc).__name__}: {exc}"})


def run_case(case: RealCase, masks_dir: Path | None, noise_hu: float = 0.0) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(case, masks_dir, noise_hu, queue))
    proc.start()
    row = queue.get()
    proc.join()
    return row


_COLUMNS = [
    ("lung_ml", "lung mL"), ("lung_dice", "Dice"), ("lesion_pct", "les%"), ("solid_pct", "sol%"),
    ("lesion_pct_left", "L%"), ("lesion_pct_right", "R%"), ("solid_median_hu", "solHU"),
    ("fat_band_share", "fat"), ("slice_sensitivity", "sens"), ("slice_specificity", "spec"),
    ("lesion_outside_boxes_pct", "out%"), ("box_dense_in_lung", "boxin"), ("segment_s", "s"),
    ("peak_mb", "MB"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    parser.add_argument("--masks", type=Path, help="write each case's lung/lesion labels (npz) here")
    parser.add_argument("--json", action="store_true", help="print one JSON row per case instead")
    parser.add_argument(
        "--noise", type=float, default=0.0, metavar="HU",
        help="add white noise of this SD (HU) to every case first (a low-dose stress test)",
    )
    args = parser.parse_args(argv)
    cases = [c for c in find_cases(args.data_dir) if not args.case or c.name in args.case]
    if not cases:
        print(f"no case folders (with case.json and dicom/) in {args.data_dir}", file=sys.stderr)
        return 2
    from quant.segment.pipeline import ALGORITHM_VERSION

    if not args.json:
        noise = f", {args.noise:g} HU of noise added" if args.noise > 0 else ""
        print(f"segmentation {ALGORITHM_VERSION}; {len(cases)} case(s) in {args.data_dir}{noise}")
        print(f"{'case':<24}" + "".join(f"{h:>9}" for _, h in _COLUMNS) + "  QC flags")
    for case in cases:
        row = run_case(case, args.masks, args.noise)
        if args.json:
            print(json.dumps(row))
            continue
        if "error" in row or "refused" in row:
            print(f"{case.name:<24}  {'REFUSED: ' + row['refused'] if 'refused' in row else 'ERROR: ' + row['error']}")
            continue
        cells = []
        for key, _ in _COLUMNS:
            value = row.get(key)
            cells.append(f"{'-' if value is None else value:>9}")
        print(f"{case.name:<24}" + "".join(cells) + "  " + (",".join(row["qc"]) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
