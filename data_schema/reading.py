"""Reading source files into DuckDB with explicit options: no silent fallbacks, every line accounted for.

Source files are only ever opened for reading. Messages name the file, the column and the rule, never a value:
DuckDB's own error texts quote whole lines of data, so they are never passed on.
"""

from __future__ import annotations

import csv
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from data_schema.mapping import ReadOptions

PARQUET_MAGIC = b"PAR1"
MAX_LINE_BYTES = 1 << 20  # a CSV line longer than 1 MiB is rejected (a 10 MB field is not a cohort value)
HEADER_PEEK_BYTES = 1 << 20
STRUCTURAL_RULES = {
    "UNQUOTED VALUE": "a quoted field is not closed properly (unbalanced quote)",
    "TOO MANY COLUMNS": "the line has more fields than the header",
    "MISSING COLUMNS": "the line has fewer fields than the header",
    "LINE SIZE OVER MAXIMUM": f"the line is longer than {MAX_LINE_BYTES // 1024} KiB",
    "INVALID ENCODING": "the line is not valid text in the declared encoding",
    "CAST ERROR": "a value could not be read",
}


class DataError(ValueError):
    """A source that cannot be used. The message names the file (and column, rule) but never a value."""

    def __init__(self, file: str, message: str, rule: str = "unreadable", column: str | None = None):
        super().__init__(f"{file}: {message}")
        self.file, self.detail, self.rule, self.column = file, message, rule, column


@dataclass(frozen=True)
class StructuralReject:
    line: int
    rule: str
    column: str | None


@dataclass(frozen=True)
class RawTable:
    """A source file loaded into a DuckDB table; CSV columns are text until validation casts them."""

    file: str
    table: str
    columns: tuple[str, ...]
    rows_loaded: int
    rejects: tuple[StructuralReject, ...]
    is_text: bool


def detect_format(path: Path) -> str:
    """'parquet' or 'csv' from the file's content (not its name); refuse what is neither."""
    label = path.name
    if not path.exists():
        raise DataError(label, "the file was not found.", "missing file")
    if not path.is_file():
        raise DataError(label, "is not a regular file.", "not a file")
    size = path.stat().st_size
    if size == 0:
        raise DataError(label, "the file is empty (0 bytes).", "empty file")
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(0, size - 4))
        tail = fh.read(4)
    if head == PARQUET_MAGIC and tail == PARQUET_MAGIC:
        return "parquet"
    if path.suffix.lower() == ".parquet" or head == PARQUET_MAGIC:
        raise DataError(label, "is named or marked as Parquet but is not a valid Parquet file.", "not parquet")
    if head[:2] in (b"PK", b"\x1f\x8b"):
        raise DataError(label, "is a compressed archive; unpack it and point --data at the CSV or Parquet file.",
                        "compressed file")
    return "csv"


def _codec(encoding: str) -> str:
    return {"utf8": "utf-8-sig", "latin1": "latin-1", "utf16": "utf-16"}[encoding.lower().replace("-", "")]


def read_csv_header(path: Path, options: ReadOptions) -> list[str]:
    """Column names from the first line, parsed with the declared delimiter and quote."""
    label = path.name
    with path.open("rb") as fh:
        head = fh.read(HEADER_PEEK_BYTES)
    line = re.split(rb"\r\n|\n|\r", head, maxsplit=1)[0]  # DuckDB reads \n, \r\n and \r line endings
    first = line.decode(_codec(options.encoding), errors="replace")
    if "\ufffd" in first:
        raise DataError(label, f"the header is not valid {options.encoding} text; set [source] encoding.", "encoding")
    if not first.strip():
        raise DataError(label, "the first line (the header) is empty.", "no header")
    if len(first) >= HEADER_PEEK_BYTES - 1:
        raise DataError(label, "the header line is longer than 1 MiB.", "header too long")
    try:
        names = next(csv.reader(io.StringIO(first, newline=""), delimiter=options.delimiter, quotechar=options.quote))
    except csv.Error:  # e.g. a header field beyond the csv module's 128 KiB limit
        raise DataError(label, "the header line cannot be parsed; check its quoting and length.", "no header") from None
    _check_header(label, names, options)
    return names


def _check_header(label: str, names: list[str], options: ReadOptions) -> None:
    if len(names) == 1:
        for other, word in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"), (",", "comma")):
            if other != options.delimiter and other in names[0]:
                raise DataError(label, f"the header has a single column but looks {word}-delimited; set "
                                f"[source] delimiter = {other!r} (and decimal = ',' if numbers use decimal commas) "
                                "in the mapping file.", "delimiter")
    blank = [i + 1 for i, n in enumerate(names) if not n.strip()]
    if blank:
        raise DataError(label, f"header field {blank[0]} is empty; every column needs a name.", "empty column name")
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise DataError(label, f"column '{name}' appears twice in the header.", "duplicate column", name)
        seen.add(name.lower())
        if any(ord(ch) < 32 for ch in name) or len(name) > 128:
            raise DataError(label, "a column name has control characters or is longer than 128 characters.",
                            "bad column name")


def load_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, options: ReadOptions) -> RawTable:
    """Load a delimited file as text columns; lines the reader cannot parse are counted with their reason."""
    names = read_csv_header(path, options)
    params = {"path": str(path), "cols": {n: "VARCHAR" for n in names}, "delim": options.delimiter,
              "quote": options.quote, "enc": options.encoding.lower(), "maxline": MAX_LINE_BYTES}
    run(con, "DROP TABLE IF EXISTS reject_errors")
    run(con, "DROP TABLE IF EXISTS reject_scans")
    try:
        run(con,
            f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv($path, columns = $cols, header = true, "
            "auto_detect = false, delim = $delim, quote = $quote, escape = $quote, strict_mode = true, "
            "store_rejects = true, max_line_size = $maxline, encoding = $enc, null_padding = false)",
            params,
        )
    except duckdb.Error as exc:
        raise DataError(path.name, f"could not be read as delimited text ({type(exc).__name__}).") from None
    rejects = tuple(
        StructuralReject(int(line), STRUCTURAL_RULES.get(kind, kind.lower()), col)
        for line, kind, col in run(con, "SELECT line, error_type, column_name FROM reject_errors ORDER BY line")
    )
    return RawTable(path.name, table, tuple(names), _count(con, table), rejects, is_text=True)


def load_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> RawTable:
    """Bind a Parquet file as a view (it is typed already, so it is not copied): the checks scan the file itself,
    and only the typed rows are ever written. Its row count comes from the file's footer."""
    try:
        literal = "'" + str(path).replace("'", "''") + "'"  # a view's text cannot take a bound parameter
        run(con, f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({literal})")
        names = [r[0] for r in run(con, f"DESCRIBE {table}")]
        rows = _count(con, table)
    except duckdb.Error as exc:
        raise DataError(path.name, f"is not a readable Parquet file ({type(exc).__name__}).", "not parquet") from None
    _check_header(path.name, names, ReadOptions())
    return RawTable(path.name, table, tuple(names), rows, (), is_text=False)


@contextmanager
def reading(file: str):
    """Scans of a source file: a file damaged past its footer fails only when its pages are read, and DuckDB's
    message may quote data, so the failure is reported as the file's, by type only."""
    try:
        yield
    except duckdb.OutOfMemoryException:
        raise  # the machine's, not the file's (the caller reports it without the message)
    except duckdb.Error as exc:
        raise DataError(file, f"could not be read to the end ({type(exc).__name__}); the file may be damaged or "
                        "truncated. Re-export it.", "unreadable") from None


def load_file(con: duckdb.DuckDBPyConnection, path: Path, table: str, options: ReadOptions) -> RawTable:
    """Load one source file (format from its content) into ``table``."""
    if detect_format(path) == "parquet":
        return load_parquet(con, path, table)
    return load_csv(con, path, table, options)


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[tuple]:
    """Execute one statement and fetch it to the end (DuckDB 2.0 refuses new work while a result is open)."""
    return con.execute(sql, params or {}).fetchall()


def table_schema(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    """Column name -> DuckDB type of one table, in column order."""
    return {column: dtype for column, dtype in run(con, "SELECT column_name, data_type FROM information_schema.columns "
                                                  "WHERE table_name = $t ORDER BY ordinal_position", {"t": name})}


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return run(con, f"SELECT count(*) FROM {table}")[0][0]
