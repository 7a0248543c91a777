"""Odds ratio of a binary outcome by sex (or another two-level exposure): crude, exact, Mantel–Haenszel, adjusted.

One aggregation query returns counts per (exposure, stratifier, adjusters) pattern; every estimate is computed from
that table, so the fits equal row-level fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyses.bands import AgeBands
from analyses.context import AnalysisContext
from analyses.design import design_matrix, formula, make_term, undefined_spline_note
from analyses.results import AnalysisResult, Estimate, ResultBuilder, TestResult
from analyses.stats import contingency
from analyses.stats.contingency import TwoByTwo
from analyses.stats.glm import fit_logistic, likelihood_ratio
from analyses.stats.proportions import with_proportion
from analyses.variables import (
    SEX_GROUPS,
    AnalysisInputError,
    Variable,
    resolve,
    resolve_all,
)
from queries.aggregates import pattern_counts, with_known

MIN_EVENTS_PER_PARAMETER = 10
SPARSE_STRATUM = 5  # expected count below which a stratum is called sparse


@dataclass(frozen=True)
class OddsRatioOptions:
    outcome: str | None = None
    exposure: str = "sex"
    strata: str | None = "age"
    adjust: tuple[str, ...] = ("age",)
    age_bands: AgeBands = AgeBands()
    treated_only: bool = False


@dataclass(frozen=True)
class OddsRatioDetails:
    """What only the odds-ratio analysis reports (flattened into the CLI JSON beside the common keys)."""

    outcome: str
    outcome_label: str
    exposure: str  # the exposure as asked for (e.g. "sex")
    stratified_by: str | None  # the Mantel–Haenszel stratifier as asked for, None for none


@dataclass(frozen=True)
class Exposure:
    variable: Variable
    exposed: str
    unexposed: str

    @property
    def contrast(self) -> str:
        return f"{self.exposed} vs {self.unexposed}"


def odds_ratio(ctx: AnalysisContext, opts: OddsRatioOptions = OddsRatioOptions()) -> AnalysisResult:
    """Odds ratios of ``opts.outcome`` for the exposure in the filtered cohort (see the module docstring)."""
    outcome = ctx.outcome(opts.outcome)
    exposure_var = resolve(opts.exposure, ctx.variables, "exposure")
    strata_var = resolve(opts.strata, ctx.variables, "stratifier") if opts.strata else None
    adjusters = resolve_all(opts.adjust, ctx.variables, "adjuster")
    if exposure_var.column in {v.column for v in adjusters} | ({strata_var.column} if strata_var else set()):
        raise AnalysisInputError("The exposure cannot also be a stratifier or an adjuster.")
    keys = list(dict.fromkeys([exposure_var.column] + ([strata_var.column] if strata_var else [])
                              + [v.column for v in adjusters]))
    released = ctx.release(pattern_counts(ctx.table(opts.treated_only), keys, f"outcome_{outcome}"))
    return _analyse(ctx, opts, outcome, exposure_var, strata_var, adjusters, released, keys)


def _complete(keys: list[str]):
    """Rows (of the key columns) with every key known: the complete-case analysis."""
    return lambda k: k[keys].notna().all(axis=1)


def _exposure(variable: Variable, levels: list) -> Exposure | None:
    if variable.column == "sex":
        return Exposure(variable, "female", "male") if set(levels) == {"female", "male"} else None
    if variable.kind == "binary":
        return Exposure(variable, "True", "False") if len(levels) == 2 else None
    names = sorted(str(v) for v in levels)
    return Exposure(variable, names[1], names[0]) if len(names) == 2 else None


YES_NO_CODES = ({"true", "false"}, {"1", "0"}, {"yes", "no"}, {"y", "n"})


def _yes_no(exposure: Exposure) -> bool:
    """Whether the two levels are a yes/no code (a flag, or a covariate coded 0/1 or yes/no)."""
    return {exposure.exposed.lower(), exposure.unexposed.lower()} in YES_NO_CODES


def _label(exposure: Exposure, level: str) -> str:
    if exposure.variable.column == "sex":
        return SEX_GROUPS[level]
    if _yes_no(exposure):
        return f"{exposure.variable.label}: {'yes' if level == exposure.exposed else 'no'}"
    return f"{exposure.variable.label}: {level}"


def _two_by_two(frame: pd.DataFrame, exposure: Exposure) -> TwoByTwo:
    """The 2×2 table from released counts per exposure level (one row per level)."""
    level = frame[exposure.variable.column].astype(str)
    sums = frame.assign(level=level).groupby("level")[["events", "non_events"]].sum()
    get = lambda lv, col: int(sums[col].get(lv, 0))  # noqa: E731
    return TwoByTwo(get(exposure.exposed, "events"), get(exposure.exposed, "non_events"),
                    get(exposure.unexposed, "events"), get(exposure.unexposed, "non_events"))


def _analyse(ctx, opts, outcome, exposure_var, strata_var, adjusters, released, keys) -> AnalysisResult:
    builder = ResultBuilder("odds-ratio", ctx.cohort())
    builder.query(released.sql)
    complete = _complete(keys)
    missing_outcome = released.total("missing")
    incomplete = sum(released.total(c, where=lambda k: ~complete(k)) for c in ("events", "non_events"))
    builder.note(*_missing_notes(ctx, missing_outcome, incomplete))
    fine = with_known(released.cells(where=complete))
    used = fine[fine["n"] > 0]
    exposure = _exposure(exposure_var, list(used[exposure_var.column].astype(str).unique()))
    margins = with_known(released.cells(by=[exposure_var.column], where=complete))
    n = released.total("known", where=complete)
    if n == 0:
        builder.note("No participants with a known outcome remain after filtering; nothing is estimated.")
        return _nothing_estimated(builder, ctx, opts, outcome, n)
    if exposure is None:
        builder.note(f"The exposure ({exposure_var.label}) does not have exactly two levels in this cohort, so no "
                     "odds ratio can be estimated.")
        return _nothing_estimated(builder, ctx, opts, outcome, n)
    table = _two_by_two(margins, exposure)
    builder.table("groups", _groups_frame(ctx, table, exposure))
    _crude_and_exact(ctx, table, exposure, builder)
    strata_frame = pd.DataFrame()
    if strata_var is not None:
        strata = _strata_cells(released, complete, fine, exposure, strata_var, opts)
        strata_frame = _stratified(ctx, strata, exposure, strata_var, table, builder)
    builder.table("strata", strata_frame)
    _adjusted(ctx, used, exposure, adjusters, outcome, table, builder)
    return _build(builder, ctx, opts, outcome, exposure, n)


def _nothing_estimated(builder: ResultBuilder, ctx, opts, outcome, n) -> AnalysisResult:
    builder.table("groups", pd.DataFrame())
    builder.table("strata", pd.DataFrame())
    return _build(builder, ctx, opts, outcome, None, n)


def _missing_notes(ctx, missing_outcome: int, incomplete: int) -> list[str]:
    notes = []
    if missing_outcome:
        notes.append(f"{ctx.policy.show_count(missing_outcome)} participants with an unknown outcome are left out.")
    if incomplete:
        notes.append(f"{ctx.policy.show_count(incomplete)} participants with a missing exposure, stratifier or "
                     "adjuster are left out (complete-case analysis).")
    return notes


def _groups_frame(ctx, table: TwoByTwo, exposure: Exposure) -> pd.DataFrame:
    rows = [(_label(exposure, exposure.exposed), table.a, table.a + table.b),
            (_label(exposure, exposure.unexposed), table.c, table.c + table.d)]
    frame = with_proportion(pd.DataFrame(rows, columns=["group", "events", "n"]), ctx.alpha)
    return ctx.policy.gate_frame(frame, ["events", "non_events", "n"], ["prevalence", "ci_low", "ci_high"])


def _withheld(ctx, table: TwoByTwo) -> bool:
    return ctx.policy.withholds(*table.cells)


def _crude_and_exact(ctx, table: TwoByTwo, exposure: Exposure, builder: ResultBuilder) -> None:
    if _withheld(ctx, table):
        builder.note(f"A cell of the 2×2 table is below {ctx.policy.min_cell}, so the odds ratios are withheld.")
        return
    crude = contingency.woolf(table, ctx.alpha)
    if crude.zero_corrected:
        builder.note("The 2×2 table has a zero cell: 0.5 was added to every cell for the crude (Woolf) OR "
                     "(Haldane–Anscombe); the exact OR uses the table as it is, so its estimate or a confidence "
                     "limit may be infinite or zero (an infinite value is left empty).")
    exact = contingency.exact(table, ctx.alpha)
    builder.estimate(
        _estimate("crude_or", crude, "Woolf (logit) 95% CI; Wald p", exposure),
        _estimate("exact_or", exact, "conditional maximum-likelihood OR, exact 95% CI; Fisher's exact p", exposure),
    )


def _estimate(measure: str, result: contingency.OddsRatio, method: str, exposure: Exposure, **extra) -> Estimate:
    return Estimate(measure, result.estimate, result.ci_low, result.ci_high, result.p_value, method,
                    label=_contrast_label(exposure), **extra)


def _contrast_label(exposure: Exposure) -> str:
    """E.g. "women vs men", "Peripheral neuropathy: yes vs no", "BMI group: obese vs normal"."""
    if exposure.variable.column == "sex":
        return f"{_label(exposure, exposure.exposed)} vs {_label(exposure, exposure.unexposed)}"
    exposed, unexposed = (("yes", "no") if _yes_no(exposure) else (exposure.exposed, exposure.unexposed))
    return f"{exposure.variable.label}: {exposed} vs {unexposed}"


def _stratum_labels(used: pd.DataFrame, strata_var: Variable, opts: OddsRatioOptions) -> pd.Series:
    values = used[strata_var.column]
    if strata_var.column == "age":
        ages = values.astype(int)
        return pd.Series(opts.age_bands.assign(ages, int(ages.min())), index=used.index)
    return values.astype(str)


def _strata_cells(released, complete, fine: pd.DataFrame, exposure: Exposure, strata_var: Variable,
                  opts: OddsRatioOptions) -> list[tuple[str, pd.DataFrame]]:
    """(stratum label, released counts per exposure level) per stratum, in the stratifier's order; each stratum's
    2×2 is released as its own cells."""
    labels = lambda k: _stratum_labels(k, strata_var, opts)  # noqa: E731
    cells = with_known(released.cells(by=[exposure.variable.column, "stratum"], where=complete,
                                   derive={"stratum": labels}))
    order = list(dict.fromkeys(labels(fine.sort_values(strata_var.column))))
    return [(s, cells[cells["stratum"] == s]) for s in order if (cells["stratum"] == s).any()]


def _stratified(ctx, strata, exposure, strata_var, total: TwoByTwo, builder: ResultBuilder) -> pd.DataFrame:
    """The per-stratum table; the Mantel–Haenszel OR and the Breslow–Day test go to ``builder``."""
    order = [label for label, _cells in strata]
    tables = [_two_by_two(cells, exposure) for _label, cells in strata]
    rows = []
    for label, table in zip(order, tables):
        result = contingency.woolf(table, ctx.alpha, correct_zeros=False)
        rows.append({"stratum": label, "or": result.estimate, "ci_low": result.ci_low, "ci_high": result.ci_high,
                     "n": table.n, "a": table.a, "b": table.b, "c": table.c, "d": table.d})
    frame = pd.DataFrame(rows)
    builder.note(*_stratum_notes(tables, order, strata_var))
    frame = ctx.policy.gate_frame(frame, ["a", "b", "c", "d"], ["or", "ci_low", "ci_high", "n"])
    frame = frame.drop(columns=["a", "b", "c", "d"])
    if not _withheld(ctx, total):
        _mantel_haenszel(ctx, tables, exposure, strata_var, builder)
    return frame


def _mantel_haenszel(ctx, tables: list[TwoByTwo], exposure: Exposure, strata_var, builder: ResultBuilder) -> None:
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero MH denominator is reported below, not warned
        mh = contingency.mantel_haenszel(tables, ctx.alpha)
    if mh.odds_ratio.ci_low is None:
        builder.note(f"No Mantel–Haenszel OR across {strata_var.label} strata: it is zero, infinite or undefined "
                     "(the same cell is empty in every informative stratum, or no stratum is informative).")
        return
    builder.estimate(_estimate("mh_or", mh.odds_ratio, f"Mantel–Haenszel across {strata_var.label} strata; "
                               "Robins–Breslow–Greenland 95% CI; CMH p (no continuity correction)", exposure))
    if mh.breslow_day is not None:
        builder.test(TestResult("breslow_day", mh.breslow_day, mh.breslow_day_df, mh.breslow_day_p,
                                f"Breslow–Day test of homogeneous ORs across {strata_var.label} strata, "
                                "with Tarone's correction"))


def _stratum_notes(tables, labels, strata_var) -> list[str]:
    zero = [lab for lab, t in zip(labels, tables) if t.informative and t.has_zero]
    empty = [lab for lab, t in zip(labels, tables) if not t.informative]
    sparse = [lab for lab, t in zip(labels, tables) if t.informative and min(_expected(t)) < SPARSE_STRATUM]
    notes = []
    if empty:
        notes.append(f"{strata_var.label.capitalize()} strata without both groups and both outcomes carry no "
                     f"information and are left out of the Mantel–Haenszel estimate: {', '.join(empty)}.")
    if zero:
        notes.append(f"Strata with a zero cell have no stratum OR (no correction applied); they still count in the "
                     f"Mantel–Haenszel estimate: {', '.join(zero)}.")
    if sparse:
        notes.append(f"Sparse strata (an expected cell count below {SPARSE_STRATUM}): {', '.join(sparse)}; the "
                     "Breslow–Day test may be unreliable.")
    return notes


def _expected(t: TwoByTwo) -> list[float]:
    rows, cols = (t.a + t.b, t.c + t.d), (t.a + t.c, t.b + t.d)
    return [r * c / t.n for r in rows for c in cols]


def _adjusted(ctx, used, exposure, adjusters, outcome, total: TwoByTwo, builder: ResultBuilder) -> None:
    """The adjusted OR and the likelihood-ratio test of the exposure, with the model's formula."""
    if not adjusters or _withheld(ctx, total):
        return
    terms = [make_term(v, used, "n") for v in adjusters]
    spline_note = undefined_spline_note(terms)
    if spline_note:
        builder.note(spline_note)
        return
    indicator = pd.DataFrame({"exposed": (used[exposure.variable.column].astype(str) == exposure.exposed)
                              .astype(float)}, index=used.index)
    full_x = design_matrix(used, terms, leading=indicator)
    full = fit_logistic(full_x, used["events"], used["n"])
    reduced = fit_logistic(design_matrix(used, terms), used["events"], used["n"])
    builder.formula(formula(f"outcome_{outcome}", [exposure.variable.name], terms))
    events = min(total.a + total.c, total.b + total.d)
    if events / max(len(full.params) - 1, 1) < MIN_EVENTS_PER_PARAMETER:
        builder.note(f"Fewer than {MIN_EVENTS_PER_PARAMETER} events per model parameter: the adjusted OR may be "
                     "biased away from 1.")
    if full.separation or not full.converged:
        builder.note("The adjusted model shows (quasi-)complete separation or did not converge; its OR is "
                     "withheld.")
        return
    or_, low, high, p = full.odds_ratio("exposed", ctx.alpha)
    adjusted_for = ", ".join(v.display for v in adjusters)
    builder.estimate(Estimate("adjusted_or", or_, low, high, p, f"logistic regression adjusted for {adjusted_for}; "
                              "Wald 95% CI and p", label=_contrast_label(exposure)))
    lr = likelihood_ratio(full, reduced)
    builder.test(TestResult("lr_exposure", lr[0], lr[1], lr[2], f"likelihood-ratio test of "
                            f"{exposure.variable.label} in the model adjusted for {adjusted_for}"))


def _build(builder: ResultBuilder, ctx, opts, outcome, exposure, n) -> AnalysisResult:
    label = ctx.outcome_label(outcome)
    contrast = _contrast_label(exposure) if exposure else opts.exposure
    caption = (f"Odds of {label}, {contrast}; {builder.cohort.description}; N = {ctx.policy.show_count(n)}.")
    methods = (f"Outcome: {label}. 2×2 table of {contrast}; prevalence with Wilson score 95% CIs. Crude OR with "
               "Woolf's logit CI; exact conditional maximum-likelihood OR with exact CI and Fisher's exact p. "
               "Mantel–Haenszel OR across strata with the Robins–Breslow–Greenland CI; Breslow–Day test of "
               "homogeneity with Tarone's correction. Adjusted OR from logistic regression fitted to counts per "
               "covariate pattern (identical to the participant-level fit), Wald CI, likelihood-ratio test for the "
               f"exposure. {ctx.policy.note}")
    return builder.build(title=f"Odds ratio of {label} by {opts.exposure}", caption=caption, methods=methods,
                         n=n if not ctx.policy.is_small(n) else None,
                         details=OddsRatioDetails(outcome, label, opts.exposure, opts.strata))
