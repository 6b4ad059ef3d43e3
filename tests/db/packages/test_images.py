"""Package images written by worker processes are the same as written in one process: same
de-identified UIDs, same file contents (hashes), same order; a missing source is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.packages.errors import PackageError
from db.packages.images import SeriesJob, write_package_images
from tests.support.db_trial import write_mini_trial


def _jobs(root: Path) -> list[SeriesJob]:
    trial = write_mini_trial(root, ["S1", "S2"], ["V1", "V2"])
    jobs = []
    for i, folder in enumerate(sorted(trial.root.glob("S*/V*/dicom"))):
        jobs.append(SeriesJob(f"CASE{i}", tuple(sorted(folder.iterdir()))))
    return jobs


def test_workers_write_what_one_process_writes(tmp_path):
    jobs = _jobs(tmp_path / "trial")
    key = b"k" * 32
    seen = []
    one, files_one = write_package_images(jobs, tmp_path / "one", key, workers=1)
    two, files_two = write_package_images(jobs, tmp_path / "two", key, lambda d, t: seen.append((d, t)), workers=2)
    assert [t["case_code"] for t in two] == [j.case_code for j in jobs]
    strip = [{k: v for k, v in t.items() if k != "folder"} for t in one]
    assert strip == [{k: v for k, v in t.items() if k != "folder"} for t in two]
    assert sorted(files_one.values()) == sorted(files_two.values()) and len(files_two) == sum(len(j.sources) for j in jobs)
    assert all((tmp_path / "two" / rel).is_file() for rel in files_two)
    total = sum(len(j.sources) for j in jobs)
    assert len(seen) == len(jobs) and seen[-1] == (total, total)


def test_missing_source_is_named(tmp_path):
    jobs = _jobs(tmp_path / "trial")
    jobs[1].sources[0].unlink()
    with pytest.raises(PackageError, match=f"images of case {jobs[1].case_code} are missing"):
        write_package_images(jobs, tmp_path / "out", b"k" * 32, workers=2)
