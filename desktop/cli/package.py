"""Offline reading packages: ``lungread package export|import`` (manager) and ``lungread open``.

Identity and password follow the database commands (:mod:`desktop.cli.database`): ``--user``
names the manager; the password comes from ``LUNGREAD_PASSWORD`` or a terminal prompt.
"""

from __future__ import annotations

import argparse
import sys

from desktop.cli.common import add_database_options, login, open_database, tqdm_progress

__all__ = ["register"]


def _export(args: argparse.Namespace) -> int:
    from db.services import export_package

    database = open_database(args)
    actor = login(database, args)
    with tqdm_progress("de-identifying", "file") as progress:
        report = export_package(database, actor, args.reader, args.out, zip_package=args.zip, progress=progress)
    print(f"package {report.package_id} for {report.reader}: {report.n_tasks} case(s), {report.n_files} file(s) "
          f"-> {report.path}")
    if report.skipped_signed:
        print(f"({report.skipped_signed} case(s) already signed were not exported)")
    if report.carried_drafts:
        print(f"({report.carried_drafts} case(s) carry the reader's draft from this database)")
    print(f"unlock code, should {report.reader}'s account lock in the package: {report.unlock_code} "
          f"(shown again by `lungread package unlock-code {report.package_id}`)")
    return 0


def _unlock_code(args: argparse.Namespace) -> int:
    from db.services import package_unlock_code

    database = open_database(args)
    actor = login(database, args)
    print(package_unlock_code(database, actor, args.package_id))
    return 0


def _unlock(args: argparse.Namespace) -> int:
    from db.services import package_root, unlock_package_account

    root = package_root(args.package)
    unlock_package_account(root, args.user, args.code)
    print(f"account {args.user!r} unlocked in {root}; sign in with your password")
    return 0


def _import(args: argparse.Namespace) -> int:
    from db.services import import_package

    database = open_database(args)
    actor = login(database, args)
    report = import_package(database, actor, args.package, progress=lambda msg: print(msg, file=sys.stderr))
    print(report.describe())
    return 0


def _open_package(args: argparse.Namespace) -> int:
    from db.services import package_url
    from desktop.shell.launcher import launch

    return launch(url=package_url(args.package))  # same path as File -> Open reading package


def register(subparsers: argparse._SubParsersAction) -> None:
    p_pkg = subparsers.add_parser("package", help="offline reading packages (manager)")
    sub = p_pkg.add_subparsers(dest="package_command", metavar="ACTION", required=True)
    p = sub.add_parser("export", help="write a de-identified reading package of one reader's open cases")
    p.add_argument("--reader", required=True, metavar="NAME", help="the reader the package is for")
    p.add_argument("--out", required=True, metavar="PACKAGE", help="new package folder (or zip with --zip)")
    p.add_argument("--zip", action="store_true", help="write one .zip file instead of a folder")
    add_database_options(p)
    p.set_defaults(handler=_export)
    p = sub.add_parser("import", help="verify a returned package and merge its signed reads (all or nothing)")
    p.add_argument("package", metavar="PACKAGE", help="package folder or .zip")
    add_database_options(p)
    p.set_defaults(handler=_import)

    p = sub.add_parser("unlock-code", help="show the unlock code of an exported package (manager, master database)")
    p.add_argument("package_id", metavar="PACKAGE_ID", help="the id printed by `package export`")
    add_database_options(p)
    p.set_defaults(handler=_unlock_code)
    p = sub.add_parser("unlock", help="reader: unlock your locked account in a package with the manager's code")
    p.add_argument("package", metavar="PACKAGE", help="package folder or .zip")
    p.add_argument("--user", required=True, metavar="NAME", help="your account name")
    p.add_argument("--code", required=True, metavar="CODE", help="the unlock code from your core-lab manager")
    p.set_defaults(handler=_unlock)

    p = subparsers.add_parser("open", help="read a package offline in the application")
    p.add_argument("package", metavar="PACKAGE", help="package folder or .zip (extracted beside it)")
    p.set_defaults(handler=_open_package)
