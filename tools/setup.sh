#!/usr/bin/env bash
# Set up LungRead on a fresh Debian machine with Python 3.11: Debian packages (only those missing),
# a virtual environment in .venv and the project installed into it (editable, with test extras).
# Safe to re-run: each step is skipped when already done. Never prompts.
set -euo pipefail
cd "$(dirname "$0")/.."

# Xvfb + xcb for the Qt GUI (QT_QPA_PLATFORM=xcb), Mesa for VTK's OpenGL, dcmtk for writing
# compressed test series, dicom3tools for dciodvfy, PostgreSQL for the multi-user tests, python3-venv
# for the wheel test (a non-root user installs the wheel with the system Python), r-base-core so
# that statistics are checked against R itself, poppler-utils (pdftotext, pdftoppm) to read the
# report PDF as a person would.
DEB_PACKAGES=(xvfb xauth libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
  libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1 libegl1 libgl1 libglx-mesa0
  libgl1-mesa-dri libegl-mesa0 libxrender1 libxt6 libfontconfig1 libdbus-1-3 dcmtk dicom3tools python3-venv r-base-core
  poppler-utils)
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then DEB_PACKAGES+=(postgresql); fi

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq </dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.lungread-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] installing LungRead and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip </dev/null
  .venv/bin/python -m pip install -q -e ".[test,bench]" </dev/null
  touch "$stamp"
fi
