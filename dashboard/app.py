"""Navigation entry: ``streamlit run dashboard/app.py [-- --data PATH --mapping FILE]``.

The entry script is the frame: page config, the data source, the sidebar filters (bound to the URL); each page
reads the frame's context, calls the analysis layer, and renders the result.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `streamlit run` puts only dashboard/ on the path

import streamlit as st  # noqa: E402

from dashboard import auth, frame, style  # noqa: E402
from deployment.memory import tune_memory  # noqa: E402

tune_memory()  # once per process (cached): large arrays without hugepage stalls, freed memory reused
st.set_page_config(page_title="RLS cohort dashboard", layout="wide")
auth.gate()  # sign-in and allow-list when configured; stops here for anyone refused

VIEWS = Path(__file__).parent / "views"  # not "pages/": that folder name turns on the legacy multipage mode
navigation = st.navigation({
    "Cohort": [
        st.Page(VIEWS / "overview.py", title="Overview", icon=":material/groups:", default=True),  # served at "/"
        st.Page(VIEWS / "data.py", title="Data", icon=":material/table_view:", url_path="data"),
    ],
    "Analyses": [
        st.Page(VIEWS / "sex_differences.py", title="Sex differences", icon=":material/balance:",
                url_path="sex-differences"),
        st.Page(VIEWS / "age_prevalence.py", title="Age & prevalence", icon=":material/show_chart:",
                url_path="age-prevalence"),
        st.Page(VIEWS / "ferritin_augmentation.py", title="Ferritin & augmentation", icon=":material/bloodtype:",
                url_path="ferritin-augmentation"),
        st.Page(VIEWS / "diagnostic_accuracy.py", title="Diagnostic accuracy", icon=":material/troubleshoot:",
                url_path="diagnostic-accuracy"),
        st.Page(VIEWS / "risk_factors.py", title="Risk factors", icon=":material/format_list_bulleted:",
                url_path="risk-factors"),
        st.Page(VIEWS / "trends_sites.py", title="Trends & sites", icon=":material/monitoring:",
                url_path="trends-sites"),
    ],
})
style.apply()
st.session_state["context"] = frame.context()
navigation.run()
