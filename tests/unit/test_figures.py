"""Figures drawn from result objects: one per part of each analysis, shared theme and colours, captions naming the
cohort, and nothing the disclosure gate withheld."""

from __future__ import annotations

import pytest

from analyses.biomarker_risk import BiomarkerRiskOptions, biomarker_risk
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from analyses.registry import figures_for
from analyses.figures.biomarker_risk import at_risk_rows
from analyses.figures.prevalence import band_points
from analyses.figures.theme import OKABE_ITO, SEX_COLORS, band_colors
from analyses.odds_ratio import OddsRatioOptions, odds_ratio
from analyses.prevalence import PrevalenceOptions, prevalence


def _results(engine, policy: DisclosurePolicy) -> dict:
    ctx = AnalysisContext.from_query(engine, "age=40-79", policy)[0]
    return {"odds-ratio": odds_ratio(ctx, OddsRatioOptions()),
            "prevalence": prevalence(ctx, PrevalenceOptions(standard="esp2013")),
            "biomarker-risk": biomarker_risk(ctx, BiomarkerRiskOptions())}


@pytest.fixture(scope="module")
def results(engine):
    # exact mode: every figure is drawn whatever the session's cell-key secret (in cell-key mode the dose–response
    # model, fitted on cells of about one participant, may fail to fit)
    return _results(engine, DisclosurePolicy(11, "exact"))


@pytest.fixture(scope="module")
def released(engine):
    return _results(engine, DisclosurePolicy(11, "cell_key"))


FIGURES = {"odds-ratio": ["forest"], "prevalence": ["curve", "standardized"],
           "biomarker-risk": ["effects", "dose_response", "km"]}


@pytest.mark.parametrize(("analysis", "keys"), FIGURES.items())
def test_each_analysis_has_its_figures_with_captions(results, analysis, keys):
    result = results[analysis]
    figures = figures_for(result)
    assert [f.key for f in figures] == keys
    for figure in figures:
        assert f"Cohort: {result.cohort.description}; N = {result.n:,}." in figure.caption
        assert "Counts below 11 are withheld." in figure.caption and "perturbed" not in figure.caption
        assert not figure.data.empty
        spec = figure.spec()
        assert spec["config"]["range"]["category"] == list(OKABE_ITO)


@pytest.mark.parametrize("analysis", FIGURES)
def test_cell_key_captions_say_the_counts_are_perturbed(released, analysis):
    result = released[analysis]
    figures = figures_for(result)
    drawn = [f.key for f in figures if f.key != "dose_response"]  # only the dose–response curve may be missing
    assert drawn == [k for k in FIGURES[analysis] if k != "dose_response"]
    for figure in figures:
        assert f"Cohort: {result.cohort.description}; N = {result.n:,}." in figure.caption
        assert "Counts perturbed (cell key method); counts below 11 are withheld." in figure.caption
        assert not figure.data.empty


def test_captions_without_a_threshold_say_nothing_is_withheld(engine):
    ctx = AnalysisContext.from_query(engine, "age=40-79", DisclosurePolicy(0))[0]
    for figure in figures_for(odds_ratio(ctx, OddsRatioOptions())):
        assert "withheld" not in figure.caption and "perturbed" not in figure.caption


def test_presentation_scale_enlarges_type_and_height(results):
    figure = figures_for(results["prevalence"])[0]
    screen, projector = figure.spec(), figure.spec(scale=1.6)
    assert projector["config"]["axis"]["labelFontSize"] > screen["config"]["axis"]["labelFontSize"]
    assert projector["height"] == round(screen["height"] * 1.6)
    assert "width" not in screen and figure.spec(export=True)["width"] == 720


def test_sex_and_band_colours_are_fixed(results):
    curve = figures_for(results["prevalence"])[0].spec()
    scales = [layer["encoding"]["color"]["scale"] for layer in curve["layer"] if "color" in layer["encoding"]]
    assert scales and all(s["range"] == [SEX_COLORS["women"], SEX_COLORS["men"]] for s in scales)
    km = figures_for(results["biomarker-risk"])[2].spec()
    plot = km["vconcat"][0]["layer"][1]["encoding"]["color"]["scale"]
    assert plot == {"domain": ["<50", "50-75", "75-100", ">=100"], "range": band_colors(["a", "b", "c", "d"])}


def test_withheld_values_are_not_drawn(engine):
    ctx = AnalysisContext.from_query(engine, "site=H&age=60-79", DisclosurePolicy(11))[0]
    result = prevalence(ctx, PrevalenceOptions())
    rows = result.table("rows")
    withheld = rows[rows["suppressed"]]
    assert len(withheld), "the test cohort must have withheld bands"
    drawn = band_points(result)
    assert not set(zip(withheld["sex"], withheld["age_band"])) & set(zip(drawn["sex"], drawn["age_band"]))

    small = biomarker_risk(AnalysisContext.from_query(engine, "drug=pramipexole", DisclosurePolicy(11))[0],
                           BiomarkerRiskOptions())
    km = small.table("km")
    hidden = km["at_risk"].isna()
    assert hidden.any(), "the test cohort must have withheld numbers at risk"
    texts = at_risk_rows(small)["text"]
    assert (texts[hidden] == "withheld").all() and not texts[~hidden].eq("withheld").any()


def test_a_result_with_nothing_to_draw_has_no_figures(engine):
    ctx = AnalysisContext.from_query(engine, "sex=female", DisclosurePolicy(11))[0]
    assert figures_for(odds_ratio(ctx, OddsRatioOptions())) == []


def test_figure_data_is_what_the_chart_draws(results):
    forest = figures_for(results["odds-ratio"])[0]
    assert list(forest.data["row"])[-3:] == ["Crude (all)", "Mantel–Haenszel (all)", "Adjusted (all)"]
    effects, _, km = figures_for(results["biomarker-risk"])
    assert set(effects.data["measure"]) == {"Crude OR", "Adjusted OR", "Adjusted HR"}
    assert len(km.data) == len(results["biomarker-risk"].table("km_curve"))
    standardized = figures_for(results["prevalence"])[1]
    assert set(standardized.data["sex"]) == {"women", "men"}


def test_all_bands_withheld_gives_no_curve_figure(engine):
    # exact mode: every band of this subgroup has 3 cases, and curves from withheld counts are withheld too (in
    # cell-key mode a count of 3 may be released as 0, and estimates from released counts are not withheld)
    ctx = AnalysisContext.from_query(engine, "site=A&age=18-29&year=2008-2010", DisclosurePolicy(11, "exact"))[0]
    result = prevalence(ctx, PrevalenceOptions())
    assert band_points(result).empty and result.table("curve").empty
    assert [f.key for f in figures_for(result)] == []


def test_small_bands_are_not_drawn_in_cell_key_mode(engine):
    # each sex has 4 to 7 cases in its one band: released as 1 to 10, never 0, so always shown as "<11"
    ctx = AnalysisContext.from_query(engine, "site=A&age=18-29&year=2017-2019", DisclosurePolicy(11))[0]
    result = prevalence(ctx, PrevalenceOptions())
    rows = result.table("rows")
    assert set(rows.loc[rows["suppressed"], "age_band"]) == {"18-29"} and rows["suppressed"].sum() == 2
    assert band_points(result).empty
    if result.table("curve").empty:  # no band point to draw and no curve fitted: no curve figure
        assert "curve" not in [f.key for f in figures_for(result)]
