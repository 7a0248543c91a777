"""Render analysis result objects: estimates, tests, notes, figures and "How this was computed".

Everything shown here comes from an ``AnalysisResult`` that already passed the disclosure gate; this module only
formats it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analyses import exports
from analyses.figures import Figure
from analyses.results import AnalysisResult, software_versions

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
        st.caption(f"{result.caption} Method of each estimate in its row; 95% confidence intervals.")


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
        versions = ", ".join(f"{k} {v}" for k, v in software_versions().items())
        st.caption(f"Software: {versions}. Data hash {result.cohort.data_hash}; small-cell threshold "
                   f"{result.cohort.min_cell}.")


def figure_panel(figure: Figure, result: AnalysisResult) -> None:
    """A figure in the shared theme (Streamlit's own theme off, so screen and export match), its caption, and
    PNG / SVG / CSV downloads that are built only when clicked."""
    st.vega_lite_chart(spec=figure.spec(), theme=None, width="content" if figure.fixed_width else "stretch")
    st.caption(figure.caption)
    stem = exports.file_stem(result, figure.key)
    png, svg, csv, _ = st.columns([1, 1, 1, 5])
    png.download_button("PNG", data=lambda: exports.figure_png(figure), file_name=f"{stem}.png", mime="image/png",
                        on_click="ignore", icon=":material/download:", key=f"download_{figure.key}_png",
                        help="200 ppi, for slides and print")
    svg.download_button("SVG", data=lambda: exports.figure_svg(figure), file_name=f"{stem}.svg",
                        mime="image/svg+xml", on_click="ignore", icon=":material/download:",
                        key=f"download_{figure.key}_svg", help="Vector graphic")
    if figure.table:
        csv.download_button("CSV", data=lambda: exports.table_csv(result, figure.table),
                            file_name=f"{exports.file_stem(result, figure.table)}.csv", mime="text/csv",
                            on_click="ignore", icon=":material/download:", key=f"download_{figure.key}_csv",
                            help="The result table behind the figure, with a header naming the cohort")


def table_panel(result: AnalysisResult, name: str, shown: pd.DataFrame, caption: str) -> None:
    """A result table as displayed (suppressed cells spelled out), its caption and its tidy CSV download."""
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption(caption)
    st.download_button("CSV", data=lambda: exports.table_csv(result, name),
                       file_name=f"{exports.file_stem(result, name)}.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:", key=f"download_table_{name}",
                       help="The tidy result table, with a header naming the cohort")
