"""Age & prevalence page: URL-bound controls, and the numbers on the page equal the CLI's JSON for the same
filters, options and disclosure method (released counts in the default cell-key mode, exact ones in exact mode)."""

from __future__ import annotations

import pytest

from tests.apptest.conftest import charts, cli_json, dataframe_with, metric, shown

PAGE = "views/age_prevalence.py"
CASES = [
    ("cell_key", {}, []),
    ("exact", {}, []),
    ("cell_key", {"sex": "female", "bands": "5", "standard": "us2000"},  # 5-year bands: small cells in the table
     ["--filters", "sex=female", "--age-bands", ",".join(map(str, range(25, 90, 5))), "--standard", "us2000"]),
    ("exact", {"site": "A,B,C", "outcome": "rls_clinsig", "bands": "20", "standard": "who2000"},
     ["--filters", "site=A,B,C", "--outcome", "rls_clinsig", "--age-bands", "40,60,80", "--standard", "who2000"]),
]


@pytest.mark.parametrize(("method", "url", "argv"), CASES)
def test_page_numbers_equal_the_cli(app, app_data, capsys, disclosure_method, method, url, argv):
    policy = disclosure_method(method)
    at = app(url, page=PAGE)
    expected = cli_json(capsys, "prevalence", "--data", str(app_data), *argv)
    assert expected["cohort"]["method"] == method
    if "standard" not in url:
        expected["estimates"] = [e for e in expected["estimates"] if e.get("standard") in (None, "esp2013")]
    for sex, peak in expected["peak"].items():
        assert metric(at, f"Peak age, {sex}") == ("–" if peak["at_edge"] else f"{peak['age']:.1f} y")
    by_sex = {e["group"]: e for e in expected["estimates"] if e["measure"] == "standardized_prevalence"}
    for sex, estimate in by_sex.items():
        assert metric(at, f"Standardized, {sex}") == f"{100 * estimate['estimate']:.1f}%"
    ratio = [e for e in expected["estimates"] if e["measure"] == "standardized_ratio"]
    if ratio:
        assert metric(at, "Women / men") == f"{ratio[0]['estimate']:.2f}"
    table = dataframe_with(at, "Age band")
    assert list(table["Age band"]) == [r["age_band"] for r in expected["rows"]]
    assert list(table["n"]) == [shown(r["n"], "{:,}") for r in expected["rows"]]
    assert list(table["Prevalence"]) == [shown(r["prevalence"] and 100 * r["prevalence"], "{:.1f}%")
                                         for r in expected["rows"]]
    assert f"N = {expected['n']:,}" in at.subheader[0].value
    assert any(policy.note in c.value for c in at.caption)


def test_controls_come_from_the_url_and_bad_values_fall_back(app):
    at = app({"bands": "5", "standard": "nonsense"}, page=PAGE)
    assert at.selectbox(key="control_bands").value == "5"
    assert at.selectbox(key="control_standard").value == "esp2013"
    assert not at.warning or all("unknown filter" not in w.value for w in at.warning)


def test_figures_use_the_shared_theme_and_fixed_sex_colours(app):
    at = app({}, page=PAGE)
    specs = charts(at)
    assert len(specs) == 2
    curve = specs[0]
    assert curve["config"]["range"]["category"][0] == "#E69F00"
    colours = [layer["encoding"]["color"]["scale"] for layer in curve["layer"] if "color" in layer["encoding"]]
    assert all(scale == {"domain": ["women", "men"], "range": ["#CC79A7", "#0072B2"]} for scale in colours)
    assert {b.label for b in at.get("download_button")} >= {"PNG", "SVG", "CSV"}
    captions = [c.value for c in at.caption]
    assert any("Cohort: all participants; N = " in c and "Wilson" in c for c in captions)
