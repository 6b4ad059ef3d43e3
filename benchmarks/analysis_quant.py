"""Benchmark of the pure statistics share of ``lungread stats`` (no database, no mask export).

Synthetic endpoint records for 100 subjects x 7 visits (2:1 MSC:Placebo) and 700 double-read
pairs go through quant.analysis.tables.run_analysis, the CSV writers, and the report (5 PNG figures + PDF).
Prints seconds per stage (median of --repeats) and the import time of the modules involved; the
database helper's benchmarks/stats.py adds the query time on top of this to check the 2 s goal.

    .venv/bin/python benchmarks/analysis_quant.py [--subjects 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VISITS = [("BASELINE", 0, 1), ("DAY10", 1, 10), ("DAY28", 2, 28), ("MONTH3", 3, 90),
          ("MONTH6", 4, 180), ("MONTH9", 5, 270), ("MONTH12", 6, 365)]


def make_inputs(n_subjects: int, seed: int = 0):
    from quant.analysis.tables import EndpointRecord, ReadPair

    rng = np.random.default_rng(seed)
    records, pairs = [], []
    for i in range(n_subjects):
        arm = "Placebo" if i % 3 == 0 else "MSC"
        base = rng.uniform(5, 40)
        for visit, num, day in VISITS:
            effect = (0.6 if arm == "MSC" else 0.8) ** num
            les = float(max(base * effect + rng.normal(0, 1.5), 0.0))
            missing = rng.random() < 0.03
            records.append(EndpointRecord(
                f"S{i:03d}", arm, visit, num, day, None if missing else les, None if missing else les / 3,
                None if missing else les < 2.0, (2 * len(records) + 1, 2 * len(records) + 2),
                "not evaluable: motion" if missing else None))
            a, b = les + rng.normal(0, 0.8), les + rng.normal(0, 0.8)
            pairs.append(ReadPair(len(pairs), "reader1", "reader2", a, b, a < 2.0, b < 2.0, abs(a - b) > 2.0, visit))
    return records, pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    t0, c0 = time.perf_counter(), time.process_time()
    from quant.analysis.csv_export import write_analysis_csvs
    from quant.analysis.report import write_report
    from quant.analysis.tables import run_analysis

    print(f"import quant.analysis.tables/analysis_export/report: {time.perf_counter() - t0:.3f} s wall, "
          f"{time.process_time() - c0:.3f} s CPU")
    records, pairs = make_inputs(args.subjects)
    stages: dict[str, list[float]] = {"analysis": [], "csv": [], "report (5 PNG + PDF)": []}
    cpu: dict[str, list[float]] = {k: [] for k in stages}
    for _ in range(args.repeats):
        out = Path(tempfile.mkdtemp(prefix="lungread-stats-bench-"))
        holder: dict = {}
        steps = {
            "analysis": lambda: holder.setdefault("result", run_analysis(records, pairs)),
            "csv": lambda: write_analysis_csvs(holder["result"], out, "BENCH"),
            "report (5 PNG + PDF)": lambda: write_report(holder["result"], pairs, out / "report.pdf", png_dir=out),
        }
        for name, step in steps.items():
            t, c = time.perf_counter(), time.process_time()
            step()
            stages[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    total = total_cpu = 0.0
    for name, times in stages.items():
        med, med_cpu = statistics.median(times), statistics.median(cpu[name])
        total += med
        total_cpu += med_cpu
        print(f"{name:<22} {med:.3f} s wall, {med_cpu:.3f} s CPU (median of {len(times)})")
    print(f"{'total (warm)':<22} {total:.3f} s wall, {total_cpu:.3f} s CPU for {args.subjects} subjects x "
          f"{len(VISITS)} visits, {len(pairs)} read pairs")


if __name__ == "__main__":
    main()
