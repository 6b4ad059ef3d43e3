"""Fixtures of the reading-workspace GUI tests: a fresh demo trial per test."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def demo_trial(qapp, tmp_path_factory):
    """A fresh 1 subject x 2 visits demo trial per test (about 2 s): a shared one let tests see the
    drafts that earlier tests left behind, so results depended on the order."""
    from db import services
    from desktop.app.application import create_application
    from desktop.app.session import DEMO_PASSWORD, AppContext
    from desktop.demo.first_run import create_demo, demo_url

    old = os.environ.get("LUNGREAD_NO_3D")
    os.environ["LUNGREAD_NO_3D"] = "1"
    create_application()
    root = tmp_path_factory.mktemp("recovery") / "demo"
    create_demo(root, subjects=1, visits=2, seed=11)
    context = AppContext(url=demo_url(root), demo_root=root)
    actor = services.authenticate(context.database(), "reader1", DEMO_PASSWORD)
    tasks = [t.task_id for t in services.worklist(context.database(), actor)]
    yield context, tasks
    if old is None:
        os.environ.pop("LUNGREAD_NO_3D", None)
    else:
        os.environ["LUNGREAD_NO_3D"] = old


@pytest.fixture
def demo(demo_trial, monkeypatch):
    monkeypatch.setenv("LUNGREAD_NO_3D", "1")
    return demo_trial


@pytest.fixture
def reader_screen(demo, qtbot):
    """reader1's real main window on the fresh demo trial, worklist loaded: (context, task ids,
    window, reader screen); closed, with its workers finished, after the test."""
    from tests.support.desktop import login_reader1, wait_workers_idle

    context, tasks = demo
    window = login_reader1(qtbot, context)
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == len(tasks))
    yield context, tasks, window, screen
    window.close()
    wait_workers_idle(qtbot)
