"""A figure made from an analysis result: the chart, its caption and the result table behind it."""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd

from analyses.figures.theme import EXPORT_WIDTH, theme_config
from analyses.results import AnalysisResult


@dataclass(frozen=True, eq=False)
class Figure:
    """One chart of a result. ``caption`` states the cohort, N, definition and method; ``data`` is the tidy table
    of exactly what the chart draws, taken from the result (so already gated), exported as CSV next to it."""

    key: str
    title: str
    chart: alt.TopLevelMixin
    caption: str
    data: pd.DataFrame
    fixed_width: bool = False  # concatenated charts carry their own widths

    def spec(self, scale: float = 1.0, export: bool = False, titled: bool = True, min_height: int = 0) -> dict:
        """The Vega-Lite spec with the shared theme. ``export`` fixes the width so files have a known size;
        ``scale`` enlarges type and height (presentation), ``min_height`` stretches the main plot to fill a
        screen, ``titled=False`` leaves the title to the page."""
        chart = self.chart
        if export and not self.fixed_width:
            chart = chart.properties(width=round(EXPORT_WIDTH * scale))
        # Altair refuses data over 5,000 rows by default; a Kaplan–Meier step curve has one row per event time
        # (about 5,900 per ferritin band at 10 million participants). The data are the result's own aggregates.
        with alt.data_transformers.enable("default", max_rows=None):
            spec = chart.to_dict()
        views = spec.get("vconcat", [spec])
        for view in views:
            if isinstance(view.get("height"), (int, float)):
                view["height"] = round(view["height"] * scale)
        if isinstance(views[0].get("height"), (int, float)):
            views[0]["height"] = max(views[0]["height"], min_height)
        if not titled:
            for view in views:
                view.pop("title", None)
        spec["config"] = theme_config(scale)
        return spec


def figure_caption(result: AnalysisResult, what: str, method: str) -> str:
    """'<what, naming the outcome>. Cohort: <filters in English>; N = …. <method>. <suppression rule>.'"""
    n = "withheld" if result.n is None else f"{result.n:,}"
    parts = [f"{what}.", f"Cohort: {result.cohort.description}; N = {n}.", f"{method}."]
    if result.cohort.policy.perturbed:
        parts.append(f"Counts perturbed (cell key method); counts below {result.cohort.min_cell} are withheld.")
    elif result.cohort.min_cell > 1:
        parts.append(f"Counts below {result.cohort.min_cell} are withheld.")
    return " ".join(parts)
