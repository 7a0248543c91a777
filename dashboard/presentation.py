"""Presentation mode: controls and sidebar hidden, larger type, one figure per screen with its caption.

It lives in the URL (``present=1``), so a link can open a page straight in presentation mode; the sidebar toggle
turns it on and the "Exit presentation" button (the sidebar is hidden then) turns it off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:  # the analysis layer is imported on use: controls need only the mode, and pages using controls
    # (the Overview) draw their first numbers before statsmodels and Altair load
    from analyses.figures import Figure
    from analyses.results import AnalysisResult

URL_KEY = "present"
SCALE = 1.6  # chart type in presentation mode, relative to the screen theme
FIGURE_KEY = "presented_figure"  # the container of the presented chart (sized by FIT_CSS)

HIDE_CONTROLS_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 96vw; padding-top: 1.5rem; }
[data-testid="stMain"] p, [data-testid="stCaptionContainer"] { font-size: 1.45rem !important; line-height: 1.45; }
[data-testid="stMain"] h1 { font-size: 2.8rem !important; }
[data-testid="stMain"] h2 { font-size: 2.2rem !important; }
[data-testid="stMain"] [data-testid="stAlertContainer"] { padding: 0.3rem 0.8rem; }
[data-testid="stMain"] [data-testid="stAlertContainer"] p { font-size: 1.1rem !important; line-height: 1.3; }
</style>
"""
# One screen, no scrolling: the page is exactly as tall as the window and the chart's container takes whatever the
# heading, the estimates, the caption and the step buttons leave; a single chart fits itself into it (Vega-Lite
# "container" size, legend included), at any window size.
FIT_CSS = f"""
<style>
[data-testid="stMainBlockContainer"] {{ height: 100vh; box-sizing: border-box; padding-bottom: 0.75rem !important;
  display: flex; flex-direction: column; }}
[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"] {{ flex: 1 1 auto; min-height: 0; }}
div:has(> .st-key-{FIGURE_KEY}) {{ flex: 1 1 0 !important; min-height: 180px; }}
.st-key-{FIGURE_KEY}, .st-key-{FIGURE_KEY} [data-testid="stElementContainer"],
.st-key-{FIGURE_KEY} [data-testid="stFullScreenFrame"], .st-key-{FIGURE_KEY} [data-testid="stFullScreenFrame"] > div,
.st-key-{FIGURE_KEY} [data-testid="stVegaLiteChart"] {{ height: 100% !important; }}
</style>
"""


# A concatenated chart (Kaplan–Meier over its numbers at risk) has a fixed size that Vega-Lite cannot fit to a
# container's height, so it is scaled down as an image into the room FIT_CSS leaves for the figure.
FIXED_CSS = f"""
<style>
.st-key-{FIGURE_KEY} .vega-embed {{ height: 100% !important; }}
.st-key-{FIGURE_KEY} canvas, .st-key-{FIGURE_KEY} svg.marks {{ max-height: 100% !important; max-width: 100% !important;
  width: auto !important; height: auto !important; }}
</style>
"""


def active() -> bool:
    """Whether the current page is being presented."""
    return st.query_params.get(URL_KEY) == "1"


def _set(on: bool) -> None:
    if on:
        st.query_params[URL_KEY] = "1"
    elif URL_KEY in st.query_params:
        del st.query_params[URL_KEY]


def sidebar_toggle() -> None:
    """The switch into presentation mode, drawn in the sidebar of the analysis pages (in step with the URL)."""
    st.session_state["presentation_toggle"] = active()
    st.sidebar.toggle("Presentation mode", key="presentation_toggle",
                      on_change=lambda: _set(st.session_state["presentation_toggle"]),
                      help="Hide the controls, enlarge the type and show one figure per screen.")


def present(result: AnalysisResult, figures: list[Figure]) -> None:
    """Show one figure at a time, full width, with its caption and a step control; nothing else."""
    present_all([(result, figure) for figure in figures], result)


def present_all(slides: list[tuple[AnalysisResult, Figure]], fallback: AnalysisResult) -> None:
    """Present the figures of one or more results of a page in order, one per screen (``fallback``'s notes when
    there is none)."""
    st.html(HIDE_CONTROLS_CSS)
    if not slides:
        st.info("This view has no figure to present.")
        _notes(fallback)
        _exit_button()
        return
    key = "slide_" + "+".join(dict.fromkeys(result.analysis for result, _ in slides))
    index = min(st.session_state.get(key, 0), len(slides) - 1)
    result, figure = slides[index]
    st.header(figure.title)
    estimates(result)
    spec = figure.spec(scale=SCALE, titled=False, fit=True)
    st.html(FIT_CSS)
    if figure.fixed_width:  # a concatenated chart keeps its own proportions
        st.html(FIXED_CSS)
    with st.container(key=FIGURE_KEY):
        if figure.fixed_width:
            st.vega_lite_chart(spec=spec, theme=None, width="content")
        else:
            st.vega_lite_chart(spec=spec, theme=None, width="stretch", height="stretch")
    st.caption(figure.caption)
    _compact_notes(result)  # above the step buttons: the chart gives up the room they need
    previous, position, following, leave = st.columns([1, 1, 1, 1], vertical_alignment="center")
    previous.button("◀ Previous", disabled=index == 0, key="slide_previous",
                    on_click=lambda: st.session_state.__setitem__(key, index - 1))
    position.markdown(f"Figure {index + 1} of {len(slides)}")
    following.button("Next ▶", disabled=index == len(slides) - 1, key="slide_next",
                     on_click=lambda: st.session_state.__setitem__(key, index + 1))
    with leave:
        _exit_button()


def estimates(result: AnalysisResult) -> None:
    """The view's headline estimates in words, one per column: "Adjusted OR 1.94 (95% CI 1.81–2.08), p < 0.001"."""
    from analyses import display
    from analyses.registry import spec_of

    # the estimates stated above the figure (a forest plot alone shows no numbers): the declaration's choice
    shown = [e for e in map(result.estimate, spec_of(result).presented_estimates) if display.shown(e)]
    for column, e in zip(st.columns(len(shown)) if shown else [], shown):
        p_value = "" if e.p_value is None else f", {display.p_clause(e.p_value)}"
        column.markdown(f"**{display.measure_name(e)} {display.fmt(e.estimate)}**  \n"
                        f"95% CI {display.fmt(e.ci_low)}–{display.fmt(e.ci_high)}{p_value}",
                        help=display.exact_p(e.p_value))


def _compact_notes(result: AnalysisResult) -> None:
    """The analysis' notes in one small box (HIDE_CONTROLS_CSS), one line each, so they fit on the presented
    screen."""
    if result.notes:
        st.warning("  \n".join(result.notes), icon=":material/info:")


def _notes(result: AnalysisResult) -> None:
    for note in result.notes:
        st.warning(note, icon=":material/info:")


def _exit_button() -> None:
    st.button("Exit presentation", key="presentation_exit", on_click=_set, args=(False,))
