"""E-signature benchmark: signing a read, and ``audit verify --trust`` on a 100-subject trial.

Goals (issue 17): sign_read <= 150 ms (median, password re-entry included); ``audit verify
--trust`` of a 100-subject trial <= 10 s. Also prints what an offline password guess costs against
a reading package (the wrapped key's scrypt) and against the master's login verifier.

The trial is built through the services, so every event is really signed: 100 subjects x 3
visits of tiny CT series (6 x 16 x 16), two readers who sign every scan (one in five discordant,
so adjudicated), then lock and unblinding.

Run: ``.venv/bin/python benchmarks/trust.py [--subjects N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import db  # noqa: E402
from db.security import keys, passwords  # noqa: E402
from db.services import (  # noqa: E402
    ADJUDICATION_REASONS,
    ReadInput,
    adjudication_queue,
    authenticate,
    create_user,
    decide_adjudication,
    generate_worklist,
    import_manifest,
    lock_database,
    sign_read,
    trust_root,
    unblind,
    verify_trust,
    worklist,
)
from quant.analysis.csv_cells import write_csv_rows  # noqa: E402

PASSWORD = "benchmark-pass"
VISITS = ("BASELINE", "DAY10", "DAY28")


def write_trial(root: Path, n_subjects: int) -> tuple[Path, Path]:
    from quant.dicom.write import write_series
    from quant.volume import Volume

    rng = np.random.default_rng(0)
    rows = []
    for s in range(n_subjects):
        for v, visit in enumerate(VISITS):
            out = root / f"S{s:03d}" / visit
            out.mkdir(parents=True)
            write_series(Volume(rng.integers(-1000, 100, (6, 16, 16)).astype(np.int16), (2.5, 1.5, 1.5)), out,
                         seed=s * 10 + v)
            rows.append({"subject": f"S{s:03d}", "visit": visit, "visit_day": str((0, 10, 28)[v]),
                         "series_folder": str(out)})
    manifest = write_csv_rows(root / "manifest.csv", list(rows[0]), rows)
    randomization = root / "randomization.csv"
    randomization.write_text("subject,arm\n" + "".join(f"S{s:03d},{('ACTIVE', 'PLACEBO')[s % 2]}\n"
                                                        for s in range(n_subjects)))
    return manifest, randomization


def read(pct: float) -> ReadInput:
    return ReadInput(metrics={"lesion_pct": pct, "solid_pct": pct / 4}, normal_ct=False, confidence=4,
                     algorithm_version="bench", protocol_hash="0" * 64)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, default=100)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} (timings scale with contention)")
    for name, n, derive in (
            ("login verifier (master database only)", passwords.SCRYPT_N, lambda: passwords.hash_password("guess")),
            ("wrapped signing key (what a reading package holds)", keys.SCRYPT_N,
             lambda: keys._derive("guess", b"0" * 16, keys.SCRYPT_N, keys.SCRYPT_R, keys.SCRYPT_P))):
        took = statistics.median(_time(derive, 3))
        print(f"offline password guess against the {name}: scrypt N=2^{n.bit_length() - 1}, {took * 1000:.0f} ms "
              f"= {1 / took:.1f} guesses/s on one core")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        manifest, randomization = write_trial(root / "trial", args.subjects)
        database = db.connect(root / "trial.sqlite")
        create_user(database, None, "boss", "manager", PASSWORD)
        boss = authenticate(database, "boss", PASSWORD)
        for name, role in (("r1", "reader"), ("r2", "reader"), ("adj", "adjudicator"), ("stat", "statistician")):
            create_user(database, boss, name, role, PASSWORD)
        assert import_manifest(database, boss, manifest).ok
        generate_worklist(database, boss, seed=1, readers=["r1", "r2"])
        sign_times = []
        for name in ("r1", "r2"):
            actor = authenticate(database, name, PASSWORD)
            for i, task in enumerate(worklist(database, actor)):
                pct = 10.0 + (20.0 if name == "r2" and i % 5 == 0 else 0.0)
                t1 = time.perf_counter()
                sign_read(database, actor, task.task_id, read(pct), PASSWORD, "I am the author of this read")
                sign_times.append(time.perf_counter() - t1)
        adj = authenticate(database, "adj", PASSWORD)
        for item in adjudication_queue(database, adj):
            decide_adjudication(database, adj, item.adjudication_id, "A", PASSWORD, "I adjudicated this case",
                                reason=ADJUDICATION_REASONS[0], rationale="benchmark")
        lock_database(database, boss)
        unblind(database, authenticate(database, "stat", PASSWORD), randomization)
        built = time.perf_counter() - t0
        fingerprint = trust_root(database)
        assert fingerprint is not None
        times = []
        for _ in range(3):
            t1 = time.perf_counter()
            report = verify_trust(database, fingerprint)
            times.append(time.perf_counter() - t1)
            assert report.ok, report.describe()
        print(f"sign_read (password re-entry, signature, adjudication check): median "
              f"{statistics.median(sign_times) * 1000:.0f} ms over {len(sign_times)} reads (max "
              f"{max(sign_times) * 1000:.0f}); goal <= 150 ms")
        print(f"audit verify --trust of a {args.subjects}-subject trial ({report.n_events} events, {report.n_signed} "
              f"signed, {report.n_rows} signed rows): median {statistics.median(times):.2f} s over 3 runs; "
              f"goal <= 10 s (trial built in {built:.0f} s)")
        database.dispose()
    return 0


def _time(fn, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


if __name__ == "__main__":
    sys.exit(main())
