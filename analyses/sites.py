"""Units compared fairly (analysis ``funnel``): a measure per site (or any categorical variable) in a funnel plot
with exact 95% and 99.8% limits around the overall value (Spiegelhalter 2005), optionally adjusted for
over-dispersion, and optionally indirectly standardised by age and sex (observed / expected per unit).

One aggregation query returns the released denominator and numerator (and person-time for a rate) per unit, or
per unit × age × sex when standardising (``analyses.measures``); the funnel is computed from those counts
(``analyses.stats.funnel``). A unit with fewer than k participants in the denominator (or whose estimate the policy
withholds) is not drawn and not listed; a note says how many such units there are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyses.bands import AgeBands
from analyses.context import AnalysisContext
from analyses.measures import (
    UNIT,
    QualityMeasure,
    UnitCounts,
    expected_events,
    resolve_measure,
    shown_rows,
    standardizers,
    unit_counts,
    unit_variable,
)
from analyses.results import AnalysisResult, ResultBuilder
from analyses.stats import funnel as funnels
from analyses.variables import AnalysisInputError, Variable

OVERDISPERSION = ("none", "multiplicative", "additive")
UNIT_COLUMNS = ["unit", "n", "events", "value", "lcl95", "ucl95", "lcl998", "ucl998", "outside", "expected", "z",
                "flag", "side"]
GRID_POINTS = 120


@dataclass(frozen=True)
class FunnelOptions:
    outcome: str | None = None  # a declared measure or an outcome; None: the first measure, else the first outcome
    by: str | None = None  # the units: a categorical variable; None: site where mapped, else the first one
    standardize: tuple[str, ...] = ()  # () or any of ("age", "sex"): indirect standardisation
    overdispersion: str = "none"  # none, multiplicative or additive
    age_bands: AgeBands = AgeBands()


@dataclass(frozen=True)
class FunnelDetails:
    """What only the funnel analysis reports (flattened into the CLI JSON beside the common keys)."""

    target: float | None  # the overall value the limits are drawn around (1 for observed / expected)
    measure: str
    measure_kind: str  # "proportion" or "rate"
    scale: str  # "proportion", or "ratio" for observed / expected
    by: str  # the units' variable
    standardized_by: list[str]
    overdispersion: str  # none, multiplicative or additive
    phi: float | None  # None when no funnel is drawn
    tau2: float | None
    adjusted: bool | None  # whether the limits were widened for over-dispersion
    direction: str | None  # the measure's improvement direction, "up" or "down"


def funnel_analysis(ctx: AnalysisContext, opts: FunnelOptions = FunnelOptions()) -> AnalysisResult:
    """The funnel plot of one measure across units in the filtered cohort (see the module docstring)."""
    measure = resolve_measure(ctx, opts.outcome, periods=False)
    unit = unit_variable(ctx, opts.by)
    if opts.overdispersion not in OVERDISPERSION:
        raise AnalysisInputError(f"Unknown over-dispersion adjustment. Choose from: {', '.join(OVERDISPERSION)}.")
    strata = standardizers(ctx, opts.standardize)
    counts = unit_counts(ctx, measure, unit, strata, opts.age_bands)
    builder = ResultBuilder("funnel", ctx.cohort())
    builder.query(counts.sql)
    shown = _shown(ctx, counts.units)
    coverage = _coverage_notes(ctx, counts, unit, shown)
    if shown.sum() < 2:
        builder.note(*coverage, "Fewer than two units can be shown after filtering; no funnel is drawn.")
        builder.table("units", pd.DataFrame(columns=UNIT_COLUMNS))
        return _build(builder, ctx, opts, measure, unit, counts, None)
    computed = _funnel(counts, shown, measure, strata, opts.overdispersion)
    units = _units(ctx, counts.units[shown], computed)
    # the units outside the limits in words first (the figure's headline), then who is left out, then φ
    builder.note(_outside_words(units, measure, computed), *coverage,
                 *_dispersion_notes(computed, opts.overdispersion))
    builder.table("units", units)
    grid = _grid(computed, units)
    if grid is not None:
        builder.table("limits", grid)
    return _build(builder, ctx, opts, measure, unit, counts, computed)


def _coverage_notes(ctx, counts: UnitCounts, unit: Variable, shown: np.ndarray) -> list[str]:
    """Participants without a unit, and units too small to show."""
    notes = []
    if counts.unknown_unit:
        notes.append(f"{ctx.policy.show_count(counts.unknown_unit)} participants in the denominator without a "
                     f"{unit.label} are left out.")
    hidden = int((~shown).sum())
    if hidden:
        notes.append(f"{hidden} unit(s) with fewer than {ctx.policy.min_cell} participants in the denominator (or "
                     "counts too small to show) are not drawn or listed.")
    return notes


def _shown(ctx, units: pd.DataFrame) -> np.ndarray:
    return shown_rows(ctx.policy, units["n"], units["events"])


def _ratio(measure: QualityMeasure, strata: tuple[str, ...]) -> bool:
    """Observed / expected (an indirectly standardised ratio, or a rate against the overall rate)."""
    return bool(strata) or measure.kind == "rate"


def _funnel(counts: UnitCounts, shown: np.ndarray, measure: QualityMeasure, strata, overdispersion) -> funnels.Funnel:
    units = counts.units[shown]
    adjustment = None if overdispersion == "none" else overdispersion
    if not _ratio(measure, strata):
        target = counts.total_events / counts.total_n if counts.total_n else None
        return funnels.proportion_funnel(units["events"], units["n"], units[UNIT], target=target,
                                         adjustment=adjustment)
    expected = _expected(counts, measure, strata).reindex(units[UNIT]).fillna(0.0).to_numpy()
    return funnels.ratio_funnel(units["events"], expected, units[UNIT], adjustment=adjustment)


def _expected(counts: UnitCounts, measure: QualityMeasure, strata) -> pd.Series:
    exposure = "pt" if measure.kind == "rate" else "n"
    if strata:
        return expected_events(counts, exposure)
    rate = counts.total_events / counts.total_pt if counts.total_pt else np.nan
    return counts.units.set_index(UNIT)[exposure] * rate


def _units(ctx, units: pd.DataFrame, computed: funnels.Funnel) -> pd.DataFrame:
    """The units as released: an event count from 1 to k−1 is None (cell-key mode shows the unit's value)."""
    f = computed.units
    ratio = computed.kind == "ratio"
    events = [None if small else int(e) for e, small in zip(units["events"], ctx.policy.small_cells(units["events"]))]
    frame = pd.DataFrame({
        "unit": f["unit"].astype(str), "n": units["n"].astype(int).to_numpy(),
        "events": pd.Series(events, dtype=object), "value": f["value"],
        "lcl95": f["lower_95"], "ucl95": f["upper_95"], "lcl998": f["lower_998"], "ucl998": f["upper_998"],
        "outside": f["flag"].isin(["alert", "alarm"]), "expected": f["denominator"] if ratio else np.nan,
        "z": f["z"], "flag": f["flag"], "side": f["side"].fillna("none")})
    return frame[UNIT_COLUMNS].reset_index(drop=True)


def _grid(computed: funnels.Funnel, units: pd.DataFrame) -> pd.DataFrame:
    """The funnel's limits along the denominator axis (what the figure draws as lines)."""
    x = (units["expected"] if computed.kind == "ratio" else units["n"]).astype(float)
    x = x[np.isfinite(x) & (x > 0)]
    if x.empty:
        return None
    high = float(x.max()) * 1.1
    low = max(float(x.min()) * 0.5, 1.0 if computed.kind == "proportion" else 0.5)
    grid = np.unique(np.round(np.geomspace(low, high, GRID_POINTS)) if computed.kind == "proportion"
                     else np.geomspace(low, high, GRID_POINTS))
    return funnels.funnel_limits(computed, grid)


def _outside_words(units: pd.DataFrame, measure: QualityMeasure, computed: funnels.Funnel) -> str:
    """Units outside the limits, named in words with the measure's improvement direction."""
    outside = units[units["outside"]]
    what = "the expected value (O/E = 1)" if computed.kind == "ratio" else f"the overall {computed.target:.1%}"
    if outside.empty:
        return f"Every unit shown lies within the 95% limits around {what}: no unit stands out."
    parts = []
    for side in ("high", "low"):
        rows = outside[outside["side"] == side]
        if rows.empty:
            continue
        names = ", ".join(f"{u} ({'beyond 99.8%' if f == 'alarm' else 'beyond 95%'})"
                          for u, f in zip(rows["unit"], rows["flag"]))
        parts.append(f"{'above' if side == 'high' else 'below'} the limits: {names}{_reading(side, measure)}")
    return f"Units outside the limits around {what} — " + "; ".join(parts) + "."


def _reading(side: str, measure: QualityMeasure) -> str:
    if measure.direction is None:
        return ""
    better = (side == "high") == (measure.direction == "up")
    return " (better than expected)" if better else " (worse than expected)"


def _dispersion_notes(computed: funnels.Funnel, asked: str) -> list[str]:
    od = computed.overdispersion
    if not np.isfinite(od.phi):
        return []
    text = f"Over-dispersion φ = {od.phi:.2f} over {od.units} units (10% winsorised z-scores)"
    if asked == "none":
        return [text + "; the limits are not adjusted."]
    if not computed.adjusted:
        return [text + f"; φ ≤ 1, so the {asked} adjustment is not applied."]
    extra = f", τ² = {od.tau2:.3g}" if asked == "additive" else ""
    return [text + f"{extra}; the limits are widened ({asked})."]


def _build(builder: ResultBuilder, ctx, opts: FunnelOptions, measure: QualityMeasure, unit: Variable,
           counts: UnitCounts, computed: funnels.Funnel | None) -> AnalysisResult:
    n = counts.total_n
    ratio = _ratio(measure, standardizers(ctx, opts.standardize))
    caption = f"{measure.label} by {unit.label}; {builder.cohort.description}; N = {ctx.policy.show_count(n)}."
    methods = (f"{measure.label} per {unit.label}, from released counts per unit. "
               + ("Observed / expected events per unit, expected from the overall "
                  + ("rates per age band and sex stratum (indirect standardisation) " if opts.standardize else
                     "rate per person-year ")
                  + "with exact Poisson 95% and 99.8% limits around 1 (as R FunnelPlotR). " if ratio else
                  "Proportion against its denominator with Spiegelhalter's (2005) exact binomial 95% and 99.8% "
                  "limits around the overall proportion. ")
               + "Over-dispersion: φ from 10% winsorised z-scores; "
               + {"none": "not adjusted.", "multiplicative": "limits widened by sqrt(φ) when φ > 1.",
                  "additive": "random-effects τ² (DerSimonian–Laird) added when φ > 1."}[opts.overdispersion]
               + " " + ctx.policy.note)
    od = None if computed is None else computed.overdispersion
    details = FunnelDetails(None if computed is None else computed.target, measure.name, measure.kind,
                            "ratio" if ratio else "proportion", unit.name, list(opts.standardize),
                            opts.overdispersion, None if od is None else od.phi, None if od is None else od.tau2,
                            None if computed is None else computed.adjusted, measure.direction)
    title = f"{measure.label} by {unit.label}" + (" (standardised)" if opts.standardize else "")
    return builder.build(title=title, caption=caption, methods=methods, n=None if ctx.policy.is_small(n) else n,
                         details=details)
