"""Property-based filter sequences (hypothesis): query strings built from the cohort's real filter keys with offered
values, mixed with invalid values, garbage and injection payloads, each run through ``AnalysisContext.from_query``
and all
three analyses on the session's demo extract.

Properties: nothing but ``AnalysisInputError`` (with a message) is raised; every dropped value is reported with a
message that quotes no user text; the parsed state round-trips through its canonical query string; every result
serialises with ``to_json()`` to JSON that carries that query and no user text. Counts go to the terminal.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyses.biomarker_risk import BiomarkerRiskOptions
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from analyses.odds_ratio import OddsRatioOptions
from analyses.prevalence import PrevalenceOptions
from analyses.registry import run_analysis
from analyses.variables import AnalysisInputError
from queries import filters
from queries.filters import FilterOptions
from tests.hostile.injection_payloads import PAYLOADS

SENTINEL = "Zq9Filter"
ANALYSES = (("odds-ratio", OddsRatioOptions(adjust=("age",))),
            ("prevalence", PrevalenceOptions(standard="esp2013")),
            ("biomarker-risk", BiomarkerRiskOptions(adjust=("age",), at=(1.0, 2.0))))
ODD_KEYS = ("", "foo", "SITE", "site ", "def[]", "outcome", "present", "min_cell", "age;", SENTINEL)
INVALID = {"def": ["rls_nope", "", "RLS"], "site": ["Z", "A,Z", "a", ",,,"], "sex": ["other", "F", "female,x"],
           "age": ["41-79", "40", "79-40", "-5-200", "17-24", "40-79-90", "", "1e3-2e3"],
           "year": ["1800-2100", "2010", "2022-2008", "20xx-2010", ""],
           "drug": ["aspirin", "untreated,aspirin", "PRAMIPEXOLE"], "exclude": ["smoking", "pregnancy,x"]}
EXPLORE = int(os.environ.get("RLS_HYPOTHESIS_EXPLORE", "0"))  # N > 0: N examples from fresh random seeds
TALLY: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_counts(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter and capture:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\nrandom filter sequences: " + ", ".join(f"{k} {v}" for k, v in sorted(TALLY.items())))


def subset(values) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(list(values)), min_size=1, unique=True).map(",".join) if values else st.just("")


def valid_value(key: str, options: FilterOptions) -> st.SearchStrategy[str]:
    """A value the cohort offers for ``key`` (an age or year range may still come out reversed)."""
    lows, highs = [b[0] for b in options.age_bands], [b[1] for b in options.age_bands]
    return {"def": st.sampled_from(list(options.outcomes)), "site": subset(options.sites),
            "sex": subset(options.sexes), "drug": subset(options.drugs), "exclude": subset(options.exclusions),
            "age": st.tuples(st.sampled_from(lows), st.sampled_from(highs)).map(lambda r: f"{r[0]}-{r[1]}"),
            "year": st.tuples(st.sampled_from(options.years), st.sampled_from(options.years)).map(
                lambda r: f"{r[0]}-{r[1]}")}[key]


def noise_for(key: str) -> st.SearchStrategy[str]:
    """An injection payload, sentinel-marked garbage, or (for a real key) a value the cohort does not offer."""
    strategies = [st.sampled_from(PAYLOADS), st.text(max_size=20).map(lambda t: SENTINEL + t)]
    return st.one_of(strategies + ([st.sampled_from(INVALID[key])] if key in INVALID else []))


@st.composite
def queries(draw, options: FilterOptions) -> str:
    """One query string: one to three real filters with offered values plus up to two noisy pairs, in any order,
    URL-encoded, percent-quoted or raw (unencoded); or plain garbage."""
    form = draw(st.sampled_from(["encoded"] * 5 + ["raw", "quoted", "garbage"]))
    if form == "garbage":
        return SENTINEL + draw(st.text(max_size=60))
    keys = draw(st.lists(st.sampled_from(list(filters.FILTERS_BY_KEY)), min_size=1, max_size=3, unique=True))
    pairs = [(key, draw(valid_value(key, options))) for key in keys]
    noisy_keys = st.one_of(st.sampled_from(list(filters.FILTERS_BY_KEY)), st.sampled_from(ODD_KEYS))
    pairs += draw(st.lists(noisy_keys.flatmap(lambda k: st.tuples(st.just(k), noise_for(k))), max_size=2))
    pairs = draw(st.permutations(pairs))
    if form == "encoded":
        return urlencode(pairs)
    if form == "raw":
        return "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join(f"{quote(k)}={quote(v, safe=',-+')}" for k, v in pairs)


def run_query(engine, query: str, policy: DisclosurePolicy) -> None:
    ctx, problems = AnalysisContext.from_query(engine, query, policy)
    assert all(p.strip() and SENTINEL not in p for p in problems), problems
    canonical = filters.to_query(ctx.state, ctx.options)
    assert filters.parse_query(canonical, ctx.options) == (ctx.state, [])
    TALLY["queries"] += 1
    TALLY["queries with dropped values"] += bool(problems)
    TALLY["queries whose filters remove someone"] += bool(filters.predicates(engine.table(), ctx.state, ctx.options))
    for name, options in ANALYSES:
        try:
            result = run_analysis(ctx, name, options)
        except AnalysisInputError as exc:
            assert str(exc).strip() and SENTINEL not in str(exc)
            TALLY["analysis runs refused (AnalysisInputError)"] += 1
            continue
        text = result.to_json()
        assert json.loads(text)["filters"] == canonical and SENTINEL not in text
        TALLY["analysis runs with a result"] += 1


@pytest.mark.timeout(300)
@settings(max_examples=EXPLORE or 60, deadline=None, derandomize=not EXPLORE, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), policy=st.sampled_from([DisclosurePolicy(11), DisclosurePolicy(11), DisclosurePolicy(5),
                                                DisclosurePolicy(11, "exact"), DisclosurePolicy(5, "exact"),
                                                DisclosurePolicy(0)]))
def test_random_filter_sequences_never_crash_an_analysis(engine, options, data, policy):
    sequence = data.draw(st.lists(queries(options), min_size=1, max_size=3), label="queries")
    for query in sequence:
        run_query(engine, query, policy)
    TALLY["sequences"] += 1
