"""Figure of the risk-factor analysis: a forest plot of each factor level's crude and adjusted odds ratios, side by
side on a log axis."""

from __future__ import annotations

import altair as alt
import pandas as pd

from analyses.figures.figure import Figure, figure_caption, log_ticks
from analyses.figures.theme import POOLED_COLOR, no_effect_rule
from analyses.results import AnalysisResult

KINDS = (("crude_or", "Crude"), ("adjusted_or", "Adjusted"))
COLORS = ("#000000", POOLED_COLOR)


def forest_rows(result: AnalysisResult) -> pd.DataFrame:
    """One row per factor level and kind (crude, adjusted) with its OR and CI (withheld ones dropped)."""
    rows = [{"row": e.label, "kind": name, "or": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high}
            for measure, name in KINDS for e in result.estimates if e.measure == measure]
    frame = pd.DataFrame(rows, columns=["row", "kind", "or", "ci_low", "ci_high"])
    frame = frame.dropna(subset=["or", "ci_low", "ci_high"])
    return frame.astype({"or": float, "ci_low": float, "ci_high": float})


def forest_chart(frame: pd.DataFrame, title: str) -> alt.LayerChart:
    """Crude and adjusted ORs of each level, one above the other, with CIs; a dashed line at 1."""
    order = list(dict.fromkeys(frame["row"]))
    y = alt.Y("row:N", sort=order, title=None, axis=alt.Axis(labelLimit=360))
    offset = alt.YOffset("kind:N", sort=[name for _m, name in KINDS])
    x_scale = alt.Scale(type="log", nice=False, padding=12)
    color = alt.Color("kind:N", title=None, scale=alt.Scale(domain=[name for _m, name in KINDS], range=list(COLORS)),
                      legend=alt.Legend(orient="top"))
    x_axis = alt.Axis(values=log_ticks(min(float(frame["ci_low"].min()), 1.0), max(float(frame["ci_high"].max()), 1.0)),
                      format="~g")
    base = alt.Chart(frame)
    whiskers = base.mark_rule().encode(x=alt.X("ci_low:Q", scale=x_scale, title="Odds ratio (log scale)",
                                               axis=x_axis), x2="ci_high:Q", y=y, yOffset=offset, color=color)
    points = base.mark_point(filled=True, opacity=1, size=80).encode(
        x=alt.X("or:Q", scale=x_scale), y=y, yOffset=offset, color=color,
        shape=alt.Shape("kind:N", scale=alt.Scale(domain=[name for _m, name in KINDS], range=["circle", "diamond"]),
                        legend=None),
        tooltip=[alt.Tooltip("row:N", title=" "), alt.Tooltip("kind:N", title="OR"),
                 alt.Tooltip("or:Q", format=".2f", title="estimate"),
                 alt.Tooltip("ci_low:Q", format=".2f", title="CI low"),
                 alt.Tooltip("ci_high:Q", format=".2f", title="CI high")])
    one = no_effect_rule()
    return alt.layer(one, whiskers, points).properties(title=title, height=max(180, 44 * len(order)))


def figures(result: AnalysisResult) -> list[Figure]:
    """The forest plot (none when no odds ratio could be shown)."""
    frame = forest_rows(result)
    if frame.empty:
        return []
    what = f"{result.title}: crude and adjusted odds ratios"
    caption = figure_caption(result, what, "Points are odds ratios with Wald 95% CIs from logistic regression: crude "
                             "(the factor alone) and adjusted (all factors); the dashed line marks no association")
    return [Figure("risk_factors", what, forest_chart(frame, what), caption, frame)]
