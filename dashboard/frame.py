"""The frame every page shares: the cohort (``dashboard.source``), the sidebar filters bound to the URL
(``dashboard.sidebar``) and the deployment's policy, built once per run by the entry script into one
:class:`~analyses.context.AnalysisContext`."""

from __future__ import annotations

import streamlit as st

from analyses.context import AnalysisContext
from dashboard import caches, sidebar, source


def context() -> AnalysisContext:
    """Build the frame: engine (or error panel), sidebar filters, policy."""
    cfg = source.settings()
    if st.session_state.pop(source.UPLOAD_EXPIRED, False):
        st.warning("The uploaded file of this link was removed (unused for a while, or left); this is the configured "
                   "cohort. Upload the file again on the Data page to go on.", icon=":material/history:")
    engine = source.engine_or_stop()
    options = caches.cached_options(cfg.data, cfg.mapping)
    state = sidebar.sidebar_filters(options)
    return AnalysisContext(engine, state, options, source.policy())


def current() -> AnalysisContext:
    """The context the entry script built for this run."""
    return st.session_state["context"]
