"""Biomarker vs time-to-event risk (serum ferritin vs augmentation on the demo): bands, ORs, HRs, KM, dose–response.

Needs the biomarker and time-to-event roles. Population: participants of the filtered cohort with a biomarker value —
everyone, or only those who started a treatment (the default when the mapping has a treatment role).
One aggregation query returns risk sets — participants per (biomarker value, adjusters, follow-up time, event) —
and every table, curve and model is computed from it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analyses.bands import BiomarkerBands
from analyses.context import AnalysisContext
from analyses.design import design_matrix, formula, make_term, undefined_spline_note
from analyses.results import AnalysisResult, Estimate, ResultBuilder, TestResult
from analyses.stats.glm import NaturalSpline, fit_logistic, weighted_quantiles
from analyses.stats.proportions import poisson_rate_ci, with_proportion
from analyses.stats.survival import (
    SurvivalDataError,
    cox_fit,
    kaplan_meier,
    logrank_test,
    proportional_hazards_test,
    survival_at,
)
from analyses.variables import AnalysisInputError, resolve_all
from queries.aggregates import risk_sets

SPLINE_DF = 4
GRID_POINTS = 61
MAX_LOG_HR = 700.0  # exp() of more overflows a float


@dataclass(frozen=True)
class BiomarkerRiskOptions:
    bands: BiomarkerBands | None = None  # None: the mapping's cut points
    reference_band: str | None = None  # None: the top band
    adjust: tuple[str, ...] | None = None  # None: age and sex, and drug among the treated (those the cohort has)
    at: tuple[float, ...] | None = None  # Kaplan–Meier times (years); None: whole years to the end of follow-up
    ties: str = "breslow"
    population: str | None = None  # "treated" | "all"; None: "treated" when the mapping has a treatment role


POPULATIONS = {"treated": "participants who started a treatment", "all": "all participants"}
DEFAULT_ADJUSTERS = ("age", "sex", "drug")


@dataclass(frozen=True)
class BiomarkerRiskDetails:
    """What only the biomarker-risk analysis reports (flattened into the CLI JSON beside the common keys)."""

    reference_band: str
    reference_value: float  # the biomarker value the dose–response HRs are relative to
    at: list[float]  # the Kaplan–Meier times (years)
    band_labels: list[str]  # lowest band first
    biomarker_label: str
    event_label: str


@dataclass(frozen=True)
class _Setup:
    bands: BiomarkerBands
    labels: list[str]
    reference: str
    adjusters: tuple
    biomarker: str
    event: str
    population: str  # a key of POPULATIONS
    log_scale: bool  # the dose–response spline is of log(biomarker); False when the biomarker may be zero or less


def biomarker_risk(ctx: AnalysisContext, opts: BiomarkerRiskOptions = BiomarkerRiskOptions()) -> AnalysisResult:
    """Risk of the mapped event by band of the mapped biomarker (see the module docstring)."""
    setup = _setup(ctx, opts)
    keys = list(dict.fromkeys(["biomarker"] + [v.column for v in setup.adjusters]))
    policy = ctx.policy
    table = ctx.table(treated_only=setup.population == "treated")
    released = ctx.release(risk_sets(table, keys, setup.bands.cut_points, policy.continuous_digits,
                                     policy.time_step_days))
    usable, notes = _usable(ctx, released, keys, setup)
    builder = ResultBuilder("biomarker-risk", ctx.cohort())
    builder.query(released.sql)
    builder.note(*notes)
    return _analyse(ctx, opts, setup, _Released(released, usable, setup), builder)


def _setup(ctx: AnalysisContext, opts: BiomarkerRiskOptions) -> _Setup:
    mapping = ctx.engine.info.mapping
    needed = {"biomarker": mapping.biomarker, "time to event": mapping.time_to_event}
    missing = [name for name, role in needed.items() if role is None]
    if missing:
        raise AnalysisInputError(f"Biomarker risk needs the {', '.join(missing)} role(s); the mapping does not name "
                                 "them.")
    population = opts.population or ("treated" if mapping.treatment else "all")
    if population not in POPULATIONS:
        raise AnalysisInputError(f"Unknown population. Choose from: {', '.join(POPULATIONS)}.")
    if population == "treated" and mapping.treatment is None:
        raise AnalysisInputError("The treated population needs the treatment role; the mapping does not name it. "
                                 "Use the population 'all'.")
    bands = opts.bands or BiomarkerBands(tuple(mapping.biomarker.cut_points) or (50.0, 75.0, 100.0))
    labels = bands.labels()
    reference = opts.reference_band or labels[-1]
    if reference not in labels:
        raise AnalysisInputError(f"Unknown reference band. Choose from: {', '.join(labels)}.")
    if opts.ties not in ("breslow", "efron"):
        raise AnalysisInputError("Ties must be 'breslow' or 'efron'.")
    if opts.at is not None and (not opts.at or any(not np.isfinite(t) or t < 0 for t in opts.at)):
        raise AnalysisInputError("Kaplan–Meier times must be zero or more (years).")
    adjusters = resolve_all(default_adjusters(ctx.variables, population) if opts.adjust is None else opts.adjust,
                            ctx.variables, "adjuster")
    label = f"{mapping.biomarker.label} ({mapping.biomarker.unit})" if mapping.biomarker.unit else \
        mapping.biomarker.label
    return _Setup(bands, labels, reference, adjusters, label, mapping.time_to_event.label, population,
                  mapping.biomarker.positive)


def default_adjusters(variables: Collection[str], population: str) -> tuple[str, ...]:
    """Age and sex, and the drug among the treated: those of them among ``variables`` (the cohort's variable names).
    An adjuster that one value fills after filtering is left out later, with a note."""
    wanted = DEFAULT_ADJUSTERS if population == "treated" else tuple(a for a in DEFAULT_ADJUSTERS if a != "drug")
    return tuple(a for a in wanted if a in variables)


def _exclusions(keys: list[str], log_scale: bool) -> dict[str, Callable[[pd.DataFrame], pd.Series]]:
    """Why a risk-set row is left out (each a function of the key columns; the reasons are disjoint)."""
    no_marker = lambda k: k["biomarker"].isna()  # noqa: E731
    no_time = lambda k: ~no_marker(k) & (k["time_years"].isna() | k["event"].isna())  # noqa: E731
    bad = lambda k: ~no_marker(k) & ~no_time(k) & ((k["time_years"] < 0) | (log_scale & (k["biomarker"] <= 0)))  # noqa: E731
    incomplete = lambda k: ~(no_marker(k) | no_time(k) | bad(k)) & k[keys].isna().any(axis=1)  # noqa: E731
    invalid = ("with a non-positive biomarker value or negative follow-up time" if log_scale else
               "with a negative follow-up time")
    return {"without a biomarker value": no_marker,
            "without follow-up time or event status": no_time,
            invalid: bad,
            "with a missing adjuster (complete-case analysis)": incomplete}


def _usable(ctx, released, keys: list[str], setup: _Setup):
    """The rows every estimate uses (a function of the key columns) and the notes on who is left out."""
    reasons = _exclusions(keys, setup.log_scale)
    who = "treated participants" if setup.population == "treated" else "participants"
    notes = []
    for text, mask in reasons.items():
        count = released.total("count", where=mask)
        if count:
            notes.append(f"{ctx.policy.show_count(count)} {who} {text} are left out.")
    return (lambda k: ~np.logical_or.reduce([mask(k) for mask in reasons.values()])), notes


class _Released:
    """The released risk sets at the grains the analysis uses, each released as its own cells: per pattern of
    band, adjusters, time and event (Cox fits), per band, adjusters and event (logistic fits), per biomarker value
    and event (the risk curve), per band and event (the band table), and per band, time and event (Kaplan–Meier,
    log-rank, person-time)."""

    def __init__(self, released, usable, setup: _Setup):
        self.sql = released.sql
        kept = released.subset(usable)
        self.fine = self._labelled(kept.cells(), setup)
        adjusters = [c for c in dict.fromkeys(v.column for v in setup.adjusters) if c != "biomarker"]
        self.patterns = self._labelled(kept.cells(by=["band_index", *adjusters, "event"]), setup)
        self.values = self._labelled(kept.cells(by=["band_index", "biomarker", "event"]), setup)
        self.bands = self._labelled(kept.cells(by=["band_index", "event"]), setup)
        self.km = self._labelled(kept.cells(by=["band_index", "time_years", "event"]), setup)

    @staticmethod
    def _labelled(frame: pd.DataFrame, setup: _Setup) -> pd.DataFrame:
        # the band as a categorical of the labels: text built per row costs a second per million rows
        frame = frame.assign(event=frame["event"].astype(bool).astype(np.int64),
                             band=pd.Categorical.from_codes(frame["band_index"].to_numpy(dtype=int), setup.labels))
        return frame[frame["count"] > 0].reset_index(drop=True)


def _analyse(ctx, opts, setup: _Setup, cells: _Released, builder: ResultBuilder) -> AnalysisResult:
    setup = _without_constant_adjusters(setup, cells.fine, builder)
    used = cells.fine
    n = int(cells.bands["count"].sum())
    events = int((cells.bands["count"] * cells.bands["event"]).sum())
    band_table = _band_table(ctx, cells, setup)
    builder.table("bands", band_table)
    if n == 0 or ctx.policy.is_small(n) or ctx.policy.withholds(events, n - events) or events == 0:
        builder.note("Too few participants or events after filtering; nothing is estimated.")
        for name in ("km", "km_curve", "dose_response"):
            builder.table(name, pd.DataFrame())
        return _build(builder, ctx, opts, setup, n, [])
    if ctx.policy.perturbed:
        builder.note("Counts are perturbed (cell key method). The HRs, adjusted ORs and dose–response curve are "
                     "fitted on cells of about one participant each, so the perturbation adds noise of about the "
                     "size of their sampling error; the band table and crude ORs are far less affected.")
    shown = _comparable_bands(ctx, band_table, cells, setup, builder)
    _band_odds_ratios(ctx, cells, setup, shown, builder)
    _band_hazard_ratios(ctx, used, setup, shown, opts.ties, builder)
    at = opts.at or _whole_years(cells.km)
    km_at, km_curve = _kaplan_meier(ctx, cells.km, setup, at, _withheld_bands(band_table, builder),
                                    band_table.set_index("band")["n"])
    builder.table("km", km_at)
    builder.table("km_curve", km_curve)
    _logrank(cells.km, builder)
    builder.table("dose_response", _dose_response(ctx, cells, setup, opts.ties, builder))
    return _build(builder, ctx, opts, setup, n, sorted(set(km_at["time"])))


def _band_table(ctx, cells: _Released, setup: _Setup) -> pd.DataFrame:
    g = cells.bands.assign(events=cells.bands["count"] * cells.bands["event"]).groupby("band")
    person_time = cells.km.assign(pt=cells.km["count"] * cells.km["time_years"]).groupby("band")["pt"].sum()
    frame = pd.DataFrame({"band": setup.labels})
    frame["n"] = frame["band"].map(g["count"].sum()).fillna(0).astype(np.int64)
    frame["events"] = frame["band"].map(g["events"].sum()).fillna(0).astype(np.int64)
    frame = with_proportion(frame, ctx.alpha, ("risk", "risk_low", "risk_high"))
    frame["person_time"] = frame["band"].map(person_time).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["rate_per_100"] = 100 * frame["events"] / frame["person_time"]
    low, high = poisson_rate_ci(frame["events"].to_numpy(), frame["person_time"].to_numpy(), ctx.alpha)
    frame["rate_low"], frame["rate_high"] = 100 * np.asarray(low), 100 * np.asarray(high)
    frame["reference"] = frame["band"] == setup.reference
    gated = ctx.policy.gate_frame(frame, ["events", "non_events", "n"], ["person_time", "risk", "risk_low",
                                                                        "risk_high", "rate_per_100", "rate_low",
                                                                        "rate_high"])
    return gated.drop(columns=["non_events"])


def _comparable_bands(ctx, band_table: pd.DataFrame, cells: _Released, setup: _Setup,
                      builder: ResultBuilder) -> list[str]:
    """Bands whose OR/HR vs the reference may be shown: both bands with events, and (exact mode) unsuppressed."""
    ok = band_table.set_index("band")
    cells_events = (cells.bands["count"] * cells.bands["event"]).groupby(cells.bands["band"]).sum()
    counted = lambda b: not ok.loc[b, "suppressed"] or ctx.policy.perturbed  # noqa: E731
    good = lambda b: counted(b) and (cells_events.get(b, 0) or 0) > 0  # noqa: E731
    if not good(setup.reference):
        builder.note(f"The reference band ({setup.reference}) is suppressed or has no events; no band is compared.")
        return []
    withheld = [b for b in setup.labels if b != setup.reference and not good(b) and cells_events.get(b) is not None]
    if withheld:
        builder.note(f"Bands with a small count or no events are not compared: {', '.join(withheld)}.")
    return [b for b in setup.labels if b != setup.reference and good(b)]


def _band_indicators(frame: pd.DataFrame, setup: _Setup) -> pd.DataFrame:
    others = [b for b in setup.labels if b != setup.reference]
    return pd.DataFrame({f"band[{b}]": (frame["band"] == b).astype(float) for b in others}, index=frame.index)


def _event_patterns(cells: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Events and participants per pattern of ``columns`` from released cells split by event status."""
    patterns = cells.assign(events=cells["count"] * cells["event"]).groupby(columns, dropna=False)[
        ["events", "count"]].sum().reset_index()
    return patterns[patterns["count"] > 0]


def _band_odds_ratios(ctx, cells: _Released, setup: _Setup, shown: list[str], builder: ResultBuilder) -> None:
    """Crude ORs from the band table's cells, adjusted ORs from the cells per band and adjuster pattern."""
    adjusted_columns = list(dict.fromkeys(["band"] + [v.column for v in setup.adjusters]))
    fits = (("crude_or", (), _event_patterns(cells.bands, ["band"])),
            ("adjusted_or", setup.adjusters, _event_patterns(cells.patterns, adjusted_columns)))
    for measure, adjusters, present in fits if shown else ():
        terms = [make_term(v, present, "count") for v in adjusters]
        if _withheld_for_spline(terms, builder):
            continue
        fit = fit_logistic(design_matrix(present, terms, leading=_band_indicators(present, setup)),
                           present["events"], present["count"])
        builder.formula(formula("event", ["band"], terms) + " (logistic)")
        if not fit.converged:
            builder.note(f"The {measure.replace('_or', ' OR')} model did not converge; its ORs are withheld.")
            continue
        method = "logistic regression" + (f" adjusted for {', '.join(v.display for v in adjusters)}" if adjusters
                                          else "") + "; Wald 95% CI"
        for band in shown:
            with np.errstate(over="ignore"):  # an infinite OR is noted below
                or_, low, high, p = fit.odds_ratio(f"band[{band}]", ctx.alpha)
            if not np.isfinite([or_, low, high]).all() or or_ == 0:
                builder.note(f"No {measure.replace('_or', ' OR')} for band {band}: the model could not estimate "
                             "it.")
                continue
            builder.estimate(Estimate(measure, or_, low, high, p, method, band=band, reference=setup.reference,
                                      label=f"{band} vs {setup.reference}"))


def _withheld_for_spline(terms, builder: ResultBuilder) -> bool:
    note = undefined_spline_note(terms)
    if note:
        builder.note_once(note)
    return note is not None


def _cox_design(used, setup: _Setup, terms) -> pd.DataFrame:
    return design_matrix(used, terms, leading=_band_indicators(used, setup)).drop(columns="Intercept")


def _varying(X: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``X`` that vary (max above min: what std() > 0 says, without its temporaries)."""
    return X.loc[:, X.max() > X.min()]


def _band_hazard_ratios(ctx, used, setup: _Setup, shown, ties, builder: ResultBuilder) -> None:
    """HRs per band vs the reference from the Cox model, and its proportional-hazards test."""
    terms = [make_term(v, used, "count") for v in setup.adjusters]
    if _withheld_for_spline(terms, builder):
        return
    X = _cox_design(used, setup, terms)
    X = _varying(X)
    if X.empty:
        builder.note("No Cox model: neither the band nor an adjuster varies among these participants.")
        return
    try:
        fit = cox_fit(X, used["time_years"], used["event"], used["count"], ties=ties)
    except SurvivalDataError as exc:  # cell-key mode: the band has events, its finer released cells may not
        builder.note(f"No Cox model: {exc}.")
        return
    builder.formula(formula(f"Surv(time, {setup.event.lower()})", ["band"], terms) + f" (Cox, {ties} ties)")
    table = fit.hazard_ratios(ctx.alpha)
    adjusted = ", ".join(v.display for v in setup.adjusters) or "nothing"
    method = f"Cox proportional hazards, {ties} ties, adjusted for {adjusted}; Wald 95% CI"
    for band in shown:
        term = f"band[{band}]"
        if term not in table.index or table.loc[term, "flag"]:
            builder.note(f"No hazard ratio for band {band}: the Cox model could not estimate it.")
            continue
        r = table.loc[term]
        builder.estimate(Estimate("hr", float(r["hr"]), float(r["ci_low"]), float(r["ci_high"]), float(r["p"]),
                                  method, band=band, reference=setup.reference, label=f"{band} vs {setup.reference}"))
    _ph_test(fit, X, used, builder)


def _ph_test(fit, X, used, builder: ResultBuilder) -> None:
    if not fit.converged or fit.infinite:
        builder.note("No proportional-hazards test: the Cox model did not converge or has an infinite coefficient.")
        return
    try:
        ph = proportional_hazards_test(fit)
    except np.linalg.LinAlgError:
        builder.note("No proportional-hazards test: its information matrix is singular with these data.")
        return
    g = ph.table.loc["GLOBAL"]
    builder.test(TestResult("proportional_hazards", float(g["chisq"]), int(g["df"]), float(g["p"]),
                            "Grambsch–Therneau test of proportional hazards (global, KM time scale), as R cox.zph"))


def _withheld_bands(band_table: pd.DataFrame, builder: ResultBuilder) -> set[str]:
    """Bands whose counts the band table withholds: their curves are withheld too (at risk at time 0 is the band's n,
    which with the total would give away the small band it complements)."""
    hidden = band_table.loc[band_table["suppressed"], "band"].tolist()
    if hidden:
        builder.note(f"Kaplan–Meier estimates are withheld for bands whose counts are withheld: {', '.join(hidden)}.")
    return set(hidden)


def _kaplan_meier(ctx, used, setup: _Setup, at_times, hidden: set[str],
                  band_n: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """KM estimates per band. At time 0 the number at risk is the band's released n (the band table's count), not
    the sum of its perturbed risk-set cells, so the two tables agree."""
    at_rows, curves = [], []
    for band in setup.labels:
        part = used[used["band"] == band]
        if part.empty:
            continue
        km = kaplan_meier(part["time_years"], part["event"], part["count"], conf_type="log-log", alpha=ctx.alpha)
        shown_n = band_n.get(band)
        start = int(shown_n) if pd.notna(shown_n) else int(part["count"].sum())  # a withheld band's curve is hidden
        at = survival_at(km, at_times)
        at.loc[at["time"] <= 0, "at_risk"] = start
        at_rows.append(at.assign(band=band))
        steps = km[km["events"] > 0]
        curves.append(pd.concat([pd.DataFrame({"time": [0.0], "at_risk": [start],
                                               "survival": [1.0], "ci_low": [1.0], "ci_high": [1.0]}),
                                 steps[["time", "at_risk", "survival", "ci_low", "ci_high"]]]).assign(band=band))
    at_frame = _gate_at_risk(ctx, pd.concat(at_rows, ignore_index=True), hidden)
    curve = _gate_at_risk(ctx, pd.concat(curves, ignore_index=True), hidden)
    order = ["band", "time", "survival", "ci_low", "ci_high", "at_risk"]
    return at_frame[order + ["suppressed"]], curve[order + ["suppressed"]]


def _logrank(used, builder: ResultBuilder) -> None:
    if used["band"].nunique() < 2:
        builder.note("All participants fall in one band, so there is no log-rank test.")
        return
    try:
        stat, df, p = logrank_test(used["band"], used["time_years"], used["event"], used["count"])
    except SurvivalDataError as exc:  # e.g. only one band still has anyone at risk at the event times
        builder.note(f"No log-rank test: {exc}.")
        return
    builder.test(TestResult("logrank", stat, df, p, "log-rank test of equal event-free survival across bands"))


def _gate_at_risk(ctx, frame: pd.DataFrame, hidden: set[str]) -> pd.DataFrame:
    """A KM value is shown only while at least k participants are at risk (a step then reflects ≥ k people), and
    only for bands whose counts are shown."""
    out = frame.copy()
    out["suppressed"] = out["at_risk"].map(ctx.policy.is_small) | out["band"].isin(hidden)
    columns = ["survival", "ci_low", "ci_high", "at_risk"]
    out[columns] = out[columns].astype(object)
    out.loc[out["suppressed"], columns] = None
    return out


def _without_constant_adjusters(setup: _Setup, used: pd.DataFrame, builder: ResultBuilder) -> _Setup:
    """Adjusters that take one value in this view (sex after filtering to women, say) are left out of the models, so
    no method line claims an adjustment that did not happen."""
    constant = [v for v in setup.adjusters if used.empty or used[v.column].nunique(dropna=True) <= 1]
    if not constant:
        return setup
    builder.note(f"Not adjusted for {', '.join(v.label for v in constant)}: it takes one value in this view.")
    return replace(setup, adjusters=tuple(v for v in setup.adjusters if v not in constant))


def _population_text(setup: _Setup, description: str) -> str:
    """Who the analysis covers, in the caption: the filters, and "treated only" where the population says so."""
    if setup.population == "all":
        return description
    return "participants who started a treatment" if description == "all participants" else \
        f"{description}; treated only"


def _whole_years(km: pd.DataFrame) -> tuple[float, ...]:
    """0, 1, 2, … up to the last follow-up time of the released risk sets (the numbers at risk under the curves)."""
    last = float(km["time_years"].max()) if len(km) else 0.0
    return tuple(float(t) for t in range(0, int(np.ceil(last)) + 1))


def _reference_value(setup: _Setup) -> float:
    i = setup.labels.index(setup.reference)
    cuts = setup.bands.cut_points
    return float(cuts[i - 1] if i > 0 else cuts[0])


@dataclass(frozen=True)
class _Scale:
    """The scale the dose–response spline is formed on: log(biomarker), or the biomarker itself when the mapping's
    range lets it be zero or negative."""

    log: bool

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.log(x) if self.log else x

    def inverse(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        return np.exp(y) if self.log else y

    def grid(self, low: float, high: float) -> np.ndarray:
        return np.geomspace(low, high, GRID_POINTS) if self.log else np.linspace(low, high, GRID_POINTS)

    @property
    def term(self) -> str:
        return "log(biomarker)" if self.log else "biomarker"


def _dose_response(ctx, cells: _Released, setup: _Setup, ties, builder: ResultBuilder) -> pd.DataFrame:
    used = cells.fine
    scale = _Scale(setup.log_scale)
    x, counts = used["biomarker"].to_numpy(dtype=float), used["count"].to_numpy()
    spline = NaturalSpline.from_counts(scale(x), counts, SPLINE_DF, merge_ties=True)
    if not spline.defined:
        builder.note(f"No dose–response curve: {setup.biomarker} takes a single value in this cohort.")
        return pd.DataFrame()
    if spline.df < SPLINE_DF:
        builder.note(f"The dose–response spline has {spline.df} df instead of {SPLINE_DF}: many participants share "
                     f"a value of {setup.biomarker}, so some of its quantile knots coincide and are merged.")
    low, high = scale.inverse(weighted_quantiles(scale(x), counts, (0.01, 0.99)))
    if not low < high:
        low, high = float(x.min()), float(x.max())
    grid = np.unique(np.concatenate([scale.grid(low, high), setup.bands.cut_points]))
    grid = grid[(grid >= low) & (grid <= high)]
    risk = _risk_curve(ctx, cells.values, spline, scale, grid, builder)
    hr = _hazard_curve(ctx, used, setup, spline, scale, grid, ties, builder)
    if risk is None or hr is None:
        builder.note("The dose–response curve could not be fitted.")
        return pd.DataFrame()
    return pd.DataFrame({"biomarker": grid, **risk, **hr})


def _risk_curve(ctx, used, spline: NaturalSpline, scale: _Scale, grid, builder: ResultBuilder) -> dict | None:
    patterns = used.assign(events=used["count"] * used["event"]).groupby("biomarker")[["events", "count"]].sum()
    basis = spline.basis(scale(patterns.index.to_numpy(dtype=float)))
    X = pd.DataFrame(np.column_stack([np.ones(len(basis)), basis]))
    fit = fit_logistic(X, patterns["events"].to_numpy(), patterns["count"].to_numpy())
    builder.formula(f"event ~ {spline.describe(scale.term)} (logistic, unadjusted risk curve)")
    if fit.separation or not fit.converged:
        return None
    pred = fit.linear_predictor(pd.DataFrame(np.column_stack([np.ones(len(grid)), spline.basis(scale(grid))])),
                                ctx.alpha)
    return {"risk": expit(pred["eta"]).to_numpy(), "risk_low": expit(pred["low"]).to_numpy(),
            "risk_high": expit(pred["high"]).to_numpy()}


def _hazard_curve(ctx, used, setup: _Setup, spline: NaturalSpline, scale: _Scale, grid, ties,
                  builder: ResultBuilder) -> dict | None:
    terms = [make_term(v, used, "count") for v in setup.adjusters]
    if undefined_spline_note(terms):  # noted with the HRs
        return None
    basis = pd.DataFrame(spline.basis(scale(used["biomarker"])), index=used.index,
                         columns=[f"s{i}" for i in range(spline.df)])
    X = pd.concat([basis, design_matrix(used, terms).drop(columns="Intercept")], axis=1)
    X = _varying(X)
    try:
        fit = cox_fit(X, used["time_years"], used["event"], used["count"], ties=ties)
    except SurvivalDataError:  # no event among the released cells: no curve (noted by the caller)
        return None
    ref = _reference_value(setup)
    builder.formula(f"Surv(time, event) ~ {spline.describe(scale.term)}"
                    + "".join(f" + {t.formula()}" for t in terms) + f" (Cox, {ties} ties; HR relative to {ref:g})")
    if not fit.ok:
        return None
    k = spline.df
    contrast = spline.basis(scale(grid)) - spline.basis(scale([ref]))
    beta, cov = np.asarray(fit.params)[:k], np.asarray(fit.cov)[:k, :k]
    eta = contrast @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", contrast, cov, contrast))
    z = stats.norm.ppf(1 - ctx.alpha / 2)
    log_hr = {"hr": eta, "hr_low": eta - z * se, "hr_high": eta + z * se}
    if not all(np.isfinite(v).all() and np.abs(v).max() < MAX_LOG_HR for v in log_hr.values()):
        return None  # a diverging fit (no events over part of the range): no curve rather than infinities
    return {name: np.exp(v) for name, v in log_hr.items()}


def _build(builder: ResultBuilder, ctx, opts, setup: _Setup, n, km_times: list[float]) -> AnalysisResult:
    caption = (f"{setup.event} by band of {setup.biomarker}; {_population_text(setup, builder.cohort.description)}; "
               f"N = {ctx.policy.show_count(n)}; reference band {setup.reference}.")
    scale = _Scale(setup.log_scale)
    methods = (f"Population: {POPULATIONS[setup.population]} with a value of {setup.biomarker}; follow-up time and "
               f"event as the mapping defines them ({setup.event}). Per band: cumulative risk (events / n) "
               "with Wilson 95% CIs; incidence rate per 100 person-years with exact Poisson (Garwood) CIs. ORs per "
               "band vs the reference from logistic regression, crude and adjusted, Wald CIs. HRs per band from a Cox "
               f"model ({opts.ties} ties) fitted to aggregated risk sets (identical to the participant-level fit), "
               "Wald CIs; proportional hazards checked with the Grambsch–Therneau score test (KM time scale). "
               "Kaplan–Meier event-free survival per band with Greenwood variance and log-log 95% CIs; log-rank test "
               f"across bands. Dose–response: natural cubic spline of {scale.term} (up to {SPLINE_DF} df, knots at "
               "quantiles of the participants" + ("" if setup.log_scale else "; a linear scale, as the mapping's "
               "range allows values of zero or below") + ") in an unadjusted logistic model (risk curve) and in the "
               f"adjusted Cox model (HR relative to {_reference_value(setup):g}), Wald 95% bands. {ctx.policy.note}")
    details = BiomarkerRiskDetails(setup.reference, _reference_value(setup), list(opts.at) if opts.at else km_times,
                                   setup.labels, setup.biomarker, setup.event)
    return builder.build(title=f"{setup.event} by {setup.biomarker} band", caption=caption, methods=methods,
                         n=None if ctx.policy.is_small(n) else n, details=details)
