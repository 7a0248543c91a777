"""Render analysis result objects: estimates, tests, notes, figures and "How this was computed".

Everything shown here comes from an ``AnalysisResult`` that already passed the disclosure gate; this module only
formats it.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from analyses import display, exports
from analyses.figures import Figure
from analyses.registry import stated_tests
from analyses.results import AnalysisResult, software_versions


# The estimates table's columns: the short ones sized to their content, the method given the rest of the width and
# wrapped over up to three lines (the grid wraps text only in rows taller than 4rem), so no method is cut off.
# Widths sum to 790 px, inside the narrowest main column (about 820 px at 1280 px with the sidebar open); wider
# screens stretch them.
ESTIMATE_COLUMNS = {
    "Measure": st.column_config.TextColumn(width=150),
    "Comparison": st.column_config.TextColumn(width=110),
    "Estimate": st.column_config.TextColumn(width=70),
    "95% CI": st.column_config.TextColumn(width=95),
    "p": st.column_config.TextColumn(width=65, help="Three significant digits; values below 0.001 show as "
                                     "\"< 0.001\" — the CSV below holds the exact p-values."),
    "Method": st.column_config.TextColumn(width=300),
}
METHOD_LINE_CHARS = 40  # characters of a method on one line of the 300 px column


def row_height(rows: list[dict[str, str]]) -> int | None:
    """Rows tall enough for the longest method wrapped over the method column (the grid wraps text only in rows
    taller than 4rem); the default height when every method fits one line."""
    lines = max(math.ceil(len(r["Method"]) / METHOD_LINE_CHARS) for r in rows)
    return None if lines <= 1 else max(66, 20 * lines + 16)


def estimates_table(result: AnalysisResult, measures: tuple[str, ...] | None = None) -> None:
    """The estimates as displayed, their caption and a CSV with the exact values (p-values unrounded)."""
    rows = display.estimate_rows(result, measures)
    if not rows:
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config=ESTIMATE_COLUMNS,
                 row_height=row_height(rows), height="content")
    st.caption(display.estimates_caption(result))
    _download("CSV", lambda: exports.frame_csv(result, display.estimates_frame(result, measures)),
              f"{exports.file_stem(result, 'estimates')}.csv", "estimates",
              "The estimates with exact confidence limits and p-values, with a header naming the cohort")


def test_sentences(result: AnalysisResult) -> None:
    """The view's tests in words: '<subject> <verdict> (<name>: χ² = …, df = …, p = …).'; a p-value shown as
    "< 0.001" has its exact value in the hover text."""
    for test in stated_tests(result):
        sentence = display.test_sentence(test)
        if sentence:
            st.markdown(sentence, help=display.exact_p(test.p_value))


def prevalence_summary(result: AnalysisResult, standard_label: str) -> None:
    """Peak age per sex, standardized prevalence per sex and the women/men ratio as metrics, and their caption."""
    metrics = display.prevalence_summary(result)
    for column, metric in zip(st.columns(len(metrics)), metrics):
        column.metric(metric.label, metric.value, help=metric.help)
    st.caption(display.summary_caption(result, standard_label))


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
                   f"{result.cohort.min_cell}. {result.cohort.disclosure_note}")


def figure_panel(figure: Figure, result: AnalysisResult) -> None:
    """A figure in the shared theme (Streamlit's own theme off, so screen and export match), its caption, and
    PNG / SVG / CSV downloads that are built only when clicked."""
    st.vega_lite_chart(spec=figure.spec(), theme=None, width="content" if figure.fixed_width else "stretch")
    st.caption(figure.caption)
    stem = exports.file_stem(result, figure.key)
    png, svg, csv, _ = st.columns([1, 1, 1, 5])
    with png:
        _download("PNG", lambda: exports.figure_png(figure, captioned=True), f"{stem}.png", f"{figure.key}_png",
                  "200 ppi, for slides and print; the caption (cohort, N, method) is printed under the chart")
    with svg:
        _download("SVG", lambda: exports.figure_svg(figure, captioned=True), f"{stem}.svg", f"{figure.key}_svg",
                  "Vector graphic, with the caption under the chart")
    with csv:
        _download("CSV", lambda: exports.frame_csv(result, figure.data), f"{stem}.csv", f"{figure.key}_csv",
                  "The data the figure draws, with a header naming the cohort")


def figure_panels(result: AnalysisResult, figures: list[Figure], missing: str) -> None:
    """Every figure of the result, or a message in place of the ``missing`` one when there is nothing to draw."""
    for figure in figures:
        figure_panel(figure, result)
    if not figures:
        st.info(f"No {missing} can be drawn for this cohort; the notes above say why.", icon=":material/hide_image:")


def table_panel(result: AnalysisResult, view: display.TableView) -> None:
    """The result table of ``view`` as displayed (suppressed cells spelled out), its caption and its tidy CSV
    download; nothing when the table is empty."""
    if result.table(view.name).empty:
        return
    st.dataframe(view.frame(result), hide_index=True, width="stretch", height="content")  # whole: no scroll box
    st.caption(view.caption(result))
    _download("CSV", lambda: exports.table_csv(result, view.name), f"{exports.file_stem(result, view.name)}.csv",
              f"table_{view.name}", "The tidy result table, with a header naming the cohort")


MIME_TYPES = {"png": "image/png", "svg": "image/svg+xml", "csv": "text/csv"}


def _download(label: str, build, file_name: str, key: str, help: str) -> None:
    """A download button whose file is built only when clicked (no rerun of the page)."""
    st.download_button(label, data=build, file_name=file_name, mime=MIME_TYPES[file_name.rsplit(".", 1)[1]],
                       on_click="ignore", icon=":material/download:", key=f"download_{key}", help=help)
