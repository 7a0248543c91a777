"""Survival statistics on aggregated rows equal the row-level results (statsmodels on replicated rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from analyses.stats.survival import (SurvivalDataError, cox_fit, kaplan_meier, logrank_test,
                                     proportional_hazards_test, survival_at)


def aggregated(seed: int, rows: int = 300, max_count: int = 6) -> pd.DataFrame:
    """Aggregated rows with many tied times: integer months, a few covariate patterns, counts 1..max."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "time": rng.integers(1, 25, rows).astype(float),
        "event": rng.integers(0, 2, rows),
        "sex": rng.integers(0, 2, rows),
        "band": rng.integers(0, 3, rows),
        "marker": rng.normal(size=rows).round(1),
        "count": rng.integers(1, max_count + 1, rows),
    })
    frame["band1"] = (frame["band"] == 1).astype(int)
    frame["band2"] = (frame["band"] == 2).astype(int)
    return frame


COVARIATES = ["sex", "band1", "band2", "marker"]


def replicated(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[frame.index.repeat(frame["count"])].reset_index(drop=True).assign(count=1)


def split_counts(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same participants with some rows split in two (c = k + (c - k)): results must not change."""
    rng = np.random.default_rng(seed)
    first = frame.copy()
    k = np.where(frame["count"] > 1, rng.integers(1, np.maximum(frame["count"], 2)), frame["count"])
    first["count"] = k
    second = frame.assign(count=frame["count"] - k)
    return pd.concat([first, second[second["count"] > 0]]).sample(frac=1.0, random_state=seed)


@pytest.fixture(params=[1, 2, 3])
def data(request) -> pd.DataFrame:
    return aggregated(request.param)


# ---------------------------------------------------------------------------------------------- Kaplan–Meier


def test_km_matches_statsmodels_on_replicated_rows(data):
    km = kaplan_meier(data["time"], data["event"], data["count"])
    rows = replicated(data)
    sm = SurvfuncRight(rows["time"], rows["event"])
    at_event_times = km.set_index("time").loc[sm.surv_times]
    np.testing.assert_allclose(at_event_times["survival"], sm.surv_prob, rtol=1e-12)
    # unweighted statsmodels SEs are Greenwood on S(t) too (its freq_weights SEs are not)
    np.testing.assert_allclose(at_event_times["std_err"], sm.surv_prob_se, rtol=1e-10)
    assert km["at_risk"].iloc[0] == len(rows)
    assert km["events"].sum() == rows["event"].sum()
    assert km["events"].sum() + km["censored"].sum() == len(rows)


@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_km_aggregation_invariant(data, conf_type):
    a = kaplan_meier(data["time"], data["event"], data["count"], conf_type=conf_type)
    rows = replicated(data)
    b = kaplan_meier(rows["time"], rows["event"], rows["count"], conf_type=conf_type)
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)
    lo, hi = a["ci_low"].dropna(), a["ci_high"].dropna()
    assert ((lo <= a["survival"][lo.index]) & (a["survival"][hi.index] <= hi)).all()


def test_km_ties_events_before_censoring():
    km = kaplan_meier([2, 2, 2, 3], [1, 0, 1, 1], [1, 5, 1, 2], conf_type="log")
    first = km.iloc[0]
    assert (first["at_risk"], first["events"], first["censored"]) == (9, 2, 5)
    assert first["survival"] == pytest.approx(7 / 9)


def test_km_without_events_is_one():
    km = kaplan_meier([1, 2, 3], [0, 0, 0], [4, 5, 6], conf_type="log")
    assert (km["survival"] == 1).all() and (km["ci_low"] == 1).all()
    assert kaplan_meier([1, 2], [0, 0], [1, 1])["ci_low"].isna().all()  # log-log undefined at S = 1


def test_survival_at_step_function_and_at_risk():
    km = kaplan_meier([1, 2, 2, 3, 4, 4, 5], [1, 1, 0, 1, 0, 1, 1], [1] * 7, conf_type="log")
    at = survival_at(km, [0.5, 1, 1.5, 3.5, 5, 6])
    assert at["at_risk"].tolist() == [7, 7, 6, 3, 1, 0]
    np.testing.assert_allclose(at["survival"][:4], [1.0, 6 / 7, 6 / 7, 6 / 7 * 5 / 6 * 3 / 4])
    assert at.loc[0, ["ci_low", "ci_high"]].tolist() == [1.0, 1.0]
    assert at.loc[4, "survival"] == 0 and np.isnan(at.loc[5, "survival"])  # beyond follow-up: undefined


# --------------------------------------------------------------------------------------------------- log-rank


@pytest.mark.parametrize("group", ["sex", "band"])
def test_logrank_matches_statsmodels(data, group):
    statistic, df, p = logrank_test(data[group], data["time"], data["event"], data["count"])
    rows = replicated(data)
    sm_stat, sm_p = survdiff(rows["time"], rows["event"], rows[group])
    assert df == data[group].nunique() - 1
    assert statistic == pytest.approx(sm_stat, rel=1e-10)
    assert p == pytest.approx(sm_p, rel=1e-8)


def test_logrank_aggregation_invariant(data):
    split = split_counts(data, 5)
    assert logrank_test(split["band"], split["time"], split["event"], split["count"]) == pytest.approx(
        logrank_test(data["band"], data["time"], data["event"], data["count"]), rel=1e-12)


# ------------------------------------------------------------------------------------------------------- Cox


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_cox_matches_phreg_on_replicated_rows(data, ties):
    result = cox_fit(data[COVARIATES], data["time"], data["event"], data["count"], ties=ties)
    rows = replicated(data)
    sm = PHReg(rows["time"], rows[COVARIATES], status=rows["event"], ties=ties).fit()
    assert result.ok and result.converged
    assert result.names == tuple(COVARIATES)
    np.testing.assert_allclose(result.params, sm.params, rtol=1e-8)
    np.testing.assert_allclose(result.bse, sm.bse, rtol=1e-8)
    assert result.loglik == pytest.approx(sm.llf, rel=1e-10)
    assert (result.n, result.events) == (len(rows), rows["event"].sum())


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_cox_and_ph_test_aggregation_invariant(data, ties):
    """Splitting a row's count (e.g. aggregation at another grain) must not change anything."""
    split = split_counts(data, 11)
    a = cox_fit(data[COVARIATES], data["time"], data["event"], data["count"], ties=ties)
    b = cox_fit(split[COVARIATES], split["time"], split["event"], split["count"], ties=ties)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-9)
    np.testing.assert_allclose(a.cov, b.cov, rtol=1e-9)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-12)
    for transform in ("km", "rank", "identity", "log"):
        ta = proportional_hazards_test(a, data[COVARIATES], data["time"], data["event"], data["count"],
                                       transform=transform).table
        tb = proportional_hazards_test(b, split[COVARIATES], split["time"], split["event"], split["count"],
                                       transform=transform).table
        pd.testing.assert_frame_equal(ta, tb, rtol=1e-7)


def test_cox_hazard_ratios_and_tests(data):
    result = cox_fit(data[COVARIATES], data["time"], data["event"], data["count"])
    hr = result.hazard_ratios(alpha=0.05)
    np.testing.assert_allclose(hr["hr"], np.exp(result.params))
    np.testing.assert_allclose(np.log(hr["ci_high"]) - np.log(hr["hr"]), 1.959963984540054 * result.bse)
    assert (hr["flag"] == "").all()
    assert result.lr_statistic == pytest.approx(2 * (result.loglik - result.loglik_null))
    assert result.df == 4 and 0 < result.lr_pvalue < 1 and 0 < result.score_pvalue < 1


def test_cox_one_covariate_array_and_names():
    d = aggregated(4)
    result = cox_fit(d["marker"].to_numpy(), d["time"], d["event"], d["count"], names=["marker"])
    assert result.names == ("marker",) and result.params.shape == (1,)
    assert not result.params.flags.writeable


# --------------------------------------------------------------------------------------------- edge cases


def test_empty_input_is_a_clear_error():
    with pytest.raises(SurvivalDataError, match="empty"):
        kaplan_meier([], [], [])
    with pytest.raises(SurvivalDataError, match="every count is zero"):
        cox_fit(np.ones((2, 1)), [1, 2], [1, 0], [0, 0])


def test_no_events_is_a_clear_error():
    d = aggregated(1).assign(event=0)
    with pytest.raises(SurvivalDataError, match="no events"):
        cox_fit(d[COVARIATES], d["time"], d["event"], d["count"])
    with pytest.raises(SurvivalDataError, match="no events"):
        logrank_test(d["sex"], d["time"], d["event"], d["count"])


@pytest.mark.parametrize(("time", "event", "count", "message"), [
    ([1, 2], [1, 2], [1, 1], "0/1"),
    ([1, np.nan], [1, 0], [1, 1], "missing"),
    ([1, 2], [1, 0], [1.5, 1], "integers"),
    ([1, 2], [1, 0], [1, -1], "integers"),
    ([1, 2, 3], [1, 0], [1, 1], "length"),
])
def test_malformed_input(time, event, count, message):
    with pytest.raises(SurvivalDataError, match=message):
        kaplan_meier(time, event, count)


def test_logrank_needs_two_groups(data):
    with pytest.raises(SurvivalDataError, match="two groups"):
        logrank_test(np.zeros(len(data)), data["time"], data["event"], data["count"])


def test_zero_count_rows_are_ignored(data):
    padded = pd.concat([data, data.assign(count=0, event=1, time=99.0)])
    a = cox_fit(data[COVARIATES], data["time"], data["event"], data["count"])
    b = cox_fit(padded[COVARIATES], padded["time"], padded["event"], padded["count"])
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)


def test_constant_and_collinear_covariates_are_aliased(data):
    x = data[COVARIATES].assign(constant=1.0, combo=data["sex"] + 2 * data["band1"])
    result = cox_fit(x, data["time"], data["event"], data["count"])
    reference = cox_fit(data[COVARIATES], data["time"], data["event"], data["count"])
    assert result.aliased == ("constant", "combo") and not result.ok
    assert np.isnan(result.params[4:]).all() and np.isnan(result.bse[4:]).all()
    np.testing.assert_allclose(result.params[:4], reference.params, rtol=1e-10)
    assert result.hazard_ratios()["flag"].tolist() == ["", "", "", "", "aliased", "aliased"]
    assert any("constant, combo" in note for note in result.notes)
    zph = proportional_hazards_test(result, x, data["time"], data["event"], data["count"])
    assert zph.table.index.tolist() == [*COVARIATES, "GLOBAL"]
    pd.testing.assert_frame_equal(proportional_hazards_test(result).table, zph.table, rtol=1e-12)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_the_ph_test_on_the_fits_own_rows_equals_the_test_on_the_data_passed_again(data, ties):
    shuffled = data.sample(frac=1.0, random_state=3)  # the rows' order changes nothing
    fit = cox_fit(shuffled[COVARIATES], shuffled["time"], shuffled["event"], shuffled["count"], ties=ties)
    again = proportional_hazards_test(fit, data[COVARIATES], data["time"], data["event"], data["count"])
    pd.testing.assert_frame_equal(proportional_hazards_test(fit).table, again.table, rtol=1e-10)


def test_a_fit_that_estimated_nothing_has_no_rows_to_test(data):
    fit = cox_fit(np.ones((len(data), 1)), data["time"], data["event"], data["count"])
    with pytest.raises(SurvivalDataError, match="estimated nothing"):
        proportional_hazards_test(fit)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_band_without_events_is_flagged_infinite(data, ties):
    d = data.assign(event=np.where(data["band2"] == 1, 0, data["event"]))
    result = cox_fit(d[COVARIATES], d["time"], d["event"], d["count"], ties=ties)
    assert result.infinite == ("band2",) and not result.ok
    hr = result.hazard_ratios()
    assert np.isnan(hr.loc["band2", "hr"]) and hr.loc["band2", "flag"] == "infinite"
    assert np.isfinite(hr.drop(index="band2")["hr"]).all()
    assert any("monotone likelihood" in note for note in result.notes)


def test_finite_fits_are_not_flagged():
    for seed in range(10):
        d = aggregated(100 + seed, rows=60, max_count=3)
        result = cox_fit(d[COVARIATES], d["time"], d["event"], d["count"], ties="efron")
        assert result.ok, (seed, result.notes)


def test_perfect_ordering_is_flagged_not_raised():
    """Events ordered exactly by a continuous covariate: exp() underflows on the way to infinity."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=200)
    time = (np.argsort(np.argsort(-x)) + 1).astype(float)
    with np.errstate(all="raise"):
        result = cox_fit(np.c_[x, rng.normal(size=200)], time, np.ones(200), np.ones(200), names=["x", "z"])
    assert not result.ok and "x" in result.infinite
    assert result.hazard_ratios()["hr"].isna()["x"]


def test_constant_first_covariate_with_inexact_mean_is_aliased(data):
    """0.1 is not exactly representable: centring leaves identical tiny residues, still no estimate."""
    x = data[COVARIATES].assign(constant=0.1)[["constant", *COVARIATES]]
    result = cox_fit(x, data["time"], data["event"], data["count"])
    assert result.aliased == ("constant",)
