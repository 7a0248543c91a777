"""Fixtures of the engine-equivalence tests: the Spark engine in three modes, each opened the way the CLI and the
dashboard open it (``queries.engines.open_engine``: the demo extract prepared into a store with each participant's
record key, exported as Parquet, read by Spark), next to the session's in-memory DuckDB ``engine`` (record keys from
the same session secret):

- ``cluster``: a driver in this process on the standalone cluster of ``tests/engines/cluster.py`` (a master and two
  workers on 127.0.0.1, started from the pyspark wheel for this session, ``spark://127.0.0.1:PORT``);
- ``connect``: the Spark Connect server of that cluster (``sc://127.0.0.1:PORT``);
- ``local``: Spark in this process (``local[2]``), for the tests marked ``spark_local`` only (a smoke subset: local
  mode is what the cluster modes add to, and each mode costs minutes on 2 cores).

Every test that uses ``spark_engine`` (or ``engines``) runs once per mode; pytest groups the tests by mode, so one
engine (and one SparkContext) is open at a time, local first, Connect last. The cluster starts when the first
cluster test needs it and stops when the session ends (also on failure); its logs are printed if it cannot start,
and the folder holding them is named in the summary.

The tests are skipped when pyspark, its Connect client packages or Java are missing (``pip install -r
requirements-spark.txt``; Java 17+); with ``RLS_REQUIRE_SPARK=1`` (CI) a missing one fails the run instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from disclosure.policy import DisclosurePolicy


def spark_missing(mode: str = "local") -> str | None:
    """Why the Spark engine cannot run here in ``mode``, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -r requirements-spark.txt)"
    if mode == "connect" and importlib.util.find_spec("grpc") is None:
        return "the Spark Connect client (grpcio) is not installed (pip install -r requirements-spark.txt)"
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return "Java 17+ is not installed (apt-get install openjdk-17-jre-headless)"
    return None


def require_spark(mode: str = "local") -> None:
    """Skip (locally, without pyspark or Java) or fail (``RLS_REQUIRE_SPARK=1``, as ``make test`` sets in CI)."""
    reason = spark_missing(mode)
    if reason and os.environ.get("RLS_REQUIRE_SPARK") == "1":
        pytest.fail(f"RLS_REQUIRE_SPARK=1 but {reason}")
    if reason:
        pytest.skip(reason)


SPARK_MODES = ("local", "cluster", "connect")
# Every Spark driver this process starts binds to the loopback address too, as the cluster does (read when the JVM
# starts, so set before any test starts one).
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
_CLUSTER_FOLDERS: list[Path] = []
CONNECT_STATES = ("all", "site-and-ages", "nobody")  # an empty filter, a narrow one, and nobody (NULL results)


def pytest_generate_tests(metafunc):
    """Each test that uses the Spark engine runs on the cluster and on Connect, and also locally when marked
    ``spark_local``; ``spark_modes("…", …)`` narrows a test to the modes named."""
    if "spark_mode" not in metafunc.fixturenames:
        return
    only = metafunc.definition.get_closest_marker("spark_modes")
    if only:
        modes = list(only.args)
    else:
        local = metafunc.definition.get_closest_marker("spark_local") is not None
        modes = [m for m in SPARK_MODES if m != "local" or local]
    metafunc.parametrize("spark_mode", modes, indirect=True, scope="package")


def pytest_collection_modifyitems(config, items):
    """On Spark Connect the comparisons parametrised by filter state run for ``CONNECT_STATES`` only (the standalone
    cluster runs them all): Connect differs from a driver in this process in how results reach Python, not in what
    the queries compute, and every state costs seconds per test on 2 cores."""
    dropped = [item for item in items if _connect_state(item) not in (None, *CONNECT_STATES)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(dropped)
        items[:] = [item for item in items if item not in gone]


def _connect_state(item) -> str | None:
    """The filter state of a Connect-mode test parametrised by one, else None."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    if params.get("spark_mode") != "connect":
        return None
    state = params.get("state", params.get("name"))
    return state if state in STATES else None


def pytest_terminal_summary(terminalreporter):
    for folder in _CLUSTER_FOLDERS:
        terminalreporter.write_line(f"Spark cluster logs (tests/engines): {folder}")


@pytest.fixture(scope="package")
def spark_mode(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """The standalone cluster and its Connect server for this session (started on first use, always stopped)."""
    require_spark()
    from tests.engines.cluster import ClusterError, SparkCluster

    folder = tmp_path_factory.mktemp("spark-cluster")
    _CLUSTER_FOLDERS.append(folder)
    try:
        with SparkCluster.start(folder) as cluster:
            yield cluster
    except ClusterError as exc:
        pytest.fail(f"The Spark test cluster did not start: {exc}", pytrace=False)


@pytest.fixture(scope="package")
def spark_master(spark_mode, request) -> str | None:
    """The master URL of this mode: None (local mode, the engine's default), spark://… or sc://…."""
    require_spark(spark_mode)
    if spark_mode == "local":
        return None
    cluster = request.getfixturevalue("spark_cluster")
    return cluster.master_url if spark_mode == "cluster" else cluster.connect_url


@pytest.fixture(scope="package")
def spark_store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spark-store")


@pytest.fixture(scope="package")
def spark_engine(demo_dir, spark_store, spark_master):
    """The Spark engine over the demo extract (the same cohort as the DuckDB ``engine`` fixture), in this mode."""
    from queries.engines import open_engine

    connect_flag = os.environ.get("SPARK_CONNECT_MODE_ENABLED")
    spark = open_engine(demo_dir, None, spark_store, "spark", spark_master=spark_master)
    yield spark
    spark.close()
    assert os.environ.get("SPARK_CONNECT_MODE_ENABLED") == connect_flag, "closing left pyspark in Connect mode"


@pytest.fixture(scope="package")
def cohort_parquet(demo_dir, spark_store) -> Path:
    """The canonical cohort Parquet file the Spark engine reads (exported from the prepared store)."""
    from queries.engine import prepare
    from queries.store import export_parquet

    prepared, _info = prepare(demo_dir, None, spark_store)
    path = prepared.folder / "cohort.parquet"
    if not path.exists():
        export_parquet(prepared, path)
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
