"""``lungread stats`` (every table, figure and the report) and the ``export adqct`` / ``export masks``
subcommands.

``export reads`` belongs to :mod:`desktop.cli.database`; both add to the one ``export``
group (:func:`desktop.cli.common.export_subcommands`). Identity: ``--user`` with the password from
``LUNGREAD_PASSWORD`` (or a terminal prompt), as for the database commands. Who may export what is
decided by the services (:mod:`db.exports.access`), not here.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.cli.common import add_database_options, export_subcommands, login, open_database, tqdm_progress

if TYPE_CHECKING:
    from db.services import Actor, Database, MaskFile
    from quant.analysis.report_pool import ReportPool

__all__ = ["register", "run_stats", "run_export_adqct", "run_export_masks"]

_MASK_CHOICES = {"seg": ("seg",), "nifti": ("nifti",), "both": ("seg", "nifti")}


def _login(args: argparse.Namespace) -> tuple[Database, Actor]:
    # Exports only read: no schema migration check (importing Alembic and scanning its scripts
    # costs ~0.4 s CPU of the 2 s budget). A database that is not LungRead's is still refused.
    database = open_database(args, upgrade=False)
    return database, login(database, args)


def _mask_args(p: argparse.ArgumentParser, *, flag: str, default: str | None) -> None:
    p.add_argument(flag, choices=sorted(_MASK_CHOICES), default=default,
                   help="mask formats: DICOM SEG, NIfTI or both" + (" (default: no masks)" if default is None else ""))
    p.add_argument("--per", choices=("read", "endpoint"), default="endpoint",
                   help="masks of every current signed read, or of each endpoint value's source read(s) "
                        "(default: endpoint)")


def _arm_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--treatment", metavar="ARM", help="the treatment arm as the randomisation list spells it "
                   "(default: the charter's, else the arm that is not recognisably placebo/control)")
    p.add_argument("--control", metavar="ARM", help="the control arm; between-arm figures are treatment - control")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "stats",
        help="endpoint statistics: tables, figures, report (statistician, locked database)",
        description="Write reads.csv, adqct.csv, endpoints.csv, agreement.csv (each with a data dictionary), "
        "PNG figures and report.pdf into --out. Needs a locked database; before unblinding the analysis is "
        "blinded (no arms), after it only a statistician may run it.",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (required unless a calculator command follows)")
    p.add_argument("--no-report", action="store_true", help="skip the PDF report")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    _arm_args(p)
    _mask_args(p, flag="--masks", default=None)
    add_database_options(p)
    # Closes everything it writes (files, database, report workers): may skip the interpreter's
    # teardown when run as the lungread command (desktop.cli.main.exit_now).
    p.set_defaults(handler=run_stats, fast_exit=True)
    # `lungread stats compare|proportions ...`: the same tests on a CSV or on counts, no database.
    from desktop.cli import calculator

    calculator.register(p.add_subparsers(dest="stats_command", metavar="CALCULATOR"))

    export_sub = export_subcommands(subparsers)
    p = export_sub.add_parser("adqct", help="adqct.csv, endpoints.csv, agreement.csv with dictionaries (statistician)")
    p.add_argument("out", metavar="DIR")
    _arm_args(p)
    add_database_options(p)
    p.set_defaults(handler=run_export_adqct)
    p = export_sub.add_parser("masks", help="read masks as DICOM SEG and/or NIfTI (manager; statistician after unblinding)")
    p.add_argument("out", metavar="DIR")
    _mask_args(p, flag="--format", default="both")
    p.add_argument("--read", type=int, action="append", default=None, metavar="ID",
                   help="only this read id (repeatable; with --per read)")
    add_database_options(p)
    p.set_defaults(handler=run_export_masks)

def _masks(database: Database, actor: Actor, out: Path, formats: tuple[str, ...], per: str,
           read_ids: list[int] | None = None) -> list[MaskFile]:
    from db.services import export_masks

    with tqdm_progress("masks", "read", leave=False) as progress:
        return export_masks(database, actor, out, per=per, formats=formats, read_ids=read_ids, progress=progress)


def run_stats(args: argparse.Namespace) -> int:
    """Write every table, figure and the report (and masks with ``--masks``) into ``--out``."""
    from contextlib import nullcontext

    from quant.errors import LungReadError

    if not args.out:
        raise LungReadError("lungread stats needs --out DIR (or a calculator: lungread stats compare|proportions)")

    from quant.analysis.report_pool import ReportPool

    # Before numpy and scipy load their OpenBLAS: the analysis does only small vector arithmetic,
    # and each OpenBLAS thread pool spins ~0.1 s of CPU after start-up, in this process and in
    # the report forkserver (which inherits the environment): ~0.3 s of two cores' 2 s budget.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    drawing = not (args.no_figures and args.no_report)
    # Started before the heavy imports below: the workers import matplotlib meanwhile.
    with ReportPool() if drawing else nullcontext() as pool:
        return _run_stats(args, pool)


def _run_stats(args: argparse.Namespace, pool: ReportPool | None) -> int:
    database, actor = _login(args)
    try:
        return _write_stats(args, pool, database, actor)
    finally:
        database.dispose()


def _write_stats(args: argparse.Namespace, pool: ReportPool | None, database: Database, actor: Actor) -> int:
    from db.services import PermissionDenied, begin_analysis_export, export_reads
    from quant.analysis.csv_export import format_endpoint_table

    out = Path(args.out)
    pending = begin_analysis_export(database, actor, out, figures=not args.no_figures, report=not args.no_report,
                                    treatment=args.treatment, control=args.control, report_pool=pool)
    written = []
    try:  # while the report workers draw
        reads = export_reads(database, actor, out / "reads.csv", dataset=pending.dataset)
        written += [reads, reads.with_name("reads.dictionary.csv")]
    except PermissionDenied as exc:  # e.g. a statistician before unblinding: the analysis still stands
        print(f"lungread: reads.csv not written: {exc}", file=sys.stderr)
    analysis = pending.finish()
    written = list(analysis.files.values()) + written
    if args.masks:
        written += [m.path for m in _masks(database, actor, out / "masks", _MASK_CHOICES[args.masks], args.per)]
    if analysis.dataset.n_pending:
        print(f"lungread: {analysis.dataset.n_pending} scan(s) have no final endpoint (pending)", file=sys.stderr)
    if analysis.dataset.unblinded:
        print(format_endpoint_table(analysis.result, "LESPCT"))
        print()
    else:
        print("blinded analysis (the trial is not unblinded): tables pooled over arms, no between-arm statistics")
    print(f"wrote {len(written)} file(s) to {out}")
    return 0


def run_export_adqct(args: argparse.Namespace) -> int:
    from db.services import export_analysis

    database, actor = _login(args)
    result = export_analysis(database, actor, Path(args.out), figures=False, report=False, treatment=args.treatment,
                             control=args.control)
    database.dispose()
    for path in result.files.values():
        print(path)
    return 0


def run_export_masks(args: argparse.Namespace) -> int:
    database, actor = _login(args)
    files = _masks(database, actor, Path(args.out), _MASK_CHOICES[args.format], "read" if args.read else args.per,
                   args.read)
    database.dispose()
    for f in files:
        print(f.path)
    return 0
