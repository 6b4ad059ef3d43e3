"""What the database-backed commands share: the --db/--user options, the password source, login,
the ``export`` command group, and a tqdm progress callback.

Identity comes from ``--user``; the password from ``LUNGREAD_PASSWORD`` or, in a terminal, a
prompt (never a prompt when stdin is not a terminal: that is an error, so CI and scripts never hang).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from quant.errors import LungReadError

if TYPE_CHECKING:
    from db.services import Actor, Database

__all__ = [
    "PASSWORD_ENV", "NEW_PASSWORD_ENV", "CommandError", "read_password", "open_database", "login",
    "add_database_options", "export_subcommands", "tqdm_progress", "one_line",
]

PASSWORD_ENV = "LUNGREAD_PASSWORD"
NEW_PASSWORD_ENV = "LUNGREAD_NEW_PASSWORD"


class CommandError(LungReadError):
    """Bad command-line usage (missing password source, missing --user...)."""


def read_password(prompt: str, env: str = PASSWORD_ENV, *, confirm: bool = False) -> str:
    """The password from ``env`` or, in a terminal only, a hidden prompt."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CommandError(f"no password: set {env} (stdin is not a terminal, so there is no prompt)")
    try:
        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("Repeat the password: ") != first:
            raise CommandError("the two passwords differ")
    except EOFError as exc:  # Ctrl-D at the prompt
        raise CommandError("no password entered (end of input)") from exc
    return first


def open_database(args: argparse.Namespace, *, upgrade: bool = True, create: bool = False) -> Database:
    """``connect(args.db)``; ``upgrade=False`` skips the migration check (read-only commands).
    Only ``create=True`` (``db init``) makes a new database: a typo elsewhere is an error."""
    from db.services import connect

    return connect(args.db, upgrade=upgrade, must_exist=not create)


def login(database: Database, args: argparse.Namespace) -> Actor:
    """Authenticate ``--user`` (an audited login) and return the Actor."""
    from db.services import authenticate

    if not args.user:
        raise CommandError("give --user NAME (the account that performs this action)")
    return authenticate(database, args.user, read_password(f"Password for {args.user}: "))


def add_database_options(p: argparse.ArgumentParser, *, user: bool = True) -> None:
    p.add_argument("--db", metavar="URL", default=None,
                   help="database URL or SQLite file (default: lungread.sqlite in the user data folder)")
    if user:
        p.add_argument("--user", metavar="NAME",
                       help=f"account performing the action (password: prompt or ${PASSWORD_ENV})")


def export_subcommands(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The ``export`` command's sub-command group, shared by the modules that add exports."""
    # Kept on the subparsers object itself: a registry keyed by id() handed a later parser the
    # group of a collected one whose id was reused ("conflicting subparser: reads").
    group = getattr(subparsers, "lungread_export_group", None)
    if group is None:
        parser = subparsers.add_parser("export", help="export data")
        group = parser.add_subparsers(dest="export_command", metavar="WHAT", required=True)
        subparsers.lungread_export_group = group
    return group


@contextmanager
def tqdm_progress(desc: str, unit: str, *, leave: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr (only on a terminal)."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, file=sys.stderr, disable=None, leave=leave)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield progress
    finally:
        bar.close()


def one_line(message: str) -> str:
    """``message`` with newlines, escape codes and other invisible characters shown escaped, so a
    file name cannot forge extra lines or recolour the terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in message)
