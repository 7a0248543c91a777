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
    "exposure": "Sex differences: the two-level exposure (sex, or a yes/no variable)",
    "adjust": "adjusters, comma-separated",
    "bands": "Age & prevalence: age band width in years (5, 10, 20)",
    "standard": "Age & prevalence: standard population (esp2013, who2000, us2000)",
    "population": "Biomarker risk: treated (default where a treatment role exists) or all",
    "upload": "an uploaded cohort's opaque id (no data), kept while the upload lasts",
    "therapy": "Ferritin & augmentation: first drug, or all",
    "cuts": "Ferritin & augmentation: biomarker cut points, comma-separated",
    "ref": "Ferritin & augmentation: reference band",
    "group": "Table 1 (Overview): the grouping variable (sex, site, treatment, outcome_NAME, exclude_NAME, cov_NAME)",
    "pvalues": "Table 1: 1 adds p-values",
    "test": "Diagnostic accuracy: the index test (a binary or numeric variable)",
    "threshold": "Diagnostic accuracy: a numeric test's threshold (one of the ROC curve's released thresholds)",
    "lower": "Diagnostic accuracy: 1 when low values of a numeric test are positive",
    "prevalence": "Diagnostic accuracy: a prevalence in percent for predictive values (e.g. 5)",
    "measure": "Trends & sites: a declared quality measure or an outcome",
    "period": "Trends & sites: calendar period (year; quarter or month for a measure with a declared month)",
    "chart": "Trends & sites: SPC chart (p, pp, u, run)",
    "freeze": "Trends & sites: baseline, the first N periods (or all)",
    "by": "Trends & sites: the units of the funnel plot (site or another categorical variable)",
    "standardize": "Trends & sites: indirect standardisation by age and/or sex",
    "overdispersion": "Trends & sites: over-dispersion adjustment of the funnel limits",
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


def toggle(key: str, label: str, default: bool = False, help: str | None = None) -> bool:
    """A toggle stored in the URL as 1 or 0 (anything else falls back to the default, with a warning)."""
    flag = _initial(key, ["1", "0"], "1" if default else "0") == "1"
    if presentation.active():
        return flag
    value = st.toggle(label, value=flag, key=f"control_{key}", help=help)
    _write(key, "1" if value else "0", "1" if default else "0")
    return value


def number(key: str, label: str, low: float, high: float, help: str | None = None) -> float | None:
    """An optional number strictly between ``low`` and ``high`` stored in the URL (empty by default; anything else
    in the URL is dropped with a warning)."""
    raw = st.query_params.get(_registered(key))
    value = None
    if raw is not None:
        try:
            value = float(raw)
        except ValueError:
            value = None
        if value is None or not low < value < high:
            _warn(key, raw, [f"a number between {low:g} and {high:g}"], "no value")
            value = None
    if presentation.active():
        return value
    chosen = st.number_input(label, min_value=float(low), max_value=float(high), value=value, key=f"control_{key}",
                             help=help, placeholder="none")
    chosen = None if chosen is None or not low < chosen < high else float(chosen)
    _write(key, "" if chosen is None else f"{chosen:g}", "")
    return chosen


def _write(key: str, value: str, default: str) -> None:
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value
