"""Account commands: ``lungread user add/set/unlock/password/list`` and the first manager, whose key
is the trial's root key (also created by ``lungread db init --manager NAME``).

Identity comes from ``--user``; passwords from ``LUNGREAD_PASSWORD`` / ``LUNGREAD_NEW_PASSWORD``
or, in a terminal, a prompt.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from desktop.cli.common import NEW_PASSWORD_ENV, CommandError, add_database_options, login, open_database, read_password

if TYPE_CHECKING:
    from db.services import Database

ROLES = ("reader", "adjudicator", "manager", "statistician")

_ROOT_ADVICE = ("keep this fingerprint outside the database (the trial master file): "
                "`lungread audit verify --trust FINGERPRINT` checks every signature against it")


def create_first_manager(database: Database, name: str) -> None:
    from db.services import create_user

    new_pw = os.environ.get(NEW_PASSWORD_ENV) or read_password(f"New password for {name}: ", confirm=True)
    user = create_user(database, None, name, "manager", new_pw)
    print(f"created manager {user.username} (id {user.user_id}) holding the trial's root key\n"
          f"trust root fingerprint: {user.key_fingerprint}\n{_ROOT_ADVICE}")


def _user_add(args: argparse.Namespace) -> int:
    from db.services import create_user, user_count

    database = open_database(args)
    if user_count(database) == 0 and not args.user:
        if args.role != "manager":
            raise CommandError("the first account of a new database must be a manager: use --role manager")
        create_first_manager(database, args.name)
        return 0
    if not args.user:
        raise CommandError("only a manager may add users: give --user MANAGER (the login-free "
                           "bootstrap is only for the first account of an empty database)")
    actor = login(database, args)
    new_pw = read_password(f"New password for {args.name}: ", NEW_PASSWORD_ENV, confirm=True)
    user = create_user(database, actor, args.name, args.role, new_pw)
    print(f"created {user.role} {user.username} (id {user.user_id}), signing key {user.key_fingerprint[:16]}...")
    return 0


def _need_reason(args: argparse.Namespace, what: str) -> str:
    if not (args.reason or "").strip():
        raise CommandError(f"give --reason TEXT: {what} is signed and audited with its reason")
    return args.reason


def _user_unlock(args: argparse.Namespace) -> int:
    from db.services import unlock_user

    database = open_database(args)
    reason = _need_reason(args, "unlocking an account")
    view = unlock_user(database, login(database, args), args.name, reason)
    print(f"sign-in for {view.username} unlocked (failed attempts reset)")
    return 0


def _user_set(args: argparse.Namespace) -> int:
    from db.services import set_account

    if args.role is None and args.active is None:
        raise CommandError("give --role ROLE and/or --active yes|no")
    database = open_database(args)
    reason = _need_reason(args, "changing an account")
    active = None if args.active is None else args.active == "yes"
    view = set_account(database, login(database, args), args.name, reason, role=args.role, active=active)
    print(f"{view.username}: {view.role}, {'active' if view.active else 'deactivated'}")
    return 0


def _user_password(args: argparse.Namespace) -> int:
    from db.services import authenticate, change_password

    database = open_database(args)
    if not args.user:
        raise CommandError("give --user NAME (your own account)")
    old = read_password(f"Current password for {args.user}: ")
    new = read_password(f"New password for {args.user}: ", NEW_PASSWORD_ENV, confirm=True)
    change_password(database, authenticate(database, args.user, old), old, new)
    print(f"password of {args.user} changed; the signing key is the same, wrapped under the new password")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    from db.services import list_users

    database = open_database(args)
    for u in list_users(database, login(database, args)):
        state = "active" if u.active else "deactivated"
        locked = f", sign-in paused until {u.locked_until}" if u.locked else ""
        print(f"{u.username}\t{u.role}\t{state}{locked}\tkey {(u.key_fingerprint or 'none')[:16]}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p_user = subparsers.add_parser("user", help="manage accounts")
    user_sub = p_user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = user_sub.add_parser("add", help="add an account (the first one, a manager, needs no login)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    add_database_options(p)
    p.set_defaults(handler=_user_add)
    p = user_sub.add_parser("unlock", help="clear an account's sign-in pause after failed attempts (manager)")
    p.add_argument("name")
    p.add_argument("--reason", metavar="TEXT", help="why (signed and audited)")
    add_database_options(p)
    p.set_defaults(handler=_user_unlock)
    p = user_sub.add_parser("set", help="change an account's role or (de)activate it (manager)")
    p.add_argument("name")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--active", choices=("yes", "no"))
    p.add_argument("--reason", metavar="TEXT", help="why (signed and audited)")
    add_database_options(p)
    p.set_defaults(handler=_user_set)
    p = user_sub.add_parser("password", help=f"change your own password (new one: prompt or ${NEW_PASSWORD_ENV})")
    add_database_options(p)
    p.set_defaults(handler=_user_password)
    p = user_sub.add_parser("list", help="accounts, roles, sign-in pauses and key fingerprints (manager)")
    add_database_options(p)
    p.set_defaults(handler=_user_list)
