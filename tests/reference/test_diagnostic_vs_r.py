"""Diagnostic accuracy agrees with R (expected values from tests/reference/r/diagnostic.R, committed; CI does not
run R): the 2×2 measures with epiR::epi.tests' default CIs, and the ROC curve, DeLong AUC CI and Youden-optimal
point with pROC, the ROC computed from counts per distinct test value only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.stats.diagnostic import Accuracy, accuracy_from_counts, predictive_values_at, roc_from_counts

HERE = Path(__file__).resolve().parent
RTOL = 1e-9
TABLES = pd.read_csv(HERE / "expected" / "diagnostic_tables.csv")
EXPECTED = pd.read_csv(HERE / "expected" / "diagnostic_accuracy.csv")


@pytest.mark.parametrize("name", list(TABLES["name"]))
def test_two_by_two_measures_match_epir(name):
    t = TABLES.set_index("name").loc[name]
    result = accuracy_from_counts(t["tp"], t["fp"], t["fn"], t["tn"])
    expected = EXPECTED[EXPECTED["table"] == name].set_index("measure")
    assert set(expected.index) <= set(Accuracy.MEASURES)
    for measure, r in expected.iterrows():
        got = getattr(result, measure)
        np.testing.assert_allclose(got.estimate, r["estimate"], rtol=RTOL, err_msg=measure)
        degenerate = not (np.isfinite(r["estimate"]) and r["estimate"] > 0) and measure.startswith(("lr", "dor"))
        if degenerate:  # a zero cell: epiR prints partial limits (0, NA / NA, Inf); we give none
            assert np.isnan(got.low) and np.isnan(got.high), measure
            continue
        np.testing.assert_allclose([got.low, got.high], [r["low"], r["high"]], rtol=RTOL, err_msg=measure)


def test_roc_from_counts_matches_proc():
    counts = pd.read_csv(HERE / "data" / "diagnostic_asah.csv")
    roc = roc_from_counts(counts["s100b"], counts["cases"], counts["controls"])
    r = pd.read_csv(HERE / "expected" / "diagnostic_roc.csv").iloc[0]
    np.testing.assert_allclose([roc.auc.estimate, roc.auc.low, roc.auc.high, roc.auc_se],
                               [r["auc"], r["low"], r["high"], r["se"]], rtol=RTOL)
    np.testing.assert_allclose([roc.youden_sensitivity, roc.youden_specificity],
                               [r["youden_sensitivity"], r["youden_specificity"]], rtol=RTOL)
    values = np.sort(counts["s100b"].to_numpy())
    below = values[values < roc.youden_threshold].max()
    assert np.isclose((below + roc.youden_threshold) / 2, r["youden_midpoint"])  # pROC reports the midpoint


def test_roc_curve_points_match_proc():
    counts = pd.read_csv(HERE / "data" / "diagnostic_asah.csv")
    curve = roc_from_counts(counts["s100b"], counts["cases"], counts["controls"]).curve
    r = pd.read_csv(HERE / "expected" / "diagnostic_roc_curve.csv")
    ours = sorted(zip(curve["sensitivity"].round(12), curve["specificity"].round(12)))
    theirs = sorted(zip(r["sensitivity"].round(12), r["specificity"].round(12)))
    assert ours == theirs


def test_predictive_values_at_the_cohort_prevalence_equal_the_table_values():
    t = TABLES.set_index("name").loc["epir_example"]
    result = accuracy_from_counts(t["tp"], t["fp"], t["fn"], t["tn"])
    ppv, npv = predictive_values_at(result.prevalence.estimate, result.lr_positive, result.lr_negative)
    np.testing.assert_allclose([ppv.estimate, npv.estimate], [result.ppv.estimate, result.npv.estimate], rtol=1e-12)
    low_ppv, _ = predictive_values_at(0.05, result.lr_positive, result.lr_negative)
    assert low_ppv.low < low_ppv.estimate < low_ppv.high < ppv.estimate  # rarer condition, lower PPV
