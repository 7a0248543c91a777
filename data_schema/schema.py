"""Declared schemas: the extract's tables (``tables/*.toml``) and the roles the dashboard knows (``roles.toml``).

Column types, units, codes, ranges and descriptions live in those files, not in code; this module only reads
them into frozen objects that the loader, the validator and the data dictionary share.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SCHEMA_DIR = Path(__file__).parent
TABLES_DIR = SCHEMA_DIR / "tables"
EXTRACT_TABLES = ("participants", "ferritin_labs", "treatments")

COLUMN_TYPES = ("string", "integer", "float", "flag")  # the types a declared column may have


@dataclass(frozen=True)
class ColumnSpec:
    """One declared column: its type, unit, allowed codes or range, and description."""

    name: str
    type: str
    description: str = ""
    unit: str | None = None
    codes: tuple | None = None
    range: tuple[float, float] | None = None
    nullable: bool = True

    @property
    def allowed_codes(self) -> tuple | None:
        """Codes the column may hold; flags hold 0 or 1."""
        return (0, 1) if self.type == "flag" else self.codes


@dataclass(frozen=True)
class TableSchema:
    """A declared table of the multi-table extract."""

    name: str
    description: str
    columns: tuple[ColumnSpec, ...]
    primary_key: str | None = None
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, parent table, parent column)

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class RoleSpec:
    """A role the dashboard knows (sex, age, outcome, biomarker, ...)."""

    name: str
    kind: str
    label: str
    description: str
    unit: str | None = None
    codes: tuple | None = None
    range: tuple[float, float] | None = None


def _column(name: str, raw: dict) -> ColumnSpec:
    if raw["type"] not in COLUMN_TYPES:
        raise ValueError(f"column {name}: unknown type {raw['type']!r}")
    return ColumnSpec(
        name=name,
        type=raw["type"],
        description=raw.get("description", ""),
        unit=raw.get("unit"),
        codes=tuple(raw["codes"]) if "codes" in raw else None,
        range=tuple(raw["range"]) if "range" in raw else None,
        nullable=raw.get("nullable", True),
    )


@cache
def table_schema(name: str) -> TableSchema:
    """Read the declared schema of one extract table."""
    raw = tomllib.loads((TABLES_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    meta = raw["table"]
    foreign = tuple((col, *ref.split(".")) for col, ref in meta.get("foreign_keys", {}).items())
    return TableSchema(
        name=meta["name"],
        description=meta["description"],
        columns=tuple(_column(n, c) for n, c in raw["columns"].items()),
        primary_key=meta.get("primary_key"),
        foreign_keys=foreign,
    )


def extract_schemas() -> tuple[TableSchema, ...]:
    """The declared tables of the multi-table extract, parents first."""
    return tuple(table_schema(n) for n in EXTRACT_TABLES)


@cache
def roles() -> dict[str, RoleSpec]:
    """The roles the dashboard knows, by name."""
    raw = tomllib.loads((SCHEMA_DIR / "roles.toml").read_text(encoding="utf-8"))["roles"]
    return {
        name: RoleSpec(
            name=name,
            kind=r["kind"],
            label=r["label"],
            description=r["description"],
            unit=r.get("unit"),
            codes=tuple(r["codes"]) if "codes" in r else None,
            range=tuple(r["range"]) if "range" in r else None,
        )
        for name, r in raw.items()
    }
