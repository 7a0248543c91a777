"""Figure layout defects seen in screenshots: tick labels that repeat ("0% 1% 1% 2%"), peak labels with varying
decimals over the error bars, titles cut with "…", a log axis bare between 1 and 2, numbers at risk without time 0
and crowding together, presentation charts taller than the screen, exported files that do not name their cohort.
The charts are rendered with vl-convert (as the exports are) and their text read back from the SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import vl_convert as vlc

from analyses import exports
from analyses.biomarker_risk import BiomarkerRiskOptions, biomarker_risk
from analyses.context import AnalysisContext
from analyses.display import prevalence_summary
from analyses.registry import figures_for
from analyses.figures.biomarker_risk import KM_WIDTH, at_risk_labels, km_end
from analyses.figures.figure import TITLE_CHARS, log_ticks
from analyses.odds_ratio import OddsRatioOptions, odds_ratio
from analyses.prevalence import PrevalenceOptions, prevalence
from disclosure.policy import DisclosurePolicy

EXACT = DisclosurePolicy(11, "exact")


@pytest.fixture(scope="module")
def prevalence_result(engine):
    return prevalence(AnalysisContext.from_query(engine, "", EXACT)[0], PrevalenceOptions(standard="esp2013"))


@pytest.fixture(scope="module")
def biomarker_result(engine):
    return biomarker_risk(AnalysisContext.from_query(engine, "", EXACT)[0], BiomarkerRiskOptions())


def figure(result, key):
    return next(f for f in figures_for(result) if f.key == key)


def svg_texts(spec: dict, role: str | None = None) -> list[str]:
    """The text of every <text> of the rendered chart, or only of the marks of ``role`` (e.g. "axis-label")."""
    root = ET.fromstring(vlc.vegalite_to_svg(spec, vl_version=exports.VL_VERSION, allowed_base_urls=[]))
    groups = [g for g in root.iter() if role is None or f"role-{role}" in (g.get("class") or "")]
    texts = [t for g in groups for t in g.iter() if t.tag.endswith("}text") or t.tag == "text"]
    return [" ".join(s.strip() for s in t.itertext() if s.strip()) for t in texts]


def test_percent_axis_labels_never_repeat(prevalence_result):
    """The standardized prevalence axis runs 0–11% in half-percent steps: with no decimals it read
    "0% 1% 1% 2% 2%" and put 10.4% under an "11%" label."""
    labels = [t for t in svg_texts(figure(prevalence_result, "standardized").spec(export=True), "axis-label")
              if t.endswith("%")]
    assert len(labels) >= 4
    assert len(labels) == len(set(labels)), labels
    values = [float(t.rstrip("%")) for t in labels]
    assert values == sorted(values)


def test_peak_ages_have_one_decimal_and_no_label_over_the_data(prevalence_result):
    peaks = prevalence_result.details.peak
    spec = figure(prevalence_result, "curve").spec()
    assert not [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"], \
        "peak labels drawn in the plot cross the error bars"
    legend = next(layer["encoding"]["color"]["legend"] for layer in spec["layer"] if "color" in layer["encoding"])
    for sex, peak in peaks.items():
        if not peak["at_edge"]:
            assert f"'{sex}, peak {peak['age']:.1f} y'" in legend["labelExpr"]
    shown = {m.label: m.value for m in prevalence_summary(prevalence_result)}
    for sex in ("women", "men"):
        assert re.fullmatch(r"\d+\.\d y|–", shown[f"Peak age, {sex}"])


def test_long_titles_wrap_instead_of_being_cut(engine):
    """The clinically significant outcome's label makes titles of about 150 characters."""
    result = prevalence(AnalysisContext.from_query(engine, "def=rls_clinsig", EXACT)[0],
                        PrevalenceOptions(outcome="rls_clinsig"))
    for fig in figures_for(result):
        title = fig.spec()["title"]
        assert isinstance(title, list) and len(title) > 1
        assert all(len(line) <= TITLE_CHARS for line in title)
        assert " ".join(title) == fig.title
        texts = svg_texts(fig.spec(export=True), "title-text")
        assert not any("…" in t for t in texts)


def test_log_axis_has_labels_between_1_and_2(biomarker_result):
    assert [t for t in log_ticks(0.6, 2.2) if 1 < t < 2]
    effects = figure(biomarker_result, "effects").spec(export=True)
    labels = [float(t) for t in svg_texts(effects, "axis-label") if re.fullmatch(r"\d+(\.\d+)?", t)]
    assert 1.0 in labels and [v for v in labels if 1 < v < 2], labels


def test_numbers_at_risk_start_at_zero_and_do_not_crowd(biomarker_result):
    labels = at_risk_labels(biomarker_result)
    curve = biomarker_result.table("km_curve")
    times = sorted(labels["time"].unique())
    assert times[0] == 0.0
    start = curve[curve["time"] == 0].set_index("band")["at_risk"]
    zero = labels[labels["time"] == 0].set_index("band")["text"]
    assert all(zero[b] == f"{int(n):,}" for b, n in start.items() if n == n)
    # one label (9 px a character) and a gap between neighbouring times on the 640 px axis
    px_per_year = KM_WIDTH / km_end(biomarker_result)
    widest = labels["text"].str.len().max() * 9
    assert all((b - a) * px_per_year >= widest for a, b in zip(times, times[1:])), times
    # the time axis runs as far as the curves do
    spec = figure(biomarker_result, "km").spec()
    domain = spec["vconcat"][0]["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert domain[1] >= curve["time"].astype(float).max()


def test_presented_charts_fit_their_container(prevalence_result, biomarker_result):
    curve = figure(prevalence_result, "curve").spec(scale=1.6, titled=False, fit=True)
    assert curve["height"] == "container" and curve["autosize"]["type"] == "fit"
    km = figure(biomarker_result, "km").spec(scale=1.6, titled=False, fit=True)
    assert km["vconcat"][0]["height"] == 320  # the main plot is not enlarged, so plot, table and legend fit
    assert km["vconcat"][1]["height"] > 24 * 4  # the rows of numbers grow with their type


@pytest.mark.parametrize("render", [exports.figure_svg, exports.figure_png])
def test_exported_figures_carry_their_caption(prevalence_result, render):
    fig = figure(prevalence_result, "standardized")
    plain, captioned = render(fig), render(fig, captioned=True)
    assert captioned != plain
    if render is exports.figure_svg:
        text = " ".join(svg_texts(fig.spec(export=True, captioned=True)))
        assert f"Cohort: {prevalence_result.cohort.description}; N = {prevalence_result.n:,}." in text
        assert "Counts below 11 are withheld." in text
        assert "Cohort:" not in " ".join(svg_texts(fig.spec(export=True)))
    else:
        assert exports_png_height(captioned) > exports_png_height(plain) + 40


def exports_png_height(png: bytes) -> int:
    return int.from_bytes(png[20:24], "big")


def test_forest_plot_of_odds_ratios_labels_its_log_axis(engine):
    result = odds_ratio(AnalysisContext.from_query(engine, "", EXACT)[0], OddsRatioOptions())
    values = figures_for(result)[0].spec()["layer"][1]["encoding"]["x"]["axis"]["values"]
    assert 1.0 in values and len(values) >= 3
