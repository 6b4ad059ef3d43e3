"""Intake benchmark: ``trial import`` of N subjects x 7 visits of small phantom-sized series, each
verified completely (every file read, full decode, geometry) and copied, de-identified, into the
trial's image store.

Goal (issue 18): 100 subjects x 7 visits runs with a progress bar and its time is reported.
Series are small (default 20 slices of 64 x 64) so the figure is the per-series cost of intake.

Run: ``.venv/bin/python benchmarks/intake.py [--subjects N] [--slices N] [--workers N]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import db  # noqa: E402
from db.services import authenticate, create_user, import_manifest  # noqa: E402
from quant.analysis.csv_cells import write_csv_rows  # noqa: E402

VISITS = ("SCREEN", "BASELINE", "DAY7", "DAY14", "DAY28", "DAY90", "DAY180")


def main() -> int:
    from quant.dicom.write import write_series
    from quant.volume import Volume

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, default=100)
    parser.add_argument("--slices", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None, help="processes checking rows (default: per core)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rng = np.random.default_rng(0)
        rows = []
        t0 = time.perf_counter()
        for s in range(args.subjects):
            for v, visit in enumerate(VISITS):
                out = root / "site" / f"S{s:03d}" / visit
                hu = rng.integers(-1000, 100, (args.slices, 64, 64)).astype(np.int16)
                write_series(Volume(hu, (2.0, 0.7, 0.7)), out, seed=s * 10 + v)
                rows.append({"subject": f"S{s:03d}", "visit": visit, "visit_day": str(v * 7),
                             "series_folder": str(out)})
        manifest = write_csv_rows(root / "manifest.csv", list(rows[0]), rows)
        print(f"wrote {len(rows)} series of {args.slices} x 64 x 64 in {time.perf_counter() - t0:.0f} s")
        database = db.connect(root / "trial.sqlite")
        create_user(database, None, "boss", "manager", "benchmark-pass")
        boss = authenticate(database, "boss", "benchmark-pass")
        from tqdm import tqdm

        bar = tqdm(desc="checking series", unit="row", file=sys.stderr, disable=None)

        def progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        t0 = time.perf_counter()
        report = import_manifest(database, boss, manifest, progress=progress, workers=args.workers)
        took = time.perf_counter() - t0
        bar.close()
        assert report.ok, report.errors[:3]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        store = root / "trial-images"
        stored = sum(p.stat().st_size for p in store.rglob("*.dcm"))
        print(f"trial import of {args.subjects} subjects x {len(VISITS)} visits ({report.created} series, each verified "
              f"completely and stored de-identified): {took:.1f} s = {took / report.created * 1000:.0f} ms per series; "
              f"peak memory {peak:.0f} MiB (largest worker process {worker_peak:.0f} MiB); "
              f"image store {stored / 2**20:.0f} MiB")
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
