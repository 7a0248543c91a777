"""The cohort a session works on: the configured source or the session's upload, opened once per server (a refusal
returned as a report, never raised), the deployment's settings and disclosure policy, and the error panel of a
source that cannot be used."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st

from data_schema.loading import LoadRefused
from data_schema.mapping import MappingError
from data_schema.reading import DataError
from data_schema.upload_registry import UploadRegistry
from data_schema.validation import Finding, ValidationReport
from deployment.settings import Settings, load_settings
from disclosure.policy import DisclosurePolicy
from queries import engines
from queries.engine import CohortEngine
from queries.protocol import Engine
from queries.release import release_report
from queries.store import default_store_dir


@dataclass(frozen=True)
class LoadFailure:
    """Why the configured source could not be used (rule, column, counts; never values)."""

    report: ValidationReport


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
