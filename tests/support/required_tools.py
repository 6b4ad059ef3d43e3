"""External programs some tests need (dciodvfy, the PostgreSQL server binaries).

``tools/setup.sh`` installs them. Where one is missing a test is skipped with the reason, except
when ``LUNGREAD_REQUIRE_TOOLS=1`` (set by ``tools/run-tests.sh``, so in CI): then it fails, and a
missing install step can never turn into a quietly smaller test run.
"""

from __future__ import annotations

import os
import shutil

import pytest


def tools_required() -> bool:
    return os.environ.get("LUNGREAD_REQUIRE_TOOLS") == "1"


def missing_tool(why: str) -> None:
    """Skip (or, when tools are required, fail) the running test: ``why`` says what is missing."""
    if tools_required():
        pytest.fail(f"{why}; LUNGREAD_REQUIRE_TOOLS=1 (run tools/setup.sh)", pytrace=False)
    pytest.skip(why)


def require_program(name: str) -> str:
    """The path of program ``name`` on PATH; skips or fails the test (see module doc) without it."""
    found = shutil.which(name)
    if found is None:
        missing_tool(f"{name} is not installed")
    return found  # type: ignore[return-value]


def dciodvfy_errors(path: os.PathLike[str] | str) -> list[str]:
    """The ``Error`` lines of dicom3tools' dciodvfy (DICOM IOD validator) on one file."""
    import subprocess

    proc = subprocess.run([require_program("dciodvfy"), str(path)], capture_output=True, text=True, timeout=120)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]
