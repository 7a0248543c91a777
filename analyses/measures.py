"""Quality measures as the quality-improvement analyses (``spc``, ``funnel``) see them, resolved once, and their
released counts per period and per unit.

A measure is either one the mapping declares (``[measures.NAME]``: the loader's ``measure_<name>_in``, ``_num``,
``_period``, ``_month`` and ``_pt`` columns) or any binary outcome of the mapping over a calendar-year role (the
baseline year): its denominator is everyone with a known outcome and year, its numerator the cases.

Every count comes from one aggregation query through the release layer (``ctx.release``). A rate's person-time is
not a count: in exact mode it is summed in the engine; in cell-key mode each participant's person-time is rounded
to whole steps of :data:`PT_STEP_DAYS` and the participants are counted per step (cells, like the risk sets of
``queries.aggregates.risk_sets``), and a period's person-time is Σ N(pt ≥ step) × step width over released margins.
It is shown only where the period's (or unit's) own count is.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analyses.bands import AgeBands
from analyses.context import AnalysisContext
from analyses.variables import SEX_GROUPS, AnalysisInputError, Variable, resolve
from disclosure.policy import DisclosurePolicy
from queries.aggregates import DAYS_PER_YEAR, KEY_SUFFIX, cell, cell_key
from queries.release import Released

YEAR, SUB, STEP, PT_FROM, UNIT = "period_year", "period_sub", "pt_step", "pt_from", "unit"
TIME_ROLES = {"year": "baseline_year", "baseline_year": "baseline_year"}  # user name -> canonical column
PERIODS = ("year", "quarter", "month")
STANDARDIZERS = ("age", "sex")
# cell-key mode: person-time is grouped to 4-week steps (rounded, so unbiased) — each step is one released margin
# in the sum (see _released_person_years), so a coarser step than follow-up times' week keeps the query small
PT_STEP_DAYS = 28


@dataclass(frozen=True)
class QualityMeasure:
    """A measure resolved against the loaded cohort: what it counts and which canonical columns hold it."""

    name: str
    label: str
    kind: str  # "proportion" or "rate" (events per person-time)
    direction: str | None  # the direction of improvement, "up"/"down"; None for a plain outcome
    target: float | None  # in the measure's units (a proportion, or a rate per ``per`` person-years)
    per: int  # a rate is shown per this many person-years (1 for a proportion)
    declared: bool  # a [measures.NAME] of the mapping (False: an outcome over a time role)
    column: str  # declared: the loader's column prefix ``measure_<name>``; outcome: ``outcome_<name>``
    time: str | None  # the canonical column of calendar years (None: an outcome compared across units only)
    has_month: bool = False

    @property
    def periods(self) -> tuple[str, ...]:
        return PERIODS if self.has_month else PERIODS[:1]

    def columns(self, table: ir.Table) -> dict[str, ir.Value]:
        """Expressions: ``included`` (in the denominator with a known period), ``event``, ``year``, and ``month``
        and ``pt`` (person-years) where the measure has them."""
        if not self.declared:
            value = table[self.column]
            included = value.notnull() & (table[self.time].notnull() if self.time else True)
            out = {"included": included, "event": included & value.fill_null(False)}
            return out | ({"year": table[self.time]} if self.time else {})
        out = {"included": table[f"{self.column}_in"], "event": table[f"{self.column}_num"],
               "year": table[f"{self.column}_period"]}
        if self.has_month:
            out["month"] = table[f"{self.column}_month"]
        if self.kind == "rate":
            out["pt"] = table[f"{self.column}_pt"]
        return out


def resolve_measure(ctx: AnalysisContext, name: str | None, time: str | None = None,
                    periods: bool = True) -> QualityMeasure:
    """The measure ``name`` (a declared measure or an outcome; default: the first declared measure, else the
    first outcome) over ``time`` (outcomes only; default: the baseline year), or a clear error. ``periods=False``
    (a comparison of units): an outcome needs no time role and counts everyone with a known outcome."""
    mapping = ctx.engine.info.mapping
    name = name or next(iter(mapping.measures), None) or ctx.default_outcome()
    if name in mapping.measures:
        if time is not None:
            raise AnalysisInputError("A declared measure has its own time column; --time applies to an outcome.")
        m = mapping.measures[name]
        return QualityMeasure(name, m.label, m.kind, m.direction, m.target, m.per if m.person_time else 1, True,
                              f"measure_{name}", f"measure_{name}_period", bool(m.month))
    if name not in mapping.outcomes:
        choices = [*mapping.measures, *mapping.outcomes]
        raise AnalysisInputError(f"Unknown measure or outcome. Choose from: {', '.join(choices)}.")
    label = mapping.outcomes[name].label
    if not periods:
        return QualityMeasure(name, label, "proportion", None, None, 1, False, f"outcome_{name}", None)
    roles = {k: v for k, v in TIME_ROLES.items() if ctx.has(v)}
    if not roles:
        raise AnalysisInputError("The cohort maps no calendar year (the baseline_year role), so an outcome has no "
                                 "periods; declare a measure with its time column in the mapping.")
    if (time or "year") not in roles:
        raise AnalysisInputError(f"Unknown time role. Choose from: {', '.join(roles)}.")
    return QualityMeasure(name, label, "proportion", None, None, 1, False, f"outcome_{name}", roles[time or "year"])


def shown_rows(policy: DisclosurePolicy, n, events) -> np.ndarray:
    """Which periods or units may be shown: a denominator of k or more and an estimate the policy does not
    withhold; in exact mode, when exactly one is withheld the next smallest is too, so the shown total cannot give
    it away (complementary suppression, as ``DisclosurePolicy.suppressed_cells``)."""
    n, events = np.asarray(n, dtype=np.int64), np.asarray(events, dtype=np.int64)
    hidden = np.array([c > 0 and (policy.is_small(c) or policy.withholds(e, c - e)) for c, e in zip(n, events)],
                      dtype=bool)
    if hidden.sum() == 1 and not policy.perturbed:
        others = np.flatnonzero(~hidden & (n > 0))
        if others.size:
            hidden[others[np.argmin(n[others])]] = True
    return ~hidden & (n > 0)


def _step_years(ctx: AnalysisContext) -> float | None:
    return None if ctx.policy.time_step_days is None else PT_STEP_DAYS / DAYS_PER_YEAR


def _counted(ctx: AnalysisContext, table: ir.Table, measure: QualityMeasure, keys: dict[str, ir.Value]) -> Released:
    """One query: per ``keys``, ``n`` and ``events`` as cells; for a rate in exact mode also ``pt``, the summed
    person-years, and in cell-key mode per ``keys`` and threshold ``pt_from`` the cells N(pt ≥ pt_from)."""
    cols = measure.columns(table)
    extra = {"__pt": cols["pt"]} if measure.kind == "rate" else {}
    keyed = table.filter(cols["included"]).mutate(__event=cols["event"], **extra, **keys)
    names = list(keys)
    step = _step_years(ctx) if measure.kind == "rate" else None
    if measure.kind == "rate" and step is None:
        return ctx.release(keyed.group_by(names).aggregate(**cell(keyed, "n"), **cell(keyed, "events",
                                                                                  keyed["__event"]),
                                                           pt=keyed["__pt"].sum()))
    if step is None:
        return ctx.release(keyed.group_by(names).aggregate(**cell(keyed, "n"),
                                                           **cell(keyed, "events", keyed["__event"])))
    return ctx.release(_thresholds(keyed, names, step))


def _thresholds(keyed: ir.Table, names: list[str], step: float) -> ir.Table:
    """Cells per ``names`` and threshold: the participants whose person-time, rounded to whole steps, is at least
    ``pt_from`` (and the events among them), for every step present and 0 (everyone). Each is the sum of the
    per-step cells' counts and keys, i.e. exactly the cell the engine would count."""
    binned = keyed.mutate(**{STEP: (keyed["__pt"] / step).round().cast("float64") * step})
    per_step = binned.group_by([*names, STEP]).aggregate(**cell(binned, "n"),
                                                         **cell(binned, "events", binned["__event"]))
    steps = per_step.select(**{PT_FROM: per_step[STEP]})
    grid = steps.union(steps.select(**{PT_FROM: steps[PT_FROM] * 0.0}), distinct=True)
    joined = per_step.inner_join(grid, per_step[STEP] >= grid[PT_FROM])
    sums = {c: joined[c].sum() for c in ("n", "events")}
    sums |= {c + KEY_SUFFIX: cell_key(joined[c + KEY_SUFFIX].sum()) for c in ("n", "events")}
    return joined.group_by([*names, PT_FROM]).aggregate(**sums)


def period_counts(ctx: AnalysisContext, measure: QualityMeasure,
                  period: str = "year") -> tuple[pd.DataFrame, int, str]:
    """Released counts per period, in time order: ``label``, ``n`` (the denominator), ``events`` and, for a rate,
    ``pt`` (person-years); the released number in the denominator without a period (left out); the query."""
    if period not in measure.periods:
        raise AnalysisInputError(f"{measure.label} can be shown by: {', '.join(measure.periods)} (quarters and "
                                 "months only where the mapping declares a month, in a limited data set).")
    table = ctx.table()
    cols = measure.columns(table)
    keys = {YEAR: cols["year"].cast("int64")}
    if period != "year":
        month = cols["month"].cast("int64")
        keys[SUB] = ((month - 1) // 3 + 1) if period == "quarter" else month
    released = _counted(ctx, table, measure, keys)
    by = list(keys)
    frame = _with_pt(released, by)
    unknown = frame[by].isna().any(axis=1)
    left_out = int(frame.loc[unknown, "n"].sum())
    frame = frame[~unknown].sort_values(by, kind="stable").reset_index(drop=True)
    frame.insert(0, "label", [_label(row, period) for row in frame[by].itertuples(index=False)])
    return frame.drop(columns=by), left_out, released.sql


def _label(row, period: str) -> str:
    year = int(row[0])
    if period == "quarter":
        return f"{year}-Q{int(row[1])}"
    return f"{year}-{int(row[1]):02d}" if period == "month" else str(year)


@dataclass(frozen=True)
class UnitCounts:
    """Released counts per unit (``units``: unit, n, events[, pt]) and, when standardising, per unit and stratum
    (``strata``: unit, stratum, n, events[, pt]) and per stratum over all units (``overall``)."""

    units: pd.DataFrame
    strata: pd.DataFrame | None
    overall: pd.DataFrame | None
    total_n: int
    total_events: int
    total_pt: float | None
    unknown_unit: int
    sql: str


def unit_variable(ctx: AnalysisContext, by: str | None) -> Variable:
    """The categorical variable the units are (default: site where mapped, else the first categorical one)."""
    variables = ctx.variables
    categorical = [n for n, v in variables.items() if v.kind in ("categorical", "binary")]
    name = by or ("site" if "site" in variables else next(iter(categorical), None))
    if name is None:
        raise AnalysisInputError("A funnel plot needs units: a site or another categorical variable; the mapping "
                                 "has none.")
    variable = resolve(name, variables, "unit variable (--by)")
    if variable.kind == "numeric":
        raise AnalysisInputError(f"Units must be a categorical variable. Choose from: {', '.join(categorical)}.")
    return variable


def standardizers(ctx: AnalysisContext, names: tuple[str, ...]) -> tuple[str, ...]:
    """The variables of an indirect standardisation (age, sex or both), checked against the cohort."""
    unknown = [n for n in names if n not in STANDARDIZERS]
    if unknown:
        raise AnalysisInputError("Standardisation is by age, sex or both (e.g. --standardize age,sex).")
    missing = [n for n in names if not ctx.has(n)]
    if missing:
        raise AnalysisInputError(f"The cohort does not map {', '.join(missing)}, so it cannot standardise by it.")
    return tuple(dict.fromkeys(names))


def unit_counts(ctx: AnalysisContext, measure: QualityMeasure, unit: Variable, by_strata: tuple[str, ...] = (),
                age_bands: AgeBands = AgeBands()) -> UnitCounts:
    """Released counts per unit (and per unit × stratum of ``by_strata`` for an indirect standardisation)."""
    table = ctx.table()
    keys = {UNIT: table[unit.column].cast("string")} | {s: table[s] for s in by_strata}
    released = _counted(ctx, table, measure, keys)
    units = _with_pt(released, [UNIT])
    unknown_unit = int(units.loc[units[UNIT].isna(), "n"].sum())
    units = units[units[UNIT].notna()]
    totals = _with_pt(released, [], where=lambda k: k[UNIT].notna())
    total_pt = float(totals["pt"].iloc[0]) if "pt" in totals else None
    strata = overall = None
    if by_strata:
        known = lambda k: k[list(by_strata)].notna().all(axis=1) & k[UNIT].notna()  # noqa: E731
        derive = {"stratum": _stratum_labels(by_strata, age_bands)}
        strata = _with_pt(released, [UNIT, "stratum"], known, derive)
        overall = _with_pt(released, ["stratum"], known, derive)
    if unit.column == "sex":  # units named as in every other table: women, men
        units, strata = (None if f is None else f.assign(**{UNIT: f[UNIT].map(SEX_GROUPS).fillna(f[UNIT])})
                         for f in (units, strata))
    return UnitCounts(units.reset_index(drop=True), strata, overall, int(totals["n"].iloc[0]),
                      int(totals["events"].iloc[0]), total_pt, unknown_unit, released.sql)


def _with_pt(released: Released, by: list[str], where=None, derive=None) -> pd.DataFrame:
    """Released n and events per ``by`` with summed person-years (a rate) beside them; events at most n (two
    perturbed cells can cross when nearly everyone is an event)."""
    frame = _released_with_pt(released, by, where, derive)
    return frame.assign(events=np.minimum(frame["events"], frame["n"]))


def _released_with_pt(released: Released, by: list[str], where, derive) -> pd.DataFrame:
    if "pt" in released.statistics:  # exact mode: statistics come at the query's own grain; exact counts summed
        raw = released.cells()
        if where is not None:
            raw = raw[np.asarray(where(raw), dtype=bool)]
        if derive:
            raw = raw.assign(**{k: fn(raw) for k, fn in derive.items()})
        if not by:
            return raw[["n", "events", "pt"]].sum().to_frame().T
        return raw.groupby(by, dropna=False, sort=True)[["n", "events", "pt"]].sum().reset_index()
    if PT_FROM not in released.keys:
        return released.cells(by=by, where=where, derive=derive)

    def at(keep_zero: bool):
        def select(k):
            hit = (k[PT_FROM] == 0) if keep_zero else (k[PT_FROM] > 0)
            return hit & np.asarray(where(k), dtype=bool) if where is not None else hit
        return select

    frame = released.cells(by=by, where=at(True), derive=derive)
    if not by:
        return frame.assign(pt=_released_person_years(released, by, at(False), derive)["pt"].iloc[0])
    return frame.merge(_released_person_years(released, by, at(False), derive), on=by, how="left")


def _released_person_years(released: Released, by: list[str], where, derive) -> pd.DataFrame:
    """Person-years per ``by`` from released counts only: Σᵢ ptᵢ = Σⱼ N(pt ≥ sⱼ)·(sⱼ − sⱼ₋₁) over the steps sⱼ
    present, each N(pt ≥ sⱼ) a released cell. Those cells hold many participants each, so their noise adds up to
    little, where summing a released count per step (often 1 or 2 participants) would not."""
    cumulative = released.cells(by=[*by, PT_FROM], where=where, derive=derive)
    grid = np.unique(cumulative[PT_FROM])
    width = pd.Series(np.diff(np.r_[0.0, grid]), index=grid)
    pt = cumulative.assign(pt=cumulative["n"] * cumulative[PT_FROM].map(width))
    if not by:
        return pd.DataFrame({"pt": [pt["pt"].sum()]})
    return pt.groupby(by, dropna=False)["pt"].sum().rename("pt").reset_index()


def _stratum_labels(by_strata: tuple[str, ...], bands: AgeBands):
    def labels(keys: pd.DataFrame) -> pd.Series:
        parts = []
        for s in by_strata:
            if s == "age":
                ages = keys["age"].astype(float)
                parts.append(pd.Series(bands.assign(ages, int(ages.min())) if len(ages) else [], index=keys.index,
                                       dtype=object))
            else:
                parts.append(keys[s].astype(str))
        out = parts[0].astype(str)
        for part in parts[1:]:
            out = out + " · " + part.astype(str)
        return out

    return labels


def expected_events(counts: UnitCounts, exposure: str) -> pd.Series:
    """Indirectly standardised expected events per unit: Σ over strata of the unit's ``exposure`` (participants or
    person-years) in the stratum × the stratum's rate over all units (indexed by unit)."""
    overall = counts.overall.set_index("stratum")
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (overall["events"] / overall[exposure]).replace([np.inf], np.nan).fillna(0.0)
    strata = counts.strata.assign(expected=counts.strata[exposure] * counts.strata["stratum"].map(rate).fillna(0.0))
    return strata.groupby(UNIT)["expected"].sum()


