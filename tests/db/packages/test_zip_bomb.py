"""A package zip that would inflate to far more than it is (a zip bomb) is refused before anything
is written: by the manager's import and by the reader's `lungread open` (issue 18)."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import pytest

from db.packages.errors import PackageError
from db.packages.merge import unpacked
from db.packages.open import package_root


def _bomb(path: Path, inflated: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("manifest.json", "{}")
        with zf.open("reading.sqlite", "w", force_zip64=True) as fh:
            zeros = b"\0" * (1 << 24)
            for _ in range(inflated >> 24):
                fh.write(zeros)
    return path


def test_zip_bomb_is_refused_before_extraction(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "package.zip", 256 << 20)
    assert bomb.stat().st_size < 2 << 20
    temp_before = set(Path(tempfile.gettempdir()).iterdir())
    with pytest.raises(PackageError, match="decompression bomb"):
        with unpacked(bomb):
            pass
    assert set(Path(tempfile.gettempdir()).iterdir()) == temp_before  # nothing left in the temp folder
    with pytest.raises(PackageError, match="decompression bomb"):
        package_root(bomb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["package.zip"]  # no half-extracted folder


def test_unsafe_member_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../outside.txt", "x")
    with pytest.raises(PackageError, match="unsafe file name"):
        package_root(path)
    assert not (tmp_path / "outside.txt").exists()
