"""The ``lungread`` command line.

Each command group lives in its own module under :mod:`desktop.cli` and exposes
``register(subparsers)``. Heavy imports (VTK, Qt, SQLAlchemy, scipy) happen inside the command
handlers, so ``lungread --help`` and the GUI start stay fast.

User errors (:class:`quant.errors.LungReadError`, missing files) print one line to stderr and exit
with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from desktop.cli.common import one_line
from quant.errors import LungReadError

# Command modules, in the order they appear in --help. Every one must import: a missing module is a
# packaging error and fails loudly (it used to be skipped, which would hide it).
COMMAND_MODULES = (
    "desktop.cli.gui",
    "desktop.cli.phantom",
    "desktop.cli.info",
    "desktop.cli.segment",
    "desktop.cli.snapshot",
    "desktop.cli.database",
    "desktop.cli.accounts",
    "desktop.cli.stats",
    "desktop.cli.package",
)

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lungread",
        description="LungRead: blinded CT reads for clinical trials.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, exit_when_done: bool = False) -> int:
    """Run one command; returns its exit status. ``exit_when_done`` (the console entry point,
    :func:`run`): a command registered with ``fast_exit=True`` ends the process itself, see
    :func:`exit_now`."""
    # pydicom logs "invalid value for VR" chatter for odd files; errors reach the user as exceptions.
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    parser = build_parser()
    args = parser.parse_args(argv)
    rc = _dispatch(parser, args)
    if exit_when_done and getattr(args, "fast_exit", False):
        exit_now(rc)
    return rc


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    if handler is None:
        # No command: open the application, as a desktop program would.
        gui = sys.modules.get("desktop.cli.gui")
        if gui is None:
            parser.print_help()
            return 0
        handler = gui.run_gui
        args.db = None
    try:
        return int(handler(args) or 0)
    except LungReadError as exc:
        print(f"lungread: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # missing file, permission, disk full...: one line, the file name quoted
        where = f": {str(exc.filename)!r}" if exc.filename else ""
        print(f"lungread: error: {one_line(str(exc.strerror or exc))}{where}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("lungread: interrupted", file=sys.stderr)
        return 130


def exit_now(rc: int) -> NoReturn:
    """End the process with status ``rc`` without the interpreter's teardown of every loaded
    module (~0.1 s once SQLAlchemy, numpy and scipy are loaded; ``lungread stats`` has a 2 s
    budget). Only for commands that have closed everything they wrote (files, database
    connections, worker processes): logging is flushed and closed, then the standard streams."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(rc)


def run() -> NoReturn:
    """The ``lungread`` console entry point."""
    sys.exit(main(exit_when_done=True))


if __name__ == "__main__":  # pragma: no cover
    run()
