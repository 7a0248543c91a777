"""The slice table behind the differencing guard: counts per combination of every filter's value.

Built once when the cohort is loaded (before the connection is locked) from the canonical table: one row per
(site, sex, 5-year age band, baseline year, first drug, exclusion flags) with the number of participants and, for
each binary outcome, its cases, non-cases and unknowns. Its columns keep the canonical names (the age column holds
the start of the age band), so the filters' own predicates select a filter state's rows from it unchanged. It is
an aggregate used only to check filter states; nothing from it is shown.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from queries.filters import age_bands

SLICE_TABLE = "cohort_slices"
DIMENSIONS = ("site", "sex", "age", "baseline_year", "treatment")


def outcome_columns(schema: dict[str, str]) -> list[str]:
    """The binary outcomes whose counts can be shown: every case definition and the follow-up event."""
    return [c for c in schema if c.startswith("outcome_")] + (["event"] if "event" in schema else [])


def dimension_columns(schema: dict[str, str]) -> list[str]:
    """The columns filters act on: the fixed dimensions present plus every exclusion flag."""
    return [c for c in DIMENSIONS if c in schema] + [c for c in schema if c.startswith("exclude_")]


def slice_cube(table: ir.Table, age_range: tuple[int, int] | None) -> ir.Table:
    """Counts per filter-value combination (see the module docstring); ``age_range`` is the cohort's youngest and
    oldest age, from which the age filter's bands are made."""
    schema = dict(zip(table.columns, map(str, table.schema().types)))
    keys = {c: table[c] for c in dimension_columns(schema)}
    if "age" in keys and age_range is not None:
        bands = age_bands(*age_range)
        keys["age"] = ibis.cases(*[(table.age.between(low, high), low) for low, high in bands])
    counts = {"n": _.count()}
    for col in outcome_columns(schema):
        value = table[col]
        counts[f"{col}__yes"] = value.fill_null(False).cast("int64").sum().cast("int64")
        counts[f"{col}__no"] = (~value.fill_null(True)).cast("int64").sum().cast("int64")
        counts[f"{col}__unknown"] = value.isnull().cast("int64").sum().cast("int64")
    return table.group_by(**keys).aggregate(**counts)


def count_columns(columns: list[str]) -> list[str]:
    """The count columns of a slice table (participants and the outcome cells)."""
    return [c for c in columns if c == "n" or "__" in c]
