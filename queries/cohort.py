"""Cohort-level aggregate queries: filter options, cohort size, attrition, Table 1 sufficient statistics.

Every function builds an Ibis expression over the canonical table and returns only aggregates, never participant
rows; every count passes the release layer (``queries.release``) under the deployment's policy.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from disclosure.policy import DisclosurePolicy
from queries import filters
from queries.aggregates import cell, coarsened_cells, round_significant
from queries.filters import UNTREATED, FilterOptions, FilterState
from queries.protocol import Engine
from queries.release import levels, release


@dataclass(frozen=True)
class AttritionStep:
    """One filter in order: who it removes and who is left."""

    description: str
    remaining: int
    removed: int


def filter_options(engine: Engine) -> FilterOptions:
    """The cohort's own values for every filter (one aggregate query)."""
    t = engine.table()
    cols = set(t.columns)
    aggs = {}
    if "age" in cols:
        aggs |= {"age_min": t.age.min(), "age_max": t.age.max()}
    if "baseline_year" in cols:
        aggs |= {"year_min": t.baseline_year.min(), "year_max": t.baseline_year.max()}
    for col in ("site", "treatment", "sex"):
        if col in cols:
            aggs[f"{col}_values"] = t[col].collect(distinct=True)
    row = levels(engine, t.aggregate(**aggs)) if aggs else {}
    mapping = engine.info.mapping
    return FilterOptions(
        sites=_sorted(row.get("site_values")),
        sexes=tuple(s for s in ("female", "male") if s in set(_sorted(row.get("sex_values")))),
        age_bands=filters.age_bands(int(row["age_min"]), int(row["age_max"])) if _has(row, "age_min") else (),
        years=tuple(range(int(row["year_min"]), int(row["year_max"]) + 1)) if _has(row, "year_min") else (),
        drugs=_sorted(row.get("treatment_values")) + ((UNTREATED,) if "treatment" in cols else ()),
        outcomes={name: o.label for name, o in mapping.outcomes.items()},
        exclusions={name: e.label for name, e in mapping.exclusions.items()},
    )


def column_levels(engine: Engine, columns: list[str]) -> dict[str, tuple[str, ...]]:
    """The levels of categorical columns in the whole cohort (its structure, like the filter options; no count),
    e.g. to tell which covariates are yes/no."""
    if not columns:
        return {}
    t = engine.table()
    row = levels(engine, t.aggregate(**{f"c{i}": t[c].collect(distinct=True) for i, c in enumerate(columns)}))
    return {c: _sorted(row[f"c{i}"]) for i, c in enumerate(columns)}


def _has(row, key: str) -> bool:
    return key in row and pd.notna(row[key])


def _sorted(values) -> tuple[str, ...]:
    if values is None or (pd.api.types.is_scalar(values) and pd.isna(values)):
        return ()  # collect() over no non-null values gives NULL/NA, not an empty list
    return tuple(sorted(str(v) for v in values if v is not None))


def filtered(engine: Engine, state: FilterState, options: FilterOptions) -> ir.Table:
    """The canonical table with the state's filters applied (an expression; nothing runs)."""
    return filters.apply(engine.table(), state, options)


def attrition(engine: Engine, state: FilterState, options: FilterOptions,
              policy: DisclosurePolicy) -> list[AttritionStep]:
    """Who each active filter removes and who is left, in the fixed filter order (one query; each count released
    as its own cell)."""
    t = engine.table()
    preds = filters.predicates(t, state, options)
    cumulative = ibis.literal(True)
    aggs = cell(t, "n0")
    for i, (_flt, pred) in enumerate(preds, start=1):
        aggs |= cell(t, f"removed{i}", cumulative & ~pred)  # an emptied multiselect's predicate is a scalar False
        cumulative = cumulative & pred
        aggs |= cell(t, f"n{i}", cumulative)
    row = release(engine, t.aggregate(**aggs), policy).cells().iloc[0]
    steps = [AttritionStep("All participants loaded", int(row["n0"]), 0)]
    for i, (flt, _pred) in enumerate(preds, start=1):
        label = flt.describe(state.get(flt.key), options)
        steps.append(AttritionStep(label[0].upper() + label[1:], int(row[f"n{i}"]), int(row[f"removed{i}"])))
    return steps


def outcome_counts(engine: Engine, state: FilterState, options: FilterOptions,
                   policy: DisclosurePolicy) -> dict[str, int]:
    """Participants, and cases and known values of the chosen case definition, in the filtered cohort (released,
    each count a cell of its own: "known" is the same cell as an analysis's N over the same participants)."""
    t = filtered(engine, state, options)
    aggs = cell(t, "n")
    if state.definition:
        outcome = t[f"outcome_{state.definition}"]
        aggs |= cell(t, "cases", outcome) | cell(t, "non_cases", ~outcome) | cell(t, "known", outcome.notnull())
    row = release(engine, t.aggregate(**aggs), policy).cells().iloc[0]
    out = {"n": int(row["n"])}
    if state.definition:
        out |= {"cases": int(row["cases"]), "known": int(row["known"])}
    return out


def numeric_summary(table: ir.Table, column: str, group: str | None) -> ir.Table:
    """n, mean, SD, quartiles and missing count of a numeric column, per group."""
    col = table[column]
    aggs = dict(n=col.count(), missing=col.isnull().cast("int64").sum(), mean=col.mean(), sd=col.std(how="sample"),
                q1=col.quantile(0.25), median=col.quantile(0.5), q3=col.quantile(0.75))
    return table.group_by(group).aggregate(**aggs) if group else table.aggregate(**aggs)


def level_patterns(table: ir.Table, columns: list[str], group: str | None) -> ir.Table:
    """Counts (cells) per group and combination of levels (missing included) of categorical or binary columns: each
    column's level counts are margins of it (``Released.cells(by=[group, column])``), released exactly as a query
    per column would release them, from one scan instead of one per column. A text or boolean level is grouped as
    it is stored (:func:`as_level_text` writes it as text afterwards: casting every participant's value costs 3×
    the grouping); any other type is cast to text in the query."""
    stored = [table[c] if _texted_later(table[c]) else table[c].cast("string").name(c) for c in columns]
    keys = [group, *stored] if group else stored
    return table.group_by(keys).aggregate(**cell(table, "n")) if keys else table.aggregate(**cell(table, "n"))


def _texted_later(value: ir.Value) -> bool:
    return value.type().is_string() or value.type().is_boolean()


def as_level_text(values: pd.Series) -> pd.Series:
    """Levels as the engines' ``CAST(... AS VARCHAR)`` writes them: booleans as "true"/"false", text as it is,
    missing values as None."""
    def text(value):
        if isinstance(value, (bool, np.bool_)):
            return "true" if value else "false"
        return None if pd.isna(value) else value
    return values.astype(object).map(text)


def value_counts(table: ir.Table, column: str, group: str | None, digits: int) -> ir.Table:
    """Counts of each value of a numeric column rounded to ``digits`` significant digits (missing included), per
    group (cells): the released form of a numeric column in cell-key mode."""
    return coarsened_cells(table, [group] if group else [], {"value": table[column].cast("float64")},
                           {"value": lambda v: round_significant(v, digits)})


GROUP = "group"  # the grouping column of Table 1's inputs (the grouping variable's value as text)


def table_one_inputs(engine: Engine, state: FilterState, options: FilterOptions, policy: DisclosurePolicy,
                     by: str | None = "sex") -> dict[str, pd.DataFrame]:
    """Released inputs of Table 1 by the canonical column ``by`` (None: one column, everyone), one small frame per
    variable with the group in column ``group``: counts per level of categorical columns; for numeric columns the
    exact summary (exact mode) or counts per grouped value (cell-key mode, summarised by ``analyses.table_one``).
    The grouping variable is not a row of its own; a participant with no value of it is in no group (counted in
    ``__n__`` with an empty group)."""
    t = filtered(engine, state, options)
    if by is not None and by not in t.columns:
        by = None
    group = GROUP if by else None
    if by:
        t = t.mutate(**{GROUP: _group_value(t, by)})
    variables = table_one_variables(engine, by)
    keys = [group] if group else []
    out = {}
    for batch in joint_batches(engine, [c for c, kind in variables if kind != "numeric"], by):
        released = release(engine, level_patterns(t, batch, group), policy)
        out.setdefault("__n__", released.cells(by=keys))
        out |= {c: released.cells(by=[*keys, c]).rename(columns={c: "level"}) for c in batch}
    for column in (c for c, kind in variables if kind == "numeric"):
        query = numeric_summary(t, column, group) if policy.continuous_digits is None else \
            value_counts(t, column, group, policy.continuous_digits)
        out[column] = release(engine, query, policy).cells()
    return {name: _texted(out[name]) for name in ["__n__", *(c for c, _kind in variables)]}


JOINT_PATTERNS = 1_000_000  # at most this many (group, levels) patterns in one Table 1 query (an upper bound)


def joint_batches(engine: Engine, columns: list[str], by: str | None) -> list[list[str]]:
    """The categorical columns in batches counted together by :func:`level_patterns`, in order, so that no query
    can return more than ``JOINT_PATTERNS`` patterns: all of them when the cohort has no more participants than
    that; otherwise a batch's product of level counts (missing included) times the groups stays within it. With no
    column, one empty batch (the group sizes alone)."""
    if engine.info.load.n_participants <= JOINT_PATTERNS:
        return [columns]
    sizes = _level_sizes(engine, tuple(columns) + ((by,) if by else ()))
    batches, current, product = [], [], sizes.get(by, 1)
    for column in columns:
        if current and product * sizes[column] > JOINT_PATTERNS:
            batches.append(current)
            current, product = [], sizes.get(by, 1)
        current.append(column)
        product *= sizes[column]
    return batches + [current]


_LEVEL_SIZES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> {columns: sizes}


def _level_sizes(engine: Engine, columns: tuple[str, ...]) -> dict[str, int]:
    """Distinct levels of each column in the whole cohort, plus one for missing (the cohort's structure, no count;
    one query per engine and set of columns, remembered while the engine lives)."""
    known = _LEVEL_SIZES.setdefault(engine, {})
    if columns not in known:
        t = engine.table()
        row = levels(engine, t.aggregate(**{c: t[c].nunique() for c in columns})) if columns else {}
        known[columns] = {c: int(row[c]) + 1 for c in columns}
    return known[columns]


def _texted(frame: pd.DataFrame) -> pd.DataFrame:
    """The group and level columns of a Table 1 input as text (see :func:`level_patterns`)."""
    return frame.assign(**{c: as_level_text(frame[c]) for c in (GROUP, "level") if c in frame.columns})


def _group_value(t: ir.Table, by: str) -> ir.Value:
    """The grouping variable (text or boolean, written as text after the release); an empty first drug is the
    "untreated" group, as in the drug filter."""
    value = t[by] if _texted_later(t[by]) else t[by].cast("string")
    return value.fill_null(UNTREATED) if by == "treatment" else value


def grouping_columns(engine: Engine) -> list[str]:
    """The canonical columns Table 1 can be grouped by: sex, site, the first drug, the outcomes, the exclusion flags
    and the categorical covariates (those the cohort has)."""
    return [column for column, kind in table_one_variables(engine, None) if kind == "categorical"]


def table_one_variables(engine: Engine, by: str | None = "sex") -> list[tuple[str, str]]:
    """(canonical column, 'numeric' | 'categorical') rows of Table 1 grouped by ``by``, in display order (the
    grouping column is not a row)."""
    schema = engine.info.schema
    mapping = engine.info.mapping
    rows = [(c, "numeric") for c in ("age",) if c in schema]
    rows += [(c, "categorical") for c in ("sex", "site") if c in schema]
    rows += [(f"outcome_{n}", "categorical") for n in mapping.outcomes]
    rows += [(c, "numeric") for c in ("biomarker",) if c in schema]
    rows += [(c, "categorical") for c in ("treatment",) if c in schema]
    rows += [(f"exclude_{n}", "categorical") for n in mapping.exclusions]
    for cov in mapping.covariates.values():
        rows.append((f"cov_{cov.name}", "numeric" if cov.type == "numeric" else "categorical"))
    return [(column, kind) for column, kind in rows if column != by]
