"""Data page: source, validation report with row accounting, data dictionary."""

from __future__ import annotations


def test_data_page_shows_report_and_dictionary(app, engine):
    at = app(page="views/data.py")
    assert "The data can be used" in " ".join(m.value for m in at.markdown)
    accounts = at.dataframe[0].value
    assert list(accounts["File"]) == ["participants.parquet", "ferritin_labs.parquet", "treatments.parquet"]
    assert accounts["Loaded"].iloc[0] == "20,000"
    assert engine.info.data_hash in " ".join(m.value for m in at.markdown)
    roles = [df.value for df in at.dataframe if "Role" in df.value.columns][0]
    assert {"sex", "age", "biomarker", "treatment", "time"} <= set(roles["Role"])
    declared = [df.value for df in at.dataframe if "Allowed" in df.value.columns]
    assert len(declared) == 3 and "participant_id" in set(declared[0]["Column"])
