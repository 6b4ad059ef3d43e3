"""Installable as a user would: the built wheel in a fresh virtual environment, installed and run
by a non-root user, gives a working ``lungread`` and its demo (issue 19)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.wheel_env import (
    build_wheel,
    declared_requirements,
    dependency_closure,
    link_distributions,
    unprivileged,
    user_python,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def open_tmp():
    """A temp folder other accounts can enter (pytest's own are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="lungread-wheel-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_wheel_installs_and_runs_the_demo_as_a_user(open_tmp):
    tmp_path = open_tmp
    wheel = build_wheel(tmp_path / "build")
    deps = dependency_closure(declared_requirements(wheel))
    assert {"numpy", "pyside6-essentials", "vtk", "sqlalchemy", "pydicom"} <= set(deps)
    assert "pytest" not in deps and "simpleitk" not in deps  # test tools stay out
    link_distributions(deps, tmp_path / "deps")

    account, demote = unprivileged()
    home = tmp_path / "home"
    home.mkdir()
    if account is not None:
        for folder in (wheel.parent.parent, wheel.parent):
            os.chmod(folder, 0o755)
        os.chmod(wheel, 0o644)
        os.chown(home, account.pw_uid, account.pw_gid)
    venv = home / "venv"
    python = user_python(demote)
    env = {"HOME": str(home), "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8",
           "QT_QPA_PLATFORM": "offscreen", "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    def run(*cmd: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(list(cmd), cwd=home, env=env, preexec_fn=demote, capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc

    run(python, "-m", "venv", str(venv))
    site = run(str(venv / "bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout
    (home / "deps.pth").write_text(str(tmp_path / "deps") + "\n")
    run("cp", str(home / "deps.pth"), site.strip())
    run(str(venv / "bin/python"), "-m", "pip", "install", "--no-deps", "-q", str(wheel))

    # The code comes from the installed wheel, not from the checkout.
    where = run(str(venv / "bin/python"), "-c", "import desktop, quant, db, viewer; print(db.__file__)").stdout
    assert where.strip().startswith(site.strip()), where
    help_text = run(str(venv / "bin/lungread"), "--help").stdout
    assert "demo" in help_text and "segment" in help_text
    out = home / "demo-out"
    demo = run(str(venv / "bin/lungread"), "demo", "--headless", "--subjects", "2", "--out", str(out), timeout=600)
    assert "MSC - Placebo" in demo.stdout
    exports = out / "exports"
    assert (exports / "reads.csv").is_file() and (exports / "adqct.csv").is_file()
    assert (out / "lungread.sqlite").is_file() or any(out.glob("*.sqlite"))
