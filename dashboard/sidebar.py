"""The sidebar's cohort filters, seeded once per session from the URL and written back to it, so a copied link
reproduces the view."""

from __future__ import annotations

from urllib.parse import parse_qsl

import streamlit as st

from dashboard import controls
from queries import filters
from queries.filters import FilterOptions, FilterState


def _widget_key(flt: filters.Filter) -> str:
    return f"filter_{flt.key}"


def _seed_from_url(options: FilterOptions) -> None:
    """Once per session: widget values from the URL (validated; bad values reset with a warning)."""
    if st.session_state.get("_filters_seeded"):
        return
    url = {k: v for k, v in st.query_params.to_dict().items() if k not in controls.PAGE_KEYS}
    state, problems = filters.parse_query(url, options)
    # Initial values go in as the widgets' defaults (constant for the session, so widget identity is stable);
    # assigning to the widget keys instead makes a range select_slider single-valued.
    st.session_state["_filter_initial"] = {flt.key: _to_widget(flt, state.get(flt.key), options)
                                           for flt in filters.active_filters(options)}
    st.session_state["_filter_problems"] = problems
    st.session_state["_filters_seeded"] = True


def _band_labels(options: FilterOptions) -> list[str]:
    top = options.age_bands[-1][1]
    return [filters.age_band_label(b, top) for b in options.age_bands]


def _to_widget(flt: filters.Filter, value, options: FilterOptions):
    if flt.widget == "band_range":
        labels = _band_labels(options)
        lows = [b[0] for b in options.age_bands]
        highs = [b[1] for b in options.age_bands]
        return (labels[lows.index(value[0])], labels[highs.index(value[1])])
    if flt.widget == "toggle":
        return bool(value)
    return list(value) if flt.widget == "multiselect" else value


def _from_widget(flt: filters.Filter, raw, options: FilterOptions):
    if flt.widget == "band_range":
        labels = _band_labels(options)
        return (options.age_bands[labels.index(raw[0])][0], options.age_bands[labels.index(raw[1])][1])
    if flt.widget == "multiselect":
        return tuple(c for c in flt.choices(options) if c in raw)
    if flt.widget == "toggle":
        return flt.choices(options) if raw else ()
    return tuple(raw) if isinstance(raw, list) else raw


def _render_widget(flt: filters.Filter, options: FilterOptions):
    """Draw one filter's widget; returns its raw value."""
    key = _widget_key(flt)
    initial = st.session_state["_filter_initial"][flt.key]
    if flt.widget == "choice":
        choices = list(flt.choices(options))
        return st.selectbox(flt.label, choices, index=choices.index(initial), key=key, help=flt.help,
                            format_func=lambda v: options.outcomes.get(v, v))
    if flt.widget == "multiselect":
        return st.multiselect(flt.label, flt.choices(options), default=initial, key=key, help=flt.help)
    if flt.widget == "toggle":
        return st.toggle(flt.label, value=initial, key=key,
                         help=f"{flt.help} ({', '.join(options.exclusions.values())})")
    if flt.widget == "band_range":
        return st.select_slider(flt.label, _band_labels(options), value=initial, key=key, help=flt.help)
    return st.select_slider(flt.label, list(options.years), value=initial, key=key, help=flt.help)


def sidebar_filters(options: FilterOptions) -> FilterState:
    """Render the global filters in the sidebar; keep the URL in step so a copied link reproduces the view."""
    _seed_from_url(options)
    with st.sidebar:
        st.header("Cohort filters")
        for problem in st.session_state.get("_filter_problems", []):
            st.warning(problem)
        values = []
        for flt in filters.active_filters(options):
            values.append((flt.key, _from_widget(flt, _render_widget(flt, options), options)))
    state = FilterState(tuple(values))
    _write_url(state, options)
    return state


def _write_url(state: FilterState, options: FilterOptions) -> None:
    wanted = dict(parse_qsl(filters.to_query(state, options)))
    for key in filters.FILTERS_BY_KEY:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]
