"""The frame every page shares: the loaded cohort (cached once per server), the sidebar filters bound to the
URL, and cached aggregate queries keyed on primitive values only (the query string), never on DataFrames.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qsl

import streamlit as st

from analyses.context import AnalysisContext
from analyses.registry import run_analysis
from analyses.variables import AnalysisInputError
from dashboard import controls
from data_schema.loading import LoadRefused
from data_schema.mapping import MappingError
from data_schema.reading import DataError
from data_schema.upload_registry import UploadRegistry
from data_schema.validation import Finding, ValidationReport
from deployment.settings import Settings, load_settings
from disclosure.policy import DisclosurePolicy
from queries import cohort, engines, filters
from queries.engine import CohortEngine
from queries.filters import FilterOptions, FilterState
from queries.protocol import Engine
from queries.release import release_report
from queries.store import default_store_dir


@dataclass(frozen=True)
class LoadFailure:
    """Why the configured source could not be used (rule, column, counts; never values)."""

    report: ValidationReport


@dataclass(frozen=True)
class Context:
    """What a page needs: the engine, the cohort's filter options, the current filter state and policy."""

    engine: Engine
    options: FilterOptions
    state: FilterState
    policy: DisclosurePolicy

    @property
    def query(self) -> str:
        return filters.to_query(self.state, self.options)

    @property
    def cohort_text(self) -> str:
        return filters.describe(self.state, self.options)


def _open_cohorts_kept() -> int:
    """The configured cohort and as many uploads as the registry may hold (a bad dashboard.toml is reported when
    the page reads its settings, not here)."""
    try:
        return load_settings().max_uploads + 2
    except ValueError:
        return 10


# At most that many cohorts stay open (least recently used goes first), so uploads cannot fill the memory.
@st.cache_resource(show_spinner="Loading and checking the cohort (a large cohort is checked once, then reused)…",
                   max_entries=_open_cohorts_kept())
def open_engine(data: str | None, mapping: str | None) -> Engine | LoadFailure:
    """Open the source once per server process; a refusal is returned as a report, not raised.

    The configured source is prepared once into the store and run on the configured engine; any other source (a
    cohort uploaded in a session, at most 50 MB) is loaded into memory with DuckDB and never stored."""
    cfg = load_settings()
    source = (Path(data) if data else None, Path(mapping) if mapping else None)
    try:
        if (data, mapping) != (cfg.data, cfg.mapping):
            return CohortEngine.open(*source)
        return engines.open_engine(*source, Path(cfg.store) if cfg.store else default_store_dir(), cfg.engine,
                                   cfg.spark_master, cfg.spark_parquet)
    except engines.EngineUnavailable as exc:
        return LoadFailure(ValidationReport((Finding("error", "engine", "engine unavailable", str(exc)),)))
    except OSError as exc:  # e.g. the store folder cannot be written
        return LoadFailure(ValidationReport((Finding("error", "store", "store unavailable", "the prepared-cohort "
                                                     f"store cannot be used ({type(exc).__name__}); check "
                                                     "[engine] store or RLS_STORE_DIR."),)))
    except LoadRefused as refused:
        return LoadFailure(refused.report)
    except DataError as exc:
        return LoadFailure(ValidationReport((Finding("error", exc.file, exc.rule, exc.detail, exc.column),)))
    except MappingError as exc:
        return LoadFailure(ValidationReport((Finding("error", "mapping", "mapping", str(exc)),)))


UPLOADED_COHORT = "uploaded_cohort"  # session key: (data path, mapping path) of a checked upload, or absent
UPLOAD_ID = "upload_id"  # session key: the upload's opaque id in the registry
UPLOAD_KEY = "upload"  # URL key: the same id, so a reload (or a shared link) finds the upload while it lasts
UPLOAD_EXPIRED = "_upload_expired"  # session flag: the upload this session used has been removed


@st.cache_resource
def upload_registry() -> UploadRegistry:
    """The uploads this server process holds (one registry shared by every browser session), with the deployment's
    time to live and cap ([uploads] in dashboard.toml, read when the server starts)."""
    cfg = load_settings()
    return UploadRegistry(ttl_seconds=60 * cfg.upload_ttl_minutes, max_uploads=cfg.max_uploads)


def settings() -> Settings:
    """This server's settings (read on each run: cheap, and a changed environment takes effect); a cohort the
    user uploaded replaces the configured source for the sessions whose URL carries its id."""
    cfg = load_settings()
    uploaded = _live_upload()
    return replace(cfg, data=uploaded[0], mapping=uploaded[1]) if uploaded else cfg


def _live_upload() -> tuple[str, str | None] | None:
    """The paths of this session's upload: from the session, else from the URL's id (a reload or a shared link);
    None, with the session and URL cleared, once the registry has removed it."""
    upload_id = st.session_state.get(UPLOAD_ID) or st.query_params.get(UPLOAD_KEY)
    if not upload_id:
        return None
    paths = upload_registry().lookup(upload_id)
    if paths is None:
        for key in (UPLOADED_COHORT, UPLOAD_ID):
            st.session_state.pop(key, None)
        st.query_params.pop(UPLOAD_KEY, None)
        st.session_state[UPLOAD_EXPIRED] = True
        return None
    st.session_state[UPLOADED_COHORT], st.session_state[UPLOAD_ID] = paths, upload_id
    if st.query_params.get(UPLOAD_KEY) != upload_id:
        st.query_params[UPLOAD_KEY] = upload_id
    return paths


def policy() -> DisclosurePolicy:
    """The deployment's disclosure policy (dashboard.toml)."""
    cfg = settings()
    return DisclosurePolicy(cfg.min_cell, cfg.method)


def released_errors(failure: LoadFailure) -> tuple[Finding, ...]:
    """A refused load's errors, their row counts released under the deployment's policy."""
    cfg = settings()
    return release_report(failure.report, policy(), f"{cfg.data}|{cfg.mapping}").errors


def engine_or_stop() -> Engine:
    """The engine, or an error panel naming what is wrong (and the script stops)."""
    cfg = settings()
    engine = open_engine(cfg.data, cfg.mapping)
    if isinstance(engine, LoadFailure):
        st.error("The configured data could not be used. Nothing from it is shown.", icon=":material/block:")
        for finding in released_errors(engine):
            st.markdown(f"- **{finding.file}** — {finding.message}")
        st.caption("Check the file with `python -m data_schema validate --data PATH --mapping FILE`; see the "
                   "README section *Using your own data*.")
        st.stop()
    return engine


@st.cache_data(show_spinner=False)
def cached_options(data: str | None, mapping: str | None) -> FilterOptions:
    return cohort.filter_options(open_engine(data, mapping))


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


def context() -> Context:
    """Build the frame: engine (or error panel), sidebar filters, policy."""
    cfg = settings()
    if st.session_state.pop(UPLOAD_EXPIRED, False):
        st.warning("The uploaded file of this link was removed (unused for a while, or left); this is the configured "
                   "cohort. Upload the file again on the Data page to go on.", icon=":material/history:")
    engine = engine_or_stop()
    options = cached_options(cfg.data, cfg.mapping)
    state = sidebar_filters(options)
    return Context(engine, options, state, policy())


# Cached aggregate queries: arguments are the source and the query string (primitives), results are small.

@st.cache_data(show_spinner=False)
def cached_attrition(data: str | None, mapping: str | None, query: str,
                     policy: DisclosurePolicy) -> list[cohort.AttritionStep]:
    engine = open_engine(data, mapping)
    options = cached_options(data, mapping)
    return cohort.attrition(engine, filters.parse_query(query, options)[0], options, policy)


@st.cache_data(show_spinner=False)
def cached_counts(data: str | None, mapping: str | None, query: str, policy: DisclosurePolicy) -> dict[str, int]:
    engine = open_engine(data, mapping)
    options = cached_options(data, mapping)
    return cohort.outcome_counts(engine, filters.parse_query(query, options)[0], options, policy)


@st.cache_data(show_spinner="Computing Table 1…")
def cached_table_one_inputs(data: str | None, mapping: str | None, query: str, policy: DisclosurePolicy,
                            by: str | None = "sex") -> dict:
    engine = open_engine(data, mapping)
    options = cached_options(data, mapping)
    return cohort.table_one_inputs(engine, filters.parse_query(query, options)[0], options, policy, by)


@st.cache_data(show_spinner="Computing the analysis…")
def cached_analysis(data: str | None, mapping: str | None, query: str, policy: DisclosurePolicy, name: str, options):
    """An analysis result for the filters in ``query`` (released counts under ``policy``), or the message of an
    input the cohort cannot serve."""
    engine = open_engine(data, mapping)
    cohort_options = cached_options(data, mapping)
    ctx = AnalysisContext(engine, filters.parse_query(query, cohort_options)[0], cohort_options, policy)
    try:
        return run_analysis(ctx, name, options)
    except AnalysisInputError as exc:
        return str(exc)


def current() -> Context:
    """The context the entry script built for this run."""
    return st.session_state["context"]
