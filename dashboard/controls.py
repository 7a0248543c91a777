"""Page controls bound to the URL: each reads its initial value from the query string (validated against its
choices) and writes its current value back, so a copied link reproduces the page. In presentation mode no widget
is drawn and the value comes from the URL alone."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from dashboard import presentation

# Every URL key a page control may use (the sidebar filters' keys live in queries.filters). A short, stable
# contract: people paste these links into notes.
PAGE_KEYS = {
    "outcome": "the outcome (case definition) of an analysis page",
    "strata": "Sex differences: stratify by age, site or none",
    "adjust": "adjusters, comma-separated",
    "bands": "Age & prevalence: age band width in years (5, 10, 20)",
    "standard": "Age & prevalence: standard population (esp2013, who2000, us2000)",
    "population": "Biomarker risk: treated (default where a treatment role exists) or all",
    "upload": "an uploaded cohort's opaque id (no data), kept while the upload lasts",
    "therapy": "Ferritin & augmentation: first drug, or all",
    "cuts": "Ferritin & augmentation: biomarker cut points, comma-separated",
    "ref": "Ferritin & augmentation: reference band",
    "factors": "Risk factors: the factors, comma-separated",
    "entry": "Risk factors: how numeric factors enter (linear, spline, bands)",
    presentation.URL_KEY: "1 opens the page in presentation mode",
}


def _registered(key: str) -> str:
    if key not in PAGE_KEYS:
        raise ValueError(f"register the URL key {key!r} in controls.PAGE_KEYS")
    return key


SHOWN_CHARS = 24  # of a rejected URL value quoted back in a warning


def shown_value(raw: str) -> str:
    """A URL value quoted back safely: printable characters only, at most :data:`SHOWN_CHARS` of them, as inline
    code (so neither Markdown nor HTML in it is interpreted)."""
    text = "".join(c for c in raw if c.isprintable()).replace("`", "'")
    cut = len(text) > SHOWN_CHARS
    return f"`{text[:SHOWN_CHARS]}{'…' if cut else ''}`" if text else "an empty value"


WARNINGS_BOX = "_url_warnings_box"  # session key: the container above a page's controls for URL warnings


def warnings_box() -> None:
    """Open the place (full width, above the page's controls) where rejected URL values are reported this run."""
    st.session_state[WARNINGS_BOX] = st.container()


def _warn(key: str, raw: str, choices: list[str], default_text: str) -> None:
    box = st.session_state.get(WARNINGS_BOX) or st
    box.warning(f"The link's `{key}=` value {shown_value(raw)} is not one of this page's options "
                f"({', '.join(choices)}), so {default_text} is used.", icon=":material/link_off:")


def _initial(key: str, choices: list[str], default: str) -> str:
    """The URL's value of ``key`` when it is one of ``choices``; otherwise the default, with a warning naming the
    parameter when the URL held something else."""
    raw = st.query_params.get(_registered(key))
    if raw is None or raw in choices:
        return default if raw is None else raw
    _warn(key, raw, choices, f"the default ({default})")
    return default


def select(key: str, label: str, choices: list[str], default: str, format_func: Callable = str,
           help: str | None = None) -> str:
    """A selectbox whose value lives in the URL under ``key`` (values outside ``choices`` fall back to default,
    with a warning)."""
    if presentation.active():
        return _initial(key, choices, default)
    index = choices.index(_initial(key, choices, default))
    value = st.selectbox(label, choices, index=index, key=f"control_{key}", format_func=format_func, help=help)
    _write(key, value, default)
    return value


def multiselect(key: str, label: str, choices: list[str], default: list[str], format_func: Callable = str,
                help: str | None = None) -> list[str]:
    """A multiselect stored in the URL as a comma-separated list (unknown entries dropped with a warning)."""
    raw = st.query_params.get(_registered(key))
    initial = default if raw is None else [v for v in raw.split(",") if v in choices]
    unknown = [] if raw is None else [v for v in raw.split(",") if v and v not in choices]
    if unknown:
        _warn(key, ",".join(unknown), choices, "the rest of the list" if initial else "none of it")
    if presentation.active():
        return initial
    values = st.multiselect(label, choices, default=initial, key=f"control_{key}", format_func=format_func,
                            help=help)
    _write(key, ",".join(values), ",".join(default))
    return values


def _write(key: str, value: str, default: str) -> None:
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value
