"""Risk-factor table: each factor's crude odds ratio and its odds ratio adjusted for all the other factors, side by
side, with Wald 95% CIs, a likelihood-ratio test per factor and the events per parameter.

One aggregation query returns cases and non-cases per covariate pattern of all the factors (through the release
layer). The adjusted model is a logistic regression fitted on those patterns (``analyses.stats.glm``: equal to the
participant-level fit); each crude model is the same regression with one factor alone, fitted on the released
counts per level of that factor (a margin of the same query, released as cells of its own). Both use the same
participants: those with the outcome and every factor known (complete-case analysis).

A numeric factor enters linearly (the OR per one unit of the variable), as a natural cubic spline (no single OR;
its likelihood-ratio test says whether it matters) or in bands (age: the age bands; another numeric variable: its
quartiles among the participants, against the lowest band).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analyses.bands import AgeBands, BiomarkerBands
from analyses.context import AnalysisContext
from analyses.design import Term, design_matrix, formula, make_term
from analyses.results import AnalysisResult, Estimate, ResultBuilder, TestResult
from analyses.table_one import BINARY_CODES
from analyses.stats.glm import LogisticFit, fit_logistic, likelihood_ratio, weighted_quantiles
from analyses.variables import SEX_GROUPS, AnalysisInputError, Variable, catalog, resolve, two_level
from queries.aggregates import pattern_counts, round_significant, with_known
from queries.protocol import Engine

MIN_EVENTS_PER_PARAMETER = 10
ENTRIES = ("linear", "spline", "bands")
BAND_COLUMN = "band_{}"  # the derived column of a factor entered in bands
BAND_DIGITS = 3  # quartile cut points of a numeric factor in bands, rounded to this many significant digits
WALD = "Wald 95% CI and p"
TABLE_COLUMNS = ["factor", "level", "events", "non_events", "n", "crude_or", "crude_low", "crude_high", "adjusted_or",
                 "adjusted_low", "adjusted_high", "lr_p"]


@dataclass(frozen=True)
class RiskFactorOptions:
    outcome: str | None = None  # None: the case definition
    factors: tuple[str, ...] | None = None  # None: sex, age and the mapping's yes/no variables
    numeric: str = "linear"  # how numeric factors enter unless named as "x:linear", "x:spline" or "x:bands"
    age_bands: AgeBands = AgeBands()
    treated_only: bool = False


@dataclass(frozen=True)
class RiskFactorsDetails:
    """What only the risk-factor analysis reports (flattened into the CLI JSON beside the common keys)."""

    outcome: str
    outcome_label: str
    factors: list[str]  # the factors in the models (a factor with a single value is left out)
    entries: dict[str, str]  # per factor: how it enters ("levels", "linear", "spline" or "bands")
    events_per_parameter: float | None  # None when nothing is estimated


@dataclass(frozen=True)
class Factor:
    """A factor as it enters the models: its variable, how (numeric: linear/spline/bands; else "levels"), and once
    the data are in, its design term."""

    variable: Variable
    entry: str
    term: Term | None = None
    unit: str = ""

    @property
    def column(self) -> str:
        """The column its term reads: the variable's own, or its derived band."""
        return BAND_COLUMN.format(self.variable.name) if self.entry == "bands" else self.variable.column

    @property
    def label(self) -> str:
        return self.variable.label


def risk_factors(ctx: AnalysisContext, opts: RiskFactorOptions = RiskFactorOptions()) -> AnalysisResult:
    """Crude and adjusted odds ratios of ``opts.outcome`` for each factor (see the module docstring)."""
    outcome = ctx.outcome(opts.outcome)
    if opts.numeric not in ENTRIES:
        raise AnalysisInputError(f"A numeric factor enters as one of: {', '.join(ENTRIES)}.")
    factors = _factors(ctx, opts)
    table = ctx.table(opts.treated_only)
    rounded = {f.variable.column: round_significant(table[f.variable.column].cast("float64"),
                                                    ctx.policy.continuous_digits)
               for f in factors if ctx.policy.continuous_digits is not None and _is_float(ctx, f.variable)}
    keys = list(dict.fromkeys(f.variable.column for f in factors))
    released = ctx.release(pattern_counts(table.mutate(**rounded), keys, f"outcome_{outcome}"))
    return _analyse(ctx, opts, outcome, factors, released, keys)


def _is_float(ctx, variable: Variable) -> bool:
    return variable.kind == "numeric" and ctx.engine.info.schema.get(variable.column) in ("DOUBLE", "FLOAT", "REAL")


# --- factors ------------------------------------------------------------------------------------------------------

def default_factors(engine: Engine) -> tuple[str, ...]:
    """Sex, age, then the cohort's other two-level variables (yes/no flags, two-level categorical covariates)."""
    return factors_from(engine.info, two_level(engine))


def factors_from(info, two_levels) -> tuple[str, ...]:
    """The default factors given the cohort's two-level variables (names, in order; a page caches them)."""
    variables = catalog(info)
    return tuple([n for n in ("sex", "age") if n in variables] + [n for n in two_levels if n != "sex"])


def _factors(ctx: AnalysisContext, opts: RiskFactorOptions) -> list[Factor]:
    names = default_factors(ctx.engine) if opts.factors is None else opts.factors
    if not names:
        raise AnalysisInputError("Name at least one risk factor.")
    factors = [_factor(ctx, name, opts.numeric) for name in names]
    if len({f.variable.column for f in factors}) != len(factors):
        raise AnalysisInputError("Each risk factor may be named once.")
    return factors


def _factor(ctx: AnalysisContext, name: str, numeric: str) -> Factor:
    base, _, entry = name.partition(":")
    if entry and entry not in ENTRIES:
        raise AnalysisInputError(f"A numeric factor is written as name, name:linear, name:spline or name:bands; "
                                 f"'{entry}' is none of these.")
    variable = resolve(base, ctx.variables, "risk factor")
    if variable.kind != "numeric":
        if entry:
            raise AnalysisInputError("Only a numeric risk factor can enter linearly, as a spline or in bands.")
        return Factor(variable, "levels")
    entry = entry or numeric
    return Factor(replace(variable, spline=entry == "spline"), entry, unit=_unit(ctx, variable))


def _unit(ctx, variable: Variable) -> str:
    if variable.column in ("age", "baseline_year"):
        return "year"
    covariate = ctx.engine.info.mapping.covariates.get(variable.name)
    return (covariate.unit if covariate is not None else None) or "unit"


# --- analysis -----------------------------------------------------------------------------------------------------

def _analyse(ctx, opts, outcome, factors: list[Factor], released, keys) -> AnalysisResult:
    builder = ResultBuilder("risk-factors", ctx.cohort())
    builder.query(released.sql)
    complete = lambda k: k[keys].notna().all(axis=1)  # noqa: E731
    builder.note(*_missing_notes(ctx, released, complete))
    fine = with_known(released.cells(where=complete))
    fine = fine[fine["n"] > 0]
    n = released.total("known", where=complete)
    events = int(fine["events"].sum())
    non_events = int(fine["n"].sum()) - events
    if n == 0 or ctx.policy.is_small(n) or ctx.policy.withholds(events, non_events) or 0 in (events, non_events):
        builder.note("Too few participants, or no cases or no non-cases, after filtering; nothing is estimated.")
        return _nothing_estimated(builder, ctx, outcome, factors, n)
    derive = _band_functions(factors, fine, opts)
    fine = fine.assign(**{name: fn(fine) for name, fn in derive.items()})
    factors = _with_terms(factors, fine, builder)
    if not factors:
        builder.note("No factor has two or more values among these participants; nothing is estimated.")
        return _nothing_estimated(builder, ctx, outcome, factors, n)
    bad = [f.label for f in factors if f.term.spline is not None and not f.term.spline.defined]
    if bad:
        raise AnalysisInputError(f"The natural spline of {', '.join(bad)} cannot be formed in this cohort (too many "
                                 "participants share the highest value); enter it linearly or in bands.")
    full = _fit(fine, factors)
    epv = min(events, non_events) / max(len(full.params) - 1, 1)
    if epv < MIN_EVENTS_PER_PARAMETER:
        builder.note(f"Only {epv:.1f} events per model parameter (fewer than {MIN_EVENTS_PER_PARAMETER}): the "
                     "adjusted odds ratios may be biased away from 1 and their CIs too narrow; consider fewer "
                     "factors or coarser levels.")
    rows = []
    for factor in factors:
        margin = _margin(released, complete, factor, derive)
        rows += _factor_rows(ctx, factor, factors, fine, full, margin, builder)
    if full.separation or not full.converged:
        builder.note("The adjusted model shows (quasi-)complete separation or did not converge; its odds ratios "
                     "are withheld.")
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    # a level's row is withheld with its counts; in exact mode a second row of the factor too (its levels add up)
    builder.table("risk_factors", ctx.policy.gate_frame(table, ["events", "non_events", "n"],
                                                        [c for c in TABLE_COLUMNS[5:] if c != "lr_p"],
                                                        group_by=["factor"]))
    builder.formula(formula(f"outcome_{outcome}", [], [f.term for f in factors]))
    return _build(builder, ctx, outcome, factors, n, epv)


def _nothing_estimated(builder: ResultBuilder, ctx, outcome, factors: list[Factor], n) -> AnalysisResult:
    builder.table("risk_factors", _empty_table())
    return _build(builder, ctx, outcome, factors, n, None)


def _missing_notes(ctx, released, complete) -> list[str]:
    notes = []
    unknown = released.total("missing")
    if unknown:
        notes.append(f"{ctx.policy.show_count(unknown)} participants with an unknown outcome are left out.")
    incomplete = sum(released.total(c, where=lambda k: ~complete(k)) for c in ("events", "non_events"))
    if incomplete:
        notes.append(f"{ctx.policy.show_count(incomplete)} participants with a factor missing are left out "
                     "(complete-case analysis: crude and adjusted odds ratios use the same participants).")
    return notes


def _band_functions(factors: list[Factor], fine: pd.DataFrame, opts: RiskFactorOptions) -> dict:
    """Per factor in bands: the function giving each pattern's band label from the key columns."""
    out = {}
    for f in factors:
        if f.entry != "bands":
            continue
        column = f.variable.column
        if column == "age":
            bands, low = opts.age_bands, int(fine["age"].min())
            out[f.column] = lambda k, b=bands, lo=low: pd.Series(b.assign(k["age"], lo), index=k.index)
        else:
            bands = _quartile_bands(fine[column].to_numpy(dtype=float), fine["n"].to_numpy())
            out[f.column] = lambda k, b=bands, c=column: pd.Series(b.assign(k[c]) if b else "all", index=k.index)
    return out


def _quartile_bands(values: np.ndarray, counts: np.ndarray) -> BiomarkerBands | None:
    cuts = weighted_quantiles(values, counts, [0.25, 0.5, 0.75])
    cuts = sorted({float(f"{c:.{BAND_DIGITS}g}") for c in cuts if np.isfinite(c) and values.min() < c <= values.max()})
    return BiomarkerBands(tuple(cuts)) if cuts else None


def _with_terms(factors: list[Factor], fine: pd.DataFrame, builder: ResultBuilder) -> list[Factor]:
    """The factors with their design terms; a factor with a single value among these participants is dropped."""
    out = []
    for f in factors:
        values = fine[f.column]
        if values.astype(str).nunique() < 2:
            builder.note(f"{f.label.capitalize()} has a single value among these participants, so it is left out "
                         "of the models.")
            continue
        variable = replace(f.variable, column=f.column)
        if f.entry == "bands":
            present = set(values.astype(str))
            order = tuple(b for b in _band_order_from(fine, f) if b in present)
            term = Term(replace(variable, kind="categorical", spline=False), levels=order)
        elif variable.column == "sex":
            term = Term(variable, levels=tuple(sorted(set(values.astype(str)), key=lambda s: s != "male")))
        else:
            term = make_term(variable, fine, "n")
        out.append(replace(f, term=term))
    return out


def _band_order_from(fine: pd.DataFrame, f: Factor) -> list[str]:
    """Band labels from the lowest band up (the lowest is the reference)."""
    first = fine.groupby(f.column)[f.variable.column].min().sort_values()
    return [str(b) for b in first.index]


def _fit(frame: pd.DataFrame, factors: list[Factor]) -> LogisticFit:
    return fit_logistic(design_matrix(frame, [f.term for f in factors]), frame["events"], frame["n"])


def _collapsed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The released patterns summed over every column but ``columns`` (a model of those alone has the same
    likelihood on either; the collapsed table is smaller)."""
    if not columns:
        return frame[["events", "n"]].sum().to_frame().T
    return frame.groupby(columns, dropna=False, sort=True)[["events", "n"]].sum().reset_index()


def _margin(released, complete, factor: Factor, derive: dict) -> pd.DataFrame:
    """Released cases and non-cases per value of one factor (the counts shown per level)."""
    own = {factor.column: derive[factor.column]} if factor.column in derive else None
    return with_known(released.cells(by=[factor.column], where=complete, derive=own)).query("n > 0")


def _factor_rows(ctx, factor: Factor, factors: list[Factor], fine, full: LogisticFit, margin: pd.DataFrame,
                 builder: ResultBuilder) -> list[dict]:
    """The table rows of one factor; its odds ratios and likelihood-ratio test go to ``builder``."""
    others = [f for f in factors if f is not factor]
    reduced = _fit(_collapsed(fine, [f.column for f in others]), others)
    stat, df, p = likelihood_ratio(full, reduced)
    adjusted_ok = not (full.separation or not full.converged)
    if adjusted_ok:
        builder.test(TestResult(f"lr_{factor.variable.name}", stat, df, p, f"likelihood-ratio test of "
                                f"{factor.label} ({df} df) in the model with all factors"))
    crude = _fit(_collapsed(fine, [factor.column]), [factor])
    crude_ok = not (crude.separation or not crude.converged)
    if not crude_ok:
        builder.note(f"The crude model of {factor.label} shows separation or did not converge; its odds ratios are "
                     "withheld.")
    rows = []
    for column, level, reference in _contrasts(factor):
        counts = _level_counts(margin, factor, level)
        withheld = counts is not None and ctx.policy.withholds(counts[0], counts[1] - counts[0])
        if withheld:
            builder.note(f"{factor.label.capitalize()}, {level}: a count is below {ctx.policy.min_cell}, so its odds "
                         "ratios are withheld.")
        c = crude.odds_ratio(column, ctx.alpha) if column and crude_ok and not withheld else None
        a = full.odds_ratio(column, ctx.alpha) if column and adjusted_ok and not withheld else None
        label = f"{factor.label}: {level}" + (f" vs {reference}" if reference else "")
        shown_level = level if column or _is_curve(factor) else f"{level} (reference)"
        rows.append(_row(factor, shown_level, counts, c, a,
                         p if adjusted_ok and not rows else None))
        adjusted_for = ", ".join(f.variable.display for f in others) or "nothing else"
        for measure, value, method in (("crude_or", c, f"logistic regression, {factor.variable.display} alone; "
                                        f"{WALD}"), ("adjusted_or", a, f"logistic regression adjusted for "
                                                     f"{adjusted_for}; {WALD}")):
            if value is not None:
                builder.estimate(Estimate(measure, *value, method, band=level, reference=reference or None,
                                          label=label, group=factor.variable.name))
    return rows


def _is_curve(factor: Factor) -> bool:
    """A spline: one row, no odds ratio and no reference level."""
    return factor.term.spline is not None


def _contrasts(factor: Factor) -> list[tuple[str | None, str, str]]:
    """(design column or None for the reference, level label, reference label) per row of the factor."""
    term, v = factor.term, factor.variable
    if term.spline is not None:
        return [(None, f"natural spline, {term.spline.df} df", "")]
    if v.kind == "numeric" and factor.entry == "linear":
        return [(term.columns[0], f"per 1 {factor.unit}", "")]
    if v.kind == "binary":
        return [(None, "no", ""), (term.columns[0], "yes", "no")]
    names = [_level_name(v, str(level), term.levels) for level in term.levels]
    return [(None, names[0], "")] + [(col, name, names[0]) for col, name in zip(term.columns, names[1:])]


def _level_name(variable: Variable, level: str, all_levels: tuple) -> str:
    """Women/men for sex; no/yes for a two-level covariate coded 0/1 or true/false (as Table 1 shows them)."""
    if variable.column == "sex":
        return SEX_GROUPS.get(level, level)
    return BINARY_CODES[level] if {str(x) for x in all_levels} <= set(BINARY_CODES) else level


def _level_counts(margin: pd.DataFrame, factor: Factor, level: str) -> tuple[int, int] | None:
    """(cases, participants) at one level of a categorical/binary/banded factor (None for a numeric slope)."""
    term = factor.term
    if term.spline is not None or (factor.variable.kind == "numeric" and factor.entry == "linear"):
        return None
    values = margin[factor.column]
    if factor.variable.kind == "binary":
        hit = values.astype(bool) == (level == "yes")
    else:
        names = {_level_name(factor.variable, str(x), term.levels): str(x) for x in term.levels}
        hit = values.astype(str) == names[level]
    return int(margin.loc[hit, "events"].sum()), int(margin.loc[hit, "n"].sum())


def _row(factor: Factor, level: str, counts, crude, adjusted, lr_p) -> dict:
    def limits(value):
        return value[:3] if value is not None else (None, None, None)

    events, n = counts or (None, None)
    return dict(zip(TABLE_COLUMNS, [factor.variable.display, level, events, None if n is None else n - events, n,
                                    *limits(crude), *limits(adjusted), lr_p]))


SPELLED_OUT_FACTORS = 4  # a heading names this many factors; more read "sex, age, pregnancy and 6 more"


def _factor_list(names: list[str]) -> str:
    if len(names) <= SPELLED_OUT_FACTORS:
        return ", ".join(names) or "none"
    return f"{', '.join(names[:SPELLED_OUT_FACTORS - 1])} and {len(names) - SPELLED_OUT_FACTORS + 1} more"


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=TABLE_COLUMNS + ["suppressed"])


def _build(builder: ResultBuilder, ctx, outcome, factors: list[Factor], n, epv: float | None) -> AnalysisResult:
    label = ctx.outcome_label(outcome)
    names = _factor_list([f.variable.display for f in factors])
    caption = f"Risk factors for {label}: {names}; {builder.cohort.description}; N = {ctx.policy.show_count(n)}."
    methods = (f"Outcome: {label}. Participants with the outcome and every factor known (complete-case analysis). "
               "Crude odds ratio: logistic regression with the factor alone; adjusted odds ratio: logistic regression "
               "with all the factors; both fitted to counts per covariate pattern (identical to the participant-level "
               "fit), with Wald 95% CIs. Likelihood-ratio test per factor: the model with all factors against the "
               "model without that factor (R: drop1(fit, test = \"LRT\")). A numeric factor enters linearly (odds "
               "ratio per one unit), as a natural cubic spline (knots at quantiles of the participants; no single "
               "odds ratio) or in bands (age bands; otherwise quartiles of the participants), against the lowest "
               "band; a categorical factor against its first level, a yes/no factor yes against no, sex women "
               f"against men. Events per parameter: the smaller of cases and non-cases over the number of model "
               f"parameters besides the intercept; below {MIN_EVENTS_PER_PARAMETER} the estimates may be biased. "
               f"{ctx.policy.note}")
    details = RiskFactorsDetails(outcome, label, [f.variable.name for f in factors],
                                 {f.variable.name: f.entry for f in factors}, epv)
    return builder.build(title=f"Risk factors for {label}", caption=caption, methods=methods,
                         n=None if ctx.policy.is_small(n) else n, details=details)
