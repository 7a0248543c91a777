"""The release layer covers every output path: walk the analysis results, the CLI JSON, every figure's data and every
CSV export, the Overview (metrics, attrition, Table 1) and the load report on views of the demo that have small
cells, in both disclosure methods, and find no count from 1 to k−1 anywhere: a released count from 1 to k−1 shows
as "<k" (cell-key mode: perturbed counts; exact mode: exact counts with complementary suppression).

The views: the whole cohort (its oldest and youngest age-by-sex cells, fine ferritin bands and the Kaplan–Meier
tail are small) and one sex. Counts are read where they are shown: count columns of every table on screen
(including "12 (3.4%)" cells of Table 1), metrics, chart data fields, CSV columns and JSON count keys.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

from analyses import exports
from analyses.bands import AgeBands, BiomarkerBands
from analyses.biomarker_risk import BiomarkerRiskOptions
from analyses.context import AnalysisContext
from analyses.registry import figures_for
from analyses.odds_ratio import OddsRatioOptions
from analyses.prevalence import PrevalenceOptions
from analyses.registry import run_analysis
from analyses.risk_factors import RiskFactorOptions
from analyses.table_one import table_one
from disclosure.policy import DisclosurePolicy
from queries.cohort import attrition, outcome_counts, table_one_inputs, table_one_variables
from queries.engine import CohortEngine
from queries.filters import parse_query
from queries.release import release_report
from tests.disclosure.loadreports import write_source

K = 11
METHODS = ("cell_key", "exact")
COUNT_WORDS = re.compile(r"^(n|N|events?|non_events|at_risk|cases|count|a|b|c|d|participants|removed|remaining|"
                         r"rows.*|loaded|rejected|women|men|number at risk|at risk|events \(n\)|known)$", re.I)
VIEWS = ["", "sex=female"]
OPTIONS = {  # fine bands so that some cells are small
    "odds-ratio": OddsRatioOptions(strata="age", age_bands=AgeBands((20, 25, 30, 40, 50, 60, 70, 80, 85))),
    "prevalence": PrevalenceOptions(age_bands=AgeBands((20, 25, 30, 40, 50, 60, 70, 80, 85))),
    "biomarker-risk": BiomarkerRiskOptions(bands=BiomarkerBands((15, 30, 50, 75, 100, 200))),
    # dialysis among the clinically significant cases: a handful
    "risk-factors": RiskFactorOptions("rls_clinsig", ("sex", "age:bands", "kidney_disease", "neuropathy"),
                                      age_bands=AgeBands((20, 25, 30, 40, 50, 60, 70, 80, 85))),
}


def small_counts(values) -> list:
    """The values that are counts from 1 to k−1 (text cells are read up to their first space: "12 (3.4%)")."""
    out = []
    for value in values:
        if isinstance(value, str):
            head = value.split(" ")[0].replace(",", "")
            value = int(head) if head.isdigit() else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and pd.notna(value) \
                and float(value).is_integer() and 0 < value < K:
            out.append(value)
    return out


def frame_small_counts(frame: pd.DataFrame) -> dict[str, list]:
    return {str(col): small for col in frame.columns if COUNT_WORDS.match(str(col).strip())
            and (small := small_counts(frame[col].tolist()))}


def json_small_counts(doc, key: str = "") -> list:
    if isinstance(doc, dict):
        return [c for k, v in doc.items() for c in json_small_counts(v, k)]
    if isinstance(doc, list):
        return [c for v in doc for c in json_small_counts(v, key)]
    return small_counts([doc]) if COUNT_WORDS.match(key) else []


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("query", VIEWS)
@pytest.mark.parametrize("name", list(OPTIONS))
def test_results_figures_and_exports_show_no_small_count(engine, query, name, method):
    ctx, problems = AnalysisContext.from_query(engine, query, DisclosurePolicy(K, method))
    assert problems == []
    result = run_analysis(ctx, name, OPTIONS[name])
    assert result.n and result.n >= K
    if name != "odds-ratio" and not query:  # OR JSON shows stratum sizes only, never a stratum's 2×2 cells
        raw = AnalysisContext.from_query(engine, query, DisclosurePolicy(0))[0]
        assert json_small_counts(run_analysis(raw, name, OPTIONS[name]).to_dict()), "the view has no small cell"
    assert json_small_counts(result.to_dict()) == []
    for table_name, table in result.tables:
        if table.empty:
            continue
        csv = pd.read_csv(io.BytesIO(exports.table_csv(result, table_name)), comment="#")
        assert frame_small_counts(csv) == {}, table_name
    for figure in figures_for(result):
        assert frame_small_counts(figure.data) == {}, figure.key
        csv = pd.read_csv(io.BytesIO(exports.frame_csv(result, figure.data)), comment="#")
        assert frame_small_counts(csv) == {}, figure.key


def _text_small_counts(texts) -> list[str]:
    """Displayed texts that are a count from 1 to k−1 ("7", "7 (3.1%)")."""
    return [t for t in texts if small_counts([t])]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("query", VIEWS + ["site=H&year=2021-2022&age=70-90"])
def test_overview_shows_no_small_count(engine, options, query, method):
    """Overview metrics, attrition and Table 1 as the page renders them (``dashboard.render``)."""
    policy = DisclosurePolicy(K, method)
    state, problems = parse_query(query, options)
    assert problems == []
    counts = outcome_counts(engine, state, options, policy)
    shown = [policy.show_count(counts["n"])] + list(
        policy.outcome_counts(counts["n"], counts["cases"], counts["known"]).values())
    steps = attrition(engine, state, options, policy)
    cells = policy.attrition_cells([s.remaining for s in steps], [s.removed for s in steps])
    shown += [text for pair in cells for text in pair]
    variables = [(col, kind, col) for col, kind in table_one_variables(engine)]
    frame = table_one(table_one_inputs(engine, state, options, policy), variables, policy, query).to_frame()
    counted = frame[~frame["Level"].isin(["mean (SD)", "median [Q1, Q3]"])]
    columns = [c for c in frame.columns if "(N = " in c]
    shown += [str(v) for c in columns for v in counted[c]] + [c.split("(N = ")[1][:-1] for c in columns]
    assert _text_small_counts(shown) == []
    if query.startswith("site=H"):  # a small subgroup: some released counts are 1 … k−1 and show as "<k"
        assert f"<{K}" in shown


@pytest.mark.parametrize("method", METHODS)
def test_load_report_shows_no_small_count(tmp_path, method):
    """A source with a few bad rows: the Data page's accounts, finding rows and messages quote no count 1 … k−1."""
    policy = DisclosurePolicy(K, method)
    csv, mapping = write_source(tmp_path / "src", "cohort.csv", 60, 4, np.random.default_rng(3))
    engine = CohortEngine.open(csv, mapping)
    released = release_report(engine.info.load.report, policy)
    assert engine.info.load.report.findings and engine.info.load.report.findings[0].count == 4
    shown = [policy.show_count(v) for a in released.accounts for v in (a.rows_read, a.rows_loaded, a.rows_rejected)]
    shown += [policy.show_count(f.count) for f in released.findings]
    assert _text_small_counts(shown) == []
    for finding in released.findings:
        assert not re.search(r"(?<![\d,.<])([1-9]|10) row", finding.message), finding.message
