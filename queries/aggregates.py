"""Aggregation queries behind the analyses: counts per covariate pattern and risk sets per event time.

Each returns an Ibis expression over the filtered canonical table; the engine runs it and the analysis fits its
models on the (small) result. Rows with missing values come back as their own groups, so the analysis can count
every participant it leaves out.
"""

from __future__ import annotations

import ibis.expr.types as ir
from ibis import _


def pattern_counts(table: ir.Table, keys: list[str], outcome: str) -> ir.Table:
    """Per covariate pattern: participants with a known outcome (``n``), cases (``events``), unknown outcome
    (``missing``)."""
    known = table[outcome].notnull()
    return table.group_by(keys).aggregate(
        n=known.cast("int64").sum(),
        events=table[outcome].fill_null(False).cast("int64").sum(),
        missing=(~known).cast("int64").sum(),
    )


def risk_sets(table: ir.Table, keys: list[str]) -> ir.Table:
    """Per (covariate pattern, follow-up time, event status): the number of participants."""
    return table.group_by([*keys, "time_years", "event"]).aggregate(count=_.count())


def treated(table: ir.Table) -> ir.Table:
    """Participants who started a treatment (the treatment role is NULL for the untreated)."""
    return table.filter(table.treatment.notnull())
