"""Prepared cohorts: a loaded, checked cohort kept as a DuckDB database file and reused while its sources are
unchanged.

Loading checks every row (types, codes, ranges, keys, identifiers) and derives the one-row-per-participant table.
On tens of millions of rows that takes minutes, so it is done once per (source bytes, mapping, loader code). The
result — the canonical ``cohort`` table with each participant's cell-key record key, and the load report — is kept
in one folder of the store. Opening a prepared cohort reads from disk only the columns a query needs, so
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
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path

import duckdb

from data_schema.loading import COHORT_TABLE, LoadResult, load_cohort
from data_schema.mapping import Mapping
from data_schema.reading import run, table_schema
from data_schema.validation import FileAccount, Finding, ValidationReport
from disclosure.record_keys import secret_check

DATABASE = "cohort.duckdb"
MANIFEST = "prepared.json"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# The code whose change changes what a prepared cohort holds: the loader, its schemas and the record keys.
LOADER_SOURCES = ("data_schema", "disclosure/record_keys.py")
STORE_FORMAT = "2"  # raise when what a prepared folder holds changes
# DuckDB's own default is 80% of the machine's memory, which the derivation's joins used whole at 100 million
# participants (20 GB). With a limit, they spill to the prepared folder's private spill folder instead.
MEMORY_LIMIT_ENV = "RLS_PREPARE_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "4GB"


def preparation_memory_limit() -> str:
    """DuckDB's memory limit while preparing: ``RLS_PREPARE_MEMORY_LIMIT`` (e.g. ``8GB``), else 4 GB."""
    return os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT


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
    seconds: float  # how long preparing took when it was built
    reused: bool = False  # True when an earlier run had prepared it

    @property
    def database(self) -> Path:
        return self.folder / DATABASE


def prepare(mapping: Mapping, source_hash: str, secret: str, store_dir: Path | None = None) -> Prepared:
    """The prepared cohort for these sources, built now if the store has none.

    Each participant's record key is drawn from the deployment's cell-key ``secret``; a prepared cohort whose keys
    came from another secret is rebuilt (the folder name does not depend on the secret). Raises what loading raises
    (``LoadRefused``, ``DataError``); a refused cohort leaves nothing in the store.
    """
    root = Path(store_dir or default_store_dir())
    folder = root / f"{source_hash}-{loader_fingerprint()}"
    check = secret_check(secret)
    if _current(folder, check):
        return replace(_read(folder), reused=True)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _exclusive(root / f".{folder.name}.lock"):  # a second process waits, then reuses the first one's build
        if _current(folder, check):
            return replace(_read(folder), reused=True)
        began = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=root))  # private (0700)
        try:
            load, schema = _build(tmp / DATABASE, mapping, secret)
            _write_manifest(tmp, load, schema, check, time.perf_counter() - began)
            if folder.exists():  # keys from another secret: replaced (readers of the old file keep their handle)
                shutil.rmtree(folder)
            _publish(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return _read(folder)


def _current(folder: Path, check: str) -> bool:
    """The folder holds a finished build whose record keys came from the secret behind ``check``."""
    manifest = folder / MANIFEST
    return manifest.exists() and json.loads(manifest.read_text(encoding="utf-8")).get("secret_check") == check


@contextmanager
def _exclusive(path: Path):
    """An exclusive advisory lock on ``path`` for the duration (released when the process dies, too)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _build(path: Path, mapping: Mapping, secret: str) -> tuple[LoadResult, dict[str, str]]:
    con = duckdb.connect(str(path), config={"threads": 2})
    try:
        run(con, "SET temp_directory = $d", {"d": str(path.parent / "spill")})
        run(con, "SET memory_limit = $m", {"m": preparation_memory_limit()})
        load = load_cohort(con, mapping, secret)
        for name, kind in run(con, "SELECT table_name, table_type FROM information_schema.tables "
                              "WHERE table_name <> $t", {"t": COHORT_TABLE}):
            # raw, typed, derived and reject tables and the Parquet sources' views: only the cohort is kept
            run(con, f'DROP {"VIEW" if kind == "VIEW" else "TABLE"} "{name}"')
        schema = table_schema(con, COHORT_TABLE)
        run(con, "CHECKPOINT")
    finally:
        con.close()
    shutil.rmtree(path.parent / "spill", ignore_errors=True)
    return load, schema


def _write_manifest(folder: Path, load: LoadResult, schema: dict[str, str], check: str, seconds: float) -> None:
    manifest = {"loader": loader_fingerprint(), "n_participants": load.n_participants,
                "report": {"findings": [asdict(f) for f in load.report.findings],
                           "accounts": [asdict(a) for a in load.report.accounts],
                           "top_coded_ages": load.report.top_coded_ages},
                "schema": schema, "secret_check": check, "seconds": seconds}
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
    return Prepared(folder, LoadResult(report, manifest["n_participants"]), manifest["schema"], manifest["seconds"])


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
