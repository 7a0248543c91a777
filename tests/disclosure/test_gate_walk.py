"""The gate covers every output path: walk every page, the CLI JSON, every figure's data and every CSV export on
views of the demo that have small cells, and find no count from 1 to k−1 anywhere.

The views: the whole cohort (its oldest and youngest age-by-sex cells, fine ferritin bands and the Kaplan–Meier
tail are small) and a guarded subgroup. Counts are read where they are shown: count columns of every table on
screen (including "12 (3.4%)" cells of Table 1), metrics, chart data fields, CSV columns and JSON count keys.
"""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from analyses import exports
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from analyses.figures import figures_for
from analyses.registry import run_analysis
from analyses.biomarker_risk import BiomarkerRiskOptions
from analyses.bands import AgeBands, BiomarkerBands
from analyses.odds_ratio import OddsRatioOptions
from analyses.prevalence import PrevalenceOptions

K = 11
COUNT_WORDS = re.compile(r"^(n|N|events?|non_events|at_risk|cases|count|a|b|c|d|participants|removed|remaining|"
                         r"rows.*|loaded|rejected|women|men|number at risk|at risk|events \(n\)|known)$", re.I)
VIEWS = ["", "sex=female"]
OPTIONS = {  # fine bands so that some cells are small
    "odds-ratio": OddsRatioOptions(strata="age", age_bands=AgeBands((20, 25, 30, 40, 50, 60, 70, 80, 85))),
    "prevalence": PrevalenceOptions(age_bands=AgeBands((20, 25, 30, 40, 50, 60, 70, 80, 85))),
    "biomarker-risk": BiomarkerRiskOptions(bands=BiomarkerBands((15, 30, 50, 75, 100, 200))),
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


@pytest.mark.parametrize("query", VIEWS)
@pytest.mark.parametrize("name", list(OPTIONS))
def test_results_figures_and_exports_show_no_small_count(engine, query, name):
    ctx, problems = AnalysisContext.from_query(engine, query, DisclosurePolicy(K))
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
