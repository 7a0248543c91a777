"""Wilson and exact Poisson intervals: shapes, boundaries, undefined cases and input checks (values vs R are in
tests/reference/test_rates_vs_r.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analyses.stats.proportions import poisson_rate_ci, wilson_ci


def _wilson_by_hand(x, n, alpha=0.05):
    z = stats.norm.ppf(1 - alpha / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


class TestWilson:
    def test_scalar_inputs_give_floats_matching_the_formula(self):
        low, high = wilson_ci(47, 389)
        assert isinstance(low, float) and isinstance(high, float)
        assert (low, high) == pytest.approx(_wilson_by_hand(47, 389), rel=1e-12)

    def test_vectorised_and_broadcast(self):
        low, high = wilson_ci(np.array([0, 5, 10]), 10)
        assert low.shape == high.shape == (3,)
        assert low[1] == pytest.approx(_wilson_by_hand(5, 10)[0], rel=1e-12)
        low2, _ = wilson_ci(np.array([[1, 2], [3, 4]]), np.array([10, 20]))
        assert low2.shape == (2, 2)

    def test_boundaries_are_exact(self):
        low, high = wilson_ci(np.array([0, 10]), np.array([10, 10]))
        assert low[0] == 0.0 and high[1] == 1.0
        assert 0 < high[0] < 1 and 0 < low[1] < 1

    def test_n_zero_gives_nan_without_touching_other_elements(self):
        low, high = wilson_ci(np.array([0, 3]), np.array([0, 30]))
        assert math.isnan(low[0]) and math.isnan(high[0])
        assert low[1] == pytest.approx(_wilson_by_hand(3, 30)[0], rel=1e-12)
        assert all(math.isnan(v) for v in wilson_ci(0, 0))

    def test_smaller_alpha_widens(self):
        narrow = wilson_ci(20, 200, alpha=0.10)
        wide = wilson_ci(20, 200, alpha=0.01)
        assert wide[0] < narrow[0] < 0.1 < narrow[1] < wide[1]

    @pytest.mark.parametrize(
        "events, n, alpha",
        [(11, 10, 0.05), (-1, 10, 0.05), (1.5, 10, 0.05), (1, 10.5, 0.05), (float("nan"), 10, 0.05),
         (1, float("inf"), 0.05), (1, 10, 0.0), (1, 10, 1.0), (1, 10, -0.1)],
    )
    def test_rejects_bad_input(self, events, n, alpha):
        with pytest.raises(ValueError):
            wilson_ci(events, n, alpha)


class TestPoisson:
    def test_zero_events_low_is_zero_and_high_is_closed_form(self):
        low, high = poisson_rate_ci(0, 100.0)
        assert low == 0.0
        # Gamma(1) is exponential: upper = −ln(α/2) / T
        assert high == pytest.approx(-math.log(0.025) / 100, rel=1e-12)

    def test_chi_square_form(self):
        x, t, alpha = 12, 3456.7, 0.05
        low, high = poisson_rate_ci(x, t, alpha)
        assert low == pytest.approx(stats.chi2.ppf(alpha / 2, 2 * x) / 2 / t, rel=1e-10)
        assert high == pytest.approx(stats.chi2.ppf(1 - alpha / 2, 2 * x + 2) / 2 / t, rel=1e-10)

    def test_vectorised_with_zero_person_time(self):
        low, high = poisson_rate_ci(np.array([0, 4, 0]), np.array([10.0, 310.25, 0.0]))
        assert low.shape == (3,)
        assert low[0] == 0.0 and 0 < low[1] < 4 / 310.25 < high[1]
        assert math.isnan(low[2]) and math.isnan(high[2])

    def test_rate_scales_with_person_time(self):
        a = poisson_rate_ci(9, 100.0)
        b = poisson_rate_ci(9, 1000.0)
        assert a[0] == pytest.approx(10 * b[0], rel=1e-12) and a[1] == pytest.approx(10 * b[1], rel=1e-12)

    @pytest.mark.parametrize(
        "events, person_time, alpha",
        [(-1, 10.0, 0.05), (2.5, 10.0, 0.05), (2, -1.0, 0.05), (2, float("nan"), 0.05), (2, 10.0, 1.5)],
    )
    def test_rejects_bad_input(self, events, person_time, alpha):
        with pytest.raises(ValueError):
            poisson_rate_ci(events, person_time, alpha)
