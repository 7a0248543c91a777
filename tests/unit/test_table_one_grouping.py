"""Table 1 by any grouping: case status, site, the first drug. SMDs and p-values equal the tableone package on
row-level data (exact mode); the grouping variable is a column heading, not a row."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from analyses.table_one import build_table_one, grouping_choices, table_one
from disclosure.policy import DisclosurePolicy
from queries import cohort, filters

EXACT = DisclosurePolicy(11, "exact")
CELL_KEY = DisclosurePolicy(11, "cell_key")
CANONICAL = {"rls_irlssg": "outcome_rls", "egfr": "cov_egfr", "bmi_group": "cov_bmi_group"}
COMPARED = ("age", "cov_egfr", "cov_bmi_group")


def _table(engine, options, by, policy=EXACT, pvalues=True):
    inputs = cohort.table_one_inputs(engine, filters.default_state(options), options, policy, by)
    return build_table_one(engine, inputs, "all participants", policy, by, pvalues)


def _reference(participants: pd.DataFrame, groupby: str):
    from tableone import TableOne

    frame = participants.rename(columns=CANONICAL)
    frame = frame[frame[groupby].notna()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TableOne(frame, columns=list(COMPARED), categorical=["cov_bmi_group"], groupby=groupby, pval=True,
                        smd=True, include_null=False)


def _first_row(result, label: str):
    return next(r for r in result.rows if r.variable == label and r.test)


def _label(engine, column: str) -> str:
    from analyses.table_one import variable_labels

    return variable_labels(engine)[column]


@pytest.mark.parametrize("by, raw", [("sex", "sex"), ("outcome_rls", "outcome_rls"), ("site", "site")])
def test_p_values_equal_the_tableone_package(engine, options, participants, by, raw):
    result = _table(engine, options, by)
    reference = _reference(participants, raw)
    pvals = reference.htest_table["P-Value"]
    for column in COMPARED:
        row = _first_row(result, _label(engine, column))
        assert row.p_value == pytest.approx(float(pvals.loc[column]), rel=1e-9, abs=1e-300), column


def test_two_group_tests_are_the_ones_tableone_chooses(engine, options, participants):
    result = _table(engine, options, "outcome_rls")
    reference = _reference(participants, "outcome_rls").htest_table["Test"]
    chosen = reference.loc["age"].replace("’", "'").replace("T-test", "t-test")
    assert _first_row(result, _label(engine, "age")).test == "Welch's t-test" == chosen
    assert _first_row(result, _label(engine, "cov_bmi_group")).test == "χ² test"
    assert reference.loc["cov_bmi_group"] == "Chi-squared"
    assert _first_row(_table(engine, options, "site"), _label(engine, "age")).test == "one-way ANOVA"


def test_smds_by_case_status_equal_the_tableone_package(engine, options, participants):
    result = _table(engine, options, "outcome_rls")
    smd = _reference(participants, "outcome_rls").smd_table.iloc[:, 0]
    for column in COMPARED:
        assert _first_row(result, _label(engine, column)).smd == pytest.approx(abs(smd.loc[column]), abs=1e-9)


def test_case_status_columns_are_named_and_counted(engine, options, participants):
    result = _table(engine, options, "outcome_rls")
    outcome = participants["rls_irlssg"]
    assert result.groups == ("Cases", "Non-cases")
    assert result.group_n == (f"{int((outcome == 1).sum()):,}", f"{int((outcome == 0).sum()):,}")
    assert "by RLS (four IRLSSG criteria) (Cases vs Non-cases)" in result.caption
    variables = {r.variable for r in result.rows}
    assert _label(engine, "outcome_rls") not in variables and "Sex" in variables  # sex is a row, the outcome is not
    sex_levels = [r.level for r in result.rows if r.variable == "Sex"]
    assert sex_levels == ["Women", "Men"]


def test_participants_outside_every_group_are_noted():
    inputs = {"__n__": pd.DataFrame({"group": ["A", "B", None], "n": [120, 100, 40]}),
              "age": pd.DataFrame({"group": ["A", "B", None], "n": [120, 100, 40], "missing": [0, 0, 0],
                                   "mean": [50.0, 52.0, 51.0], "sd": [10.0, 11.0, 9.0], "q1": [40.0, 41.0, 44.0],
                                   "median": [50.0, 52.0, 51.0], "q3": [60.0, 62.0, 58.0]})}
    result = table_one(inputs, [("age", "numeric", "Age")], EXACT, "test", "cov_bmi_group", "BMI group")
    assert "40 participants with no value of BMI group are in no column." in result.notes
    assert result.group_n == ("120", "100")


def test_p_values_are_off_by_default_and_columns_follow(engine, options):
    inputs = cohort.table_one_inputs(engine, filters.default_state(options), options, EXACT, "site")
    result = build_table_one(engine, inputs, "all participants", EXACT, "site")
    assert not result.pvalues and "p" not in result.to_frame().columns
    assert "SMD" not in result.to_frame().columns  # more than two groups: no SMD
    assert len(result.groups) == len(options.sites)


def test_untreated_are_a_group_of_their_own(engine, options, participants):
    result = _table(engine, options, "treatment", pvalues=False)
    assert result.groups[-1] == "untreated"
    untreated = int(participants["first_drug"].isna().sum()) if "first_drug" in participants else None
    if untreated is not None:
        assert result.group_n[-1] == f"{untreated:,}"


def test_a_table_with_a_withheld_cell_is_not_tested():
    inputs = {"__n__": pd.DataFrame({"group": ["a", "b"], "n": [120, 100]}),
              "site": pd.DataFrame({"group": ["a"] * 3 + ["b"] * 2, "level": ["A", "B", "C", "A", "B"],
                                    "n": [100, 15, 5, 60, 40]})}
    result = table_one(inputs, [("site", "categorical", "Site")], EXACT, "test", "site", "site", pvalues=True)
    assert result.rows[0].p_value is None and result.rows[0].test.startswith("not tested")


def test_grouping_choices_are_the_categorical_variables(engine):
    choices = grouping_choices(engine)
    assert list(choices)[0] == "sex"
    assert {"site", "outcome_rls", "treatment", "cov_bmi_group"} <= set(choices)
    assert not {"age", "cov_egfr", "biomarker"} & set(choices)


def test_cell_key_grouping_releases_every_count(engine, options, participants):
    """Cell-key mode: the group sizes are released counts (within the ptable's ±3 of the truth)."""
    result = _table(engine, options, "outcome_rls", CELL_KEY, pvalues=False)
    outcome = participants["rls_irlssg"]
    for shown, true in zip(result.group_n, ((outcome == 1).sum(), (outcome == 0).sum())):
        assert abs(int(shown.replace(",", "")) - int(true)) <= 3
