"""Which files and which mapping: ``--data`` (a file or a folder) and ``--mapping`` resolved to one Mapping.

- ``--mapping FILE`` alone: the files named in its ``[source]``.
- ``--data PATH --mapping FILE``: the mapping, over PATH (a file, or a folder holding the extract's tables).
- ``--data FOLDER`` alone: ``FOLDER/mapping.toml`` if present, else the demo mapping when the folder holds the
  multi-table extract.
- ``--data FILE`` alone: roles bind to columns of the same name (``participant_id``, ``sex``, ``age``, ...).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq

from data_schema.mapping import Mapping, MappingError, ReadOptions, default_mapping, load_mapping
from data_schema.reading import DataError, detect_format, read_csv_header
from data_schema.schema import EXTRACT_TABLES

DEMO_MAPPING = Path(__file__).parent / "demo" / "mapping.toml"


def _extract_tables(folder: Path) -> dict[str, Path] | None:
    found = {}
    for name in EXTRACT_TABLES:
        hits = [folder / f"{name}.{ext}" for ext in ("parquet", "csv") if (folder / f"{name}.{ext}").exists()]
        if not hits:
            return None
        found[name] = hits[0]
    return found


def _over(mapping: Mapping, data: Path) -> Mapping:
    if mapping.shape == "rls_extract":
        tables = _extract_tables(data) if data.is_dir() else None
        if tables is None:
            raise DataError(data.name, "the mapping describes the multi-table extract, so --data must be a folder "
                            f"holding {', '.join(EXTRACT_TABLES)} (.parquet or .csv).", "missing table")
        return replace(mapping, tables=tables)
    if data.is_dir():
        raise DataError(data.name, "is a folder; give the cohort file itself for a one-file mapping.", "not a file")
    return mapping.with_files((data,))


def _columns_of(path: Path) -> list[str]:
    if detect_format(path) == "parquet":
        return list(pq.read_schema(path).names)
    return read_csv_header(path, ReadOptions())


def resolve_mapping(data: Path | None, mapping_file: Path | None) -> Mapping:
    """The mapping to load, with absolute source paths; raises MappingError or DataError with a clear message."""
    data = Path(data).resolve() if data else None
    if mapping_file:
        mapping = load_mapping(Path(mapping_file))
        return _over(mapping, data) if data else mapping
    if data is None:
        raise MappingError("No data given: pass --data PATH (and --mapping FILE for your own column names).")
    if not data.exists():
        raise DataError(data.name, "the file or folder was not found.", "missing file")
    if data.is_dir():
        own = data / "mapping.toml"
        if own.exists():
            return _over(load_mapping(own), data)
        if _extract_tables(data):
            return _over(load_mapping(DEMO_MAPPING), data)
        raise DataError(data.name, "the folder has neither mapping.toml nor the extract's tables "
                        f"({', '.join(EXTRACT_TABLES)}).", "missing table")
    return default_mapping(_columns_of(data), (data,))


def source_files(mapping: Mapping) -> tuple[Path, ...]:
    """Every source file the mapping reads."""
    if mapping.shape == "rls_extract":
        return tuple(mapping.tables[name] for name in EXTRACT_TABLES if name in mapping.tables)
    return mapping.files
