"""The attacks of issue 14 against the release layer, on the demo extract and the three real cohorts, in both modes.

For every attempt whose true count is 1 … 10 the judge checks whether the attacker's guess equals it (the table is
printed at the end of the session). Cell-key mode: each attack succeeds for at most one distinct target in three and
never with certainty. Exact mode: the rates observed are asserted as facts (the README's limits quote them).

Two attacks go beyond the issue's ten. 10b calibrates a load-report count's noise with a same-named upload; it fails
since the cell keys carry the data hash. 12 (averaging the Overview difference over every site set that isolates the
same participants) breaks cell-key mode: a strict xfail, the README's documented limit. Attack 4 (MH inversion)
recovers the released value of a withheld cell, right about 0.27 of the time by the ptable's design; it is measured on
about 280 distinct targets (attacks 3 and 4 share their many states), so a session fails it by chance only about once
in a hundred.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from queries.engine import CohortEngine
from tests.disclosure import attacks
from tests.disclosure.cohorts import REAL, State
from tests.disclosure.ledger import LEDGER, Attempt
from tests.disclosure.loadreports import bad_rows, colon_like, report_of, write_source
from tests.disclosure.plans import SEED, exact_share

COHORTS = ("demo", "flchain", "colon", "nafld1")
MODES = ("cell_key", "exact")
CELL_KEY_MAX_RATE = 1 / 3


def _biomarker_states(plan) -> list[State]:
    return list(dict.fromkeys(s for pair in plan.biomarker_pairs for s in pair))


def _km_views(plan) -> list[tuple[State, tuple | None]]:
    """Every biomarker-risk view the other attacks open: the pairs' states (mapping's cuts) and the cut-lever runs."""
    views = [(s, None) for s in _biomarker_states(plan)]
    for cuts in plan.cut_sets:
        views.append((State(), tuple(sorted({v for c, w in cuts for v in (c, c + w if w else None) if v is not None}))))
    return views


def _averaging(c, v, plan, pick):
    spec = plan.averaging
    sites = spec["sites"] if v.policy.perturbed else spec["sites"][:3]  # exact mode: a few pairs are enough
    return attacks.averaged_sites(c, v, spec["base"], sites)


# attack → (runner(cohort, viewer, plan, pick), the least number of distinct targets guessed in cell-key mode,
# summed over the cohorts: enough that a rate near the ptable's (0.19 for a difference of two counts, less for sums)
# does not reach 1/3 by chance)
ATTACKS = {
    "1a prevalence rows": (lambda c, v, p, pick: attacks.breakdown_rows(c, v, pick(p.row_pairs), p.edges), 80),
    "1b biomarker band rows": (lambda c, v, p, pick: attacks.biomarker_rows(c, v, pick(p.biomarker_pairs)), 25),
    "1c KM at-risk steps": (lambda c, v, p, pick: attacks.km_steps(c, v, pick(p.biomarker_pairs)), 60),
    "2 inclusion-exclusion": (lambda c, v, p, pick: attacks.inclusion_exclusion(c, v, pick(p.quads)), 40),
    "3 two tables": (lambda c, v, p, pick: attacks.two_tables(
        c, v, pick([s for s, _ in p.mh_states]), p.edges), 150),
    "4 MH inversion": (lambda c, v, p, pick: attacks.mh_inversion(
        c, v, pick([s for s, _ in p.mh_states]), p.edges), 150),
    "5a age edge moved": (lambda c, v, p, pick: attacks.age_edge_lever(c, v, p.age_states, pick(p.age_sets), p.top),
                          80),
    "5b cut point moved": (lambda c, v, p, pick: attacks.cut_point_lever(c, v, [State()], pick(p.cut_sets)), 40),
    "5c KM `at` moved": (lambda c, v, p, pick: attacks.at_lever(c, v, pick(_biomarker_states(p))), 100),
    "6 KM tail": (lambda c, v, p, pick: attacks.km_tail(c, v, pick(_km_views(p))), 15),
    "7 N of two analyses": (lambda c, v, p, pick: attacks.two_analyses_n(
        c, v, pick(p.n_states), p.edges, p.adjuster), 25),
    "9 Table 1 n vs missing": (lambda c, v, p, pick: attacks.table_one_missing(c, v, pick(p.table_one_states)), 120),
    "11 pairs enumeration": (lambda c, v, p, pick: attacks.pairs_enumeration(c, v, pick(p.pairs)), 120),
    "12 averaging": (_averaging, 5),
    "13 Table 1 groupings": (lambda c, v, p, pick: attacks.table_one_groupings(c, v, pick(p.grouping_states)), 20),
}


def _judge(attack: str, cohort_name: str, mode: str, truth, attempts: list[Attempt]) -> None:
    for attempt in attempts:
        members = truth.members(attempt.target) if hasattr(truth, "members") else None
        LEDGER.add(attack, cohort_name, mode, truth.count(attempt.target), attempt, members)


def _check(attack: str, mode: str, least: int, candidates_shown: bool = True) -> None:
    """``candidates_shown`` False: the attack's candidate set assumes noise that the release no longer shares (a
    calibration), so only its success rate is judged."""
    total = LEDGER.total(attack, mode)
    if mode == "cell_key" and not candidates_shown:
        assert total.targets >= least and total.target_rate <= CELL_KEY_MAX_RATE, \
            f"{attack}: {total.targets_correct}/{total.targets} distinct targets recovered in cell-key mode"
    elif mode == "cell_key":
        small = [r for r in LEDGER.records if r[0] == attack and r[2] == mode and r[4].guess is not None]
        assert total.targets >= least, f"{attack}: only {total.targets} distinct targets guessed with a true count 1-10"
        assert total.target_rate <= CELL_KEY_MAX_RATE, \
            f"{attack}: {total.targets_correct}/{total.targets} distinct targets recovered in cell-key mode"
        assert total.certain == 0, f"{attack}: {total.certain} certain recoveries in cell-key mode"
        assert all(r[4].candidates >= 2 and r[4].allows(r[3]) for r in small), \
            f"{attack}: an attempt left a single candidate, or its interval misses the truth"
    else:
        low, guesses_needed = EXACT_RATES.get(attack, (1.0, True))
        assert total.attempts > 0, attack
        assert total.guessed > 0 or not guesses_needed, f"{attack}: no guess in exact mode"
        assert total.guessed == 0 or total.rate >= low, \
            f"{attack}: exact mode {total.correct}/{total.guessed}, expected a rate of at least {low}"


# What exact mode gives away (observed; quoted in the README's limits): every differencing attack recovers its count,
# with certainty, whenever the outputs it needs are shown as numbers. (least rate, must guess at least once)
EXACT_RATES = {
    # complementary suppression picks the same second band in the prevalence and strata tables in the views tried,
    # so the strata table never gives a withheld row back; every guess it does make is right
    "3 two tables": (1.0, False),
    # two hidden strata can swap: when several tables fit, the attacker takes the smaller value
    "4 MH inversion": (0.5, True),
    # the site's N and the other sex's count at the site were never both shown in the states tried (25 attempts on
    # the demo, none guessed); complementary suppression is the likely reason
    "13 Table 1 groupings": (1.0, False),
}


AVERAGING_LIMIT = pytest.mark.xfail(strict=True, reason="a known limit of the cell key method (README, Disclosure "
                                     "control): averaging many differently keyed views that isolate one small group "
                                     "recovers it; closing it needs coarser filters or a view budget")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack(attack, mode, attack_cohorts, attack_plans, viewers, request):
    if attack == "12 averaging" and mode == "cell_key":
        request.applymarker(AVERAGING_LIMIT)
    runner, least = ATTACKS[attack]
    pick = (lambda items: list(items)) if mode == "cell_key" else exact_share
    for name in COHORTS:
        plan = attack_plans[name]
        if attack in plan.skips:
            LEDGER.skip(attack, name, plan.skips[attack])
            continue
        cohort = attack_cohorts[name]
        _judge(attack, name, mode, cohort.truth, runner(cohort, viewers[(name, mode)], plan, pick))
    _check(attack, mode, least)


@pytest.mark.parametrize("mode", MODES)
def test_attack_8_outcome_known(mode, attack_cohorts, attack_plans, colon_variant, viewers):
    """Attack 8 runs on colon with a second outcome (tumour grade 3) that is unknown for 23 patients."""
    attack = "8 outcome known vs N"
    pick = (lambda items: list(items)) if mode == "cell_key" else exact_share
    for name in COHORTS:
        plan = attack_plans[name]
        if attack in plan.skips:
            LEDGER.skip(attack, name, plan.skips[attack])
            continue
        attempts = attacks.outcome_known(colon_variant, viewers[("colon-variant", mode)], pick(plan.known_states))
        _judge(attack, name, mode, colon_variant.truth, attempts)
    _check(attack, mode, 40)


# ----------------------------------------------------------------------------------------------------- 10. load report


@pytest.fixture(scope="session")
def load_sources(tmp_path_factory):
    """The victims: colon's own load report (2 rows dropped), three small files with a few bad rows loaded for real,
    and, for numbers, 400 reports of the same shape (a report's release depends only on its names and counts).
    Each comes with the attacker's own uploads under the same file name with 1 … 10 rejected rows: for colon, real
    uploads of a synthetic colon.csv; for the others, reports of the shape such an upload gets."""
    rng = np.random.default_rng(SEED)
    root = tmp_path_factory.mktemp("load-reports")
    colon_mapping = REAL / "colon" / "mapping.toml"
    colon_truth = int((pd.read_csv(REAL / "colon" / "colon.csv")["nodes"] <= 0).sum())
    colon_report = CohortEngine.open(REAL / "colon" / "colon.csv", colon_mapping).info.load.report
    finding = colon_report.findings[0]
    own = {i: CohortEngine.open(colon_like(root / f"attacker-colon-{i}", 40 + i, i, rng), colon_mapping)
           .info.load.report for i in range(1, 11)}
    out = {"colon": [("colon.csv", colon_report, colon_truth, own)], "tmp-csv": [], "reports": []}
    for i, bad in enumerate((1, 4, 8)):
        name = f"extract_{i:02d}.csv"
        csv, mapping = write_source(root / f"victim{i}", name, 60, bad, rng)
        own = {j: report_of(name, 50 + j, j) for j in range(1, 11)}
        out["tmp-csv"].append((name, CohortEngine.open(csv, mapping).info.load.report, bad_rows(csv), own))
    for i in range(400):
        name, read, bad = f"site_{i:03d}.csv", int(rng.integers(40, 5000)), int(rng.integers(1, 11))
        own = {j: report_of(name, int(rng.integers(40, 500)), j) for j in range(1, 11)}
        out["reports"].append((name, report_of(name, read, bad), bad, own))
    assert finding.column == "nodes" and colon_truth == finding.count
    return out


class _Known:
    """The judge's truth of a load-report target (the bad rows counted with pandas, or written into the report)."""

    def __init__(self, value: int):
        self.value = value

    def count(self, _target) -> int:
        return self.value


@pytest.mark.parametrize("mode", MODES)
def test_attack_10_load_report(mode, load_sources, viewers):
    attack = "10 load report"
    for label, sources in load_sources.items():
        viewer = viewers[("colon", mode)]  # the release of a report does not depend on the cohort
        for name, report, truth, _own in sources:
            _judge(attack, label, mode, _Known(truth), [attacks.load_report_rows(viewer, report, name, name)])
    _check(attack, mode, 100)


@pytest.mark.parametrize("mode", MODES)
def test_attack_10b_load_report_calibrated(mode, load_sources, viewers):
    """A load-report count's cell key includes the data hash of its files, so the attacker's own uploads under the
    victim file's name get other noise and do not show which true count gives the victim's shown numbers."""
    attack = "10b load report calibrated"
    for label, sources in load_sources.items():
        viewer = viewers[("colon", mode)]
        for name, report, truth, own in sources:
            attempt = attacks.load_report_calibrated(viewer, report, name, own, name)
            _judge(attack, label, mode, _Known(truth), [attempt])
    _check(attack, mode, 100, candidates_shown=False)
