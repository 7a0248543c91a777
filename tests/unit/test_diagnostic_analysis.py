"""The diagnostic-accuracy analysis through the release layer: in exact mode it equals the measures computed from the
participant rows; the ROC steps shown hold at least k cases and k non-cases; small cells withhold the measures in
exact mode; a real cohort with its own names (flchain: serum lambda light chain against death; MGUS, whose cases
have low lambda, with --lower-is-positive) runs with default settings; the CLI's JSON carries the measures and the
ROC."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.cli import main
from analyses.context import AnalysisContext
from analyses.diagnostic import DiagnosticOptions, diagnostic
from analyses.stats.diagnostic import accuracy_from_counts, roc_from_counts
from analyses.variables import AnalysisInputError
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

FLCHAIN = Path(__file__).resolve().parents[1] / "data" / "cohorts" / "flchain"


@pytest.fixture(scope="module")
def flchain():
    return CohortEngine.open(FLCHAIN / "flchain.csv", FLCHAIN / "mapping.toml"), pd.read_csv(FLCHAIN / "flchain.csv")


def _ctx(engine, method="exact", query="", min_cell=11):
    return AnalysisContext.from_query(engine, query, DisclosurePolicy(min_cell, method))[0]


def test_exact_mode_equals_the_row_level_measures(flchain):
    engine, rows = flchain
    result = diagnostic(_ctx(engine, min_cell=0), DiagnosticOptions("death", "lambda", 2.63, prevalence=0.03))
    known = rows.dropna(subset=["lambda"])
    positive, case = known["lambda"] >= 2.63, known["death"] == 1
    expected = accuracy_from_counts((positive & case).sum(), (positive & ~case).sum(), (~positive & case).sum(),
                                    (~positive & ~case).sum())
    for measure in ("sensitivity", "specificity", "ppv", "npv", "lr_positive", "dor", "youden"):
        got, want = result.estimate(measure), getattr(expected, measure)
        np.testing.assert_allclose([got.estimate, got.ci_low, got.ci_high], [want.estimate, want.low, want.high],
                                   rtol=1e-12, err_msg=measure)
    counts = known.groupby("lambda")["death"].agg(["sum", "count"])
    roc = roc_from_counts(counts.index, counts["sum"], counts["count"] - counts["sum"])
    auc = result.estimate("auc")
    np.testing.assert_allclose([auc.estimate, auc.ci_low, auc.ci_high], [roc.auc.estimate, roc.auc.low, roc.auc.high],
                               rtol=1e-12)
    assert result.n == len(known) and result.details.threshold == 2.63
    assert [e.label for e in result.estimates if e.measure == "ppv"][1] == "PPV at a prevalence of 0.03"


def test_roc_steps_shown_hold_at_least_k_of_each(flchain):
    engine, _ = flchain
    for method in ("exact", "cell_key"):
        result = diagnostic(_ctx(engine, method), DiagnosticOptions("death", "lambda"))
        roc = result.table("roc")
        cases = result.table("two_by_two")["cases"].sum()
        controls = result.table("two_by_two")["non_cases"].sum()
        tp, fp = np.rint(roc["sensitivity"] * cases), np.rint((1 - roc["specificity"]) * controls)
        assert len(roc) >= 5 and roc["sensitivity"].iloc[-1] == 1 and roc["specificity"].iloc[0] == 1
        # cell-key mode: the ROC's own totals are its per-value cells' sums, which differ by a few from the 2×2's
        least = 11 if method == "exact" else 11 - 3
        assert (np.diff(tp)[:-1] >= least).all() and (np.diff(fp)[:-1] >= least).all(), method
        assert any("Youden-optimal value" in n for n in result.notes)  # no threshold given


def test_strata_by_sex_and_age(flchain):
    engine, _ = flchain
    result = diagnostic(_ctx(engine), DiagnosticOptions("death", "lambda", 2.63, strata="sex"))
    assert set(result.table("strata")["stratum"]) == {"women", "men"}
    assert {e.group for e in result.estimates if e.group} == {"women", "men"}
    by_age = diagnostic(_ctx(engine), DiagnosticOptions("death", "lambda", 2.63, strata="age"))
    assert len(by_age.table("strata")) >= 3


def test_small_cells_withhold_the_measures_in_exact_mode(flchain):
    engine, _ = flchain
    result = diagnostic(_ctx(engine), DiagnosticOptions("death", "lambda", 20.0))  # almost nobody is positive
    assert result.estimate("sensitivity") is None
    assert any("2×2 table is below 11" in n for n in result.notes)
    assert result.table("two_by_two")["suppressed"].any()


@pytest.mark.parametrize("opts, message", [
    (DiagnosticOptions("mgus", "chapter"), r"binary \(yes/no\) or numeric"),
    (DiagnosticOptions("nope", "lambda"), "Unknown reference standard"),
    (DiagnosticOptions("mgus", "lambda", prevalence=1.5), "strictly between 0 and 1"),
    (DiagnosticOptions("mgus", "lambda", strata="lambda"), "cannot also be the stratifier"),
])
def test_bad_options_are_refused_with_a_message(flchain, opts, message):
    with pytest.raises(AnalysisInputError, match=message):
        diagnostic(_ctx(flchain[0]), opts)


def test_cli_json_has_the_measures_and_the_roc(capsys):
    code = main(["diagnostic", "--data", str(FLCHAIN / "flchain.csv"), "--mapping", str(FLCHAIN / "mapping.toml"),
                 "--outcome", "death", "--test", "lambda", "--threshold", "2.63", "--strata", "sex", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    measures = {e["measure"] for e in out["estimates"]}
    assert {"sensitivity", "specificity", "ppv", "npv", "lr_positive", "lr_negative", "accuracy", "dor",
            "auc"} <= measures
    assert {"threshold", "sensitivity", "specificity"} <= set(out["roc"][0])
    assert out["threshold"] == 2.63 and "perturbed" in out["methods"]


def test_a_test_positive_at_low_values(flchain):
    """flchain's MGUS cases have low serum lambda: as a high-is-positive test its AUC is below 0.5; read the other
    way it is the mirror image, and the threshold and caption say "≤"."""
    engine, rows = flchain
    high = diagnostic(_ctx(engine, min_cell=0), DiagnosticOptions("mgus", "lambda"))
    low = diagnostic(_ctx(engine, min_cell=0), DiagnosticOptions("mgus", "lambda", lower_is_positive=True))
    assert high.estimate("auc").estimate < 0.5 < low.estimate("auc").estimate
    assert low.estimate("auc").estimate == pytest.approx(1 - high.estimate("auc").estimate, rel=1e-12)
    threshold = low.details.threshold
    assert "≤" in low.caption and threshold in set(rows["lambda"])
    known = rows.dropna(subset=["lambda"])
    positive, case = known["lambda"] <= threshold, known["mgus"] == 1
    assert low.estimate("sensitivity").estimate == pytest.approx((positive & case).sum() / case.sum())
    assert (low.table("roc")["threshold"].iloc[1:].diff().dropna() > 0).all()  # thresholds rise as more are positive
