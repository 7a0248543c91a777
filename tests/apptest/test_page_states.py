"""States that replace a figure: a cohort too small after filtering, a role the mapping lacks, a model that cannot
be fitted, and a mapped user cohort (one wide CSV) on every analysis page."""

from __future__ import annotations

from analyses.registry import PAGE_ANALYSES

import os

import pytest

from tests.apptest.conftest import charts, cli_json, small_cohort_query
from tests.conftest import ROOT

PAGES = list(dict.fromkeys(spec.page for spec in PAGE_ANALYSES))  # every analysis page, once
USER_COHORT = ROOT / "tests" / "reference" / "data" / "demo_cohort.csv"


@pytest.mark.parametrize("page", PAGES)
def test_too_small_cohort_shows_only_the_message(app, engine, options, page):
    at = app(small_cohort_query(engine, options), page=page)  # released size 1 … 10 (default cell-key mode)
    assert any("Cohort too small" in w.value for w in at.warning), [w.value for w in at.warning]
    assert not charts(at) and not at.dataframe and not at.metric


@pytest.fixture
def user_cohort(app_data):
    """The dashboard pointed at a mapped user cohort (a wide CSV with its mapping file)."""
    os.environ["RLS_DATA"], os.environ["RLS_MAPPING"] = str(USER_COHORT), str(USER_COHORT.with_suffix(".toml"))
    yield
    os.environ["RLS_DATA"] = str(app_data)
    del os.environ["RLS_MAPPING"]


@pytest.mark.parametrize(("page", "analysis", "figures"), [(PAGES[0], "odds-ratio", 1), (PAGES[1], "prevalence", 2),
                                                         (PAGES[2], "biomarker-risk", 3)])
def test_mapped_user_cohort_renders_every_page(app, user_cohort, capsys, page, analysis, figures):
    at = app({"age": "40-90"}, page=page)
    expected = cli_json(capsys, analysis, "--data", str(USER_COHORT),
                        "--mapping", str(USER_COHORT.with_suffix(".toml")),
                        "--filters", "age=40-90")
    # cell-key mode on this small cohort (about 100 treated participants with a ferritin value): the dose–response
    # curve, fitted on cells of about one participant each, cannot always be fitted (it depends on the secret)
    unfitted = "The dose–response curve could not be fitted." in expected["notes"]
    assert len(charts(at)) == figures - unfitted
    assert any("dose–response curve could not be fitted" in w.value for w in at.warning) == unfitted
    assert at.subheader[0].value == expected["caption"]
    assert at.dataframe


def test_missing_role_gives_a_message_in_place_of_the_figures(app, app_data, tmp_path):
    mapping = tmp_path / "no_biomarker.toml"
    text = USER_COHORT.with_suffix(".toml").read_text(encoding="utf-8")
    mapping.write_text(_without_sections(text, ("biomarker", "treatment", "time_to_event")), encoding="utf-8")
    os.environ["RLS_DATA"], os.environ["RLS_MAPPING"] = str(USER_COHORT), str(mapping)
    try:
        at = app({}, page=PAGES[2])
    finally:
        os.environ["RLS_DATA"] = str(app_data)
        del os.environ["RLS_MAPPING"]
    # the page says what the missing roles would add, in place of any control or figure
    assert any("needs a biomarker and a time-to-event outcome" in i.value and "[biomarker]" in i.value
               for i in at.info)
    assert not charts(at) and not at.error


def test_model_that_cannot_be_fitted_explains_itself(app):
    at = app({"sex": "female"}, page=PAGES[0])
    assert any("exactly two levels" in w.value for w in at.warning)
    assert not charts(at)


def _without_sections(toml: str, names: tuple[str, ...]) -> str:
    kept, skipping = [], False
    for line in toml.splitlines():
        if line.startswith("["):
            skipping = line.strip("[] ").split(".")[0] in names
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + "\n"


def test_emptied_sidebar_filter_means_nobody_not_everybody(app):
    at = app({"drug": ""}, page=PAGES[0])
    assert any("No participant matches" in w.value for w in at.warning)
    assert not charts(at)
