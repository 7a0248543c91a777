"""What a query engine is: the interface the release layer, the analyses and the pages use, whichever engine runs.

Two engines implement :class:`Engine`: DuckDB (``queries.engine``, embedded, the default) and Apache Spark
(``queries.spark``, the optional extra). Neither imports the other; both import this module for what they share —
the description of the loaded cohort (:class:`CohortInfo`), the canonical cohort table the queries are written
against (:func:`cohort_table`) and the error an engine raises when it cannot start (:class:`EngineUnavailable`).
``queries.engines`` opens the configured one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import ibis
import ibis.expr.types as ir
import pandas as pd

from data_schema.loading import COHORT_TABLE, LoadResult
from data_schema.mapping import Mapping


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot start here (e.g. Spark without pyspark or Java); the message says what to install."""


@dataclass(frozen=True)
class CohortInfo:
    """What the pages need to know about the loaded cohort (no participant data)."""

    label: str
    data_hash: str
    mapping: Mapping
    load: LoadResult
    schema: dict[str, str]


@runtime_checkable
class Engine(Protocol):
    """A query engine over one loaded cohort. Queries are engine-agnostic Ibis expressions over :meth:`table`; the
    engine compiles and runs them. Only ``queries.release`` calls :meth:`execute` (a test checks)."""

    dialect: str  # the SQL dialect :meth:`sql` shows ("duckdb", "pyspark")
    info: CohortInfo

    def table(self) -> ir.Table:
        """The canonical cohort table as an unbound Ibis table (:func:`cohort_table` of ``info.schema``)."""
        ...

    def sql(self, expr: ir.Expr) -> str:
        """The SQL this engine runs for ``expr`` (shown in "How this was computed")."""
        ...

    def execute(self, expr: ir.Expr) -> pd.DataFrame:
        """Run an aggregate expression and return its small result, unreleased, with DuckDB's dtypes."""
        ...

    def execute_sql(self, sql: str):
        """Run SQL this engine compiled (the benchmark's floor) and return the result as an Arrow table."""
        ...

    def close(self) -> None:
        """Release what the engine holds (idempotent)."""
        ...


_IBIS_TYPES = {"VARCHAR": "string", "BIGINT": "int64", "INTEGER": "int32", "DOUBLE": "float64",
               "BOOLEAN": "boolean", "TINYINT": "int8", "SMALLINT": "int16", "FLOAT": "float32"}


def cohort_table(schema: dict[str, str]) -> ir.Table:
    """An unbound Ibis table named like the canonical table, with its column types (``schema``: the loaded table's
    DuckDB column types)."""
    return ibis.table({k: _IBIS_TYPES.get(v, "string") for k, v in schema.items()}, name=COHORT_TABLE)
