"""The aggregate queries behind every page give the same frames on DuckDB and on Spark: filter options, the record
keys, counts per covariate pattern and risk sets (each count with its cell key), attrition, outcome counts and
Table 1's inputs, for several filter states — and the same released counts from them in the default cell-key mode
(the same record keys give the same cell keys, so the same released counts) and in exact mode. Counts and cell keys
must be equal exactly; means, SDs and quantiles to 1e-9 relative."""

from __future__ import annotations

import pytest

from disclosure.record_keys import KEY_RANGE, RECORD_KEY
from queries import aggregates, cohort, filters
from queries.cohort import filter_options
from queries.release import release
from tests.engines.compare import assert_same_frame
from tests.engines.conftest import POLICIES, STATES

pytestmark = pytest.mark.spark
CELL_KEY = POLICIES["cell_key"]


@pytest.fixture(scope="module")
def states(engines):
    """name -> FilterState, parsed once from each query (the options are the DuckDB engine's)."""
    duck, _spark = engines
    options = filter_options(duck)
    out = {}
    for name, query in STATES.items():
        state, problems = filters.parse_query(query(options), options)
        assert problems == [], (name, problems)
        out[name] = state
    return options, out


@pytest.mark.spark_local
def test_filter_options_are_the_same(engines):
    duck, spark = engines
    options = filter_options(spark)
    assert options == filter_options(duck)
    assert len(options.sites) > 1 and len(options.age_bands) > 1 and len(options.drugs) > 1  # a real cohort


@pytest.mark.spark_local
def test_every_participant_has_the_same_record_key(engines):
    """The Spark engine reads the prepared cohort's Parquet export, which carries each participant's record key
    (computed once by DuckDB from the session's secret) — the DuckDB engine computed its own from the same secret."""
    duck, spark = engines
    t = duck.table()
    assert duck.info.schema[RECORD_KEY] == spark.info.schema[RECORD_KEY]
    per_participant = t.group_by("pid").aggregate(key=t[RECORD_KEY].max(), rows=t.count())
    left, right = duck.execute(per_participant), spark.execute(per_participant)
    assert len(left) == duck.info.load.n_participants and (left["rows"] == 1).all()
    assert_same_frame(left, right, "record keys")
    assert left["key"].between(0, KEY_RANGE - 1).all() and left["key"].nunique() > KEY_RANGE // 2


@pytest.mark.parametrize("name", list(STATES))
def test_pattern_counts_and_risk_sets_are_the_same(engines, states, name):
    """The exact counts and their cell keys (``<count>__key``) per row, then the released counts at the query's own
    grain and at a coarser one, under both methods. The risk sets also in their cell-key form (biomarker grouped to
    3 significant digits, follow-up to whole weeks): Spark must group the values as DuckDB does."""
    duck, spark = engines
    options, by_name = states
    state = by_name[name]
    outcome = f"outcome_{state.definition}"
    queries = {f"pattern counts {keys}": (aggregates.pattern_counts(cohort.filtered(duck, state, options), keys,
                                                                    outcome), keys[:1])
               for keys in (["sex", "age"], ["site", "treatment", "cov_bmi_group"])}
    treated = aggregates.treated(cohort.filtered(duck, state, options))
    columns = ["biomarker", "age", "sex", "treatment"]
    queries["risk sets"] = (aggregates.risk_sets(treated, columns, (50.0, 75.0, 100.0)), ["band_index", "event"])
    queries["risk sets, cell-key form"] = (
        aggregates.risk_sets(treated, columns, (50.0, 75.0, 100.0), CELL_KEY.continuous_digits,
                             CELL_KEY.time_step_days), ["band_index", "event"])
    for what, (query, coarser) in queries.items():
        assert_same_frame(duck.execute(query), spark.execute(query), f"{name} {what}")
        for method, policy in POLICIES.items():
            left, right = release(duck, query, policy), release(spark, query, policy)
            assert_same_frame(left.cells(), right.cells(), f"{name} {what} released ({method})")
            assert_same_frame(left.cells(by=coarser), right.cells(by=coarser), f"{name} {what} by {coarser} ({method})")


ATTRITION_STATES = list(STATES)  # "nobody" (an emptied multiselect) once crashed both engines: count(where=) fixed it


@pytest.mark.parametrize("method", list(POLICIES))
@pytest.mark.parametrize("name", ATTRITION_STATES)
def test_attrition_is_the_same(engines, states, name, method):
    duck, spark = engines
    options, by_name = states
    state = by_name[name]
    steps = cohort.attrition(duck, state, options, POLICIES[method])
    assert cohort.attrition(spark, state, options, POLICIES[method]) == steps
    assert len(steps) == 1 + len(filters.predicates(duck.table(), state, options))


@pytest.mark.parametrize("method", list(POLICIES))
@pytest.mark.parametrize("name", list(STATES))
def test_outcome_counts_are_the_same(engines, states, name, method):
    duck, spark = engines
    options, by_name = states
    counts = cohort.outcome_counts(duck, by_name[name], options, POLICIES[method])
    assert cohort.outcome_counts(spark, by_name[name], options, POLICIES[method]) == counts
    assert (counts["n"] == 0) == (name == "nobody")


@pytest.mark.parametrize("method", list(POLICIES))
@pytest.mark.parametrize("name", ["all", "site-and-ages", "nobody"])
def test_table_one_inputs_are_the_same(engines, states, name, method):
    """Cell-key mode: released counts per level and per grouped value of the numeric columns. Exact mode: including
    the exact quartiles: Ibis compiles them to DuckDB's QUANTILE_CONT and Spark's PERCENTILE, both interpolating
    linearly between order statistics."""
    duck, spark = engines
    options, by_name = states
    left = cohort.table_one_inputs(duck, by_name[name], options, POLICIES[method])
    right = cohort.table_one_inputs(spark, by_name[name], options, POLICIES[method])
    assert list(left) == list(right)
    for variable in left:
        assert_same_frame(left[variable], right[variable], f"{name} {variable} ({method})")


def test_cell_keys_over_nobody_and_over_everybody(engines):
    """A cell over no rows: count 0 and a NULL key on both engines (released as 0); over everybody: the key is the
    sum of all record keys modulo the key range, computed here without the engines' modulo."""
    duck, spark = engines
    t = duck.table()
    query = t.aggregate(**aggregates.cell(t, "everybody"), **aggregates.cell(t, "nobody", t.site.isin([])),
                        total=t[RECORD_KEY].cast("int64").sum())
    left, right = duck.execute(query), spark.execute(query)
    assert_same_frame(left, right, "cells")
    row = left.iloc[0]
    assert int(row["nobody"]) == 0 and int(row["everybody"]) == duck.info.load.n_participants
    assert int(row["everybody__key"]) == int(row["total"]) % KEY_RANGE
    for engine in engines:
        released = release(engine, t.aggregate(**aggregates.cell(t, "nobody", t.site.isin([]))), CELL_KEY)
        assert released.total("nobody") == 0


def test_counts_over_nobody_are_missing_on_both(engines):
    """SUM over no rows is NULL on both engines (``queries.cohort._int`` reads it as 0)."""
    duck, spark = engines
    t = duck.table().filter(duck.table().site.isin([]))
    query = t.aggregate(n=t.count(), cases=t.outcome_rls.fill_null(False).cast("int64").sum())
    left, right = duck.execute(query), spark.execute(query)
    assert left["cases"].isna().all() and right["cases"].isna().all()
    assert int(left["n"].iloc[0]) == int(right["n"].iloc[0]) == 0


def test_cells_have_the_same_dtype(engines):
    """A cell's count and key come back with the same dtypes from both engines: the key is narrowed to int32 in the
    query (``queries.aggregates.cell_key``), where DuckDB's SUM of BIGINT alone would be a HUGEINT (float64 in
    pandas) and Spark's an int64."""
    duck, spark = engines
    query = aggregates.pattern_counts(duck.table(), ["sex"], "outcome_rls")
    assert dict(duck.execute(query).dtypes) == dict(spark.execute(query).dtypes)
