"""Standard populations, band weights (hand-checked), direct standardisation and the standardised rate ratio:
edge cases and checks by hand (values vs R are in tests/reference/test_rates_vs_r.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analyses.stats.proportions import poisson_rate_ci
from analyses.stats.standardization import (
    DirectStandardized,
    band_weights,
    direct_standardize,
    standard_populations,
    standardized_ratio,
)

RLS_BANDS = [(18, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 79), (80, None)]


# --- standard populations ------------------------------------------------------------------------------------
class TestStandardPopulations:
    def test_names_and_published_totals(self):
        tables = standard_populations()
        assert set(tables) == {"esp2013", "who2000", "us2000"}
        assert tables["esp2013"].weights.sum() == 100_000
        assert tables["us2000"].weights.sum() == 1_000_000
        # WHO 2000-2025: the published percentages are rounded and sum to 100.035 %, i.e. 100,035 per 100,000.
        assert tables["who2000"].weights.sum() == 100_035
        for table in tables.values():
            assert table.total == table.weights.sum()
            assert table.label and table.source and table.url.startswith("https://")

    def test_group_layout(self):
        tables = standard_populations()
        layout = {name: [(g.low, g.high) for g in t.groups] for name, t in tables.items()}
        assert layout["esp2013"] == [(a, a + 4) for a in range(0, 95, 5)] + [(95, None)]
        assert layout["who2000"] == [(a, a + 4) for a in range(0, 100, 5)] + [(100, None)]
        assert layout["us2000"] == [(0, 0), (1, 4)] + [(a, a + 4) for a in range(5, 85, 5)] + [(85, None)]

    def test_spot_values(self):
        tables = standard_populations()
        esp = {(g.low, g.high): g.weight for g in tables["esp2013"].groups}
        assert esp[(0, 4)] == 5000 and esp[(45, 49)] == 7000 and esp[(90, 94)] == 800 and esp[(95, None)] == 200
        who = {(g.low, g.high): g.weight for g in tables["who2000"].groups}
        assert who[(0, 4)] == 8860 and who[(60, 64)] == 3720 and who[(100, None)] == 5
        us = {(g.low, g.high): g.weight for g in tables["us2000"].groups}
        assert us[(0, 0)] == 13818 and us[(40, 44)] == 81851 and us[(85, None)] == 15508

    def test_loaded_once_and_callers_cannot_corrupt_the_cache(self):
        first = standard_populations()
        first.pop("esp2013")
        second = standard_populations()
        assert "esp2013" in second
        assert second["us2000"] is standard_populations()["us2000"]


# --- band weights ---------------------------------------------------------------------------------------------
class TestBandWeights:
    def test_rls_bands_on_esp2013_by_hand(self):
        raw = np.array([
            2 / 5 * 5500 + 6000 + 6000,  # 18-29: ages 18, 19 of 15-19, then 20-24 and 25-29
            6500 + 7000,                 # 30-39
            7000 + 7000,                 # 40-49
            7000 + 6500,                 # 50-59
            6000 + 5500,                 # 60-69
            5000 + 4000,                 # 70-79
            2500 + 1500 + 800 + 200,     # 80+: the open 95+ group goes to the open top band
        ])
        weights = band_weights("esp2013", RLS_BANDS)
        np.testing.assert_allclose(weights, raw / raw.sum(), rtol=1e-14)
        assert weights.sum() == pytest.approx(1.0, abs=1e-15)

    def test_us2000_single_years_and_open_85(self):
        weights = band_weights("us2000", [(0, 0), (1, 2), (80, None)])
        raw = np.array([13818, 55317 * 2 / 4, 17842 + 15508])
        np.testing.assert_allclose(weights, raw / raw.sum(), rtol=1e-14)

    def test_who_open_100_and_95(self):
        np.testing.assert_allclose(band_weights("who2000", [(90, 94), (95, None)]),
                                   np.array([150, 45]) / 195, rtol=1e-14)
        np.testing.assert_allclose(band_weights("who2000", [(98, 99), (100, None)]),
                                   np.array([40 * 2 / 5, 5]) / 21, rtol=1e-14)

    def test_uniform_within_a_group(self):
        np.testing.assert_allclose(band_weights("esp2013", [(40, 40), (41, 42)]), [1 / 3, 2 / 3], rtol=1e-14)
        assert band_weights("esp2013", [(42, 42)]).tolist() == [1.0]

    def test_bands_ending_below_the_open_group_leave_it_out(self):
        weights = band_weights("esp2013", [(18, 29), (30, 89)])
        raw = np.array([14200, 100_000 - 5000 - 5500 - 5500 - 3 / 5 * 5500 - 800 - 200 - 14200])
        np.testing.assert_allclose(weights, raw / raw.sum(), rtol=1e-14)

    def test_gaps_between_bands_carry_no_weight(self):
        np.testing.assert_allclose(band_weights("esp2013", [(18, 29), (40, 49)]),
                                   np.array([14200, 14000]) / 28200, rtol=1e-14)

    def test_accepts_a_standard_object_and_numpy_integers(self):
        esp = standard_populations()["esp2013"]
        bands = [(np.int64(18), np.int64(29)), (np.int64(30), None)]
        np.testing.assert_array_equal(band_weights(esp, bands), band_weights("esp2013", [(18, 29), (30, None)]))

    @pytest.mark.parametrize(
        "standard, bands",
        [
            ("us2000", [(80, 89), (90, None)]),  # 85+ would have to be split between two bands
            ("us2000", [(70, 89)]),              # a closed band overlapping 85+
            ("esp2013", [(18, 96)]),             # a closed band overlapping 95+
            ("esp2013", [(18, 95), (96, None)]),
            ("esp2013", [(96, None)]),           # open band starting above 95
        ],
    )
    def test_refuses_to_split_an_open_standard_group(self, standard, bands):
        with pytest.raises(ValueError, match="open standard group"):
            band_weights(standard, bands)

    @pytest.mark.parametrize(
        "bands",
        [
            [],
            [(30, 39), (18, 29)],           # not increasing
            [(18, 30), (30, 39)],           # overlap
            [(18, None), (30, 39)],         # open band not last
            [(30, 18)],                     # low > high
            [(-1, 10)],                     # negative age
            [(18.5, 29)],                   # not whole years
            [(True, 29)],                   # bool is not an age
            [(18,)],                        # not a pair
            [(None, 29)],
            ["18-29"],
        ],
    )
    def test_rejects_bad_bands(self, bands):
        with pytest.raises(ValueError):
            band_weights("esp2013", bands)

    def test_unknown_standard(self):
        with pytest.raises(ValueError, match="Unknown standard population"):
            band_weights("segi", RLS_BANDS)


# --- direct standardisation -----------------------------------------------------------------------------------
def _gamma_q(q, mean, var):
    return stats.gamma.ppf(q, a=mean**2 / var, scale=var / mean)


class TestDirectStandardize:
    def test_two_bands_by_hand(self):
        result = direct_standardize([5, 10], [100, 200], [0.25, 0.75])
        rate = 0.25 * 0.05 + 0.75 * 0.05
        var = 0.25**2 * 5 / 100**2 + 0.75**2 * 10 / 200**2
        wm = max(0.25 / 100, 0.75 / 200)
        assert result.rate == pytest.approx(rate, rel=1e-14)
        assert result.variance == pytest.approx(var, rel=1e-14)
        assert result.crude_rate == pytest.approx(15 / 300, rel=1e-14)
        assert result.ci_low == pytest.approx(_gamma_q(0.025, rate, var), rel=1e-12)
        assert result.ci_high == pytest.approx(_gamma_q(0.975, rate + wm, var + wm**2), rel=1e-12)
        assert result.dropped_bands == ()

    def test_single_band_reduces_to_the_exact_poisson_interval(self):
        result = direct_standardize([7], [250], [1.0])
        low, high = poisson_rate_ci(7, 250)
        assert result.rate == result.crude_rate == pytest.approx(7 / 250)
        assert (result.ci_low, result.ci_high) == pytest.approx((low, high), rel=1e-10)

    def test_weights_not_summing_to_one_are_normalised(self):
        events, n = [68, 127, 171], [1412, 1538, 1622]
        raw = direct_standardize(events, n, [14200, 13500, 14000])
        norm = direct_standardize(events, n, np.array([14200, 13500, 14000]) / 41700)
        for field in ("rate", "ci_low", "ci_high", "variance", "crude_rate"):
            assert getattr(raw, field) == pytest.approx(getattr(norm, field), rel=1e-13)

    def test_zero_events_in_one_band(self):
        result = direct_standardize([0, 2, 5], [41, 63, 88], [0.3, 0.3, 0.4])
        assert 0 < result.ci_low < result.rate < result.ci_high
        assert result.rate == pytest.approx(0.3 * 2 / 63 + 0.4 * 5 / 88)

    def test_no_events_at_all(self):
        result = direct_standardize([0, 0], [30, 60], [0.5, 0.5])
        assert result.rate == result.variance == result.ci_low == 0.0
        wm = 0.5 / 30
        # upper: gamma with shape 1 (exponential) and scale w_M
        assert result.ci_high == pytest.approx(-wm * math.log(0.025), rel=1e-12)

    def test_empty_band_is_an_error_by_default(self):
        with pytest.raises(ValueError, match=r"Bands \[1\] have n = 0"):
            direct_standardize([3, 0, 4], [50, 0, 60], [0.2, 0.3, 0.5])

    def test_empty_band_dropped_with_renormalised_weights(self):
        dropped = direct_standardize([3, 0, 4], [50, 0, 60], [0.2, 0.3, 0.5], drop_empty=True)
        manual = direct_standardize([3, 4], [50, 60], [0.2 / 0.7, 0.5 / 0.7])
        assert dropped.dropped_bands == (1,)
        for field in ("rate", "ci_low", "ci_high", "variance", "crude_rate"):
            assert getattr(dropped, field) == pytest.approx(getattr(manual, field), rel=1e-13)

    def test_events_without_people_is_always_an_error(self):
        with pytest.raises(ValueError, match="have events but n = 0"):
            direct_standardize([3, 1], [50, 0], [0.5, 0.5], drop_empty=True)

    def test_every_band_empty(self):
        with pytest.raises(ValueError, match="Every band has n = 0"):
            direct_standardize([0, 0], [0, 0], [0.5, 0.5], drop_empty=True)

    @pytest.mark.parametrize(
        "events, n, weights, alpha",
        [
            ([1, 2], [10, 20], [0.5], 0.05),            # lengths differ
            ([], [], [], 0.05),                          # no bands
            ([-1, 2], [10, 20], [0.5, 0.5], 0.05),
            ([1, 2], [10, -20], [0.5, 0.5], 0.05),
            ([1, 2], [10, 20], [0.5, -0.5], 0.05),
            ([1, float("nan")], [10, 20], [0.5, 0.5], 0.05),
            ([1, 2], [10, 20], [0.0, 0.0], 0.05),       # weights sum to 0
            ([1, 2], [10, 20], [0.5, 0.5], 1.0),
        ],
    )
    def test_rejects_bad_input(self, events, n, weights, alpha):
        with pytest.raises(ValueError):
            direct_standardize(events, n, weights, alpha)

    def test_smaller_alpha_widens(self):
        a = direct_standardize([10, 20], [100, 150], [0.4, 0.6], alpha=0.10)
        b = direct_standardize([10, 20], [100, 150], [0.4, 0.6], alpha=0.01)
        assert b.ci_low < a.ci_low < a.rate < a.ci_high < b.ci_high


# --- ratio of standardised rates ------------------------------------------------------------------------------
class TestStandardizedRatio:
    def test_formula_by_hand(self):
        a = DirectStandardized(rate=0.10, ci_low=0, ci_high=0, variance=1e-5, crude_rate=0.1)
        b = DirectStandardized(rate=0.05, ci_low=0, ci_high=0, variance=4e-6, crude_rate=0.05)
        ratio, low, high = standardized_ratio(a, b)
        se = math.sqrt(1e-5 / 0.01 + 4e-6 / 0.0025)
        z = stats.norm.ppf(0.975)
        assert ratio == pytest.approx(2.0)
        assert low == pytest.approx(2 * math.exp(-z * se), rel=1e-14)
        assert high == pytest.approx(2 * math.exp(z * se), rel=1e-14)

    def test_same_rates_give_one_and_a_symmetric_log_interval(self):
        a = direct_standardize([10, 20], [100, 150], [0.4, 0.6])
        ratio, low, high = standardized_ratio(a, a)
        assert ratio == 1.0 and low * high == pytest.approx(1.0) and low < 1 < high

    def test_zero_rates(self):
        zero = direct_standardize([0, 0], [10, 20], [0.5, 0.5])
        some = direct_standardize([1, 2], [10, 20], [0.5, 0.5])
        ratio, low, high = standardized_ratio(zero, some)
        assert ratio == 0.0 and math.isnan(low) and math.isnan(high)
        ratio, low, high = standardized_ratio(some, zero)
        assert math.isnan(ratio) and math.isnan(low) and math.isnan(high)

    def test_bad_alpha(self):
        a = direct_standardize([1], [10], [1.0])
        with pytest.raises(ValueError):
            standardized_ratio(a, a, alpha=0)
