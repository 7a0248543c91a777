"""Render analysis result objects: estimates, tests, notes, figures and "How this was computed".

Everything shown here comes from an ``AnalysisResult`` that already passed the disclosure gate; this module only
formats it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analyses import exports
from analyses.disclosure import DisclosurePolicy
from analyses.figures import Figure
from analyses.results import AnalysisResult, Estimate, TestResult, software_versions
from dashboard import render

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


def test_sentence(test: TestResult | None, subject: str, verdicts: tuple[str, str], name: str) -> None:
    """A test in words: '<subject> <verdict if p < 0.05, else the other> (<name>: χ² = …, df = …, p = …).'"""
    if test is None or test.p_value is None or test.statistic is None:
        return
    verdict = verdicts[0] if test.p_value < 0.05 else verdicts[1]
    st.markdown(f"{subject} {verdict} ({name}: χ² = {test.statistic:.2f}, df = {test.df}, "
                f"p = {fmt_p(test.p_value)}).")


def _percent_metric(column, label: str, e: Estimate | None) -> None:
    shown = e is not None and e.estimate is not None and e.ci_low is not None and e.ci_high is not None
    column.metric(label, f"{100 * e.estimate:.1f}%" if shown else "–",
                  help=f"95% CI {100 * e.ci_low:.1f}–{100 * e.ci_high:.1f}%; {e.method}." if shown else None)


def prevalence_summary(result: AnalysisResult) -> None:
    """Peak age per sex, standardized prevalence per sex and the women/men ratio as metrics."""
    peaks = result.extra("peak", {})
    standardized = {e.group: e for e in result.estimates if e.measure == "standardized_prevalence"}
    ratio = result.estimate("standardized_ratio")
    columns = st.columns(5)
    for column, sex in zip(columns, ("women", "men")):
        peak = peaks.get(sex)
        column.metric(f"Peak age, {sex}", "–" if peak is None or peak["at_edge"] else f"{peak['age']:g} y",
                      help="Age of the highest fitted prevalence (none when it is at the edge of the age range).")
    for column, sex in zip(columns[2:], ("women", "men")):
        _percent_metric(column, f"Standardized, {sex}", standardized.get(sex))
    shown = ratio is not None and ratio.estimate is not None and ratio.ci_low is not None
    columns[4].metric("Women / men", f"{ratio.estimate:.2f}" if shown else "–",
                      help=f"95% CI {ratio.ci_low:.2f}–{ratio.ci_high:.2f}; {ratio.method}." if shown else None)


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
    with png:
        _download("PNG", lambda: exports.figure_png(figure), f"{stem}.png", f"{figure.key}_png",
                  "200 ppi, for slides and print")
    with svg:
        _download("SVG", lambda: exports.figure_svg(figure), f"{stem}.svg", f"{figure.key}_svg", "Vector graphic")
    with csv:
        _download("CSV", lambda: exports.frame_csv(result, figure.data), f"{stem}.csv", f"{figure.key}_csv",
                  "The data the figure draws, with a header naming the cohort")


def figure_panels(result: AnalysisResult, figures: list[Figure], missing: str) -> None:
    """Every figure of the result, or a message in place of the ``missing`` one when there is nothing to draw."""
    for figure in figures:
        figure_panel(figure, result)
    if not figures:
        st.info(f"No {missing} can be drawn for this cohort; the notes above say why.", icon=":material/hide_image:")


def table_panel(result: AnalysisResult, name: str, policy: DisclosurePolicy, caption: str, **display) -> None:
    """The result table ``name`` as displayed (``display``: see ``render.gated_table``; suppressed cells spelled
    out), its caption and its tidy CSV download; nothing when the table is empty."""
    table = result.table(name)
    if table.empty:
        return
    st.dataframe(render.gated_table(table, policy, **display), hide_index=True, width="stretch")
    st.caption(caption)
    _download("CSV", lambda: exports.table_csv(result, name), f"{exports.file_stem(result, name)}.csv",
              f"table_{name}", "The tidy result table, with a header naming the cohort")


MIME_TYPES = {"png": "image/png", "svg": "image/svg+xml", "csv": "text/csv"}


def _download(label: str, build, file_name: str, key: str, help: str) -> None:
    """A download button whose file is built only when clicked (no rerun of the page)."""
    st.download_button(label, data=build, file_name=file_name, mime=MIME_TYPES[file_name.rsplit(".", 1)[1]],
                       on_click="ignore", icon=":material/download:", key=f"download_{key}", help=help)
