"""The cold benchmark compares equal work: the cohort under its own names and codes, loaded by the CLI through its
mapping file, gives the same odds ratios as the naive path reading that file (exact mode), and one cold run of
each path completes in a fresh process."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analyses.cli import main
from benchmarks import cold, naive
from queries.engine import prepare
from queries.store import export_parquet


@pytest.fixture(scope="module")
def own_names(demo_dir, tmp_path_factory):
    prepared, _ = prepare(demo_dir, None, tmp_path_factory.mktemp("cold-store"))
    parquet = export_parquet(prepared, tmp_path_factory.mktemp("cold") / "cohort.parquet")
    return cold.own_names_cohort(parquet, tmp_path_factory.mktemp("own-names"))


def test_the_own_names_cohort_gives_the_naive_paths_estimates(own_names, tmp_path, capsys):
    code = main(["odds-ratio", "--data", str(own_names.parent / "cohort.parquet"), "--mapping", str(own_names),
                 "--store", str(tmp_path), "--min-cell", "0", "--method", "exact", "--json"])
    assert code == 0
    estimates = {e["measure"]: e["estimate"] for e in json.loads(capsys.readouterr().out)["estimates"]}
    df = pd.read_parquet(own_names.parent / "cohort.parquet", columns=["gender", "age_years", "rls_dx"])
    df["sex"] = df["gender"].map({2: "female", 1: "male"})
    rows = naive.odds_ratio_frame(df.rename(columns={"age_years": "age", "rls_dx": "rls"}), "rls")
    assert rows["crude"] == pytest.approx(estimates["crude_or"], rel=1e-10)
    assert rows["adjusted"] == pytest.approx(estimates["adjusted_or"], rel=1e-6)


@pytest.mark.parametrize("path", ["project", "naive"])
def test_one_cold_run_of_each_path_completes(own_names, tmp_path, path):
    run = cold._one_run(path, own_names, tmp_path)
    assert run["seconds"] > 0 and run["peak_rss_mb"] > 50
    assert not list(tmp_path.glob("cold-store-*"))  # each run's store is removed
