"""Every way out of the real application ends the process with exit code 0 and nothing lost.

Each case starts the ``lungread`` entry point in its own process under Xvfb (3D view on, as users
run it), drives it with real widgets to one exit (tests/support/exit_path_child.py), and checks the
exit code from outside: a crash during interpreter shutdown ("shared QObject was deleted
directly", then SIGSEGV; or "Fatal Python error") fails here, where in-process GUI tests never saw
it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.gui, pytest.mark.slow]

DEMO_PATHS = ("login-quit", "worklist-quit", "workspace-quit", "close-mid-edit", "sign-out")


def _run(data_dir: Path, path: str, *args: str, user: str = "reader1") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LUNGREAD_NO_3D", "LUNGREAD_PASSWORD")}
    env.update(LUNGREAD_DATA_DIR=str(data_dir), LUNGREAD_EXIT_USER=user, QT_QPA_PLATFORM="xcb")
    return subprocess.run([sys.executable, "-m", "tests.support.exit_path_child", path, "--", *args], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=600)


def _assert_clean_exit(proc: subprocess.CompletedProcess, what: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{what}: exit code {proc.returncode}\n{out[-3000:]}"
    assert "DRIVER-DONE" in proc.stdout and "LUNGREAD-RETURNED 0" in proc.stdout, out[-3000:]
    for sign in ("Fatal Python error", "QObject: shared QObject was deleted", "Traceback", "Segmentation fault"):
        assert sign not in out, f"{what}: {sign!r}\n{out[-3000:]}"


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory) -> Path:
    """A demo trial (1 subject x 2 visits) created by the first start of `lungread demo`, which
    is left at once by the login dialog's Quit."""
    data = tmp_path_factory.mktemp("exit-data")
    _assert_clean_exit(_run(data, "login-quit", "demo", "--subjects", "1", "--visits", "2"), "first demo start")
    assert (data / "demo" / "READY").exists()
    return data


@pytest.mark.parametrize("path", DEMO_PATHS)
def test_lungread_demo_exits_cleanly(demo_data, path):
    proc = _run(demo_data, path, "demo")
    _assert_clean_exit(proc, f"lungread demo, {path}")
    if path == "close-mid-edit":
        # The window closed mid-edit, before the autosave timer: the stroke is in the saved draft.
        painted = float(re.search(r"PAINTED (\S+)", proc.stdout).group(1))
        import db
        from db.models import Read, User

        database = db.connect(demo_data / "demo" / "lungread-demo.sqlite")
        try:
            with database.session() as s:
                reader = s.query(User).filter_by(username="reader1").one()
                draft = s.query(Read).filter_by(author_id=reader.id, status="draft").order_by(Read.id.desc()).first()
                assert draft is not None and draft.lesion_pct == pytest.approx(painted, abs=1e-9)
        finally:
            database.dispose()


def test_lungread_gui_and_open_package_exit_cleanly(demo_data, tmp_path):
    url = str(demo_data / "demo" / "lungread-demo.sqlite")
    _assert_clean_exit(_run(demo_data, "worklist-quit", "gui", "--db", url), "lungread gui, worklist quit")
    env = dict(os.environ, LUNGREAD_PASSWORD="lungread", LUNGREAD_DATA_DIR=str(demo_data))
    package = tmp_path / "package"
    export = subprocess.run([sys.executable, "-m", "desktop.cli.main", "package", "export", "--db", url, "--reader",
                             "reader2", "--out", str(package), "--user", "manager"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert export.returncode == 0, export.stderr
    _assert_clean_exit(_run(demo_data, "workspace-quit", "open", str(package), user="reader2"),
                       "lungread open PACKAGE, workspace quit")
