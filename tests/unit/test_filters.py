"""Filters: URL codec, whitelist validation, predicates against an independent pandas count, English, attrition."""

from __future__ import annotations

import pytest

from disclosure.policy import DisclosurePolicy
from queries import cohort, filters
from queries.filters import parse_query, to_query

EXACT = DisclosurePolicy(11, "exact")  # counts compared with an independent count are asserted in exact mode
CELL_KEY = DisclosurePolicy(11, "cell_key")


def test_round_trip_of_every_filter(options):
    query = "def=rls_clinsig&site=A,B&sex=female&age=40-79&year=2010-2015&drug=pramipexole,untreated&exclude=secondary"
    state, problems = parse_query(query, options)
    assert problems == []
    assert parse_query(to_query(state, options), options)[0] == state
    assert state.get("age") == (40, 79)
    assert state.get("site") == ("A", "B")


def test_defaults_are_left_out_of_the_url(options):
    state, _ = parse_query("", options)
    assert to_query(state, options) == ""
    assert filters.describe(state, options).startswith("all participants")


@pytest.mark.parametrize("query", [
    "age=41-79",            # not a 5-year band edge: no single-year differencing
    "age=40-78",
    "age=79-40",
    "age=abc",
    "site=Z",
    "site=A,<script>",
    "sex=unknown",
    "year=1990-2015",
    "def=not_an_outcome",
    "exclude=kidney",        # one condition alone is too thin a slice: only all secondary causes together
    "exclude=secondary,nothing",
    "drug=aspirin",
])
def test_values_outside_the_whitelist_are_reset_with_a_message(options, query):
    state, problems = parse_query(query, options)
    assert state == filters.default_state(options)
    assert len(problems) == 1
    value = query.split("=", 1)[1]
    assert value not in problems[0] or value.isalpha() and len(value) < 3


def test_unknown_key_is_ignored(options):
    state, problems = parse_query("drop_table=1&sex=male", options)
    assert state.get("sex") == ("male",)
    assert problems == ["An unknown filter key was ignored."]


def test_age_open_top_band(options):
    for query in ("age=80%2B", "age=80+", "age=80-90"):  # '+' arrives as a space when not escaped
        state, problems = parse_query(query, options)
        assert problems == [] and state.get("age") == (80, 90)
    assert to_query(state, options) == "age=80-90"
    assert "aged 80 or over" in filters.describe(state, options)


def test_english_description(options):
    state, _ = parse_query("sex=female&site=A,B&age=40-79&exclude=secondary&def=rls_clinsig", options)
    text = filters.describe(state, options)
    assert text.startswith("at sites A or B; women; aged 40–79; excluding pregnancy, CKD or dialysis, "
                           "iron-deficiency anaemia and antidepressant use")
    assert "Clinically significant RLS" in text


def test_counts_match_an_independent_pandas_count(engine, options, participants):
    state, _ = parse_query("sex=female&site=A,B&age=40-79&exclude=secondary", options)
    got = cohort.outcome_counts(engine, state, options, EXACT)
    p = participants
    keep = ((p.sex == "F") & p.site.isin(["A", "B"]) & p.age.between(40, 79) & (p.pregnant != 1)
            & ~p.kidney_disease.isin(["ckd", "dialysis"]) & (p.iron_deficiency_anaemia != 1) & (p.antidepressant != 1))
    assert got["n"] == int(keep.sum())
    assert got["cases"] == int(p.loc[keep, "rls_irlssg"].sum())
    released = cohort.outcome_counts(engine, state, options, CELL_KEY)
    assert abs(released["n"] - got["n"]) <= 3 and abs(released["cases"] - got["cases"]) <= 3


def test_drug_filter_matches_first_episode(engine, options, demo_dir, participants):
    import pandas as pd

    treatments = pd.read_parquet(demo_dir / "treatments.parquet")
    first = treatments.sort_values(["participant_id", "start_day", "episode"]).groupby("participant_id").head(1)
    state, _ = parse_query("drug=levodopa,untreated", options)
    expected = (first.drug == "levodopa").sum() + (len(participants) - len(first))
    assert cohort.outcome_counts(engine, state, options, EXACT)["n"] == expected


def test_attrition_accounts_for_everyone(engine, options):
    state, _ = parse_query("sex=female&age=40-79&exclude=secondary", options)
    steps = cohort.attrition(engine, state, options, EXACT)
    assert [s.description for s in steps] == ["All participants loaded", "Women", "Aged 40–79", "Excluding pregnancy, "
                                              "CKD or dialysis, iron-deficiency anaemia and antidepressant use"]
    assert steps[0].remaining - sum(s.removed for s in steps) == steps[-1].remaining
    assert steps[-1].remaining == cohort.outcome_counts(engine, state, options, EXACT)["n"]


def test_released_attrition_is_consistent_with_the_cohort_size(engine, options):
    """Cell-key mode: each step is its own cell, so the chain need not add up, but the same participants give the
    same count: the last step's remaining equals the cohort size the Overview shows, and each count is within the
    perturbation of the exact one."""
    state, _ = parse_query("sex=female&age=40-79&exclude=secondary", options)
    released = cohort.attrition(engine, state, options, CELL_KEY)
    exact = cohort.attrition(engine, state, options, EXACT)
    assert [s.description for s in released] == [s.description for s in exact]
    assert released[-1].remaining == cohort.outcome_counts(engine, state, options, CELL_KEY)["n"]
    for got, want in zip(released, exact):
        assert abs(got.remaining - want.remaining) <= 3 and abs(got.removed - want.removed) <= 3
    assert released[0].removed == 0


@pytest.mark.parametrize("query", ["site=", "sex=", "drug="])
def test_attrition_of_an_emptied_multiselect_removes_everyone(engine, options, query):
    state, _ = parse_query(query, options)
    steps = cohort.attrition(engine, state, options, EXACT)
    assert steps[-1].remaining == 0 and steps[-1].removed == steps[0].remaining == 20_000
    released = cohort.attrition(engine, state, options, CELL_KEY)  # the same participants, the same released count
    assert released[-1].remaining == 0 and released[-1].removed == released[0].remaining
    assert abs(released[0].remaining - 20_000) <= 3


def test_filter_values_reach_sql_only_as_whitelisted_literals(engine, options):
    state, _ = parse_query("site=A,B", options)
    sql = engine.sql(cohort.filtered(engine, state, options).count())
    assert "'A'" in sql and "'B'" in sql
    hostile, problems = parse_query("site=A');DROP TABLE cohort;--", options)
    assert problems and hostile == filters.default_state(options)
    assert "DROP" not in engine.sql(cohort.filtered(engine, hostile, options).count())
