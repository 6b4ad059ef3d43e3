#!/usr/bin/env bash
# Set up (if needed) and run the whole LungRead test suite: layering contracts, then pytest.
# GUI tests run on a real X server (Xvfb, started by pytest-xvfb) with QT_QPA_PLATFORM=xcb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
echo "[tests] layering contracts (import-linter)"
.venv/bin/lint-imports --no-cache
echo "[tests] pytest (under Xvfb)"
set +e
# A missing external tool (dciodvfy, PostgreSQL) fails the run instead of skipping tests.
export LUNGREAD_REQUIRE_TOOLS=1
# One Xvfb for the whole run, outliving every Qt connection (pytest-xvfb would stop its server
# while Qt still holds a connection, and Qt then aborts the process at exit).
# File order by default; LUNGREAD_RANDOM_ORDER=1 shuffles (pytest-randomly, seed printed). CI keeps
# file order until the native crash that some orders expose in the VTK slice-view tests is fixed.
order=(-p no:randomly)
[ "${LUNGREAD_RANDOM_ORDER:-0}" = "1" ] && order=()
xvfb-run -a -s "-screen 0 1920x1200x24 -nolisten tcp" .venv/bin/python -m pytest -p no:xvfb "${order[@]}" "$@"
rc=$?
set -e
# pytest exits 5 when it collected no test: an empty selection is not a failure.
[ "$rc" -eq 5 ] && rc=0
exit "$rc"
