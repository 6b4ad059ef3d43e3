"""Cold start of the desktop application to the login dialog being on screen.

Runs ``lungread gui --db FILE`` in a fresh process (QT_QPA_PLATFORM=xcb; under ``xvfb-run`` when
there is no DISPLAY) with ``LUNGREAD_STARTUP_PROBE=1``, which makes the application print
``login-shown <seconds since its import>`` once the login dialog is shown and painted, then quit.
Prints the wall time from process spawn to that line (median of N runs; goal <= 2 s) and which
heavy packages (VTK, SQLAlchemy, scipy) were already imported at that moment (goal: none).

Usage: .venv/bin/python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(db_file: Path, data_dir: Path) -> tuple[float, float, str]:
    env = dict(os.environ, LUNGREAD_STARTUP_PROBE="1", QT_QPA_PLATFORM="xcb",
               LUNGREAD_DATA_DIR=str(data_dir))
    cmd = [sys.executable, "-m", "desktop.cli.main", "gui", "--db", str(db_file)]
    if not env.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            raise SystemExit("no DISPLAY and no xvfb-run: cannot show a window")
        # xvfb-run's own start-up (about 1 s) is not the application's: time inside instead.
        cmd = ["xvfb-run", "-a", *cmd]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    wall = None
    inside = float("nan")
    heavy = "?"
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("login-shown"):
            wall = time.perf_counter() - t0
            parts = line.split()
            inside = float(parts[1])
            heavy = parts[2].split("=", 1)[1] if len(parts) > 2 else "?"
            break
    proc.wait(timeout=60)
    if wall is None:
        raise SystemExit(f"the application did not report the login dialog:\n{proc.stderr.read()}")
    return wall, inside, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_file = Path(tmp) / "startup.sqlite"
        walls, insides, heavies = [], [], set()
        for _ in range(args.runs):
            wall, inside, heavy = one_run(db_file, Path(tmp))
            walls.append(wall)
            insides.append(inside)
            heavies.add(heavy)
    xvfb = not os.environ.get("DISPLAY")
    print(f"cold start to login dialog shown: median {statistics.median(walls):.2f} s wall"
          f"{' (includes xvfb-run start-up)' if xvfb else ''}, "
          f"median {statistics.median(insides):.2f} s from the app's first import; "
          f"runs: {', '.join(f'{w:.2f}' for w in walls)}")
    print(f"heavy packages imported before the login dialog: {', '.join(sorted(heavies))}")
    print("goal: <= 2 s; no VTK/SQLAlchemy/scipy before the dialog")


if __name__ == "__main__":
    main()
