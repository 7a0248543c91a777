"""Table 1 by sex with standardized mean differences, from per-group sufficient statistics.

Numeric rows: mean (SD) and median [Q1, Q3]; categorical rows: n (%) of participants with a known value.
SMD: numeric (m1 - m2) / sqrt((s1² + s2²) / 2); categorical, the multi-level form of Yang & Dalton (2012),
which reduces to (p1 - p2) / sqrt((p1(1-p1) + p2(1-p2)) / 2) for two levels — the definitions of R's
``tableone`` and Python's ``tableone``. Missing values are counted, not included in percentages or SMDs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyses.stats.glm import weighted_quantiles
from disclosure.policy import DisclosurePolicy
from queries.cohort import table_one_inputs, table_one_variables
from queries.protocol import Engine

GROUP_LABELS = {"female": "Women", "male": "Men", None: "All"}
# Columns whose empty value is a level of its own, not a missing value: an empty first drug means never treated,
# so the untreated are a level of the drug row and its percentages are over everyone.
EMPTY_LEVELS = {"treatment": "untreated"}
BINARY_CODES = {"0": "no", "1": "yes", "0.0": "no", "1.0": "yes", "false": "no", "true": "yes"}


@dataclass(frozen=True)
class TableOneRow:
    variable: str
    level: str
    cells: tuple[str, ...]
    smd: float | None = None


@dataclass(frozen=True)
class TableOne:
    """Table 1: one column per group, rows per variable (and level), SMD women vs men."""

    groups: tuple[str, ...]
    group_n: tuple[str, ...]
    rows: tuple[TableOneRow, ...]
    caption: str
    methods: str
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The table as displayed (after the disclosure gate)."""
        columns = [f"{g} (N = {n})" for g, n in zip(self.groups, self.group_n)]
        records = []
        for row in self.rows:
            record = {"Variable": row.variable, "Level": row.level}
            record |= dict(zip(columns, row.cells))
            if len(self.groups) == 2:
                record["SMD"] = "" if row.smd is None else f"{row.smd:.3f}"
            records.append(record)
        return pd.DataFrame.from_records(records)


def smd_numeric(m1: float, s1: float, m2: float, s2: float) -> float | None:
    pooled = np.sqrt((s1 ** 2 + s2 ** 2) / 2)
    return None if not np.isfinite(pooled) or pooled == 0 else float(abs(m1 - m2) / pooled)


def smd_categorical(p1: np.ndarray, p2: np.ndarray) -> float | None:
    """Yang & Dalton multi-level SMD from two vectors of level proportions (each summing to 1)."""
    if len(p1) < 2:
        return None
    t = (p1 - p2)[1:]
    a, b = p1[1:], p2[1:]
    s = (np.diag(a) - np.outer(a, a) + np.diag(b) - np.outer(b, b)) / 2
    try:
        value = float(np.sqrt(t @ np.linalg.pinv(s) @ t))
    except np.linalg.LinAlgError:
        return None
    return value if np.isfinite(value) else None


def _groups(n_frame: pd.DataFrame) -> list:
    if "sex" not in n_frame.columns:
        return [None]
    return [g for g in ("female", "male") if g in set(n_frame["sex"].dropna())]


def _select(frame: pd.DataFrame, group) -> pd.DataFrame:
    return frame if group is None else frame[frame["sex"] == group]


def _summary_of_values(frame: pd.DataFrame, group) -> dict | None:
    """n, missing, mean, SD and quartiles (R's type 7) of one group from released counts per grouped value."""
    part = _select(frame, group)
    known = part[part["value"].notna() & (part["n"] > 0)]
    n, missing = int(known["n"].sum()), int(part.loc[part["value"].isna(), "n"].sum())
    if n == 0 and missing == 0:
        return None
    values, counts = known["value"].to_numpy(dtype=float), known["n"].to_numpy(dtype=np.int64)
    mean = float(values @ counts / n) if n else np.nan
    sd = float(np.sqrt(((values - mean) ** 2) @ counts / (n - 1))) if n > 1 else np.nan
    q1, median, q3 = weighted_quantiles(values, counts, (0.25, 0.5, 0.75)) if n else (np.nan,) * 3
    return {"n": n, "missing": missing, "mean": mean, "sd": sd, "q1": q1, "median": median, "q3": q3}


def _numeric_stats(frame: pd.DataFrame, groups: list) -> list:
    if "value" in frame.columns:  # cell-key mode: counts per grouped value
        return [_summary_of_values(frame, g) for g in groups]
    return [_select(frame, g).iloc[0] if len(_select(frame, g)) else None for g in groups]


def _numeric_rows(label: str, frame: pd.DataFrame, groups: list, policy: DisclosurePolicy) -> list[TableOneRow]:
    stats = _numeric_stats(frame, groups)

    def cell(s, fmt) -> str:
        if s is None or s["n"] == 0:
            return "–"
        return "withheld" if policy.is_small(int(s["n"])) else fmt(s)

    mean = [cell(s, lambda s: f"{s['mean']:.1f} ({s['sd']:.1f})") for s in stats]
    median = [cell(s, lambda s: f"{s['median']:.1f} [{s['q1']:.1f}, {s['q3']:.1f}]") for s in stats]
    missing = [policy.show_count(int(s["missing"])) if s is not None else "–" for s in stats]
    smd = None
    if len(groups) == 2 and all(s is not None and not policy.is_small(int(s["n"])) for s in stats):
        smd = smd_numeric(stats[0]["mean"], stats[0]["sd"], stats[1]["mean"], stats[1]["sd"])
    rows = [TableOneRow(label, "mean (SD)", tuple(mean), smd), TableOneRow(label, "median [Q1, Q3]", tuple(median))]
    if any(m not in ("0", "–") for m in missing):
        rows.append(TableOneRow(label, "missing", tuple(missing)))
    return rows


def _categorical_rows(label: str, frame: pd.DataFrame, groups: list, policy: DisclosurePolicy,
                      empty_level: str | None = None) -> list[TableOneRow]:
    if empty_level is not None:  # the empty value is a level (e.g. untreated), listed last
        frame = frame.assign(level=frame["level"].astype(object).where(frame["level"].notna(), empty_level))
    known = frame[frame["level"].notna()]
    levels = sorted(known["level"].unique(), key=lambda v: (v == empty_level, str(v)))
    names = _level_names(levels)
    counts = {g: [int(_select(known, g).set_index("level")["n"].get(lv, 0)) for lv in levels] for g in groups}
    missing = {g: int(_select(frame, g).loc[lambda f: f["level"].isna(), "n"].sum()) for g in groups}
    hidden = {g: policy.suppressed_cells(counts[g] + [missing[g]]) for g in groups}
    rows = []
    for i, level in enumerate(levels):
        cells = []
        for g in groups:
            total = sum(counts[g])
            n = counts[g][i]
            cells.append(policy.show_count(n) if i in hidden[g] and policy.is_small(n) else
                         "withheld" if i in hidden[g] else f"{n:,} ({100 * n / total:.1f}%)" if total else "–")
        rows.append(TableOneRow(label, names[i], tuple(cells)))
    if len(groups) == 2 and rows and not any(hidden.values()):
        props = [np.array(counts[g], dtype=float) / max(sum(counts[g]), 1) for g in groups]
        rows[0] = TableOneRow(rows[0].variable, rows[0].level, rows[0].cells, smd_categorical(*props))
    if any(missing.values()):
        cells = tuple("withheld" if len(levels) in hidden[g] and not policy.is_small(missing[g])
                      else policy.show_count(missing[g]) for g in groups)
        rows.append(TableOneRow(label, "missing", cells))
    return rows


def _level_names(levels: list) -> list[str]:
    """Display names of a variable's levels: a binary variable's codes (0/1, true/false) as no/yes."""
    codes = [str(level) for level in levels]
    if set(codes) <= set(BINARY_CODES):
        return [BINARY_CODES[c] for c in codes]
    return codes


def table_one(inputs: dict[str, pd.DataFrame], variables: list[tuple[str, str, str]], policy: DisclosurePolicy,
              cohort: str) -> TableOne:
    """Build Table 1 from :func:`queries.cohort.table_one_inputs` frames.

    ``variables`` lists (column, kind, label) in display order.
    """
    n_frame = inputs["__n__"]
    groups = _groups(n_frame)
    group_n = tuple(policy.show_count(int(_select(n_frame, g)["n"].sum())) for g in groups)
    rows: list[TableOneRow] = []
    for column, kind, label in variables:
        if kind == "numeric":
            rows += _numeric_rows(label, inputs[column], groups, policy)
        else:
            rows += _categorical_rows(label, inputs[column], groups, policy, EMPTY_LEVELS.get(column))
    total = int(n_frame["n"].sum())
    names = " vs ".join(GROUP_LABELS[g] for g in groups)
    caption = (f"Table 1. Baseline characteristics by sex ({names}); {cohort}; N = {policy.show_count(total)}.")
    grouped = (f"computed from counts of values rounded to {policy.continuous_digits} significant digits"
               if policy.continuous_digits else "exact quantiles")
    methods = (f"Numeric variables: mean (SD) and median [Q1, Q3] ({grouped}). Categorical variables: n (%) "
               "of participants with a known value; missing values counted separately (the first drug's "
               "'untreated' is a level, so its percentages are over everyone). SMD: standardized mean "
               "difference women vs men (Yang & Dalton multi-level form for categorical variables); an SMD above "
               "0.1 is commonly read as a meaningful imbalance. " + policy.note)
    notes = () if len(groups) == 2 else ("Only one sex is present after filtering; no SMDs are computed.",)
    return TableOne(tuple(GROUP_LABELS[g] for g in groups), group_n, tuple(rows), caption, methods, notes)


def variable_labels(engine: Engine) -> dict[str, str]:
    """Display label of every canonical column."""
    mapping = engine.info.mapping
    labels = {"age": "Age (years)", "site": "Site", "sex": "Sex", "baseline_year": "Baseline year",
              "treatment": mapping.treatment.label if mapping.treatment else "Treatment"}
    if mapping.biomarker:
        labels["biomarker"] = f"{mapping.biomarker.label} ({mapping.biomarker.unit})"
    labels |= {f"outcome_{k}": v.label for k, v in mapping.outcomes.items()}
    labels |= {f"exclude_{k}": v.label[0].upper() + v.label[1:] for k, v in mapping.exclusions.items()}
    labels |= {f"cov_{k}": with_unit(v.label, v.unit) for k, v in mapping.covariates.items()}
    return labels


def with_unit(label: str, unit: str | None) -> str:
    """'eGFR (mL/min/1.73m²)'; a label already ending in brackets takes the unit inside them, so "IRLS severity
    score (cases)" in points reads "IRLS severity score (cases; points)", not "(cases) (points)"."""
    if not unit:
        return label
    if label.endswith(")") and "(" in label:
        return f"{label[:-1]}; {unit})"
    return f"{label} ({unit})"


def cohort_table_one(ctx) -> TableOne:
    """Table 1 by sex of the context's filtered cohort, as the Overview shows it (released counts), for the report
    and the CLI."""
    labels = variable_labels(ctx.engine)
    variables = [(col, kind, labels[col]) for col, kind in table_one_variables(ctx.engine)]
    inputs = table_one_inputs(ctx.engine, ctx.state, ctx.options, ctx.policy)
    return table_one(inputs, variables, ctx.policy, ctx.cohort().description)
