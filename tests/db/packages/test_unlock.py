"""A reader locked out of their offline reading package gets back in with the manager's unlock
code (command line and login dialog); the unlock is audited in the package and the package still
imports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from db.errors import AuthenticationError
from db.models import AuditEvent, LoginThrottle
from db.packages.open import open_package
from db.services import authenticate, trust_root
from desktop.cli.main import main
from tests.support.db_trial import PASSWORD, write_mini_trial
from tests.support.desktop import restore_app_theme  # noqa: F401  (autouse fixture)
from tests.support.packages import build_master, sign_offline


@pytest.fixture()
def exported(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    trial = write_mini_trial(tmp_path / "trial", ["S1", "S2"], ["V1"])
    master = build_master(tmp_path / "master.sqlite", trial.manifest)
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    url = str(tmp_path / "master.sqlite")
    assert main(["package", "export", "--reader", "r1", "--out", str(tmp_path / "p1"), "--db", url,
                 "--user", "boss"]) == 0
    out = capsys.readouterr().out
    package_id = re.search(r"package ([0-9a-f]{32}) for r1", out).group(1)
    code = re.search(r"unlock code, should r1's account lock in the package: ([A-Z2-7-]{19})", out).group(1)
    yield master, url, tmp_path / "p1", package_id, code
    master.db.dispose()


def _lock_out(package: Path) -> None:
    pkg = open_package(package)
    try:
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                authenticate(pkg, "r1", "not-my-password")
        with pytest.raises(AuthenticationError, match="paused"):
            authenticate(pkg, "r1", PASSWORD)  # even the right password waits
    finally:
        pkg.dispose()


def test_unlock_code_on_the_command_line_then_import(exported, capsys):
    master, url, package, package_id, code = exported
    # The manager can show the code again; a reader cannot.
    assert main(["package", "unlock-code", package_id, "--db", url, "--user", "boss"]) == 0
    assert capsys.readouterr().out.strip() == code
    assert main(["package", "unlock-code", package_id, "--db", url, "--user", "r1"]) == 2
    assert "only a manager" in capsys.readouterr().err

    _lock_out(package)
    assert main(["package", "unlock", str(package), "--user", "r1", "--code", "AAAA-BBBB-CCCC-DDDD"]) == 2
    assert "wrong unlock code" in capsys.readouterr().err
    # Case and dashes do not matter when typing it.
    assert main(["package", "unlock", str(package), "--user", "r1", "--code", code.replace("-", "").lower()]) == 0
    assert "unlocked" in capsys.readouterr().out

    pkg = open_package(package)
    try:
        assert authenticate(pkg, "r1", PASSWORD).username == "r1"
        unlock = pkg.read(lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "unlock")).one())
        assert unlock.reason == "manager's package unlock code" and json.loads(unlock.old_json) == {"failures": 5}
    finally:
        pkg.dispose()

    signed = sign_offline(package, "r1", lambda c: 12.0)
    assert main(["package", "import", str(package), "--db", url, "--user", "boss"]) == 0
    assert f"merged {len(signed)} signed read(s)" in capsys.readouterr().out
    assert main(["audit", "verify", "--db", url]) == 0
    # The offline unlock came back with the package; its code MAC and every signature check out.
    assert main(["audit", "verify", "--db", url, "--trust", trust_root(master.db)]) == 0
    assert "trusted:" in capsys.readouterr().out


@pytest.mark.gui
def test_login_dialog_offers_the_unlock_code_in_a_package(qapp, qtbot, exported):
    from db.services import package_url
    from desktop.app.application import create_application
    from desktop.app.session import AppContext
    from desktop.shell.login import LoginDialog

    create_application()
    _master, _url, package, _id, code = exported
    _lock_out(package)
    context = AppContext(url=package_url(package))
    dialog = LoginDialog(context)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.package_root() == package.resolve() and dialog.unlock.isHidden()
    qtbot.keyClicks(dialog.username, "r1")
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.mouseClick(dialog.sign_in, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.sign_in.isEnabled(), timeout=10000)
    assert dialog.actor is None and "unlock code" in dialog.message.text() and dialog.unlock.isVisible()

    assert dialog.unlock_with_code("WRONG-CODE-0000-0000") is False
    assert "wrong unlock code" in dialog.message.text()
    assert dialog.unlock_with_code(code) is True
    assert "unlocked" in dialog.message.text() and dialog.unlock.isHidden()
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.mouseClick(dialog.sign_in, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.actor is not None, timeout=10000)
    assert dialog.actor.username == "r1"
    paused = context.database().read(lambda s: s.get(LoginThrottle, "r1"))
    assert paused is None  # the failures were cleared by the unlock
    context.database().dispose()
