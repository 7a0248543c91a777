"""The risk-factor analysis through the release layer: its default factors on the public cohorts, the events-per-
parameter warning, clear messages for bad factors, a factor left with one value dropped with a note, numeric factors
as splines and bands, small cells withholding odds ratios in exact mode, cell-key mode, the forest plot, and the
CLI's JSON. (Agreement with R: test_risk_factors_vs_r.py; recovery of the demo's true ORs: test_recovery.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyses.cli import main
from analyses.context import AnalysisContext
from analyses.figures.risk_factors import figures, forest_rows
from analyses.risk_factors import RiskFactorOptions, default_factors, risk_factors
from analyses.variables import AnalysisInputError
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

COHORTS = Path(__file__).resolve().parents[1] / "data" / "cohorts"


def _engine(name: str) -> CohortEngine:
    return CohortEngine.open(COHORTS / name / f"{name}.csv", COHORTS / name / "mapping.toml")


@pytest.fixture(scope="module")
def flchain():
    return _engine("flchain")


def _ctx(engine, min_cell=11, method="exact", query=""):
    return AnalysisContext.from_query(engine, query, DisclosurePolicy(min_cell, method))[0]


@pytest.mark.parametrize("name, expected", [
    ("flchain", ("sex", "age")),
    ("colon", ("sex", "age", "obstruct", "perfor", "adhere", "surg", "node4")),
    ("nafld1", ("sex", "age")),
])
def test_default_factors_run_on_each_public_cohort(name, expected):
    engine = _engine(name)
    assert default_factors(engine) == expected
    result = risk_factors(_ctx(engine, method="cell_key"))
    assert [t.test for t in result.tests] == [f"lr_{f}" for f in expected]
    adjusted = [e for e in result.estimates if e.measure == "adjusted_or"]
    assert {e.group for e in adjusted} == set(expected)
    assert all(e.ci_low < e.estimate < e.ci_high for e in adjusted)
    assert result.details.events_per_parameter >= 10 and not any("events per" in n for n in result.notes)


def test_few_events_per_parameter_are_warned_about(flchain):
    result = risk_factors(_ctx(flchain, 0), RiskFactorOptions("mgus", ("sex", "age:spline", "flc_grp")))
    # 115 MGUS cases over 1 + 4 + 9 parameters
    assert result.details.events_per_parameter == pytest.approx(115 / 14)
    assert any("8.2 events per model parameter (fewer than 10)" in n for n in result.notes)


@pytest.mark.parametrize("factors, message", [
    (("sex", "weight"), "Unknown risk factor. Choose from: age, chapter, creatinine"),
    (("sex", "age:cubic"), "name:linear, name:spline or name:bands"),
    (("sex:bands",), "Only a numeric risk factor"),
    (("age", "age:spline"), "named once"),
    ((), "at least one risk factor"),
])
def test_bad_factors_are_refused_with_a_message(flchain, factors, message):
    with pytest.raises(AnalysisInputError, match=message):
        risk_factors(_ctx(flchain), RiskFactorOptions(factors=factors))


def test_bad_outcome_and_entry_are_refused(flchain):
    with pytest.raises(AnalysisInputError, match="Unknown outcome. Choose from: mgus, death"):
        risk_factors(_ctx(flchain), RiskFactorOptions("stroke"))
    with pytest.raises(AnalysisInputError, match="linear, spline, bands"):
        risk_factors(_ctx(flchain), RiskFactorOptions(numeric="cubic"))


def test_a_factor_with_one_value_is_dropped_with_a_note(flchain):
    result = risk_factors(_ctx(flchain, query="sex=female"), RiskFactorOptions("death", ("sex", "age")))
    assert any("Sex has a single value among these participants" in n for n in result.notes)
    assert [t.test for t in result.tests] == ["lr_age"]
    assert {e.group for e in result.estimates} == {"age"}
    assert list(result.table("risk_factors")["factor"]) == ["age"]


def test_numeric_factors_as_spline_and_as_bands(flchain):
    spline = risk_factors(_ctx(flchain), RiskFactorOptions("death", ("sex", "age"), numeric="spline"))
    assert not [e for e in spline.estimates if e.group == "age"]  # a curve has no single OR
    assert spline.test("lr_age").df == 4
    row = spline.table("risk_factors").set_index("factor").loc["age (natural spline)"]
    assert row["level"] == "natural spline, 4 df" and row["lr_p"] < 1e-10
    bands = risk_factors(_ctx(flchain), RiskFactorOptions("death", ("sex", "age:bands", "creatinine:bands")))
    ages = [e.band for e in bands.estimates if e.measure == "adjusted_or" and e.group == "age"]
    assert ages == ["60-69", "70-79", "80+"]  # against 50-59, the youngest band of flchain
    assert bands.test("lr_age").df == 3
    levels = list(bands.table("risk_factors").query("factor == 'Serum creatinine'")["level"])
    assert len(levels) == 4 and levels[0].startswith("<") and levels[0].endswith("(reference)")
    adjusted = [e.estimate for e in bands.estimates if e.measure == "adjusted_or" and e.group == "age"]
    assert adjusted == sorted(adjusted) and adjusted[0] > 1  # death rises with age
    linear = risk_factors(_ctx(flchain), RiskFactorOptions("death", ("age",)))
    assert linear.estimates[0].band == "per 1 year"
    assert "per 1 mg/dL" in {e.band for e in risk_factors(_ctx(flchain), RiskFactorOptions(
        "death", ("creatinine",))).estimates}


def test_small_cells_withhold_a_levels_odds_ratios_in_exact_mode():
    """colon: 27 patients with a perforated colon, 12 of them alive: below a threshold of 13 their ORs are
    withheld and the row shows no counts; the other factors are still estimated."""
    result = risk_factors(_ctx(_engine("colon"), 13))
    assert not [e for e in result.estimates if e.group == "perfor"]
    assert any("Perforation of the colon, yes: a count is below 13" in n for n in result.notes)
    table = result.table("risk_factors")
    perforated = table[(table["factor"] == "perforation of the colon") & (table["level"] == "yes")].iloc[0]
    assert perforated["suppressed"] and perforated["events"] is None and perforated["adjusted_or"] is None
    assert {e.group for e in result.estimates} >= {"sex", "age", "adhere", "node4"}


def test_the_forest_plot_draws_crude_and_adjusted_side_by_side(flchain):
    result = risk_factors(_ctx(flchain), RiskFactorOptions("death", ("sex", "age:bands")))
    rows = forest_rows(result)
    assert set(rows["kind"]) == {"Crude", "Adjusted"} and len(rows) == 2 * (1 + 3)
    (figure,) = figures(result)
    spec = figure.spec(export=True)
    assert spec["layer"][1]["encoding"]["x"]["scale"]["type"] == "log"
    assert spec["layer"][2]["encoding"]["yOffset"]["field"] == "kind"


def test_nothing_is_estimated_without_cases():
    result = risk_factors(_ctx(_engine("nafld1"), query="age=18-24"), RiskFactorOptions(factors=("sex",)))
    assert not result.estimates and any("nothing is estimated" in n for n in result.notes)


def test_cli_json_has_the_odds_ratios_per_label(capsys):
    code = main(["risk-factors", "--data", str(COHORTS / "colon" / "colon.csv"), "--mapping",
                 str(COHORTS / "colon" / "mapping.toml"), "--outcome", "death", "--factors", "sex,age,differ",
                 "--numeric-entry", "spline", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["analysis"] == "risk-factors" and out["factors"] == ["sex", "age", "differ"]
    measures = {(e["measure"], e["label"]) for e in out["estimates"]}
    assert ("crude_or", "sex: women vs men") in measures and ("adjusted_or", "sex: women vs men") in measures
    assert ("adjusted_or", "Tumour differentiation (1 well, 2 moderate, 3 poor): 3 vs 1") in measures
    assert {"factor", "level", "crude_or", "adjusted_or", "lr_p"} <= set(out["risk_factors"][0])
    assert out["entries"]["age"] == "spline" and out["events_per_parameter"] > 10
    assert [t["test"] for t in out["tests"]] == ["lr_sex", "lr_age", "lr_differ"] and out["tests"][1]["df"] == 4
    assert "perturbed" in out["methods"]


def test_cli_refuses_an_unknown_factor_without_a_traceback(capsys):
    code = main(["risk-factors", "--data", str(COHORTS / "colon" / "colon.csv"), "--mapping",
                 str(COHORTS / "colon" / "mapping.toml"), "--factors", "sex,shoe_size"])
    captured = capsys.readouterr()
    assert code == 2 and "Unknown risk factor" in captured.err and "Traceback" not in captured.err


def test_a_long_factor_list_is_counted_in_the_heading_not_spelled_out():
    """colon's seven default factors: the heading names three and counts the other four (the full list ran to four
    lines on screen)."""
    result = risk_factors(_ctx(_engine("colon")), RiskFactorOptions())
    assert ": sex, age, " in result.caption and " and 4 more; " in result.caption
    few = risk_factors(_ctx(_engine("colon")), RiskFactorOptions(factors=("sex", "age")))
    assert ": sex, age; " in few.caption
