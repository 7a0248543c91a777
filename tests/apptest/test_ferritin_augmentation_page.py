"""Ferritin & augmentation page: drug, cut points, reference band and adjusters from the URL; the band table and
the ratios equal the CLI's JSON for the same filters."""

from __future__ import annotations

import pytest

from tests.apptest.conftest import charts, cli_json, dataframe_with, shown

PAGE = "views/ferritin_augmentation.py"
CASES = [
    ("cell_key", {}, []),
    ("exact", {}, []),
    ("cell_key", {"therapy": "pramipexole", "cuts": "50,100", "ref": "50-100"},
     ["--filters", "drug=pramipexole", "--cut-points", "50,100", "--reference-band", "50-100"]),
    ("exact", {"therapy": "pramipexole", "cuts": "30,50,75,100", "ref": "50-75"},
     ["--filters", "drug=pramipexole", "--cut-points", "30,50,75,100", "--reference-band", "50-75"]),
    ("cell_key", {"therapy": "pramipexole", "cuts": "30,50,75,100", "ref": "50-75"},
     ["--filters", "drug=pramipexole", "--cut-points", "30,50,75,100", "--reference-band", "50-75"]),
    ("cell_key", {"sex": "female", "adjust": "age:spline"}, ["--filters", "sex=female", "--adjust", "age:spline"]),
]


def _estimates(at) -> dict[tuple[str, str], str]:
    table = dataframe_with(at, "Measure")
    return {(m, c): e for m, c, e in zip(table["Measure"], table["Comparison"], table["Estimate"])}


@pytest.mark.parametrize(("method", "url", "argv"), CASES)
def test_page_numbers_equal_the_cli(app, app_data, capsys, disclosure_method, method, url, argv):
    """The same numbers in the default (cell-key) mode, released, and in exact mode."""
    policy = disclosure_method(method)
    at = app(url, page=PAGE)
    expected = cli_json(capsys, "biomarker-risk", "--data", str(app_data), *argv)
    assert expected["cohort"]["method"] == method
    bands = dataframe_with(at, "Person-years")
    assert list(bands["Band"]) == [b["band"] for b in expected["bands"]]
    assert list(bands["n"]) == [shown(b["n"], "{:,}") for b in expected["bands"]]
    assert list(bands["Events"]) == [shown(b["events"], "{:,}") for b in expected["bands"]]
    # In cell-key mode some secrets leave the reference band without events in its fine cells, so the CLI has crude
    # ORs but no HR; the page must then show the same ORs and no HR row.
    assert bool(expected["estimates"]) == any("Measure" in d.value.columns for d in at.dataframe)
    estimates = _estimates(at) if expected["estimates"] else {}
    hazard_ratios = {("Hazard ratio", e["label"]): f"{e['estimate']:.2f}" for e in expected["estimates"]
                     if e["measure"] == "hr"}
    assert {k: v for k, v in estimates.items() if k[0] == "Hazard ratio"} == hazard_ratios
    assert len(estimates) == len(expected["estimates"])
    logrank = next(t for t in expected["tests"] if t["test"] == "logrank")
    assert any(f"χ² = {logrank['statistic']:.2f}" in m.value and "log-rank" in m.value for m in at.markdown)
    assert f"N = {expected['n']:,}" in at.subheader[0].value
    assert any(policy.note in c.value for c in at.caption)


def test_km_figure_has_numbers_at_risk_and_reference_lines(app, exact_mode):
    """Exact mode: the figures themselves are under test, and in cell-key mode whether the dose–response curve can
    be fitted depends on the session's random secret (it is fitted on cells of about one participant each)."""
    at = app({}, page=PAGE)
    specs = charts(at)
    assert len(specs) == 3
    dose = specs[1]
    rules = [layer for layer in dose["layer"] if layer["mark"]["type"] == "rule"]
    assert rules, "the dose–response figure draws reference lines"
    km = specs[2]
    assert "vconcat" in km and km["vconcat"][1]["mark"]["type"] == "text"


def test_drug_outside_the_sidebar_selection_empties_the_cohort_with_a_message(app):
    at = app({"drug": "gabapentin", "therapy": "pramipexole"}, page=PAGE)
    assert any("No participant matches" in w.value for w in at.warning)
    assert not charts(at) and not at.dataframe
