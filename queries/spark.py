"""The scale-out engine: Apache Spark (local mode, a cluster, or Spark Connect) running the same Ibis query
definitions as the embedded DuckDB engine.

It implements ``queries.protocol.Engine`` — the interface the release layer uses: ``info``, ``table()``,
``sql(expr)``, ``execute(expr)`` — over a canonical cohort Parquet file (written by the DuckDB loader, so every
check of ``data_schema`` has already run and every participant has its cell-key record key). The Parquet file
becomes the cached temporary view ``cohort``. It imports neither the DuckDB engine nor ``queries.engines``.

Queries run through the Ibis pyspark backend's own ``execute`` (Ibis cannot compile to the pyspark dialect without
a backend). Results get the dtypes the DuckDB engine gives — see :func:`conform` for what Spark returns differently
and why each difference is normalised.

Optional: needs ``requirements-spark.txt`` (pyspark 4.0.x) and Java 17+. Only ``queries.engines`` imports this
module, when Spark is chosen: without pyspark the import raises ImportError, without Java ``open`` raises
:class:`SparkUnavailable` (an ``EngineUnavailable``).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyspark  # noqa: F401  (the optional extra: without it, importing this module raises ImportError)

from data_schema.loading import COHORT_TABLE
from queries.protocol import CohortInfo, EngineUnavailable, cohort_table

DEFAULT_MASTER = "local[2]"
# Small and quiet: no web UI, no progress bars, few shuffle partitions (the results are small aggregates),
# UTC so nothing depends on the machine's zone. Driver memory only applies when this process starts the JVM.
SESSION_CONFIG = {
    "spark.app.name": "rls-cohort-dashboard",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.sql.session.timeZone": "UTC",
}
# Settings a Spark Connect server may refuse to take from a client (they belong to the server's launch).
_LAUNCH_ONLY = ("spark.app.name", "spark.ui.enabled", "spark.driver.memory", "spark.default.parallelism",
                "spark.ui.showConsoleProgress")
# Log4j 2 configuration for a JVM this process starts: WARN and above, without the two start-up warnings that say
# nothing about the data (no native Hadoop library; the host name resolving to a loopback address).
_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.hadoop.name = org.apache.hadoop.util.NativeCodeLoader
logger.hadoop.level = error
logger.utils.name = org.apache.spark.util.Utils
logger.utils.level = error
"""


class SparkUnavailable(EngineUnavailable):
    """Spark cannot start here: no Java, a JVM that will not start, or Spark Connect's client packages missing."""


class SparkEngineError(EngineUnavailable):
    """The Parquet file does not hold the cohort ``info`` describes (a column, a type or a value differs)."""


class SparkCohortEngine:
    """Runs the analyses' Ibis expressions on a Spark session (a ``queries.protocol.Engine``, like DuckDB's).

    Each engine has a session of its own (``newSession()`` on the process's SparkContext, or its own Spark Connect
    session), so two engines in one process never see each other's ``cohort`` views. Spark sessions are safe to use
    from several threads (one Streamlit session each): queries run as separate jobs.
    """

    dialect = "pyspark"

    def __init__(self, backend, session, info: CohortInfo, release):
        self._backend = backend  # the Ibis pyspark backend over ``session``: compiles and runs the expressions
        self._session = session  # this engine's own Spark session (kept here, not read from the backend)
        self._release = release
        self._closed = False
        self._lock = threading.Lock()
        self.info = info

    @classmethod
    def open(cls, parquet_path: str, info: CohortInfo, master: str | None = None) -> "SparkCohortEngine":
        """Start (or attach to) Spark and register the cohort Parquet file as the cached view ``cohort``.

        ``master``: ``None`` runs Spark in a JVM this process starts (``local[2]``); ``local[...]``, ``spark://…``,
        ``yarn`` etc. go to ``SparkSession.builder.master`` (a cluster must be able to read ``parquet_path``);
        ``sc://host:port`` connects to a Spark Connect server (``builder.remote``; needs the client packages of
        ``pyspark[connect]``: grpcio, grpcio-status, googleapis-common-protos, zstandard). A master is fixed when
        the process first starts Spark: a later engine with another ``local``/cluster master joins the running one.

        Raises :class:`SparkEngineError` when the file's columns or types are not those of ``info.schema`` or a
        float column holds NaN (Spark's ``isnull`` counts NaN as missing, DuckDB's does not).
        """
        session, release = _session(master or DEFAULT_MASTER)
        try:
            backend = ibis.pyspark.connect(session)  # also sets the session time zone to UTC
            backend.read_parquet(str(parquet_path), table_name=COHORT_TABLE)
            _check_schema(backend.table(COHORT_TABLE).schema(), cohort_table(info.schema).schema())
            session.catalog.cacheTable(COHORT_TABLE)  # filled by the first scan; later queries skip the Parquet
            _check_no_nan(backend, info)
        except BaseException:
            with contextlib.suppress(Exception):  # keep the first error, not one from cleaning up after it
                release(session)
            raise
        return cls(backend, session, info, release)

    def table(self) -> ir.Table:
        """The canonical cohort table as an unbound Ibis table (the same expression the DuckDB engine gets)."""
        return cohort_table(self.info.schema)

    def sql(self, expr: ir.Expr) -> str:
        """The Spark SQL this engine runs for ``expr`` (shown in "How this was computed")."""
        return str(self._backend.compile(expr.as_table(), pretty=True))

    def execute(self, expr: ir.Expr) -> pd.DataFrame:
        """Run an aggregate expression on Spark and return its (small) result, conformed like DuckDB's."""
        table = expr.as_table()
        return conform(self._backend.execute(table), table)

    def execute_sql(self, sql: str):
        """Run Spark SQL this engine compiled (the benchmark's floor) and return the result as an Arrow table."""
        return self._session.sql(sql).toArrow()

    def physical_plan(self, sql: str) -> None:
        """Plan ``sql`` (analysed, optimised, physical) without running it: the planning time of a query, for
        ``benchmarks.spark_stages``."""
        self._session.sql(sql)._jdf.queryExecution().executedPlan()

    def close(self) -> None:
        """Release the views and their cache; stop Spark when this process started it and no engine is left."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._release(self._session)

    def __enter__(self) -> "SparkCohortEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_SPARK_LOCK = threading.Lock()
_local = {"engines": 0, "started_here": False}  # engines open on this process's SparkContext
# Spark Connect engines open, and pyspark's process-wide Connect switch as it was before the first: creating a
# remote session sets it, and while it is set every classic builder (local, spark://) returns a Connect session.
_remote = {"engines": 0, "flag": None}
_CONNECT_FLAG = "SPARK_CONNECT_MODE_ENABLED"


def _session(master: str):
    """A new session for one engine, and the function that releases it."""
    from pyspark.sql import SparkSession

    if master.startswith("sc://"):
        return _remote_session(master)

    from pyspark import SparkContext
    from pyspark.errors import PySparkRuntimeError

    if os.environ.get(_CONNECT_FLAG) and _remote["engines"]:
        raise SparkUnavailable("This process has a Spark Connect engine open: pyspark cannot also run a local or "
                               "cluster driver until it is closed.")
    if SparkContext._active_spark_context is None and not _java():
        raise SparkUnavailable("The Spark engine needs Java 17 or newer (Debian: apt-get install "
                               "openjdk-17-jre-headless), on the PATH or in JAVA_HOME.")
    with _SPARK_LOCK:
        starting = SparkContext._active_spark_context is None
        builder = SparkSession.builder.master(master)
        for key, value in SESSION_CONFIG.items():
            builder = builder.config(key, value)
        if starting:
            private = _private_dir()  # the cached cohort, shuffle blocks and the warehouse: never a shared /tmp
            builder = (builder.config("spark.driver.extraJavaOptions",
                                      f"-Dlog4j2.configurationFile={_log4j2_file(private)}")
                       .config("spark.local.dir", str(private / "local"))
                       .config("spark.sql.warehouse.dir", str(private / "warehouse")))
        try:
            base = builder.getOrCreate()
        except PySparkRuntimeError as exc:  # JAVA_GATEWAY_EXITED: e.g. a Java older than 17
            raise SparkUnavailable(f"Spark could not start its JVM (it needs Java 17 or newer): {exc}") from None
        if starting:
            base.sparkContext.setLogLevel("WARN")
            _local["started_here"] = True
        session = base.newSession()  # own temp views and SQL settings; the JVM and the cache are shared
        _local["engines"] += 1
    for key in ("spark.sql.shuffle.partitions", "spark.sql.session.timeZone"):
        session.conf.set(key, SESSION_CONFIG[key])
    return session, _release_local


def _remote_session(url: str):
    """A Spark Connect session of its own, and the function that releases it."""
    from pyspark.sql import SparkSession

    try:
        with _SPARK_LOCK:
            if _remote["engines"] == 0:
                _remote["flag"] = os.environ.get(_CONNECT_FLAG)
            session = SparkSession.builder.remote(url).create()  # settings after the probe: each is a call
            _remote["engines"] += 1
    except ImportError as exc:  # pyspark's PySparkImportError names the missing package
        _forget_remote(counted=False)
        raise SparkUnavailable(f"Spark Connect needs its client packages (pip install \"pyspark[connect]=="
                               f"{pyspark.__version__}\"): {exc}") from None
    _probe_remote(session, url)
    for key, value in SESSION_CONFIG.items():
        if key not in _LAUNCH_ONLY:
            session.conf.set(key, value)
    return session, _stop_remote


def _java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java")) or bool(home and (Path(home) / "bin" / "java").exists())


def _probe_remote(session, url: str) -> None:
    """Fail within seconds when the Spark Connect server cannot be reached: the client's default retry policy waits
    at least 10 minutes, which is right for a query in flight but not for opening the engine."""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    client = session.client
    policies = client.get_retry_policies()
    client.set_retry_policies([DefaultPolicy(max_retries=4)])  # about 4 s of back-off in all
    try:
        session.sql("SELECT 1").collect()
    except Exception as exc:
        with contextlib.suppress(Exception):
            _stop_remote(session)
        where = urlparse(url).netloc  # host:port only; the URL may carry a token
        raise SparkUnavailable(f"Cannot reach the Spark Connect server at {where} ({type(exc).__name__}).") \
            from None
    finally:
        client.set_retry_policies(policies)


def _stop_remote(session) -> None:
    try:
        session.stop()  # ends this client's server-side session, with its views and cache
    finally:
        _forget_remote(counted=True)


def _forget_remote(counted: bool) -> None:
    """One Connect engine fewer (``counted`` False: its session was never made); after the last, pyspark's Connect
    switch is put back as it was, so this process can run a local or cluster driver again."""
    with _SPARK_LOCK:
        _remote["engines"] -= counted
        if _remote["engines"] == 0:
            if _remote["flag"] is None:
                os.environ.pop(_CONNECT_FLAG, None)
            else:
                os.environ[_CONNECT_FLAG] = _remote["flag"]


def _release_local(session) -> None:
    for name in (COHORT_TABLE,):
        if session.catalog.tableExists(name):
            session.catalog.uncacheTable(name)
            session.catalog.dropTempView(name)
    with _SPARK_LOCK:
        _local["engines"] -= 1
        if _local["engines"] == 0 and _local["started_here"]:
            _local["started_here"] = False
            session.sparkContext.stop()  # started for the engines: the JVM goes with the last of them


@functools.cache
def _private_dir() -> Path:
    """This process's private (0700) folder for Spark's files, removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="rls-dashboard-spark-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _log4j2_file(folder: Path) -> str:
    path = folder / "log4j2.properties"
    path.write_text(_LOG4J2, encoding="utf-8")
    return str(path)


def _check_schema(found, expected) -> None:
    """The Parquet file must hold exactly the canonical columns with their types (nullability aside)."""
    def plain(schema):
        return {name: str(dtype.copy(nullable=True)) for name, dtype in schema.items()}

    found, expected = plain(found), plain(expected)
    if list(found.items()) == list(expected.items()):
        return
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    retyped = [f"{c} is {found[c]}, expected {expected[c]}" for c in expected if c in found and found[c] != expected[c]]
    parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"extra {', '.join(extra)}"] if extra else []) \
        + retyped
    raise SparkEngineError("The Parquet file is not the cohort described: " +
                           ("; ".join(parts) if parts else "its columns are in another order") + ".")


def _check_no_nan(backend, info: CohortInfo) -> None:
    """One scan: no float column of the Parquet file holds NaN (Spark's ``isnull`` counts NaN as missing, DuckDB's
    does not; the loader writes missing values as NULL)."""
    table = cohort_table(info.schema)
    floats = [c for c, t in table.schema().items() if t.is_floating()]
    if not floats:
        return
    checks = {f"nan_{i}": table[c].isnan().cast("int64").sum() for i, c in enumerate(floats)}
    row = backend.execute(table.aggregate(**checks)).iloc[0]
    with_nan = [c for i, c in enumerate(floats) if pd.notna(row[f"nan_{i}"]) and row[f"nan_{i}"] > 0]
    if with_nan:
        raise SparkEngineError(f"The Parquet file has NaN in {', '.join(with_nan)}; the loader writes missing values "
                               "as NULL.")


def conform(frame: pd.DataFrame, table: ir.Table) -> pd.DataFrame:
    """Spark's result with the dtypes the DuckDB engine gives for the same expression.

    The Ibis backend has already cast each column to the expression's type where it could (strings come as
    pandas 3's ``str``, floats as float64, a NULL-free integer as its numpy width). What remains, each matched to
    what DuckDB's ``.df()`` returns:

    - integer and boolean columns holding NULL (a MAX over no rows, an all-null group): Spark's ``toPandas`` gives
      float64 with NaN / object with None; DuckDB gives pandas' nullable ``Int64``/``Int32``/``boolean``, so those.
      (A SUM is the exception on DuckDB's side: see the note in ``tests/engines``.)
    - a string column with no value (no rows, or only NULLs — the untreated's ``treatment``): Spark gives ``str``
      with NaN, DuckDB ``object`` with None; made DuckDB's.
    - ``collect()``: Spark gives Python lists, DuckDB NumPy arrays — made arrays of the element's dtype. Over no
      (non-null) values Spark's ``collect_list`` gives an empty array, DuckDB's ``array_agg`` NULL — made ``pd.NA``.
    - ``collect(distinct=True)``: Spark's ``collect_set`` order depends on partitions and hashing, DuckDB's on
      its hash table; neither is meaningful, so Spark's distinct lists come back sorted (deterministic output).
    """
    frame = frame.copy()
    distinct_lists = _distinct_collect_columns(table)
    for name, dtype in table.schema().items():
        column = frame[name]
        if dtype.is_integer():
            target = dtype.to_pandas()
            if column.isna().any():
                frame[name] = column.astype(target.name.capitalize())  # int64 -> Int64 (nullable)
            elif column.dtype != target:
                frame[name] = column.astype(target)
        elif dtype.is_boolean() and column.dtype != "bool":
            frame[name] = column.astype("boolean" if column.isna().any() else "bool")
        elif dtype.is_string() and column.isna().all():
            frame[name] = pd.Series([None] * len(column), index=column.index, dtype=object)
        elif dtype.is_array():
            element = dtype.value_type
            np_type = object if not (element.is_numeric() or element.is_boolean()) else element.to_pandas()
            frame[name] = pd.Series([_as_array(v, np_type, name in distinct_lists) for v in column],
                                    index=column.index, dtype=object)
    return frame


def _as_array(value, np_type, sort: bool):
    if value is None or (not hasattr(value, "__len__") and pd.isna(value)) or len(value) == 0:
        return pd.NA
    items = [v for v in value]
    if sort:
        items = sorted(items, key=lambda v: (v is None, v))
    return np.asarray(items, dtype=np_type)


def _distinct_collect_columns(table: ir.Table) -> set[str]:
    """Output columns of ``table`` that are a ``collect(distinct=True)`` aggregate."""
    op = table.op()
    found: set[str] = set()
    if isinstance(op, ops.Aggregate):
        for name, metric in op.metrics.items():
            node = metric.arg if isinstance(metric, ops.Alias) else metric
            if isinstance(node, ops.ArrayCollect) and node.distinct:
                found.add(name)
    return found
