"""Prepared cohorts: a loaded, checked cohort kept as a DuckDB database file and reused while its sources are
unchanged.

Loading checks every row (types, codes, ranges, keys, identifiers) and derives the one-row-per-participant table.
On tens of millions of rows that takes minutes, so it is done once per (source bytes, mapping, loader code). The
result — the canonical ``cohort`` table, the differencing guard's ``cohort_slices`` table and the load report — is
kept in one folder of the store. Opening a prepared cohort reads from disk only the columns a query needs, so
memory stays small however large the cohort, and a cold start costs a hash of the sources and a file open.

The store holds participant-level data: its folders are private (0700) and it should sit on the same protected
disk as the sources. Nothing is ever written next to the sources.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path

import duckdb

from data_schema.loading import COHORT_TABLE, LoadResult, load_cohort
from data_schema.mapping import Mapping
from data_schema.reading import run
from data_schema.validation import FileAccount, Finding, ValidationReport

DATABASE = "cohort.duckdb"
MANIFEST = "prepared.json"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# The code whose change changes what a prepared cohort holds: the loader, the schemas and the slice table.
LOADER_SOURCES = ("data_schema", "queries/slices.py", "queries/filters.py")
STORE_FORMAT = "1"  # raise when what a prepared folder holds changes


def default_store_dir() -> Path:
    """``RLS_STORE_DIR``, else ``$XDG_CACHE_HOME/rls-dashboard/prepared`` (``~/.cache/...``)."""
    if os.environ.get("RLS_STORE_DIR"):
        return Path(os.environ["RLS_STORE_DIR"])
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "rls-dashboard" / "prepared"


@cache
def loader_fingerprint() -> str:
    """A hash of the loader's source files and the DuckDB version: a prepared cohort from other code is rebuilt."""
    digest = hashlib.sha256(f"{STORE_FORMAT} {duckdb.__version__}".encode())
    for name in LOADER_SOURCES:
        base = PACKAGE_ROOT / name
        files = sorted(p for p in base.rglob("*") if p.suffix in (".py", ".toml")) if base.is_dir() else [base]
        for path in files:
            digest.update(str(path.relative_to(PACKAGE_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Prepared:
    """One prepared cohort: its database file and what loading it found."""

    folder: Path
    load: LoadResult
    schema: dict[str, str]
    slice_schema: dict[str, str]
    seconds: float  # how long preparing took when it was built
    reused: bool = False  # True when an earlier run had prepared it

    @property
    def database(self) -> Path:
        return self.folder / DATABASE


def prepare(mapping: Mapping, source_hash: str, build_tables: Callable[[duckdb.DuckDBPyConnection], dict],
            store_dir: Path | None = None) -> Prepared:
    """The prepared cohort for these sources, built now if the store has none.

    ``build_tables(con)`` makes the slice table after the cohort is loaded and returns the schemas (the engine's
    own step, shared with in-memory loading). Raises what loading raises (``LoadRefused``, ``DataError``); a
    refused cohort leaves nothing in the store.
    """
    root = Path(store_dir or default_store_dir())
    folder = root / f"{source_hash}-{loader_fingerprint()}"
    if (folder / MANIFEST).exists():
        return replace(_read(folder), reused=True)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _exclusive(root / f".{folder.name}.lock"):  # a second process waits, then reuses the first one's build
        if (folder / MANIFEST).exists():
            return replace(_read(folder), reused=True)
        began = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=root))  # private (0700)
        try:
            load, schemas = _build(tmp / DATABASE, mapping, build_tables)
            _write_manifest(tmp, load, schemas, time.perf_counter() - began)
            _publish(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return _read(folder)


@contextmanager
def _exclusive(path: Path):
    """An exclusive advisory lock on ``path`` for the duration (released when the process dies, too)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _build(path: Path, mapping: Mapping, build_tables) -> tuple[LoadResult, dict]:
    con = duckdb.connect(str(path), config={"threads": 2})
    try:
        run(con, "SET temp_directory = $d", {"d": str(path.parent / "spill")})
        load = load_cohort(con, mapping)
        for (name,) in run(con, "SELECT table_name FROM information_schema.tables WHERE table_name <> $t",
                           {"t": COHORT_TABLE}):
            run(con, f'DROP TABLE "{name}"')  # raw and reject tables: only the cohort is kept
        schemas = build_tables(con)
        run(con, "CHECKPOINT")
    finally:
        con.close()
    shutil.rmtree(path.parent / "spill", ignore_errors=True)
    return load, schemas


def _write_manifest(folder: Path, load: LoadResult, schemas: dict, seconds: float) -> None:
    manifest = {"loader": loader_fingerprint(), "n_participants": load.n_participants,
                "report": {"findings": [asdict(f) for f in load.report.findings],
                           "accounts": [asdict(a) for a in load.report.accounts],
                           "top_coded_ages": load.report.top_coded_ages},
                "schema": schemas["schema"], "slice_schema": schemas["slice_schema"], "seconds": seconds}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _publish(tmp: Path, folder: Path) -> None:
    """Move the finished folder into place; if another process finished first, its copy stands."""
    try:
        os.replace(tmp, folder)
    except OSError:
        if not (folder / MANIFEST).exists():
            raise


def _read(folder: Path) -> Prepared:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    saved = manifest["report"]
    report = ValidationReport(tuple(Finding(**f) for f in saved["findings"]),
                              tuple(FileAccount(**a) for a in saved["accounts"]), saved["top_coded_ages"])
    return Prepared(folder, LoadResult(report, manifest["n_participants"]), manifest["schema"],
                    manifest["slice_schema"], manifest["seconds"])


def open_read_only(prepared: Prepared) -> duckdb.DuckDBPyConnection:
    """A private connection with the prepared database attached read-only as ``prepared`` (a fresh instance: an
    engine in this process may hold the file in its own, locked one)."""
    con = duckdb.connect(":memory:")
    run(con, "ATTACH $p AS prepared (READ_ONLY)", {"p": str(prepared.database)})
    return con


def export_parquet(prepared: Prepared, out: Path) -> Path:
    """Write the prepared canonical cohort as one Parquet file (for Spark or another engine); returns ``out``.

    Rows are ordered by site and age, so an engine that skips row groups by their statistics reads less for the
    common filters."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)  # 0600, unique
    os.close(handle)
    spill = Path(tempfile.mkdtemp(prefix=".export-spill-", dir=prepared.folder))  # the sort spills here, privately
    con = open_read_only(prepared)
    try:
        run(con, "SET temp_directory = $d", {"d": str(spill)})
        order = ", ".join(c for c in ("site", "age") if c in prepared.schema) or "1"
        run(con, f"COPY (SELECT * FROM prepared.{COHORT_TABLE} ORDER BY {order}) TO $p (FORMAT parquet, "
            "COMPRESSION zstd)", {"p": name})
        os.replace(name, out)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
        Path(name).unlink(missing_ok=True)
    return out
