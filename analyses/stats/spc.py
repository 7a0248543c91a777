"""Statistical process control (SPC) over per-period aggregates: run charts with the Anhøj rules, p-charts,
Laney p′-charts and u-charts, with a frozen baseline or phases, and a Making Data Count summary.

Everything here works on one number (or one numerator and denominator) per period, in time order; nothing touches
an engine, a figure or Streamlit. The calculations follow R ``qicharts2`` (Anhøj 2018; ``R/helper.functions.R``:
``runs.analysis``, ``qic.run``, ``qic.p``, ``qic.pp``, ``qic.u``, ``makeparts``), re-implemented here:

- **Runs analysis** (``runs_analysis``; Anhøj J, Olesen AV. Run charts revisited: a simulation study of run chart
  rules for detection of non-random variation in health care processes. PLoS One 2014;9:e113825). Points on the
  centre line and missing points are dropped; of the ``n`` remaining ("useful") observations, the longest run of
  points on one side is a signal when it is longer than ``round(log2(n)) + 3`` (Schilling 2012), and the number of
  crossings of the centre line is a signal when it is smaller than ``qbinom(0.05, n − 1, 0.5)`` (Chen 2010). A run
  continues across a point on the centre line (that point belongs to no run), as in qicharts2.
- **p-chart**: centre p̄ = Σx/Σn over the baseline periods; limits p̄ ± 3·sqrt(p̄(1 − p̄)/nᵢ), clipped to [0, 1].
- **Laney p′-chart** (Laney DB. Improved control charts for attributes. Quality Engineering 2002;14:531–537):
  zᵢ = (pᵢ − p̄)/σ_pᵢ over the baseline periods, σ_z = mean moving range of z / 1.128, limits p̄ ± 3·σ_pᵢ·σ_z,
  clipped to [0, 1]. The moving ranges are *screened* by default, as qicharts2 does once attached
  (``options(qic.screenedmr = TRUE)`` in its ``.onAttach``; Nelson 1982): moving ranges of 3.267 × their mean or
  more are dropped and the mean recomputed, once. A missing period breaks the moving ranges on both sides of it.
- **u-chart** (rates per person-time): ū = Σx/Σt over the baseline periods; limits ū ± 3·sqrt(ū/tᵢ), lower
  limit clipped at 0.
- **Baseline and phases**: ``freeze=k`` computes centre and limits from the first k periods and applies them to
  all (qicharts2 ``freeze``); ``phases=(12, 30)`` starts new phases at the 13th and 31st periods (0-based
  positions 12 and 30; qicharts2 ``part = c(12, 30)``), each with its own centre, limits and runs analysis.
  As in qicharts2 the runs analysis covers every period of a phase (after a freeze too), against its centre line.
- **Shewhart rule 1**: a point strictly above the upper or below the lower 3-sigma limit.
- **Summary** (``summarise``, ``describe``) in the semantics of NHS England's Making Data Count ("Making data
  count: strengthening your decisions", NHS Improvement 2019; R ``NHSRplotthedots``): variation is common cause or
  special cause (improvement or concern given the measure's improvement direction "up"/"down", neutral without
  one); assurance against a target is "consistently passing" or "consistently failing" when the limits lie
  entirely on one side of it, otherwise "hit and miss". The summary describes the latest phase (the current
  process), and here the special-cause rules are Anhøj's two runs rules plus Shewhart rule 1, not MDC's
  run-of-7/trend-of-6/two-in-three set.

Deliberate differences from qicharts2, all at edge cases: a period whose denominator is 0 or missing, or whose
numerator is missing, is a missing period (qicharts2 would plot x/0 = Inf and count it above the centre line);
when every baseline moving range is 0 the screening is skipped (qicharts2's screen would drop them all and give
NaN limits); when σ_pᵢ is 0 (p̄ = 0 or 1) the Laney limits equal the centre line (qicharts2 gives NaN).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "Run",
    "RunsAnalysis",
    "Phase",
    "ControlChart",
    "Signal",
    "ChartSummary",
    "longest_run_limit",
    "crossings_limit",
    "binomial_quantile",
    "runs_analysis",
    "run_chart",
    "p_chart",
    "laney_p_chart",
    "u_chart",
    "summarise",
    "describe",
]

SIGMA = 3.0
D2 = 1.128  # bias constant d2 for moving ranges of two (Montgomery); qicharts2 and Laney 2002
MR_SCREEN = 3.267  # D4 for n = 2: upper limit of a moving range (Nelson 1982), as qicharts2's qic.pp
IMPROVEMENT_DIRECTIONS = ("up", "down", None)

POINT_COLUMNS = ["period", "phase", "baseline", "numerator", "denominator", "value", "centre", "lower", "upper",
                 "above_upper", "below_lower", "outside_limits", "in_long_run"]


# --- runs analysis (Anhøj rules) ------------------------------------------------------------------------------

def longest_run_limit(n_useful: int) -> int:
    """Longest run expected by chance among ``n_useful`` points: ``round(log2(n)) + 3`` (Schilling 2012; Anhøj &
    Olesen 2014). A longest run *longer* than this is a signal. n = 24 gives 8."""
    n = _positive_count(n_useful)
    return int(np.floor(np.log2(n) + 0.5)) + 3


def crossings_limit(n_useful: int) -> int:
    """Fewest crossings expected by chance among ``n_useful`` points: R ``qbinom(0.05, n − 1, 0.5)`` (Chen 2010;
    Anhøj & Olesen 2014), i.e. the smallest c with P(C ≤ c) ≥ 0.05 for C ~ Binomial(n − 1, ½). *Fewer* crossings
    than this is a signal. n = 24 gives 8."""
    n = _positive_count(n_useful)
    return int(binomial_quantile(0.05, n - 1, 0.5))


def binomial_quantile(p, size, prob) -> np.ndarray:
    """Smallest r with P(X ≤ r) ≥ p for X ~ Binomial(size, prob) (R ``qbinom``), elementwise."""
    p, size, prob = np.broadcast_arrays(np.asarray(p, float), np.asarray(size, float), np.asarray(prob, float))
    r = np.nan_to_num(stats.binom.ppf(p, size, prob), nan=0.0)
    r = np.clip(r, 0, size)
    for _ in range(4):  # scipy's ppf is within one of the answer; settle it on the cdf itself
        too_low = stats.binom.cdf(r, size, prob) < p
        r = np.where(too_low & (r < size), r + 1, r)
        too_high = (r > 0) & (stats.binom.cdf(r - 1, size, prob) >= p)
        r = np.where(too_high, r - 1, r)
    return r


def _positive_count(n) -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"the number of useful observations must be a whole number of at least 1 (got {n}).")
    return int(n)


@dataclass(frozen=True)
class Run:
    """A run of consecutive useful points on one side of the centre line. ``first``/``last`` are 0-based positions
    in the chart (points on the centre line or missing in between belong to no run but do not end it)."""

    first: int
    last: int
    length: int
    side: str  # "high" (above the centre line) or "low"
    points: tuple[int, ...] = ()  # positions of the run's points (without those on the centre line or missing)


@dataclass(frozen=True)
class RunsAnalysis:
    """Anhøj runs analysis of one phase (qicharts2 ``n.obs``, ``n.useful``, ``longest.run``, ``longest.run.max``,
    ``n.crossings``, ``n.crossings.min``, ``runs.signal``). Counts are None when no point is useful."""

    n_periods: int
    n_useful: int
    longest_run: int | None
    longest_run_limit: int | None
    crossings: int | None
    crossings_limit: int | None
    long_runs: tuple[Run, ...]  # every run longer than the limit, in time order

    @property
    def long_run_signal(self) -> bool:
        return bool(self.long_runs)

    @property
    def crossings_signal(self) -> bool:
        return self.crossings is not None and self.crossings < self.crossings_limit

    @property
    def signal(self) -> bool:
        return self.long_run_signal or self.crossings_signal

    @property
    def run_signal_points(self) -> tuple[int, ...]:
        """0-based positions of the useful points that belong to a signalling run."""
        return tuple(i for run in self.long_runs for i in run.points)


def runs_analysis(values, centre, offset: int = 0) -> RunsAnalysis:
    """Anhøj runs analysis of ``values`` (NaN = missing) against ``centre`` (a number or one per value).

    Positions in the result are ``offset`` + index into ``values``. Equal to qicharts2's ``runs.analysis``.
    """
    y = np.asarray(values, float)
    side = np.sign(y - np.broadcast_to(np.asarray(centre, float), y.shape))
    useful = np.flatnonzero(np.isfinite(side) & (side != 0))
    if useful.size == 0:
        return RunsAnalysis(len(y), 0, None, None, None, None, ())
    signs = side[useful]
    starts = np.r_[0, np.flatnonzero(np.diff(signs) != 0) + 1]
    ends = np.r_[starts[1:], signs.size]
    lengths = ends - starts
    limit = longest_run_limit(signs.size)
    long_runs = tuple(
        Run(int(useful[a] + offset), int(useful[b - 1] + offset), int(b - a), "high" if signs[a] > 0 else "low",
            tuple(int(i + offset) for i in useful[a:b]))
        for a, b in zip(starts, ends) if b - a > limit)
    return RunsAnalysis(len(y), int(signs.size), int(lengths.max()), limit, int(lengths.size - 1),
                        crossings_limit(signs.size), long_runs)


# --- charts ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Phase:
    """One phase of a chart: 0-based positions ``first``..``last``, the number of baseline periods its centre and
    limits come from, the centre line, Laney's σ_z (p′-charts only) and its runs analysis."""

    number: int
    first: int
    last: int
    baseline_periods: int
    centre: float
    runs: RunsAnalysis
    points_outside: int
    sigma_z: float | None = None


@dataclass(frozen=True)
class ControlChart:
    """A computed chart. ``points`` has one row per period, in order, with columns:

    - ``period``: the label given (default 1, 2, …); ``phase``: 1-based phase number;
    - ``baseline``: the period is one the centre and limits were computed from;
    - ``numerator``, ``denominator``: as given (NaN for a run chart without denominators; a missing period has
      NaN in both); ``value``: numerator/denominator, or the value given;
    - ``centre``: the phase's centre line (every period); ``lower``, ``upper``: 3-sigma limits (NaN for run
      charts and for missing periods);
    - ``above_upper``, ``below_lower``, ``outside_limits``: Shewhart rule 1 (strict inequalities);
    - ``in_long_run``: the point belongs to a run longer than the Anhøj limit.
    """

    kind: str  # "run", "p", "laney_p", "u"
    points: pd.DataFrame
    phases: tuple[Phase, ...]

    @property
    def runs_signal(self) -> bool:
        return any(phase.runs.signal for phase in self.phases)


def run_chart(values, denominators=None, periods=None, centre: float | None = None, freeze: int | None = None,
              phases: Sequence[int] | None = None) -> ControlChart:
    """Run chart: centre line = median of the baseline values (or ``centre``), no limits, Anhøj runs analysis.

    With ``denominators``, ``values`` are numerators and the plotted value is their ratio (qicharts2 ``y/n``).
    """
    return _chart("run", values, denominators, periods, centre, freeze, phases)


def p_chart(events, denominators, periods=None, centre: float | None = None, freeze: int | None = None,
            phases: Sequence[int] | None = None) -> ControlChart:
    """p-chart of ``events / denominators`` per period (qicharts2 ``chart = 'p'``); see the module docstring."""
    return _chart("p", events, denominators, periods, centre, freeze, phases)


def laney_p_chart(events, denominators, periods=None, centre: float | None = None, freeze: int | None = None,
                  phases: Sequence[int] | None = None, screen_moving_ranges: bool = True) -> ControlChart:
    """Laney p′-chart (Laney 2002; qicharts2 ``chart = 'pp'``) for large denominators, where between-period
    variation makes p-chart limits too narrow. ``screen_moving_ranges`` as qicharts2's ``qic.screenedmr``."""
    return _chart("laney_p", events, denominators, periods, centre, freeze, phases, screen_moving_ranges)


def u_chart(events, exposure, periods=None, centre: float | None = None, freeze: int | None = None,
            phases: Sequence[int] | None = None) -> ControlChart:
    """u-chart of the rate ``events / exposure`` (e.g. person-time) per period (qicharts2 ``chart = 'u'``)."""
    return _chart("u", events, exposure, periods, centre, freeze, phases)


def _chart(kind, numerators, denominators, periods, centre, freeze, phases, screen=True) -> ControlChart:
    with np.errstate(over="ignore"):  # a denominator near 0 gives infinite values and limits, which is right
        return _build_chart(kind, numerators, denominators, periods, centre, freeze, phases, screen)


def _build_chart(kind, numerators, denominators, periods, centre, freeze, phases, screen) -> ControlChart:
    num, den, value = _period_values(kind, numerators, denominators)
    n = value.size
    labels = list(range(1, n + 1)) if periods is None else list(periods)
    if len(labels) != n:
        raise ValueError(f"periods has {len(labels)} labels for {n} periods.")
    if centre is not None and not np.isfinite(centre):
        raise ValueError("centre must be a finite number.")
    phase_of = _phase_numbers(n, freeze, phases)
    baseline = np.arange(n) < freeze if freeze is not None else np.ones(n, bool)
    frame = pd.DataFrame({"period": labels, "phase": phase_of, "baseline": baseline, "numerator": num,
                          "denominator": den, "value": value})
    for column in ("centre", "lower", "upper"):
        frame[column] = np.nan
    frame["in_long_run"] = False
    built = []
    for number in np.unique(phase_of):
        rows = np.flatnonzero(phase_of == number)
        part = frame.iloc[rows]
        cl, lower, upper, sigma_z = _limits(kind, part, centre, screen)
        frame.loc[frame.index[rows], ["centre", "lower", "upper"]] = np.column_stack(
            [np.full(rows.size, cl), lower, upper])
        runs = runs_analysis(value[rows], cl, offset=int(rows[0]))
        frame.loc[frame.index[list(runs.run_signal_points)], "in_long_run"] = True
        built.append((int(number), rows, cl, runs, sigma_z))
    frame["above_upper"] = (frame["value"] > frame["upper"]).to_numpy()
    frame["below_lower"] = (frame["value"] < frame["lower"]).to_numpy()
    frame["outside_limits"] = frame["above_upper"] | frame["below_lower"]
    frame = frame[POINT_COLUMNS]
    chart_phases = tuple(
        Phase(number, int(rows[0]), int(rows[-1]), int(frame["baseline"].iloc[rows].sum()), float(cl), runs,
              int(frame["outside_limits"].iloc[rows].sum()), sigma_z)
        for number, rows, cl, runs, sigma_z in built)
    return ControlChart(kind, frame, chart_phases)


def _period_values(kind, numerators, denominators):
    num = _counts("numerators" if denominators is not None else "values", numerators, allow_negative=kind == "run")
    if denominators is None:
        if kind != "run":
            raise ValueError(f"a {kind} chart needs denominators.")
        return np.full(num.size, np.nan), np.full(num.size, np.nan), num
    den = _counts("denominators", denominators, allow_negative=False)
    if den.size != num.size:
        raise ValueError(f"{num.size} numerators but {den.size} denominators.")
    if kind in ("p", "laney_p") and np.any(num > den):
        raise ValueError("events must not exceed denominators in a p-chart.")
    missing = np.isnan(num) | np.isnan(den) | (den == 0)
    num, den = np.where(missing, np.nan, num), np.where(missing, np.nan, den)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num, den, num / den


def _counts(name, values, allow_negative) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"{name}: no periods given.")
    if np.any(np.isinf(array)):
        raise ValueError(f"{name} must be finite numbers (NaN marks a missing period).")
    if not allow_negative and np.any(array < 0):
        raise ValueError(f"{name} must not be negative.")
    return array


def _phase_numbers(n, freeze, phases) -> np.ndarray:
    """1-based phase number per period (qicharts2 ``makeparts``); validates ``freeze`` and ``phases``."""
    if freeze is not None and phases:
        raise ValueError("give either freeze (one baseline for the whole chart) or phases, not both.")
    if freeze is not None and (int(freeze) != freeze or not 1 <= freeze <= n):
        raise ValueError(f"freeze must be a whole number of periods between 1 and {n} (got {freeze}).")
    starts = sorted(set(int(p) for p in phases or ()))
    if any(s < 1 or s >= n for s in starts) or any(int(p) != p for p in phases or ()):
        raise ValueError(f"phase starts must be 0-based positions between 1 and {n - 1} (got {list(phases)}).")
    return np.searchsorted(np.array(starts, int), np.arange(n), side="right") + 1


def _limits(kind, part: pd.DataFrame, centre, screen):
    """Centre, lower and upper limits (arrays over the phase) and σ_z for one phase."""
    base = part["baseline"].to_numpy() & part["value"].notna().to_numpy()
    value, num, den = (part[c].to_numpy(float) for c in ("value", "numerator", "denominator"))
    none = np.full(value.size, np.nan)
    if kind == "run":
        cl = centre if centre is not None else (float(np.median(value[base])) if base.any() else np.nan)
        return cl, none, none, None
    cl = centre if centre is not None else _pooled_ratio(num[base], den[base])
    if kind == "u":
        sd = np.sqrt(cl / den)
        return cl, np.maximum(cl - SIGMA * sd, 0.0), cl + SIGMA * sd, None
    sd = np.sqrt(cl * (1 - cl) / den)
    sigma_z = None
    if kind == "laney_p":
        sigma_z = _laney_sigma_z(value, sd, cl, part["baseline"].to_numpy(), screen)
        with np.errstate(invalid="ignore"):  # an infinite σ_pᵢ (denominator near 0) times σ_z = 0: no limit
            sd = np.where(sd == 0, 0.0, sd * sigma_z)
    return cl, np.clip(cl - SIGMA * sd, 0.0, 1.0), np.clip(cl + SIGMA * sd, 0.0, 1.0), sigma_z


def _pooled_ratio(num, den) -> float:
    total = den.sum()
    return float(num.sum() / total) if total > 0 else np.nan


def _laney_sigma_z(value, sd, cl, baseline, screen) -> float:
    """σ_z = mean moving range of the baseline z-scores / 1.128 (Laney 2002), screened as qicharts2 ``qic.pp``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (value[baseline] - cl) / sd[baseline]
    moving_ranges = np.abs(np.diff(z))
    moving_ranges = moving_ranges[np.isfinite(moving_ranges)]
    if moving_ranges.size == 0:
        return np.nan
    mean_range = moving_ranges.mean()
    if screen and mean_range > 0:
        mean_range = moving_ranges[moving_ranges < MR_SCREEN * mean_range].mean()
    return float(mean_range / D2)


# --- Making Data Count summary --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Signal:
    """One special-cause signal: ``kind`` is "long_run", "few_crossings" (whole phase) or "outside_limits" (one
    point); ``side`` "high"/"low" (None for crossings); 0-based positions ``first``..``last``."""

    kind: str
    side: str | None
    first: int
    last: int
    length: int


@dataclass(frozen=True)
class ChartSummary:
    """Making Data Count reading of the latest phase (or the one asked for).

    ``variation``: "common_cause", "special_cause_improvement", "special_cause_concern" or "special_cause_neutral"
    (no improvement direction given, or only a crossings signal, which has no direction); the direction is that
    of the most recent signal with a side. ``assurance``: "consistently_passing", "consistently_failing",
    "hit_and_miss", or None (no target, no improvement direction, or no limits). ``sentence``: plain English.
    """

    kind: str
    phase: int
    variation: str
    improvement: str | None
    target: float | None
    assurance: str | None
    signals: tuple[Signal, ...]
    sentence: str


def summarise(chart: ControlChart, improvement: str | None = None, target: float | None = None,
              phase: int | None = None) -> ChartSummary:
    """Variation and assurance of one phase of ``chart`` (default: the latest) in Making Data Count terms.

    ``improvement`` is the direction in which the measure gets better ("up", "down", or None when neither).
    Assurance compares ``target`` with the phase's limits in every period that has them: all lower limits above
    the target is consistently passing when up is better (failing when down is better), all upper limits below it
    the reverse; otherwise hit and miss (NHSRplotthedots ``ptd_calculate_assurance_type``).
    """
    if improvement not in IMPROVEMENT_DIRECTIONS:
        raise ValueError(f"improvement must be 'up', 'down' or None (got {improvement!r}).")
    if target is not None and not np.isfinite(target):
        raise ValueError("target must be a finite number.")
    chosen = chart.phases[-1] if phase is None else _phase(chart, phase)
    signals = _signals(chart, chosen)
    variation = _variation(signals, improvement)
    assurance = _assurance(chart, chosen, improvement, target)
    summary = ChartSummary(chart.kind, chosen.number, variation, improvement, target, assurance, signals, "")
    return replace(summary, sentence=describe(chart, summary))


def _phase(chart, number) -> Phase:
    for phase in chart.phases:
        if phase.number == number:
            return phase
    raise ValueError(f"the chart has phases 1 to {len(chart.phases)} (asked for {number}).")


def _signals(chart, phase) -> tuple[Signal, ...]:
    runs = phase.runs
    found = [Signal("long_run", run.side, run.first, run.last, run.length) for run in runs.long_runs]
    if runs.crossings_signal:
        found.append(Signal("few_crossings", None, phase.first, phase.last, runs.n_useful))
    rows = chart.points.iloc[phase.first:phase.last + 1]
    for position, above, below in zip(range(phase.first, phase.last + 1), rows["above_upper"], rows["below_lower"]):
        if above or below:
            found.append(Signal("outside_limits", "high" if above else "low", position, position, 1))
    return tuple(sorted(found, key=lambda s: (s.last, s.first)))


def _variation(signals, improvement) -> str:
    if not signals:
        return "common_cause"
    sided = [s for s in signals if s.side is not None]
    if not sided or improvement is None:
        return "special_cause_neutral"
    good = "high" if improvement == "up" else "low"
    return "special_cause_improvement" if sided[-1].side == good else "special_cause_concern"


def _assurance(chart, phase, improvement, target) -> str | None:
    if target is None or improvement is None:
        return None
    rows = chart.points.iloc[phase.first:phase.last + 1]
    rows = rows[rows["lower"].notna() & rows["upper"].notna()]
    if rows.empty:
        return None
    if (rows["lower"] > target).all():
        return "consistently_passing" if improvement == "up" else "consistently_failing"
    if (rows["upper"] < target).all():
        return "consistently_failing" if improvement == "up" else "consistently_passing"
    return "hit_and_miss"


def describe(chart: ControlChart, summary: ChartSummary) -> str:
    """One or two plain-English sentences for ``summary``, e.g. "Special-cause variation: 9 periods in a row below
    the centre line from 2016 to 2024; direction: improvement."."""
    phase = _phase(chart, summary.phase)
    labels = [str(p) for p in chart.points["period"]]
    if phase.runs.n_useful == 0:
        text = "No variation to assess: no period has a value off the centre line."
    elif summary.variation == "common_cause":
        text = _common_cause_text(chart, phase)
    else:
        parts = [_signal_text(s, labels, phase.runs) for s in summary.signals if s.kind != "outside_limits"]
        parts += _outside_text([s for s in summary.signals if s.kind == "outside_limits"], labels)
        text = f"Special-cause variation: {'; '.join(parts)}; direction: {_direction_word(summary)}."
    if summary.assurance is not None:
        text += " " + _assurance_text(summary)
    return text


def _common_cause_text(chart, phase) -> str:
    runs = phase.runs
    rules = "no run or crossing signal" if chart.kind == "run" else "no run, crossing or control-limit signal"
    return (f"Common-cause variation: {rules} in {_periods(phase.last - phase.first + 1)} (longest run "
            f"{runs.longest_run}, limit {runs.longest_run_limit}; {runs.crossings} crossings, at least "
            f"{runs.crossings_limit} expected).")


def _signal_text(signal, labels, runs) -> str:
    if signal.kind == "few_crossings":
        return (f"only {runs.crossings} crossings of the centre line from {labels[signal.first]} to "
                f"{labels[signal.last]} (at least {runs.crossings_limit} expected in {_periods(runs.n_useful)} "
                f"off the centre line)")
    where = "above" if signal.side == "high" else "below"
    return (f"{signal.length} periods in a row {where} the centre line from {labels[signal.first]} "
            f"to {labels[signal.last]}")


def _outside_text(signals, labels) -> list[str]:
    texts = []
    for side, where in (("high", "above the upper"), ("low", "below the lower")):
        points = [labels[s.first] for s in signals if s.side == side]
        if points:
            texts.append(f"{_periods(len(points))} {where} control limit ({', '.join(points)})")
    return texts


def _direction_word(summary) -> str:
    if summary.variation == "special_cause_improvement":
        return "improvement"
    if summary.variation == "special_cause_concern":
        return "concern"
    sided = [s for s in summary.signals if s.side is not None]
    if not sided:
        return "none (too few crossings has no direction)"
    return f"{'higher' if sided[-1].side == 'high' else 'lower'} (no improvement direction set)"


def _assurance_text(summary) -> str:
    target = f"{summary.target:.4g}"
    if summary.assurance == "hit_and_miss":
        return (f"Assurance: hit and miss; the target of {target} lies within the control limits of at least one "
                f"period.")
    side = "above" if (summary.assurance == "consistently_passing") == (summary.improvement == "up") else "below"
    verb = "passing" if summary.assurance == "consistently_passing" else "failing"
    return f"Assurance: consistently {verb} the target of {target} (limits entirely {side} it)."


def _periods(count: int) -> str:
    return f"{count} period" if count == 1 else f"{count} periods"
