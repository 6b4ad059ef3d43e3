"""End to end: ``lungread demo --headless`` on a small phantom trial, then every export checked.

The demo (9 subjects x BASELINE/DAY10, seed 3) builds the phantom trial, imports it, lets two
simulated readers correct the automatic segmentation and sign, adjudicates, locks, unblinds and
exports. The tests then read the files back (CSV, PNG, PDF, DICOM SEG, NIfTI) and the database.
The access rules are checked on a second, image-free-reads database built from the same trial.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import REPO_ROOT
from tests.support.required_tools import dciodvfy_errors

SUBJECTS, VISITS, SEED = 9, 2, 3
# The randomisation list spells the arms its own way (issue 16): the analysis must take them from
# the data, not assume "MSC" and "Placebo".
TREATMENT, CONTROL = "UC-MSC", "placebo"
PASSWORD = "lungread"

pytestmark = pytest.mark.slow


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _f(text: str) -> float | None:
    return float(text) if text != "" else None


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Run the headless demo through the CLI entry point; returns (out dir, stdout)."""
    from desktop.cli.main import main

    out = tmp_path_factory.mktemp("demo") / "run"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["demo", "--headless", "--out", str(out), "--subjects", str(SUBJECTS),
                   "--visits", str(VISITS), "--seed", str(SEED), "--arms", f"{TREATMENT},{CONTROL}"])
    assert rc == 0
    return out, buf.getvalue()


@pytest.fixture(scope="module")
def manifest(demo):
    out, _ = demo
    rows = _csv(out / "trial" / "manifest.csv")
    arms = {r["subject"]: r["arm"] for r in _csv(out / "trial" / "randomization.csv")}
    for r in rows:
        r["arm"] = arms[r["subject"]]
        r["truth"] = json.loads((out / "trial" / r["series_folder"]).parent.joinpath("truth.json").read_text())["truth"]
    return rows


def test_stdout_has_the_endpoint_table(demo):
    _, stdout = demo
    assert f"Lesion volume, % of whole-lung volume (%): {TREATMENT} - {CONTROL}" in stdout
    assert any(line.startswith("DAY10") and " CHG " in line for line in stdout.splitlines())


def test_every_export_exists_and_parses(demo):
    from PIL import Image

    exports = demo[0] / "exports"
    for name in ("reads", "adqct", "endpoints", "agreement"):
        rows = _csv(exports / f"{name}.csv")
        assert rows, name
        dictionary = _csv(exports / f"{name}.dictionary.csv")
        # the data dictionary documents exactly the file's columns, in order, with a description
        assert [d["column"] for d in dictionary] == list(rows[0].keys())
        assert all(d["type"] and d["description"] for d in dictionary)
    figures = sorted(p.name for p in (exports / "figures").glob("*.png"))
    assert figures == sorted(f"{n}.png" for n in
                             ("lespct_by_visit", "solpct_by_visit", "lespct_change", "solpct_change", "bland_altman"))
    for png in (exports / "figures").glob("*.png"):
        with Image.open(png) as im:
            assert im.size[0] > 300 and im.size[1] > 200
            assert len(np.unique(np.asarray(im.convert("L")))) > 10  # something was drawn
    pdf = (exports / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    # cover + 5 figures + at least one table page
    assert len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf)) >= 7
    assert list((exports / "masks").glob("*.seg.dcm")) and list((exports / "masks").glob("*_lesion.nii.gz"))


def test_report_pdf_read_as_a_person_reads_it(demo, tmp_path):
    """The report rendered by poppler (what a PDF viewer shows): every page has ink, and the cover
    and population page say everything a statistician signs off on (issue 16)."""
    from PIL import Image

    from tests.support.required_tools import require_program

    pdf = demo[0] / "exports" / "report.pdf"
    pages = subprocess.run([require_program("pdftotext"), "-layout", str(pdf), "-"], capture_output=True,
                           text=True, timeout=120, check=True).stdout.split("\f")
    pages = [p for p in pages if p.strip()]
    cover = " ".join(pages[0].split())  # wrapped lines joined
    for item in (r"Study LUNGREAD-DEMO; LungRead \S+; report made \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
                 r"Segmentation of the signed reads: lungread-seg-\S+ \(protocol [0-9a-f]{12}\)",
                 r"Charter: concordant pairs by mean; adjudication when", r"mITT: randomised, with an evaluable",
                 r"Database locked \S+ \S+ UTC by manager", r"Unblinded \S+ \S+ UTC by statistician with",
                 r"Audit trail head when analysed: event \d+, hash [0-9a-f]{64}",
                 rf"Population \(randomised / with scans / mITT\): {TREATMENT} \d+/\d+/\d+; {CONTROL}",
                 r"Endpoints: LESPCT = Lesion volume", r"NORMCT = Normal CT",
                 rf"Primary endpoint: change from baseline in lesion % at \S+, {TREATMENT} - {CONTROL}, Wilcoxon p",
                 r"Sensitivity \(worst rank, all \d+ randomised", r"Secondary: \d+ test\(s\), p values Holm-adjusted"):
        assert re.search(item, cover), item
    assert all(re.search(rf"page {i} of {len(pages)}", page) for i, page in enumerate(pages, start=1))
    text = "\n".join(pages)
    assert "Population, CONSORT-style counts per arm" in text and "in mITT (analysed)" in text
    assert "sensitivity: worst rank, all randomised" in text and "icc_2_1_subject_bootstrap" in text
    assert re.search(r"study day \(square-root scale\)", text) and re.search(rf"n {TREATMENT}", text)
    assert re.search(r"reader1 - reader2 \(percentage points\)", text)  # Bland-Altman names the readers
    subprocess.run([require_program("pdftoppm"), "-r", "30", "-png", str(pdf), str(tmp_path / "page")],
                   timeout=120, check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == len(pages)
    for png in rendered:
        with Image.open(png) as im:
            assert np.asarray(im.convert("L")).min() < 128  # dark ink on the page


def test_reads_csv_has_every_revision(demo, manifest):
    reads = _csv(demo[0] / "exports" / "reads.csv")
    n_scans = len(manifest)
    independent = [r for r in reads if r["read_kind"] in ("reader1", "reader2")]
    # each reader saved the automatic result as a draft (revision 1), then signed revision 2
    assert len(independent) == 2 * 2 * n_scans
    for r in independent:
        assert (r["revision"], r["status"], r["superseded"]) in {("1", "draft", "true"), ("2", "signed", "false")}
        assert r["arm"] in (TREATMENT, CONTROL)
    assert {r["reader"] for r in independent} == {"reader1", "reader2"}
    sources = [r for r in reads if r["endpoint_source"] == "true"]
    assert all(r["status"] == "signed" for r in sources)


def test_adqct_one_row_per_subject_visit_parameter_and_chg(demo, manifest):
    rows = _csv(demo[0] / "exports" / "adqct.csv")
    keys = [(r["USUBJID"], r["AVISIT"], r["PARAMCD"]) for r in rows]
    assert len(keys) == len(set(keys))
    study = rows[0]["STUDYID"]
    expected = {(f"{study}-{m['subject']}", m["visit"], p) for m in manifest for p in ("LESPCT", "SOLPCT", "NORMCT")}
    assert set(keys) == expected  # every scan has a value for every parameter in this demo
    arm_of = {f"{study}-{m['subject']}": m["arm"] for m in manifest}
    base = {(r["USUBJID"], r["PARAMCD"]): float(r["AVAL"]) for r in rows if r["ABLFL"] == "Y"}
    for r in rows:
        assert r["TRT01P"] == arm_of[r["USUBJID"]]
        if r["PARAMCD"] == "NORMCT":
            assert r["AVAL"] in ("0", "1") and r["CHG"] == ""
            continue
        aval, b, chg = float(r["AVAL"]), float(r["BASE"]), float(r["CHG"])
        assert b == base[(r["USUBJID"], r["PARAMCD"])]
        assert chg == aval - b  # exact: written with repr, computed as AVAL - BASE
        assert float(r["PCHG"]) == pytest.approx(100 * chg / b, rel=1e-12)
        assert r["ABLFL"] == ("Y" if r["AVISIT"] == "BASELINE" else "")


def test_endpoint_values_trace_to_reads(demo):
    """Concordant scans: AVAL = mean of the two signed reads; adjudicated: the chosen read, which
    is the read closer to the phantom's truth."""
    exports = demo[0] / "exports"
    reads = {r["read_id"]: r for r in _csv(exports / "reads.csv")}
    for row in _csv(exports / "adqct.csv"):
        if row["PARAMCD"] != "LESPCT":
            continue
        ids = row["SRCREAD"].split(";")
        src = [reads[i] for i in ids]
        assert all(s["status"] == "signed" and s["endpoint_source"] == "true" for s in src)
        assert len(ids) in (1, 2)
        expected = float(np.mean([float(s["lesion_pct"]) for s in src]))
        assert float(row["AVAL"]) == pytest.approx(expected, rel=1e-12)
        assert src[0]["endpoint_status"] == ("concordant" if len(ids) == 2 else "adjudicated")


def test_adjudicator_picked_the_read_closer_to_truth(demo, manifest):
    reads = _csv(demo[0] / "exports" / "reads.csv")
    truth = {(m["subject"], m["visit"]): m["truth"]["lesion_pct"] for m in manifest}
    by_scan = defaultdict(list)
    for r in reads:
        if r["status"] == "signed" and r["read_kind"] != "adjudicator":
            by_scan[(r["subject"], r["visit"])].append(r)
    for key, pair in by_scan.items():
        if pair[0]["endpoint_status"] != "adjudicated":
            continue
        chosen = [r for r in pair if r["endpoint_source"] == "true"]
        other = [r for r in pair if r["endpoint_source"] == "false"]
        assert len(chosen) == 1 and len(other) == 1
        err = lambda r: abs(float(r["lesion_pct"]) - truth[key])  # noqa: E731
        assert err(chosen[0]) <= err(other[0])


def test_agreement_table(demo):
    rows = _csv(demo[0] / "exports" / "agreement.csv")
    reads = _csv(demo[0] / "exports" / "reads.csv")
    stats = {(r["scope"], r["statistic"]): r for r in rows}
    n_scans = len({r["series_uid"] for r in reads})
    assert stats[("all", "icc_2_1")]["n"] == str(n_scans)
    assert 0.9 < float(stats[("all", "icc_2_1")]["estimate"]) <= 1.0
    adjudicated = len({r["series_uid"] for r in reads if r["endpoint_status"] == "adjudicated"})
    assert float(stats[("all", "adjudication_rate")]["estimate"]) == pytest.approx(adjudicated / n_scans)
    assert ("reader1|reader2", "adjudication_rate") in stats
    # per visit: one scan per subject, and the visits together hold every pair
    per_visit = [r for r in rows if r["scope"].startswith("visit ") and r["statistic"] == "icc_2_1"]
    assert len(per_visit) == VISITS and sum(int(r["n"]) for r in per_visit) == n_scans


def test_planted_treatment_effect_is_recovered(demo, manifest):
    """Day 10, change in lesion % from baseline, treatment - control, Hodges-Lehmann shift.

    Reads: from adqct.csv (PARAMCD LESPCT, AVISIT DAY10, CHG by TRT01P), HL with its 95% CI by
    :func:`quant.stats.two_sample.hodges_lehmann` (also checked against endpoints.csv). Truth: the same
    estimator on the phantom's own truth, ``truth.json`` ``lesion_pct`` of each scan, CHG = day 10
    minus the subject's baseline, grouped by randomization.csv. Recovered when
    |HL(reads) - HL(truth)| < half the width of the reads' CI.
    """
    from quant.stats.two_sample import hodges_lehmann

    exports = demo[0] / "exports"
    rows = [r for r in _csv(exports / "adqct.csv") if r["PARAMCD"] == "LESPCT" and r["AVISIT"] == "DAY10"]
    x = [float(r["CHG"]) for r in rows if r["TRT01P"] == TREATMENT]
    y = [float(r["CHG"]) for r in rows if r["TRT01P"] == CONTROL]
    reads = hodges_lehmann(x, y)
    table = {(r["statistic"]): r["value"] for r in _csv(exports / "endpoints.csv")
             if r["section"] == "between_arm" and r["avisit"] == "DAY10" and r["paramcd"] == "LESPCT"
             and r["variable"] == "CHG"}
    assert float(table["hl_estimate"]) == reads.estimate
    assert float(table["hl_ci_low"]) == reads.ci_low and float(table["hl_ci_high"]) == reads.ci_high

    truth = {(m["subject"], m["visit"]): m["truth"]["lesion_pct"] for m in manifest}
    arm = {m["subject"]: m["arm"] for m in manifest}
    chg = {s: truth[(s, "DAY10")] - truth[(s, "BASELINE")] for s in arm}
    truth_hl = hodges_lehmann([c for s, c in chg.items() if arm[s] == TREATMENT],
                              [c for s, c in chg.items() if arm[s] == CONTROL])
    half_width = (reads.ci_high - reads.ci_low) / 2
    assert truth_hl.estimate < -5.0  # the planted effect itself (model trial: -10.8 points)
    assert abs(reads.estimate - truth_hl.estimate) < half_width


def _read_masks(out: Path, read_id: int):
    from db import connect
    from db.models import Read
    from db.workflow.read_store import load_mask

    db = connect(out / "lungread.sqlite")
    try:
        with db.session() as s:
            row = s.get(Read, read_id)
            return load_mask(s, row.lung_mask_sha), load_mask(s, row.lesion_mask_sha)
    finally:
        db.dispose()


def test_dicom_seg_reads_back_and_validates(demo):
    import highdicom as hd

    out = demo[0]
    reads = {r["read_id"]: r for r in _csv(out / "exports" / "reads.csv")}
    seg_path = sorted((out / "exports" / "masks").glob("*.seg.dcm"))[0]
    read_id = int(seg_path.name.split("_read")[1].split(".")[0])
    lung, lesion = _read_masks(out, read_id)
    seg = hd.seg.segread(seg_path)
    assert seg.number_of_segments == 4
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == reads[str(read_id)]["series_uid"]
    uids = [item.ReferencedSOPInstanceUID for item in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence]
    assert len(uids) == lung.shape[0]  # every source slice is referenced
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=[1, 2, 3, 4], assert_missing_frames_are_empty=True
    )  # (source slices, rows, columns, segments)
    assert pixels.shape == (lung.shape[0], lung.shape[1], lung.shape[2], 4)
    # voxel counts per segment equal the stored masks' (frames are the source slices)
    assert int(pixels[..., 0].sum()) == int((lung == 1).sum())
    assert int(pixels[..., 1].sum()) == int((lung == 2).sum())
    assert int(pixels[..., 2].sum()) == int((lesion == 1).sum())
    assert int(pixels[..., 3].sum()) == int((lesion == 2).sum())
    errors = dciodvfy_errors(seg_path)
    assert not errors, errors


def test_nifti_overlays_the_source(demo):
    import nibabel as nib

    from quant.dicom.load import load_series
    from quant.dicom.mask_export import nifti_affine

    out = demo[0]
    reads = {r["read_id"]: r for r in _csv(out / "exports" / "reads.csv")}
    path = sorted((out / "exports" / "masks").glob("*_lesion.nii.gz"))[0]
    read_id = int(path.name.split("_read")[1].split("_")[0])
    r = reads[str(read_id)]
    volume = load_series(sorted((out / "trial" / r["subject"] / r["visit"] / "dicom").glob("*")))
    lung, lesion = _read_masks(out, read_id)
    img = nib.load(path)
    np.testing.assert_allclose(img.affine, nifti_affine(volume), atol=1e-4)
    data = np.asarray(img.dataobj).transpose(2, 1, 0)
    np.testing.assert_array_equal(data, lesion)
    # the lesion voxels sit on lesion-density CT voxels (overlay, not just same shape)
    assert np.median(volume.hu[lesion > 0]) > -800


def test_bulk_dataset_matches_endpoint_service(demo):
    """db.endpoints.dataset resolves endpoints in bulk; it must equal db.endpoints.rule per scan."""
    from db import connect
    from db.endpoints.dataset import analysis_dataset
    from db.services import authenticate, endpoint_table

    db = connect(demo[0] / "lungread.sqlite")
    try:
        stat = authenticate(db, "statistician", PASSWORD)
        ds = analysis_dataset(db, stat)
        table = {(v.subject, v.visit): v for v in endpoint_table(db, stat)}
        assert len(ds.records) == len(table) and ds.unblinded and ds.locked and ds.n_pending == 0
        for rec in ds.records:
            v = table[(rec.subject, rec.visit)]
            assert (rec.lesion_pct, rec.solid_pct, rec.normal_ct, rec.source_read_ids, rec.arm) == \
                (v.lesion_pct, v.solid_pct, v.normal_ct, v.source_read_ids, v.arm)
        assert ds.visits == ("BASELINE", "DAY10")
        assert {r.visit_num for r in ds.records if r.visit == "DAY10"} == {2.0}
    finally:
        db.dispose()


def test_access_rules(demo, manifest, tmp_path, monkeypatch, capsys):
    """A second database of 3 subjects with metric-only reads: who may export what, and when."""
    from db import connect
    from db.errors import PermissionDenied, WorkflowError
    from db.exports.analysis import export_analysis
    from db.exports.masks import export_masks
    from db.exports.reads import export_reads
    from db.services import (
        ReadInput,
        authenticate,
        create_user,
        generate_worklist,
        import_manifest,
        lock_database,
        sign_read,
        unblind,
        worklist,
    )
    from desktop.cli.main import main

    trial = demo[0] / "trial"
    arm_of = {m["subject"]: m["arm"] for m in manifest}
    keep = [s for s in sorted(arm_of) if arm_of[s] == CONTROL][:1] + [s for s in sorted(arm_of) if arm_of[s] == TREATMENT][:2]
    small = tmp_path / "manifest.csv"
    with open(small, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "visit", "visit_day", "series_folder"])
        for m in manifest:
            if m["subject"] in keep:
                w.writerow([m["subject"], m["visit"], m["visit_day"], str(trial / m["series_folder"])])
    url = tmp_path / "access.sqlite"
    db = connect(url)
    try:
        create_user(db, None, "manager", "manager", PASSWORD)
        manager = authenticate(db, "manager", PASSWORD)
        for name, role in (("r1", "reader"), ("r2", "reader"), ("stat", "statistician")):
            create_user(db, manager, name, role, PASSWORD)
        r1, r2, stat = (authenticate(db, n, PASSWORD) for n in ("r1", "r2", "stat"))
        assert import_manifest(db, manager, small).ok
        generate_worklist(db, manager, seed=1)
        from quant.measure import ruler
        from quant.measure import to_json as measurements_json

        measured = measurements_json([ruler((0, 0, 0), (0, 3, 4), (1.0, 1.0, 1.0))])  # 5 mm
        for reader in (r1, r2):
            for task in worklist(db, reader):
                sign_read(db, reader, task.task_id, ReadInput(metrics={"lesion_pct": 10.0 + task.task_id % 3,
                                                                       "solid_pct": 2.0, "measurements": measured},
                                                              normal_ct=False),
                          PASSWORD, "I am the author of this read")
        # before the lock: no analysis for anyone; a reader may never export reads
        with pytest.raises(WorkflowError, match="not locked"):
            export_analysis(db, stat, tmp_path / "a0")
        with pytest.raises(PermissionDenied, match="only a manager"):
            export_reads(db, r1, tmp_path / "r.csv")
        lock_database(db, manager)
        # locked, blinded: reader refused; statistician gets a blinded analysis and no reads
        with pytest.raises(PermissionDenied, match="manager or statistician"):
            export_analysis(db, r1, tmp_path / "a1")
        with pytest.raises(PermissionDenied):
            export_masks(db, r1, tmp_path / "m1")
        blinded = export_analysis(db, stat, tmp_path / "a2", figures=False, report=False)
        adqct = _csv(blinded.files["adqct"])
        assert adqct and all(r["TRT01P"] == "" for r in adqct)
        assert not [r for r in _csv(blinded.files["endpoints"]) if r["section"] == "between_arm"]
        with pytest.raises(PermissionDenied, match="not unblinded"):
            export_reads(db, stat, tmp_path / "r.csv")
        rows = _csv(export_reads(db, manager, tmp_path / "r_manager.csv"))
        assert {r["measurements"] for r in rows} == {"Ruler 5.0 mm"}  # the signed reads' measurements
        assert len(rows) == 2 * 3 * VISITS and all(r["arm"] == "" for r in rows)
        unblind(db, stat, trial / "randomization.csv")
        # unblinded: the manager may not run the (now unblinded) statistics; the statistician may
        with pytest.raises(PermissionDenied, match="only a statistician"):
            export_analysis(db, manager, tmp_path / "a3")
        full = export_analysis(db, stat, tmp_path / "a4", figures=False, report=False)
        assert {r["TRT01P"] for r in _csv(full.files["adqct"])} == {TREATMENT, CONTROL}
        # the report's cover says where the numbers come from
        cover = "\n".join(full.result.provenance)
        assert re.search(r"Database locked \S+ \S+ UTC by manager", cover)
        assert re.search(r"Unblinded \S+ \S+ UTC by stat with randomization.csv \(SHA-256 [0-9a-f]{16}", cover)
        assert "LungRead " in cover and "Charter: concordant pairs by mean" in cover
        assert "Segmentation of the signed reads:" in cover
        head = re.search(r"Audit trail head when analysed: event (\d+), hash ([0-9a-f]{64})", cover)
        from db.models import AuditEvent

        with db.session() as s:
            assert s.get(AuditEvent, int(head.group(1))).hash == head.group(2)
        assert "Not unblinded" in "\n".join(blinded.result.provenance)
        # The population is the whole randomisation list: the subjects left out of this small
        # trial's manifest are randomised (RANDFL Y) without scans, so not in mITT.
        listed = _csv(trial / "randomization.csv")
        adsl = {r["SUBJID"]: r for r in _csv(full.files["adsl"])}
        assert set(adsl) == {r["subject"] for r in listed} and len(listed) > len(keep)
        assert all(r["RANDFL"] == "Y" and r["ARM"] == a["arm"] for r, a in zip((adsl[x["subject"]] for x in listed), listed))
        assert {s for s, r in adsl.items() if r["MITTFL"] == "Y"} == set(keep)
        assert all(adsl[s]["NSCANS"] == "0" for s in adsl if s not in keep)
        counts = {(r["group"], r["statistic"]): int(r["value"]) for r in _csv(full.files["endpoints"])
                  if r["section"] == "population" and r["statistic"] != "evaluable"}
        for arm in (TREATMENT, CONTROL):
            assert counts[(arm, "randomised")] == sum(1 for r in listed if r["arm"] == arm)
            assert counts[(arm, "with_scans")] == counts[(arm, "mitt")] == sum(1 for s in keep if arm_of[s] == arm)
        assert {r["arm"] for r in _csv(export_reads(db, stat, tmp_path / "r_stat.csv"))} == {TREATMENT, CONTROL}
        assert all(r["arm"] == "" for r in _csv(export_reads(db, manager, tmp_path / "r_manager2.csv")))
    finally:
        db.dispose()
    # the command line says who may do it, exit 2, no traceback
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    assert main(["stats", "--db", str(url), "--out", str(tmp_path / "cli"), "--user", "manager"]) == 2
    err = capsys.readouterr().err
    assert "only a statistician" in err and "Traceback" not in err
    assert main(["stats", "--db", str(url), "--out", str(tmp_path / "cli"), "--user", "stat", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "DAY10" in out and (tmp_path / "cli" / "adqct.csv").is_file() and (tmp_path / "cli" / "reads.csv").is_file()
    assert not (tmp_path / "cli" / "report.pdf").exists()


def test_lungread_stats_command_in_its_own_process(demo, tmp_path):
    """`python -m desktop.cli.main stats`, as a user runs it: report workers, then the fast exit
    (no interpreter teardown). Everything is written and flushed, stdout is complete, and nothing
    is left to clean up (multiprocessing's resource tracker would warn about leaked semaphores)."""
    import os
    import sys

    out, demo_stdout = demo
    root = REPO_ROOT
    # block-buffered stdout, as in a pipe by default: what is not flushed before the exit is lost
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}, "LUNGREAD_PASSWORD": PASSWORD}
    proc = subprocess.Popen([sys.executable, "-m", "desktop.cli.main", "stats", "--db", str(out / "lungread.sqlite"),
                             "--out", str(tmp_path / "cli"), "--user", "statistician"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()
    text = stdout.decode()
    assert "DAY10" in text and text.rstrip().endswith(f"to {tmp_path / 'cli'}")
    assert "leaked" not in stderr.decode() and "Traceback" not in stderr.decode()
    files = {p.name for p in (tmp_path / "cli").iterdir()} | {p.name for p in (tmp_path / "cli" / "figures").iterdir()}
    assert {"adqct.csv", "endpoints.csv", "agreement.csv", "reads.csv", "report.pdf", "audit_anchor.json",
            "lespct_by_visit.png", "bland_altman.png"} <= files
    assert (tmp_path / "cli" / "report.pdf").read_bytes().rstrip().endswith(b"%%EOF")
    assert _csv(tmp_path / "cli" / "adqct.csv") == _csv(out / "exports" / "adqct.csv")


def test_stats_names_the_arms_or_says_why_not(demo, tmp_path, monkeypatch, capsys):
    """`lungread stats --treatment/--control`: a name not in the randomisation list is refused with
    the list's arms; swapped names flip the direction of every between-arm figure."""
    from desktop.cli.main import main

    out, _ = demo
    url = out / "lungread.sqlite"
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    args = ["stats", "--db", str(url), "--user", "statistician", "--no-report", "--no-figures"]
    assert main([*args, "--out", str(tmp_path / "bad"), "--treatment", "MSC"]) == 2
    err = capsys.readouterr().err
    assert f"treatment arm 'MSC' is not in the randomisation list; its arms: '{TREATMENT}', '{CONTROL}'" in err
    assert main([*args, "--out", str(tmp_path / "flip"), "--treatment", CONTROL, "--control", TREATMENT]) == 0
    assert f"(%): {CONTROL} - {TREATMENT}" in capsys.readouterr().out
    default = {(r["avisit"], r["paramcd"], r["variable"], r["statistic"]): r
               for r in _csv(out / "exports" / "endpoints.csv") if r["section"] == "between_arm"}
    flipped = [r for r in _csv(tmp_path / "flip" / "endpoints.csv") if r["section"] == "between_arm"]
    assert flipped and all(r["group"] == f"{CONTROL} - {TREATMENT}" for r in flipped)
    for r in flipped:
        d = default[(r["avisit"], r["paramcd"], r["variable"], r["statistic"])]
        assert d["group"] == f"{TREATMENT} - {CONTROL}"
        if r["statistic"] == "hl_estimate" and r["value"]:
            assert float(r["value"]) == pytest.approx(-float(d["value"]))


def test_r_reproduces_the_primary_endpoint_from_adsl_and_adqct(demo):
    """R alone (tests/data/r/primary_endpoint.R: read.csv, merge, wilcox.test) gets the primary
    endpoint's figures and its worst-rank sensitivity analysis from adsl.csv and adqct.csv: the
    datasets carry everything the analysis used."""
    from tests.support.paths import TEST_DATA
    from tests.support.required_tools import require_program

    rscript = require_program("Rscript")
    out, _ = demo
    rows = _csv(out / "exports" / "endpoints.csv")
    (visit,) = {r["avisit"] for r in rows if r["statistic"] == "role" and r["value"] == "primary"}
    ours = {r["statistic"]: r["value"] for r in rows if r["section"] == "between_arm" and r["avisit"] == visit
            and r["paramcd"] == "LESPCT" and r["variable"] == "CHG"}
    exports = out / "exports"
    proc = subprocess.run([rscript, str(TEST_DATA / "r" / "primary_endpoint.R"), str(exports / "adsl.csv"),
                           str(exports / "adqct.csv"), visit, TREATMENT, CONTROL],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    primary, sensitivity = proc.stdout.strip().splitlines()
    n_t, n_c, est, lo, hi, p, level = (float(v) for v in primary.split())
    assert (n_t, n_c) == (float(ours["n_treatment"]), float(ours["n_control"])) and n_t > 0 and n_c > 0
    assert float(ours["hl_estimate"]) == pytest.approx(est, rel=1e-9, abs=1e-12)
    assert (float(ours["hl_ci_low"]), float(ours["hl_ci_high"])) == pytest.approx((lo, hi), rel=1e-6, abs=1e-9)
    assert float(ours["wilcoxon_p"]) == pytest.approx(p, rel=1e-9)
    assert float(ours["hl_conf_level"]) == pytest.approx(level, rel=1e-12)
    worst = {(r["group"], r["statistic"]): r["value"] for r in rows if r["section"] == "sensitivity"}
    n_t, n_c, k_t, k_c, p, win = (float(v) for v in sensitivity.split())
    assert (n_t, n_c, k_t, k_c) == tuple(float(worst[key]) for key in (
        (TREATMENT, "n"), (CONTROL, "n"), (TREATMENT, "n_imputed"), (CONTROL, "n_imputed")))
    group = f"{TREATMENT} - {CONTROL}"
    assert float(worst[(group, "wilcoxon_p")]) == pytest.approx(p, rel=1e-9)
    assert float(worst[(group, "win_probability")]) == pytest.approx(win, rel=1e-12)
