"""The three paths the benchmark times for each analysis, each a function that returns one run's work.

- ``project``: end to end as a page calls it on a cache miss — parse the filters, build the context, run the
  analysis with the page's default options (its declaration's) behind the differencing guard (query + fit +
  disclosure gate).
- ``floor``: the bare engine aggregation that analysis needs, alone: the SQL the project ran, executed on the
  engine and fetched as Arrow, with no Ibis, no fit and no gate.
- ``naive``: read the needed columns of the cleaned cohort into pandas and fit row-level models
  (``benchmarks.naive``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from analyses.context import AnalysisContext
from analyses.registry import run_analysis, spec_of
from benchmarks import naive
from deployment.memory import tune_memory
from disclosure.policy import DisclosurePolicy
from queries import filters

ANALYSES = ("odds-ratio", "prevalence", "biomarker-risk", "spc", "funnel", "diagnostic", "risk-factors")
PATHS = ("project", "floor", "naive")


@dataclass(frozen=True)
class Target:
    """Where the cohort is: the demo extract, the prepared store, the canonical Parquet copy, and the engine."""

    data: Path
    store: Path
    parquet: Path
    engine: str = "duckdb"
    spark_master: str | None = None
    query: str = ""  # the filters (a dashboard query string); empty: the pages' default view


def open_engine(target: Target):
    """The engine the project would use for this target (DuckDB over the prepared store, or Spark)."""
    from queries.engines import open_engine as open_configured

    return open_configured(target.data, None, target.store, target.engine, target.spark_master)


def project(target: Target, analysis: str) -> Callable[[], object]:
    tune_memory()  # as the CLI and the dashboard do
    engine = open_engine(target)
    base, _ = AnalysisContext.from_query(engine, target.query, DisclosurePolicy())  # the pages cache these options

    def run():
        state, _problems = filters.parse_query(target.query, base.options)
        ctx = AnalysisContext(engine, state, base.options, base.policy)
        return run_analysis(ctx, analysis, spec_of(analysis).default_options(ctx))
    run.engine = engine  # for benchmarks.spark_stages, which times the engine's calls
    return run


def floor(target: Target, analysis: str) -> Callable[[], object]:
    engine = open_engine(target)
    ctx, _ = AnalysisContext.from_query(engine, target.query, DisclosurePolicy())
    sql = run_analysis(ctx, analysis, spec_of(analysis).default_options(ctx)).queries[0]
    return lambda: engine.execute_sql(sql)


def naive_path(target: Target, analysis: str) -> Callable[[], object]:
    if target.query:
        raise ValueError("the naive path runs on the whole cohort only")
    work = naive.NAIVE[analysis]
    if analysis == "biomarker-risk":
        return lambda: work(str(target.parquet))
    if analysis in ("spc", "funnel"):
        return lambda: work(str(target.parquet), naive.DEMO_MEASURE)
    if analysis == "diagnostic":
        return lambda: work(str(target.parquet), "outcome_rls", naive.DEMO_TEST, naive.DEMO_THRESHOLD)
    if analysis == "risk-factors":
        return lambda: work(str(target.parquet), "outcome_rls", naive.DEMO_FACTORS)
    return lambda: work(str(target.parquet), "outcome_rls")


BUILDERS = {"project": project, "floor": floor, "naive": naive_path}
