"""Diagnostic accuracy edge cases: empty margins give NaN rather than errors, bad input is refused with a message,
the ROC from counts equals the ROC from rows, and ties are counted half."""

from __future__ import annotations

import numpy as np
import pytest

from analyses.stats.diagnostic import accuracy_from_counts, clopper_pearson, predictive_values_at, roc_from_counts


def test_a_table_without_reference_positives_has_no_sensitivity():
    result = accuracy_from_counts(0, 5, 0, 20)
    assert np.isnan(result.sensitivity.estimate) and np.isnan(result.lr_positive.estimate)
    assert result.specificity.estimate == 0.8


def test_negative_counts_and_bad_prevalences_are_refused():
    with pytest.raises(ValueError, match="negative"):
        accuracy_from_counts(1, -1, 2, 3)
    result = accuracy_from_counts(10, 5, 3, 30)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        predictive_values_at(1.0, result.lr_positive, result.lr_negative)


def test_exact_interval_ends_at_zero_and_one():
    assert clopper_pearson(0, 10).low == 0 and clopper_pearson(10, 10).high == 1
    assert np.isnan(clopper_pearson(0, 0).estimate)


def test_roc_from_counts_equals_roc_from_rows():
    rng = np.random.default_rng(3)
    cases, controls = rng.integers(0, 30, 200), rng.integers(0, 30, 300)  # many ties
    values = np.unique(np.concatenate([cases, controls]))
    roc = roc_from_counts(values, [np.sum(cases == v) for v in values], [np.sum(controls == v) for v in values])
    pairs = (cases[:, None] > controls[None, :]).mean() + 0.5 * (cases[:, None] == controls[None, :]).mean()
    assert roc.auc.estimate == pytest.approx(pairs, rel=1e-12)
    # the same counts split over repeated values give the same answer
    again = roc_from_counts(np.repeat(values, 2), np.repeat([np.sum(cases == v) for v in values], 2) / 2,
                            np.repeat([np.sum(controls == v) for v in values], 2) / 2)
    assert again.auc.estimate == pytest.approx(roc.auc.estimate) and again.auc_se == pytest.approx(roc.auc_se)


def test_roc_needs_cases_and_controls():
    with pytest.raises(ValueError, match="at least one case and one control"):
        roc_from_counts([1, 2], [0, 0], [3, 4])


def test_a_perfect_test_has_auc_one_and_its_threshold_separates():
    roc = roc_from_counts([1, 2, 3, 4], [0, 0, 5, 5], [5, 5, 0, 0])
    assert roc.auc.estimate == 1.0 and roc.auc.high == 1.0
    assert roc.youden_threshold == 3 and roc.youden_sensitivity == 1 and roc.youden_specificity == 1
