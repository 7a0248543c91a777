"""The quality-improvement analyses (spc, funnel) through the release layer: in exact mode their counts, person-time
and limits equal the participant rows and the published formulas (flchain: MGUS and deaths by year of sampling;
lung: death by institution); in cell-key mode person-time from released threshold cells stays close to the exact
sum; the demo's practice change (2019) shows as special-cause improvement; quarters need a declared month; a unit
below the threshold is neither drawn nor listed; the CLI's JSON has the issue's contract; bad input is a clear
AnalysisInputError."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analyses.cli import main
from analyses.context import AnalysisContext
from analyses.figures.quality import funnel_figures, spc_figures
from analyses.measures import shown_rows
from analyses.sites import FunnelOptions, funnel_analysis
from analyses.trends import SpcOptions, _noise_notes, spc_analysis
from analyses.variables import AnalysisInputError
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

COHORTS = Path(__file__).resolve().parents[1] / "data" / "cohorts"
FLCHAIN, LUNG = COHORTS / "flchain", COHORTS / "lung"


@pytest.fixture(scope="module")
def flchain():
    return CohortEngine.open(FLCHAIN / "flchain.csv", FLCHAIN / "mapping.toml"), pd.read_csv(FLCHAIN / "flchain.csv")


@pytest.fixture(scope="module")
def lung():
    return CohortEngine.open(LUNG / "lung.csv", LUNG / "mapping.toml"), pd.read_csv(LUNG / "lung.csv")


def _ctx(engine, method="exact", min_cell=0, query=""):
    return AnalysisContext.from_query(engine, query, DisclosurePolicy(min_cell, method))[0]


def test_p_chart_equals_the_rows_and_the_formula(flchain):
    engine, rows = flchain
    points = spc_analysis(_ctx(engine), SpcOptions("mgus", chart="p")).table("points")
    by_year = rows.groupby("sample.yr")["mgus"].agg(["sum", "count"])
    assert points["period"].tolist() == [str(y) for y in by_year.index]
    assert points["numerator"].tolist() == by_year["sum"].tolist()
    assert points["denominator"].tolist() == by_year["count"].tolist()
    p = by_year["sum"].sum() / by_year["count"].sum()
    sd = np.sqrt(p * (1 - p) / by_year["count"].to_numpy())
    np.testing.assert_allclose(points["cl"].astype(float), p, rtol=1e-12)
    np.testing.assert_allclose(points["ucl"].astype(float), p + 3 * sd, rtol=1e-12)
    np.testing.assert_allclose(points["lcl"].astype(float), np.maximum(p - 3 * sd, 0), rtol=1e-12)


def test_u_chart_person_time_equals_the_rows_and_cell_key_stays_close(flchain):
    engine, rows = flchain
    exact = spc_analysis(_ctx(engine), SpcOptions("deaths")).table("points")
    years = rows.groupby("sample.yr").agg(deaths=("death", "sum"), pt=("futime", lambda d: d.sum() / 365.25))
    np.testing.assert_allclose(exact["denominator"].astype(float), years["pt"], rtol=1e-12)
    np.testing.assert_allclose(exact["value"].astype(float), 100 * years["deaths"] / years["pt"], rtol=1e-12)
    perturbed = spc_analysis(_ctx(engine, "cell_key", 11), SpcOptions("deaths")).table("points")
    # person-time from released cells N(pt ≥ step): rounding to 4 weeks and the noise of ~100 cells of hundreds
    # (summing a released count per step instead is off by tens of percent); a year of 48 participants is noisier
    np.testing.assert_allclose(perturbed["denominator"].astype(float), years["pt"], rtol=0.01, atol=20)
    assert abs(perturbed["denominator"].sum() / years["pt"].sum() - 1) < 0.005


def test_the_demo_practice_change_is_special_cause_improvement(engine, demo_dir):
    truth = json.loads((demo_dir / "truth.json").read_text())["derived"]["practice_change"]
    ctx = _ctx(engine, "cell_key", 11)
    periods = spc_analysis(ctx, SpcOptions("first_line_alpha2delta_or_iron")).table("points")["period"].tolist()
    before = sum(int(p) < truth["year"] for p in periods)
    result = spc_analysis(ctx, SpcOptions("first_line_alpha2delta_or_iron", freeze=before))
    points = result.table("points")
    assert result.details.variation == "special_cause_improvement"
    # the words name years after the change (which ones pass the limit depends on the session's cell-key noise)
    assert "direction: improvement" in result.notes[0]
    assert any(str(year) in result.notes[0] for year in range(truth["year"], truth["year"] + 5))
    # the baseline centre line is the share before the change; the years after it lie above it, at least one above
    # the upper limit and none below the lower one. How many pass the upper limit depends on the secret (2 to 6 of
    # the 6 years in 136 sessions, 2 in four of them; 5 in exact mode); only 2021 and 2022 do with
    #   RLS_TEST_CELL_KEY_SECRET=a4a3850b9bdc53ea547a808f765ec3c23582d5ee591cdf65f5effc51c168d12c
    # (2023 is 0.480 against a limit of 0.484). Moving every count by its largest perturbation (±3) the wrong way
    # still leaves 2019-2023 above the centre line and 2021 above its upper limit; 2024 (15 participants, 7 of them
    # counted) may fall below the centre line.
    assert abs(points["cl"].iloc[0] - truth["alpha2delta_share_before"]) < 0.05
    after = points[points["period"].astype(int) >= truth["year"]]
    assert (after["value"] > after["cl"]).sum() >= len(after) - 1
    assert after["above_upper"].any() and not after["below_lower"].any()
    # the words name exactly the years the chart marks above the upper limit
    named = re.search(r"periods? above the upper control limit \(([^)]*)\)", result.notes[0]).group(1).split(", ")
    assert named == points.loc[points["above_upper"], "period"].astype(str).tolist()


LIMITED = """[source]
files = ["visits.csv"]
shape = "wide"
limited_data_set = true

[outcomes.seen]
column = "seen"
positive = [1]
label = "Seen within 30 days"

[measures.seen_in_time]
label = "Seen within 30 days"
outcome = "seen"
time = "year"
month = "month"
direction = "up"
"""


def test_quarters_and_months_need_a_declared_month(engine, tmp_path):
    with pytest.raises(AnalysisInputError, match="quarters and months only where"):
        spc_analysis(_ctx(engine), SpcOptions("first_line_alpha2delta_or_iron", period="quarter"))
    rng = np.random.default_rng(3)
    rows = pd.DataFrame({"year": rng.integers(2020, 2023, 3000), "month": rng.integers(1, 13, 3000),
                         "seen": rng.integers(0, 2, 3000)})
    rows.to_csv(tmp_path / "visits.csv", index=False)
    (tmp_path / "mapping.toml").write_text(LIMITED, encoding="utf-8")
    limited = CohortEngine.open(tmp_path / "visits.csv", tmp_path / "mapping.toml")
    points = spc_analysis(_ctx(limited), SpcOptions("seen_in_time", period="quarter")).table("points")
    quarter = rows["year"].astype(str) + "-Q" + ((rows["month"] - 1) // 3 + 1).astype(str)
    expected = rows.groupby(quarter)["seen"].agg(["sum", "count"])
    assert points["period"].tolist() == expected.index.tolist()
    assert points["numerator"].tolist() == expected["sum"].tolist()
    assert points["denominator"].tolist() == expected["count"].tolist()
    months = spc_analysis(_ctx(limited), SpcOptions("seen_in_time", period="month")).table("points")
    assert months["period"].iloc[0] == "2020-01" and len(months) == 36


def test_funnel_equals_the_rows_and_standardisation_expects_the_observed_total(lung):
    engine, rows = lung
    result = funnel_analysis(_ctx(engine), FunnelOptions("death"))
    units = result.table("units").set_index("unit")
    known = rows.dropna(subset=["inst"])
    per_inst = known.groupby(known["inst"].astype(int).astype(str))["status"].agg(
        events=lambda s: (s == 2).sum(), n="count")
    assert units["n"].to_dict() == per_inst["n"].to_dict()
    assert units["events"].to_dict() == per_inst["events"].to_dict()
    assert result.details.target == pytest.approx((known["status"] == 2).mean(), rel=1e-12)
    standardized = funnel_analysis(_ctx(engine), FunnelOptions("death", standardize=("age", "sex"))).table("units")
    # indirect standardisation: the expected events of all units add up to the observed ones
    assert standardized["expected"].sum() == pytest.approx(standardized["events"].sum(), rel=1e-12)


def test_a_unit_below_the_threshold_is_neither_drawn_nor_listed(lung, capsys):
    engine, rows = lung
    sizes = rows["inst"].value_counts()
    small = [str(int(u)) for u, n in sizes.items() if n <= 11 - 1 - 3]  # below k even when perturbed by +3
    assert "2" in small  # institution 2 has 5 patients
    result = funnel_analysis(_ctx(engine, "cell_key", 11), FunnelOptions("death"))
    listed = set(result.table("units")["unit"])
    assert listed and not listed & set(small)
    (figure,) = funnel_figures(result)
    assert not set(figure.data["unit"]) & set(small)
    hidden = next(note for note in result.notes if "unit(s) with fewer than 11" in note)
    assert int(hidden.split()[0]) >= len(small)
    code = _cli(LUNG, "funnel", "--outcome", "death", "--json")
    assert code == 0
    units = json.loads(capsys.readouterr().out)["units"]
    assert {u["unit"] for u in units} == listed


def _cli(cohort: Path, *argv: str) -> int:
    return main([*argv, "--data", str(cohort / f"{cohort.name}.csv"), "--mapping", str(cohort / "mapping.toml")])


def test_cli_json_has_the_contract(capsys):
    code = _cli(FLCHAIN, "spc", "--outcome", "mgus_detected", "--chart", "pp", "--freeze", "5", "--json")
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {"period", "numerator", "denominator", "value", "cl", "lcl", "ucl", "signal"} <= set(out["points"][0])
    assert set(out["runs"]) == {"n_useful", "longest_run", "longest_run_max", "crossings", "crossings_min", "signal"}
    assert out["chart"] == "pp" and out["freeze"] == 5 and out["points"][0]["period"] == "1995"
    code = _cli(LUNG, "funnel", "--outcome", "death", "--by", "site", "--standardize", "age,sex",
                "--overdispersion", "multiplicative", "--json")
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {"unit", "n", "events", "value", "lcl95", "ucl95", "lcl998", "ucl998", "outside"} <= set(out["units"][0])
    assert out["target"] == 1.0 and out["standardized_by"] == ["age", "sex"]


@pytest.mark.parametrize("argv, message", [
    (["spc", "--outcome", "nope"], "Unknown measure or outcome"),
    (["spc", "--outcome", "mgus", "--chart", "u"], "u-chart shows a rate"),
    (["spc", "--outcome", "deaths", "--chart", "p"], "is a rate per person-time"),
    (["spc", "--outcome", "deaths", "--time", "year"], "--time applies to an outcome"),
    (["spc", "--outcome", "mgus", "--time", "age"], "Unknown time role"),
    (["spc", "--outcome", "mgus", "--freeze", "99"], "--freeze must be"),
    (["spc", "--outcome", "mgus", "--period", "month"], "quarters and months only where"),
    (["funnel", "--outcome", "mgus", "--by", "age"], "Units must be a categorical variable"),
    (["funnel", "--outcome", "mgus", "--by", "flc_grp", "--standardize", "bmi"], "Standardisation is by age, sex"),
])
def test_bad_input_is_a_clear_error(capsys, argv, message):
    code = _cli(FLCHAIN, *argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_the_control_chart_marks_the_signals(engine):
    result = spc_analysis(_ctx(engine, "cell_key", 11), SpcOptions("first_line_alpha2delta_or_iron"))
    (figure,) = spc_figures(result)
    spec = figure.spec()
    assert figure.data["signal"].any() and len(spec["layer"]) == 5  # centre, two limits, values, signals


def test_exact_mode_withholds_a_second_row_when_one_alone_would_be_recovered():
    n, events = [100, 5, 50, 200, 0], [50, 2, 25, 100, 0]
    # exact: the small row and the next smallest, so the shown total minus the shown rows is not one row's count
    assert shown_rows(DisclosurePolicy(11, "exact"), n, events).tolist() == [True, False, False, True, False]
    assert shown_rows(DisclosurePolicy(11, "cell_key"), n, events).tolist() == [True, False, True, True, False]
    # a row whose events (or non-events) are small is withheld in exact mode too
    assert shown_rows(DisclosurePolicy(11, "exact"), [100, 100, 100], [3, 50, 50]).tolist() == [False, False, True]


def test_cell_key_results_show_no_count_below_the_threshold(flchain):
    engine, _ = flchain
    counts = ("numerator", "denominator", "n", "events")

    def small(result):
        rows = [r for key in ("points", "units") for r in result.to_dict().get(key, [])]
        return [r[c] for r in rows for c in counts if isinstance(r.get(c), int) and 0 < r[c] < 11]

    views = [(spc_analysis, SpcOptions("mgus", chart="run")), (funnel_analysis, FunnelOptions("mgus", "flc_grp"))]
    for run, options in views:
        assert small(run(_ctx(engine), options)), "the exact view has small counts to hide"
        assert small(run(_ctx(engine, "cell_key", 11), options)) == []


def test_a_signal_the_perturbation_alone_could_make_is_flagged():
    """A period beyond its limits whose released counts, moved by up to ±D each, would sit inside them gets a note
    (a QI team should not act on noise added for disclosure control); exact mode has no such note."""
    points = pd.DataFrame({"period": [2023, 2024], "below_lower": [False, True], "above_upper": [False, False],
                           "lower": [0.76, 0.69], "upper": [1.0, 1.0]})
    counts = pd.DataFrame({"events": [34, 11], "n": [41, 20]})
    chart, measure = SimpleNamespace(points=points), SimpleNamespace(kind="proportion")
    shown = np.array([True, True])
    cell_key = SimpleNamespace(policy=DisclosurePolicy(11, "cell_key"))
    notes = _noise_notes(cell_key, chart, counts, shown, measure)  # (11 + 3) / (20 − 3) = 0.82 ≥ 0.69
    assert len(notes) == 1 and "2024" in notes[0] and "±3" in notes[0]
    assert _noise_notes(SimpleNamespace(policy=DisclosurePolicy(11, "exact")), chart, counts, shown, measure) == []
    far = pd.DataFrame({"events": [34, 100], "n": [41, 400]})  # (100 + 3) / 397 = 0.26: a real signal
    assert _noise_notes(cell_key, chart, far, shown, measure) == []
