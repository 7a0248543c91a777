"""Fixtures of the attack suite: the four cohorts (the session's 20,000-participant demo extract and the three
real cohorts of ``tests/data/cohorts``) with their ground truth, one attack plan per cohort, one viewer per cohort
and mode, and the printed attack table (``pytest_terminal_summary``)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from tests.disclosure.cohorts import colon_variant_mapping, demo_truth, open_cohort, real_cohort
from tests.disclosure.ledger import LEDGER
from tests.disclosure.plans import plan_for
from tests.disclosure.public import MODES, Viewer

REAL_COHORTS = ("flchain", "colon", "nafld1")


@pytest.fixture(scope="session")
def attack_cohorts(engine, demo_dir):
    """name → Cohort: the demo (sharing the session's demo engine) and the three real cohorts."""
    cohorts = {"demo": open_cohort("demo", demo_dir, None, demo_truth(demo_dir), engine=engine)}
    for name in REAL_COHORTS:
        cohorts[name] = real_cohort(name)
    return cohorts


@pytest.fixture(scope="session")
def colon_variant(tmp_path_factory):
    """colon with a second outcome whose value is unknown for 23 patients (attack 8)."""
    return real_cohort("colon", colon_variant_mapping(tmp_path_factory.mktemp("colon-variant")))


@pytest.fixture(scope="session")
def attack_plans(attack_cohorts, colon_variant):
    return {name: plan_for(c, colon_variant if name == "colon" else None) for name, c in attack_cohorts.items()}


@pytest.fixture(scope="session")
def viewers(attack_cohorts, colon_variant):
    """(cohort name, mode) → Viewer; ("colon-variant", mode) for attack 8. Shared, so each view runs once."""
    out = {(name, mode): Viewer(c, policy) for name, c in attack_cohorts.items() for mode, policy in MODES.items()}
    out |= {("colon-variant", mode): Viewer(colon_variant, policy) for mode, policy in MODES.items()}
    return out


def pytest_terminal_summary(terminalreporter):
    for line in LEDGER.lines():
        terminalreporter.write_line(line)
    dump = os.environ.get("RLS_ATTACK_DUMP")  # a CSV of every judged attempt, for a closer look
    if dump and LEDGER.records:
        pd.DataFrame([{"attack": a, "cohort": c, "mode": m, "truth": t, "guess": x.guess, "low": x.low,
                       "high": x.high, "target": repr(x.target)} for a, c, m, t, x in LEDGER.records]).to_csv(dump)
