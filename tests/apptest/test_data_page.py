"""Data page: source, validation report with row accounting (released like every other count), data dictionary."""

from __future__ import annotations

import pytest

from queries.release import release_report


@pytest.mark.parametrize("method", ["cell_key", "exact"])
def test_data_page_shows_report_and_dictionary(app, engine, disclosure_method, method):
    policy = disclosure_method(method)
    at = app(page="views/data.py")
    assert "The data can be used" in " ".join(m.value for m in at.markdown)
    accounts = at.dataframe[0].value
    assert list(accounts["File"]) == ["participants.parquet", "ferritin_labs.parquet", "treatments.parquet"]
    released = release_report(engine.info.load.report, policy, engine.info.data_hash).accounts
    assert list(accounts["Loaded"]) == [policy.show_count(a.rows_loaded) for a in released]
    if method == "exact":
        assert accounts["Loaded"].iloc[0] == "20,000"
    else:  # the default: perturbed by at most D = 3, the same value in every session with this secret
        assert abs(int(accounts["Loaded"].iloc[0].replace(",", "")) - 20_000) <= 3
    assert engine.info.data_hash in " ".join(m.value for m in at.markdown)
    tables = [t.value for t in at.table]  # the dictionary: static tables whose text wraps
    roles = [df for df in tables if "Role" in df.columns][0]
    assert {"sex", "age", "biomarker", "treatment", "time"} <= set(roles["Role"])
    declared = [df for df in tables if "Allowed" in df.columns]
    assert len(declared) == 3 and "participant_id" in set(declared[0]["Column"])
