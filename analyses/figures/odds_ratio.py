"""Figures of the odds-ratio analysis: a forest plot of per-stratum ORs with the pooled estimates."""

from __future__ import annotations

import altair as alt
import pandas as pd

from analyses.figures.figure import Figure, figure_caption, log_ticks
from analyses.figures.theme import POOLED_COLOR, no_effect_rule
from analyses.results import AnalysisResult

STRATUM_NAMES = {"age": "age band", "site": "site"}
POOLED_ROWS = (("crude_or", "Crude"), ("mh_or", "Mantel–Haenszel"), ("adjusted_or", "Adjusted"))


def forest_rows(result: AnalysisResult) -> pd.DataFrame:
    """Per-stratum ORs followed by the pooled ones, with the CIs the plot draws (withheld rows dropped)."""
    strata = result.table("strata")
    rows = []
    if not strata.empty and "or" in strata.columns:
        rows = [{"row": str(r["stratum"]), "or": r["or"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                 "kind": "stratum"} for r in strata.to_dict("records")]
    for measure, name in POOLED_ROWS:
        e = result.estimate(measure)
        if e is not None:
            rows.append({"row": f"{name} (all)", "or": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high,
                         "kind": "pooled"})
    frame = pd.DataFrame(rows, columns=["row", "or", "ci_low", "ci_high", "kind"])
    frame = frame.dropna(subset=["or", "ci_low", "ci_high"])
    return frame.astype({"or": float, "ci_low": float, "ci_high": float})


def forest_chart(frame: pd.DataFrame, x_title: str, title: str) -> alt.LayerChart:
    """Estimates with CIs on a log axis, a dashed line at 1; pooled rows as diamonds in the pooled colour."""
    order = list(frame["row"])
    y = alt.Y("row:N", sort=order, title=None)
    x_scale = alt.Scale(type="log", nice=False, padding=12)
    color = alt.Color("kind:N", scale=alt.Scale(domain=["stratum", "pooled"], range=["#000000", POOLED_COLOR]),
                      legend=None)
    base = alt.Chart(frame)
    x_axis = alt.Axis(values=log_ticks(min(float(frame["ci_low"].min()), 1.0), max(float(frame["ci_high"].max()), 1.0)),
                      format="~g")
    whiskers = base.mark_rule().encode(x=alt.X("ci_low:Q", scale=x_scale, title=x_title, axis=x_axis),
                                       x2="ci_high:Q", y=y,
                                       color=color)
    points = base.mark_point(filled=True, opacity=1).encode(
        x=alt.X("or:Q", scale=x_scale), y=y, color=color,
        shape=alt.Shape("kind:N", scale=alt.Scale(domain=["stratum", "pooled"], range=["circle", "diamond"]),
                        legend=None),
        size=alt.Size("kind:N", scale=alt.Scale(domain=["stratum", "pooled"], range=[90, 200]), legend=None),
        tooltip=[alt.Tooltip("row:N", title=" "), alt.Tooltip("or:Q", format=".2f", title="estimate"),
                 alt.Tooltip("ci_low:Q", format=".2f", title="CI low"),
                 alt.Tooltip("ci_high:Q", format=".2f", title="CI high")])
    one = no_effect_rule()
    return alt.layer(one, whiskers, points).properties(title=title, height=max(180, 34 * len(order)))


def figures(result: AnalysisResult) -> list[Figure]:
    """The forest plot (none when no odds ratio could be shown)."""
    frame = forest_rows(result)
    if frame.empty:
        return []
    strata = result.details.stratified_by
    what = f"{result.title}, per {STRATUM_NAMES.get(strata, strata)} and pooled" if strata else result.title
    contrast = next((e.label for e in result.estimates if e.label), "exposed vs unexposed")
    chart = forest_chart(frame, f"Odds ratio, {contrast} (log scale)", what)
    caption = figure_caption(result, what, "Points are odds ratios with 95% CIs (Woolf per stratum; pooled: crude "
                             "Woolf, Mantel–Haenszel with the Robins–Breslow–Greenland CI, and logistic regression "
                             "with Wald CI); the dashed line marks no difference")
    return [Figure("forest", what, chart, caption, frame)]
