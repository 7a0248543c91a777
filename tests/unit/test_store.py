"""Prepared cohorts: checked and loaded once into a DuckDB file, reused while the sources are unchanged, opened
read-only and locked, giving the same numbers as a cohort loaded in memory."""

from __future__ import annotations

import shutil
import stat

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data_schema.loading import LoadRefused
from disclosure.policy import DisclosurePolicy
from disclosure.record_keys import KEY_RANGE, RECORD_KEY
from queries import aggregates, cohort, filters
from queries.engine import CohortEngine, prepare
from queries.store import DATABASE, MANIFEST, export_parquet, open_read_only

QUERIES = ("", "sex=female", "site=A&age=40-79", "exclude=secondary&drug=none")


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def stored(demo_dir, store_dir):
    return CohortEngine.open(demo_dir, store_dir=store_dir)


def _folders(store_dir):
    return sorted(p for p in store_dir.iterdir() if not p.name.startswith("."))


def test_prepared_once_then_reused(demo_dir, store_dir, stored):
    folder = _folders(store_dir)
    assert len(folder) == 1 and (folder[0] / DATABASE).exists() and (folder[0] / MANIFEST).exists()
    built = (folder[0] / DATABASE).stat().st_mtime_ns
    again = CohortEngine.open(demo_dir, store_dir=store_dir)
    assert _folders(store_dir) == folder
    assert (folder[0] / DATABASE).stat().st_mtime_ns == built  # not rebuilt
    assert again.info == stored.info


def test_store_is_private(demo_dir, tmp_path):
    store_dir = tmp_path / "new" / "store"  # created by the engine
    CohortEngine.open(demo_dir, store_dir=store_dir)
    for path in [store_dir, *_folders(store_dir)]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_two_processes_preparing_at_once_build_once(demo_dir, tmp_path):
    """The second process waits on the build lock and reuses the first one's cohort."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    store_dir = tmp_path / "store"
    code = ("import sys; from pathlib import Path; from queries.engine import prepare; "
            "p, _ = prepare(Path(sys.argv[1]), None, Path(sys.argv[2])); print(p.reused)")
    runs = [subprocess.Popen([sys.executable, "-c", code, str(demo_dir), str(store_dir)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True) for _ in range(2)]
    reused = sorted(run.communicate(timeout=300)[0].strip() for run in runs)
    assert reused == ["False", "True"]
    assert len(_folders(store_dir)) == 1


def test_prepared_cohort_keeps_only_the_cohort_with_its_record_keys(demo_dir, store_dir, stored):
    con = open_read_only(prepare(demo_dir, None, store_dir)[0])
    try:
        tables = {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables WHERE "
                                                   "table_catalog = 'prepared'").fetchall()}
        low, high, missing, n = con.execute(f"SELECT min({RECORD_KEY}), max({RECORD_KEY}), "
                                            f"count(*) - count({RECORD_KEY}), count(*) FROM prepared.cohort").fetchone()
    finally:
        con.close()
    assert tables == {"cohort"}  # no raw_* copies of the source files, no slice table
    assert missing == 0 and n == 20_000 and 0 <= low < high < KEY_RANGE  # one key per participant, in range


def test_same_report_and_numbers_as_in_memory(engine, options, stored):
    assert stored.info.load == engine.info.load
    assert stored.info.schema == engine.info.schema
    assert cohort.filter_options(stored) == options
    for query in QUERIES:
        state = filters.parse_query(query, options)[0]
        for policy in (DisclosurePolicy(11, "exact"), DisclosurePolicy(11, "cell_key")):
            # the same record keys (same secret), so the same released counts
            assert cohort.attrition(stored, state, options, policy) == cohort.attrition(engine, state, options, policy)
        keys = ["sex", "age", "site"]
        expr = aggregates.pattern_counts(filters.apply(stored.table(), state, options), keys, "outcome_rls")
        got = stored.execute(expr).sort_values(keys, na_position="first").reset_index(drop=True)
        want = engine.execute(expr).sort_values(keys, na_position="first").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("statement", ["COPY cohort TO '/tmp/rls_store_leak.csv'", "CREATE TABLE x AS SELECT 1",
                                       "DELETE FROM cohort", "SET lock_configuration = false"])
def test_prepared_cohort_is_read_only_and_locked(stored, statement):
    with pytest.raises(duckdb.Error):
        stored._con.cursor().execute(statement).fetchall()


def test_changed_sources_are_prepared_again(demo_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(demo_dir, copy)
    store_dir = tmp_path / "store"
    first = CohortEngine.open(copy, store_dir=store_dir)
    (copy / "mapping.toml").write_text((copy / "mapping.toml").read_text().replace("= 365", "= 180"))
    second = CohortEngine.open(copy, store_dir=store_dir)
    assert first.info.data_hash != second.info.data_hash
    assert len(_folders(store_dir)) == 2


def test_refused_sources_leave_nothing_in_the_store(tmp_path):
    data = tmp_path / "cohort.csv"
    data.write_text("participant_id,sex,age,rls\nP1,F,40,1\nP1,M,50,0\n")  # a duplicate participant
    store_dir = tmp_path / "store"
    with pytest.raises(LoadRefused):
        CohortEngine.open(data, store_dir=store_dir)
    assert [p.name for p in store_dir.iterdir() if p.suffix != ".lock"] == []  # only the (empty) build lock


def test_export_parquet_holds_every_participant_ordered_by_site_and_age(demo_dir, store_dir, stored, tmp_path):
    prepared, _info = prepare(demo_dir, None, store_dir)
    out = export_parquet(prepared, tmp_path / "cohort.parquet")
    table = pq.read_table(out, columns=["site", "age"]).to_pandas()
    assert len(table) == stored.info.load.n_participants
    ordered = table.sort_values(["site", "age"], na_position="last", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(table, ordered)
