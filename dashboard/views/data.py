"""Data: the source, the validation report, the data dictionary, and a panel to analyse an uploaded file."""

import streamlit as st

from dashboard import frame, render, upload
from queries.release import release_report

ctx = frame.current()
info = ctx.engine.info
st.title("Data")
st.markdown(f"**Source:** {info.label}  \n**Data hash:** `{info.data_hash}`  \n"
            f"**Mapping:** {info.mapping.path.name if info.mapping.path else 'none (columns named like roles)'}  \n"
            f"**Shape:** {'multi-table extract' if info.mapping.shape == 'rls_extract' else 'one file'}")
upload.panel()

st.subheader("Validation report")
render.validation_report(release_report(info.load.report, ctx.policy, info.data_hash), ctx.policy)

st.subheader("Data dictionary")
render.data_dictionary(info.mapping)
