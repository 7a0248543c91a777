"""Page-wide CSS the widgets need on every page."""

import streamlit as st

# A sidebar multiselect (e.g. the first drug's seven choices, one tag a line in the narrow sidebar) grows with its
# tags instead of hiding them in a small scroll box.
SIDEBAR_CSS = """
<style>
[data-testid="stSidebar"] [data-testid="stMultiSelect"] div:has(> [data-testid="stMultiSelectTagsContainer"]),
[data-testid="stSidebar"] [data-testid="stMultiSelectTagsContainer"] { max-height: none !important;
  overflow: visible !important; }
</style>
"""


def apply() -> None:
    st.html(SIDEBAR_CSS)
