"""Figures of the age–prevalence analysis: band prevalences over the spline curves; standardized prevalence."""

from __future__ import annotations

import altair as alt
import pandas as pd

from analyses.bands import age_band_midpoint
from analyses.figures.figure import PERCENT_FORMAT, Figure, figure_caption
from analyses.figures.theme import SEX_COLORS
from analyses.results import AnalysisResult

SEX_DOMAIN = list(SEX_COLORS)


def sex_scale(*frames: pd.DataFrame) -> alt.Scale:
    """The colour scale of the groups present (women and men, or everyone where the cohort has no sex), so the
    legend lists only those."""
    present = set().union(*(set(f["sex"]) for f in frames if "sex" in f))
    domain = [s for s in SEX_DOMAIN if s in present] or SEX_DOMAIN[:2]
    return alt.Scale(domain=domain, range=[SEX_COLORS[s] for s in domain])
# Legend symbols drawn solid (the first layer is a pale CI band, whose look the legend would otherwise copy).
SOLID_LEGEND = alt.Legend(symbolOpacity=1, symbolType="circle")
DODGE = {"women": -0.6, "men": 0.6}  # years, so the two sexes' whiskers do not overlap


def band_points(result: AnalysisResult) -> pd.DataFrame:
    """Shown band prevalences with CIs, placed at the band's middle age (withheld bands dropped)."""
    rows = result.table("rows")
    if rows.empty:
        return pd.DataFrame(columns=["sex", "age_band", "age", "prevalence", "ci_low", "ci_high"])
    curve = result.table("curve")
    top = float(curve["age"].max()) if not curve.empty else 90.0
    shown = rows[~rows["suppressed"].astype(bool)].dropna(subset=["prevalence"]).copy()
    shown["age"] = [age_band_midpoint(b, top) + DODGE.get(s, 0) for b, s in zip(shown["age_band"], shown["sex"])]
    return shown[["sex", "age_band", "age", "prevalence", "ci_low", "ci_high"]].astype(
        {"prevalence": float, "ci_low": float, "ci_high": float})


def peak_label(age: float) -> str:
    """A peak age as shown everywhere (chart and metrics): one decimal, always ("65.0 y", "66.6 y")."""
    return f"{age:.1f} y"


def peak_points(result: AnalysisResult) -> pd.DataFrame:
    peaks = result.details.peak
    return pd.DataFrame([{"sex": s, "age": p["age"], "prevalence": p["prevalence"],
                          "label": f"peak {peak_label(p['age'])}"} for s, p in peaks.items() if not p["at_edge"]],
                        columns=["sex", "age", "prevalence", "label"])


def sex_legend(peaks: pd.DataFrame) -> alt.Legend:
    """The sex legend, each sex's peak age in its label ("women, peak 65.3 y"): the peak is named where it can
    cross no whisker, band or curve, in the sex's colour key, and the triangle on the curve marks where it is."""
    labels = dict(zip(peaks["sex"], peaks["label"]))
    if not labels:
        return SOLID_LEGEND
    expr = " : ".join([f"datum.label === {sex!r} ? {f'{sex}, {text}'!r}" for sex, text in labels.items()]
                      + ["datum.label"])
    return alt.Legend(symbolOpacity=1, symbolType="circle", labelExpr=expr)


def curve_chart(result: AnalysisResult, title: str) -> alt.LayerChart:
    peaks = peak_points(result)
    color = alt.Color("sex:N", scale=sex_scale(result.table("curve"), result.table("rows")), title="Sex",
                      legend=sex_legend(peaks))
    y_axis = alt.Axis(format=PERCENT_FORMAT)
    curve = result.table("curve")
    layers = []
    if not curve.empty:
        base = alt.Chart(curve.astype({"prevalence": float, "ci_low": float, "ci_high": float}))
        layers += [base.mark_area(opacity=0.18).encode(x="age:Q", y="ci_low:Q", y2="ci_high:Q", color=color),
                   base.mark_line().encode(x="age:Q", y="prevalence:Q", color=color)]
    points = alt.Chart(band_points(result))
    tooltip = [alt.Tooltip("sex:N"), alt.Tooltip("age_band:N", title="age band"),
               alt.Tooltip("prevalence:Q", format=".1%"), alt.Tooltip("ci_low:Q", format=".1%", title="CI low"),
               alt.Tooltip("ci_high:Q", format=".1%", title="CI high")]
    layers += [points.mark_rule().encode(x="age:Q", y="ci_low:Q", y2="ci_high:Q", color=color),
               points.mark_point(filled=True, opacity=1, size=80).encode(
                   x=alt.X("age:Q", title="Age (years)", scale=alt.Scale(zero=False, nice=False, padding=10)),
                   y=alt.Y("prevalence:Q", title="Prevalence", axis=y_axis, scale=alt.Scale(zero=True)),
                   color=color, tooltip=tooltip)]
    if not peaks.empty:
        layers.append(alt.Chart(peaks).mark_point(shape="triangle-down", filled=True, size=140, opacity=1,
                                                  yOffset=-12).encode(
            x="age:Q", y="prevalence:Q", color=color,
            tooltip=[alt.Tooltip("sex:N"), alt.Tooltip("label:N", title="peak age")]))
    return alt.layer(*layers).properties(title=title, height=380)


def standardized_rows(result: AnalysisResult) -> pd.DataFrame:
    rows = [{"sex": e.group, "standard": e.standard, "prevalence": e.estimate, "ci_low": e.ci_low,
             "ci_high": e.ci_high} for e in result.estimates
            if e.measure == "standardized_prevalence" and e.estimate is not None]
    return pd.DataFrame(rows, columns=["sex", "standard", "prevalence", "ci_low", "ci_high"])


def standardized_chart(frame: pd.DataFrame, title: str) -> alt.LayerChart:
    color = alt.Color("sex:N", scale=sex_scale(frame), legend=None)
    y = alt.Y("sex:N", sort=SEX_DOMAIN, title=None)
    base = alt.Chart(frame)
    return alt.layer(
        base.mark_rule().encode(x=alt.X("ci_low:Q", title="Age-standardized prevalence",
                                        axis=alt.Axis(format=PERCENT_FORMAT), scale=alt.Scale(zero=True)),
                                x2="ci_high:Q", y=y, color=color),
        base.mark_point(filled=True, opacity=1, size=160).encode(
            x="prevalence:Q", y=y, color=color,
            tooltip=[alt.Tooltip("sex:N"), alt.Tooltip("prevalence:Q", format=".2%"),
                     alt.Tooltip("ci_low:Q", format=".2%", title="CI low"),
                     alt.Tooltip("ci_high:Q", format=".2%", title="CI high")]),
    ).properties(title=title, height=130)


def curve_data(result: AnalysisResult) -> pd.DataFrame:
    """What the curve figure draws, in one tidy table: the band rows (as gated) and the fitted curve points."""
    bands = result.table("rows").assign(part="age band")
    curve = result.table("curve").assign(part="fitted curve")
    return pd.concat([bands, curve], ignore_index=True)[
        [c for c in ("part", "sex", "age_band", "age", "events", "n", "prevalence", "ci_low", "ci_high",
                     "suppressed") if c in bands.columns or c in curve.columns]]


def figures(result: AnalysisResult) -> list[Figure]:
    """The band-and-curve figure and the standardized prevalence figure (each only when it has points)."""
    out = []
    if not band_points(result).empty or not result.table("curve").empty:
        what = f"{result.title}: age bands and fitted curves"
        out.append(Figure("curve", what, curve_chart(result, what), figure_caption(
            result, what, "Points: prevalence per age band with Wilson 95% CIs, at the band's middle age. Lines: "
            "logistic regression on a natural spline of age per sex with 95% bands; triangles mark the peak age, "
            "named in the legend"),
            curve_data(result)))
    standardized = standardized_rows(result)
    if not standardized.empty:
        method = next(e.method for e in result.estimates if e.measure == "standardized_prevalence")
        what = f"Age-standardized prevalence of {result.details.outcome_label} by sex"
        out.append(Figure("standardized", what, standardized_chart(standardized, what),
                          figure_caption(result, what, method[0].upper() + method[1:]), standardized))
    return out
