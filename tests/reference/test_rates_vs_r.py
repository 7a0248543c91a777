"""Proportion and rate intervals and direct standardisation vs R (committed CSVs; R is not needed to run this).

Expected values come from tests/reference/r/rates.R (prop.test, poisson.test, epitools::ageadjust.direct, and the
log-normal ratio of two standardised rates by the same formula); relative tolerance 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.stats.proportions import poisson_rate_ci, wilson_ci
from analyses.stats.standardization import band_weights, direct_standardize, standardized_ratio

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected"
DATA = HERE / "data"
RTOL = 1e-6


def _close(actual, expected, what: str):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=RTOL, atol=0,
                               err_msg=what)


def _bands(frame: pd.DataFrame) -> list[tuple[int, int | None]]:
    return [(int(lo), None if pd.isna(hi) else int(hi)) for lo, hi in zip(frame["low"], frame["high"])]


@pytest.fixture(scope="module")
def dsr_input() -> pd.DataFrame:
    return pd.read_csv(DATA / "rates_dsr_input.csv")


@pytest.fixture(scope="module")
def dsr_python(dsr_input) -> dict[str, object]:
    results = {}
    for case, frame in dsr_input.groupby("case", sort=False):
        alpha = 1 - float(frame["conf_level"].iloc[0])
        results[case] = direct_standardize(frame["events"], frame["n"], frame["weight"], alpha=alpha)
    return results


def test_wilson_matches_prop_test():
    ref = pd.read_csv(EXPECTED / "rates_wilson.csv")
    for conf_level, group in ref.groupby("conf_level"):
        low, high = wilson_ci(group["x"].to_numpy(), group["n"].to_numpy(), alpha=1 - conf_level)
        _close(low, group["low"], f"Wilson low, conf.level {conf_level}")
        _close(high, group["high"], f"Wilson high, conf.level {conf_level}")


def test_poisson_matches_poisson_test():
    ref = pd.read_csv(EXPECTED / "rates_poisson.csv")
    for conf_level, group in ref.groupby("conf_level"):
        low, high = poisson_rate_ci(group["x"].to_numpy(), group["person_time"].to_numpy(), alpha=1 - conf_level)
        _close(low, group["low"], f"Poisson low, conf.level {conf_level}")
        _close(high, group["high"], f"Poisson high, conf.level {conf_level}")


def test_input_weights_are_band_weights(dsr_input):
    """The weights R was given are what band_weights computes (up to scale, for the raw-count case)."""
    for case, frame in dsr_input.groupby("case", sort=False):
        given = frame["weight"].to_numpy(float)
        np.testing.assert_allclose(band_weights(frame["standard"].iloc[0], _bands(frame)), given / given.sum(),
                                   rtol=1e-12, err_msg=case)


def test_direct_standardize_matches_ageadjust_direct(dsr_python):
    ref = pd.read_csv(EXPECTED / "rates_dsr.csv")
    for row in ref.itertuples():
        got = dsr_python[row.case]
        _close(got.crude_rate, row.crude_rate, f"{row.case} crude rate")
        _close(got.rate, row.adj_rate, f"{row.case} adjusted rate")
        _close(got.variance, row.variance, f"{row.case} variance")
        _close(got.ci_high, row.uci, f"{row.case} upper limit")
        if pd.isna(row.lci):
            # No events at all: R's gamma shape is 0/0 (NaN); the documented lower limit here is 0.
            assert row.case == "all_zero_esp2013" and got.rate == 0 and got.ci_low == 0
        else:
            _close(got.ci_low, row.lci, f"{row.case} lower limit")


def test_standardized_ratio_matches_r(dsr_python):
    ref = pd.read_csv(EXPECTED / "rates_dsr_ratio.csv")
    for row in ref.itertuples():
        ratio, low, high = standardized_ratio(dsr_python[row.case_a], dsr_python[row.case_b],
                                              alpha=1 - row.conf_level)
        _close([ratio, low, high], [row.ratio, row.lci, row.uci], f"{row.case_a} / {row.case_b}")
