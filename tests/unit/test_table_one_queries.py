"""Table 1's queries group text and boolean levels as stored and round numeric values once per distinct value
(cheaper at scale). Their released inputs equal those of the plain queries — every level cast to text and every
value rounded per participant in the engine — for every grouping, in both disclosure modes, on the demo and on
public real cohorts (R's survival: colon, nafld1; LGPL, see tests/data/cohorts/LICENSE.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from disclosure.policy import DisclosurePolicy
from queries import cohort, filters
from queries.aggregates import cell, round_significant
from queries.engine import CohortEngine
from queries.release import release

COHORTS = Path(__file__).resolve().parents[1] / "data" / "cohorts"
POLICIES = [DisclosurePolicy(11, "exact"), DisclosurePolicy(11, "cell_key")]


def _plain_inputs(engine, options, policy, by):
    """Table 1's inputs from the plain per-participant queries (the definition the faster ones must equal)."""
    t = cohort.filtered(engine, filters.default_state(options), options)
    group = cohort.GROUP if by else None
    if by:
        value = t[by].cast("string")
        t = t.mutate(**{cohort.GROUP: value.fill_null(filters.UNTREATED) if by == "treatment" else value})
    keys = [group] if group else []
    out = {"__n__": release(engine, t.group_by(keys).aggregate(**cell(t, "n")) if keys
                            else t.aggregate(**cell(t, "n")), policy).cells()}
    for column, kind in cohort.table_one_variables(engine, by):
        if kind != "numeric":
            query = t.group_by([*keys, t[column].cast("string").name("level")]).aggregate(**cell(t, "n"))
        elif policy.continuous_digits is None:
            query = cohort.numeric_summary(t, column, group)
        else:
            value = round_significant(t[column].cast("float64"), policy.continuous_digits).name("value")
            query = t.group_by([*keys, value]).aggregate(**cell(t, "n"))
        out[column] = release(engine, query, policy).cells()
    return out


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in (cohort.GROUP, "level", "value") if c in frame.columns]
    frame = frame.astype({c: object for c in keys}).where(frame.notna(), None)
    return frame.sort_values(keys, key=lambda s: s.astype(str)).reset_index(drop=True) if keys else frame


def _assert_same_inputs(engine, by, policy):
    options = cohort.filter_options(engine)
    fast = cohort.table_one_inputs(engine, filters.default_state(options), options, policy, by)
    plain = _plain_inputs(engine, options, policy, by)
    assert fast.keys() == plain.keys()
    for name in plain:
        pd.testing.assert_frame_equal(_normalised(fast[name]), _normalised(plain[name]), check_dtype=False,
                                      obj=f"{name} by {by}")


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.method)
@pytest.mark.parametrize("by", ["sex", "site", "outcome_rls", "treatment", "exclude_kidney", None])
def test_demo_table_one_inputs_equal_the_plain_queries(engine, by, policy):
    _assert_same_inputs(engine, by, policy)


@pytest.fixture(scope="module", params=["colon", "nafld1"])
def public_engine(request):
    folder = COHORTS / request.param
    return CohortEngine.open(folder / f"{request.param}.csv", folder / "mapping.toml")


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.method)
def test_public_cohort_table_one_inputs_equal_the_plain_queries_for_every_grouping(public_engine, policy):
    for by in [*cohort.grouping_columns(public_engine), None]:
        _assert_same_inputs(public_engine, by, policy)


def test_columns_split_into_batches_still_give_the_plain_inputs(engine, monkeypatch):
    monkeypatch.setattr(cohort, "JOINT_PATTERNS", 12)  # fewer than the participants, a few levels per batch
    columns = [c for c, kind in cohort.table_one_variables(engine, "sex") if kind != "numeric"]
    batches = cohort.joint_batches(engine, columns, "sex")
    assert [c for batch in batches for c in batch] == columns and len(batches) > 3
    for policy in POLICIES:
        _assert_same_inputs(engine, "sex", policy)


def test_the_categoricals_of_a_cohort_within_the_bound_are_counted_in_one_query(engine):
    assert engine.info.load.n_participants <= cohort.JOINT_PATTERNS
    columns = [c for c, kind in cohort.table_one_variables(engine, "sex") if kind != "numeric"]
    assert cohort.joint_batches(engine, columns, "sex") == [columns]
