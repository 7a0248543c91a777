"""Every analysis declaration is complete: its options, CLI arguments, page defaults, figures, table view, findings
and stated tests all work on a real result (flchain, a public cohort with its own names), and nothing else in the
code keys anything by analysis name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analyses.cli import _parser
from analyses.context import AnalysisContext
from analyses.figures import Figure
from analyses.registry import ANALYSES, PAGE_ANALYSES, figures_for, spec_of, stated_tests
from analyses import results as result_types
from analyses.results import AnalysisResult
from analyses.variables import AnalysisInputError
from analyses.spec import AnalysisSpec
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

ROOT = Path(__file__).resolve().parents[2]
FLCHAIN = ROOT / "tests" / "data" / "cohorts" / "flchain"
CLI_OPTIONS = {"diagnostic": ["--outcome", "death", "--test", "lambda", "--strata", "sex"]}


@pytest.fixture(scope="module")
def results() -> dict[str, AnalysisResult]:
    engine = CohortEngine.open(FLCHAIN / "flchain.csv", FLCHAIN / "mapping.toml")
    ctx = AnalysisContext.from_query(engine, "", DisclosurePolicy())[0]
    out = {}
    for name, spec in ANALYSES.items():
        args = _parser().parse_args([name, "--data", "x", *CLI_OPTIONS.get(name, [])])
        opts = spec.from_cli(args)
        assert isinstance(opts, spec.options), name
        assert isinstance(spec.default_options(ctx), spec.options), name
        out[name] = spec.run(ctx, opts)
    return out


@pytest.mark.parametrize("name", list(ANALYSES))
def test_each_declaration_survives_a_cohort_too_small_to_estimate(name):
    """A result with nothing estimated (a filtered cohort below k) still gives figures (possibly none), a table view,
    findings and stated tests without an error: the report and the pages show such results."""
    engine = CohortEngine.open(FLCHAIN / "flchain.csv", FLCHAIN / "mapping.toml")
    query = "age=85-90&sex=male&year=1997-1997"
    ctx, problems = AnalysisContext.from_query(engine, query, DisclosurePolicy(20, "exact"))
    assert problems == []  # 11 men aged 85+ sampled in 1997: below k = 20
    spec = ANALYSES[name]
    args = _parser().parse_args([name, "--data", "x", *CLI_OPTIONS.get(name, [])])
    try:
        result = spec.run(ctx, spec.from_cli(args))
    except AnalysisInputError:
        return  # refused with a message: the pages and the report show the message instead
    assert result.n is None
    figures = figures_for(result)
    assert set(spec.findings(result)) <= {f.key for f in figures}
    spec.table_view.frame(result)
    stated_tests(result)


def test_the_registry_lists_each_declaration_once():
    assert all(isinstance(spec, AnalysisSpec) for spec in ANALYSES.values())
    assert list(ANALYSES) == [spec.name for spec in ANALYSES.values()]
    assert len({spec.title for spec in ANALYSES.values()}) == len(ANALYSES)
    flags = [flag for spec in ANALYSES.values() for argument in spec.arguments for flag in argument.flags]
    assert len(flags) == len(set(flags))
    _parser()  # every analysis's own arguments fit beside the shared ones (argparse refuses a clash)


@pytest.mark.parametrize("name", list(ANALYSES))
def test_each_declaration_works_on_a_real_result(results, name):
    result, spec = results[name], ANALYSES[name]
    assert result.analysis == name and spec_of(result) is spec and result.n is not None
    assert isinstance(result.details, spec.details)
    figures = figures_for(result)
    assert figures and all(isinstance(f, Figure) for f in figures)
    assert set(spec.findings(result)) <= {f.key for f in figures}
    assert spec.table_view.name in dict(result.tables)
    assert not spec.table_view.frame(result).empty
    assert all(isinstance(t, result_types.TestResult) for t in stated_tests(result))
    assert set(spec.presented_estimates) <= {e.measure for e in result.estimates} | {None}
    if spec.metrics:
        assert spec.metrics(result) and spec.metrics_title and spec.metrics_caption(result)


def test_every_page_is_a_view_the_navigation_registers():
    app = (ROOT / "dashboard" / "app.py").read_text(encoding="utf-8")
    for spec in PAGE_ANALYSES:
        assert (ROOT / "dashboard" / spec.page).exists(), spec.page
        assert Path(spec.page).name in app, spec.page


def test_no_module_keys_anything_by_analysis_name():
    """A dictionary literal keyed by analysis names outside the declarations is the debt the specs replaced (the
    benchmarks keep their own per-analysis baselines)."""
    names = set(ANALYSES)
    offenders = []
    for folder in ("analyses", "dashboard"):
        for path in (ROOT / folder).rglob("*.py"):
            if "specs" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Dict) and sum(isinstance(k, ast.Constant) and k.value in names
                                                      for k in node.keys) >= 2:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
