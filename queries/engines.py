"""Which engine runs the queries: DuckDB (embedded, the default) or Apache Spark (scale-out, optional extra).

Both run the same Ibis query definitions (``queries.cohort``, ``queries.aggregates``, ``queries.filters``,
``queries.slices``); only where the canonical cohort lives differs. The cohort is always checked and prepared once
by the loader (``queries.store``); Spark then reads the prepared cohort as Parquet.
"""

from __future__ import annotations

from pathlib import Path

from queries.engine import CohortEngine, prepare
from queries.store import default_store_dir, export_parquet

ENGINES = ("duckdb", "spark")


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot start here (e.g. Spark without pyspark or Java); the message says what to install."""


def open_engine(data: Path | None, mapping: Path | None, store_dir: Path | None, engine: str = "duckdb",
                spark_master: str | None = None):
    """The engine over the cohort at ``data`` (``store_dir`` None: loaded in memory; DuckDB only)."""
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
    parquet = prepared.folder / "cohort.parquet"
    if not parquet.exists():
        export_parquet(prepared, parquet)
    return SparkCohortEngine.open(str(parquet), info, spark_master)
