"""Figures of the biomarker-risk analysis: OR and HR per band, the dose–response curve, Kaplan–Meier curves."""

from __future__ import annotations

import altair as alt
import pandas as pd

from analyses.figures.figure import PERCENT_FORMAT, Figure, figure_caption, log_ticks
from analyses.figures.theme import REFERENCE_LINE_COLOR, band_colors, no_effect_rule
from analyses.results import AnalysisResult

# The ferritin levels clinicians look for on a chart (IRLSSG iron guidance), drawn on ferritin figures.
FERRITIN_REFERENCE_LINES = (50.0, 75.0)
MEASURES = {"crude_or": "Crude OR", "adjusted_or": "Adjusted OR", "hr": "Adjusted HR"}
MEASURE_COLORS = ("#E69F00", "#009E73", "#0072B2")
KM_WIDTH = 640
# Numbers at risk are printed only at times at least one label apart: about 9 px per character of 13 px type (a
# margin for presentation mode, where the type grows a little faster than the width) and a 14 px gap.
AT_RISK_CHAR_PX = 9
AT_RISK_GAP_PX = 14
KM_X_PADDING = 32  # px left and right of the time axis, so the labels at time 0 clear the band names


def band_scale(result: AnalysisResult) -> alt.Scale:
    labels = result.details.band_labels
    return alt.Scale(domain=labels, range=band_colors(labels))


def effect_rows(result: AnalysisResult) -> pd.DataFrame:
    rows = [{"band": e.band, "measure": MEASURES[e.measure], "estimate": e.estimate, "ci_low": e.ci_low,
             "ci_high": e.ci_high} for e in result.estimates if e.measure in MEASURES]
    frame = pd.DataFrame(rows, columns=["band", "measure", "estimate", "ci_low", "ci_high"])
    return frame.dropna(subset=["estimate", "ci_low", "ci_high"]).astype(
        {"estimate": float, "ci_low": float, "ci_high": float})


def effects_chart(frame: pd.DataFrame, result: AnalysisResult, title: str) -> alt.LayerChart:
    order = [b for b in result.details.band_labels if b in set(frame["band"])]
    y = alt.Y("band:N", sort=order, title="Band")
    color = alt.Color("measure:N", title=None, scale=alt.Scale(domain=list(MEASURES.values()),
                                                                range=list(MEASURE_COLORS)))
    offset = alt.YOffset("measure:N", sort=list(MEASURES.values()))
    x_scale = alt.Scale(type="log", nice=False, padding=12)
    low = min(float(frame["ci_low"].min()), 1.0)
    high = max(float(frame["ci_high"].max()), 1.0)
    x_axis = alt.Axis(values=log_ticks(low, high), format="~g")
    base = alt.Chart(frame)
    one = no_effect_rule()
    return alt.layer(
        one,
        base.mark_rule().encode(x=alt.X("ci_low:Q", scale=x_scale, axis=x_axis,
                                        title=f"Ratio vs reference band {result.details.reference_band} (log scale)"),
                                x2="ci_high:Q", y=y, yOffset=offset, color=color),
        base.mark_point(filled=True, opacity=1, size=90).encode(
            x=alt.X("estimate:Q", scale=x_scale), y=y, yOffset=offset, color=color,
            tooltip=[alt.Tooltip("band:N"), alt.Tooltip("measure:N"), alt.Tooltip("estimate:Q", format=".2f"),
                     alt.Tooltip("ci_low:Q", format=".2f", title="CI low"),
                     alt.Tooltip("ci_high:Q", format=".2f", title="CI high")]),
    ).properties(title=title, height=max(160, 70 * len(order)))


def dose_response_chart(result: AnalysisResult, title: str) -> alt.LayerChart:
    curve = result.table("dose_response").astype(float)
    label = result.details.biomarker_label
    base = alt.Chart(curve)
    x = alt.X("biomarker:Q", title=label, scale=alt.Scale(type="log", nice=False))
    layers = [base.mark_area(opacity=0.2, color="#0072B2").encode(x=x, y="risk_low:Q", y2="risk_high:Q"),
              base.mark_line(color="#0072B2").encode(
                  x=x, y=alt.Y("risk:Q", title=f"Risk of {result.details.event_label.lower()}",
                               axis=alt.Axis(format=PERCENT_FORMAT)),
                  tooltip=[alt.Tooltip("biomarker:Q", format=".0f", title=label),
                           alt.Tooltip("risk:Q", format=".1%"), alt.Tooltip("risk_low:Q", format=".1%", title="CI low"),
                           alt.Tooltip("risk_high:Q", format=".1%", title="CI high")])]
    lines = reference_lines(result, curve)
    if not lines.empty:
        rules = alt.Chart(lines)
        layers += [rules.mark_rule(strokeDash=[4, 4], color=REFERENCE_LINE_COLOR, strokeWidth=1.5).encode(x="x:Q"),
                   rules.mark_text(align="left", dx=4, dy=8, color=REFERENCE_LINE_COLOR, baseline="top").encode(
                       x="x:Q", y=alt.value(0), text="label:N")]
    return alt.layer(*layers).properties(title=title, height=340)


def reference_lines(result: AnalysisResult, curve: pd.DataFrame) -> pd.DataFrame:
    """50 and 75 µg/L on ferritin figures (inside the plotted range); none for other biomarkers."""
    label = result.details.biomarker_label
    if "ferritin" not in label.lower() or curve.empty:
        return pd.DataFrame(columns=["x", "label"])
    low, high = curve["biomarker"].min(), curve["biomarker"].max()
    return pd.DataFrame([{"x": v, "label": f"{v:g}"} for v in FERRITIN_REFERENCE_LINES if low <= v <= high],
                        columns=["x", "label"])


def km_chart(result: AnalysisResult, title: str) -> alt.VConcatChart:
    curve = result.table("km_curve")
    curve = curve[~curve["suppressed"].astype(bool)].dropna(subset=["survival"]).astype(
        {"time": float, "survival": float, "ci_low": float, "ci_high": float})
    color = alt.Color("band:N", scale=band_scale(result), title="Band",
                      legend=alt.Legend(symbolOpacity=1, symbolType="circle", orient="right"))
    base = alt.Chart(curve)
    x_scale = alt.Scale(domain=[0, km_end(result)], nice=False, padding=KM_X_PADDING)
    x = alt.X("time:Q", title="Years since treatment start", scale=x_scale,
              axis=alt.Axis(format="d", tickMinStep=1))
    plot = alt.layer(
        base.mark_area(opacity=0.12, interpolate="step-after").encode(x=x, y="ci_low:Q", y2="ci_high:Q", color=color),
        base.mark_line(interpolate="step-after").encode(
            x=x, y=alt.Y("survival:Q", title=f"Free of {result.details.event_label.lower()}",
                         axis=alt.Axis(format=PERCENT_FORMAT), scale=alt.Scale(domain=[0, 1])), color=color),
    ).properties(title=title, width=KM_WIDTH, height=320)
    return alt.vconcat(plot, at_risk_chart(result, x_scale), spacing=6).resolve_scale(x="shared", color="shared")


def km_end(result: AnalysisResult) -> float:
    """The right end of the time axis: the last time drawn (a curve or a number at risk), at least one year."""
    times = [result.table(name)["time"].astype(float).max() for name in ("km_curve", "km")
             if not result.table(name).empty]
    times = [t for t in times if pd.notna(t)]
    return max([1.0, *times])


def at_risk_rows(result: AnalysisResult) -> pd.DataFrame:
    """Numbers at risk per band at the reporting times, as displayed ("withheld" below the threshold)."""
    km = result.table("km")
    if km.empty:
        return pd.DataFrame(columns=["band", "time", "text"])
    text = ["withheld" if pd.isna(n) else f"{int(n):,}" for n in km["at_risk"]]
    return pd.DataFrame({"band": km["band"], "time": km["time"].astype(float), "text": text})


def at_risk_labels(result: AnalysisResult) -> pd.DataFrame:
    """The numbers at risk printed under the plot: at time 0 (everyone in the band, from the curve's start, when
    the reporting times lack it) and at the reporting times, leaving out a time that would print too close to the
    one before it."""
    rows = at_risk_rows(result)
    curve = result.table("km_curve")
    if not curve.empty and not (rows["time"].astype(float) <= 0).any():
        start = curve[curve["time"].astype(float) <= 0]
        rows = pd.concat([pd.DataFrame({"band": start["band"], "time": 0.0,
                                        "text": ["withheld" if pd.isna(n) else f"{int(n):,}"
                                                 for n in start["at_risk"]]}), rows], ignore_index=True)
    if rows.empty:
        return rows
    label_px = AT_RISK_CHAR_PX * int(rows["text"].str.len().max()) + AT_RISK_GAP_PX
    kept = spaced_times(sorted(rows["time"].astype(float).unique()), km_end(result), label_px)
    return rows[rows["time"].astype(float).isin(kept)].reset_index(drop=True)


def spaced_times(times: list[float], end: float, label_px: int, width: int = KM_WIDTH) -> list[float]:
    """The times, first kept, each next one only when it lies at least ``label_px`` (one label and a gap) from
    the last kept on an axis of ``width`` px from 0 to ``end``."""
    gap = end * label_px / width
    kept: list[float] = []
    for t in times:
        if not kept or t - kept[-1] >= gap:
            kept.append(t)
    return kept


def at_risk_chart(result: AnalysisResult, x_scale: alt.Scale) -> alt.Chart:
    rows = at_risk_labels(result)
    order = result.details.band_labels
    return alt.Chart(rows).mark_text().encode(
        x=alt.X("time:Q", title="Number at risk", scale=x_scale,
                axis=alt.Axis(orient="top", labels=False, ticks=False, domain=False, grid=False)),
        y=alt.Y("band:N", sort=order, title=None, axis=alt.Axis(grid=False, domain=False, ticks=False)),
        text="text:N", color=alt.Color("band:N", scale=band_scale(result), legend=None),
    ).properties(width=KM_WIDTH, height=24 * max(1, len(order)))


def figures(result: AnalysisResult) -> list[Figure]:
    """Ratios per band, the dose–response curve and the Kaplan–Meier curves (each only when it has data)."""
    out = []
    event = result.details.event_label
    marker = result.details.biomarker_label
    reference = result.details.reference_band
    effects = effect_rows(result)
    if not effects.empty:
        what = f"Odds and hazard ratios of {event.lower()} by {marker} band vs {reference}"
        out.append(Figure("effects", what, effects_chart(effects, result, what), figure_caption(
            result, what, "ORs from logistic regression (crude and adjusted), HRs from a Cox model (adjusted), "
            "Wald 95% CIs; the dashed line marks no difference"), effects))
    if not result.table("dose_response").empty:
        what = f"Risk of {event.lower()} by {marker}"
        out.append(Figure("dose_response", what, dose_response_chart(result, what), figure_caption(
            result, what, "Unadjusted logistic regression of the event on a natural cubic spline of the log biomarker, "
            "95% band; dashed lines at the clinical thresholds"), result.table("dose_response")))
    km = result.table("km_curve")
    if not km.empty and km["survival"].notna().any():
        what = f"Kaplan–Meier: free of {event.lower()} by {marker} band"
        out.append(Figure("km", what, km_chart(result, what), figure_caption(
            result, what, "Kaplan–Meier estimates with log-log 95% bands; each curve stops where fewer than the "
            "small-cell threshold remain at risk; numbers at risk below the plot"), km, fixed_width=True))
    return out
