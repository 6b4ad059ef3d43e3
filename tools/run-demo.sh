#!/usr/bin/env bash
# Set up (if needed) and open LungRead on the built-in demo trial.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/lungread demo "$@"
