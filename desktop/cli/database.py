"""Database commands for managers and scripts: db, user, trial, worklist, lock, unblind, audit, export.

Identity comes from ``--user``; the password from ``LUNGREAD_PASSWORD`` or, in a terminal, a
prompt (never a prompt when stdin is not a terminal: that is an error). On an empty database the
first ``user add`` needs no login (bootstrap) and must create a manager.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from desktop.cli.common import (
    NEW_PASSWORD_ENV,
    CommandError,
    add_database_options,
    export_subcommands,
    login,
    one_line,
    open_database,
    tqdm_progress,
)
from quant.analysis.population import DEFAULT_MITT_RULE, MITT_RULES

if TYPE_CHECKING:
    from db.services import Charter

def _db_init(args: argparse.Namespace) -> int:
    from db.services import scans_outside_store, schema_revision, set_image_store, trust_root, user_count
    from desktop.cli.accounts import create_first_manager

    database = open_database(args, create=args.db_command == "init")
    print(f"database ready at schema revision {schema_revision(database)}: {database.url}")
    if getattr(args, "image_store", None):
        print(f"image store: {set_image_store(database, args.image_store)}")
    outside = scans_outside_store(database)
    if outside:
        print(f"{outside} scan(s) were imported before the image store and are still read from the site's files: "
              "a manager runs `lungread trial store-images`")
    if getattr(args, "manager", None):
        if user_count(database):
            raise CommandError("this database already has accounts; --manager only creates the first one")
        create_first_manager(database, args.manager)
    else:
        root = trust_root(database)
        print(f"trust root fingerprint: {root}" if root else
              "no accounts yet: the first manager (`lungread db init --manager NAME` or `lungread user add NAME "
              "--role manager`) creates the trial's root key")
    return 0


def _trial_import(args: argparse.Namespace) -> int:
    from db.services import import_manifest

    database = open_database(args)
    actor = login(database, args)
    with tqdm_progress("checking series", "row") as progress:
        report = import_manifest(database, actor, args.manifest, progress=progress)
    if not report.ok:
        for err in report.errors:
            print(f"{args.manifest}: row {err.row}: {err.message}", file=sys.stderr)
        print(f"lungread: error: {len(report.errors)} bad row(s) of {report.n_rows}; nothing was imported",
              file=sys.stderr)
        return 2
    print(f"imported {report.created} scan(s), {report.unchanged} already present, {report.n_rows} row(s)")
    return 0


def _trial_store_images(args: argparse.Namespace) -> int:
    from db.services import store_site_images

    database = open_database(args)
    actor = login(database, args)
    with tqdm_progress("copying series", "scan") as progress:
        report = store_site_images(database, actor, progress=progress)
    for scan_id, why in report.problems:
        print(one_line(f"scan {scan_id}: {why}"), file=sys.stderr)
    print(f"copied {report.stored} scan(s) into the image store; {len(report.problems)} left on site files")
    return 2 if report.problems else 0


def _trial_select_series(args: argparse.Namespace) -> int:
    from db.services import select_series, series_candidates

    database = open_database(args)
    actor = login(database, args)
    if not args.series_uid:
        for c in series_candidates(database, actor, args.subject, args.visit):
            print(f"{'*' if c.selected else ' '} {c.series_uid}\t{one_line(c.label)}")
        print("(* the series read now; choose another with --series-uid UID --reason TEXT)")
        return 0
    if not args.reason:
        raise CommandError("--reason is required: the change goes into the audit trail")
    select_series(database, actor, args.subject, args.visit, args.series_uid, args.reason)
    print(f"subject {args.subject} visit {args.visit} is now read from series {args.series_uid}")
    return 0


def _trial_verify_images(args: argparse.Namespace) -> int:
    from db.services import verify_image_store

    database = open_database(args)
    actor = login(database, args)
    with tqdm_progress("checking images", "scan") as progress:
        n, problems = verify_image_store(database, actor, progress=progress)
    for problem in problems:
        print(one_line(problem.describe()))
    print(f"{n} scan(s) checked: " + (f"{len(problems)} with a problem" if problems else "every image as imported"))
    return 1 if problems else 0


def _trial_intake_report(args: argparse.Namespace) -> int:
    from db.services import intake_report

    database = open_database(args)
    lines = intake_report(database, login(database, args))
    print("subject\tvisit\tseries\tkernel\tdescription\tQC\twhy this series")
    for line in lines:
        print(line.describe())
    print(f"{len(lines)} scan(s)")
    return 0


def _describe_charter(charter: Charter) -> str:
    visits = ", ".join(charter.visits) or "any visit name"
    normal = "yes" if charter.adjudicate_normal_disagreement else "no"
    return (f"visits: {visits}\nadjudication when |delta lesion %| > {charter.adjudication_threshold_pct:g} "
            f"percentage points\nadjudication when the normal-CT calls differ: {normal}\n"
            f"concordant pair resolved by: {charter.concordant_rule}\n"
            f"treatment arm: {charter.treatment_arm or '(named at analysis, or recognised by name)'}; "
            f"control arm: {charter.control_arm or '(named at analysis, or recognised by name)'}\n"
            f"primary endpoint: change from baseline in lesion % at "
            f"{charter.primary_visit or 'the first visit after baseline'}; secondary p values: "
            f"{charter.multiplicity}\nmITT population: {charter.mitt_rule} ({MITT_RULES[charter.mitt_rule]})\n"
            f"sequential reading (the baseline beside a follow-up): {'yes' if charter.sequential_reading else 'no'}")


def _trial_charter(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from db.services import get_trial, set_charter

    database = open_database(args)
    trial = get_trial(database)
    changes: dict[str, Any] = {}
    if args.threshold is not None:
        changes["adjudication_threshold_pct"] = args.threshold
    if args.normal_disagreement is not None:
        changes["adjudicate_normal_disagreement"] = args.normal_disagreement == "yes"
    if args.concordant is not None:
        changes["concordant_rule"] = args.concordant
    if args.visits is not None:
        changes["visits"] = tuple(v.strip() for v in args.visits.split(",") if v.strip())
    if args.primary_visit is not None:
        changes["primary_visit"] = args.primary_visit or None
    if args.multiplicity is not None:
        changes["multiplicity"] = args.multiplicity
    if args.mitt_rule is not None:
        changes["mitt_rule"] = args.mitt_rule
    if args.sequential_reading is not None:
        changes["sequential_reading"] = args.sequential_reading == "yes"
    if args.treatment_arm is not None:
        changes["treatment_arm"] = args.treatment_arm or None
    if args.control_arm is not None:
        changes["control_arm"] = args.control_arm or None
    if changes:
        if not args.reason:
            raise CommandError("give --reason TEXT: a charter change is audited with its reason")
        trial = set_charter(database, login(database, args), replace(trial.charter, **changes), args.reason)
        print(f"charter of {trial.name} changed:")
    else:
        print(f"charter of {trial.name}:")
    print(_describe_charter(trial.charter))
    return 0


def _worklist_generate(args: argparse.Namespace) -> int:
    from db.services import generate_worklist

    database = open_database(args)
    actor = login(database, args)
    readers = [r.strip() for r in args.readers.split(",")] if args.readers else None
    report = generate_worklist(database, actor, args.seed, readers=readers)
    print(f"worklist: {report.n_scans} scan(s), {report.n_tasks} task(s), seed {report.seed}")
    for name, n in sorted(report.tasks_per_reader.items()):
        print(f"  {name}: {n}")
    return 0


def _worklist_show(args: argparse.Namespace) -> int:
    from db.services import adjudication_queue, worklist

    database = open_database(args)
    actor = login(database, args)
    if actor.role == "adjudicator":
        for item in adjudication_queue(database, actor):
            print(f"adjudication\t{item.case_code}\t{item.status}")
    if actor.role in ("reader", "adjudicator"):
        for task in worklist(database, actor):
            print(f"{task.order_index + 1}\t{task.case_code}\t{task.status}")
        return 0
    raise CommandError("worklist show lists a reader's or adjudicator's own cases: give --user READER")


def _lock(args: argparse.Namespace) -> int:
    from db.services import lock_database

    database = open_database(args)
    actor = login(database, args)
    view = lock_database(database, actor, args.override_reason)
    print(f"database locked at {view.locked_at} by {view.locked_by}"
          + (f" with {view.open_tasks} open task(s): {view.override_reason}" if view.open_tasks else ""))
    return 0


def _unblind(args: argparse.Namespace) -> int:
    from db.services import unblind

    database = open_database(args)
    actor = login(database, args)
    report = unblind(database, actor, args.randomization)
    arms = ", ".join(f"{arm} {n}" for arm, n in sorted(report.arms.items()))
    print(f"unblinded {report.n_subjects} subject(s): {arms}")
    if report.unknown_subjects:
        print(f"listed without scans (not stored): {', '.join(report.unknown_subjects)}")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from db.services import read_anchor, verify_audit_trail

    anchor = read_anchor(args.anchor) if args.anchor else None  # a bad file: exit 2 before opening the db
    if args.trust:
        from db.services import verify_trust

        fingerprint = args.trust.strip().lower()
        if len(fingerprint) != 64 or any(c not in "0123456789abcdef" for c in fingerprint):
            raise CommandError("--trust takes the 64-hex fingerprint printed when the first manager was created")
        report = verify_trust(open_database(args, upgrade=False), fingerprint, anchor)
        print(report.describe())
        return 0 if report.ok else 1
    result = verify_audit_trail(open_database(args), anchor)
    print(result.describe())
    return 0 if result.ok else 1


def _audit_anchor(args: argparse.Namespace) -> int:
    from db.services import audit_anchor, write_anchor

    anchor = audit_anchor(open_database(args))
    path = write_anchor(anchor, args.out)
    print(f"audit trail anchored at event {anchor.event_id} ({anchor.hash[:16]}...), trust root "
          f"{anchor.trust_root or 'none'}, in {path}; "
          "keep it outside the database and check later with `lungread audit verify --anchor`")
    return 0


def _export_reads(args: argparse.Namespace) -> int:
    from db.services import dictionary_path, export_reads_csv

    database = open_database(args)
    actor = login(database, args)
    out = export_reads_csv(database, actor, args.out)
    print(f"wrote {out} and {dictionary_path(out)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p_db = subparsers.add_parser("db", help="create or upgrade the reading database")
    db_sub = p_db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    for name, text in (("init", "create a new database (or open an existing one)"),
                       ("upgrade", "run the schema migrations up to the newest revision")):
        p = db_sub.add_parser(name, help=text)
        add_database_options(p, user=False)
        if name == "init":
            p.add_argument("--manager", metavar="NAME", help="also create the first manager, whose key is the "
                           f"trial's root key (password: prompt or ${NEW_PASSWORD_ENV}); prints its fingerprint")
            p.add_argument("--image-store", metavar="FOLDER", help="the folder that holds the de-identified copy of "
                           "every imported series (required beside PostgreSQL: a folder every workstation reaches; "
                           "default beside a SQLite file: <file>-images)")
        p.set_defaults(handler=_db_init)

    p_trial = subparsers.add_parser("trial", help="trial scans and reading charter")
    trial_sub = p_trial.add_subparsers(dest="trial_command", metavar="ACTION", required=True)
    p = trial_sub.add_parser("import", help="import scans from a manifest CSV (manager)")
    p.add_argument("manifest")
    add_database_options(p)
    p.set_defaults(handler=_trial_import)
    for name, text, handler in (
        ("intake-report", "per subject and visit: the series imported, its slices, spacing, kernel and intake QC, "
                          "why it was chosen and what was not (manager)", _trial_intake_report),
        ("verify-images", "check every scan's images against the hash recorded at import: missing or changed "
                          "copies, exit 1 (manager)", _trial_verify_images),
        ("store-images", "copy scans imported before the image store (schema 0006) into it, de-identified "
                         "(manager)", _trial_store_images),
    ):
        p = trial_sub.add_parser(name, help=text)
        add_database_options(p)
        p.set_defaults(handler=handler)
    p = trial_sub.add_parser("select-series", help="list the series of a visit's delivery, or read the visit from "
                                                   "another one (manager, audited, before any work on it)")
    p.add_argument("subject")
    p.add_argument("visit")
    p.add_argument("--series-uid", metavar="UID", help="the series to read instead (omit: list the candidates)")
    p.add_argument("--reason", help="why (required with --series-uid)")
    add_database_options(p)
    p.set_defaults(handler=_trial_select_series)
    p = trial_sub.add_parser("charter", help="show the reading charter, or change it before the first signed read "
                                             "(manager, with --reason)")
    p.add_argument("--threshold", type=float, metavar="POINTS",
                   help="adjudicate when |delta lesion %%| is above this many percentage points")
    p.add_argument("--normal-disagreement", choices=("yes", "no"), help="adjudicate when the normal-CT calls differ")
    p.add_argument("--concordant", choices=("mean", "reader1"), help="endpoint value of a concordant pair")
    p.add_argument("--visits", metavar="V1,V2,...", help="visit schedule in order (empty string: any visit)")
    p.add_argument("--treatment-arm", metavar="ARM", help="treatment arm as the randomisation list spells it "
                   "(empty string: name it at analysis time)")
    p.add_argument("--control-arm", metavar="ARM", help="control arm (between-arm figures are treatment - control)")
    p.add_argument("--primary-visit", metavar="VISIT", help="visit of the primary endpoint, the change from "
                   "baseline in lesion %% (empty string: the first visit after baseline)")
    p.add_argument("--multiplicity", choices=("holm", "hierarchy", "none"),
                   help="adjustment of the secondary p values (default holm)")
    p.add_argument("--sequential-reading", choices=("yes", "no"),
                   help="show a follow-up's reader the same subject's baseline scan, read-only, beside it")
    p.add_argument("--mitt-rule", choices=tuple(MITT_RULES), help="who is in the mITT analysis population: "
                   + "; ".join(f"{k}: {v}" for k, v in MITT_RULES.items()) + f" (default {DEFAULT_MITT_RULE})")
    p.add_argument("--reason", metavar="TEXT", help="why the charter changes (audited)")
    add_database_options(p)
    p.set_defaults(handler=_trial_charter)

    p_wl = subparsers.add_parser("worklist", help="reading worklist")
    wl_sub = p_wl.add_subparsers(dest="worklist_command", metavar="ACTION", required=True)
    p = wl_sub.add_parser("generate", help="assign every scan to 2 readers in shuffled order (manager)")
    p.add_argument("--seed", type=int, default=None, help="shuffle seed (stored; random if omitted)")
    p.add_argument("--readers", default=None, help="comma-separated usernames (default: all reader accounts)")
    add_database_options(p)
    p.set_defaults(handler=_worklist_generate)
    p = wl_sub.add_parser("show", help="what a reader may see: their own case codes and states")
    add_database_options(p)
    p.set_defaults(handler=_worklist_show)

    p = subparsers.add_parser("lock", help="lock the database (manager; every task done or an override reason)")
    p.add_argument("--override-reason", default=None)
    add_database_options(p)
    p.set_defaults(handler=_lock)

    p = subparsers.add_parser("unblind", help="load the randomization list (statistician, after the lock)")
    p.add_argument("randomization")
    add_database_options(p)
    p.set_defaults(handler=_unblind)

    p_audit = subparsers.add_parser("audit", help="audit trail")
    audit_sub = p_audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    p = audit_sub.add_parser("verify", help="check the hash chain: exit 0 intact, 1 broken (prints the first broken event)")
    p.add_argument("--anchor", metavar="FILE", help="also check the trail still holds the event anchored in FILE "
                   "(audit_anchor.json of an export, or `audit anchor`): catches deleted newest events")
    p.add_argument("--trust", metavar="FINGERPRINT", help="also verify every signature back to the trial's root key "
                   "and that reads, roles, scans, charter, lock and unblinding equal their last signed state "
                   "(each difference reported by table and row; exit 1)")
    add_database_options(p, user=False)
    p.set_defaults(handler=_audit_verify)
    p = audit_sub.add_parser("anchor", help="write the trail's newest event id and hash to a file kept outside "
                                            "the database (exports write one too)")
    p.add_argument("--out", required=True, metavar="FILE", help="anchor file (a folder gets audit_anchor.json)")
    add_database_options(p, user=False)
    p.set_defaults(handler=_audit_anchor)

    export_sub = export_subcommands(subparsers)
    p = export_sub.add_parser("reads", help="every read revision to CSV (superseded ones flagged), with a "
                                            "data dictionary (manager; statistician after unblinding)")
    p.add_argument("out")
    add_database_options(p)
    p.set_defaults(handler=_export_reads)
