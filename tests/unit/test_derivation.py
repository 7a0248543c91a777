"""Derivation of the one-row-per-participant table, checked against an independent pandas implementation."""

from __future__ import annotations

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest

from data_schema.derivation import derive_wide


def _pandas_reference(demo_dir, window: int) -> pd.DataFrame:
    p = pd.read_parquet(demo_dir / "participants.parquet")
    labs = pd.read_parquet(demo_dir / "ferritin_labs.parquet")
    tr = pd.read_parquet(demo_dir / "treatments.parquet")
    first = tr.sort_values(["participant_id", "start_day", "episode"]).groupby("participant_id").head(1)
    censor = np.minimum(first.stop_day.fillna(first.end_of_followup_day), first.end_of_followup_day)
    first = first.assign(days=np.where(first.augmented == 1, first.augmentation_day, censor) - first.start_day)

    def latest(anchors: pd.DataFrame) -> pd.Series:
        j = labs.merge(anchors, on="participant_id")
        j = j[(j.lab_day <= j.anchor) & (j.lab_day >= j.anchor - window)]
        j = j[j.lab_day == j.groupby("participant_id").lab_day.transform("max")]
        return j.groupby("participant_id").ferritin.mean()

    at_start = latest(first[["participant_id"]].assign(anchor=first.start_day))
    at_base = latest(p[["participant_id"]].assign(anchor=0))
    out = p.set_index("participant_id")
    out["ferritin_at_treatment_start"] = at_start
    out["ferritin_at_baseline"] = at_base
    out["first_drug"] = first.set_index("participant_id").drug
    out["days"] = first.set_index("participant_id").days
    return out


@pytest.mark.parametrize("window", [365, 90])
def test_derived_columns_equal_the_pandas_reference(demo_dir, window):
    con = duckdb.connect()
    backend = ibis.duckdb.from_connection(con)
    tables = {n: backend.read_parquet(demo_dir / f"{n}.parquet", table_name=n)
              for n in ("participants", "ferritin_labs", "treatments")}
    wide = derive_wide(tables["participants"], tables["ferritin_labs"], tables["treatments"], window)
    got = wide.to_pandas().set_index("participant_id").sort_index()
    ref = _pandas_reference(demo_dir, window).sort_index()
    assert len(got) == len(ref)  # one row per participant, nobody lost or duplicated
    for column in ("ferritin_at_treatment_start", "ferritin_at_baseline"):
        assert got[column].isna().equals(ref[column].isna())
        np.testing.assert_allclose(got[column].dropna(), ref[column].dropna(), rtol=1e-12)
    assert (got.first_drug == ref.first_drug.fillna("none")).all()
    treated = ref.days.notna()
    assert (got.loc[treated, "days_to_augmentation_or_censor"] == ref.loc[treated, "days"]).all()
    assert (got.loc[treated, "days_to_augmentation_or_censor"] >= 0).all()
    assert got.loc[~treated, "augmented"].isna().all()


def test_shorter_window_finds_fewer_baseline_values(demo_dir):
    ref_long = _pandas_reference(demo_dir, 365).ferritin_at_treatment_start.notna().sum()
    ref_short = _pandas_reference(demo_dir, 30).ferritin_at_treatment_start.notna().sum()
    assert 0 < ref_short < ref_long
