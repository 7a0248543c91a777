"""The DuckDB engine: locked after loading, one cursor per query (safe across threads), aggregates only."""

from __future__ import annotations

import hashlib
import inspect
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest

from disclosure.policy import DisclosurePolicy
from queries import cohort, filters
from queries.engine import CohortEngine
from queries.protocol import Engine


@pytest.mark.parametrize("statement", [
    "COPY cohort TO '/tmp/rls_leak.csv'",
    "ATTACH '/tmp/rls_other.duckdb' AS other",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "INSTALL httpfs",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
])
def test_locked_engine_refuses_file_access_and_configuration(engine, statement):
    cursor = engine._con.cursor()
    with pytest.raises(duckdb.Error):
        cursor.execute(statement).fetchall()


@pytest.mark.parametrize("policy", [DisclosurePolicy(11, "exact"), DisclosurePolicy(11, "cell_key")],
                         ids=["exact", "cell-key"])
def test_queries_from_many_threads(engine, options, policy):
    states = [filters.parse_query(q, options)[0] for q in ("sex=female", "sex=male", "site=A", "age=40-79")] * 4
    expected = [cohort.outcome_counts(engine, s, options, policy)["n"] for s in states]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda s: cohort.outcome_counts(engine, s, options, policy)["n"], states))
    assert got == expected


def test_cohort_info(engine, demo_dir):
    info = engine.info
    assert info.load.n_participants == 20_000
    assert info.load.report.usable
    assert {"pid", "sex", "age", "outcome_rls", "biomarker", "time_years", "event"} <= set(info.schema)
    assert len(info.data_hash) == 16


def test_data_hash_changes_with_the_data(demo_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_dir, copy)
    a = CohortEngine.open(copy).info.data_hash
    (copy / "mapping.toml").write_text((copy / "mapping.toml").read_text().replace("= 365", "= 180"))
    assert CohortEngine.open(copy).info.data_hash != a


def test_loading_never_writes_the_sources(demo_dir):
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in demo_dir.iterdir()}
    CohortEngine.open(demo_dir)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in demo_dir.iterdir()}
    assert before == after


def test_the_engine_implements_the_engine_protocol(engine):
    """Every member of ``queries.protocol.Engine``, with the protocol's parameters (the Spark engine: tests/engines)."""
    assert isinstance(engine, Engine)
    for name, member in vars(Engine).items():
        if inspect.isfunction(member) and not name.startswith("_"):
            assert inspect.signature(getattr(CohortEngine, name)).parameters.keys() == \
                inspect.signature(member).parameters.keys(), name


def test_close_is_idempotent_and_ends_queries(engine):
    closing = CohortEngine(duckdb.connect(":memory:"), engine.info)
    assert closing.execute_sql("SELECT 1 AS one").num_rows == 1
    closing.close()
    closing.close()
    with pytest.raises(duckdb.Error):
        closing.execute_sql("SELECT 1 AS one")
