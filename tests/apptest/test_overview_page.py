"""Overview page: cohort size, attrition and Table 1 match the query layer's released counts (the default cell-key
mode) or its exact ones (exact mode); filters round-trip the URL."""

from __future__ import annotations

from analyses.registry import PAGE_ANALYSES
from disclosure.policy import DisclosurePolicy
from queries import cohort, filters
from tests.apptest.conftest import CELL_KEY, metric, small_cohort_query

QUERY = {"sex": "female", "age": "40-79", "site": "A,B", "exclude": "secondary"}
STEPS = ["All participants loaded", "At sites A or B", "Women", "Aged 40–79",
         "Excluding pregnancy, CKD or dialysis, iron-deficiency anaemia and antidepressant use"]


def test_overview_shows_the_whole_cohort(app, engine, options):
    at = app()
    counts = cohort.outcome_counts(engine, filters.default_state(options), options, CELL_KEY)
    assert metric(at, "Participants") == f"{counts['n']:,}"
    assert metric(at, "Cases") == f"{counts['cases']:,}"
    assert [s.value for s in at.subheader][:2] == ["Attrition", "Table 1 by sex"]
    assert any(CELL_KEY.note in c.value for c in at.caption)  # "Counts are perturbed (cell key method, …"
    attrition, table_one = at.dataframe[0].value, at.table[0].value  # Table 1: a static table, shown whole
    assert list(attrition["Remaining"]) == [f"{counts['n']:,}"]  # the same participants: the same released count
    assert {"Variable", "Level", "SMD"} <= set(table_one.columns)


def test_url_filters_are_applied_and_attrition_shows_released_counts(app, engine, options):
    """Default (cell-key) mode: every attrition cell is the release layer's count for those participants, shown on
    its own; the last step and the Participants metric are the same cell, so they agree."""
    at = app(QUERY)
    state, problems = filters.parse_query(QUERY, options)
    assert problems == []
    released = cohort.attrition(engine, state, options, CELL_KEY)
    exact = cohort.attrition(engine, state, options, DisclosurePolicy(11, "exact"))
    expected = cohort.outcome_counts(engine, state, options, CELL_KEY)["n"]
    assert metric(at, "Participants") == f"{expected:,}" == f"{released[-1].remaining:,}"
    attrition = at.dataframe[0].value
    assert list(attrition["Step"]) == STEPS
    assert list(attrition["Remaining"]) == [CELL_KEY.show_count(s.remaining) for s in released]
    assert list(attrition["Removed"]) == [""] + [CELL_KEY.show_count(s.removed) for s in released[1:]]
    for shown, true in zip(released, exact):  # perturbed by at most D = 3
        assert abs(shown.remaining - true.remaining) <= 3 and abs(shown.removed - true.removed) <= 3
    assert "women; aged 40–79" in at.caption[0].value


def test_exact_mode_attrition_shows_exact_counts_that_add_up(app, engine, options, exact_mode):
    at = app(QUERY)
    state = filters.parse_query(QUERY, options)[0]
    steps = cohort.attrition(engine, state, options, exact_mode)
    assert metric(at, "Participants") == f"{steps[-1].remaining:,}"
    assert any(exact_mode.note in c.value for c in at.caption)  # "Exact counts. …"
    attrition = at.dataframe[0].value
    assert list(attrition["Step"]) == STEPS
    remaining = [int(v.replace(",", "")) for v in attrition["Remaining"]]
    removed = [int(v.replace(",", "")) for v in attrition["Removed"][1:]]
    assert remaining == [s.remaining for s in steps]
    assert all(before - gone == after for before, gone, after in zip(remaining, removed, remaining[1:]))


def test_changing_a_filter_updates_numbers_and_url(app, engine, options):
    at = app()
    at.multiselect(key="filter_sex").set_value(["male"]).run()
    assert at.query_params["sex"] == "male"
    state = filters.parse_query("sex=male", options)[0]
    assert metric(at, "Participants") == f"{cohort.outcome_counts(engine, state, options, CELL_KEY)['n']:,}"
    at.select_slider(key="filter_age").set_value(("40-44", "75-79")).run()
    assert at.query_params["age"] == "40-79"


def test_bad_url_values_are_reset_with_a_warning(app):
    at = app({"age": "41-79", "site": "Z';--"})
    assert len(at.sidebar.warning) == 2
    assert all("Z';--" not in w.value for w in at.sidebar.warning)
    assert "age" not in at.query_params and "site" not in at.query_params


def test_too_small_cohort_shows_nothing_else(app, engine, options):
    at = app(small_cohort_query(engine, options))
    assert any("Cohort too small" in w.value for w in at.warning), \
        [w.value for w in at.warning] + [m.value for m in at.metric]
    assert len(at.metric) == 0 and len(at.dataframe) == 0  # the message and nothing else


def test_links_into_the_analyses_carry_the_current_filters(app):
    at = app({"sex": "female", "age": "40-79"})
    links = at.get("page_link")
    pages = [link.proto.page for link in links]
    assert pages == ["sex-differences", "age-prevalence", "ferritin-augmentation", "diagnostic-accuracy",
                     "risk-factors", "trends-sites"]  # Trends & sites shows two analyses and is linked once
    assert len({spec.page for spec in PAGE_ANALYSES}) == len(pages)
    assert all(link.proto.query_string == "sex=female&age=40-79" for link in links)


def test_table_one_by_case_status_with_p_values_from_the_url(app, engine, options):
    """``group=`` and ``pvalues=`` bind Table 1's grouping and its p-values to the link; the columns are the released
    group sizes."""
    at = app({"group": "outcome_rls", "pvalues": "1"})
    table = at.table[0].value
    inputs = cohort.table_one_inputs(engine, filters.default_state(options), options, CELL_KEY, "outcome_rls")
    n = inputs["__n__"].set_index("group")["n"]
    assert list(table.columns[2:4]) == [f"Cases (N = {n['true']:,})", f"Non-cases (N = {n['false']:,})"]
    assert {"SMD", "p", "Test"} <= set(table.columns)
    assert "RLS (four IRLSSG criteria)" not in set(table["Variable"])  # the grouping is a heading, not a row
    assert [s.value for s in at.subheader][1] == "Table 1 by RLS (four IRLSSG criteria)"
    assert at.toggle(key="control_pvalues").value is True


def test_an_unknown_grouping_in_the_url_falls_back_to_sex_with_a_warning(app):
    at = app({"group": "participant_id"})
    assert any("`group=`" in w.value for w in at.warning)
    assert [s.value for s in at.subheader][1] == "Table 1 by sex"
