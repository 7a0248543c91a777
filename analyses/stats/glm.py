"""Logistic regression on counts per covariate pattern, natural cubic splines with knots from person-level quantiles.

A binomial GLM fitted to a long table — one row with y = 1 weighted by the pattern's events, one with y = 0
weighted by its non-events — with ``freq_weights`` reproduces the row-level fit exactly: coefficients, standard
errors, log-likelihood, deviance and residual degrees of freedom (``var_weights`` would get the last two wrong).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

SEPARATION_PROBABILITY = 1e-8


def weighted_quantiles(values: np.ndarray, counts: np.ndarray, probs) -> np.ndarray:
    """Quantiles of the people behind a value-count table: R's default (type 7) on the expanded values."""
    order = np.argsort(values, kind="stable")
    values = np.asarray(values, dtype=float)[order]
    cum = np.cumsum(np.asarray(counts, dtype=np.int64)[order])
    total = int(cum[-1]) if len(cum) else 0
    if total <= 0:  # nobody (e.g. every count released as 0): no quantile
        return np.full(np.shape(probs), np.nan)
    h = (total - 1) * np.asarray(probs, dtype=float)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, total - 1)
    value_at = lambda k: values[np.searchsorted(cum, k, side="right")]  # noqa: E731 - k-th person (0-based)
    return value_at(lo) + (h - lo) * (value_at(hi) - value_at(lo))


@dataclass(frozen=True)
class NaturalSpline:
    """A natural cubic spline term: interior knots and boundary knots, as R's ``ns(x, knots=, Boundary.knots=)``."""

    knots: tuple[float, ...]
    boundary: tuple[float, float]

    @classmethod
    def from_counts(cls, values, counts, df: int = 4, merge_ties: bool = False) -> "NaturalSpline":
        """Knots at quantiles of the people (not of distinct values), as ``ns(x, df=df)`` would place them.

        ``merge_ties``: where many people share a value (a biomarker with a mass at zero, a node count) quantile knots
        coincide with each other or with a boundary; they are merged, so the spline has fewer df but is defined."""
        probs = np.arange(1, df) / df
        knots = weighted_quantiles(values, counts, probs)
        values = np.asarray(values, dtype=float)
        if np.isnan(knots).any():  # nobody to place knots at: an undefined spline (``defined`` is False)
            return cls(tuple(float(k) for k in knots), (np.nan, np.nan))
        lo, hi = float(values.min()), float(values.max())
        if merge_ties:
            knots = [k for k in np.unique(knots) if lo < k < hi]
        return cls(tuple(float(k) for k in knots), (lo, hi))

    @property
    def df(self) -> int:
        return len(self.knots) + 1

    @property
    def defined(self) -> bool:
        """False when a knot sits on the upper boundary (a quarter or more of the people share the highest value,
        e.g. the top-coded age 90): the truncated-power basis would divide by zero."""
        return self.boundary[0] < self.boundary[1] and (not self.knots or max(self.knots) < self.boundary[1])

    def basis(self, x) -> np.ndarray:
        """Truncated-power basis of the natural cubic splines (Hastie, Tibshirani & Friedman, eq. 5.4–5.5).

        It spans the same functions as R's ``ns()`` with the same knots (no intercept column), so fitted values,
        likelihoods and the coefficients of other terms equal R's; the spline's own coefficients differ by a
        change of basis. ``x`` is rescaled to the boundary range first for numerical conditioning.
        """
        lo, hi = self.boundary
        scale = (hi - lo) or 1.0
        z = (np.asarray(x, dtype=float) - lo) / scale
        all_knots = np.array([0.0, *((np.array(self.knots) - lo) / scale), 1.0])
        last = all_knots[-1]

        def d(k: float) -> np.ndarray:
            return (np.clip(z - k, 0, None) ** 3 - np.clip(z - last, 0, None) ** 3) / (last - k)

        columns = [z] + [d(k) - d(all_knots[-2]) for k in all_knots[:-2]]
        return np.column_stack(columns)

    def describe(self, column: str, digits: int = 4) -> str:
        knots = ", ".join(f"{k:.{digits}g}" for k in self.knots)
        lo, hi = self.boundary
        return f"ns({column}, knots = c({knots}), Boundary.knots = c({lo:.{digits}g}, {hi:.{digits}g}))"


@dataclass(frozen=True)
class LogisticFit:
    """A fitted grouped logistic regression (coefficients on the log-odds scale)."""

    params: pd.Series
    cov: pd.DataFrame
    loglik: float
    deviance: float
    df_resid: float
    nobs: int
    converged: bool
    separation: bool

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index)

    def odds_ratio(self, term: str, alpha: float = 0.05) -> tuple[float, float, float, float]:
        """(OR, Wald low, Wald high, Wald p) for one coefficient."""
        beta, se = float(self.params[term]), float(self.bse[term])
        z = stats.norm.ppf(1 - alpha / 2)
        p = float(2 * stats.norm.sf(abs(beta / se))) if se > 0 else float("nan")
        return float(np.exp(beta)), float(np.exp(beta - z * se)), float(np.exp(beta + z * se)), p

    def linear_predictor(self, design: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
        """Fitted log-odds with Wald standard errors and CI for new design rows (columns as in the fit)."""
        X = design[self.params.index].to_numpy(dtype=float)
        eta = X @ self.params.to_numpy()
        se = np.sqrt(np.einsum("ij,jk,ik->i", X, self.cov.to_numpy(), X))
        z = stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame({"eta": eta, "se": se, "low": eta - z * se, "high": eta + z * se}, index=design.index)


def long_table(design: pd.DataFrame, events, n) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(X, y, weights): one y = 1 row per pattern weighted by events, one y = 0 row by non-events; zero weights
    dropped."""
    events = np.asarray(events, dtype=float)
    non_events = np.asarray(n, dtype=float) - events
    X = pd.concat([design, design], ignore_index=True)
    y = np.concatenate([np.ones(len(design)), np.zeros(len(design))])
    w = np.concatenate([events, non_events])
    keep = w > 0
    return X[keep].reset_index(drop=True), y[keep], w[keep]


def fit_logistic(design: pd.DataFrame, events, n) -> LogisticFit:
    """Binomial GLM (logit link) on counts per covariate pattern; ``design`` must include the intercept column."""
    X, y, w = long_table(design, events, n)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # converged when the deviance changes by at most 1e-12 plus 1e-14 of itself: the deviance of the long table
        # is -2 log-likelihood, some 10^4 with 10^4 participants, and its rounding noise alone can exceed an absolute
        # 1e-12, so such a fit was reported as not converged (1e-15 of it keeps standard errors exact to ~1e-9)
        result = sm.GLM(y, X, family=sm.families.Binomial(), freq_weights=w).fit(
            method="IRLS", maxiter=100, tol=1e-12, rtol=1e-15)
    flagged = any(issubclass(c.category, (PerfectSeparationWarning, ConvergenceWarning)) for c in caught)
    fitted = np.asarray(result.fittedvalues)
    extreme = bool(np.any((fitted < SEPARATION_PROBABILITY) | (fitted > 1 - SEPARATION_PROBABILITY)))
    converged = bool(result.converged) and not any(issubclass(c.category, ConvergenceWarning) for c in caught)
    return LogisticFit(
        params=pd.Series(result.params, index=X.columns),
        cov=pd.DataFrame(result.cov_params(), index=X.columns, columns=X.columns),
        loglik=float(result.llf), deviance=float(result.deviance), df_resid=float(result.df_resid),
        nobs=int(round(w.sum())), converged=converged, separation=flagged or extreme,
    )


def likelihood_ratio(full: LogisticFit, reduced: LogisticFit) -> tuple[float, int, float]:
    """(statistic, df, p) of the likelihood-ratio test of the terms in ``full`` that ``reduced`` lacks."""
    statistic = max(2 * (full.loglik - reduced.loglik), 0.0)
    df = len(full.params) - len(reduced.params)
    return statistic, df, float(stats.chi2.sf(statistic, df))
