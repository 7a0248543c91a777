"""Differencing attack, enumerated: nested pairs of filter states on the demo, compared through every total shown.

For each pair T ⊃ S of filter states (S narrows T along one or two filters: a site or drug dropped, one sex kept, an
age band or baseline year trimmed, secondary causes excluded), both as the pages would show them, the test counts
the totals shown exactly in both views whose difference is 1 … k−1 — a small count revealed by subtraction.
Totals: participants, cases and known outcomes (the metrics row and captions), and cases and known outcomes of
women and of men (the sex-differences page). With the guard the count must be 0; without it, the same
enumeration must find leaks, so the test can fail.
"""

from __future__ import annotations

import json
import random

import pytest

from analyses import differencing
from analyses.disclosure import DisclosurePolicy
from queries import cohort, filters
from queries.filters import FilterState
from tests.conftest import ROOT

OUTCOME = "rls"
BASES = 90
SEED = 20261121


def _random_state(rng: random.Random, options) -> dict[str, str]:
    query = {}
    if rng.random() < 0.5:
        query["site"] = ",".join(sorted(rng.sample(options.sites, rng.randint(2, len(options.sites)))))
    if rng.random() < 0.5:
        low, high = sorted(rng.sample(range(len(options.age_bands)), 2))
        query["age"] = f"{options.age_bands[low][0]}-{options.age_bands[high][1]}"
    if rng.random() < 0.4:
        low, high = sorted(rng.sample(range(len(options.years)), 2))
        query["year"] = f"{options.years[low]}-{options.years[high]}"
    if rng.random() < 0.3:
        query["drug"] = ",".join(rng.sample(options.drugs, rng.randint(3, len(options.drugs))))
    return query


def _narrowings(query: dict[str, str], state: FilterState, options) -> list[dict[str, str]]:
    """States nested in ``state``: one filter narrowed by one step (or to one value)."""
    out = []
    sites = state.get("site")
    out += [{**query, "site": ",".join(s for s in sites if s != drop)} for drop in sites[:3] if len(sites) > 1]
    out += [{**query, "sex": sex} for sex in state.get("sex") if len(state.get("sex")) > 1]
    lows = [b[0] for b in options.age_bands]
    highs = [b[1] for b in options.age_bands]
    low, high = state.get("age")
    if lows.index(low) < highs.index(high):
        out.append({**query, "age": f"{lows[lows.index(low) + 1]}-{high}"})
        out.append({**query, "age": f"{low}-{highs[highs.index(high) - 1]}"})
    first, last = state.get("year")
    if first < last:
        out += [{**query, "year": f"{first + 1}-{last}"}, {**query, "year": f"{first}-{last - 1}"}]
    drugs = state.get("drug")
    out += [{**query, "drug": ",".join(d for d in drugs if d != drop)} for drop in drugs[:2] if len(drugs) > 1]
    if not state.get("exclude"):
        out.append({**query, "exclude": "secondary"})
    return out


def _shown_totals(engine, options, state: FilterState, policy: DisclosurePolicy) -> dict[str, int]:
    """The totals the pages show exactly for this state (nothing when the state is too small or refused)."""
    counts = cohort.outcome_counts(engine, state, options)
    if counts["n"] == 0 or policy.is_small(counts["n"]):
        return {}
    shown = {}
    if differencing.check(engine, state, options, policy, differencing.Shown(state.definition)).safe:
        text = policy.outcome_counts(counts["n"], counts["cases"], counts["known"])
        shown = {"participants": counts["n"]} | {k: counts[k] for k in ("cases", "known") if text[k][0].isdigit()}
    if differencing.check(engine, state, options, policy, differencing.Shown(OUTCOME, by_sex=True)).safe:
        shown |= _by_sex(engine, options, state, policy)
    return shown


def _by_sex(engine, options, state: FilterState, policy: DisclosurePolicy) -> dict[str, int]:
    table = cohort.filtered(engine, state, options)
    outcome = table[f"outcome_{OUTCOME}"]
    frame = engine.execute(table.group_by("sex").aggregate(
        cases=outcome.fill_null(False).cast("int64").sum(), known=outcome.notnull().cast("int64").sum()))
    out = {}
    for row in frame.itertuples():
        cells = {"cases": int(row.cases), "known": int(row.known)}
        if not policy.any_small(cells["cases"], cells["known"] - cells["cases"]):  # the 2×2 shows both or neither
            out |= {f"{row.sex} {k}": v for k, v in cells.items()}
    return out


def _pairs(options):
    rng = random.Random(SEED)
    bases = [{}] + [_random_state(rng, options) for _ in range(BASES)]
    for query in bases:
        state, problems = filters.parse_query(query, options)
        assert problems == []
        for narrower in _narrowings(query, state, options):
            yield state, filters.parse_query(narrower, options)[0]


def _leaks(engine, options, policy: DisclosurePolicy) -> tuple[int, int, int]:
    """(pairs checked, pairs with a leak, pairs where both views are shown)."""
    memo: dict[FilterState, dict[str, int]] = {}

    def shown(state):
        if state not in memo:
            memo[state] = _shown_totals(engine, options, state, policy)
        return memo[state]

    checked = leaking = both = 0
    for wide, narrow in _pairs(options):
        checked += 1
        a, b = shown(wide), shown(narrow)
        both += bool(a and b)
        leaking += any(policy.is_small(a[k] - b[k]) for k in a.keys() & b.keys())
    return checked, leaking, both


@pytest.fixture(scope="module")
def enumeration(engine, options):
    guarded = _leaks(engine, options, DisclosurePolicy(11, differencing=True))
    unguarded = _leaks(engine, options, DisclosurePolicy(11, differencing=False))
    figures = {"pairs_checked": guarded[0], "leaks_with_guard": guarded[1], "pairs_shown_with_guard": guarded[2],
               "leaks_without_guard": unguarded[1], "pairs_shown_without_guard": unguarded[2]}
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "differencing.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"\ndifferencing: {figures}")
    return figures


def test_no_nested_pair_of_shown_views_reveals_a_small_count(enumeration):
    assert enumeration["pairs_checked"] >= 500
    assert enumeration["leaks_with_guard"] == 0


def test_the_same_pairs_leak_without_the_guard(enumeration):
    assert enumeration["leaks_without_guard"] > 0
    assert enumeration["pairs_shown_with_guard"] > 0  # the guard does not pass the test by showing nothing
