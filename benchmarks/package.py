"""Reading-package benchmark: export and import times for one reader with 100 small scans.

Builds a master database with ``--scans`` synthetic CT series (default 100 x 80 slices of
128 x 128, the size of a "small" phantom), assigns every scan to reader1 and reader2, exports
reader1's package (de-identification of every file), signs every case offline through the
services (with lung and lesion masks), then imports it and imports it again (the no-op check).

Run: ``.venv/bin/python benchmarks/package.py [--scans N] [--slices N] [--size N] [--zip]``
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import db  # noqa: E402
from db.packages.export import export_package  # noqa: E402
from db.packages.merge import import_package  # noqa: E402
from db.packages.open import open_package  # noqa: E402
from db.services import (  # noqa: E402
    ReadInput,
    authenticate,
    create_user,
    generate_worklist,
    import_manifest,
    sign_read,
    worklist,
)
from quant.dicom.write import write_series  # noqa: E402
from quant.volume import Volume  # noqa: E402

PASSWORD = "benchmark-pass"


def _trial(root: Path, n_scans: int, slices: int, size: int) -> Path:
    rng = np.random.default_rng(0)
    base = rng.integers(-1000, 100, size=(slices, size, size)).astype(np.int16)
    rows = []
    for i in range(n_scans):
        hu = np.roll(base, i, axis=2)
        folder = root / f"S{i:03d}" / "BASELINE"
        write_series(Volume(hu, (2.5, 2.5, 2.5)), folder, seed=i)
        rows.append({"subject": f"S{i:03d}", "visit": "BASELINE", "series_folder": f"S{i:03d}/BASELINE"})
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["subject", "visit", "series_folder"])
        w.writeheader()
        w.writerows(rows)
    return manifest


def _masks(slices: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    z, y, x = np.ogrid[:slices, :size, :size]
    lung = np.zeros((slices, size, size), np.uint8)
    full = (slices, size, size)
    right = np.broadcast_to((y - size / 2) ** 2 / (size / 3) ** 2 + (x - size / 3) ** 2 / (size / 5) ** 2 < 1, full)
    left = np.broadcast_to((y - size / 2) ** 2 / (size / 3) ** 2 + (x - 2 * size / 3) ** 2 / (size / 5) ** 2 < 1, full)
    lung[right] = 1
    lung[left] = 2
    lesion = ((lung > 0) & ((z - slices / 2) ** 2 + (y - size / 2) ** 2 < (size / 8) ** 2)).astype(np.uint8)
    return lung, lesion


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=int, default=100)
    ap.add_argument("--slices", type=int, default=80)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--zip", action="store_true", help="export a zip (and import the worked folder zipped)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lungread-bench-package-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        manifest = _trial(root / "trial", args.scans, args.slices, args.size)
        master = db.connect(root / "master.sqlite")
        create_user(master, None, "boss", "manager", PASSWORD)
        boss = authenticate(master, "boss", PASSWORD)
        for name in ("reader1", "reader2"):
            create_user(master, boss, name, "reader", PASSWORD)
        report = import_manifest(master, boss, manifest)
        assert report.ok, report.errors
        generate_worklist(master, boss, seed=1)
        print(f"setup: {args.scans} scans x {args.slices} slices of {args.size}x{args.size} "
              f"in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        exp = export_package(master, boss, "reader1", root / "pkg", zip_package=args.zip)
        t_export = time.perf_counter() - t0
        print(f"export: {t_export:.2f} s for {exp.n_tasks} cases, {exp.n_files} files, "
              f"{_size_mb(exp.path):.1f} MB ({t_export / exp.n_tasks * 1000:.0f} ms per case)")

        lung, lesion = _masks(args.slices, args.size)
        t0 = time.perf_counter()
        pkg = open_package(exp.path)
        reader = authenticate(pkg, "reader1", PASSWORD)
        for i, task in enumerate(worklist(pkg, reader)):
            pct = 5.0 + i % 7
            read = ReadInput(metrics={"lesion_pct": pct, "solid_pct": pct / 3}, normal_ct=False, confidence=4,
                             comment="", lung_labels=lung, lesion_labels=lesion, algorithm_version="bench",
                             protocol_hash="0" * 64, not_evaluable_reason=None)
            sign_read(pkg, reader, task.task_id, read, PASSWORD, "I am the author of this read")
        pkg.dispose()
        print(f"offline signing (not part of the goal): {time.perf_counter() - t0:.2f} s")

        from db.packages.open import package_root

        source = package_root(exp.path)
        t0 = time.perf_counter()
        imp = import_package(master, boss, source)
        t_import = time.perf_counter() - t0
        print(f"import: {t_import:.2f} s for {len(imp.merged)} signed reads, {imp.events_merged} audit events "
              f"({t_import / max(1, len(imp.merged)) * 1000:.0f} ms per read)")
        t0 = time.perf_counter()
        again = import_package(master, boss, source)
        print(f"re-import (no-op, changed={again.changed}): {time.perf_counter() - t0:.2f} s")
        master.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
