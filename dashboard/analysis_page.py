"""The steps every analysis page shares: heading and cohort-size check, running the cached analysis, the states
that replace a figure (cohort too small, input the cohort cannot serve, nothing to draw), presentation mode."""

from __future__ import annotations

import streamlit as st

from analyses.context import AnalysisContext
from analyses.figures import Figure
from analyses.registry import figures_for, spec_of
from analyses.results import AnalysisResult
from dashboard import caches, controls, presentation, render, results_view, slides, source
from queries import filters


def title(text: str) -> None:
    """The page title (hidden while presenting) and the presentation-mode switch in the sidebar."""
    presentation.sidebar_toggle()
    if not presentation.active():
        st.title(text)
    controls.warnings_box()  # a link's rejected page-control values are reported here, above the controls


def require_cohort(ctx: AnalysisContext, query: str | None = None) -> None:
    """Stop with a clear message (and nothing else) when the filtered cohort is empty or below k."""
    cfg = source.settings()
    counts = caches.cached_counts(cfg.data, cfg.mapping, ctx.query if query is None else query, ctx.policy)
    if not render.cohort_large_enough(counts["n"], ctx.policy):
        st.stop()


SEX_WORDS = {"female": "women", "male": "men"}


def one_sex_heading(ctx: AnalysisContext, result: AnalysisResult) -> str | None:
    """A plain heading for a comparison of women and men when the sidebar's sex filter keeps one sex (the
    analysis' own caption would read "Odds of …, sex; women; N = …"); None when both sexes are in."""
    chosen = ctx.state.get("sex")
    if chosen is None or len(chosen) != 1 or len(ctx.options.sexes) < 2:
        return None
    kept = SEX_WORDS.get(chosen[0], chosen[0])
    n = "withheld" if result.n is None else f"{result.n:,}"
    return (f"No comparison of women and men: the Sex filter keeps {kept} only "
            f"({result.details.outcome_label}; N = {n})")


def narrowed_query(ctx: AnalysisContext, key: str, value: str) -> str:
    """The query string with the sidebar's choice filter ``key`` narrowed to ``value`` (a page's own pick); stops
    with a message when the sidebar does not include that value."""
    state = ctx.state.narrowed(key, (value,))
    if state.get(key) == ():
        st.warning(f"No participant matches: '{value}' is not among the values chosen in the sidebar's "
                   f"{filters.FILTERS_BY_KEY[key].label.lower()} filter. Pick another here or widen the sidebar "
                   "filter.", icon=":material/search_off:")
        st.stop()
    return filters.to_query(state, ctx.options)


def run(ctx: AnalysisContext, name: str, options, query: str | None = None) -> AnalysisResult:
    """The analysis for the current filters (cached on primitive values); an input the cohort cannot serve (a
    missing role, an unknown band) stops the page with its message in place of the figures."""
    cfg = source.settings()
    result = caches.cached_analysis(cfg.data, cfg.mapping, ctx.query if query is None else query,
                                   ctx.policy, name, options)
    if isinstance(result, str):
        st.error(result, icon=":material/error:")
        st.stop()
    return result


def figures(result: AnalysisResult) -> list[Figure]:
    """The result's figures; in presentation mode they are presented one per screen and the page stops."""
    shown = figures_for(result)
    if presentation.active():
        presentation.present(result, shown)
        st.stop()
    return shown


def present_together(results: list[AnalysisResult]) -> None:
    """In presentation mode, present the figures of several results of one page in turn and stop the page (nothing
    happens otherwise)."""
    if presentation.active():
        presentation.present_all([(r, f) for r in results for f in figures_for(r)], results[0])
        st.stop()


def heading(result: AnalysisResult, title: str | None = None) -> None:
    """The result's caption (or ``title`` in its place) and its warnings (notes are shown, never hidden)."""
    st.subheader(title or result.caption)
    for note in result.notes:
        st.warning(note, icon=":material/info:")



def estimates_sections(result: AnalysisResult, figures: list[Figure], figure_noun: str,
                       title: str | None = None, estimates_table: bool = True) -> None:
    """The body of a page led by estimates: heading (``title`` in place of the result's caption), table,
    estimates (unless the result table already shows each of them, ``estimates_table=False``), tests, figures,
    method, export buttons."""
    heading(result, title)
    results_view.table_panel(result, spec_of(result).table_view)
    if estimates_table:
        results_view.estimates_table(result)
    results_view.test_sentences(result)
    results_view.figure_panels(result, figures, figure_noun)
    results_view.how_computed(result)
    slides.export_buttons(result)
