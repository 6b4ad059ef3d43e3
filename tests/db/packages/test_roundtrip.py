"""Offline reading packages, end to end on a small phantom trial (issue 8, round trip test).

Export packages for reader1 (folder) and reader2 (zip) -> both read offline, signing through the
normal services against the package databases -> import both -> adjudication tasks exist exactly
for the discordant pairs, drafts are not merged, the master audit trail verifies, and a second
import changes nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from db.models import AdjudicationTask, AuditEvent, Read, ReadTask, Scan
from db.packages.export import export_package
from db.packages.merge import import_package
from db.packages.open import open_package, package_root
from db.services import authenticate, open_task, trust_root, verify_audit_trail, verify_trust, worklist
from tests.support.db_trial import PASSWORD
from tests.support.packages import build_master, scan_of_case, sign_offline, snapshot
from tests.support.postgres_server import postgres_server, postgres_url  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def phantom_trial(tmp_path_factory: pytest.TempPathFactory):
    from quant.phantom import make_trial

    return make_trial(tmp_path_factory.mktemp("trial"), subjects=2, visits=("BASELINE", "DAY10"), seed=5, workers=1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def master_url(request: pytest.FixtureRequest, tmp_path: Path):
    """The master database: a SQLite file, or a fresh database on the test PostgreSQL server
    (packages themselves are always SQLite)."""
    if request.param == "sqlite":
        return tmp_path / "master.sqlite"
    return request.getfixturevalue("postgres_url")


@pytest.mark.slow  # make_trial writes 4 phantom series (~128x128x80) and both packages de-identify them
def test_round_trip_two_readers(phantom_trial, master_url, tmp_path: Path) -> None:
    from quant.dicom.load import load_series

    master = build_master(master_url, phantom_trial.manifest)
    assert master.db.dialect == ("sqlite" if isinstance(master_url, Path) else "postgresql")
    case_scan = scan_of_case(master.db)
    p1 = export_package(master.db, master.boss, "r1", tmp_path / "pkg_r1")
    p2 = export_package(master.db, master.boss, "r2", tmp_path / "pkg_r2", zip_package=True)
    assert p1.path.is_dir() and p2.path.suffix == ".zip" and p1.n_tasks == 4 and p2.n_tasks == 4

    # The package opens offline: the reader's worklist, and images that load with the same HU.
    pkg = open_package(p1.path)
    try:
        actor = authenticate(pkg, "r1", PASSWORD)
        tasks = worklist(pkg, actor)
        manifest = json.loads((p1.path / "manifest.json").read_text())["body"]
        assert sorted(t.case_code for t in tasks) == sorted(t["case_code"] for t in manifest["tasks"])
        case = open_task(pkg, actor, tasks[0].task_id)
        offline = load_series(case.series_dir)
        scan = master.db.read(lambda s: s.get(Scan, case_scan[case.case_code]))
        original = load_series(Path(scan.folder))
        assert np.array_equal(offline.hu, original.hu) and np.allclose(offline.spacing, original.spacing)
    finally:
        pkg.dispose()

    # Reader 1: 10 % everywhere, one case left as a draft. Reader 2: discordant on even scan ids.
    r1_codes = [t.case_code for t in tasks]
    draft_case = r1_codes[-1]
    s1 = sign_offline(p1.path, "r1", lambda code: 10.0, draft_only={draft_case})
    s2 = sign_offline(p2.path, "r2", lambda code: 20.0 if case_scan[code] % 2 == 0 else 11.0, seed=50)
    assert len(s1) == 3 and len(s2) == 4

    # Reader 2 opened the zip (extracted beside it) and sends the worked package back zipped.
    returned = shutil.make_archive(str(tmp_path / "returned_r2"), "zip", package_root(p2.path))
    rep1 = import_package(master.db, master.boss, p1.path)
    rep2 = import_package(master.db, master.boss, returned)
    assert sorted(rep1.merged) == sorted(s1) and rep1.unsigned == (draft_case,)
    assert sorted(rep2.merged) == sorted(s2)
    assert rep1.events_merged > 0 and rep2.events_merged > 0

    def state(s):
        signed = {t.case_code: t.status for t in s.scalars(select(ReadTask))}
        adj_scans = sorted(a.scan_id for a in s.scalars(select(AdjudicationTask)))
        reads = {(r.task_id, r.status, r.lesion_pct) for r in s.scalars(select(Read))}
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        return signed, adj_scans, reads, actions

    statuses, adj_scans, reads, actions = master.db.read(state)
    assert statuses[draft_case] == "new"  # the offline draft was not merged
    assert all(statuses[c] == "signed" for c in list(s1) + list(s2))
    # Both reads signed and |Δ lesion %| = 10 > 5 on even scans; 1 point on odd ones.
    both = {case_scan[c] for c in s1} & {case_scan[c] for c in s2}
    assert adj_scans == sorted(sid for sid in both if sid % 2 == 0) and adj_scans
    assert len(reads) == 7 and {r[1] for r in reads} == {"signed"}
    assert actions.count("export") == 2 and actions.count("import") == 2 and actions.count("import_sign") == 7
    assert "package_event" in actions
    assert verify_audit_trail(master.db).ok
    trusted = verify_trust(master.db, trust_root(master.db))  # offline signatures checked to the root key
    assert trusted.ok, trusted.describe()

    before = snapshot(master.db)
    again = import_package(master.db, master.boss, p1.path)
    assert not again.changed and sorted(again.unchanged) == sorted(s1)
    assert snapshot(master.db) == before
