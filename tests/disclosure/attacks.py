"""The attacks of issue 14 as code. Each one reads public outputs only — through a :class:`public.Viewer`, which
hands out what the pages, CLI JSON and exports show — and returns :class:`ledger.Attempt` objects: the attacker's
guess of a count and the :class:`cohorts.Target` it aims at. The judge (``test_attacks.py``) compares each guess
with the truth; no attack reads the truth, the engine or a released value that is not displayed.

Which filter states and options an attack tries is its *plan* (``plans.py``); the attack itself is the computation
an attacker would do on what is shown. The attacker knows the published ptable parameters (D = 3): in cell-key
mode every shown count may be off by up to D, which gives the interval of true values it cannot rule out.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import stats

from analyses.bands import AgeBands, BiomarkerBands
from analyses.biomarker_risk import BiomarkerRiskOptions
from analyses.odds_ratio import OddsRatioOptions
from analyses.prevalence import PrevalenceOptions
from analyses.stats.contingency import TwoByTwo, mantel_haenszel
from queries.cohort import table_one_variables
from tests.disclosure.cohorts import Target, Where
from tests.disclosure.ledger import Attempt
from tests.disclosure.public import MAX_PERTURBATION as D
from tests.disclosure.public import read, value

SEX_OF = {"women": "female", "men": "male"}
INF = 10_000.0
# Released cells behind a displayed number (public from the methods text: a count is one cell; a prevalence row's n
# and "Outcome known" are cases plus non-cases; an analysis N sums both outcomes over both sexes).
CELLS = {"events": 1, "non_events": 1, "n": 2, "participants": 1, "cases": 1, "known": 2}
BAND_CELLS = {"events": 1, "n": 2}  # biomarker band table: n = participants with and without the event
KM_AT = tuple(np.round(np.arange(0.5, 8.01, 0.5), 2))  # the `at` times of every biomarker-risk view
MAX_COMBINATIONS = 3_000_000


def _linear(viewer, target, terms) -> Attempt:
    return Attempt.linear(target, terms, viewer.policy.perturbed, D)


def prevalence_options(edges) -> PrevalenceOptions:
    return PrevalenceOptions(age_bands=AgeBands(tuple(edges)))


def odds_ratio_options(edges, adjust=("age",)) -> OddsRatioOptions:
    return OddsRatioOptions(strata="age", adjust=tuple(adjust), age_bands=AgeBands(tuple(edges)))


def biomarker_options(cuts=None) -> BiomarkerRiskOptions:
    return BiomarkerRiskOptions(bands=BiomarkerBands(tuple(cuts)) if cuts else None, adjust=(), at=KM_AT)


def _band_bounds(label: str) -> tuple[int, int]:
    if label.endswith("+"):
        return int(label[:-1]), 200
    low, high = label.split("-")
    return int(low), int(high)


def prevalence_rows(result) -> dict[tuple[str, int], dict]:
    """Rows of the band table keyed by (sex, upper age): label, lower edge for the truth (0 for the first band),
    and events and n as displayed (None when the row is withheld)."""
    if result is None:
        return {}
    rows = result.table("rows")
    out = {}
    for sex in ("women", "men"):
        part = rows[rows["sex"] == sex]
        previous = -1
        for r in part.itertuples():
            low, high = _band_bounds(r.age_band)
            out[(SEX_OF[sex], high)] = {"label": r.age_band, "low": previous + 1 if previous >= 0 else 0,
                                        "events": read(r.events), "n": read(r.n), "hidden": bool(r.suppressed)}
            previous = high
    return out


def _cut_bounds(cuts) -> list[tuple[float, float]]:
    edges = [-INF, *cuts, INF]
    return list(zip(edges, edges[1:]))


def biomarker_bands(result, cuts) -> dict[str, dict]:
    """Band table rows by label, with the band's [low, high) and n and events as displayed."""
    if result is None:
        return {}
    labels = result.details.band_labels
    bounds = dict(zip(labels, _cut_bounds(cuts)))
    return {r.band: {"bounds": bounds[r.band], "n": read(r.n), "events": read(r.events)}
            for r in result.table("bands").itertuples()}


def km_at_risk(result) -> dict[tuple[str, float], int | None]:
    if result is None:
        return {}
    km = result.table("km")
    return {(r.band, round(float(r.time), 4)): read(r.at_risk) for r in km.itertuples()}


# ---------------------------------------------------------------------------------------------- 1. rows between states


def breakdown_rows(cohort, viewer, pairs, edges) -> list[Attempt]:
    """Attack 1a: each age-band row of the prevalence table (events, n) subtracted between a state and a state one
    filter step narrower."""
    opts = prevalence_options(edges)
    out = []
    for wide, narrow in pairs:
        a = prevalence_rows(viewer.analysis("prevalence", wide, opts))
        b = prevalence_rows(viewer.analysis("prevalence", narrow, opts))
        for key, row in a.items():
            other = b.get(key, {})
            for measure, outcome in (("events", "case"), ("n", "known")):
                where = Where(sex=key[0], age=(row["low"], key[1]), outcome_name=cohort.outcome, outcome=outcome,
                              sex_age=True)
                k = CELLS[measure]
                out.append(_linear(viewer, Target.diff(wide, narrow, where),
                                   [(1, row[measure], k), (-1, other.get(measure), k)]))
    return out


def biomarker_rows(cohort, viewer, pairs) -> list[Attempt]:
    """Attack 1b: each biomarker band row (n, events) of biomarker-risk subtracted between two states."""
    opts = biomarker_options()
    cuts = cohort.engine.info.mapping.biomarker.cut_points
    out = []
    for wide, narrow in pairs:
        a = biomarker_bands(viewer.analysis("biomarker-risk", wide, opts), cuts)
        b = biomarker_bands(viewer.analysis("biomarker-risk", narrow, opts), cuts)
        for label, row in a.items():
            other = b.get(label, {})
            for measure, event in (("n", None), ("events", True)):
                where = Where(usable=True, band=row["bounds"], event=event)
                k = BAND_CELLS[measure]
                out.append(_linear(viewer, Target.diff(wide, narrow, where),
                                   [(1, row[measure], k), (-1, other.get(measure), k)]))
    return out


def km_steps(cohort, viewer, pairs) -> list[Attempt]:
    """Attack 1c: the Kaplan–Meier numbers at risk at each `at` time subtracted between two states."""
    opts = biomarker_options()
    cuts = cohort.engine.info.mapping.biomarker.cut_points
    out = []
    for wide, narrow in pairs:
        result = viewer.analysis("biomarker-risk", wide, opts)
        if result is None:
            continue
        bounds = dict(zip(result.details.band_labels, _cut_bounds(cuts)))
        a, b = km_at_risk(result), km_at_risk(viewer.analysis("biomarker-risk", narrow, opts))
        for (band, t), shown in a.items():
            where = Where(usable=True, band=bounds[band], time=(t, INF))
            out.append(_linear(viewer, Target.diff(wide, narrow, where),
                               [(1, shown, None), (-1, b.get((band, t)), None)]))
    return out


# ---------------------------------------------------------------------------------------------- 2. inclusion–exclusion


def inclusion_exclusion(cohort, viewer, quads) -> list[Attempt]:
    """Attack 2: A − B − C + D over the Overview metrics, where B and C narrow A by one step each and D by both:
    the participants (cases, known outcomes) removed by both steps."""
    out = []
    metrics = {"participants": Where(), "cases": Where(outcome_name=cohort.outcome, outcome="case"),
               "known": Where(outcome_name=cohort.outcome, outcome="known")}
    for a, b, c, d in quads:
        shown = [viewer.overview(s) for s in (a, b, c, d)]
        for metric, where in metrics.items():
            target = Target(((a, 1), (b, -1), (c, -1), (d, 1)), where)
            out.append(_linear(viewer, target, [(sign, s[metric], CELLS[metric])
                                                for sign, s in zip((1, -1, -1, 1), shown)]))
    return out


# --------------------------------------------------------------------------------------------- 3. two tables of a view


def _analysis_view(viewer, state, edges):
    return (prevalence_rows(viewer.analysis("prevalence", state, prevalence_options(edges))),
            viewer.analysis("odds-ratio", state, odds_ratio_options(edges)))


def _groups(result) -> dict[str, tuple[int | None, int | None]]:
    if result is None:
        return {}
    g = result.table("groups")
    return {SEX_OF[r.group]: (read(r.events), read(r.n)) for r in g.itertuples() if r.group in SEX_OF}


def _row_targets(cohort, state, rows, key):
    row = rows[key]
    base = dict(sex=key[0], age=(row["low"], key[1]), outcome_name=cohort.outcome, sex_age=True)
    return {"events": Target.of(state, Where(**base, outcome="case")),
            "non_events": Target.of(state, Where(**base, outcome="noncase")),
            "n": Target.of(state, Where(**base, outcome="known"))}


def two_tables(cohort, viewer, states, edges) -> list[Attempt]:
    """Attack 3: a withheld prevalence row recovered from the odds-ratio tables of the same view.

    For a withheld row whose stratum is shown in the odds-ratio strata table: its n is the stratum's n minus the
    other sex's row, and its events follow from the stratum OR and the other sex's cells. A sex's last unknown row
    is then its total in the odds-ratio groups table minus its other rows."""
    out = []
    for state in states:
        rows, result = _analysis_view(viewer, state, edges)
        if not rows:
            continue
        groups = _groups(result)
        strata = {}
        frame = result.table("strata") if result is not None else None
        if frame is not None and not frame.empty:
            strata = {label: {"or": value(ratio), "n": read(n)}
                      for label, ratio, n in zip(frame["stratum"], frame["or"], frame["n"])}
        known = {k: (r["events"], r["n"], 1) for k, r in rows.items() if not r["hidden"]}  # (events, n, cells)
        hidden = [k for k, r in rows.items() if r["hidden"]]
        derived = {}
        for key in hidden:
            other = ("male" if key[0] == "female" else "female", key[1])
            stratum = strata.get(rows[key]["label"], {})
            if other not in known or stratum.get("n") is None or stratum.get("or") in (None, 0):
                continue
            oe, on, _ = known[other]
            m = stratum["n"] - on  # the stratum's n minus the other sex's row: this row's n
            ratio = stratum["or"]
            events = None
            if key[0] == "female" and ratio:  # a, b unknown; c, d (men) shown: OR = a d / (b c)
                c, d = oe, on - oe
                k = ratio * c / d if d else None
                events = None if k is None else k * m / (1 + k)
            elif ratio:  # c, d unknown; a, b (women) shown
                a, b = oe, on - oe
                events = None if not a else m / (1 + ratio * b / a)
            if events is None or not np.isfinite(events):
                events = None
            derived[key] = (None if events is None else int(round(events)), int(m), None)  # not bounded by cells
        for sex in ("female", "male"):
            total = groups.get(sex)
            if total is None or None in total:
                continue
            for position, measure in ((0, "events"), (1, "n")):
                rest = [k for k in hidden if k[0] == sex and (k not in derived or derived[k][position] is None)]
                others = [v for k, v in {**known, **derived}.items() if k[0] == sex and k not in rest]
                if len(rest) != 1 or any(v[position] is None for v in others):
                    continue
                cells = None if any(t is None for _, _, t in others) else 1 + sum(t for _, _, t in others)
                found = total[position] - sum(v[position] for v in others)
                old = derived.get(rest[0], (None, None, cells))
                new = list(old)
                new[position] = found
                new[2] = cells if old[2] is not None or rest[0] not in derived else None
                derived[rest[0]] = tuple(new)
        for key in hidden:
            targets = _row_targets(cohort, state, rows, key)
            got = derived.get(key)
            for measure, target in targets.items():
                if got is None:
                    out.append(Attempt(target, None))
                    continue
                events, n, cells = got
                guess = {"events": events, "n": n,
                         "non_events": None if events is None or n is None else n - events}[measure]
                if guess is None:
                    out.append(Attempt(target, None))
                elif not viewer.policy.perturbed:
                    out.append(Attempt(target, guess, guess, guess))
                elif cells is None:
                    out.append(Attempt(target, guess, 0, None))
                else:  # events: cells × 1 released cell each; n: × 2; non-events: both
                    width = cells * CELLS[measure] * D
                    out.append(Attempt(target, guess, max(guess - width, 0), guess + width))
    return out


# ----------------------------------------------------------------------------------------------------- 4. MH inversion


def _mh_vectorised(strata: list[tuple], z: float):
    """MH OR and its Robins–Breslow–Greenland CI for arrays of candidate tables (each cell a scalar or array)."""
    sr = ss = srp = ssq = mix = 0.0
    for a, b, c, d in strata:
        n = a + b + c + d
        safe = np.where(n > 0, n, 1)
        r, s = np.where(n > 0, a * d / safe, 0.0), np.where(n > 0, b * c / safe, 0.0)
        p, q = np.where(n > 0, (a + d) / safe, 0.0), np.where(n > 0, (b + c) / safe, 0.0)
        sr, ss = sr + r, ss + s
        srp, ssq, mix = srp + p * r, ssq + q * s, mix + p * s + q * r
    with np.errstate(divide="ignore", invalid="ignore"):
        mh = sr / ss
        var = (srp / sr**2 + mix / (sr * ss) + ssq / ss**2) / 2
        low, high = mh * np.exp(-z * np.sqrt(var)), mh * np.exp(z * np.sqrt(var))
    return mh, low, high


def _close(x, shown) -> np.ndarray:
    return np.isclose(x, shown, rtol=1e-9, atol=0)


def mh_inversion(cohort, viewer, states, edges, window: int = 10) -> list[Attempt]:
    """Attack 4: the withheld cells of a 2×2×K table (sex × outcome × age band) solved from the shown Mantel–Haenszel
    OR and its CI (Breslow–Day breaks ties), given the shown strata (prevalence rows of the same bands) and the shown
    margins (the groups table): every integer table near the margins is tried and those that reproduce the shown
    estimates kept."""
    z = stats.norm.ppf(0.975)
    out = []
    for state in states:
        rows, result = _analysis_view(viewer, state, edges)
        if not rows:
            continue
        hidden = [k for k, r in rows.items() if r["hidden"]]
        solved = _solve_mh(viewer, rows, hidden, result, window, z) if hidden else None
        for key in hidden:
            for measure, target in _row_targets(cohort, state, rows, key).items():
                if solved is None:
                    out.append(Attempt(target, None))
                    continue
                values = np.asarray(solved[key][measure])
                # Several tables fit (e.g. two hidden strata can swap): the attacker takes the smallest value, as a
                # withheld cell is usually the small one.
                guess = int(values.min())
                low, high = int(values.min()), int(values.max())
                if viewer.policy.perturbed:  # a recovered cell is a released count: the truth is within D of it
                    spread = 2 * D if measure == "n" else D
                    low, high = low - spread, high + spread
                out.append(Attempt(target, guess, max(low, 0), high))
    return out


def _solve_mh(viewer, rows, hidden, result, window, z):
    if result is None:
        return None
    mh = result.estimate("mh_or")
    groups = _groups(result)
    if mh is None or mh.ci_low is None or len(groups) != 2 or any(None in g for g in groups.values()):
        return None
    labels = list(result.table("strata")["stratum"])
    by_label = {}
    for key, row in rows.items():
        by_label.setdefault(row["label"], {})[key[0]] = (key, row)
    perturbed = viewer.policy.perturbed
    axes, names = [], []  # candidate values of each unknown cell
    for sex in ("female", "male"):
        mine = [k for k in hidden if k[0] == sex]
        shown = [r for k, r in rows.items() if k[0] == sex and not r["hidden"]]
        events, n = groups[sex]
        left_events = events - sum(r["events"] for r in shown)
        left_non = (n - events) - sum(r["n"] - r["events"] for r in shown)
        if not mine:
            continue
        if len(mine) == 1:
            w = window if perturbed else 0
            axes += [np.arange(max(left_events - w, 0), left_events + w + 1),
                     np.arange(max(left_non - w, 0), left_non + w + 1)]
            names += [(mine[0], "events"), (mine[0], "non_events")]
        elif len(mine) == 2 and not perturbed and left_events >= 0 and left_non >= 0:
            axes += [np.arange(0, left_events + 1), np.arange(0, left_non + 1)]
            names += [("split", sex, left_events, "events"), ("split", sex, left_non, "non_events")]
        else:
            return None
    size = int(np.prod([len(a) for a in axes]))
    if not axes or size == 0 or size > MAX_COMBINATIONS:
        return None
    grids = np.meshgrid(*axes, indexing="ij")
    cand = {name: g.ravel() for name, g in zip(names, grids)}
    cells = {}  # (sex, label) -> (events, non_events) as scalars or candidate arrays
    for name, values in cand.items():
        if name[0] == "split":
            _, sex, total, measure = name
            first, second = [k for k in hidden if k[0] == sex]
            cells.setdefault(first, {})[measure] = values
            cells.setdefault(second, {})[measure] = total - values
        else:
            cells.setdefault(name[0], {})[name[1]] = values
    strata = []
    for label in labels:
        pair = []
        for sex in ("female", "male"):
            key, row = by_label.get(label, {}).get(sex, (None, None))
            if key is None:
                pair += [0, 0]
            elif key in cells:
                pair += [cells[key]["events"], cells[key]["non_events"]]
            else:
                pair += [row["events"], row["n"] - row["events"]]
        strata.append(tuple(pair))
    estimate, low, high = _mh_vectorised(strata, z)
    ok = _close(estimate, mh.estimate) & _close(low, mh.ci_low) & _close(high, mh.ci_high)
    if not ok.any():
        return None
    index = np.flatnonzero(ok)
    bd = result.test("breslow_day")
    if bd is not None and len(index) > 1:  # Breslow–Day breaks ties between the tables that fit the MH OR and CI
        keep = [i for i in index if np.isclose(_bd(strata, i), bd.statistic, rtol=1e-9)]
        index = np.asarray(keep or index)
    solved = {}
    for key in hidden:
        ev = np.broadcast_to(cells[key]["events"], ok.shape)[index]
        ne = np.broadcast_to(cells[key]["non_events"], ok.shape)[index]
        solved[key] = {"events": ev, "non_events": ne, "n": ev + ne}
    return solved


def _bd(strata, i) -> float:
    tables = [TwoByTwo(*(int(np.asarray(v).ravel()[i]) if np.ndim(v) else int(v) for v in s)) for s in strata]
    with np.errstate(divide="ignore", invalid="ignore"):
        result = mantel_haenszel(tables)
    return np.nan if result.breslow_day is None else result.breslow_day


# ---------------------------------------------------------------------------------------------------- 5. option levers


def age_edge_lever(cohort, viewer, states, ages, top: int) -> list[Attempt]:
    """Attack 5a: an age-band edge moved by one year. With lower edges {x − 4, x, x + 5} the row [x, x + 4] holds
    age x; with {x − 4, x + 1, x + 5} the row [x + 1, x + 4] does not: the difference is age x (per sex, events and
    n). Target ages are 10 years apart, so one pair of runs moves several edges at once."""
    out = []
    for offset_ages in ages:
        first = sorted({e for x in offset_ages for e in (x - 4, x, x + 5) if e < top})
        second = sorted({e for x in offset_ages for e in (x - 4, x + 1, x + 5) if e < top})
        for state in states:
            a = viewer.analysis("prevalence", state, prevalence_options(first))
            b = viewer.analysis("prevalence", state, prevalence_options(second))
            ra, rb = prevalence_rows(a), prevalence_rows(b)
            for x in offset_ages:
                for sex in ("female", "male"):
                    for measure, outcome in (("events", "case"), ("n", "known")):
                        where = Where(sex=sex, age=(x, x), outcome_name=cohort.outcome, outcome=outcome, sex_age=True)
                        wide, narrow = ra.get((sex, x + 4), {}), rb.get((sex, x + 4), {})
                        k = CELLS[measure]
                        out.append(_linear(viewer, Target.of(state, where),
                                           [(1, wide.get(measure), k), (-1, narrow.get(measure), k)]))
    return out


def cut_point_lever(cohort, viewer, states, cut_sets) -> list[Attempt]:
    """Attack 5b: a biomarker cut point moved by one unit: band [c, u) minus band [c + 1, u) is the participants
    with a value in [c, c + 1) (n and events)."""
    out = []
    for cuts in cut_sets:  # (c, width): cut c moved to c + 1, its band's upper cut c + width fixed (None: open band)
        for state in states:
            first = sorted({v for c, width in cuts for v in (c, c + width if width else None) if v is not None})
            second = sorted({v for c, width in cuts for v in (c + 1, c + width if width else None) if v is not None})
            a = biomarker_bands(viewer.analysis("biomarker-risk", state, biomarker_options(first)), first)
            b = biomarker_bands(viewer.analysis("biomarker-risk", state, biomarker_options(second)), second)
            by_a = {row["bounds"]: row for row in a.values()}
            by_b = {row["bounds"]: row for row in b.values()}
            for c, width in cuts:
                upper = c + width if width else INF
                wide, narrow = by_a.get((c, upper), {}), by_b.get((c + 1, upper), {})
                for measure, event in (("n", None), ("events", True)):
                    where = Where(usable=True, band=(c, c + 1), event=event)
                    k = BAND_CELLS[measure]
                    out.append(_linear(viewer, Target.of(state, where),
                                       [(1, wide.get(measure), k), (-1, narrow.get(measure), k)]))
    return out


def at_lever(cohort, viewer, states) -> list[Attempt]:
    """Attack 5c: a Kaplan–Meier `at` time moved by one step (0.5 years): the numbers at risk at t and at t + 0.5
    differ by the participants whose follow-up ends in [t, t + 0.5)."""
    cuts = cohort.engine.info.mapping.biomarker.cut_points
    out = []
    for state in states:
        result = viewer.analysis("biomarker-risk", state, biomarker_options())
        if result is None:
            continue
        bounds = dict(zip(result.details.band_labels, _cut_bounds(cuts)))
        risk = km_at_risk(result)
        for band in bounds:
            for t, u in zip(KM_AT, KM_AT[1:]):
                where = Where(usable=True, band=bounds[band], time=(float(t), float(u)))
                out.append(_linear(viewer, Target.of(state, where),
                                   [(1, risk.get((band, round(float(t), 4))), None),
                                    (-1, risk.get((band, round(float(u), 4))), None)]))
    return out


# ---------------------------------------------------------------------------------------------------------- 6. KM tail


def km_tail(cohort, viewer, views) -> list[Attempt]:
    """Attack 6: a band's events (band table) minus the events of its shown Kaplan–Meier steps (each step's events
    are at_risk × (1 − S_j / S_j−1)): the events in the withheld tail. ``views``: (state, cut points or None)."""
    out = []
    for state, chosen in views:
        cuts = chosen or cohort.engine.info.mapping.biomarker.cut_points
        result = viewer.analysis("biomarker-risk", state, biomarker_options(chosen))
        if result is None:
            continue
        bands = biomarker_bands(result, cuts)
        curve = result.table("km_curve")
        for label, row in bands.items():
            part = curve[curve["band"] == label]
            shown = part[~part["suppressed"].astype(bool)]
            if shown.empty or len(shown) == len(part):
                continue  # no withheld tail (the whole curve is shown, or the band is withheld)
            steps, previous, last = [], 1.0, 0.0
            for r in shown.itertuples():
                if r.time > 0:
                    steps.append(int(round(float(r.at_risk) * (1 - float(r.survival) / previous))))
                    last = float(r.time)
                previous = float(r.survival)
            where = Where(usable=True, band=row["bounds"], event=True, time=(last + 1e-9, INF))
            out.append(_linear(viewer, Target.of(state, where), [(1, row["events"], 1)] + [(-1, s, 1) for s in steps]))
    return out


# ------------------------------------------------------------------------------------------------ 7. N of two analyses


def two_analyses_n(cohort, viewer, states, edges, adjuster: str) -> list[Attempt]:
    """Attack 7: the N of the odds-ratio analysis adjusted for age minus its N adjusted for age and ``adjuster``
    (complete-case): the participants missing the adjuster."""
    first = odds_ratio_options(edges)
    second = replace(first, adjust=("age", adjuster))
    out = []
    for state in states:
        a, b = viewer.analysis("odds-ratio", state, first), viewer.analysis("odds-ratio", state, second)
        where = Where(outcome_name=cohort.outcome, outcome="known", sex_age=True, missing=f"cov_{adjuster}")
        out.append(_linear(viewer, Target.of(state, where), [(1, a.n if a else None, 4), (-1, b.n if b else None, 4)]))
    return out


# ---------------------------------------------------------------------------------------------------- 8. outcome known


def outcome_known(cohort, viewer, states) -> list[Attempt]:
    """Attack 8: the Overview's N minus "Outcome known" (or, where that is withheld, minus the N of the prevalence
    analysis of the same view, whose denominator is the participants with a known outcome): the unknowns."""
    out = []
    for state in states:
        shown = viewer.overview(state)
        known, cells = shown["known"], CELLS["known"]
        if known is None and shown["participants"] is not None:
            result = viewer.analysis("prevalence", state, PrevalenceOptions())
            known, cells = (result.n if result else None), 4
        where = Where(outcome_name=state.definition or cohort.outcome, outcome="unknown")
        out.append(_linear(viewer, Target.of(state, where), [(1, shown["participants"], 1), (-1, known, cells)]))
    return out


# --------------------------------------------------------------------------------------------- 9. Table 1 n vs missing


def table_one_missing(cohort, viewer, states) -> list[Attempt]:
    """Attack 9: a Table 1 numeric row's n — withheld when small — is its group's N (column header) minus the
    row's missing count."""
    numeric = [col for col, kind in table_one_variables(cohort.engine) if kind == "numeric"]
    out = []
    for state in states:
        frame = viewer.table_one(state)
        groups = {}
        for column in frame.columns:
            if "(N = " in column:
                name = column.split(" (N = ")[0]
                groups[{"Women": "female", "Men": "male"}.get(name)] = (column, read(column.split("(N = ")[1][:-1]))
        for var in numeric:
            rows = frame[frame["Variable"] == var]
            missing_row = rows[rows["Level"] == "missing"]
            for sex, (column, n_group) in groups.items():
                target = Target.of(state, Where(sex=sex, present=(var,)))
                if missing_row.empty:  # no missing row: every group's missing count is shown as 0
                    terms = [(1, n_group, 1)]
                else:
                    terms = [(1, n_group, 1), (-1, read(missing_row[column].iloc[0]), 1)]
                out.append(_linear(viewer, target, terms))
    return out


# ----------------------------------------------------------------------------------------- 13. Table 1 by two groupings

SEX_LEVELS = {"female": ("female", "women", "Women"), "male": ("male", "men", "Men")}


def table_one_groupings(cohort, viewer, states) -> list[Attempt]:
    """Attack 13: Table 1 by site shows each site's N in its column header and that site's count of one sex in its
    Sex row; their difference is the other sex at the site, which Table 1 by sex withholds in its Site row when it is
    small. The attacker also reads that Site row itself where it is shown."""
    out = []
    for state in states:
        by_site = viewer.table_one(state, "site")
        by_sex = viewer.table_one(state, "sex")
        sex_rows = by_site[by_site["Variable"] == "sex"]
        for column in [c for c in by_site.columns if "(N = " in c]:
            site, n_site = column.split(" (N = ")[0], read(column.split("(N = ")[1][:-1])
            for sex, other in (("female", "male"), ("male", "female")):
                other_row = sex_rows[sex_rows["Level"].isin(SEX_LEVELS[other])]
                shown_other = read(other_row[column].iloc[0]) if not other_row.empty else None
                target = Target.of(replace(state, sites=(site,)), Where(sex=sex))
                direct = _site_row(by_sex, site, sex)
                terms = [(1, direct, 1)] if direct is not None else [(1, n_site, 1), (-1, shown_other, 1)]
                out.append(_linear(viewer, target, terms))
    return out


def _site_row(by_sex, site: str, sex: str) -> int | None:
    """The count of ``sex`` at ``site`` in Table 1 by sex (None when withheld or absent)."""
    row = by_sex[(by_sex["Variable"] == "site") & (by_sex["Level"] == site)]
    column = next((c for c in by_sex.columns if c.split(" (N = ")[0] in SEX_LEVELS[sex]), None)
    return read(row[column].iloc[0]) if column and not row.empty else None


# ----------------------------------------------------------------------------------------------------- 10. load report


def load_report_rows(viewer, report, file: str, target) -> Attempt:
    """Attack 10: the Data page's rows read minus rows loaded of one file: its rejected rows (shown as "<11")."""
    account = viewer.load_report(report)["accounts"].get(file, {})
    return _linear(viewer, target, [(1, account.get("read"), 1), (-1, account.get("loaded"), 1)])


def load_report_calibrated(viewer, report, file: str, own_reports, target) -> Attempt:
    """Attack 10b: the attacker uploads its own files under the victim file's name, with known numbers of rejected
    rows i = 1 … 10 (``own_reports``: i → report), and notes what "rows read − rows loaded" shows for each. A
    load-report count's cell key depends on the file name only, so the victim's file gets the same noise for the
    same count: its true rejected count is the i whose own upload showed the same difference."""
    mine = viewer.load_report(report)["accounts"].get(file, {})
    if None in (mine.get("read"), mine.get("loaded")):
        return Attempt(target, None)
    shown = mine["read"] - mine["loaded"]
    table = {}
    for i, own in own_reports.items():
        account = viewer.load_report(own)["accounts"].get(file, {})
        if None not in (account.get("read"), account.get("loaded")):
            table[i] = account["read"] - account["loaded"]
    candidates = [i for i, d in table.items() if d == shown]
    if not candidates:
        return Attempt(target, None)
    return Attempt(target, min(candidates), min(candidates), max(candidates))


# ----------------------------------------------------------------------------------------------- 11. pairs enumeration


def pairs_enumeration(cohort, viewer, pairs) -> list[Attempt]:
    """Attack 11: every pair of nested states (one filter narrowed by one step) differenced through every total
    the Overview shows: participants, cases and known outcomes (by sex where the state fixes a sex)."""
    metrics = {"participants": Where(), "cases": Where(outcome_name=cohort.outcome, outcome="case"),
               "known": Where(outcome_name=cohort.outcome, outcome="known")}
    out = []
    for wide, narrow in pairs:
        a, b = viewer.overview(wide), viewer.overview(narrow)
        for metric, where in metrics.items():
            k = CELLS[metric]
            out.append(_linear(viewer, Target.diff(wide, narrow, where), [(1, a[metric], k), (-1, b[metric], k)]))
    return out


# ------------------------------------------------------------------------------------------------------- 12. averaging


def _shift_likelihoods() -> np.ndarray:
    """P(e | K) for e = f(k + K) − f(k), k uniform: the noise of a difference of two large released counts whose
    cell keys differ by K (the key sum of the participants in between), from the published ptable (its row for
    large counts, key by key). Index [K, e + 2D]."""
    from disclosure.ptable import PTableParams, build_ptable

    row = build_ptable(PTableParams()).perturbation[-1]
    keys = row.size
    out = np.zeros((keys, 4 * D + 1))
    for shift in range(keys):
        e = row[(np.arange(keys) + shift) % keys] - row
        np.add.at(out[shift], e + 2 * D, 1.0 / keys)
    return out


def _most_likely(differences: list[int], likelihoods: np.ndarray) -> int:
    """The count t that makes the differences most likely, the key sum K of its participants unknown (uniform;
    t = 0 has K = 0): each difference is t + e with e drawn for its own, independent complement."""
    best, best_value = 0, -1.0
    for t in range(0, max(differences) + 2 * D + 1):
        index = np.asarray(differences) - t + 2 * D
        if (index < 0).any() or (index >= likelihoods.shape[1]).any():
            continue
        value = float(np.prod(likelihoods[0, index])) if t == 0 else \
            float(np.mean(np.prod(likelihoods[:, index], axis=1)))
        if value > best_value:
            best, best_value = t, value
    return best


def averaged_sites(cohort, viewer, base, sites) -> list[Attempt]:
    """Attack 12 (beyond the issue's ten): the Overview differencing of attack 11 repeated over every pair of site
    sets (U, U without s) — all of them isolate the participants of site s in the base state — and combined. Each
    pair's noise comes from a different complement, so the pairs are independent draws around the truth: the
    attacker takes the most likely count under the published ptable (participants, cases: one cell each side) or
    the rounded mean (known outcomes: two cells each side). Every subset of ``sites`` is one Overview view."""
    likelihoods = _shift_likelihoods()
    subsets = [tuple(x for i, x in enumerate(sites) if mask >> i & 1) for mask in range(1, 2 ** len(sites))]
    shown = {u: viewer.overview(replace(base, sites=u)) for u in subsets}
    out = []
    metrics = {"participants": Where(), "cases": Where(outcome_name=cohort.outcome, outcome="case"),
               "known": Where(outcome_name=cohort.outcome, outcome="known")}
    for site in sites:
        pairs = [(u, tuple(x for x in u if x != site)) for u in subsets if site in u and len(u) > 1]
        for metric, where in metrics.items():
            diffs = [shown[a][metric] - shown[b][metric] for a, b in pairs
                     if shown[a][metric] is not None and shown[b][metric] is not None]
            a, b = pairs[-1]
            target = Target.diff(replace(base, sites=a), replace(base, sites=b), where)
            if not diffs:
                out.append(Attempt(target, None))
                continue
            if metric == "known":
                guess = int(round(float(np.mean(diffs))))
            else:
                guess = _most_likely(diffs, likelihoods)
            if not viewer.policy.perturbed:
                out.append(Attempt(target, guess, guess, guess))
                continue
            width = 2 * CELLS[metric] * D  # each difference is within this of the truth
            low, high = max(diffs) - width, min(diffs) + width
            out.append(Attempt(target, guess, max(low, 0), max(high, low)))
    return out

