"""The Spark engine itself: the interface the analyses use, Spark SQL for "How this was computed", results with
DuckDB's dtypes where Spark differs (NULLs, lists), a Parquet file that is not the described cohort refused, engines
in one process kept apart, and queries from several threads at once."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from ibis import _

from data_schema.reading import run
from disclosure.record_keys import RECORD_KEY
from queries import cohort, filters
from queries.cohort import filter_options
from queries.protocol import Engine
from tests.conftest import ROOT
from tests.engines.compare import assert_same_frame
from tests.engines.conftest import POLICIES, require_spark

pytestmark = [pytest.mark.spark, pytest.mark.spark_local]  # the engine itself: local mode too
CELL_KEY = POLICIES["cell_key"]


def test_the_engine_offers_the_cohort_engines_interface(engines):
    duck, spark = engines
    assert isinstance(spark, Engine) and isinstance(duck, Engine)
    for name, member in vars(Engine).items():  # the protocol's parameters, as on DuckDB (tests/unit/test_engine.py)
        if inspect.isfunction(member) and not name.startswith("_"):
            assert inspect.signature(getattr(type(spark), name)).parameters.keys() == \
                inspect.signature(member).parameters.keys(), name
    assert spark.dialect == "pyspark"
    assert (spark.info.schema, spark.info.mapping) == (duck.info.schema, duck.info.mapping)
    assert spark.table().schema() == duck.table().schema()
    assert spark.table()[RECORD_KEY].type().is_integer()  # the prepared cohort's record keys travel with it
    assert not hasattr(spark, "slice_table") and not hasattr(duck, "slice_table")


def test_sql_is_sparks_own(engines):
    _duck, spark = engines
    t = spark.table()
    expr = t.filter(t.sex == "female").group_by("site").aggregate(n=_.count())
    sql = spark.sql(expr)
    assert "FROM `cohort`" in sql and "`site`" in sql and '"' not in sql
    assert sql.lstrip().upper().startswith("SELECT")
    floor = spark.execute_sql(sql).to_pandas()  # the benchmark's floor: that SQL on the engine's own session
    assert_same_frame(floor, spark.execute(expr))


def test_nulls_and_lists_come_back_as_on_duckdb(engines):
    """Over nobody: COUNT 0, MAX a nullable-integer NA, a boolean MAX a nullable-boolean NA, a collected list NA —
    with exactly DuckDB's dtypes. Per group: distinct lists as NumPy arrays, Spark's sorted."""
    duck, spark = engines
    t = duck.table()
    nobody = t.filter(t.site.isin([]))
    query = nobody.aggregate(n=nobody.count(), oldest=nobody.age.max(), any_case=nobody.outcome_rls.max(),
                             sites=nobody.site.collect(distinct=True), mean_age=nobody.age.mean())
    left, right = duck.execute(query), spark.execute(query)
    assert dict(left.dtypes) == dict(right.dtypes)
    assert right["n"].iloc[0] == 0 and all(right[c].isna().iloc[0] for c in ("oldest", "any_case", "mean_age"))
    assert right["sites"].iloc[0] is pd.NA and left["sites"].iloc[0] is pd.NA

    grouped = t.group_by("sex").aggregate(drugs=t.treatment.collect(distinct=True), oldest=t.age.max())
    left, right = duck.execute(grouped), spark.execute(grouped)
    assert dict(left.dtypes) == dict(right.dtypes)
    assert_same_frame(left, right, "collected drugs")
    for drugs in right["drugs"]:
        assert isinstance(drugs, np.ndarray) and list(drugs) == sorted(drugs)


def test_queries_from_several_threads_at_once(engines):
    """Streamlit runs each browser session in a thread; the engine serves them concurrently."""
    duck, spark = engines
    options = filter_options(duck)
    states = [filters.parse_query(q, options)[0] for q in ("", "sex=female", "sex=male", f"site={options.sites[1]}",
                                                           "exclude=secondary", f"drug={options.drugs[1]}")]
    expected = [cohort.outcome_counts(duck, s, options, CELL_KEY) for s in states]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda s: cohort.outcome_counts(spark, s, options, CELL_KEY), states))
    assert got == expected
    assert len({g["n"] for g in got}) == len(got)  # the states differ, so a mixed-up answer would show


def _parquet(source, out, select: str, where: str = "true", **params):
    """A variant of the cohort Parquet file: ``select`` columns of the rows ``where`` holds."""
    con = duckdb.connect()
    try:
        run(con, f"COPY (SELECT {select} FROM read_parquet($src) WHERE {where}) TO $out (FORMAT parquet)",
            {"src": str(source), "out": str(out), **params})
    finally:
        con.close()
    return out


def test_a_parquet_file_of_another_shape_is_refused(engines, spark_master, cohort_parquet, tmp_path):
    from queries.spark import SparkCohortEngine, SparkEngineError

    duck, spark = engines
    retyped = _parquet(cohort_parquet, tmp_path / "retyped.parquet", "* REPLACE (CAST(age AS DOUBLE) AS age)")
    with pytest.raises(SparkEngineError, match="age is float64, expected int64"):
        SparkCohortEngine.open(str(retyped), duck.info, spark_master)
    missing = _parquet(cohort_parquet, tmp_path / "missing.parquet", "* EXCLUDE (time_years)")
    with pytest.raises(SparkEngineError, match="missing time_years"):
        SparkCohortEngine.open(str(missing), duck.info, spark_master)
    keyless = _parquet(cohort_parquet, tmp_path / "keyless.parquet", f"* EXCLUDE ({RECORD_KEY})")
    with pytest.raises(SparkEngineError, match=f"missing {RECORD_KEY}"):  # an export without the record keys
        SparkCohortEngine.open(str(keyless), duck.info, spark_master)
    with_nan = _parquet(cohort_parquet, tmp_path / "nan.parquet",
                        "* REPLACE (CASE WHEN pid = (SELECT min(pid) FROM read_parquet($src)) THEN 'NaN'::DOUBLE "
                        "ELSE biomarker END AS biomarker)")
    with pytest.raises(SparkEngineError, match="NaN in biomarker"):
        SparkCohortEngine.open(str(with_nan), duck.info, spark_master)
    assert spark.execute(spark.table().aggregate(n=spark.table().count()))["n"].iloc[0] == \
        duck.info.load.n_participants  # the refused opens left the session's engine alone


def test_two_engines_in_one_process_keep_their_own_views(engines, spark_master, cohort_parquet, tmp_path):
    """A second engine (here over one site only) gets its own Spark session: its ``cohort`` view does not replace
    the first engine's, and closing it leaves the first one working."""
    from queries.spark import SparkCohortEngine

    duck, spark = engines
    site = filter_options(duck).sites[0]
    one_site = _parquet(cohort_parquet, tmp_path / "one-site.parquet", "*", "site = $site", site=site)
    count = spark.table().aggregate(n=spark.table().count())
    before = int(spark.execute(count)["n"].iloc[0])
    with SparkCohortEngine.open(str(one_site), duck.info, spark_master) as other:
        assert filter_options(other).sites == (site,)
        assert int(other.execute(count)["n"].iloc[0]) < before
        assert int(spark.execute(count)["n"].iloc[0]) == before
    assert int(spark.execute(count)["n"].iloc[0]) == before
    assert filter_options(spark) == filter_options(duck)


def test_without_java_the_engine_is_unavailable_not_broken(demo_dir, cohort_parquet):
    """A fresh process with no Java on the PATH: ``open`` raises ``EngineUnavailable`` (which the CLI and the
    dashboard turn into their message) instead of a JVM launch error."""
    require_spark()
    code = ("import sys\nfrom pathlib import Path\nfrom queries.engine import CohortEngine\n"
            "from queries.protocol import EngineUnavailable\nfrom queries.spark import SparkCohortEngine\n"
            "info = CohortEngine.open(Path(sys.argv[1])).info\n"
            "try:\n    SparkCohortEngine.open(sys.argv[2], info)\nexcept EngineUnavailable as exc:\n"
            "    print('unavailable:', exc)\n")
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env |= {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code, str(demo_dir), str(cohort_parquet)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("unavailable: The Spark engine needs Java 17")


@pytest.mark.spark_modes("connect")
def test_with_a_connect_engine_open_a_driver_in_this_process_is_refused(engines, cohort_parquet):
    """pyspark switches the whole process to Connect while a Connect session lives: a local or cluster engine
    opened meanwhile is refused with a message (not handed a Connect session); closing restores the switch (the
    ``spark_engine`` fixture asserts that)."""
    from queries.spark import SparkCohortEngine, SparkUnavailable

    duck, _spark = engines
    with pytest.raises(SparkUnavailable, match="has a Spark Connect engine open"):
        SparkCohortEngine.open(str(cohort_parquet), duck.info, "local[1]")
