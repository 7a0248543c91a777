"""Fixtures of the engine-equivalence tests: one Spark engine for this folder (local Spark starts in about
6 s; stopped when the folder is done), opened the way the CLI and the dashboard open it
(``queries.engines.open_engine``:
the demo extract prepared into a store with each participant's record key, exported as Parquet, read by Spark), next
to the session's in-memory DuckDB ``engine`` (record keys from the same session secret).

The tests are skipped when pyspark or Java is missing (``pip install -r requirements-spark.txt``; Java 17+);
with ``RLS_REQUIRE_SPARK=1`` (CI) a missing one fails the run instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from disclosure.policy import DisclosurePolicy


def spark_missing() -> str | None:
    """Why the Spark engine cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -r requirements-spark.txt)"
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return "Java 17+ is not installed (apt-get install openjdk-17-jre-headless)"
    return None


def require_spark() -> None:
    """Skip (locally, without pyspark or Java) or fail (``RLS_REQUIRE_SPARK=1``, as ``make test`` sets in CI)."""
    reason = spark_missing()
    if reason and os.environ.get("RLS_REQUIRE_SPARK") == "1":
        pytest.fail(f"RLS_REQUIRE_SPARK=1 but {reason}")
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="package")
def spark_store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spark-store")


@pytest.fixture(scope="package")
def spark_engine(demo_dir, spark_store):
    """The Spark engine over the demo extract (the same cohort as the DuckDB ``engine`` fixture)."""
    require_spark()
    from queries.engines import open_engine

    spark = open_engine(demo_dir, None, spark_store, "spark")
    yield spark
    spark.close()


@pytest.fixture(scope="package")
def cohort_parquet(spark_engine, demo_dir, spark_store) -> Path:
    """The canonical cohort Parquet file the Spark engine reads (exported from the prepared store)."""
    from queries.engine import prepare

    prepared, _info = prepare(demo_dir, None, spark_store)
    path = prepared.folder / "cohort.parquet"
    assert path.exists()
    return path


@pytest.fixture(scope="package")
def engines(engine, spark_engine):
    """(DuckDB engine, Spark engine) over the same cohort."""
    assert spark_engine.info.data_hash == engine.info.data_hash
    return engine, spark_engine


POLICIES = {  # the default method (counts perturbed by the cell key method) and exact mode, both with k = 11
    "cell_key": DisclosurePolicy(11, "cell_key"),
    "exact": DisclosurePolicy(11, "exact"),
}

STATES = {
    # name: query built from the cohort's own options (values exist on every demo extract)
    "all": lambda o: "",
    "women": lambda o: "sex=female",
    "site-and-ages": lambda o: f"site={o.sites[0]}&age={o.age_bands[len(o.age_bands) // 3][0]}-"
                               f"{o.age_bands[2 * len(o.age_bands) // 3][1]}",
    "one-drug": lambda o: f"drug={o.drugs[0]}",
    "untreated": lambda o: "drug=untreated",
    "no-secondary": lambda o: "exclude=secondary",
    "men-recent-clinsig": lambda o: f"sex=male&year={o.years[len(o.years) // 2]}-{o.years[-1]}&def=rls_clinsig",
    "nobody": lambda o: "site=",
}
