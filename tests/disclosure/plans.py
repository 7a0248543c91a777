"""Which filter states and options each attack tries on each cohort (its plan).

An attacker would try every state; to keep the suite fast the plans are drawn (with a fixed seed) from the filter
lattice and kept where the target counts are small — the judge's truth is used for that choice only, never for a
guess. Choosing where to look by the true counts cannot help a guess in cell-key mode: the noise comes from the
secret record keys, independent of the counts. ``EXACT_SHARE`` of every plan also runs in exact mode.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import numpy as np

from analyses.bands import DEFAULT_AGE_EDGES
from tests.disclosure.cohorts import Cohort, State, Target, Where, narrowings

SEED = 14
EXACT_SHARE = 0.15
COUNT_OF = {"participants": "n", "cases": "cases", "known": "known"}


@dataclass
class Plan:
    """The attack plan of one cohort; a missing entry in ``skips`` means the attack runs there."""

    edges: tuple[int, ...] = DEFAULT_AGE_EDGES
    pairs: list = field(default_factory=list)  # attack 11
    row_pairs: list = field(default_factory=list)  # attack 1a
    quads: list = field(default_factory=list)  # attack 2
    analysis_pairs: list = field(default_factory=list)  # attacks 1a, 3, 4, 7 (the wide state of each pair)
    n_states: list = field(default_factory=list)  # attack 7: more states
    mh_states: list = field(default_factory=list)  # attacks 3, 4: many states, so the rate is measured, not sampled
    adjuster: str | None = None
    age_sets: list = field(default_factory=list)  # attack 5a: target ages per pair of runs
    age_states: list = field(default_factory=list)
    top: int = 90
    biomarker_pairs: list = field(default_factory=list)  # attacks 1b, 1c, 5c, 6
    cut_sets: list = field(default_factory=list)  # attack 5b
    known_states: list = field(default_factory=list)  # attack 8 (on the variant cohort)
    table_one_states: list = field(default_factory=list)  # attack 9
    averaging: dict = field(default_factory=dict)  # attack 12
    grouping_states: list = field(default_factory=list)  # attack 13
    skips: dict = field(default_factory=dict)


def exact_share(items: list, share: float = EXACT_SHARE, least: int = 2) -> list:
    """The part of a plan that also runs in exact mode (spread over the plan)."""
    if not items:
        return []
    k = max(least, int(round(len(items) * share)))
    return [items[i] for i in sorted(set(np.linspace(0, len(items) - 1, min(k, len(items))).astype(int)))]


# ------------------------------------------------------------------------------------------------------------- helpers


def _n(cohort: Cohort, state: State) -> int:
    return cohort.truth.count(Target.of(state))


def random_state(rng, cohort: Cohort, p_filter: float = 0.6) -> State:
    """A random state of the cohort's filter lattice (each filter set with probability ``p_filter``)."""
    o = cohort.options
    s = State()
    if o.sites and rng.random() < p_filter:
        k = int(rng.integers(1, len(o.sites) + 1))
        s = replace(s, sites=tuple(sorted(rng.choice(o.sites, k, replace=False))))
    if o.sexes and rng.random() < p_filter / 2:
        s = replace(s, sexes=(str(rng.choice(o.sexes)),))
    if o.age_bands and rng.random() < p_filter:
        i, j = sorted(rng.integers(0, len(o.age_bands), 2))
        s = replace(s, age=(o.age_bands[i][0], o.age_bands[j][1]))
    if o.years and rng.random() < p_filter:
        i, j = sorted(rng.integers(0, len(o.years), 2))
        s = replace(s, years=(o.years[i], o.years[j]))
    if o.drugs and rng.random() < p_filter / 2:
        k = int(rng.integers(1, len(o.drugs) + 1))
        s = replace(s, drugs=tuple(d for d in o.drugs if d in set(rng.choice(o.drugs, k, replace=False))))
    if o.exclusions and rng.random() < p_filter / 3:
        s = replace(s, exclude=True)
    return s


def _small(v: int) -> bool:
    return 1 <= v <= 10


def _metric_counts(cohort: Cohort, target_terms) -> dict[str, int]:
    o = cohort.outcome
    wheres = {"participants": Where(), "cases": Where(outcome_name=o, outcome="case"),
              "known": Where(outcome_name=o, outcome="known")}
    return {k: cohort.truth.count(replace_terms(target_terms, w)) for k, w in wheres.items()}


def replace_terms(terms, where) -> Target:
    return Target(tuple(terms), where)


def nested_pairs(cohort: Cohort, rng, want: int, min_n: int = 15, max_removed: int = 40, tries: int = 4000):
    """Pairs (wide, narrow) one filter step apart where the step removes 1 … ``max_removed`` participants, or
    1 … 10 cases or known outcomes. Pairs come grouped by their wide state (several steps of one base)."""
    pairs, seen = [], set()
    for _ in range(tries):
        if len(pairs) >= want:
            break
        base = random_state(rng, cohort)
        n_base = _n(cohort, base)
        if n_base < min_n or base in seen:
            continue
        seen.add(base)
        for _label, narrow in narrowings(base, cohort.options):
            gone = n_base - _n(cohort, narrow)
            if gone < 1 or n_base - gone < min_n:
                continue
            if gone <= max_removed or any(
                    _small(v) for v in _metric_counts(cohort, ((base, 1), (narrow, -1))).values()):
                pairs.append((base, narrow))
    return pairs[:want]


def _apply(label: str, state: State, cohort: Cohort) -> State | None:
    return dict(narrowings(state, cohort.options)).get(label)


def quads(cohort: Cohort, pairs, want: int, min_n: int = 15):
    """(A, B, C, D) from the pairs' bases: B and C narrow A by steps of two different filters (both pairs of the
    enumeration), D by both; kept where the participants removed by both steps, or their cases or known outcomes,
    number 1 … 10."""
    by_base: dict = {}
    for a, b in pairs:
        by_base.setdefault(a, []).append(b)
    labels = {}
    out = []
    for a, narrows in by_base.items():
        steps = {lab: t for lab, t in narrowings(a, cohort.options) if t in narrows}
        labels[a] = steps
        for (lx, b), (ly, c) in itertools.combinations(steps.items(), 2):
            if lx.split(" ")[0] == ly.split(" ")[0]:
                continue
            d = _apply(ly, b, cohort)
            if d is None or _n(cohort, d) < min_n:
                continue
            if any(_small(v) for v in _metric_counts(cohort, ((a, 1), (b, -1), (c, -1), (d, 1))).values()):
                out.append((a, b, c, d))
                taken = sum(1 for q in out if q[0] == a)
                if taken >= 2:
                    break  # two quads per base at most: spread over the lattice
    return out[:want]


def band_cells(cohort: Cohort, state: State, edges):
    """Truth of the prevalence band table of a state: arrays [sex (female, male), band] of events and n, and each
    band's age range (the first band from age 0: the table's first row holds everyone below its upper edge)."""
    arrays = cohort.truth.arrays(cohort.outcome)
    m = cohort.truth.mask(state) & arrays["known"] & arrays["sex_age"]
    if not m.any():
        return None
    ages = arrays["age"][m]
    lows = np.array([ages.min()] + [e for e in edges if e > ages.min()])
    band = np.searchsorted(lows, ages, side="right") - 1
    code = arrays["male"][m].astype(int) * len(lows) + band
    n = np.bincount(code, minlength=2 * len(lows)).reshape(2, -1)
    events = np.bincount(code, weights=arrays["case"][m].astype(float), minlength=2 * len(lows)).reshape(2, -1)
    bounds = list(zip(np.append(0, lows[1:]), np.append(lows[1:] - 1, 200)))
    return events.astype(int), n, bounds


def analysis_states(cohort: Cohort, rng, want: int, edges, tries: int = 1500):
    """States (both sexes) whose prevalence band table (``edges``) has one row per sex at most with a small cell —
    so the MH inversion stays a small search — preferring many small cells in those rows, and rows (sets of
    participants) not already chosen; each with a narrowing."""
    scored, seen = [], set()
    for _ in range(tries):
        s = random_state(rng, cohort)
        if s in seen or s.sexes is not None or _n(cohort, s) < 150:
            continue
        seen.add(s)
        cells = band_cells(cohort, s, edges)
        if cells is None:
            continue
        events, n, bounds = cells
        non = n - events
        if (events.sum(axis=1) < 11).any() or (non.sum(axis=1) < 11).any():
            continue  # the 2×2 table itself has a small cell: no MH estimate to invert
        stack = np.stack([events, non, n])
        flagged = ((stack >= 1) & (stack <= 13)).any(axis=0)  # [sex, band]
        if not flagged.any() or flagged.sum(axis=1).max() > 1:
            continue
        score = int(((stack >= 1) & (stack <= 10)).any(axis=0)[flagged].sum() +
                    ((stack >= 1) & (stack <= 10))[:, flagged].sum())
        rows = [cohort.truth.members(Target.of(s, Where(sex=("female", "male")[i], age=tuple(map(int, bounds[j])),
                                                          outcome_name=cohort.outcome, outcome="known",
                                                          sex_age=True)))
                for i, j in zip(*np.nonzero(flagged))]
        scored.append((score, s, rows))
    scored.sort(key=lambda x: -x[0])
    out, taken = [], set()
    for _score, s, rows in scored:
        if len(out) >= want:
            break
        if set(rows) <= taken:
            continue  # its small rows hold the same participants as a chosen state's
        taken |= set(rows)
        steps = [t for _lab, t in narrowings(s, cohort.options) if 5 <= _n(cohort, s) - _n(cohort, t) <= 80]
        out.append((s, steps[int(rng.integers(len(steps)))] if steps else s))
    return out


def states_where(cohort: Cohort, rng, want: int, keep, min_n: int = 11, tries: int = 3000, p_filter=0.6):
    out, seen = [], set()
    for _ in range(tries):
        if len(out) >= want:
            break
        s = random_state(rng, cohort, p_filter)
        if s in seen or _n(cohort, s) < min_n:
            continue
        seen.add(s)
        if keep(s):
            out.append(s)
    return out


def _missing_small(cohort: Cohort, column: str):
    def keep(s: State) -> bool:
        where = Where(outcome_name=cohort.outcome, outcome="known", sex_age=True, missing=column)
        return _small(cohort.truth.count(Target.of(s, where)))
    return keep


def _site_sex_small(cohort: Cohort):
    """A state where one sex at some site counts 1-10 while the site has 11 or more (so Table 1 by site shows its
    column) and each sex has 11 or more (so Table 1 by sex shows both columns)."""
    def keep(s: State) -> bool:
        if any(cohort.truth.count(Target.of(s, Where(sex=sex))) < 11 for sex in ("female", "male")):
            return False
        for site in s.sites or cohort.options.sites:
            at_site = replace(s, sites=(site,))
            if cohort.truth.count(Target.of(at_site)) >= 11 and any(
                    _small(cohort.truth.count(Target.of(at_site, Where(sex=sex)))) for sex in ("female", "male")):
                return True
        return False
    return keep


def _numeric_small(cohort: Cohort, columns: list[str]):
    def keep(s: State) -> bool:
        small = 0
        for sex in ("female", "male"):
            if cohort.truth.count(Target.of(s, Where(sex=sex))) < 11:
                return False
            small += sum(_small(cohort.truth.count(Target.of(s, Where(sex=sex, present=(c,))))) for c in columns)
        return small >= 2
    return keep


# ---------------------------------------------------------------------------------------------------------- per cohort


def plan_for(cohort: Cohort, variant: Cohort | None = None) -> Plan:
    rng = np.random.default_rng(SEED)
    name = cohort.name
    plan = Plan()
    top = cohort.options.age_bands[-1][1]
    low = cohort.options.age_bands[0][0]
    plan.top = top
    sizes = {"demo": (110, 50, 28), "flchain": (80, 30, 24), "colon": (80, 30, 24), "nafld1": (60, 20, 20)}[name]
    plan.pairs = nested_pairs(cohort, rng, sizes[0])
    big = {"demo": 2000, "flchain": 1000, "colon": 250, "nafld1": 1500}[name]
    plan.row_pairs = nested_pairs(cohort, rng, 12, min_n=big, max_removed=60, tries=1500)  # attack 1a
    plan.quads = quads(cohort, plan.pairs, sizes[1])
    plan.analysis_pairs = analysis_states(cohort, rng, sizes[2], plan.edges)
    if not plan.analysis_pairs:
        plan.skips["3 two tables"] = plan.skips["4 MH inversion"] = "no state with a small stratum cell"

    # attack 7: an adjuster with missing values
    adjusters = {"demo": "ferritin_at_baseline", "flchain": "creatinine", "colon": "differ", "nafld1": "bmi"}
    plan.adjuster = adjusters[name]
    keep = _missing_small(cohort, f"cov_{plan.adjuster}")
    plan.n_states = [s for s, _ in plan.analysis_pairs if keep(s)][:12]
    plan.n_states += states_where(cohort, rng, 12 - len(plan.n_states), keep, min_n=30)
    if not plan.n_states:
        plan.skips["7 N of two analyses"] = (f"no filter state has 1-10 participants missing {plan.adjuster} "
                                             "(its missing share is too high for the few filters the roles allow)")

    # attack 5a: age edges moved by one year, target ages 10 apart, three offsets
    first = ((low + 6) // 10) * 10 + 5
    plan.age_sets = [[x for x in range(first + k, top - 5, 10) if x - 4 > low] for k in (0, 3, 6)]
    plan.age_states = [State()] + {"demo": [State(sites=("A", "B"))], "colon": [State(drugs=("Lev", "Lev+5FU"))],
                                   "flchain": [State(years=(1995, 1998))]}.get(name, [])

    # biomarker-risk (attacks 1b, 1c, 5b, 5c, 6)
    if cohort.has_biomarker_risk:
        def usable_gone(a, b):
            w = Where(usable=True)
            return cohort.truth.count(Target.diff(a, b, w))
        pairs = []
        for a, b in nested_pairs(cohort, rng, 200, min_n=200, max_removed=400):
            if 3 <= usable_gone(a, b) <= 40 and cohort.truth.count(Target.of(b, Where(usable=True))) >= 80:
                pairs.append((a, b))
            if len(pairs) >= 8:
                break
        plan.biomarker_pairs = pairs
        if name == "demo":
            plan.cut_sets = [[(c, 10) for c in range(start, 200, 10)] for start in range(10, 20)]
        else:  # few patients have many positive nodes: move the last cut of an open top band, one node at a time
            plan.cut_sets = [[(c, None)] for c in range(6, 15)]
    else:
        reason = "no biomarker or no time-to-event role (biomarker-risk needs both)"
        for attack in ("1b biomarker band rows", "1c KM at-risk steps", "5b cut point moved",
                       "5c KM `at` moved", "6 KM tail"):
            plan.skips[attack] = reason

    # attack 8: Overview N vs "Outcome known"
    if variant is not None:
        definition = "poor_differentiation"
        def unknown_small(s):
            return _small(variant.truth.count(Target.of(s, Where(outcome_name=definition, outcome="unknown"))))
        states = states_where(variant, rng, 90, unknown_small, min_n=11, p_filter=0.7)
        plan.known_states = [replace(s, definition=definition) for s in states]
    else:
        plan.skips["8 outcome known vs N"] = {
            "demo": "its outcomes have no unknown values (N = outcome known in every state)",
            "flchain": "its outcomes (MGUS, death) have no unknown values",
            "nafld1": "its outcome (death) has no unknown values and no column gives one with a few unknowns",
        }.get(name, "no outcome with unknown values")

    # attack 9: Table 1 numeric rows with few known values
    numeric = {"demo": ["biomarker", "cov_irls_score", "cov_plms_index", "cov_ferritin_at_baseline"],
               "flchain": ["cov_creatinine"], "colon": ["biomarker", "cov_nodes"],
               "nafld1": ["cov_bmi", "cov_weight", "cov_height"]}[name]
    plan.table_one_states = states_where(cohort, rng, 60 if name == "demo" else 12, _numeric_small(cohort, numeric),
                                         min_n=22, tries=3000, p_filter=0.8)
    if not plan.table_one_states:
        plan.skips["9 Table 1 n vs missing"] = ("no filter state has a numeric Table 1 row with 1-10 known values "
                                                "per sex beside groups of 11 or more")

    # attack 12: averaging over many pairs that isolate the same participants (every site set: 2^8 − 1 views)
    if cohort.options.sites:
        plan.averaging = {"base": State(years=(2022, 2022), age=(85, 90), sexes=("female",)),
                         "sites": cohort.options.sites}
    else:
        plan.skips["12 averaging"] = ("no site filter: its few filters give no large family of nested pairs that "
                                      "isolate the same participants")
    # attacks 3 and 4 recover one released cell, right as often as the ptable leaves it unchanged (≈ 0.27 for a count of
    # 3 or more): about 300 distinct targets keep a session's measured rate 2 standard errors below 1/3
    plan.mh_states = analysis_states(cohort, rng, (8 if name == "demo" else 4) * sizes[2], plan.edges, tries=8000)
    # attack 13: Table 1 by site against Table 1 by sex
    if cohort.options.sites:
        plan.grouping_states = states_where(cohort, rng, 40 if name == "demo" else 12, _site_sex_small(cohort),
                                            min_n=22, tries=3000, p_filter=0.8)
    if not plan.grouping_states:
        plan.skips["13 Table 1 groupings"] = ("no site filter" if not cohort.options.sites else "no filter state "
                                              "has a site with 1-10 of one sex beside 11 or more in all")
    return plan
