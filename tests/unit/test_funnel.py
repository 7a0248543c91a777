"""Funnel plots: Spiegelhalter's exact limits by hand, normal and Poisson limits, over-dispersion (φ, τ²), flags,
edge cases and input checks (values vs R on fixed datasets are in tests/reference/test_spc_funnel_vs_r.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analyses.stats import funnel

Z95, Z998 = stats.norm.ppf(0.975), stats.norm.ppf(0.999)


def _binomial_cdf(r: int, n: int, theta: float) -> float:
    return sum(math.comb(n, k) * theta ** k * (1 - theta) ** (n - k) for k in range(r + 1)) if r >= 0 else 0.0


class TestExactBinomial:
    def test_by_hand_n10_half(self):
        # r_0.975 = 8: P(X ≤ 8) = 1013/1024 ≥ 0.975 > P(X ≤ 7) = 968/1024; α = (1013/1024 − 0.975)/(45/1024).
        alpha = (1013 / 1024 - 0.975) / (45 / 1024)
        assert funnel.exact_binomial_limit(0.975, 10, 0.5) == pytest.approx((8 - alpha) / 10, rel=1e-13)
        assert funnel.exact_binomial_limit(0.975, 10, 0.5) == pytest.approx(0.76755555555555555, rel=1e-13)  # R

    @pytest.mark.parametrize(("p", "n", "theta"), [(0.001, 200, 0.1), (0.025, 57, 0.3), (0.999, 31, 0.07),
                                                   (0.975, 500, 0.62)])
    def test_matches_the_definition(self, p, n, theta):
        r = next(r for r in range(n + 1) if _binomial_cdf(r, n, theta) >= p)
        at, below = _binomial_cdf(r, n, theta), _binomial_cdf(r - 1, n, theta)
        expected = min(max((r - (at - p) / (at - below)) / n, 0.0), 1.0)
        assert funnel.exact_binomial_limit(p, n, theta) == pytest.approx(expected, rel=1e-9)

    def test_negative_interpolation_is_clipped_at_zero(self):
        # θ small: r_0.025 = 0 and (0 − α)/n < 0.
        assert funnel.exact_binomial_limit(0.025, 20, 0.01) == 0.0

    @pytest.mark.parametrize("theta", [0.0, 1.0])
    def test_boundary_targets(self, theta):
        assert np.all(funnel.exact_binomial_limit([0.001, 0.999], [5, 50], theta) == theta)

    def test_limits_narrow_with_n(self):
        n = np.array([20, 50, 100, 400, 1600])
        assert np.all(np.diff(funnel.exact_binomial_limit(0.999, n, 0.2)) < 0)
        assert np.all(np.diff(funnel.exact_binomial_limit(0.001, n, 0.2)) > 0)


class TestPoissonRatio:
    def test_chi_square_form(self):
        e = np.array([1.5, 10.0, 123.4])
        np.testing.assert_allclose(funnel.exact_poisson_ratio_limit(0.025, e), stats.chi2.ppf(0.025, 2 * e) / 2 / e,
                                   rtol=1e-10)
        np.testing.assert_allclose(funnel.exact_poisson_ratio_limit(0.999, e),
                                   stats.chi2.ppf(0.999, 2 * (e + 1)) / 2 / e, rtol=1e-10)

    def test_target_scales_the_mean(self):
        got = funnel.exact_poisson_ratio_limit(0.975, 40.0, 0.8)
        assert got == pytest.approx(stats.chi2.ppf(0.975, 2 * (32 + 1)) / 2 / 40, rel=1e-10)


class TestProportionFunnel:
    EVENTS = [5, 12, 30, 8, 50, 3, 20, 44, 9, 15]
    DENOMINATORS = [40, 100, 200, 60, 300, 20, 150, 250, 80, 90]

    def test_target_is_the_overall_proportion(self):
        result = funnel.proportion_funnel(self.EVENTS, self.DENOMINATORS)
        assert result.target == pytest.approx(sum(self.EVENTS) / sum(self.DENOMINATORS), rel=1e-15)
        assert list(result.units.columns) == funnel.UNIT_COLUMNS

    def test_exact_limits_per_unit(self):
        result = funnel.proportion_funnel(self.EVENTS, self.DENOMINATORS, target=0.15)
        row = result.units.iloc[2]
        assert row["upper_998"] == funnel.exact_binomial_limit(0.999, 200, 0.15)
        assert row["lower_95"] == funnel.exact_binomial_limit(0.025, 200, 0.15)

    def test_normal_limits_by_hand(self):
        result = funnel.proportion_funnel(self.EVENTS, self.DENOMINATORS, target=0.15, method="normal")
        s = math.sqrt(0.15 * 0.85 / 300)
        row = result.units.iloc[4]
        assert (row["lower_95"], row["upper_95"]) == pytest.approx((0.15 - Z95 * s, 0.15 + Z95 * s), rel=1e-14)
        assert row["upper_998"] == pytest.approx(0.15 + Z998 * s, rel=1e-14)
        assert row["z"] == pytest.approx((50 / 300 - 0.15) / s, rel=1e-14)
        assert result.units["lower_998"].iloc[5] == 0.0  # clipped

    def test_arcsine_normal_limits(self):
        result = funnel.proportion_funnel(self.EVENTS, self.DENOMINATORS, target=0.15, method="normal",
                                          scale="arcsine")
        centre, s = math.asin(math.sqrt(0.15)), 1 / (2 * math.sqrt(100))
        assert result.units["upper_95"].iloc[1] == pytest.approx(math.sin(centre + Z95 * s) ** 2, rel=1e-14)

    def test_flags(self):
        events = [15, 24, 28, 36, 15]
        result = funnel.proportion_funnel(events, [100] * 5, target=0.15, method="normal")
        # upper 95% = 0.22, upper 99.8% = 0.26 (approximately); lower 95% = 0.08
        assert result.units["flag"].tolist() == ["within", "alert", "alarm", "alarm", "within"]
        assert result.units["side"].tolist()[:4] == [None, "high", "high", "high"]
        low = funnel.proportion_funnel([1, 15], [100, 100], target=0.15, method="normal")
        assert low.units["flag"].iloc[0] == "alarm" and low.units["side"].iloc[0] == "low"

    def test_zero_denominator_is_no_data(self):
        result = funnel.proportion_funnel([5, 0, 30], [50, 0, 200])
        assert result.target == pytest.approx(35 / 250)
        row = result.units.iloc[1]
        assert row["flag"] == "no_data" and np.isnan(row["value"]) and np.isnan(row["upper_95"])
        assert result.overdispersion.units == 2

    @pytest.mark.parametrize("target", [0.0, 1.0])
    def test_target_zero_or_one(self, target):
        events = [0, 0, 0] if target == 0 else [10, 20, 30]
        result = funnel.proportion_funnel(events, [10, 20, 30])
        assert result.target == target
        assert (result.units[["lower_95", "upper_998"]].to_numpy() == target).all()
        assert (result.units["flag"] == "within").all()
        assert math.isnan(result.overdispersion.phi) and not result.adjusted

    def test_target_zero_given_with_events(self):
        result = funnel.proportion_funnel([0, 2], [10, 20], target=0.0, adjustment="multiplicative")
        assert result.units["flag"].tolist() == ["within", "alarm"]

    def test_single_unit(self):
        result = funnel.proportion_funnel([3], [30], adjustment="additive")
        assert result.units["flag"].iloc[0] == "within" and not result.adjusted
        assert result.overdispersion.units == 1 and math.isnan(result.overdispersion.tau2)

    def test_all_no_data(self):
        result = funnel.proportion_funnel([np.nan, 0], [10, 0])
        assert math.isnan(result.target) and (result.units["flag"] == "no_data").all()

    @pytest.mark.parametrize(("kwargs", "match"), [
        ({"events": [5, 11], "denominators": [10, 10]}, "exceed"),
        ({"events": [-1, 1], "denominators": [10, 10]}, "negative"),
        ({"events": [1, 1], "denominators": [10, np.inf]}, "finite"),
        ({"events": [1, 1], "denominators": [10.5, 10]}, "whole"),
        ({"events": [1, 1], "denominators": [10]}, "denominators"),
        ({"events": [], "denominators": []}, "no units"),
        ({"events": [1], "denominators": [10], "target": 1.5}, "target"),
        ({"events": [1], "denominators": [10], "method": "wilson"}, "method"),
        ({"events": [1], "denominators": [10], "adjustment": "both"}, "adjustment"),
        ({"events": [1], "denominators": [10], "scale": "log"}, "scale"),
        ({"events": [1], "denominators": [10], "units": ["a", "b"]}, "units"),
    ])
    def test_bad_input_raises(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            funnel.proportion_funnel(**kwargs)

    def test_fractional_denominators_work_with_normal_limits(self):
        result = funnel.proportion_funnel([1.5, 3], [10.5, 20], method="normal")
        assert (result.units["flag"] == "within").all()


class TestOverdispersion:
    def test_phi_by_hand_with_winsorisation(self):
        z = np.array([-4.0, -1.0, -0.5, 0.0, 0.2, 0.4, 0.6, 1.0, 1.5, 6.0])
        s = np.full(10, 0.1)
        # type-7 quantiles: 10% at position 0.9 between −4 and −1 → −1.3; 90% at 8.1 between 1.5 and 6 → 1.95
        wz = np.clip(z, -1.3, 1.95)
        od = funnel.estimate_overdispersion(z, s)
        assert od.phi == pytest.approx(np.sum(wz ** 2) / 10, rel=1e-14)
        assert od.winsorised == 2 and od.units == 10

    def test_tau2_by_hand(self):
        z = np.array([3.0, -3.0, 2.5, -2.5, 2.0, -2.0])
        s = np.array([0.1, 0.2, 0.1, 0.05, 0.2, 0.1])
        od = funnel.estimate_overdispersion(z, s, trim=0.0)
        w = 1 / s ** 2
        phi = np.mean(z ** 2)
        assert od.phi == pytest.approx(phi, rel=1e-14)
        assert od.tau2 == pytest.approx((6 * phi - 5) / (w.sum() - (w ** 2).sum() / w.sum()), rel=1e-13)

    def test_tau2_zero_when_k_phi_below_k_minus_one(self):
        od = funnel.estimate_overdispersion([0.1, -0.2, 0.3, -0.1], [0.1] * 4)
        assert od.tau2 == 0.0 and not od.overdispersed

    def test_non_finite_z_left_out(self):
        od = funnel.estimate_overdispersion([1.0, -np.inf, np.nan, 2.0], [0.1, 0.1, 0.1, 0.1])
        assert od.units == 2

    def test_bad_trim(self):
        with pytest.raises(ValueError):
            funnel.estimate_overdispersion([1, 2, 3], [1, 1, 1], trim=0.5)


class TestAdjustedFunnels:
    EVENTS = [20, 45, 12, 80, 30, 95, 8, 60, 25, 70, 40, 15]
    DENOMINATORS = [200, 250, 150, 300, 220, 310, 90, 280, 260, 240, 230, 180]

    def test_multiplicative_inflates_the_normal_width_by_sqrt_phi(self):
        result = funnel.proportion_funnel(self.EVENTS, self.DENOMINATORS, adjustment="multiplicative")
        phi, target = result.overdispersion.phi, result.target
        assert phi > 1 and result.adjusted
        s = np.sqrt(target * (1 - target) / np.array(self.DENOMINATORS))
        np.testing.assert_allclose(result.units["upper_95"], target + Z95 * math.sqrt(phi) * s, rtol=1e-13)

    def test_additive_adds_tau2(self):
        result = funnel.proportion_funnel(self.EVENTS, self.DENOMINATORS, adjustment="additive")
        tau2, target = result.overdispersion.tau2, result.target
        assert tau2 > 0 and result.adjusted
        s2 = target * (1 - target) / np.array(self.DENOMINATORS)
        np.testing.assert_allclose(result.units["upper_998"], target + Z998 * np.sqrt(s2 + tau2), rtol=1e-13)

    def test_adjustment_widens_and_calms_flags(self):
        plain = funnel.proportion_funnel(self.EVENTS, self.DENOMINATORS)
        adjusted = funnel.proportion_funnel(self.EVENTS, self.DENOMINATORS, adjustment="additive")
        assert (adjusted.units["upper_95"] >= plain.units["upper_95"] - 1e-3).all()
        order = {"within": 0, "alert": 1, "alarm": 2}
        assert sum(order[f] for f in adjusted.units["flag"]) < sum(order[f] for f in plain.units["flag"])

    def test_no_adjustment_when_phi_at_most_one(self):
        events = [15, 30, 45, 60]
        result = funnel.proportion_funnel(events, [100, 200, 300, 400], adjustment="multiplicative")
        assert result.overdispersion.phi <= 1 and not result.adjusted
        exact = funnel.proportion_funnel(events, [100, 200, 300, 400])
        assert result.units.equals(exact.units)


class TestRatioFunnel:
    OBSERVED = [3, 10, 25, 7, 0, 40, 18]
    EXPECTED = [5.2, 8.1, 20.3, 9.9, 1.5, 30.2, 21.0]

    def test_values_and_exact_limits(self):
        result = funnel.ratio_funnel(self.OBSERVED, self.EXPECTED)
        assert result.target == 1.0
        assert result.units["value"].iloc[0] == pytest.approx(3 / 5.2)
        assert result.units["lower_95"].iloc[2] == funnel.exact_poisson_ratio_limit(0.025, 20.3)

    def test_sqrt_scale_z(self):
        result = funnel.ratio_funnel(self.OBSERVED, self.EXPECTED)
        assert result.units["z"].iloc[5] == pytest.approx((math.sqrt(40 / 30.2) - 1) * 2 * math.sqrt(30.2))

    def test_log_scale_zero_observed(self):
        result = funnel.ratio_funnel(self.OBSERVED, self.EXPECTED, scale="log", method="normal")
        assert result.units["z"].iloc[4] == -np.inf and result.overdispersion.units == 6
        assert result.units["upper_95"].iloc[1] == pytest.approx(math.exp(Z95 / math.sqrt(8.1)), rel=1e-14)

    def test_additive_sqrt_back_transformed(self):
        observed = [3, 20, 25, 7, 0, 60, 18, 2, 44]
        expected = [5.2, 8.1, 20.3, 9.9, 6.5, 30.2, 21.0, 9.0, 25.0]
        result = funnel.ratio_funnel(observed, expected, adjustment="additive")
        tau2 = result.overdispersion.tau2
        assert result.adjusted and tau2 > 0
        s2 = 1 / (4 * np.array(expected))
        np.testing.assert_allclose(result.units["upper_95"], (1 + Z95 * np.sqrt(s2 + tau2)) ** 2, rtol=1e-13)
        np.testing.assert_allclose(result.units["lower_95"], np.maximum(1 - Z95 * np.sqrt(s2 + tau2), 0) ** 2,
                                   rtol=1e-13)

    def test_zero_expected_is_no_data(self):
        result = funnel.ratio_funnel([1, 2], [0.0, 3.0])
        assert result.units["flag"].tolist()[0] == "no_data"

    @pytest.mark.parametrize("target", [0.0, -1.0, float("nan")])
    def test_bad_target(self, target):
        with pytest.raises(ValueError):
            funnel.ratio_funnel([1], [2.0], target=target)


class TestFunnelLimitsGrid:
    def test_grid_matches_units(self):
        result = funnel.proportion_funnel([5, 12, 30], [40, 100, 200])
        grid = funnel.funnel_limits(result, [40, 100, 200])
        np.testing.assert_array_equal(grid["upper_95"], result.units["upper_95"])

    def test_grid_of_an_adjusted_funnel_is_adjusted(self):
        events, den = TestAdjustedFunnels.EVENTS, TestAdjustedFunnels.DENOMINATORS
        result = funnel.proportion_funnel(events, den, adjustment="additive")
        grid = funnel.funnel_limits(result, den)
        np.testing.assert_allclose(grid["lower_998"], result.units["lower_998"], rtol=1e-15)

    def test_normal_grid_is_monotone_and_zero_is_nan(self):
        result = funnel.proportion_funnel([5, 12, 30], [40, 100, 200], method="normal")
        grid = funnel.funnel_limits(result, [0, 10, 100, 1000])
        assert grid["upper_95"].isna().iloc[0]
        assert grid["upper_95"].iloc[1:].is_monotonic_decreasing
        assert grid["lower_95"].iloc[1:].is_monotonic_increasing


class TestNeverCrashes:
    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 80), st.integers(0, 100)), min_size=1, max_size=30),
           st.sampled_from(["exact", "normal"]), st.sampled_from([None, "multiplicative", "additive"]),
           st.sampled_from(["identity", "arcsine"]))
    def test_proportion_funnel(self, rows, method, adjustment, scale):
        events = [min(x, n) for x, n in rows]
        result = funnel.proportion_funnel(events, [n for _, n in rows], method=method, adjustment=adjustment,
                                          scale=scale)
        units = result.units
        have = units["flag"] != "no_data"
        assert (units.loc[have, "lower_998"] <= units.loc[have, "lower_95"] + 1e-12).all()
        assert (units.loc[have, "upper_95"] <= units.loc[have, "upper_998"] + 1e-12).all()
        assert set(units["flag"]) <= {"within", "alert", "alarm", "no_data"}

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 80), st.floats(0, 100)), min_size=1, max_size=30),
           st.sampled_from(["sqrt", "log", "identity"]), st.sampled_from([None, "multiplicative", "additive"]))
    def test_ratio_funnel(self, rows, scale, adjustment):
        result = funnel.ratio_funnel([o for o, _ in rows], [e for _, e in rows], scale=scale, adjustment=adjustment)
        assert len(result.units) == len(rows)
