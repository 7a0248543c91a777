"""Aggregation queries behind the analyses: counts per covariate pattern and risk sets per event time.

Each returns an Ibis expression over the filtered canonical table; the engine runs it and the analysis fits its
models on the (small) result. Rows with missing values come back as their own groups, so the analysis can count
every participant it leaves out.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir
from ibis import _

from disclosure.record_keys import KEY_RANGE, RECORD_KEY

KEY_SUFFIX = "__key"
DAYS_PER_YEAR = 365.25  # the column beside a count that holds its cell key (see queries.release)


def cell_key(key_sum: ir.IntegerValue) -> ir.IntegerValue:
    """A cell key from the sum of record keys: the sum modulo the key range, as a 32-bit integer. The explicit
    narrowing keeps it an integer column: Ibis drops a cast to int64 as a no-op, and DuckDB's SUM of BIGINT is a
    HUGEINT, which DuckDB's pandas conversion turns into float64 (and Arrow into Decimal objects)."""
    return (key_sum % KEY_RANGE).cast("int32")


def cell(table: ir.Table, name: str, where: ir.BooleanValue | None = None) -> dict[str, ir.Value]:
    """A count as a releasable cell: the participants (those ``where`` holds for) and the sum of their record keys
    modulo the key range — the cell key of the cell key method. For ``aggregate(**cell(...))``."""
    if where is None:
        return {name: _.count(), name + KEY_SUFFIX: cell_key(_[RECORD_KEY].cast("int64").sum())}
    hit = where.fill_null(False)
    key = cell_key(ibis.ifelse(hit, table[RECORD_KEY].cast("int64"), 0).sum())
    # count(where=): an emptied multiselect's predicate is a scalar False, which has no sum()
    return {name: table.count(where=hit).cast("int64"), name + KEY_SUFFIX: key}


def coarsened_cells(table: ir.Table, keys: list[str], values: dict[str, ir.Value],
                    coarsen: dict[str, Callable[[ir.Value], ir.Value]], name: str = "n") -> ir.Table:
    """Cells per ``keys`` and coarsened ``values`` (e.g. a value rounded to a few digits), equal to grouping by the
    coarsened values directly: the participants are grouped by the raw values first, and the coarsening (a function
    of an Ibis column) runs once per group instead of once per participant; counts and key sums are then summed."""
    raw_sum = name + "__key_sum"
    grouped = table.group_by([*keys, *(v.name(k) for k, v in values.items())]).aggregate(
        **{name: _.count(), raw_sum: table[RECORD_KEY].cast("int64").sum()})
    coarse = [coarsen[k](grouped[k]).name(k) if k in coarsen else grouped[k] for k in values]
    key = cell_key(grouped[raw_sum].sum())
    return grouped.group_by([*keys, *coarse]).aggregate(**{name: grouped[name].sum().cast("int64"),
                                                           name + KEY_SUFFIX: key})


def pattern_counts(table: ir.Table, keys: list[str], outcome: str) -> ir.Table:
    """Per covariate pattern, three disjoint cells: cases (``events``), non-cases (``non_events``) and participants
    whose outcome is unknown (``missing``); and ``known``, the participants with a known outcome as a cell of its
    own — an analysis's N, released once, so it equals any other count of the same participants (the Overview's)
    instead of being the sum of perturbed parts."""
    value = table[outcome]
    return table.group_by(keys).aggregate(**cell(table, "events", value), **cell(table, "non_events", ~value),
                                          **cell(table, "missing", value.isnull()),
                                          **cell(table, "known", value.notnull()))


def with_known(frame):
    """Released pattern counts with ``n``, the participants with a known outcome (cases plus non-cases)."""
    return frame.assign(n=frame["events"] + frame["non_events"])


def risk_sets(table: ir.Table, keys: list[str], cut_points: tuple[float, ...] = (), digits: int | None = None,
              time_step_days: int | None = None) -> ir.Table:
    """Per (biomarker band, covariate pattern, follow-up time, event status): the number of participants (a cell).

    ``band_index`` counts the ``cut_points`` at or below the exact biomarker value (bands are [lower, upper)). Before
    grouping, the biomarker may be rounded to ``digits`` significant digits and follow-up times rounded up to whole
    steps of ``time_step_days`` (cell-key mode), so that cells hold several participants."""
    biomarker = table["biomarker"]
    derived = {"band_index": sum((biomarker >= c).cast("int64") for c in cut_points) if cut_points
               else ibis.literal(0).cast("int64")}
    if digits is not None:
        derived["biomarker"] = round_significant(biomarker, digits)
    if time_step_days is not None:
        step = time_step_days / DAYS_PER_YEAR
        derived["time_years"] = (table["time_years"] / step).ceil().cast("float64") * step
    grouped = table.mutate(**derived)
    keys = list(dict.fromkeys(["band_index", *keys, "time_years", "event"]))
    return grouped.group_by(keys).aggregate(**cell(grouped, "count"))


def round_significant(value: ir.FloatingValue, digits: int) -> ir.FloatingValue:
    """Positive values rounded to ``digits`` significant digits; zero, negative and missing values unchanged."""
    positive = value > 0
    safe = ibis.ifelse(positive, value, 1.0)
    scale = ibis.literal(10.0) ** (safe.log10().floor() - (digits - 1))
    return ibis.ifelse(positive, (safe / scale).round() * scale, value)


def treated(table: ir.Table) -> ir.Table:
    """Participants who started a treatment (the treatment role is NULL for the untreated)."""
    return table.filter(table.treatment.notnull())
