"""Table 1 by any grouping (sex by default; case status, site, the first drug, any categorical variable) with
standardized mean differences and optional p-values, from per-group sufficient statistics.

Numeric rows: mean (SD) and median [Q1, Q3]; categorical rows: n (%) of participants with a known value.
SMD (two groups): numeric (m1 - m2) / sqrt((s1² + s2²) / 2); categorical, the multi-level form of Yang & Dalton
(2012), which reduces to (p1 - p2) / sqrt((p1(1-p1) + p2(1-p2)) / 2) for two levels — the definitions of R's
``tableone`` and Python's ``tableone``. Missing values are counted, not included in percentages or SMDs.
p-values (off by default) as Python's ``tableone`` chooses them: Welch's t-test for two groups and one-way ANOVA
for more (numeric); χ² (Yates-corrected for 2×2), or Fisher's exact test for a 2×2 with an expected or observed count
below 5 (categorical), all from the released counts and summaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from analyses.display import fmt_p
from analyses.stats.glm import weighted_quantiles
from disclosure.policy import DisclosurePolicy
from queries.cohort import GROUP, grouping_columns, table_one_inputs, table_one_variables
from queries.filters import UNTREATED
from queries.protocol import Engine

SEX_LABELS = {"female": "Women", "male": "Men"}
YES_NO = {"true": "Yes", "false": "No", "1": "Yes", "0": "No", "1.0": "Yes", "0.0": "No"}
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
    p_value: float | None = None  # on a variable's first row, when p-values were asked for
    test: str = ""  # the test behind ``p_value``


@dataclass(frozen=True)
class TableOne:
    """Table 1: one column per group, rows per variable (and level), SMD between two groups, optional p-values."""

    groups: tuple[str, ...]
    group_n: tuple[str, ...]
    rows: tuple[TableOneRow, ...]
    caption: str
    methods: str
    notes: tuple[str, ...] = ()
    by_label: str = "sex"
    pvalues: bool = False

    @property
    def title(self) -> str:
        """"Table 1 by sex"; "Table 1" without grouping."""
        return f"Table 1 by {self.by_label}" if self.by_label else "Table 1"

    def to_frame(self) -> pd.DataFrame:
        """The table as displayed (after the disclosure gate)."""
        columns = [f"{g} (N = {n})" for g, n in zip(self.groups, self.group_n)]
        records = []
        for row in self.rows:
            record = {"Variable": row.variable, "Level": row.level}
            record |= dict(zip(columns, row.cells))
            if len(self.groups) == 2:
                record["SMD"] = "" if row.smd is None else f"{row.smd:.3f}"
            if self.pvalues:
                first = row.test != ""
                record["p"] = fmt_p(row.p_value) if first else ""
                record["Test"] = row.test
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


def _groups(n_frame: pd.DataFrame, by: str | None) -> list:
    """The groups in display order: women before men, cases before non-cases, yes before no, the untreated last."""
    if GROUP not in n_frame.columns:
        return [None]
    present = [str(g) for g in n_frame.loc[n_frame[GROUP].notna() & (n_frame["n"] > 0), GROUP].unique()]
    if by == "sex":
        return [g for g in SEX_LABELS if g in present] + sorted(g for g in present if g not in SEX_LABELS)
    if set(present) <= set(YES_NO):
        return sorted(present, key=lambda g: YES_NO[g] != "Yes")
    return sorted(present, key=lambda g: (g == UNTREATED, g))


def group_label(by: str | None, group: str | None) -> str:
    """A column heading: "Women", "Cases", "Yes", a site's or drug's own name; "All" without grouping."""
    if group is None:
        return "All"
    if by == "sex":
        return SEX_LABELS.get(group, group)
    if group in YES_NO:
        return {"Yes": "Cases", "No": "Non-cases"}[YES_NO[group]] if by.startswith("outcome_") else YES_NO[group]
    return group


def _select(frame: pd.DataFrame, group) -> pd.DataFrame:
    return frame if group is None else frame[frame[GROUP].astype(str) == group]


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


def _numeric_rows(label: str, frame: pd.DataFrame, groups: list, policy: DisclosurePolicy,
                  pvalues: bool = False) -> list[TableOneRow]:
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
    p_value, test = _numeric_test(stats, policy) if pvalues else (None, "")
    rows = [TableOneRow(label, "mean (SD)", tuple(mean), smd, p_value, test),
            TableOneRow(label, "median [Q1, Q3]", tuple(median))]
    if any(m not in ("0", "–") for m in missing):
        rows.append(TableOneRow(label, "missing", tuple(missing)))
    return rows


def _categorical_rows(label: str, frame: pd.DataFrame, groups: list, policy: DisclosurePolicy,
                      empty_level: str | None = None, pvalues: bool = False,
                      level_names: dict[str, str] | None = None) -> list[TableOneRow]:
    if empty_level is not None:  # the empty value is a level (e.g. untreated), listed last
        frame = frame.assign(level=frame["level"].astype(object).where(frame["level"].notna(), empty_level))
    known = frame[frame["level"].notna()]
    levels = sorted(known["level"].unique(), key=lambda v: (v == empty_level, str(v)))
    names = [(level_names or {}).get(str(level), name) for level, name in zip(levels, _level_names(levels))]
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
    if rows and not any(hidden.values()):
        smd = None
        if len(groups) == 2:
            smd = smd_categorical(*[np.array(counts[g], dtype=float) / max(sum(counts[g]), 1) for g in groups])
        p_value, test = _categorical_test([counts[g] for g in groups]) if pvalues else (None, "")
        rows[0] = TableOneRow(rows[0].variable, rows[0].level, rows[0].cells, smd, p_value, test)
    elif rows and pvalues:
        rows[0] = TableOneRow(rows[0].variable, rows[0].level, rows[0].cells, None, None, "not tested (cells withheld)")
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
              cohort: str, by: str | None = "sex", by_label: str = "sex", pvalues: bool = False) -> TableOne:
    """Build Table 1 from :func:`queries.cohort.table_one_inputs` frames grouped by the canonical column ``by``
    (labelled ``by_label``), with p-values when ``pvalues``.

    ``variables`` lists (column, kind, label) in display order.
    """
    n_frame = inputs["__n__"]
    groups = _groups(n_frame, by)
    group_n = tuple(policy.show_count(int(_select(n_frame, g)["n"].sum())) for g in groups)
    tested = pvalues and len(groups) >= 2
    rows: list[TableOneRow] = []
    for column, kind, label in variables:
        if kind == "numeric":
            rows += _numeric_rows(label, inputs[column], groups, policy, tested)
        else:
            names = SEX_LABELS if column == "sex" else {}
            rows += _categorical_rows(label, inputs[column], groups, policy, EMPTY_LEVELS.get(column), tested, names)
    labels = tuple(group_label(by, g) for g in groups)
    total = policy.show_count(int(n_frame["n"].sum()))
    caption = f"Table 1. Baseline characteristics by {by_label} ({' vs '.join(labels)}); {cohort}; N = {total}."
    if groups == [None]:
        caption = f"Table 1. Baseline characteristics; {cohort}; N = {total}."
    return TableOne(labels, group_n, tuple(rows), caption, _methods(policy, labels, tested),
                    _notes(n_frame, groups, by_label, policy), by_label if by else "", tested)


def _methods(policy: DisclosurePolicy, labels: tuple[str, ...], tested: bool) -> str:
    grouped = (f"computed from counts of values rounded to {policy.continuous_digits} significant digits"
               if policy.continuous_digits else "exact quantiles")
    text = (f"Numeric variables: mean (SD) and median [Q1, Q3] ({grouped}). Categorical variables: n (%) of "
            "participants with a known value; missing values counted separately (the first drug's 'untreated' is a "
            "level, so its percentages are over everyone). ")
    if len(labels) == 2:
        text += (f"SMD: standardized mean difference, {labels[0]} vs {labels[1]} (Yang & Dalton multi-level form for "
                 "categorical variables); an SMD above 0.1 is commonly read as a meaningful imbalance. ")
    if tested:
        text += ("p-values as the tableone package chooses them: Welch's t-test (two groups) or one-way ANOVA (more) "
                 "for numeric variables; χ² test (Yates-corrected for a 2×2), or Fisher's exact test for a 2×2 with "
                 "a count or expected count below 5, for categorical variables; computed from the released counts. "
                 "They test whether the groups differ, not whether a difference matters; with many rows some will "
                 "fall below 0.05 by chance. ")
    return text + policy.note


def _notes(n_frame: pd.DataFrame, groups: list, by_label: str, policy: DisclosurePolicy) -> tuple[str, ...]:
    notes = []
    if GROUP in n_frame.columns:
        unknown = int(n_frame.loc[n_frame[GROUP].isna(), "n"].sum())
        if unknown:
            notes.append(f"{policy.show_count(unknown)} participants with no value of {by_label} are in no column.")
        if len(groups) < 2:
            notes.append(f"Only one group of {by_label} is present after filtering; no SMDs are computed.")
    return tuple(notes)


def _numeric_test(stats: list, policy: DisclosurePolicy) -> tuple[float | None, str]:
    """Welch's t-test (two groups) or one-way ANOVA (more) from each group's n, mean and SD."""
    if any(s is None or int(s["n"]) < 2 or policy.is_small(int(s["n"])) for s in stats):
        return None, "not tested (a group has too few values)"
    n = np.array([float(s["n"]) for s in stats])
    mean = np.array([float(s["mean"]) for s in stats])
    sd = np.array([float(s["sd"]) for s in stats])
    if len(stats) == 2:
        return float(sps.ttest_ind_from_stats(mean[0], sd[0], n[0], mean[1], sd[1], n[1], equal_var=False).pvalue), \
            "Welch's t-test"
    grand = mean @ n / n.sum()
    between, within = (n * (mean - grand) ** 2).sum() / (len(n) - 1), ((n - 1) * sd ** 2).sum() / (n.sum() - len(n))
    return float(sps.f.sf(between / within, len(n) - 1, n.sum() - len(n))), "one-way ANOVA"


def _categorical_test(counts: list[list[int]]) -> tuple[float | None, str]:
    """χ² test of the groups × levels table (Yates-corrected for a 2×2); Fisher's exact test for a 2×2 with a count
    or expected count below 5 (as tableone)."""
    table = np.array(counts, dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return None, "not tested (one level)"
    _, p_value, _, expected = sps.chi2_contingency(table)
    if table.shape == (2, 2) and (expected.min() < 5 or table.min() < 5):
        return float(sps.fisher_exact(table.astype(int)).pvalue), "Fisher's exact test"
    return float(p_value), "χ² test"


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


def grouping_choices(engine: Engine) -> dict[str, str]:
    """The variables Table 1 can be grouped by (canonical column → label), sex first where the cohort has it."""
    labels = variable_labels(engine)
    return {column: labels[column] for column in grouping_columns(engine)}


def build_table_one(engine: Engine, inputs: dict[str, pd.DataFrame], cohort: str, policy: DisclosurePolicy,
                    by: str | None = "sex", pvalues: bool = False) -> TableOne:
    """Table 1 of released ``inputs`` (``queries.cohort.table_one_inputs(..., by=by)``) with the cohort's labels."""
    by = by if by in engine.info.schema else None
    labels = variable_labels(engine)
    variables = [(col, kind, labels[col]) for col, kind in table_one_variables(engine, by)]
    return table_one(inputs, variables, policy, cohort, by, _in_sentence(labels[by]) if by else "", pvalues)


def _in_sentence(label: str) -> str:
    """'Sex' → 'sex' for "by sex"; an acronym ('IRLSSG …', 'eGFR') keeps its case."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def cohort_table_one(ctx, by: str | None = "sex", pvalues: bool = False) -> TableOne:
    """Table 1 of the context's filtered cohort grouped by ``by``, as the Overview shows it (released counts), for the
    report and the CLI."""
    inputs = table_one_inputs(ctx.engine, ctx.state, ctx.options, ctx.policy, by)
    return build_table_one(ctx.engine, inputs, ctx.cohort().description, ctx.policy, by, pvalues)
