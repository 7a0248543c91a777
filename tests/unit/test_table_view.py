"""How a result table is displayed: estimates with their CIs in one "OR (95% CI)" column, withheld rows spelled out,
and the CSV (the result's own table) keeping every column."""

from __future__ import annotations

import pandas as pd

from analyses.display import TableView
from analyses.results import AnalysisResult, CohortSummary

TABLE = pd.DataFrame({"level": ["men (reference)", "women", "yes"], "crude_or": [None, 1.891, 4.0],
                      "crude_low": [None, 1.772, 3.0], "crude_high": [None, 2.034, 5.0],
                      "suppressed": [False, False, True]})


def _result() -> AnalysisResult:
    cohort = CohortSummary("demo", "hash", "", "all participants", 11)
    return AnalysisResult("x", "X", cohort, 10, (), (), (), (("t", TABLE),), "caption", "methods")


def test_estimate_and_interval_share_one_column():
    view = TableView("t", "T", "method", decimals=(("crude_or", 2), ("crude_low", 2), ("crude_high", 2)),
                     names=(("crude_or", "Crude OR (95% CI)"),), with_ci=(("crude_or", "crude_low", "crude_high"),))
    shown = view.frame(_result())
    assert list(shown.columns) == ["level", "Crude OR (95% CI)"]
    assert shown["Crude OR (95% CI)"].tolist() == ["–", "1.89 (1.77–2.03)", "withheld"]
    assert list(_result().table("t").columns) == list(TABLE.columns)  # the CSV's table keeps the bounds
