"""analyses.stats.survival against R survival 3.5-3 (values pinned by tests/reference/r/survival.R).

R fits everything on the replicated participant rows; Python gets the committed CSVs as they are (the
synthetic one aggregated with counts). Agreement is required to 1e-6 relative.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.stats.survival import (cox_fit, kaplan_meier, logrank_test, proportional_hazards_test,
                                     survival_at)

HERE = Path(__file__).resolve().parent
RTOL = 1e-6
DATASETS = {
    "lung": ["age", "sex", "ph_ecog"],
    "veteran": ["trt", "karno", "age", "smallcell", "adeno", "large"],
    "synthetic": ["sex", "band1", "band2", "marker"],
}
CONF = {"log": "log", "log-log": "log-log", "plain": "plain"}


def data(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"survival_{name}.csv")


def expected(measure: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "expected" / f"survival_{measure}.csv")


def close(actual, desired, rtol: float = RTOL) -> None:
    """Relative agreement; NaN must meet NaN (R's NA)."""
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(desired, dtype=float),
                               rtol=rtol, atol=1e-300, equal_nan=True)


def fit(name: str, ties: str):
    d = data(name)
    return cox_fit(d[DATASETS[name]], d["time"], d["event"], d["count"], ties=ties), d


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("conf_type", CONF)
def test_kaplan_meier(name, conf_type):
    d = data(name)
    km = kaplan_meier(d["time"], d["event"], d["count"], conf_type=conf_type)
    r = expected("km").query("dataset == @name and conf_type == @conf_type")
    assert km["time"].tolist() == r["time"].tolist()
    assert km["at_risk"].tolist() == r["n_risk"].tolist()
    assert km["events"].tolist() == r["n_event"].tolist()
    assert km["censored"].tolist() == r["n_censor"].tolist()
    close(km["survival"], r["surv"])
    close(km["std_err"], r["std_err"])
    close(km["std_err"] / km["survival"], r["std_err_cumhaz"].replace(np.inf, np.nan))
    close(km["ci_low"], r["lower"])
    close(km["ci_high"], r["upper"])


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("conf_type", CONF)
def test_survival_at(name, conf_type):
    d = data(name)
    r = expected("km_at").query("dataset == @name and conf_type == @conf_type")
    at = survival_at(kaplan_meier(d["time"], d["event"], d["count"], conf_type=conf_type), r["time"])
    assert at["at_risk"].tolist() == r["n_risk"].tolist()
    for ours, theirs in (("survival", "surv"), ("std_err", "std_err"), ("ci_low", "lower"),
                         ("ci_high", "upper")):
        close(at[ours], r[theirs])


@pytest.mark.parametrize("row", list(expected("logrank").itertuples()), ids=lambda r: f"{r.dataset}-{r.group}")
def test_logrank(row):
    d = data(row.dataset)
    statistic, df, p = logrank_test(d[row.group], d["time"], d["event"], d["count"])
    assert df == row.df
    close([statistic, p], [row.chisq, row.p])


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_cox(name, ties):
    result, _ = fit(name, ties)
    assert result.ok
    coef = expected("cox_coef").query("dataset == @name and ties == @ties and data == 'replicated'")
    assert list(result.names) == coef["term"].tolist()
    close(result.params, coef["coef"])
    close(result.bse, coef["se"])
    hr = result.hazard_ratios()
    close(hr["hr"], coef["hr"])
    close(hr["ci_low"], coef["lower"])
    close(hr["ci_high"], coef["upper"])
    model = expected("cox_model").query("dataset == @name and ties == @ties and data == 'replicated'").iloc[0]
    assert (result.n, result.events) == (model["n"], model["events"])
    close([result.loglik_null, result.loglik, result.lr_statistic, result.score_statistic,
           result.wald_statistic],
          [model["loglik_null"], model["loglik"], model["lr"], model["score"], model["wald"]])


def test_r_weighted_efron_is_not_efron_on_replicated_rows():
    """Documented difference: R's coxph(weights=count, ties='efron') corrects ties per row, not per person;
    Breslow is the same either way."""
    model = expected("cox_model").query("dataset == 'synthetic'").set_index(["ties", "data"])
    breslow, _ = fit("synthetic", "breslow")
    efron, _ = fit("synthetic", "efron")
    close(breslow.loglik, model.loc[("breslow", "weighted"), "loglik"])
    assert abs(efron.loglik - model.loc[("efron", "weighted"), "loglik"]) > 1.0


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("transform", ["km", "rank", "identity", "log"])
def test_cox_zph(name, ties, transform):
    result, d = fit(name, ties)
    test = proportional_hazards_test(result, d[DATASETS[name]], d["time"], d["event"], d["count"],
                                     transform=transform)
    r = expected("zph").query("dataset == @name and ties == @ties and transform == @transform")
    assert test.table.index.tolist() == r["term"].tolist()
    assert test.table["df"].tolist() == r["df"].tolist()
    close(test.table["chisq"], r["chisq"])
    close(test.table["p"], r["p"])
