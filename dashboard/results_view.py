"""Render analysis result objects: estimates, tests, notes, figures and "How this was computed".

Everything shown here comes from an ``AnalysisResult`` that already passed the disclosure gate; this module only
formats it.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from analyses.results import AnalysisResult

MEASURE_NAMES = {"crude_or": "Crude OR", "exact_or": "Exact OR", "mh_or": "Mantel–Haenszel OR",
                 "adjusted_or": "Adjusted OR", "hr": "Hazard ratio",
                 "standardized_prevalence": "Age-standardized prevalence", "standardized_ratio": "Standardized ratio"}


def fmt(value, digits: int = 2) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def fmt_p(p) -> str:
    if p is None or pd.isna(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def estimates_table(result: AnalysisResult, measures: tuple[str, ...] | None = None) -> None:
    rows = [{"Measure": MEASURE_NAMES.get(e.measure, e.measure), "Comparison": e.label,
             "Estimate": fmt(e.estimate), "95% CI": f"{fmt(e.ci_low)}–{fmt(e.ci_high)}", "p": fmt_p(e.p_value),
             "Method": e.method}
            for e in result.estimates if measures is None or e.measure in measures]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def notes(result: AnalysisResult) -> None:
    for note in result.notes:
        st.warning(note, icon=":material/info:")


def how_computed(result: AnalysisResult) -> None:
    with st.expander("How this was computed"):
        st.markdown(result.methods)
        for formula in result.formulas:
            st.code(formula, language="r")
        st.markdown("**Aggregation query** (only aggregates leave the engine):")
        for sql in result.queries:
            st.code(sql, language="sql")
        versions = ", ".join(f"{k} {v}" for k, v in result.to_dict()["software"].items())
        st.caption(f"Software: {versions}. Data hash {result.cohort.data_hash}; small-cell threshold "
                   f"{result.cohort.min_cell}.")


def forest_plot(strata: pd.DataFrame, pooled, title: str) -> alt.Chart | None:
    """Per-stratum ORs with CIs on a log axis, the pooled estimate as a rule."""
    if strata.empty or "or" not in strata.columns:
        return None
    shown = strata.dropna(subset=["or", "ci_low", "ci_high"])
    if shown.empty:
        return None
    shown = shown.assign(**{c: shown[c].astype(float) for c in ("or", "ci_low", "ci_high")})
    order = list(shown["stratum"])
    y = alt.Y("stratum:N", sort=order, title=None)
    x_scale = alt.Scale(type="log")
    whiskers = alt.Chart(shown).mark_rule().encode(x=alt.X("ci_low:Q", scale=x_scale, title="Odds ratio (log scale)"),
                                                   x2="ci_high:Q", y=y)
    points = alt.Chart(shown).mark_point(filled=True, size=80).encode(
        x=alt.X("or:Q", scale=x_scale), y=y,
        tooltip=[alt.Tooltip("stratum:N"), alt.Tooltip("or:Q", format=".2f"), alt.Tooltip("ci_low:Q", format=".2f"),
                 alt.Tooltip("ci_high:Q", format=".2f")])
    layers = [whiskers, points, alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[2, 2]).encode(x="x:Q")]
    if pooled is not None and pooled.estimate is not None:
        layers.append(alt.Chart(pd.DataFrame({"x": [pooled.estimate]})).mark_rule(color="#D55E00").encode(x="x:Q"))
    return alt.layer(*layers).properties(title=title, height=max(160, 32 * len(order)))
