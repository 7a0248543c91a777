"""``python -m analyses … --engine spark --spark-master sc://…`` end to end: the CLI connects to the test cluster's
Spark Connect server itself (a store of its own) and prints the same JSON as the DuckDB run, all but the SQL — in the
default cell-key mode (both subprocesses inherit the session's secret, so the same record keys, cell keys and released
counts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.cli.invocation import REPO
from tests.engines.compare import assert_close
from tests.engines.conftest import require_spark

pytestmark = pytest.mark.spark


def _run(demo_dir, store, *extra) -> dict:
    env = {**os.environ, "RLS_STORE_DIR": str(store)}
    done = subprocess.run([sys.executable, "-m", "analyses", "biomarker-risk", "--data", str(demo_dir), "--json",
                           *extra], cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def test_cli_engine_spark_prints_the_duckdb_json(demo_dir, tmp_path, spark_cluster):
    require_spark("connect")
    duck = _run(demo_dir, tmp_path / "store", "--engine", "duckdb")
    spark = _run(demo_dir, tmp_path / "store", "--engine", "spark", "--spark-master", spark_cluster.connect_url)
    assert duck["queries"] != spark["queries"]  # Spark SQL, not DuckDB's
    duck.pop("queries"), spark.pop("queries")
    duck.pop("software", None), spark.pop("software", None)
    assert_close(duck, spark)
    assert duck["cohort"]["method"] == "cell_key"  # the repository's dashboard.toml: the default method
    assert duck["estimates"], "the run estimated nothing, so the comparison would be empty"
