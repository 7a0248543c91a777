"""Statistical process control of a quality measure over calendar periods (analysis ``spc``): a run chart with the
Anhøj rules, a p-chart, Laney's p′-chart or a u-chart, with an optional frozen baseline, read in Making Data Count
terms ("Special-cause variation: … ; direction: improvement").

One aggregation query returns the released denominator and numerator (and, for a rate, person-time) per period
(``analyses.measures``); the chart is computed from those counts (``analyses.stats.spc``). A period whose
denominator is 1 … k−1 (or whose estimate the policy withholds) is a missing period: not drawn, not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyses.context import AnalysisContext
from analyses.measures import QualityMeasure, period_counts, resolve_measure, shown_rows
from analyses.results import AnalysisResult, ResultBuilder
from analyses.stats import spc
from analyses.variables import AnalysisInputError

CHARTS = ("run", "p", "pp", "u")
CHART_NAMES = {"run": "Run chart", "p": "p-chart", "pp": "Laney p′-chart", "u": "u-chart"}
POINT_COLUMNS = ["period", "numerator", "denominator", "value", "cl", "lcl", "ucl", "signal", "phase", "baseline",
                 "above_upper", "below_lower", "in_long_run", "withheld"]


@dataclass(frozen=True)
class SpcOptions:
    outcome: str | None = None  # a declared measure or an outcome; None: the first measure, else the first outcome
    time: str | None = None  # an outcome's time role ("year"); declared measures have their own
    period: str = "year"  # "year", or "quarter"/"month" where the measure declares a month
    chart: str | None = None  # run, p, pp (Laney) or u; None: p for a proportion, u for a rate
    freeze: int | None = None  # the first N periods are the baseline of the centre line and limits


@dataclass(frozen=True)
class SpcDetails:
    """What only the SPC analysis reports (flattened into the CLI JSON beside the common keys)."""

    measure: str
    measure_kind: str  # "proportion" or "rate"
    per: int  # values are per this many (1 for a proportion, e.g. 100 person-years for a rate)
    chart: str  # run, p, pp or u
    period_unit: str  # year, quarter or month
    direction: str | None  # the measure's improvement direction, "up" or "down"
    target: float | None
    freeze: int | None
    runs: dict | None  # the Anhøj runs analysis of the latest phase (``runs_of``), None without a chart
    variation: str | None  # the Making Data Count reading, None without a chart
    assurance: str | None
    summary: str | None  # that reading in words


def spc_analysis(ctx: AnalysisContext, opts: SpcOptions = SpcOptions()) -> AnalysisResult:
    """The SPC chart of one measure in the filtered cohort (see the module docstring)."""
    measure = resolve_measure(ctx, opts.outcome, opts.time)
    chart_kind = _chart_kind(measure, opts.chart)
    counts, left_out, sql = period_counts(ctx, measure, opts.period)
    builder = ResultBuilder("spc", ctx.cohort())
    builder.query(sql)
    shown = _shown(ctx, counts, measure)
    n = int(counts["n"].sum())
    if shown.sum() < 2:
        builder.note(*_left_out_notes(ctx, left_out),
                     "Fewer than two periods can be shown after filtering; no chart is drawn.")
        builder.table("points", _empty_points(counts))
        return _build(builder, ctx, opts, measure, chart_kind, n, None, None)
    if opts.freeze is not None and not 2 <= opts.freeze <= len(counts):
        raise AnalysisInputError(f"--freeze must be a number of periods from 2 to {len(counts)}.")
    chart = _chart(chart_kind, counts, shown, measure, opts.freeze)
    summary = spc.summarise(chart, measure.direction, _target(measure))
    builder.note(summary.sentence, *_noise_notes(ctx, chart, counts, shown, measure),
                 *_left_out_notes(ctx, left_out))  # the reading first, then who is left out
    hidden = int((~shown).sum())
    if hidden:
        builder.note(f"{hidden} period(s) are withheld (fewer than {ctx.policy.min_cell} participants in the "
                     "denominator, or counts too small to show): not drawn and not used for the centre line or "
                     "limits.")
    builder.table("points", _points(ctx, chart, counts, shown, measure))
    return _build(builder, ctx, opts, measure, chart_kind, n, chart, summary)


def _noise_notes(ctx, chart: spc.ControlChart, counts: pd.DataFrame, shown: np.ndarray,
                 measure: QualityMeasure) -> list[str]:
    """Periods beyond the limits that the cell-key perturbation alone could have put there: moving each shown
    count by up to ±D (the published ptable) brings the proportion back inside its limits. Computed from the
    released counts only."""
    if not ctx.policy.perturbed or measure.kind != "proportion":
        return []
    d = ctx.policy.max_perturbation
    p = chart.points
    doubtful = []
    for i, period in enumerate(p["period"]):
        events, n = float(counts["events"].iloc[i]), float(counts["n"].iloc[i])
        if not shown[i] or n - d <= 0:
            continue
        if p["below_lower"].iloc[i] and min(1.0, (events + d) / (n - d)) >= p["lower"].iloc[i]:
            doubtful.append(str(period))
        elif p["above_upper"].iloc[i] and max(0.0, (events - d) / (n + d)) <= p["upper"].iloc[i]:
            doubtful.append(str(period))
    if not doubtful:
        return []
    return [f"The signal at {', '.join(doubtful)} rests on few participants: moving its perturbed counts by up to "
            f"±{d} each (the cell key method) would put it inside the limits. Check it in exact mode, over a longer "
            "period or with more sites before acting on it."]


def _left_out_notes(ctx, left_out: int) -> list[str]:
    if not left_out:
        return []
    return [f"{ctx.policy.show_count(left_out)} participants in the denominator without a period are left out."]


def _chart_kind(measure: QualityMeasure, chart: str | None) -> str:
    chart = chart or ("u" if measure.kind == "rate" else "p")
    if chart not in CHARTS:
        raise AnalysisInputError(f"Unknown chart. Choose from: {', '.join(CHARTS)}.")
    if chart == "u" and measure.kind != "rate":
        raise AnalysisInputError(f"A u-chart shows a rate per person-time; {measure.label} is a proportion (use p, "
                                 "pp or run).")
    if chart in ("p", "pp") and measure.kind == "rate":
        raise AnalysisInputError(f"{measure.label} is a rate per person-time: use a u-chart or a run chart.")
    return chart


def _shown(ctx: AnalysisContext, counts: pd.DataFrame, measure: QualityMeasure) -> np.ndarray:
    """Periods that may be drawn (``analyses.measures.shown_rows``), with person-time for a rate."""
    shown = shown_rows(ctx.policy, counts["n"], counts["events"])
    return shown & (counts["pt"].fillna(0).to_numpy() > 0) if measure.kind == "rate" else shown


def _chart(kind: str, counts: pd.DataFrame, shown: np.ndarray, measure: QualityMeasure, freeze) -> spc.ControlChart:
    exposure = counts["pt"] if measure.kind == "rate" else counts["n"]
    num = np.where(shown, counts["events"].astype(float), np.nan)
    den = np.where(shown, exposure.astype(float), np.nan)
    labels = list(counts["label"])
    try:
        if kind == "run":
            return spc.run_chart(num, den, labels, freeze=freeze)
        if kind == "p":
            return spc.p_chart(num, den, labels, freeze=freeze)
        if kind == "pp":
            return spc.laney_p_chart(num, den, labels, freeze=freeze)
        return spc.u_chart(num, den, labels, freeze=freeze)
    except ValueError as exc:
        raise AnalysisInputError(f"The chart cannot be computed: {exc}") from None


def _target(measure: QualityMeasure) -> float | None:
    return None if measure.target is None else measure.target / measure.per


def _points(ctx, chart: spc.ControlChart, counts: pd.DataFrame, shown: np.ndarray,
            measure: QualityMeasure) -> pd.DataFrame:
    """The chart's points as released: counts below k as None, values in the measure's units (per ``per``)."""
    p = chart.points
    scale = float(measure.per)
    small = ctx.policy.small_cells
    numerator = [None if s or not ok else int(e) for e, s, ok in zip(counts["events"], small(counts["events"]),
                                                                         shown)]
    exposure = counts["pt"].astype(float) if measure.kind == "rate" else counts["n"].astype(int)
    denominator = [d if ok else None for d, ok in zip(exposure.tolist(), shown)]
    frame = pd.DataFrame({
        "period": list(p["period"]), "numerator": pd.Series(numerator, dtype=object),
        "denominator": pd.Series(denominator, dtype=object),
        "value": p["value"] * scale, "cl": p["centre"] * scale, "lcl": p["lower"] * scale, "ucl": p["upper"] * scale,
        "signal": (p["outside_limits"] | p["in_long_run"]).to_numpy(), "phase": p["phase"],
        "baseline": p["baseline"], "above_upper": p["above_upper"], "below_lower": p["below_lower"],
        "in_long_run": p["in_long_run"], "withheld": ~shown})
    return frame[POINT_COLUMNS]


def _empty_points(counts: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame({c: [None] * len(counts) for c in POINT_COLUMNS})
    frame["period"] = list(counts["label"])
    frame["withheld"] = True
    frame["signal"] = False
    return frame


def runs_of(chart: spc.ControlChart | None) -> dict | None:
    """The Anhøj runs analysis of the chart's latest phase, as the JSON ``runs`` object."""
    if chart is None:
        return None
    runs = chart.phases[-1].runs
    return {"n_useful": runs.n_useful, "longest_run": runs.longest_run, "longest_run_max": runs.longest_run_limit,
            "crossings": runs.crossings, "crossings_min": runs.crossings_limit, "signal": runs.signal}


def _unit_words(measure: QualityMeasure) -> str:
    return f"per {measure.per:,} person-years" if measure.kind == "rate" else "proportion"


def _build(builder: ResultBuilder, ctx, opts: SpcOptions, measure: QualityMeasure, kind: str, n: int, chart,
           summary) -> AnalysisResult:
    caption = (f"{CHART_NAMES[kind]} of {measure.label} by {opts.period}; {builder.cohort.description}; "
               f"N = {ctx.policy.show_count(n)}.")
    baseline = f"the first {opts.freeze} periods" if opts.freeze else "all periods"
    methods = (f"{measure.label} ({_unit_words(measure)}) per calendar {opts.period}, from released counts per "
               f"period. {CHART_NAMES[kind]} as R qicharts2 computes it, centre line and limits from {baseline}: "
               + _chart_method(kind) + " Special-cause signals: a point beyond a 3-sigma limit (Shewhart), or the "
               "Anhøj runs rules — a run on one side of the centre line longer than round(log2 n) + 3, or fewer "
               "crossings than qbinom(0.05, n − 1, 0.5) — read in NHS England's Making Data Count terms with the "
               "measure's improvement direction. " + ctx.policy.note)
    details = SpcDetails(measure.name, measure.kind, measure.per, kind, opts.period, measure.direction,
                         measure.target, opts.freeze, runs_of(chart),
                         summary.variation if summary else None, summary.assurance if summary else None,
                         summary.sentence if summary else None)
    return builder.build(title=f"{measure.label}: {CHART_NAMES[kind].lower()} by {opts.period}", caption=caption,
                         methods=methods, n=None if ctx.policy.is_small(n) else n, details=details)


def _chart_method(kind: str) -> str:
    return {"run": "the centre line is the median; no limits.",
            "p": "p̄ = Σ numerators / Σ denominators, limits p̄ ± 3·sqrt(p̄(1 − p̄)/nᵢ) per period.",
            "pp": "Laney's p′: the p-chart's σ per period times σ_z, the mean screened moving range of the z-scores "
                  "/ 1.128.",
            "u": "ū = Σ events / Σ person-time, limits ū ± 3·sqrt(ū/tᵢ) per period."}[kind]
