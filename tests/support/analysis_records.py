"""Plain endpoint records and read pairs for the analysis tests: a two-arm trial with a planted effect."""

from __future__ import annotations

import numpy as np

from quant.analysis.tables import EndpointRecord, ReadPair

#: (visit name, visit number, study day)
VISITS = [("BASELINE", 0, 1), ("DAY10", 1, 10), ("MONTH12", 6, 365)]

def trial_records(seed: int = 1, n_msc: int = 10, n_pbo: int = 6, blinded: bool = False) -> list[EndpointRecord]:
    rng = np.random.default_rng(seed)
    recs = []
    read_id = 1
    for i in range(n_msc + n_pbo):
        arm = "MSC" if i < n_msc else "Placebo"
        base = rng.uniform(10, 40)
        for visit, vnum, day in VISITS:
            effect = 0.0 if vnum == 0 else (-8.0 if arm == "MSC" else -2.0) * vnum ** 0.3
            les = max(base + effect + rng.normal(0, 2), 0.0)
            subject = f"S{i:03d}"
            missing = subject == "S002" and visit == "DAY10"
            recs.append(
                EndpointRecord(
                    subject=subject,
                    arm=None if blinded else arm,
                    visit=visit,
                    visit_num=vnum,
                    visit_day=day,
                    lesion_pct=None if missing else float(les),
                    solid_pct=None if missing else float(les * 0.3),
                    normal_ct=None if missing else bool(les < 15),
                    source_read_ids=(read_id, read_id + 1),
                    missing_reason="not evaluable: motion" if missing else None,
                )
            )
            read_id += 2
    return recs


def read_pairs() -> list[ReadPair]:
    rng = np.random.default_rng(4)
    out = []
    for i in range(30):
        truth = rng.uniform(0, 40)
        a, b = ("alice", "bob") if i % 2 else ("bob", "alice")
        la = truth + rng.normal(0, 1) + (1.0 if a == "alice" else 0.0)
        lb = truth + rng.normal(0, 1) + (1.0 if b == "alice" else 0.0)
        out.append(ReadPair(i, a, b, la, lb, la < 12, lb < 12, abs(la - lb) > 2.0))
    out.append(ReadPair(99, "carol", "alice", None, 5.0, None, True, False))  # not evaluable read
    return out
