"""Phantom generation speed and memory: small and full scans, and a 12-subject × 7-visit trial.

Run: ``.venv/bin/python benchmarks/phantom.py [--no-trial] [--no-full]``. Prints wall and CPU
seconds and the peak resident memory of this process (goals: small < 1 s, full well under 30 s and
< 4 GB, 12×7 small trial < ~60 s).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _timed(label: str, fn) -> object:
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    w, c = time.perf_counter() - w0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label:<34} wall {w:7.2f} s   cpu {c:7.2f} s   peak RSS {peak:7.0f} MB")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-full", action="store_true")
    parser.add_argument("--no-trial", action="store_true")
    args = parser.parse_args()

    from quant.phantom import make_scan, make_trial, write_scan

    _timed("small, first (patient model built)", lambda: make_scan("small", seed=101))
    _timed("small, same patient again", lambda: make_scan("small", seed=101, lesion_pct=10))
    with tempfile.TemporaryDirectory() as tmp:
        scan = make_scan("small", seed=102)
        _timed("write_scan small (80 DICOM files)", lambda: write_scan(scan, Path(tmp) / "s"))
        if not args.no_full:
            full = _timed("full 300x512x512", lambda: make_scan("full", seed=103))
            _timed("write_scan full (300 DICOM files)", lambda: write_scan(full, Path(tmp) / "f"))
            del full
        if not args.no_trial:
            _timed("trial 12 subjects x 7 visits, small", lambda: make_trial(Path(tmp) / "t", subjects=12, seed=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
