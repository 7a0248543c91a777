"""The Data page's "Analyse your own file" panel: a checked upload replaces the configured cohort for this
browser session (``source.UPLOADED_COHORT``). It is registered under an opaque id that the URL carries
(``?upload=…``), so a reload keeps it and the link can be shared while the upload lasts; it is removed from disk an
hour after its last use, or when its user goes back to the configured cohort (``data_schema.upload_registry``).

:func:`accept` is the whole server-side path without widgets — checks (``data_schema.uploads``), then loading
through the same cached ``source.open_engine`` the pages use — so it can be tested on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard import source
from data_schema.uploads import MB, UploadLimits, UploadRefused, check_upload
from queries.filters import FILTERS_BY_KEY

FILE_TYPES = ["csv", "parquet", "gz", "zip"]
FILTER_SESSION_KEYS = ("_filters_seeded", "_filter_initial", "_filter_problems")


@dataclass(frozen=True)
class UploadOutcome:
    """The (data, mapping) paths to use and the upload's id, or the messages saying why the upload cannot be used."""

    paths: tuple[str, str | None] | None
    errors: tuple[str, ...] = ()
    upload_id: str | None = None


def limits() -> UploadLimits:
    """The caps, with the byte limit taken from ``server.maxUploadSize`` (MB) so both layers agree."""
    return UploadLimits(max_bytes=int(st.get_option("server.maxUploadSize")) * MB)


def accept(name: str, content: bytes, mapping_name: str | None = None, mapping: bytes | None = None,
           caps: UploadLimits | None = None) -> UploadOutcome:
    """Check an upload, write it privately and load it; the paths for this session, or why not (no values)."""
    try:
        checked = check_upload(name, content, mapping_name, mapping, caps or limits())
    except UploadRefused as refused:
        return UploadOutcome(None, (str(refused),))
    paths = (str(checked.data), str(checked.mapping) if checked.mapping else None)
    engine = source.open_engine(*paths)
    if isinstance(engine, source.LoadFailure):
        return UploadOutcome(None, tuple(f"{f.file}: {f.message}" for f in source.released_errors(engine)))
    try:
        return UploadOutcome(paths, upload_id=source.upload_registry().register(paths))
    except UploadRefused as refused:  # the server holds as many uploads as it may
        return UploadOutcome(None, (str(refused),))


def use_cohort(outcome: UploadOutcome | None) -> None:
    """Switch this session to an accepted upload (None: back to the configured cohort, and the upload's files are
    removed); filters restart from their defaults."""
    if outcome is not None:
        st.session_state[source.UPLOADED_COHORT] = outcome.paths
        st.session_state[source.UPLOAD_ID] = outcome.upload_id
        st.query_params[source.UPLOAD_KEY] = outcome.upload_id
    else:
        source.upload_registry().remove(st.session_state.get(source.UPLOAD_ID))
        for key in (source.UPLOADED_COHORT, source.UPLOAD_ID):
            st.session_state.pop(key, None)
        st.query_params.pop(source.UPLOAD_KEY, None)
    for key in [k for k in st.session_state if k in FILTER_SESSION_KEYS or str(k).startswith("filter_")]:
        del st.session_state[key]
    for key in FILTERS_BY_KEY:
        st.query_params.pop(key, None)
    st.rerun()


def panel() -> None:
    """Uploaders, the check-and-load button, refusals as messages, and the way back to the configured cohort."""
    current = st.session_state.get(source.UPLOADED_COHORT)
    with st.expander("Analyse your own file", expanded=bool(current), icon=":material/upload_file:"):
        if current:
            st.info(f"This session analyses the uploaded file **{_plain(Path(current[0]).name)}**; other users "
                    "see the configured cohort unless you share this page's link.")
            if st.button("Back to the configured cohort", key="upload_back"):
                use_cohort(None)
        st.caption(f"CSV (UTF-8), Parquet, .csv.gz, or a .zip holding one CSV or Parquet file; at most "
                   f"{limits().max_bytes // MB} MB. Add a mapping file (TOML) when your columns are not named like "
                   "the roles (see the README, *Using your own data*). The file is checked and stored privately on "
                   "the server. The page's link then carries an id for it (no data): a reload keeps it, and whoever "
                   f"you share the link with sees it too, until it is removed {_ttl_text()} after its last use or "
                   "when you go back to the configured cohort.")
        data = st.file_uploader("Cohort file", type=FILE_TYPES, key="upload_data")
        mapping = st.file_uploader("Mapping file (optional)", type=["toml"], key="upload_mapping")
        if st.button("Check and analyse", key="upload_go", disabled=data is None, type="primary"):
            outcome = accept(data.name, data.getvalue(), mapping.name if mapping else None,
                             mapping.getvalue() if mapping else None)
            if outcome.paths:
                use_cohort(outcome)
            st.error("The file was not used. Nothing from it is shown.\n\n"
                     + "\n".join(f"- {_plain(message)}" for message in outcome.errors), icon=":material/block:")


def _ttl_text() -> str:
    minutes = round(source.upload_registry().ttl_seconds / 60)
    return "an hour" if minutes == 60 else f"{minutes} minutes"


def _plain(text: str) -> str:
    """Text shown as itself in Markdown (file and column names are user input)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~$-])", r"\\\1", text)
