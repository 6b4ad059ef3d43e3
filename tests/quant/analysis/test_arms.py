"""Treatment and control come from the randomisation list, named or recognised; every between-arm
figure is treatment - control whatever the arms are called."""

from __future__ import annotations

import dataclasses

import pytest

from quant.analysis.arms import ArmError, choose_arms
from quant.analysis.tables import run_analysis
from tests.support.analysis_records import read_pairs, trial_records


def test_named_arms_are_taken_as_named():
    c = choose_arms({"UC-MSC", "placebo"}, "placebo", "UC-MSC")  # odd, but the user said so
    assert (c.treatment, c.control, c.how) == ("placebo", "UC-MSC", "named")


def test_one_name_is_enough_for_two_arms():
    assert choose_arms(["A", "B"], treatment="B").control == "A"
    assert choose_arms(["A", "B"], control="B").treatment == "A"


@pytest.mark.parametrize("arms, control", [
    ({"UC-MSC", "placebo"}, "placebo"),
    ({"MSC", "Placebo"}, "Placebo"),
    ({"drug X", "Standard of care"}, "Standard of care"),
    ({"active", "control"}, "control"),
])
def test_control_recognised_by_its_name(arms, control):
    c = choose_arms(arms)
    assert c.control == control and c.treatment == (arms - {control}).pop()
    assert "recognised" in c.how


def test_refusals_say_what_is_wrong():
    with pytest.raises(ArmError, match="'MSC' is not in the randomisation list.*'UC-MSC', 'placebo'"):
        choose_arms({"UC-MSC", "placebo"}, "MSC", "Placebo")
    with pytest.raises(ArmError, match="did you mean 'placebo'"):
        choose_arms({"UC-MSC", "placebo"}, "UC-MSC", "Placebo")
    with pytest.raises(ArmError, match="same arm"):
        choose_arms({"A", "B"}, "A", "A")
    with pytest.raises(ArmError, match="name the treatment and control arms"):
        choose_arms({"A", "B"})
    with pytest.raises(ArmError, match="two arms; the randomisation list has 3"):
        choose_arms({"A", "B", "placebo"})
    with pytest.raises(ArmError, match="has 1"):
        choose_arms({"A"})


def _renamed(records, names):
    return [dataclasses.replace(r, arm=names[r.arm]) for r in records]


def test_renamed_arms_give_the_same_numbers_with_the_direction_stated():
    base = run_analysis(trial_records(), read_pairs())
    assert (base.treatment, base.control) == ("MSC", "Placebo")
    renamed = run_analysis(_renamed(trial_records(), {"MSC": "UC-MSC", "Placebo": "placebo"}), read_pairs())
    assert (renamed.treatment, renamed.control) == ("UC-MSC", "placebo")
    assert len(renamed.comparisons) == len(base.comparisons) > 0
    for a, b in zip(base.comparisons, renamed.comparisons):
        assert (b.treatment, b.control) == ("UC-MSC", "placebo")
        assert (a.n_treatment, a.n_control) == (b.n_treatment, b.n_control) and a.n_treatment > 0
        assert a.hl == b.hl and a.welch == b.welch
    assert [(p.k_treatment, p.n_treatment, p.fisher_p) for p in base.proportions] == \
        [(p.k_treatment, p.n_treatment, p.fisher_p) for p in renamed.proportions]


def test_swapping_the_names_flips_the_direction():
    fwd = run_analysis(trial_records(), (), "MSC", "Placebo")
    rev = run_analysis(trial_records(), (), "Placebo", "MSC")
    for a, b in zip(fwd.comparisons, rev.comparisons):
        if a.hl is not None:
            assert b.hl.estimate == pytest.approx(-a.hl.estimate)


def test_blinded_records_have_no_arms_to_choose():
    res = run_analysis(trial_records(blinded=True), (), "MSC", "Placebo")
    assert res.treatment is None and res.control is None and res.comparisons == []
