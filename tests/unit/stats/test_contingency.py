"""2×2 odds ratios: exact OR equals scipy's conditional OR; Woolf's zero handling; Mantel–Haenszel strata."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio
from statsmodels.stats.contingency_tables import StratifiedTable

from analyses.stats import contingency
from analyses.stats.contingency import TwoByTwo

TABLES = [(2661, 23374, 1335, 22630), (3, 10, 0, 7), (0, 5, 4, 9), (1, 100, 2, 50), (12, 5, 7, 30), (40, 60, 25, 75)]


@pytest.mark.parametrize("cells", TABLES)
def test_exact_or_and_ci_equal_scipy_conditional_odds_ratio(cells):
    ours = contingency.exact(TwoByTwo(*cells))
    theirs = scipy_odds_ratio(np.array(cells).reshape(2, 2), kind="conditional")
    ci = theirs.confidence_interval(0.95)
    for mine, ref in ((ours.estimate, theirs.statistic), (ours.ci_low, ci.low), (ours.ci_high, ci.high)):
        if np.isfinite(ref):
            assert mine == pytest.approx(ref, rel=1e-8, abs=1e-12)
        else:
            assert mine is None  # infinite bounds travel as null


def test_woolf_adds_half_to_every_cell_only_when_a_cell_is_zero():
    plain = contingency.woolf(TwoByTwo(10, 20, 5, 40))
    assert plain.estimate == pytest.approx(10 * 40 / (20 * 5)) and not plain.zero_corrected
    zero = contingency.woolf(TwoByTwo(3, 10, 0, 7))
    assert zero.zero_corrected and zero.estimate == pytest.approx(3.5 * 7.5 / (10.5 * 0.5))
    assert contingency.woolf(TwoByTwo(3, 10, 0, 7), correct_zeros=False).estimate is None


def test_uninformative_table_gives_no_estimates():
    table = TwoByTwo(0, 0, 5, 7)  # no exposed participants
    assert not table.informative
    assert contingency.woolf(table).estimate is None and contingency.exact(table).estimate is None


def test_mantel_haenszel_leaves_out_uninformative_strata_and_matches_statsmodels():
    strata = [TwoByTwo(10, 20, 5, 40), TwoByTwo(8, 12, 6, 30), TwoByTwo(0, 0, 4, 9)]
    mh = contingency.mantel_haenszel(strata)
    reference = StratifiedTable([t.array() for t in strata[:2]])
    assert mh.strata_used == 2 and mh.breslow_day_df == 1
    assert mh.odds_ratio.estimate == pytest.approx(reference.oddsratio_pooled, rel=1e-12)
    assert mh.breslow_day == pytest.approx(reference.test_equal_odds(adjust=True).statistic, rel=1e-12)


def test_mantel_haenszel_without_informative_strata_has_no_estimate():
    mh = contingency.mantel_haenszel([TwoByTwo(0, 0, 4, 9)])
    assert mh.odds_ratio.estimate is None and mh.breslow_day is None


@pytest.mark.parametrize("cells", [(400_000, 4_600_000, 210_000, 4_790_000), (2661, 23374, 1335, 22630),
                                   (90_000, 10, 85_000, 40)])
def test_exact_or_on_a_window_equals_the_whole_support(cells):
    """Large tables are solved on a window around the observed cell (10M participants: 0.56 s -> a few ms); the
    estimate and both limits equal those over the whole support."""
    def limits(dist):
        return dist.mle(), dist.lower(0.025), dist.upper(0.025)

    windowed = contingency._ConditionalDistribution(TwoByTwo(*cells))
    whole = contingency._ConditionalDistribution(TwoByTwo(*cells))
    whole._use(whole.lo, whole.hi)
    assert len(windowed.support) <= len(whole.support)
    assert limits(windowed) == pytest.approx(limits(whole), rel=1e-12)
