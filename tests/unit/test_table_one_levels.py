"""Table 1 rows as a reader expects them: the never-treated are a level of the first-drug row ("untreated", with
percentages over everyone, not "missing"), a binary covariate reads no/yes instead of 0/1, and a label that already
ends in brackets takes its unit inside them."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analyses.table_one import table_one
from analyses.table_one import variable_labels, with_unit
from disclosure.policy import DisclosurePolicy
from queries import cohort, filters

EXACT = DisclosurePolicy(11, "exact")


@pytest.fixture(scope="module")
def frame(engine, options) -> pd.DataFrame:
    state = filters.default_state(options)
    labels = variable_labels(engine)
    variables = [(c, k, labels[c]) for c, k in cohort.table_one_variables(engine)]
    return table_one(cohort.table_one_inputs(engine, state, options, EXACT), variables, EXACT,
                     "all participants").to_frame()


def _rows(frame: pd.DataFrame, variable: str) -> pd.DataFrame:
    return frame[frame["Variable"] == variable]


def test_untreated_is_a_level_of_the_drug_row_over_everyone(frame, participants):
    drug = _rows(frame, "First RLS drug")
    assert "missing" not in set(drug["Level"])
    assert drug["Level"].iloc[-1] == "untreated"
    women = next(c for c in frame.columns if c.startswith("Women"))
    n_women = (participants["sex"] == "F").sum()
    assert women == f"Women (N = {n_women:,})"
    counts = [int(re.match(r"([\d,]+) \(", cell).group(1).replace(",", "")) for cell in drug[women]]
    assert sum(counts) == n_women  # percentages over every woman, the untreated included
    shares = [float(re.search(r"\(([\d.]+)%\)", cell).group(1)) for cell in drug[women]]
    assert sum(shares) == pytest.approx(100, abs=0.1 * len(shares))
    assert shares[-1] > 50  # most participants were never treated


def test_binary_covariates_read_no_and_yes(frame):
    antihistamine = _rows(frame, "Sedating antihistamine")
    assert list(antihistamine["Level"]) == ["no", "yes"]
    assert not set(frame["Level"]) & {"0", "1", "0.0", "1.0"}


def test_a_bracketed_label_takes_its_unit_inside_the_brackets(frame):
    assert with_unit("IRLS severity score (cases)", "points") == "IRLS severity score (cases; points)"
    assert with_unit("eGFR", "mL/min/1.73m²") == "eGFR (mL/min/1.73m²)"
    assert with_unit("Parity (women)", None) == "Parity (women)"
    assert not [v for v in frame["Variable"].unique() if ") (" in v]
