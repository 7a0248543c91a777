"""Slide deck and printable report buttons: the files are built only when clicked (``data=callable``), in a worker
thread, from the result objects the page already holds (or, for "Export all", the three analyses with the pages'
defaults for the current filters). Presentation mode stops the page before these buttons are drawn."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from analyses import exports
from analyses.context import AnalysisContext
from analyses.report import Report, build_report, deck_bytes, html_bytes, run_page_analyses
from analyses.results import AnalysisResult
from analyses.table_one import TableOne

PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def export_buttons(result: AnalysisResult) -> None:
    """"Export slides" and "HTML report" of the current view (its result, figures and tables)."""
    _buttons(lambda: build_report(result.cohort, [result]), lambda part: exports.file_stem(result, part),
             "Export slides", "A PowerPoint deck of this view: a title slide naming the cohort, one slide per figure "
             "with the finding as its title, the tables as editable tables, the methods in the speaker notes.",
             result.analysis)


def export_all(ctx: AnalysisContext, table_one: TableOne) -> None:
    """"Export all" (Table 1 and every page analysis with its default options, for the current filters) and its
    "HTML report"."""
    cohort = ctx.cohort()
    _buttons(lambda: build_report(cohort, run_page_analyses(ctx), table_one),
             lambda part: exports.cohort_stem(cohort, "all", part), "Export all",
             "A PowerPoint deck of Table 1 and every page analysis (each as its page opens) for the current filters.",
             "all")


def _buttons(build: Callable[[], Report], stem: Callable[[str], str], label: str, help: str, key: str) -> None:
    st.divider()
    slides, report, _ = st.columns([1, 1, 3])
    with slides:
        st.download_button(label, data=lambda: deck_bytes(build()), file_name=f"{stem('slides')}.pptx", mime=PPTX,
                           on_click="ignore", icon=":material/slideshow:", key=f"slides_{key}", help=help)
    with report:
        st.download_button("HTML report", data=lambda: html_bytes(build()), file_name=f"{stem('report')}.html",
                           mime="text/html", on_click="ignore", icon=":material/print:", key=f"report_{key}",
                           help="The same content as one self-contained HTML file, laid out for printing on A4 or "
                           "Letter (print to PDF from the browser).")
