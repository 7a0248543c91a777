"""Age–prevalence: prevalence by age band and sex, a spline curve per sex with its peak, direct standardisation.
A cohort without a sex role gets the same for one group, everyone.

One aggregation query returns counts per (sex, single year of age); bands, curves and standardised figures are
all computed from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from scipy.special import expit

from analyses.bands import AgeBands
from analyses.context import AnalysisContext
from analyses.results import AnalysisResult, Estimate, ResultBuilder
from analyses.stats.glm import NaturalSpline, fit_logistic
from analyses.stats.proportions import with_proportion
from analyses.stats.standardization import (
    band_weights,
    direct_standardize,
    standard_populations,
    standardized_ratio,
)
from analyses.variables import SEX_GROUPS, AnalysisInputError
from queries.aggregates import pattern_counts, with_known

SPLINE_DF = 4
PEAK_GRID_STEP = 0.1
SEXES = ("female", "male")
EVERYONE = "all"  # the one group of a cohort without a sex role
GROUPS = SEXES + (EVERYONE,)
GROUP_NAMES = SEX_GROUPS | {EVERYONE: "everyone"}


@dataclass(frozen=True)
class PrevalenceOptions:
    outcome: str | None = None
    age_bands: AgeBands = AgeBands()
    standard: str | None = None  # None: every standard population
    treated_only: bool = False


@dataclass(frozen=True)
class PrevalenceDetails:
    """What only the prevalence analysis reports (flattened into the CLI JSON beside the common keys)."""

    outcome: str
    outcome_label: str
    peak: dict[str, dict]  # per group ("women", "men" or "everyone"): {"age", "prevalence", "at_edge"}


def prevalence(ctx: AnalysisContext, opts: PrevalenceOptions = PrevalenceOptions()) -> AnalysisResult:
    """Prevalence of ``opts.outcome`` by age and sex in the filtered cohort (see the module docstring)."""
    outcome = ctx.outcome(opts.outcome)
    if not ctx.has("age"):
        raise AnalysisInputError("Age–prevalence needs the age role; the mapping does not name it.")
    standards = standard_populations()
    if opts.standard is not None and opts.standard not in standards:
        raise AnalysisInputError(f"Unknown standard population. Choose from: {', '.join(standards)}.")
    table = ctx.table(opts.treated_only)
    if not ctx.has("sex"):  # one group, everyone: curves, bands and standardised prevalence without a sex split
        table = table.mutate(sex=ibis.literal(EVERYONE))
    released = ctx.release(pattern_counts(table, ["sex", "age"], f"outcome_{outcome}"))
    builder = ResultBuilder("prevalence", ctx.cohort())
    builder.query(released.sql)
    builder.note(*_missing_notes(ctx, released))
    fine = with_known(released.cells(where=_known_sex_and_age))
    fine["age"] = fine["age"].astype(int)
    return _analyse(ctx, opts, outcome, released, fine, builder)


def _known_sex_and_age(keys: pd.DataFrame) -> pd.Series:
    return keys["sex"].isin(GROUPS) & keys["age"].notna()


def _missing_notes(ctx, released) -> list[str]:
    unknown = released.total("missing")
    no_sex_age = sum(released.total(c, where=lambda k: ~_known_sex_and_age(k)) for c in ("events", "non_events"))
    notes = []
    if unknown:
        notes.append(f"{ctx.policy.show_count(unknown)} participants with an unknown outcome are left out.")
    if no_sex_age:
        notes.append(f"{ctx.policy.show_count(no_sex_age)} participants with unknown sex or age are left out.")
    return notes


def _analyse(ctx, opts, outcome, released, fine, builder: ResultBuilder) -> AnalysisResult:
    by_sex = with_known(released.cells(by=["sex"], where=_known_sex_and_age))
    n = released.total("known", where=_known_sex_and_age)
    used = fine[fine["n"] > 0]
    # in cell-key mode a small per-age count may be released as 0 while the total is not small: no ages, no curve
    if n == 0 or ctx.policy.is_small(n) or used.empty:
        builder.note("The cohort is empty or too small after filtering; nothing is estimated.")
        builder.table("rows", pd.DataFrame())
        builder.table("curve", pd.DataFrame())
        return _build(builder, ctx, outcome, None if n else 0, {})
    min_age = int(fine["age"].min())
    bands = with_known(released.cells(by=["sex", "age_band"], where=_known_sex_and_age,
                                      derive={"age_band": lambda k: opts.age_bands.assign(k["age"].astype(int),
                                                                                           min_age)}))
    rows = _band_rows(ctx, bands, opts.age_bands.labels(min_age))
    spline = NaturalSpline.from_counts(used["age"].to_numpy(), used["n"].to_numpy(), SPLINE_DF)
    curve, peaks = _curves(ctx, used, by_sex.set_index("sex"), spline, builder)
    builder.table("rows", rows)
    builder.table("curve", curve)
    # cell-key mode: standardised from every band's released counts (a small band's count is perturbed, so the
    # estimate cannot be inverted to it); exact mode: withheld when a band count is withheld
    counted = _band_rows(ctx, bands, opts.age_bands.labels(min_age), gated=False) if ctx.policy.perturbed else rows
    _standardized(ctx, counted, opts, min_age, builder)
    split = "fitted separately for women and men" if ctx.has("sex") else "one curve for everyone (no sex role)"
    builder.formula(f"outcome_{outcome} ~ {spline.describe('age')}, {split}")
    return _build(builder, ctx, outcome, n, peaks)


def _band_rows(ctx, bands: pd.DataFrame, labels: list[str], gated: bool = True) -> pd.DataFrame:
    """Prevalence per sex and age band with Wilson CIs; ``gated``: rows with a small count withheld."""
    grid = pd.MultiIndex.from_product([GROUPS, labels], names=["sex", "age_band"])
    sums = bands.set_index(["sex", "age_band"])[["events", "n"]].reindex(grid, fill_value=0).reset_index()
    sums = with_proportion(sums[sums.groupby("sex")["n"].transform("sum") > 0], ctx.alpha)
    gated = ctx.policy.gate_frame(sums, ["events", "non_events", "n"], ["prevalence", "ci_low", "ci_high"], ["sex"]) \
        if gated else sums.assign(suppressed=False)
    gated["sex"] = gated["sex"].map(GROUP_NAMES)
    return gated[["sex", "age_band", "events", "n", "prevalence", "ci_low", "ci_high", "suppressed"]]


def _curves(ctx, used, by_sex: pd.DataFrame, spline: NaturalSpline,
            builder: ResultBuilder) -> tuple[pd.DataFrame, dict]:
    """The fitted prevalence curve per group and each curve's peak (groups without a curve get a note)."""
    frames, peaks = [], {}
    if not spline.defined:
        builder.note("No prevalence curves: the spline of age cannot be formed in this cohort (too many "
                     "participants share the highest age, so its knots coincide).")
        return pd.DataFrame(), peaks
    low, high = spline.boundary
    ages = np.arange(low, high + 1)
    fine = np.arange(low, high + PEAK_GRID_STEP / 2, PEAK_GRID_STEP)
    for sex in GROUPS:
        part = used[used["sex"] == sex]
        events, n = (int(by_sex[c].get(sex, 0)) for c in ("events", "n"))
        if ctx.policy.withholds(n, events, n - events) or events == 0 or events == n:
            if n:
                builder.note(f"No prevalence curve for {GROUP_NAMES[sex]}: too few cases or participants.")
            continue
        fit = fit_logistic(_spline_design(spline, part["age"]), part["events"], part["n"])
        if fit.separation or not fit.converged:
            builder.note(f"The prevalence curve for {GROUP_NAMES[sex]} could not be fitted (separation).")
            continue
        pred = fit.linear_predictor(_spline_design(spline, ages), ctx.alpha)
        frames.append(pd.DataFrame({"sex": GROUP_NAMES[sex], "age": ages, "prevalence": expit(pred["eta"]),
                                    "ci_low": expit(pred["low"]), "ci_high": expit(pred["high"])}))
        peaks[GROUP_NAMES[sex]] = _peak(fit, spline, fine, builder, GROUP_NAMES[sex])
    curve = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return curve, peaks


def _spline_design(spline: NaturalSpline, ages) -> pd.DataFrame:
    basis = spline.basis(np.asarray(ages, dtype=float))
    columns = {"Intercept": np.ones(len(basis))} | {f"ns(age){i + 1}": basis[:, i] for i in range(basis.shape[1])}
    return pd.DataFrame(columns)


def _peak(fit, spline, grid, builder: ResultBuilder, group: str) -> dict:
    eta = fit.linear_predictor(_spline_design(spline, grid))["eta"].to_numpy()
    i = int(np.argmax(eta))
    at_edge = i in (0, len(grid) - 1)
    if at_edge:
        builder.note(f"For {group}, the fitted prevalence is highest at the edge of the age range: no interior peak.")
    return {"age": round(float(grid[i]), 1), "prevalence": float(expit(eta[i])), "at_edge": at_edge}


def _standardized(ctx, rows: pd.DataFrame, opts, min_age: int, builder: ResultBuilder) -> None:
    """Age-standardized prevalence per group and the women/men ratio, for each chosen standard population."""
    standards = standard_populations()
    chosen = [opts.standard] if opts.standard else list(standards)
    bounds = dict(zip(opts.age_bands.labels(min_age), opts.age_bands.bounds(min_age)))
    parts = _standardizable(rows, builder)
    for name in chosen:
        _standardized_to(ctx, standards[name], parts, bounds, builder)


def _standardizable(rows: pd.DataFrame, builder: ResultBuilder) -> dict[str, pd.DataFrame]:
    """Per sex, the age bands with participants — or nothing (with a note) when a band count is withheld."""
    parts = {}
    for group in GROUP_NAMES.values():
        part = rows[(rows["sex"] == group)]
        part = part[part["n"].isna() | (part["n"] > 0)]
        if part.empty:
            continue
        if part["suppressed"].any():
            builder.note(f"Age-standardized prevalence for {group} is withheld: an age band has a small count.")
            continue
        parts[group] = part
    return parts


def _standardized_to(ctx, standard, parts: dict[str, pd.DataFrame], bounds, builder: ResultBuilder) -> None:
    by_sex = {}
    for group, part in parts.items():
        try:
            weights = band_weights(standard, [bounds[b] for b in part["age_band"]])
        except ValueError:  # the bands split the standard's open top group (see band_weights)
            builder.note_once(f"Prevalence cannot be standardized to the {standard.label} with these age bands: "
                              f"they split its open top group ({standard.groups[-1].low}+), whose age distribution "
                              "is not published.")
            continue
        s = by_sex[group] = direct_standardize(part["events"].to_numpy(dtype=float),
                                               part["n"].to_numpy(dtype=float), weights, ctx.alpha)
        builder.estimate(Estimate("standardized_prevalence", s.rate, s.ci_low, s.ci_high, None,
                                  f"direct standardization to the {standard.label}; gamma (Fay–Feuer) 95% CI",
                                  group=group, standard=standard.name, label=group))
    if len(by_sex) == 2:
        ratio, low, high = standardized_ratio(by_sex["women"], by_sex["men"], ctx.alpha)
        builder.estimate(Estimate("standardized_ratio", ratio, low, high, None,
                                  f"ratio of directly standardized prevalences ({standard.label}); log-normal 95% CI",
                                  standard=standard.name, label="women vs men"))


def _build(builder: ResultBuilder, ctx, outcome, n, peaks: dict) -> AnalysisResult:
    label = ctx.outcome_label(outcome)
    by = "age and sex" if ctx.has("sex") else "age"
    caption = f"Prevalence of {label} by {by}; {builder.cohort.description}; N = {ctx.policy.show_count(n)}."
    methods = (f"Outcome: {label}; denominator: participants with a known outcome. Prevalence per age band with "
               "Wilson score 95% CIs. Curves: logistic regression of the outcome on a natural cubic spline of age "
               f"({SPLINE_DF} df, knots at quantiles of the participants' ages), fitted to counts per single year of "
               f"age {'for each sex' if ctx.has('sex') else 'for everyone (no sex role)'}, with Wald 95% bands on "
               "the logit scale; the peak is the age of highest fitted "
               "prevalence on a 0.1-year grid. Direct standardization to the chosen standard population, its "
               "weights spread evenly over single years within each standard age group and renormalised over the "
               "bands present; gamma CIs of Fay & Feuer (1997); the ratio women/men with a log-normal CI. "
               f"{ctx.policy.note}")
    return builder.build(title=f"Prevalence of {label} by {by}", caption=caption, methods=methods,
                         n=n if n is None or not ctx.policy.is_small(n) else None,
                         details=PrevalenceDetails(outcome, label, peaks))
