"""``lungread gui`` and ``lungread demo``: open the desktop application.

``lungread`` with no command also lands here (:func:`run_gui`). Qt and everything heavier are
imported inside the handlers, so ``lungread --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["register", "run_gui", "run_demo"]


def register(subparsers: argparse._SubParsersAction) -> None:
    gui = subparsers.add_parser("gui", help="open the desktop application")
    gui.add_argument("--db", metavar="URL", default=None,
                     help="database URL or SQLite file (default: the user data folder)")
    gui.set_defaults(handler=run_gui)

    demo = subparsers.add_parser(
        "demo",
        help="open the application on the built-in demo trial (created on first use)",
        description="Open LungRead on a demo phantom trial in the user data folder (created on first "
        "use). Demo accounts: reader1, reader2, adjudicator, manager, statistician; password "
        "'lungread'. With --headless, run the whole pipeline without a window instead.",
    )
    demo.add_argument("--headless", action="store_true",
                      help="run the whole pipeline with simulated readers, no window")
    demo.add_argument("--out", metavar="DIR", default=None, help="output folder (--headless)")
    demo.add_argument("--subjects", type=int, default=None,
                      help="number of subjects (GUI demo default 8)")
    demo.add_argument("--visits", type=int, default=None,
                      help="visits per subject (GUI demo default 4)")
    demo.add_argument("--size", choices=("small", "full"), default="small", help="phantom size")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.add_argument("--arms", metavar="TREATMENT,CONTROL", default=None,
                      help="how the randomisation list spells the two arms (--headless; default MSC,Placebo)")
    demo.add_argument("--reset", action="store_true",
                      help="delete the demo trial in the user data folder and create it again")
    demo.set_defaults(handler=run_demo)


def run_gui(args: argparse.Namespace) -> int:
    """Open the application on the database ``args.db`` (None: the default database)."""
    from desktop.shell.launcher import launch

    return launch(url=getattr(args, "db", None))


def run_demo(args: argparse.Namespace) -> int:
    """Open the application on the demo trial, or hand ``--headless`` to the headless pipeline."""
    if getattr(args, "headless", False):
        try:
            headless = importlib.import_module("desktop.demo.headless")
        except ModuleNotFoundError as exc:
            if exc.name != "desktop.demo.headless":
                raise
            headless = None
        run = getattr(headless, "run", None)
        if run is None:
            print("lungread: error: the headless demo pipeline is not available in this build",
                  file=sys.stderr)
            return 2
        return int(run(args) or 0)
    from desktop.shell.launcher import launch

    return launch(
        demo=True,
        subjects=args.subjects or 8,
        visits=args.visits or 4,
        seed=args.seed,
        reset=getattr(args, "reset", False),
    )
