"""How many filter states each analysis shows: random filter states of the sidebar (a few sites, an age range, often
one sex, some years, drugs, the exclusions) on a demo extract, each analysis run with its page's defaults.

    python -m benchmarks.shown_states --participants N [--states 200] [--method cell_key|exact]

A state counts as shown when the analysis returns a result with an N; it is not shown when the analysis says the
cohort is empty or too small, or refuses the state.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter

from analyses.context import AnalysisContext
from analyses.registry import PAGE_ANALYSES, spec_of
from analyses.report.defaults import run_page_analyses
from benchmarks.cli import ROOT, extract
from disclosure.policy import METHODS, DisclosurePolicy
from queries.engine import CohortEngine


def random_states(options, count: int, seed: int = 20261202) -> list[str]:
    """``count`` random sidebar filter states (query strings) over the cohort's own options."""
    rng = random.Random(seed)
    states = []
    for _ in range(count):
        query = {"site": ",".join(rng.sample(options.sites, rng.randint(1, 3)))} if options.sites else {}
        low = rng.randrange(len(options.age_bands))
        high = min(len(options.age_bands) - 1, low + rng.randint(0, 6))
        query["age"] = f"{options.age_bands[low][0]}-{options.age_bands[high][1]}"
        if rng.random() < 0.5:
            query["sex"] = rng.choice(options.sexes)
        if rng.random() < 0.4:
            first = rng.choice(options.years)
            query["year"] = f"{first}-{min(options.years[-1], first + rng.randint(0, 6))}"
        if rng.random() < 0.3:
            query["drug"] = ",".join(rng.sample(options.drugs, rng.randint(1, len(options.drugs))))
        states.append("&".join(f"{k}={v}" for k, v in query.items()))
    return states


def shown_counts(engine: CohortEngine, policy: DisclosurePolicy, count: int) -> tuple[dict[str, int], Counter]:
    """Per analysis title: how many of ``count`` random states show a result; and why the others do not (the
    refusal's message, or the result's last note)."""
    base, _ = AnalysisContext.from_query(engine, "", policy)
    shown, why = dict.fromkeys((spec.title for spec in PAGE_ANALYSES), 0), Counter()
    for query in random_states(base.options, count):
        ctx, _ = AnalysisContext.from_query(engine, query, policy)
        for item in run_page_analyses(ctx):  # an Unavailable (refused, too small) has no analysis
            if hasattr(item, "analysis") and item.n is not None:
                shown[spec_of(item).title] += 1
            else:
                title = getattr(item, "title", None) or spec_of(item).title
                reason = getattr(item, "message", None) or (item.notes[-1] if item.notes else "no result")
                why[(title, reason.split(":")[0][:90])] += 1
    return shown, why


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shown_states", description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=50_000)
    parser.add_argument("--states", type=int, default=200)
    parser.add_argument("--method", choices=METHODS, default="cell_key")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    engine = CohortEngine.open(extract(ROOT / "data" / "benchmarks", args.participants, args.seed), None)
    shown, why = shown_counts(engine, DisclosurePolicy(11, args.method), args.states)
    for title, n in shown.items():
        print(f"{title}: {n} of {args.states} random filter states shown ({100 * n / args.states:.0f}%)")
    for (title, reason), n in why.most_common():
        print(f"  not shown, {title}: {n} × {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
