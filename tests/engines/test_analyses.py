"""Every analysis gives the same result on DuckDB and on Spark — estimates, tests, notes, tables, extras (floats to
1e-9 relative) — or is refused with the same message; Table 1 is the same; the differencing guard gives the same
verdict for the same filter state."""

from __future__ import annotations

import random

import pytest

from analyses import differencing
from analyses.biomarker_risk import BiomarkerRiskOptions
from analyses.context import AnalysisContext
from analyses.differencing import Shown
from disclosure.policy import DisclosurePolicy
from analyses.odds_ratio import OddsRatioOptions
from analyses.prevalence import PrevalenceOptions
from analyses.registry import run_analysis
from analyses.table_one import table_one
from analyses.variables import AnalysisInputError
from queries import filters
from queries.cohort import filter_options, table_one_inputs, table_one_variables
from tests.engines.compare import assert_close, assert_same_frame, assert_same_result
from tests.engines.conftest import STATES

pytestmark = pytest.mark.spark

POLICY = DisclosurePolicy(11)
ANALYSES = {"odds-ratio": OddsRatioOptions, "prevalence": PrevalenceOptions, "biomarker-risk": BiomarkerRiskOptions}


def _run(engine, query: str, name: str):
    ctx, problems = AnalysisContext.from_query(engine, query, POLICY)
    assert problems == []
    try:
        return run_analysis(ctx, name, ANALYSES[name]())
    except AnalysisInputError as exc:  # refused (the guard, too few participants): the refusal is the result
        return exc


@pytest.mark.parametrize("name", list(ANALYSES))
@pytest.mark.parametrize("state", list(STATES))
def test_analysis_gives_the_same_result(engines, state, name):
    duck, spark = engines
    query = STATES[state](filter_options(duck))
    left, right = _run(duck, query, name), _run(spark, query, name)
    if isinstance(left, Exception) or isinstance(right, Exception):
        assert type(left) is type(right) and str(left) == str(right), f"DuckDB: {left!r}; Spark: {right!r}"
    else:
        assert_same_result(left, right)
        assert left.queries and all("`" in q for q in right.queries)  # each engine's own SQL is recorded


def test_the_comparisons_cover_results_and_refusals(engine):
    """The states above must give both computed results and refusals, or the test above compares too little (the
    DuckDB side decides; the test above asserts Spark gives the same)."""
    options = filter_options(engine)
    lefts = [_run(engine, STATES[state](options), name) for state in STATES for name in ANALYSES]
    assert {isinstance(left, Exception) for left in lefts} == {True, False}
    assert sum(not isinstance(left, Exception) for left in lefts) >= 10


@pytest.mark.parametrize("state", ["all", "women", "site-and-ages"])
def test_table_one_is_the_same(engines, state):
    duck, spark = engines
    options = filter_options(duck)
    parsed, _ = filters.parse_query(STATES[state](options), options)
    variables = [(column, kind, column) for column, kind in table_one_variables(duck)]
    left = table_one(table_one_inputs(duck, parsed, options), variables, POLICY, "cohort")
    right = table_one(table_one_inputs(spark, parsed, options), variables, POLICY, "cohort")
    assert (left.groups, left.group_n, left.caption, left.notes) == (right.groups, right.group_n, right.caption,
                                                                     right.notes)
    assert [(r.variable, r.level, r.cells) for r in left.rows] == [(r.variable, r.level, r.cells) for r in right.rows]
    assert_close([r.smd for r in left.rows], [r.smd for r in right.rows], "smd")


def _guard_states(options, count: int, seed: int = 20261121) -> list[str]:
    """The named states plus random narrow ones (a few sites, age bands, years, drugs, one sex)."""
    rng = random.Random(seed)
    queries = [make(options) for make in STATES.values()]
    for _ in range(count):
        query = {"site": ",".join(rng.sample(options.sites, rng.randint(1, 3)))}
        low = rng.randrange(len(options.age_bands))
        high = min(len(options.age_bands) - 1, low + rng.randint(0, 3))
        query["age"] = f"{options.age_bands[low][0]}-{options.age_bands[high][1]}"
        if rng.random() < 0.5:
            query["sex"] = rng.choice(options.sexes)
        if rng.random() < 0.4:
            first = rng.choice(options.years)
            query["year"] = f"{first}-{min(options.years[-1], first + rng.randint(0, 4))}"
        if rng.random() < 0.3:
            query["drug"] = ",".join(rng.sample(options.drugs, rng.randint(1, len(options.drugs))))
        if rng.random() < 0.3:
            query["exclude"] = "secondary"
        queries.append("&".join(f"{k}={v}" for k, v in query.items()))
    return queries


def test_the_differencing_guard_gives_the_same_verdicts(engines):
    duck, spark = engines
    options = filter_options(duck)
    shown = [Shown(), Shown("rls"), Shown("rls", by_sex=True), Shown("rls_clinsig", by_sex=True), Shown("event")]
    verdicts = []
    for query in _guard_states(options, 25):
        state, problems = filters.parse_query(query, options)
        assert problems == [], query
        left = differencing.slice_counts(duck, state, options)
        right = differencing.slice_counts(spark, state, options)
        assert_same_frame(left, right, f"slices of {query}")
        for view in shown:
            verdict = differencing.verdict(left, options, POLICY, view)
            assert differencing.verdict(right, options, POLICY, view) == verdict, (query, view)
            verdicts.append(verdict.safe)
        # the whole path once per state, as the registry calls it
        assert differencing.check(spark, state, options, POLICY, shown[2]) == \
            differencing.check(duck, state, options, POLICY, shown[2])
    assert True in verdicts and False in verdicts  # both kinds of verdict were compared
