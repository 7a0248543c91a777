"""Odds ratios from 2×2 tables: Woolf, exact conditional, Mantel–Haenszel with Breslow–Day.

Cells follow the epidemiological layout: a = exposed cases, b = exposed non-cases, c = unexposed cases,
d = unexposed non-cases. Zero cells are handled here, explicitly, and reported by the caller — statsmodels'
``Table2x2`` would silently add 0.5 (``shift_zeros=True`` by default), so it is not used for estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio
from statsmodels.stats.contingency_tables import StratifiedTable

HALDANE = 0.5


@dataclass(frozen=True)
class TwoByTwo:
    a: int
    b: int
    c: int
    d: int

    @property
    def cells(self) -> tuple[int, int, int, int]:
        return self.a, self.b, self.c, self.d

    @property
    def n(self) -> int:
        return self.a + self.b + self.c + self.d

    @property
    def has_zero(self) -> bool:
        return min(self.cells) == 0

    @property
    def informative(self) -> bool:
        """Both exposure groups and both outcomes present (otherwise the stratum carries no information on the OR)."""
        return min(self.a + self.b, self.c + self.d, self.a + self.c, self.b + self.d) > 0

    def array(self) -> np.ndarray:
        return np.array([[self.a, self.b], [self.c, self.d]], dtype=float)


@dataclass(frozen=True)
class OddsRatio:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    zero_corrected: bool = False


def woolf(table: TwoByTwo, alpha: float = 0.05, correct_zeros: bool = True) -> OddsRatio:
    """Crude OR with Woolf's (logit) CI and Wald p; with a zero cell, 0.5 is added to every cell (Haldane–Anscombe).

    With ``correct_zeros=False`` a table with a zero cell gives no estimate.
    """
    if not table.informative:
        return OddsRatio(None, None, None, None)
    corrected = table.has_zero
    if corrected and not correct_zeros:
        return OddsRatio(None, None, None, None)
    cells = np.array(table.cells, dtype=float) + (HALDANE if corrected else 0.0)
    log_or = np.log(cells[0]) + np.log(cells[3]) - np.log(cells[1]) - np.log(cells[2])
    se = np.sqrt(np.sum(1 / cells))
    z = stats.norm.ppf(1 - alpha / 2)
    p = 2 * stats.norm.sf(abs(log_or / se))
    return OddsRatio(float(np.exp(log_or)), float(np.exp(log_or - z * se)), float(np.exp(log_or + z * se)),
                     float(p), corrected)


def exact(table: TwoByTwo, alpha: float = 0.05) -> OddsRatio:
    """Conditional maximum-likelihood OR with its exact CI and Fisher's exact two-sided p (as R's ``fisher.test``)."""
    if not table.informative:
        return OddsRatio(None, None, None, None)
    counts = np.array([[table.a, table.b], [table.c, table.d]], dtype=np.int64)
    result = scipy_odds_ratio(counts, kind="conditional")
    ci = result.confidence_interval(confidence_level=1 - alpha)
    p = stats.fisher_exact(counts, alternative="two-sided").pvalue
    return OddsRatio(_finite(result.statistic), _finite(ci.low), _finite(ci.high), float(p))


def _finite(value: float) -> float | None:
    """Exact bounds can be 0 or infinite (a zero cell); JSON carries those as null."""
    value = float(value)
    return value if np.isfinite(value) else None


@dataclass(frozen=True)
class MantelHaenszel:
    odds_ratio: OddsRatio
    breslow_day: float | None
    breslow_day_df: int
    breslow_day_p: float | None
    strata_used: int


def mantel_haenszel(tables: list[TwoByTwo], alpha: float = 0.05) -> MantelHaenszel:
    """Mantel–Haenszel OR with the Robins–Breslow–Greenland CI, the CMH test p (no continuity correction) and the
    Breslow–Day test of homogeneity with Tarone's correction. Uninformative strata are left out (they add nothing to
    the MH sums and would break Breslow–Day); zero cells are used as they are (no 0.5 shift)."""
    used = [t for t in tables if t.informative]
    if not used:
        return MantelHaenszel(OddsRatio(None, None, None, None), None, 0, None, 0)
    strat = StratifiedTable(np.dstack([t.array() for t in used]), shift_zeros=False)
    pooled = float(strat.oddsratio_pooled)
    if not np.isfinite(pooled) or pooled <= 0:
        return MantelHaenszel(OddsRatio(_finite(pooled), None, None, None), None, 0, None, len(used))
    low, high = strat.oddsratio_pooled_confint(alpha=alpha)
    p = float(stats.chi2.sf(strat.test_null_odds(correction=False).statistic, 1))
    bd_stat = bd_p = None
    df = len(used) - 1
    if df > 0:
        bd_stat = float(strat.test_equal_odds(adjust=True).statistic)
        bd_p = float(stats.chi2.sf(bd_stat, df))  # statsmodels' 1 - cdf loses digits for small p
    return MantelHaenszel(OddsRatio(pooled, float(low), float(high), p), bd_stat, df, bd_p, len(used))
