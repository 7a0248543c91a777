"""Which engine runs the queries: DuckDB (embedded, the default) or Apache Spark (scale-out, optional extra).

Both implement ``queries.protocol.Engine`` and run the same Ibis query definitions (``queries.cohort``,
``queries.aggregates``, ``queries.filters``); only where the canonical cohort lives differs. The cohort is always
checked and prepared once by the loader (``queries.store``); Spark then reads the prepared cohort as Parquet. This
module is the only one that knows both engines; neither engine imports it or the other.
"""

from __future__ import annotations

from pathlib import Path

from ibis import _

from queries.engine import CohortEngine, prepare
from queries.protocol import Engine, EngineUnavailable
from queries.store import default_store_dir, export_parquet

ENGINES = ("duckdb", "spark")
__all__ = ["ENGINES", "EngineUnavailable", "open_engine"]


def open_engine(data: Path | None, mapping: Path | None, store_dir: Path | None, engine: str = "duckdb",
                spark_master: str | None = None, spark_parquet: str | None = None) -> Engine:
    """The engine over the cohort at ``data`` (``store_dir`` None: loaded in memory; DuckDB only).

    Spark reads the prepared cohort's Parquet export from the store, or from ``spark_parquet`` — any URL the
    cluster can read (``s3a://``, ``abfss://``, ``hdfs://``, a shared path) holding the export of these same
    sources (``python -m queries prepare --export``); a file with another number of participants is refused."""
    if engine not in ENGINES:
        raise EngineUnavailable(f"Unknown engine '{engine}'. Choose from: {', '.join(ENGINES)}.")
    if engine == "duckdb":
        return CohortEngine.open(data, mapping, store_dir)
    try:
        from queries.spark import SparkCohortEngine
    except ImportError:
        raise EngineUnavailable("The Spark engine needs the optional extra: pip install -r requirements-spark.txt "
                                "(and Java 17).") from None
    prepared, info = prepare(data, mapping, store_dir or default_store_dir())
    parquet = spark_parquet or str(_local_export(prepared))
    spark = SparkCohortEngine.open(parquet, info, spark_master)
    try:
        rows = int(spark.execute(spark.table().aggregate(n=_.count())).iloc[0]["n"])
    except BaseException:
        spark.close()
        raise
    if rows != info.load.n_participants:
        spark.close()
        raise EngineUnavailable(f"The Parquet file Spark reads holds {rows:,} participants, but the sources hold "
                                f"{info.load.n_participants:,}: export it again with python -m queries prepare "
                                "--export.")
    return spark


def _local_export(prepared) -> Path:
    parquet = prepared.folder / "cohort.parquet"
    if not parquet.exists():
        export_parquet(prepared, parquet)
    return parquet
