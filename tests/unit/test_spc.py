"""SPC charts: the Anhøj rule limits, hand-computed charts, baselines and phases, edge cases and the Making Data
Count summary (values vs R on fixed datasets are in tests/reference/test_spc_funnel_vs_r.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyses.stats import spc


class TestRuleLimits:
    def test_n_24_gives_8_and_8(self):
        # round(log2(24)) + 3 = round(4.585) + 3 = 8; R: qbinom(0.05, 23, 0.5) = 8.
        assert spc.longest_run_limit(24) == 8
        assert spc.crossings_limit(24) == 8

    @pytest.mark.parametrize(("n", "longest", "crossings"), [
        (1, 3, 0), (2, 4, 0), (5, 5, 0), (8, 6, 1), (10, 6, 2), (12, 7, 3), (20, 7, 6), (30, 8, 10), (50, 9, 19),
        (100, 10, 41)])  # R: round(log2(n)) + 3 and qbinom(0.05, n - 1, 0.5)
    def test_table_from_r(self, n, longest, crossings):
        assert (spc.longest_run_limit(n), spc.crossings_limit(n)) == (longest, crossings)

    def test_crossings_limit_is_the_binomial_5_percent_quantile(self):
        n = 24
        cdf = np.cumsum([math.comb(n - 1, k) for k in range(n)]) / 2 ** (n - 1)
        assert cdf[spc.crossings_limit(n)] >= 0.05 > cdf[spc.crossings_limit(n) - 1]

    @pytest.mark.parametrize("bad", [0, -3, 2.5])
    def test_rejects_impossible_counts(self, bad):
        with pytest.raises(ValueError):
            spc.longest_run_limit(bad)
        with pytest.raises(ValueError):
            spc.crossings_limit(bad)


class TestRunsAnalysis:
    def test_by_hand(self):
        # 5 is on the centre line and dropped: 8 useful points, runs of 4 and 4, one crossing.
        runs = spc.runs_analysis([1, 2, 3, 4, 5, 6, 7, 8, 9], 5)
        assert (runs.n_periods, runs.n_useful, runs.longest_run, runs.crossings) == (9, 8, 4, 1)
        assert (runs.longest_run_limit, runs.crossings_limit) == (6, 1)
        assert not runs.long_run_signal and not runs.crossings_signal

    def test_long_run_signal_and_its_points(self):
        values = [1, 9, 1, 9] + [1] * 9 + [9, 1, 9, 1, 9, 1, 9, 1, 9, 1, 9]
        runs = spc.runs_analysis(values, 5)
        assert runs.n_useful == 24 and runs.longest_run == 9 and runs.long_run_signal
        assert runs.long_runs == (spc.Run(4, 12, 9, "low", tuple(range(4, 13))),)
        assert runs.run_signal_points == tuple(range(4, 13))

    def test_run_of_exactly_the_limit_is_not_a_signal(self):
        values = [1, 9, 1, 9] + [1] * 8 + [9, 1, 9, 1, 9, 1, 9, 1, 9, 1, 9, 1]  # 24 points, longest run 8
        runs = spc.runs_analysis(values, 5)
        assert runs.longest_run == 8 == runs.longest_run_limit and not runs.long_run_signal

    def test_few_crossings_signal(self):
        values = [9] * 6 + [1] * 6 + [9] * 6 + [1] * 6  # 3 crossings < 8, longest 6 <= 8
        runs = spc.runs_analysis(values, 5)
        assert runs.crossings == 3 and runs.crossings_signal and not runs.long_run_signal and runs.signal

    def test_points_on_the_centre_line_and_missing_do_not_break_a_run(self):
        values = [9, 1, 9, 1, 1, 5, 1, np.nan, 1, 1, 1, 1, 1, 9, 1, 9]
        runs = spc.runs_analysis(values, 5)
        assert runs.n_useful == 14 and runs.longest_run == 8 > runs.longest_run_limit  # positions 3, 4, 6, 8..12
        assert runs.long_runs[0].first == 3 and runs.long_runs[0].last == 12
        assert runs.run_signal_points == (3, 4, 6, 8, 9, 10, 11, 12)

    def test_nothing_useful(self):
        runs = spc.runs_analysis([5, 5, np.nan], 5)
        assert runs.n_useful == 0 and runs.longest_run is None and runs.crossings_limit is None
        assert not runs.signal and runs.run_signal_points == ()

    def test_offset_shifts_positions(self):
        runs = spc.runs_analysis([1] * 10 + [9], 5, offset=100)
        assert runs.long_runs[0].first == 100 and runs.long_runs[0].last == 109


class TestRunChart:
    def test_median_centre_and_no_limits(self):
        chart = spc.run_chart([3, 1, 4, 1, 5, 9, 2, 6])
        assert chart.phases[0].centre == 3.5
        assert chart.points["lower"].isna().all() and chart.points["upper"].isna().all()
        assert not chart.points["outside_limits"].any()

    def test_given_centre_is_used(self):
        chart = spc.run_chart([3, 1, 4, 1, 5, 9, 2, 6], centre=10)
        assert chart.phases[0].centre == 10 and chart.phases[0].runs.longest_run == 8

    def test_ratio_with_denominators(self):
        chart = spc.run_chart([1, 2, 3], denominators=[10, 10, 0])
        assert chart.points["value"].tolist()[:2] == [0.1, 0.2] and np.isnan(chart.points["value"].iloc[2])
        assert chart.phases[0].centre == pytest.approx(0.15)

    def test_all_points_on_the_median(self):
        chart = spc.run_chart([7, 7, 7, 7, 7])
        summary = spc.summarise(chart)
        assert chart.phases[0].runs.n_useful == 0 and summary.variation == "common_cause"
        assert summary.sentence.startswith("No variation to assess")

    def test_all_missing(self):
        chart = spc.run_chart([np.nan, np.nan])
        assert math.isnan(chart.phases[0].centre)
        assert spc.summarise(chart).variation == "common_cause"

    def test_negative_values_allowed_in_a_run_chart(self):
        assert spc.run_chart([-1, 2, -3]).phases[0].centre == -1


class TestPChart:
    def test_by_hand(self):
        chart = spc.p_chart([10, 20], [100, 100])
        half = 3 * math.sqrt(0.15 * 0.85 / 100)
        assert chart.phases[0].centre == pytest.approx(0.15, rel=1e-15)
        np.testing.assert_allclose(chart.points["lower"], [0.15 - half] * 2, rtol=1e-14)
        np.testing.assert_allclose(chart.points["upper"], [0.15 + half] * 2, rtol=1e-14)

    def test_centre_is_pooled_not_mean_of_proportions(self):
        chart = spc.p_chart([1, 50], [10, 100])
        assert chart.phases[0].centre == pytest.approx(51 / 110)

    def test_limits_vary_with_denominator_and_are_clipped(self):
        chart = spc.p_chart([1, 10, 30, 2], [5, 100, 400, 10])
        lower, upper = chart.points["lower"].to_numpy(), chart.points["upper"].to_numpy()
        assert lower[0] == 0.0 and lower[2] > lower[1] > 0
        assert upper[0] > upper[1] > upper[2]
        assert spc.p_chart([4, 5], [5, 5]).points["upper"].max() == 1.0

    def test_point_outside_is_flagged(self):
        chart = spc.p_chart([10] * 9 + [40], [100] * 10)
        assert chart.points["above_upper"].tolist() == [False] * 9 + [True]
        assert chart.phases[0].points_outside == 1

    def test_p_bar_zero_and_one(self):
        zero = spc.p_chart([0, 0, 0], [10, 20, 30])
        assert zero.phases[0].centre == 0 and (zero.points[["lower", "upper"]].to_numpy() == 0).all()
        assert not zero.points["outside_limits"].any()
        one = spc.p_chart([10, 20], [10, 20])
        assert (one.points[["lower", "upper"]].to_numpy() == 1).all()

    def test_zero_denominator_is_a_missing_period(self):
        chart = spc.p_chart([5, 0, 7], [50, 0, 70])
        assert chart.phases[0].centre == pytest.approx(12 / 120)
        row = chart.points.iloc[1]
        assert np.isnan(row["value"]) and np.isnan(row["lower"]) and not row["outside_limits"]

    def test_missing_numerator(self):
        chart = spc.p_chart([5, np.nan, 7], [50, 60, 70])
        assert chart.phases[0].centre == pytest.approx(12 / 120)
        assert np.isnan(chart.points["denominator"].iloc[1])

    def test_single_period(self):
        chart = spc.p_chart([3], [30])
        assert chart.phases[0].centre == pytest.approx(0.1) and chart.phases[0].runs.n_useful == 0
        assert spc.summarise(chart, "up", 0.05).assurance == "hit_and_miss"

    @pytest.mark.parametrize(("events", "denominators"), [
        ([5, 11], [10, 10]), ([-1, 2], [10, 10]), ([1, np.inf], [10, 10]), ([1, 2], [10]), ([], [])])
    def test_bad_input_raises(self, events, denominators):
        with pytest.raises(ValueError):
            spc.p_chart(events, denominators)

    def test_needs_denominators(self):
        with pytest.raises(ValueError, match="denominators"):
            spc._chart("p", [1, 2], None, None, None, None, None)


class TestLaney:
    EVENTS = [100, 130, 90, 160, 120, 110]
    DENOMINATORS = [1000, 1100, 950, 1200, 1000, 1050]

    def _by_hand(self, screen):
        x, n = np.array(self.EVENTS, float), np.array(self.DENOMINATORS, float)
        p_bar = x.sum() / n.sum()
        sd = np.sqrt(p_bar * (1 - p_bar) / n)
        mr = np.abs(np.diff((x / n - p_bar) / sd))
        if screen:
            mr = mr[mr < 3.267 * mr.mean()]
        return p_bar, sd, mr.mean() / 1.128

    def test_by_hand_unscreened(self):
        p_bar, sd, sigma_z = self._by_hand(screen=False)
        chart = spc.laney_p_chart(self.EVENTS, self.DENOMINATORS, screen_moving_ranges=False)
        assert chart.phases[0].sigma_z == pytest.approx(sigma_z, rel=1e-14)
        np.testing.assert_allclose(chart.points["upper"], p_bar + 3 * sd * sigma_z, rtol=1e-14)
        np.testing.assert_allclose(chart.points["lower"], p_bar - 3 * sd * sigma_z, rtol=1e-14)

    def test_screening_drops_a_large_moving_range(self):
        events = [100, 101, 99, 100, 102, 98, 100, 101, 99, 100, 180, 100]
        chart_screened = spc.laney_p_chart(events, [1000] * 12)
        chart_raw = spc.laney_p_chart(events, [1000] * 12, screen_moving_ranges=False)
        assert chart_screened.phases[0].sigma_z < chart_raw.phases[0].sigma_z
        assert chart_screened.points["above_upper"].iloc[10]

    def test_wider_than_p_chart_when_overdispersed(self):
        laney = spc.laney_p_chart(self.EVENTS, self.DENOMINATORS)
        p = spc.p_chart(self.EVENTS, self.DENOMINATORS)
        assert laney.phases[0].sigma_z > 1
        assert (laney.points["upper"] > p.points["upper"]).all()

    def test_missing_period_breaks_moving_ranges(self):
        events = [100, 130, np.nan, 160, 120, 110]
        chart = spc.laney_p_chart(events, self.DENOMINATORS, screen_moving_ranges=False)
        x = np.array([100, 130, 160, 120, 110], float)
        n = np.array([1000, 1100, 1200, 1000, 1050], float)
        p_bar = x.sum() / n.sum()
        z = (x / n - p_bar) / np.sqrt(p_bar * (1 - p_bar) / n)
        ranges = [abs(z[1] - z[0]), abs(z[3] - z[2]), abs(z[4] - z[3])]  # no range across the gap
        assert chart.phases[0].sigma_z == pytest.approx(np.mean(ranges) / 1.128, rel=1e-14)

    def test_p_bar_zero_collapses_limits_without_nan(self):
        chart = spc.laney_p_chart([0, 0, 0], [100, 200, 300])
        assert (chart.points[["lower", "upper"]].to_numpy() == 0).all()
        assert math.isnan(chart.phases[0].sigma_z)

    def test_single_period_has_no_sigma_z(self):
        chart = spc.laney_p_chart([10], [100])
        assert math.isnan(chart.phases[0].sigma_z) and chart.points["upper"].isna().all()
        spc.summarise(chart, "up", 0.2)  # no crash

    def test_identical_z_scores_do_not_give_nan(self):
        chart = spc.laney_p_chart([10, 20, 30], [100, 200, 300])
        assert chart.phases[0].sigma_z == 0
        assert (chart.points["upper"] == chart.points["centre"]).all()


class TestUChart:
    def test_by_hand(self):
        chart = spc.u_chart([4, 10, 1], [200.0, 400.0, 100.0])
        u = 15 / 700
        np.testing.assert_allclose(chart.points["upper"], u + 3 * np.sqrt(u / np.array([200, 400, 100])),
                                   rtol=1e-14)
        assert chart.points["lower"].iloc[2] == 0.0  # u − 3·sqrt(u/100) < 0 is clipped
        assert chart.points["lower"].iloc[1] == pytest.approx(max(0, u - 3 * math.sqrt(u / 400)))

    def test_fractional_person_time_and_zero_exposure(self):
        chart = spc.u_chart([2, 0, 3], [10.5, 0.0, 20.25])
        assert chart.phases[0].centre == pytest.approx(5 / 30.75)
        assert np.isnan(chart.points["upper"].iloc[1])


class TestBaselineAndPhases:
    def test_freeze_uses_first_periods_only(self):
        chart = spc.p_chart([10, 12, 11, 30, 35], [100] * 5, freeze=3)
        assert chart.phases[0].centre == pytest.approx(33 / 300)
        assert chart.points["baseline"].tolist() == [True, True, True, False, False]
        assert chart.points["above_upper"].tolist() == [False, False, False, True, True]
        assert chart.phases[0].baseline_periods == 3

    def test_freeze_limits_do_not_move_with_later_data(self):
        a = spc.u_chart([3, 4, 5, 6, 7], [100] * 5, freeze=2)
        b = spc.u_chart([3, 4, 50, 60, 70], [100] * 5, freeze=2)
        assert a.phases[0].centre == b.phases[0].centre == pytest.approx(7 / 200)

    def test_runs_after_freeze_use_the_frozen_centre(self):
        chart = spc.run_chart([5, 6, 5, 6] + [1] * 10, freeze=4)
        assert chart.phases[0].centre == 5.5 and chart.phases[0].runs.long_run_signal

    def test_two_phases_each_their_own_centre(self):
        chart = spc.p_chart([10, 12, 30, 32], [100] * 4, phases=[2])
        assert [p.centre for p in chart.phases] == pytest.approx([0.11, 0.31])
        assert chart.points["phase"].tolist() == [1, 1, 2, 2]
        assert (chart.phases[1].first, chart.phases[1].last) == (2, 3)

    def test_runs_are_per_phase(self):
        values = [1] * 8 + [9] * 8
        single = spc.run_chart(values, centre=5)
        split = spc.run_chart(values, phases=[8])
        assert single.phases[0].runs.longest_run == 8
        assert all(p.runs.n_useful == 0 for p in split.phases)  # each phase is all on its median

    def test_summary_describes_the_latest_phase(self):
        chart = spc.p_chart([10] * 9 + [60] + [30] * 6, [100] * 16, phases=[10])
        assert chart.phases[0].points_outside == 1
        assert spc.summarise(chart).variation == "common_cause"
        assert spc.summarise(chart, phase=1).variation == "special_cause_neutral"

    @pytest.mark.parametrize(("freeze", "phases"), [(0, None), (6, None), (2.5, None), (None, [0]), (None, [5]),
                                                     (2, [3])])
    def test_bad_baselines_raise(self, freeze, phases):
        with pytest.raises(ValueError):
            spc.p_chart([1, 2, 3, 4, 5], [10] * 5, freeze=freeze, phases=phases)

    def test_periods_must_match(self):
        with pytest.raises(ValueError, match="periods"):
            spc.p_chart([1, 2], [10, 10], periods=["a"])


class TestSummary:
    YEARS = list(range(2001, 2025))
    # 9 below the median from 2016 to 2024 is impossible without too few crossings (see the reference data), so
    # the long run sits in the middle here: 9 below from 2009 to 2017, 8 crossings.
    VALUES = [52, 46, 55, 53, 41, 57, 54, 56, 44, 42, 45, 41, 43, 40, 44, 42, 39, 55, 51, 53, 45, 58, 52, 54]

    def test_long_run_below_is_improvement_when_down_is_better(self):
        summary = spc.summarise(spc.run_chart(self.VALUES, periods=self.YEARS), improvement="down")
        assert summary.variation == "special_cause_improvement"
        assert summary.sentence == ("Special-cause variation: 9 periods in a row below the centre line from 2009 to "
                                    "2017; direction: improvement.")

    def test_same_run_is_concern_when_up_is_better_and_neutral_without_direction(self):
        chart = spc.run_chart(self.VALUES, periods=self.YEARS)
        assert spc.summarise(chart, improvement="up").variation == "special_cause_concern"
        neutral = spc.summarise(chart)
        assert neutral.variation == "special_cause_neutral" and "lower (no improvement direction set)" in \
            neutral.sentence

    def test_crossings_signal_has_no_direction(self):
        chart = spc.run_chart([9] * 6 + [1] * 6 + [9] * 6 + [1] * 6)
        summary = spc.summarise(chart, improvement="up")
        assert summary.variation == "special_cause_neutral"
        assert "only 3 crossings" in summary.sentence and "at least 8 expected" in summary.sentence

    def test_latest_sided_signal_sets_the_direction(self):
        events = [10, 60] + [10] * 13 + [0]
        chart = spc.p_chart(events, [100] * 16)
        summary = spc.summarise(chart, improvement="up")
        assert [s.side for s in summary.signals if s.kind == "outside_limits"] == ["high", "low"]
        assert summary.variation == "special_cause_concern"  # the last signal (period 16) is low

    def test_outside_points_listed(self):
        chart = spc.p_chart([10] * 9 + [40], [100] * 10, periods=[f"2024-{m:02d}" for m in range(1, 11)])
        summary = spc.summarise(chart, improvement="down")
        assert summary.variation == "special_cause_concern"
        assert "1 period above the upper control limit (2024-10)" in summary.sentence

    def test_common_cause_sentence(self):
        chart = spc.p_chart([10, 12, 9, 11, 10, 13, 8, 11], [100] * 8)
        summary = spc.summarise(chart, improvement="up")
        assert summary.variation == "common_cause" and summary.signals == ()
        assert summary.sentence.startswith("Common-cause variation: no run, crossing or control-limit signal")

    @pytest.mark.parametrize(("improvement", "target", "expected"), [
        ("up", 0.05, "consistently_passing"), ("down", 0.05, "consistently_failing"),
        ("up", 0.5, "consistently_failing"), ("down", 0.5, "consistently_passing"),
        ("up", 0.2, "hit_and_miss"), (None, 0.2, None), ("up", None, None)])
    def test_assurance(self, improvement, target, expected):
        chart = spc.p_chart([200, 210, 190, 205], [1000] * 4)  # limits about 0.16 to 0.24
        summary = spc.summarise(chart, improvement=improvement, target=target)
        assert summary.assurance == expected
        if expected == "consistently_passing":
            assert "Assurance: consistently passing the target" in summary.sentence

    def test_no_assurance_on_a_run_chart(self):
        assert spc.summarise(spc.run_chart([1, 2, 3]), "up", 0).assurance is None

    def test_bad_arguments(self):
        chart = spc.run_chart([1, 2, 3])
        with pytest.raises(ValueError):
            spc.summarise(chart, improvement="higher")
        with pytest.raises(ValueError):
            spc.summarise(chart, target=float("nan"))
        with pytest.raises(ValueError):
            spc.summarise(chart, phase=2)

    def test_chart_and_summary_are_frozen(self):
        chart = spc.run_chart([1, 2, 3])
        with pytest.raises(AttributeError):
            chart.kind = "p"
        with pytest.raises(AttributeError):
            spc.summarise(chart).variation = "x"


class TestNeverCrashes:
    """Random aggregates, including zeros, missing periods and p̄ at the boundaries: results, never exceptions."""

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 60), st.booleans()), min_size=1, max_size=40),
           st.sampled_from(["p", "laney_p", "u"]), st.integers(0, 3))
    def test_charts(self, rows, kind, freeze):
        events = [np.nan if missing else min(x, n) for x, n, missing in rows]
        denominators = [n for _, n, _ in rows]
        make = {"p": spc.p_chart, "laney_p": spc.laney_p_chart, "u": spc.u_chart}[kind]
        chart = make(events, denominators, freeze=freeze if 1 <= freeze <= len(rows) else None)
        points = chart.points
        have = points["lower"].notna()
        assert (points.loc[have, "lower"] <= points.loc[have, "upper"]).all()
        if kind != "u":
            limits = points[["lower", "upper"]].to_numpy()
            assert ((limits[~np.isnan(limits)] >= 0) & (limits[~np.isnan(limits)] <= 1)).all()
        summary = spc.summarise(chart, improvement="up", target=0.3)
        assert summary.sentence

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.one_of(st.integers(-3, 3), st.just(np.nan)), min_size=1, max_size=60))
    def test_runs_analysis_counts(self, values):
        runs = spc.runs_analysis(values, 0)
        signs = [np.sign(v) for v in values if not np.isnan(v) and v != 0]
        assert runs.n_useful == len(signs)
        if signs:
            assert runs.crossings == sum(a != b for a, b in zip(signs, signs[1:]))
            assert 1 <= runs.longest_run <= runs.n_useful
            assert all(values[i] != 0 for i in runs.run_signal_points)
