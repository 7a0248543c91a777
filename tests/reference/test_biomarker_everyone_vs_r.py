"""Biomarker risk in everyone (a cohort without a treatment role) agrees with R at 1e-6 relative: flchain's kappa
bands against death, adjusted for age and sex (expected values from tests/reference/r/biomarker_everyone.R,
committed; CI does not run R). Exact mode, no threshold: the numbers an analyst entitled to the rows would check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.biomarker_risk import biomarker_risk
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

HERE = Path(__file__).resolve().parent
FLCHAIN = HERE.parent / "data" / "cohorts" / "flchain"
RTOL = 1e-6


@pytest.fixture(scope="module")
def result():
    engine = CohortEngine.open(FLCHAIN / "flchain.csv", FLCHAIN / "mapping.toml")
    ctx, problems = AnalysisContext.from_query(engine, "", DisclosurePolicy(0, "exact"))
    assert not problems
    return biomarker_risk(ctx)  # default options: population all (no treatment role), adjusted for age and sex


def _expected(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "expected" / name)


def test_band_table_matches_r(result):
    bands, expected = result.table("bands"), _expected("everyone_bands.csv")
    assert list(bands["band"]) == list(expected["band"])
    np.testing.assert_allclose(bands[["n", "events", "person_time"]].to_numpy(dtype=float),
                               expected[["n", "events", "person_time"]].to_numpy(dtype=float), rtol=RTOL)


@pytest.mark.parametrize("measure", ["crude_or", "adjusted_or", "hr"])
def test_band_estimates_match_r(result, measure):
    expected = _expected("everyone_estimates.csv").query("measure == @measure")
    assert len(expected) == 3
    for _, r in expected.iterrows():
        e = result.estimate(measure, band=r["band"])
        assert e.reference == ">=1.94"
        np.testing.assert_allclose([e.estimate, e.ci_low, e.ci_high, e.p_value],
                                   [r["estimate"], r["ci_low"], r["ci_high"], r["p_value"]], rtol=RTOL)


def test_logrank_matches_r(result):
    r = _expected("everyone_tests.csv").iloc[0]
    test = result.test("logrank")
    np.testing.assert_allclose([test.statistic, test.df, test.p_value], [r["statistic"], r["df"], r["p_value"]],
                               rtol=RTOL)
