"""The gate on screen: every page, on views of the demo with small cells inside their tables, shows no count from
1 to k−1 in any table, metric or chart data (see tests/disclosure/test_gate_walk.py for results and exports)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.apptest.conftest import charts
from tests.disclosure.test_gate_walk import VIEWS, frame_small_counts, small_counts

PAGES = ["views/overview.py", "views/sex_differences.py", "views/age_prevalence.py",
         "views/ferritin_augmentation.py", "views/risk_factors.py", "views/data.py", "views/trends_sites.py"]


@pytest.mark.parametrize("query", VIEWS)
@pytest.mark.parametrize("page", PAGES)
def test_pages_show_no_small_count(app, query, page):
    url = dict(part.split("=", 1) for part in query.split("&")) if query else {}
    at = app(url, page=page)
    shown_tables = [d.value for d in at.dataframe] + [t.value for t in at.table]  # grids and static tables
    assert shown_tables or at.warning, "the page showed nothing to check"
    for frame in shown_tables:
        assert frame_small_counts(frame) == {}, list(frame.columns)
    assert small_counts([m.value for m in at.metric]) == []
    for spec in charts(at):
        for dataset in (spec.get("datasets") or {}).values():
            assert frame_small_counts(pd.DataFrame(dataset)) == {}
