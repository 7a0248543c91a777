"""The analyses on tiny purpose-built cohorts: empty, one sex, separation, bands without events, missing roles,
sparse data, ties at the top of a spline — and the result object itself.

Each cohort is a wide CSV with a mapping TOML written to a temp folder and loaded through the real pipeline
(mapping, validation, canonical table), as a user's file would be. Participants are generated from a few groups
whose values may depend on the participant's index within the group, so every count below is known by design.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analyses.bands import AgeBands, BiomarkerBands
from analyses.biomarker_risk import BiomarkerRiskOptions, biomarker_risk
from analyses.cli import main
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from analyses.odds_ratio import OddsRatioOptions, odds_ratio
from analyses.prevalence import PrevalenceOptions, prevalence
from analyses.variables import AnalysisInputError
from queries.engine import CohortEngine

COLUMNS = ("sex", "age", "site", "rls", "ferritin", "drug", "augmented", "days")
DEFAULTS = {"sex": "F", "age": 50, "site": "A", "rls": 0, "ferritin": "", "drug": "none", "augmented": "",
            "days": ""}
BASE_MAPPING = """[source]
files = ["cohort.csv"]

[columns]
participant_id = "participant_id"
sex = "sex"
age = "age"
site = "site"

[codes.sex]
female = ["F"]
male = ["M"]

[outcomes.rls]
column = "rls"
positive = [1]
label = "RLS"
"""
RISK_MAPPING = """
[biomarker]
column = "ferritin"
label = "Ferritin"
unit = "ug/L"
cut_points = [50, 75, 100]

[treatment]
column = "drug"
label = "Drug"
untreated = ["none"]

[time_to_event]
event = "augmented"
event_positive = [1]
time = "days"
time_unit = "days"
label = "Augmentation"
"""


# --- building cohorts ---------------------------------------------------------------------------------------

def ages(i: int) -> int:
    """Ages 20–90 spread over a group."""
    return 20 + (i * 7) % 71


def every(k: int):
    """1 for every k-th participant of a group (k = 0: never)."""
    return lambda i: int(k > 0 and i % k == 0)


def people(count: int, **values) -> tuple[int, dict]:
    """``count`` participants; a callable value is called with the participant's index within the group."""
    return count, DEFAULTS | values


def treated(count: int, ferritin: float, events_every: int, sex: str = "F") -> tuple[int, dict]:
    """Treated participants (none with the outcome) with a ferritin value near ``ferritin`` (within its band), an
    event for every ``events_every``-th (0: none) and follow-up of 100–1,600 days."""
    return people(count, sex=sex, age=ages, ferritin=lambda i: ferritin + (i % 7) * 0.5,
                  drug=lambda i: ("a", "b")[i % 2], augmented=every(events_every),
                  days=lambda i: 100 + (i * 37) % 1500)


def write_cohort(folder: Path, groups, risk: bool = True) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    lines, pid = ["participant_id," + ",".join(COLUMNS)], 0
    for count, values in groups:
        for i in range(count):
            pid += 1
            cells = [values[c](i) if callable(values[c]) else values[c] for c in COLUMNS]
            lines.append(f"P{pid:06d}," + ",".join(str(c) for c in cells))
    (folder / "cohort.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "cohort.toml").write_text(BASE_MAPPING + (RISK_MAPPING if risk else ""), encoding="utf-8")
    return folder / "cohort.csv", folder / "cohort.toml"


def open_engine(folder: Path, groups, risk: bool = True) -> CohortEngine:
    return CohortEngine.open(*write_cohort(folder, groups, risk))


EXACT = "exact"  # counts known by design are asserted in exact mode; the default method perturbs them
CELL_KEY = "cell_key"


def context(engine: CohortEngine, query: str = "", min_cell: int = 11, method: str = CELL_KEY) -> AnalysisContext:
    ctx, problems = AnalysisContext.from_query(engine, query, DisclosurePolicy(min_cell, method))
    assert not problems, problems
    return ctx


def measures(result) -> list[tuple[str, str | None]]:
    return [(e.measure, e.band) for e in result.estimates]


def has_note(result, *fragments: str) -> bool:
    return any(all(f in note for f in fragments) for note in result.notes)


def strict_json(text: str):
    """Parse JSON, refusing NaN and infinities (which ``json.loads`` would otherwise accept)."""
    def refuse(constant):
        raise AssertionError(f"non-finite number {constant} in the JSON")
    return json.loads(text, parse_constant=refuse)


# --- cohorts ------------------------------------------------------------------------------------------------

# Site A has women and men, site B only men; a few treated men at site A so every role has values.
MIXED = [people(120, sex="F", age=ages, site="A", rls=every(4)),
         people(120, sex="M", age=ages, site="B", rls=every(6)),
         treated(20, 40, 3, "M")]

# Cases only among women (40 of 200), none among 220 men: a zero cell, with every other cell large.
SEPARATED = [people(200, sex="F", age=ages, rls=every(5)), people(200, sex="M", age=ages, rls=0),
             treated(20, 40, 3, "M")]

# Ferritin bands <50, 50-75, 75-100, >=100 among the treated; band 50-75 has 40 participants and no events.
BAND_WITHOUT_EVENTS = [people(100, sex="F", age=ages, rls=every(5)), people(100, sex="M", age=ages, rls=every(9)),
                       treated(60, 30, 3), treated(60, 30, 4, "M"), treated(40, 60, 0),
                       treated(50, 85, 5), treated(50, 85, 4, "M"), treated(60, 150, 6), treated(60, 150, 7, "M")]

# Few cases (30 of 300 women, 20 of 320 men) spread over sites A, B, C; site C has only women.
SPARSE = [people(300, sex="F", age=ages, site=lambda i: "ABC"[i % 3], rls=every(10)),
          people(300, sex="M", age=ages, site=lambda i: "AB"[i % 2], rls=every(15)),
          treated(20, 40, 3, "M")]

# Four in ten participants are 90 (the top-coded age): the 75th percentile of age is the oldest age.
TOP_HEAVY = [people(300, sex=s, age=lambda i: 90 if i % 10 < 4 else 60 + i % 30, rls=every(k),
                    ferritin=lambda i: 20 + (i * 13) % 200, drug="a", augmented=every(m),
                    days=lambda i: 100 + (i * 37) % 1500) for s, k, m in (("F", 4, 3), ("M", 7, 4))]

# 1,000 per sex over ages 20–90 (about 14 per year of age).
LARGE = [people(1000, sex="F", age=ages, rls=every(6)), people(1000, sex="M", age=ages, rls=every(11)),
         treated(20, 40, 3, "M")]


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    """Engines over the cohorts above, each loaded once for this module."""
    root = tmp_path_factory.mktemp("edge_cohorts")
    built = {name: open_engine(root / name, groups) for name, groups in
             (("mixed", MIXED), ("separated", SEPARATED), ("band_without_events", BAND_WITHOUT_EVENTS),
              ("sparse", SPARSE), ("top_heavy", TOP_HEAVY), ("large", LARGE))}
    built["no_risk_roles"] = open_engine(root / "no_risk_roles", MIXED, risk=False)
    return built


# --- empty and one-sex cohorts ------------------------------------------------------------------------------

@pytest.mark.parametrize("run,options", [(odds_ratio, OddsRatioOptions()), (prevalence, PrevalenceOptions()),
                                         (biomarker_risk, BiomarkerRiskOptions())],
                         ids=["odds-ratio", "prevalence", "biomarker-risk"])
def test_empty_cohort_after_filters_estimates_nothing_and_says_so(cohorts, run, options):
    ctx = context(cohorts["mixed"], "sex=female&site=B")  # site B has no women
    result = run(ctx, options)
    assert result.n == 0
    assert result.estimates == () and result.tests == ()
    assert has_note(result, "nothing is estimated")
    assert strict_json(result.to_json())["filters"] == "site=B&sex=female"


@pytest.mark.parametrize("method", [EXACT, CELL_KEY])
def test_single_sex_gives_no_odds_ratio_but_a_note(cohorts, method):
    result = odds_ratio(context(cohorts["mixed"], "sex=female", method=method))
    if method == EXACT:
        assert result.n == 120
    else:  # cases plus non-cases, each released as its own cell (at most ±3 each)
        assert abs(result.n - 120) <= 6
    assert result.estimates == () and result.tests == ()
    assert has_note(result, "does not have exactly two levels")


def test_single_sex_prevalence_has_no_ratio_of_women_to_men(cohorts):
    result = prevalence(context(cohorts["large"], "sex=female"))
    assert set(result.table("rows")["sex"]) == {"women"}
    assert {e.group for e in result.estimates} == {"women"}
    assert all(e.measure == "standardized_prevalence" for e in result.estimates)
    assert set(result.details.peak) == {"women"}


class _ZeroBelow:
    """A stand-in perturbation table that releases every count below ``floor`` as 0 and the others as they are."""

    def __init__(self, floor: int):
        self.floor = floor

    def perturb(self, counts, cell_keys):
        counts = np.asarray(counts)
        return np.where(counts >= self.floor, counts, 0)


def test_prevalence_whose_every_age_count_is_released_as_zero_estimates_nothing(cohorts, monkeypatch):
    """In cell-key mode a small count may be released as 0. On a cohort whose (sex, age) cells are all small but
    whose total is not, every age drops out of the fit: the analysis says so instead of failing (CI found it)."""
    import queries.release

    monkeypatch.setattr(queries.release, "default_ptable", lambda: _ZeroBelow(60))
    ctx = context(cohorts["mixed"], "sex=female")  # 120 women at 71 ages: each (sex, age) count is 1 or 2
    result = prevalence(ctx, PrevalenceOptions())
    assert result.estimates == ()
    assert has_note(result, "nothing is estimated")
    assert strict_json(result.to_json())["filters"] == "sex=female"


# --- perfect separation -------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", [EXACT, CELL_KEY])
def test_perfect_separation_zero_cell_handling(cohorts, method):
    result = odds_ratio(context(cohorts["separated"], method=method))
    groups = result.table("groups").set_index("group")
    if method == EXACT:
        assert groups[["events", "n"]].to_dict("index") == {"women": {"events": 40, "n": 200},
                                                             "men": {"events": 0, "n": 220}}
    else:  # a zero cell stays zero; the others are perturbed by at most 3 (n: two cells)
        assert groups.loc["men", "events"] == 0
        assert abs(groups.loc["women", "events"] - 40) <= 3
        assert abs(groups.loc["women", "n"] - 200) <= 6 and abs(groups.loc["men", "n"] - 220) <= 6
    a, n1, c, n2 = (int(groups.loc[g, col]) for g in ("women", "men") for col in ("events", "n"))
    crude = result.estimate("crude_or")
    expected = ((a + .5) * (n2 - c + .5)) / ((n1 - a + .5) * (c + .5))  # Haldane–Anscombe: 0.5 added to every cell
    assert crude.estimate == pytest.approx(expected, rel=1e-12)  # from the counts the table shows
    assert has_note(result, "zero cell", "0.5 was added")
    exact = result.estimate("exact_or")
    assert exact.estimate is None and exact.ci_high is None  # infinite: left empty, never a number
    assert exact.ci_low is not None and exact.ci_low > 1
    assert result.estimate("adjusted_or") is None
    assert has_note(result, "separation", "withheld")
    assert result.estimate("mh_or") is None and has_note(result, "No Mantel–Haenszel OR")
    strict_json(result.to_json())


# --- biomarker bands ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", [EXACT, CELL_KEY])
def test_band_without_events_is_not_compared_and_the_others_are(cohorts, method):
    result = biomarker_risk(context(cohorts["band_without_events"], method=method))
    bands = result.table("bands").set_index("band")
    assert bands.loc["50-75", "events"] == 0  # zeros stay zero in cell-key mode too
    if method == EXACT:
        assert bands.loc["50-75", "n"] == 40
    else:
        assert abs(bands.loc["50-75", "n"] - 40) <= 3
    assert has_note(result, "not compared", "50-75")
    assert not [m for m in measures(result) if m[1] == "50-75"]
    for measure in ("crude_or", "adjusted_or", "hr"):
        for band in ("<50", "75-100"):
            estimate = result.estimate(measure, band)
            assert estimate is not None, (measure, band)
            assert estimate.reference == ">=100"
            assert 0 < estimate.ci_low < estimate.estimate < estimate.ci_high < math.inf
    assert result.test("logrank") is not None
    strict_json(result.to_json())


def test_all_participants_in_one_band_gives_notes_not_an_error(cohorts):
    result = biomarker_risk(context(cohorts["band_without_events"]),
                            BiomarkerRiskOptions(bands=BiomarkerBands((1e6,))))
    assert result.estimates == ()
    assert result.test("logrank") is None
    assert has_note(result, "one band", "no log-rank test")
    assert has_note(result, "reference band (>=1e+06)")


def test_kaplan_meier_is_withheld_for_bands_whose_counts_are_withheld(tmp_path):
    # exact mode: band 50-75 has 5 participants: it is suppressed, and so is the next smallest band (75-100, whose
    # 9 events are small too); at risk at time 0 would otherwise be that band's n, and the total would give the
    # small band away.
    groups = [people(50, sex="F", age=ages, rls=every(5)), people(50, sex="M", age=ages, rls=every(7)),
              treated(40, 30, 3), treated(5, 60, 2), treated(25, 85, 3), treated(60, 150, 4)]
    result = biomarker_risk(context(open_engine(tmp_path / "km", groups), method=EXACT))
    bands = result.table("bands")
    hidden = set(bands.loc[bands["suppressed"], "band"])
    assert hidden == {"50-75", "75-100"}
    assert has_note(result, "Kaplan–Meier estimates are withheld", "50-75, 75-100")
    for name in ("km", "km_curve"):
        km = result.table(name)
        assert km.loc[km["band"].isin(hidden), ["survival", "at_risk"]].isna().all().all(), name
        assert km.loc[~km["band"].isin(hidden), "survival"].notna().any(), name
    start = result.table("km_curve").query("time == 0").set_index("band")["at_risk"]
    assert start.loc[">=100"] == 60 and start.loc["<50"] == 40  # shown bands start with their n


# Cell-key mode: every band but 50-75 has at least 14 events and 14 non-events (released: 11 or more); 50-75 has 8
# participants, 4 with an event (released 1 … 7: small, never zero).
KM_CELL_KEY = [people(50, sex="F", age=ages, rls=every(5)), people(50, sex="M", age=ages, rls=every(7)),
               treated(42, 30, 3), treated(8, 60, 2), treated(45, 85, 3), treated(60, 150, 4)]


def test_kaplan_meier_is_withheld_for_the_small_band_alone_in_cell_key_mode(tmp_path):
    # totals are perturbed independently of their parts, so no complementary band is withheld
    result = biomarker_risk(context(open_engine(tmp_path / "km", KM_CELL_KEY)))
    bands = result.table("bands")
    assert set(bands.loc[bands["suppressed"], "band"]) == {"50-75"}
    assert bands.loc[bands["suppressed"], ["n", "events"]].isna().all().all()
    assert has_note(result, "Kaplan–Meier estimates are withheld", ": 50-75.")
    assert has_note(result, "Counts are perturbed (cell key method)")  # what perturbation costs the models
    for name in ("km", "km_curve"):
        km = result.table(name)
        assert km.loc[km["band"] == "50-75", ["survival", "at_risk"]].isna().all().all(), name
        for band in ("<50", "75-100", ">=100"):
            assert km.loc[km["band"] == band, "survival"].notna().any(), (name, band)
    start = result.table("km_curve").query("time == 0").set_index("band")["at_risk"]
    assert {"<50", "75-100", ">=100"} <= set(start.index)  # 50-75 too, unless all its cells were released as 0
    assert (start.drop("50-75", errors="ignore") >= 11).all()


def test_kaplan_meier_starts_with_the_bands_released_n_in_cell_key_mode(tmp_path):
    result = biomarker_risk(context(open_engine(tmp_path / "km", KM_CELL_KEY)))
    n = result.table("bands").set_index("band")["n"]
    start = result.table("km_curve").query("time == 0").set_index("band")["at_risk"]
    for band in ("<50", "75-100", ">=100"):
        assert start.loc[band] == n.loc[band], band


def test_mapping_without_biomarker_roles_is_refused(cohorts, tmp_path, capsys):
    ctx = context(cohorts["no_risk_roles"])
    with pytest.raises(AnalysisInputError, match="needs the biomarker, time to event role"):
        biomarker_risk(ctx)
    data, mapping = write_cohort(tmp_path / "no_roles", MIXED, risk=False)
    assert main(["biomarker-risk", "--data", str(data), "--mapping", str(mapping), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        "Error: Biomarker risk needs the biomarker, time to event role(s); the mapping does not name "
        "them."]


# --- sparse data --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", [EXACT, CELL_KEY])
def test_fewer_than_ten_events_per_parameter_is_noted(cohorts, method):
    result = odds_ratio(context(cohorts["sparse"], method=method),
                        OddsRatioOptions(strata=None, adjust=("age:spline", "site")))
    assert has_note(result, "Fewer than 10 events per model parameter")  # about 50 events, 8 parameters
    if method == EXACT:  # in cell-key mode the perturbed sparse cells may separate the model (it is then withheld)
        adjusted = result.estimate("adjusted_or")
        assert adjusted is not None and 0 < adjusted.ci_low < adjusted.ci_high < math.inf
    crude = odds_ratio(context(cohorts["large"], method=method), OddsRatioOptions(strata=None, adjust=("age",)))
    assert not has_note(crude, "events per model parameter")


def test_stratum_without_both_sexes_is_left_out_of_mantel_haenszel(cohorts):
    result = odds_ratio(context(cohorts["sparse"]), OddsRatioOptions(strata="site", adjust=()))
    assert has_note(result, "strata without both groups", "Mantel–Haenszel", ": C.")
    strata = result.table("strata").set_index("stratum")
    assert strata.loc["C", "or"] is None or np.isnan(strata.loc["C", "or"])
    mh = result.estimate("mh_or")
    assert mh is not None and 0 < mh.ci_low < mh.estimate < mh.ci_high


def test_a_spline_whose_top_knot_is_the_oldest_age_is_withheld_not_an_error(cohorts):
    ctx = context(cohorts["top_heavy"])
    result = odds_ratio(ctx, OddsRatioOptions(adjust=("age:spline",)))
    assert result.estimate("adjusted_or") is None and result.estimate("crude_or") is not None
    assert has_note(result, "natural spline of age cannot be formed")
    curves = prevalence(ctx)
    assert curves.table("curve").empty and has_note(curves, "No prevalence curves")
    risk = biomarker_risk(ctx, BiomarkerRiskOptions(adjust=("age:spline",)))
    assert {e.measure for e in risk.estimates} <= {"crude_or"}
    assert has_note(risk, "natural spline of age cannot be formed")
    for result in (result, curves, risk):
        strict_json(result.to_json())


# --- standardization ----------------------------------------------------------------------------------------

def test_bands_that_split_an_open_standard_group_give_a_note_and_the_other_standards(cohorts):
    ctx = context(cohorts["large"], min_cell=0)  # the 90+ band has about 14 people per sex
    result = prevalence(ctx, PrevalenceOptions(age_bands=AgeBands((30, 40, 50, 60, 70, 80, 90))))
    assert has_note(result, "cannot be standardized to the US 2000", "with these age bands", "85+")
    standardized = {(e.measure, e.standard, e.group) for e in result.estimates}
    for standard in ("esp2013", "who2000"):
        assert {("standardized_prevalence", standard, "women"), ("standardized_prevalence", standard, "men"),
                ("standardized_ratio", standard, None)} <= standardized
    assert not [e for e in result.estimates if e.standard == "us2000"]
    only_us = prevalence(ctx, PrevalenceOptions(age_bands=AgeBands((30, 40, 50, 60, 70, 80, 90)), standard="us2000"))
    assert only_us.estimates == () and has_note(only_us, "cannot be standardized to the US 2000")
    assert len(only_us.notes) == len(set(only_us.notes))


def test_withheld_standardization_is_noted_once_per_sex(cohorts):
    # exact mode: bands of about a dozen people, some counts are small, so standardization is withheld
    result = prevalence(context(cohorts["mixed"], method=EXACT))
    withheld = [n for n in result.notes if n.startswith("Age-standardized prevalence")]
    assert withheld and len(withheld) == len(set(withheld))


def test_standardization_uses_every_released_band_in_cell_key_mode(cohorts):
    # a small band's count is perturbed, so an estimate cannot be inverted to it: nothing is withheld
    result = prevalence(context(cohorts["mixed"]))
    assert not [n for n in result.notes if n.startswith("Age-standardized prevalence")]
    assert {e.group for e in result.estimates if e.measure == "standardized_prevalence"} == {"women", "men"}
    rows = result.table("rows")
    assert rows["suppressed"].any() and rows.loc[rows["suppressed"], ["events", "n"]].isna().all().all()


# --- the result object --------------------------------------------------------------------------------------

class _ReversedEngine:
    """The same engine, but it hands back aggregate rows in reverse order (DuckDB's order is not fixed)."""

    def __init__(self, engine: CohortEngine):
        self._engine = engine
        self.info = engine.info
        self.dialect = engine.dialect
        self.calls = 0

    def table(self):
        return self._engine.table()

    def sql(self, expr):
        return self._engine.sql(expr)

    def execute(self, expr):
        self.calls += 1
        return self._engine.execute(expr).iloc[::-1].reset_index(drop=True)


@pytest.mark.parametrize("run,options", [(odds_ratio, OddsRatioOptions(adjust=("age:spline", "site"))),
                                         (prevalence, PrevalenceOptions()),
                                         (biomarker_risk, BiomarkerRiskOptions(adjust=("age:spline", "sex")))],
                         ids=["odds-ratio", "prevalence", "biomarker-risk"])
@pytest.mark.parametrize("min_cell,method", [(0, EXACT), (11, CELL_KEY)], ids=["exact", "cell-key"])
def test_to_json_is_deterministic_finite_and_independent_of_engine_row_order(cohorts, run, options, min_cell,
                                                                            method):
    ctx = context(cohorts["band_without_events"], min_cell=min_cell, method=method)
    first, second = run(ctx, options), run(ctx, options)
    text = first.to_json()
    assert text == second.to_json()
    doc = strict_json(text)
    assert {"analysis", "n", "filters", "estimates", "tests", "notes"} <= set(doc)
    reversed_engine = _ReversedEngine(ctx.engine)
    reversed_ctx = AnalysisContext(reversed_engine, ctx.state, ctx.options, ctx.policy)
    assert run(reversed_ctx, options).to_json() == text
    assert reversed_engine.calls  # the analysis did read through the reversing engine


def test_to_frame_and_table_return_copies(cohorts):
    result = prevalence(context(cohorts["large"]))
    frame = result.to_frame()
    assert list(frame.columns[:4]) == ["sex", "age_band", "events", "n"]
    before = frame.copy()
    frame.loc[:, "events"] = -1
    frame.drop(frame.index, inplace=True)
    assert result.to_frame().equals(before)
    rows = result.table("rows")
    rows["prevalence"] = 2.0
    assert (result.table("rows")["prevalence"].dropna() < 1).all()


def test_a_cohort_where_nobody_is_treated(tmp_path):
    untreated = [people(100, sex="F", age=ages, rls=every(4)), people(100, sex="M", age=ages, rls=every(6))]
    ctx = context(open_engine(tmp_path / "untreated", untreated))
    assert odds_ratio(ctx).estimate("crude_or") is not None
    risk = biomarker_risk(ctx)
    assert risk.n == 0 and risk.estimates == () and has_note(risk, "nothing is estimated")
