"""Typed results: every analysis's result carries its declared details dataclass (read as attributes, never looked up
by name), the CLI JSON flattens those details beside the common keys, a details field that would overwrite a common
key is refused, and ``ResultBuilder`` keeps everything in the order it was given."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from analyses.cli import _parser
from analyses.context import AnalysisContext
from analyses.registry import ANALYSES
from analyses import results
from analyses.results import AnalysisResult, CohortSummary, Estimate, ResultBuilder
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

ROOT = Path(__file__).resolve().parents[2]
FLCHAIN = ROOT / "tests" / "data" / "cohorts" / "flchain"
CLI_OPTIONS = {"diagnostic": ["--outcome", "death", "--test", "lambda"]}
COHORT = CohortSummary("test", "0" * 16, "", "all participants", 11)


@pytest.fixture(scope="module")
def ctx() -> AnalysisContext:
    engine = CohortEngine.open(FLCHAIN / "flchain.csv", FLCHAIN / "mapping.toml")
    return AnalysisContext.from_query(engine, "", DisclosurePolicy())[0]


@pytest.mark.parametrize("name", list(ANALYSES))
def test_each_analysis_returns_its_declared_details(ctx, name):
    spec = ANALYSES[name]
    assert dataclasses.is_dataclass(spec.details) and spec.details.__dataclass_params__.frozen, name
    args = _parser().parse_args([name, "--data", "x", *CLI_OPTIONS.get(name, [])])
    result = spec.run(ctx, spec.from_cli(args))
    assert type(result.details) is spec.details
    out = result.to_dict()
    fields = [f.name for f in dataclasses.fields(spec.details)]
    keys = list(out)  # the details sit together, after the tables and before the caption
    assert keys[keys.index(fields[0]):keys.index(fields[0]) + len(fields)] == fields
    assert keys[keys.index(fields[-1]) + 1] == "caption"


@dataclass(frozen=True)
class _Clashing:
    label: str
    notes: str  # a common key of the JSON contract


def test_to_dict_refuses_details_that_would_overwrite_a_common_key():
    result = ResultBuilder("odds-ratio", COHORT).build(title="t", caption="c", methods="m", n=100,
                                                       details=_Clashing("x", "overwritten"))
    with pytest.raises(ValueError, match="notes"):
        result.to_dict()


def test_to_dict_refuses_details_that_would_overwrite_a_table():
    builder = ResultBuilder("odds-ratio", COHORT)
    builder.table("label", pd.DataFrame({"a": [1]}))
    result = builder.build(title="t", caption="c", methods="m", n=100, details=_Clashing("x", "y"))
    with pytest.raises(ValueError, match="label"):
        result.to_dict()


def test_a_result_without_details_has_none_in_its_json():
    result = ResultBuilder("odds-ratio", COHORT).build(title="t", caption="c", methods="m", n=None, details=None)
    assert result.details_dict() == {}
    assert list(result.to_dict())[-5:] == ["caption", "methods", "formulas", "queries", "software"]


def test_the_builder_keeps_the_order_it_was_given():
    builder = ResultBuilder("odds-ratio", COHORT)
    first, second = (Estimate(m, 1.0, 0.5, 2.0, 0.1, "method") for m in ("crude_or", "exact_or"))
    builder.note("one")
    builder.estimate(first)
    builder.note("two", "three")
    builder.note_once("two")
    builder.estimate(second)
    builder.test(results.TestResult("breslow_day", 1.0, 2, 0.5, "method"))
    builder.table("b", pd.DataFrame())
    builder.table("a", pd.DataFrame())
    builder.formula("y ~ x")
    builder.query("SELECT 1")
    assert builder.notes == ("one", "two", "three")
    result = builder.build(title="t", caption="c", methods="m", n=5, details=None)
    assert isinstance(result, AnalysisResult) and result.cohort is COHORT and result.n == 5
    assert result.notes == ("one", "two", "three") and result.estimates == (first, second)
    assert [name for name, _ in result.tables] == ["b", "a"]
    assert result.formulas == ("y ~ x",) and result.queries == ("SELECT 1",)
