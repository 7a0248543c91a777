"""Presentation mode: controls and sidebar hidden, larger type, one figure per screen with its caption.

It lives in the URL (``present=1``), so a link can open a page straight in presentation mode; the sidebar toggle
turns it on and the "Exit presentation" button (the sidebar is hidden then) turns it off.
"""

from __future__ import annotations

import streamlit as st

from analyses.figures import Figure
from analyses.results import AnalysisResult

URL_KEY = "present"
SCALE = 1.6  # chart type and height in presentation mode, relative to the screen theme
PLOT_HEIGHT = 480  # px: the plot fills most of a 1080p screen under the heading

HIDE_CONTROLS_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 96vw; padding-top: 1.5rem; }
[data-testid="stMain"] p, [data-testid="stCaptionContainer"] { font-size: 1.45rem !important; line-height: 1.45; }
[data-testid="stMain"] h1 { font-size: 2.8rem !important; }
[data-testid="stMain"] h2 { font-size: 2.2rem !important; }
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
    st.html(HIDE_CONTROLS_CSS)
    if not figures:
        st.info("This view has no figure to present.")
        _notes(result)
        _exit_button()
        return
    key = f"slide_{result.analysis}"
    index = min(st.session_state.get(key, 0), len(figures) - 1)
    figure = figures[index]
    st.header(figure.title)
    st.vega_lite_chart(spec=figure.spec(scale=SCALE, titled=False, min_height=PLOT_HEIGHT), theme=None,
                       width="content" if figure.fixed_width else "stretch")
    st.caption(figure.caption)
    _notes(result)
    previous, position, following, leave = st.columns([1, 1, 1, 1], vertical_alignment="center")
    previous.button("◀ Previous", disabled=index == 0, key="slide_previous",
                    on_click=lambda: st.session_state.__setitem__(key, index - 1))
    position.markdown(f"Figure {index + 1} of {len(figures)}")
    following.button("Next ▶", disabled=index == len(figures) - 1, key="slide_next",
                     on_click=lambda: st.session_state.__setitem__(key, index + 1))
    with leave:
        _exit_button()


def _notes(result: AnalysisResult) -> None:
    for note in result.notes:
        st.warning(note, icon=":material/info:")


def _exit_button() -> None:
    st.button("Exit presentation", key="presentation_exit", on_click=_set, args=(False,))
