"""Public real cohorts with their own column names and codes (R's survival: flchain, colon, nafld1; LGPL, see
tests/data/cohorts/LICENSE.md), run with default settings (cell-key mode, threshold 11): the default view of every
analysis the cohort's roles allow is shown, every one-filter view is shown unless its whole cohort is below k, and
the slide deck builds from the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pptx import Presentation

from analyses.context import AnalysisContext
from analyses.registry import spec_of, run_analysis
from analyses.report import run_page_analyses
from analyses.report.defaults import page_options
from analyses.results import AnalysisResult
from disclosure.policy import DisclosurePolicy
from queries.cohort import outcome_counts
from queries.engine import CohortEngine
from tests.conftest import guard_sources

COHORTS = Path(__file__).resolve().parents[1] / "data" / "cohorts"
REPO = COHORTS.parents[2]
DEFAULT = DisclosurePolicy()  # the deployment default: cell key, k = 11
# The analyses each cohort's roles allow (the others are refused for a missing role, with that message).
# flchain has a biomarker and a time to death but no treatment: biomarker-risk runs in everyone.
# spc needs calendar periods: flchain's sample year; colon and nafld1 map no year, and say so.
EVERYWHERE = {"odds-ratio", "prevalence", "diagnostic", "risk-factors", "funnel"}
ALLOWED = {"flchain": EVERYWHERE | {"biomarker-risk", "spc"}, "colon": EVERYWHERE | {"biomarker-risk"},
           "nafld1": EVERYWHERE}
# The analyses whose one-filter views are checked (colon's biomarker-risk is its treated subset).
WHOLE_COHORT = {"flchain": {"odds-ratio", "prevalence", "biomarker-risk"}, "colon": {"odds-ratio", "prevalence"},
                "nafld1": {"odds-ratio", "prevalence"}}


def _paths(name: str) -> tuple[Path, Path]:
    return COHORTS / name / f"{name}.csv", COHORTS / name / "mapping.toml"


@pytest.fixture(scope="module", params=sorted(ALLOWED))
def cohort(request):
    data, mapping = _paths(request.param)
    guard_sources(data.parent)
    return request.param, CohortEngine.open(data, mapping)


def test_the_default_view_of_every_analysis_is_shown(cohort):
    name, engine = cohort
    ctx, dropped = AnalysisContext.from_query(engine, "", DEFAULT)
    results = run_page_analyses(ctx)
    shown = {r.analysis for r in results if isinstance(r, AnalysisResult) and r.n is not None}
    assert not dropped and shown == ALLOWED[name]
    refused = [r for r in results if not isinstance(r, AnalysisResult)]
    assert all("role" in r.message for r in refused)  # only a missing role refuses a default view
    shown_results = [r for r in results if isinstance(r, AnalysisResult)]
    # an analysis with an estimates table gives estimates; every one fills its main table (a chart's points, units)
    assert all(r.estimates for r in shown_results if spec_of(r).estimates_title)
    assert all(not spec_of(r).table_view.frame(r).empty for r in shown_results)


def _one_filter_views(ctx) -> list[str]:
    options = ctx.options
    views = [f"site={s}" for s in options.sites] + [f"sex={s}" for s in options.sexes]
    views += [f"age={low}-{high}" for low, high in options.age_bands]
    return views + [f"year={y}-{y}" for y in options.years[::3]]


def test_every_one_filter_view_is_shown_unless_its_cohort_is_below_k(cohort):
    name, engine = cohort
    base, _ = AnalysisContext.from_query(engine, "", DEFAULT)
    checked = 0
    for query in _one_filter_views(base):
        ctx, dropped = AnalysisContext.from_query(engine, query, DEFAULT)
        assert not dropped, query
        n = outcome_counts(engine, ctx.state, ctx.options, DEFAULT)["n"]
        options = page_options(ctx)
        for analysis in sorted(WHOLE_COHORT[name]):
            result = run_analysis(ctx, analysis, options[analysis])
            assert result.n is not None or DEFAULT.is_small(n), (name, query, analysis)
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_the_slide_deck_builds_with_default_settings(name, tmp_path):
    data, mapping = _paths(name)
    out = tmp_path / f"{name}.pptx"
    proc = subprocess.run([sys.executable, "-m", "analyses", "report", "--data", str(data), "--mapping",
                           str(mapping), "--format", "pptx", "--out", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    deck = Presentation(str(out))
    text = " ".join(shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame)
    assert len(deck.slides) >= 1 + 2 * len(ALLOWED[name]) - 1
    assert "perturbed" in text  # the deck says its counts are perturbed
