"""The Data page's "Analyse your own file" panel: a checked upload replaces the configured cohort for this
browser session only (``frame.UPLOADED_COHORT``); a button goes back to the configured cohort.

:func:`accept` is the whole server-side path without widgets — checks (``data_schema.uploads``), then loading
through the same cached ``frame.open_engine`` the pages use — so it can be tested on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard import frame
from data_schema.uploads import MB, UploadLimits, UploadRefused, check_upload
from queries.filters import FILTERS_BY_KEY

FILE_TYPES = ["csv", "parquet", "gz", "zip"]
FILTER_SESSION_KEYS = ("_filters_seeded", "_filter_initial", "_filter_problems")


@dataclass(frozen=True)
class UploadOutcome:
    """The (data, mapping) paths to use, or the messages saying why the upload cannot be used."""

    paths: tuple[str, str | None] | None
    errors: tuple[str, ...] = ()


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
    engine = frame.open_engine(*paths)
    if isinstance(engine, frame.LoadFailure):
        return UploadOutcome(None, tuple(f"{f.file}: {f.message}" for f in frame.released_errors(engine)))
    return UploadOutcome(paths)


def use_cohort(paths: tuple[str, str | None] | None) -> None:
    """Switch this session to ``paths`` (None: the configured cohort); filters restart from their defaults."""
    if paths:
        st.session_state[frame.UPLOADED_COHORT] = paths
    else:
        st.session_state.pop(frame.UPLOADED_COHORT, None)
    for key in [k for k in st.session_state if k in FILTER_SESSION_KEYS or str(k).startswith("filter_")]:
        del st.session_state[key]
    for key in FILTERS_BY_KEY:
        st.query_params.pop(key, None)
    st.rerun()


def panel() -> None:
    """Uploaders, the check-and-load button, refusals as messages, and the way back to the configured cohort."""
    current = st.session_state.get(frame.UPLOADED_COHORT)
    with st.expander("Analyse your own file", expanded=bool(current), icon=":material/upload_file:"):
        if current:
            st.info(f"This session analyses the uploaded file **{_plain(Path(current[0]).name)}**; other users "
                    "still see the configured cohort.")
            if st.button("Back to the configured cohort", key="upload_back"):
                use_cohort(None)
        st.caption(f"CSV (UTF-8), Parquet, .csv.gz, or a .zip holding one CSV or Parquet file; at most "
                   f"{limits().max_bytes // MB} MB. Add a mapping file (TOML) when your columns are not named like "
                   "the roles (see the README, *Using your own data*). The file is checked, stored privately on "
                   "the server and used for this browser session only.")
        data = st.file_uploader("Cohort file", type=FILE_TYPES, key="upload_data")
        mapping = st.file_uploader("Mapping file (optional)", type=["toml"], key="upload_mapping")
        if st.button("Check and analyse", key="upload_go", disabled=data is None, type="primary"):
            outcome = accept(data.name, data.getvalue(), mapping.name if mapping else None,
                             mapping.getvalue() if mapping else None)
            if outcome.paths:
                use_cohort(outcome.paths)
            st.error("The file was not used. Nothing from it is shown.\n\n"
                     + "\n".join(f"- {_plain(message)}" for message in outcome.errors), icon=":material/block:")


def _plain(text: str) -> str:
    """Text shown as itself in Markdown (file and column names are user input)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~$-])", r"\\\1", text)
