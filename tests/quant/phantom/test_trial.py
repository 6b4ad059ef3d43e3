"""The synthetic trial: files, 2:1 randomisation kept apart from the manifest, planted effect."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from quant.phantom import DEFAULT_VISITS, PhantomError, make_trial
from quant.phantom.trial import VISIT_DAYS, lesion_trajectory, plan_trial


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_default_visits_follow_the_model_trial():
    assert DEFAULT_VISITS == ("BASELINE", "DAY10", "DAY28", "MONTH3", "MONTH6", "MONTH9", "MONTH12")
    assert [VISIT_DAYS[v] for v in DEFAULT_VISITS] == [0, 10, 28, 90, 180, 270, 365]


def test_randomisation_is_two_to_one_in_blocks():
    plans = plan_trial(99, seed=4)
    arms = [p.arm for p in plans]
    assert arms.count("MSC") == 66 and arms.count("Placebo") == 33
    for i in range(0, 99, 3):
        assert sorted(arms[i : i + 3]) == ["MSC", "MSC", "Placebo"]
    assert [p.code for p in plans[:3]] == ["S001", "S002", "S003"]
    assert plan_trial(99, seed=4) == plans


def test_planted_effect_matches_the_model_trial():
    plans = plan_trial(300, seed=1)
    change = {"MSC": [], "Placebo": []}
    normal = {"MSC": [], "Placebo": []}
    for p in plans:
        change[p.arm].append(lesion_trajectory(p, 10) - lesion_trajectory(p, 0))
        normal[p.arm].append(lesion_trajectory(p, 365) == 0.0)
        b = lesion_trajectory(p, 0)
        assert 10 <= b <= 40
        # Regression over follow-up (never a rebound above baseline).
        assert all(lesion_trajectory(p, d) <= b * 1.15 for d in VISIT_DAYS.values())
    diff = np.median(change["MSC"]) - np.median(change["Placebo"])
    assert -13 <= diff <= -8
    assert np.mean(normal["MSC"]) == pytest.approx(0.18, abs=0.02)
    assert not any(normal["Placebo"])
    # Placebo residual lesions stay clearly above a normal-CT cut-off.
    assert min(lesion_trajectory(p, 365) for p in plans if p.arm == "Placebo") >= 1.0


def test_make_trial_writes_scans_manifest_and_separate_randomisation(tmp_path):
    calls = []
    files = make_trial(
        tmp_path / "trial", subjects=6, visits=("BASELINE", "DAY10"), seed=0, workers=1,
        progress=lambda i, n: calls.append((i, n)),
    )
    assert files.root == tmp_path / "trial"
    manifest = _rows(files.manifest)
    randomisation = _rows(files.randomization)
    assert files.manifest.parent == files.randomization.parent == files.root
    assert list(manifest[0]) == ["subject", "visit", "visit_day", "series_folder", "study_date"]
    assert "arm" not in manifest[0] and all("MSC" not in ",".join(r.values()) for r in manifest)
    assert list(randomisation[0]) == ["subject", "arm"]
    arms = {r["subject"]: r["arm"] for r in randomisation}
    assert sorted(arms.values()).count("MSC") == 4 and sorted(arms.values()).count("Placebo") == 2
    assert len(manifest) == 12 and calls[-1] == (12, 12)

    pct: dict[tuple[str, str], float] = {}
    for row in manifest:
        series = files.root / row["series_folder"]
        assert len(list(series.glob("*.dcm"))) == 80
        doc = json.loads((series.parent / "truth.json").read_text())
        assert doc["phi"]["StudyDate"] == row["study_date"].replace("-", "")
        assert "arm" not in json.dumps(doc).lower().replace("pharm", "")
        pct[(row["subject"], row["visit"])] = doc["truth"]["lesion_pct"]
        assert (series.parent / "truth.npz").is_file()
    # Same patient at every visit: identical name and ID, different accession numbers.
    s1 = [json.loads((files.root / r["series_folder"]).parent.joinpath("truth.json").read_text())["phi"]
          for r in manifest if r["subject"] == "S001"]
    assert s1[0]["PatientID"] == s1[1]["PatientID"] and s1[0]["PatientName"] == s1[1]["PatientName"]
    assert s1[0]["AccessionNumber"] != s1[1]["AccessionNumber"]

    change = {"MSC": [], "Placebo": []}
    for subject, arm in arms.items():
        change[arm].append(pct[(subject, "DAY10")] - pct[(subject, "BASELINE")])
    diff = np.median(change["MSC"]) - np.median(change["Placebo"])
    assert -15 <= diff <= -5


def test_trial_rejects_bad_arguments(tmp_path):
    with pytest.raises(PhantomError):
        make_trial(tmp_path, subjects=0)
    with pytest.raises(PhantomError):
        make_trial(tmp_path, subjects=2, visits=("WEEK7",))


@pytest.mark.parametrize("seed", range(6))
def test_two_subject_trial_has_both_arms(seed):
    """The smallest demo (``lungread demo --headless --subjects 2``) compares one subject per arm."""
    assert sorted(p.arm for p in plan_trial(2, seed=seed)) == ["MSC", "Placebo"]
    assert plan_trial(2, seed=seed) == plan_trial(2, seed=seed)
