"""Table 1 from aggregates: SMDs equal the tableone package on row-level data; small cells are suppressed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from disclosure.policy import DisclosurePolicy
from analyses.table_one import smd_categorical, smd_numeric, table_one
from queries import cohort, filters


EXACT = DisclosurePolicy(11, "exact")  # compared with row-level references: exact counts and exact quantiles
CELL_KEY = DisclosurePolicy(11, "cell_key")


def _table_one(engine, options, policy: DisclosurePolicy):
    state = filters.default_state(options)
    inputs = cohort.table_one_inputs(engine, state, options, policy)
    variables = [(c, k, c) for c, k in cohort.table_one_variables(engine)]
    return table_one(inputs, variables, policy, "all participants")


@pytest.fixture(scope="module")
def result(engine, options):
    return _table_one(engine, options, EXACT)


@pytest.fixture(scope="module")
def released(engine, options):
    return _table_one(engine, options, CELL_KEY)


def _smd(result, variable: str) -> float:
    return next(r.smd for r in result.rows if r.variable == variable and r.smd is not None)


def test_smds_equal_the_tableone_package(result, participants):
    from tableone import TableOne

    p = participants.rename(columns={"rls_irlssg": "outcome_rls", "age": "age", "egfr": "cov_egfr",
                                     "bmi_group": "cov_bmi_group"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TableOne(p, columns=["age", "cov_egfr", "cov_bmi_group", "outcome_rls"],
                       categorical=["cov_bmi_group", "outcome_rls"], groupby="sex", smd=True, pval=False).smd_table
    for variable in ("age", "cov_egfr", "cov_bmi_group", "outcome_rls"):
        # SMDs reported unsigned, as in R tableone
        assert _smd(result, variable) == pytest.approx(abs(ref.loc[variable].iloc[0]), abs=1e-9)


def test_numeric_summary_equals_pandas(result, participants):
    women = participants[participants.sex == "F"].age
    row = next(r for r in result.rows if r.variable == "age" and r.level == "mean (SD)")
    assert row.cells[0] == f"{women.mean():.1f} ({women.std():.1f})"
    median = next(r for r in result.rows if r.variable == "age" and r.level.startswith("median"))
    assert median.cells[0] == f"{women.median():.1f} [{women.quantile(.25):.1f}, {women.quantile(.75):.1f}]"


def test_group_sizes_and_frame(result, participants):
    counts = participants.sex.value_counts()
    assert result.group_n == (f"{counts['F']:,}", f"{counts['M']:,}")
    frame = result.to_frame()
    assert list(frame.columns[:2]) == ["Variable", "Level"] and "SMD" in frame.columns


def test_cell_key_table_one_is_close_to_the_exact_one(released, result, participants):
    """Cell-key mode: numeric rows from counts per value rounded to 3 significant digits, every count perturbed by at
    most 3 — close to, but not necessarily equal to, the exact table."""
    counts = participants.sex.value_counts()
    for shown, n in zip(released.group_n, (counts["F"], counts["M"])):
        assert abs(int(shown.replace(",", "")) - n) <= 3
    women = participants[participants.sex == "F"].age
    mean, sd = next(r for r in released.rows if r.variable == "age" and r.level == "mean (SD)").cells[0] \
        .replace("(", "").replace(")", "").split()
    assert float(mean) == pytest.approx(women.mean(), abs=0.2) and float(sd) == pytest.approx(women.std(), abs=0.2)
    for variable in ("age", "cov_bmi_group", "outcome_rls"):  # dense cells (whole ages, levels): SMDs barely move
        assert _smd(released, variable) == pytest.approx(_smd(result, variable), abs=0.01)
    # eGFR at 3 significant digits: cells of a few participants each, so the SMD moves more (|Δ| < 0.03 seen)
    assert _smd(released, "cov_egfr") == pytest.approx(_smd(result, "cov_egfr"), abs=0.06)
    assert "rounded to 3 significant digits" in released.methods and "perturbed" in released.methods
    assert "exact quantiles" in result.methods and "perturbed" not in result.methods


def test_binary_smd_formula():
    p1, p2 = 0.3, 0.1
    expected = (p1 - p2) / np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    assert smd_categorical(np.array([1 - p1, p1]), np.array([1 - p2, p2])) == pytest.approx(expected)
    assert smd_numeric(10, 2, 8, 2) == pytest.approx(1.0)


SITE_INPUTS = {"__n__": pd.DataFrame({"group": ["female", "male"], "n": [120, 100]}),
               "site": pd.DataFrame({"group": ["female"] * 3 + ["male"] * 2, "level": ["A", "B", "C", "A", "B"],
                                     "n": [100, 15, 5, 60, 40]})}


def test_small_cells_are_suppressed_with_a_complement():
    result = table_one(SITE_INPUTS, [("site", "categorical", "Site")], EXACT, "test")
    female = [r.cells[0] for r in result.rows]
    assert female[2] == "<11"          # the small cell
    assert female[1] == "withheld"     # its complement, so 120 - 100 - 15 cannot reveal it
    assert female[0].startswith("100 ")
    assert all(r.smd is None for r in result.rows)  # no SMD from a table with a hidden cell


def test_small_cells_are_shown_as_below_the_threshold_without_a_complement_in_cell_key_mode():
    # released counts: the total is perturbed independently of its parts, so it cannot reveal the small cell
    result = table_one(SITE_INPUTS, [("site", "categorical", "Site")], CELL_KEY, "test")
    female = [r.cells[0] for r in result.rows]
    assert female == ["100 (83.3%)", "15 (12.5%)", "<11"]
    assert all(r.smd is None for r in result.rows)  # still no SMD from a table with a hidden cell


@pytest.mark.parametrize("remaining, expected", [
    ([1000, 900, 800], [("", "1,000"), ("100", "900"), ("100", "800")]),
    # 5 removed: that step and the next are withheld; the final size hides 5 + 100 since the last shown size
    ([1000, 995, 895], [("", "1,000"), ("<11", "withheld"), ("withheld", "895")]),
    # the small removal is the last step: the final size would give it away, so it is withheld too
    ([1000, 900, 897], [("", "1,000"), ("100", "900"), ("<11", "withheld")]),
])
def test_attrition_chain_cannot_be_subtracted(remaining, expected):
    removed = [0] + [a - b for a, b in zip(remaining, remaining[1:])]
    assert EXACT.attrition_cells(remaining, removed) == expected


def test_released_attrition_shows_each_cell_on_its_own():
    # cell-key mode: each count is its own released cell (a difference of two is noise), so none is withheld
    assert CELL_KEY.attrition_cells([1000, 995, 897], [0, 6, 97]) == [("", "1,000"), ("<11", "995"), ("97", "897")]
