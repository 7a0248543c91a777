"""The DuckDB engine (the default): one embedded DuckDB database holding the loaded cohort, locked after loading.

It implements ``queries.protocol.Engine``. Queries are engine-agnostic Ibis expressions over
``queries.protocol.cohort_table`` (an unbound table with the canonical schema); the engine compiles them for its
dialect and runs each on its own cursor, so Streamlit sessions (threads) never share a result. User values reach
SQL only as typed, escaped literals of values that were first validated against the cohort's own options (see
``queries.filters``); column names come only from the canonical schema.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import shutil
import tempfile
import threading
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd

from data_schema.loading import COHORT_TABLE, LoadResult, load_cohort
from data_schema.mapping import Mapping
from data_schema.reading import run, table_schema
from data_schema.sources import resolve_mapping, source_files
from disclosure.record_keys import deployment_secret
from queries import store
from queries.protocol import CohortInfo, cohort_table


class CohortEngine:
    """Holds the locked DuckDB connection and runs Ibis expressions on per-query cursors (a
    ``queries.protocol.Engine``)."""

    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, info: CohortInfo):
        self._con = con
        self._lock = threading.Lock()
        self.info = info

    @classmethod
    def open(cls, data: Path | None, mapping_file: Path | None = None,
             store_dir: Path | None = None) -> "CohortEngine":
        """Load the source (raising ``MappingError``, ``DataError`` or ``LoadRefused``) and lock the database.

        With ``store_dir`` the cohort is prepared once into a DuckDB file there (see ``queries.store``) and opened
        read-only from disk; without it, it is loaded into memory for this process only (uploads, tests).
        """
        if store_dir is not None:
            prepared, info = prepare(data, mapping_file, store_dir)
            con = duckdb.connect(str(prepared.database), read_only=True,
                                 config={"threads": 2, "temp_directory": str(_spill_dir())})
            if not _locked(con):  # a second engine on the same file in this process shares the locked instance
                _lock_down(con)
            return cls(con, info)
        mapping = resolve_mapping(data, mapping_file)
        con = duckdb.connect(":memory:", config={"threads": 2})
        _limit_spill(con)
        load = load_cohort(con, mapping, deployment_secret())
        schema = table_schema(con, COHORT_TABLE)
        _lock_down(con)
        return cls(con, _info(mapping, data_hash(mapping), load, schema))

    def table(self) -> ir.Table:
        """The canonical cohort table as an unbound Ibis table."""
        return cohort_table(self.info.schema)

    def sql(self, expr: ir.Expr) -> str:
        """The SQL this engine runs for ``expr`` (shown in "How this was computed"); compiled once per expression
        (the release layer asks for it to run the query and again to show it)."""
        return _compiled(expr.op(), self.dialect)

    def execute(self, expr: ir.Expr) -> pd.DataFrame:
        """Run an aggregate expression and return its (small) result, unreleased: only ``queries.release`` calls
        this, so every count passes the deployment's disclosure method before it is used."""
        with self._cursor() as cursor:
            return cursor.execute(self.sql(expr)).df()

    def execute_sql(self, sql: str):
        """Run SQL this engine compiled (the benchmark's floor) and return the result as an Arrow table."""
        with self._cursor() as cursor:
            return cursor.sql(sql).to_arrow_table()

    def close(self) -> None:
        """Close the connection (idempotent); queries after this fail."""
        with self._lock:
            self._con.close()

    @contextlib.contextmanager
    def _cursor(self):
        """A cursor of its own for one query (DuckDB refuses one connection shared across threads)."""
        with self._lock:
            cursor = self._con.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


def prepare(data: Path | None, mapping_file: Path | None, store_dir: Path) -> tuple[store.Prepared, CohortInfo]:
    """The prepared cohort in ``store_dir`` (built now if missing) and what the pages need to know about it."""
    mapping = resolve_mapping(data, mapping_file)
    source_hash = data_hash(mapping)
    prepared = store.prepare(mapping, source_hash, deployment_secret(), store_dir)
    return prepared, _info(mapping, source_hash, prepared.load, prepared.schema)


def _info(mapping: Mapping, source_hash: str, load: LoadResult, schema: dict[str, str]) -> CohortInfo:
    return CohortInfo(_label(mapping), source_hash, mapping, load, schema)


@functools.lru_cache(maxsize=256)
def _compiled(node, dialect: str) -> str:
    """SQL for an Ibis expression's node (nodes are immutable and compare by structure, unlike value expressions,
    whose ``==`` builds a comparison); compiling takes 20-50 ms."""
    return ibis.to_sql(node.to_expr(), dialect=dialect)


@functools.cache
def _spill_dir() -> Path:
    """This process's own private (0700) folder for DuckDB's spill files, removed at exit: spills hold participant
    rows, and DuckDB's spill file names are not unique across processes (duckdb/duckdb#15173)."""
    spill = Path(tempfile.mkdtemp(prefix="rls-dashboard-spill-"))
    atexit.register(shutil.rmtree, spill, True)
    return spill


def _limit_spill(con: duckdb.DuckDBPyConnection) -> None:
    run(con, "SET temp_directory = $d", {"d": str(_spill_dir())})


def _locked(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(run(con, "SELECT current_setting('lock_configuration')")[0][0])


def _lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """No file access, no extensions, no configuration changes after loading (see docs/security.md)."""
    run(con, "SET enable_external_access = false")
    run(con, "SET autoinstall_known_extensions = false")
    run(con, "SET autoload_known_extensions = false")
    run(con, "SET lock_configuration = true")


def data_hash(mapping: Mapping) -> str:
    """SHA-256 over the source files' bytes and the mapping file: names the exact data behind every output."""
    digest = hashlib.sha256()
    paths = list(source_files(mapping)) + ([mapping.path] if mapping.path else [])
    for path in paths:
        digest.update(path.name.encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _label(mapping: Mapping) -> str:
    files = source_files(mapping)
    folder = files[0].parent.name if files else ""
    return f"{folder}/ ({', '.join(p.name for p in files)})" if mapping.shape == "rls_extract" else \
        ", ".join(p.name for p in files)
