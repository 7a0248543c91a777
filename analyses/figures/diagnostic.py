"""Figures of the diagnostic-accuracy analysis: the ROC curve with the chosen threshold, and sensitivity and
specificity per stratum with their CIs."""

from __future__ import annotations

import altair as alt
import pandas as pd

from analyses.figures.figure import PERCENT_FORMAT, Figure, figure_caption
from analyses.figures.theme import POOLED_COLOR, REFERENCE_LINE_COLOR
from analyses.results import AnalysisResult

MEASURES = (("sensitivity", "Sensitivity"), ("specificity", "Specificity"))


def roc_points(result: AnalysisResult) -> pd.DataFrame:
    """The ROC curve as drawn: false-positive rate (1 − specificity) against sensitivity."""
    roc = dict(result.tables).get("roc")  # none when nothing was estimated (a cohort too small)
    if roc is None or roc.empty:
        return pd.DataFrame(columns=["threshold", "fpr", "sensitivity", "specificity"])
    return roc.assign(fpr=1 - roc["specificity"].astype(float))[["threshold", "fpr", "sensitivity", "specificity"]]


FIFTHS = [i / 5 for i in range(6)]  # 0%, 20%, … 100%: six labels fit even a presented chart at 1280×720


def roc_chart(result: AnalysisResult, frame: pd.DataFrame, title: str) -> alt.LayerChart:
    axis = alt.Axis(format=PERCENT_FORMAT, values=FIFTHS)  # Vega chose 8% steps at some widths
    line = alt.Chart(frame).mark_line(point=True, interpolate="step-after").encode(
        x=alt.X("fpr:Q", title="1 − specificity (false-positive rate)", axis=axis, scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("sensitivity:Q", title="Sensitivity", axis=axis, scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("threshold:Q", format=".3~g"), alt.Tooltip("sensitivity:Q", format=".1%"),
                 alt.Tooltip("specificity:Q", format=".1%")])
    chance = alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]})).mark_line(
        strokeDash=[4, 4], color=REFERENCE_LINE_COLOR).encode(x="x:Q", y="y:Q")
    layers = [chance, line]
    sens, spec = result.estimate("sensitivity"), result.estimate("specificity")
    if sens is not None and spec is not None and None not in (sens.estimate, spec.estimate):
        chosen = pd.DataFrame({"fpr": [1 - spec.estimate], "sensitivity": [sens.estimate],
                               "label": [f"threshold {result.details.threshold:g}"]})
        layers.append(alt.Chart(chosen).mark_point(shape="diamond", filled=True, size=200, color=POOLED_COLOR,
                                                   opacity=1).encode(x="fpr:Q", y="sensitivity:Q",
                                                                     tooltip=["label:N"]))
    return alt.layer(*layers).properties(title=title, height=380)


def strata_rows(result: AnalysisResult) -> pd.DataFrame:
    """Sensitivity and specificity per stratum with CIs (withheld strata dropped)."""
    rows = [{"stratum": e.group, "measure": name, "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high}
            for measure, name in MEASURES for e in result.estimates
            if e.measure == measure and e.group is not None and e.estimate is not None]
    return pd.DataFrame(rows, columns=["stratum", "measure", "estimate", "ci_low", "ci_high"])


def strata_chart(frame: pd.DataFrame, title: str) -> alt.Chart:
    order = list(dict.fromkeys(frame["stratum"]))
    y = alt.Y("stratum:N", sort=order, title=None)
    x = alt.X("estimate:Q", title=None, axis=alt.Axis(format=PERCENT_FORMAT), scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart(frame)
    layer = alt.layer(base.mark_rule().encode(x=alt.X("ci_low:Q", scale=alt.Scale(domain=[0, 1])), x2="ci_high:Q", y=y),
                      base.mark_point(filled=True, size=90, opacity=1, color="#000000").encode(
                          x=x, y=y, tooltip=["stratum:N", alt.Tooltip("estimate:Q", format=".1%"),
                                             alt.Tooltip("ci_low:Q", format=".1%", title="CI low"),
                                             alt.Tooltip("ci_high:Q", format=".1%", title="CI high")]))
    return layer.properties(width=300, height=max(120, 30 * len(order))).facet(
        column=alt.Column("measure:N", title=None, sort=[name for _m, name in MEASURES])).properties(title=title)


def figures(result: AnalysisResult) -> list[Figure]:
    """The ROC curve (numeric test) and the per-stratum plot (when strata were asked for and shown)."""
    out = []
    roc = roc_points(result)
    if not roc.empty:
        what = f"ROC curve: {result.title}"
        auc = result.estimate("auc")
        method = "Empirical ROC from counts per test value (steps of at least k cases and k non-cases shown)"
        if auc is not None and auc.estimate is not None:
            method += f"; AUC {auc.estimate:.3f} (DeLong 95% CI {auc.ci_low:.3f}–{auc.ci_high:.3f})"
        out.append(Figure("roc", what, roc_chart(result, roc, what), figure_caption(result, what, method), roc))
    strata = strata_rows(result)
    if not strata.empty:
        what = f"Sensitivity and specificity by {result.details.stratified_by}"
        out.append(Figure("strata", what, strata_chart(strata, what), figure_caption(
            result, what, "Exact (Clopper–Pearson) 95% CIs"), strata, fixed_width=True))
    return out
