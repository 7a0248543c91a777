"""Overview page: cohort size, attrition and Table 1 match the query layer; filters round-trip the URL."""

from __future__ import annotations

import pytest

from queries import cohort, filters
from tests.apptest.conftest import metric


def test_overview_shows_the_whole_cohort(app, engine, options):
    at = app()
    counts = cohort.outcome_counts(engine, filters.default_state(options), options)
    assert metric(at, "Participants") == f"{counts['n']:,}"
    assert metric(at, "Cases") == f"{counts['cases']:,}"
    assert [s.value for s in at.subheader][:2] == ["Attrition", "Table 1 by sex"]
    table_one = at.dataframe[1].value
    assert {"Variable", "Level", "SMD"} <= set(table_one.columns)


@pytest.mark.usefixtures("guard_off")
def test_url_filters_are_applied_and_described(app, engine, options):
    query = {"sex": "female", "age": "40-79", "site": "A,B", "exclude": "secondary"}
    at = app(query)
    state, problems = filters.parse_query(query, options)
    assert problems == []
    expected = cohort.outcome_counts(engine, state, options)["n"]
    assert metric(at, "Participants") == f"{expected:,}"
    attrition = at.dataframe[0].value
    assert list(attrition["Step"]) == ["All participants loaded", "At sites A or B", "Women", "Aged 40–79",
                                       "Excluding pregnancy, CKD or dialysis, iron-deficiency anaemia and "
                                       "antidepressant use"]
    assert attrition["Remaining"].iloc[-1] == f"{expected:,}"
    assert "women; aged 40–79" in at.caption[0].value


def test_changing_a_filter_updates_numbers_and_url(app, engine, options):
    at = app()
    at.multiselect(key="filter_sex").set_value(["male"]).run()
    assert at.query_params["sex"] == "male"
    state = filters.parse_query("sex=male", options)[0]
    assert metric(at, "Participants") == f"{cohort.outcome_counts(engine, state, options)['n']:,}"
    at.select_slider(key="filter_age").set_value(("40-44", "75-79")).run()
    assert at.query_params["age"] == "40-79"


def test_bad_url_values_are_reset_with_a_warning(app):
    at = app({"age": "41-79", "site": "Z';--"})
    assert len(at.sidebar.warning) == 2
    assert all("Z';--" not in w.value for w in at.sidebar.warning)
    assert "age" not in at.query_params and "site" not in at.query_params


def _small_cohort_query(engine, options) -> dict:
    """A filter state on the demo with between 1 and 10 participants."""
    for site in options.sites:
        for year in options.years:
            query = {"age": "85-90", "sex": "male", "site": site, "year": f"{year}-{year}"}
            n = cohort.outcome_counts(engine, filters.parse_query(query, options)[0], options)["n"]
            if 0 < n < 11:
                return query
    raise AssertionError("the demo has no small cell to test with")


def test_too_small_cohort_shows_nothing_else(app, engine, options):
    at = app(_small_cohort_query(engine, options))
    assert any("Cohort too small" in w.value for w in at.warning), [w.value for w in at.warning] + [m.value for m in at.metric]
    assert len(at.metric) == 0 and len(at.dataframe) == 0  # the message and nothing else


def test_links_into_the_analyses_carry_the_current_filters(app):
    at = app({"sex": "female", "age": "40-79"})
    links = at.get("page_link")
    assert [link.proto.page for link in links] == ["sex-differences", "age-prevalence", "ferritin-augmentation"]
    assert all(link.proto.query_string == "sex=female&age=40-79" for link in links)
