"""Confidence intervals for a proportion (Wilson score) and a Poisson rate (exact, Garwood), from counts.

Both functions broadcast over numpy arrays (one interval per element) and return ``(low, high)``: arrays of the
broadcast shape, or plain floats when every input is a scalar. Inputs are validated; undefined intervals (n == 0,
person-time == 0) are NaN, never an exception, so a table with an empty stratum still renders.

Reference implementations (pinned in tests/reference/test_rates_vs_r.py):

- ``wilson_ci``       = R ``prop.test(x, n, correct = FALSE)$conf.int`` (Wilson 1927 score interval, no continuity
  correction); ``statsmodels.stats.proportion.proportion_confint(method="wilson")`` does the arithmetic.
- ``poisson_rate_ci`` = R ``poisson.test(x, T)$conf.int`` (Garwood 1936 exact interval from gamma quantiles:
  lower = Gamma⁻¹(α/2; x) / T, 0 when x = 0; upper = Gamma⁻¹(1 − α/2; x + 1) / T; equivalently χ²/2 quantiles
  with 2x and 2x + 2 degrees of freedom).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincinv
from statsmodels.stats.proportion import proportion_confint

__all__ = ["wilson_ci", "poisson_rate_ci"]


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1 (got {alpha}).")
    return alpha


def _as_float(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers.")
    if np.any(array < 0):
        raise ValueError(f"{name} must not be negative.")
    return array


def _out(low: np.ndarray, high: np.ndarray, scalar: bool):
    if scalar:
        return float(low), float(high)
    return low, high


def with_proportion(frame, alpha: float = 0.05, names: tuple[str, str, str] = ("prevalence", "ci_low", "ci_high")):
    """``frame`` (with whole-number ``events`` and ``n`` columns) plus ``non_events``, the proportion
    ``events / n`` (NaN where n is 0) and its Wilson score CI, under ``names``."""
    out = frame.assign(non_events=frame["n"] - frame["events"])
    proportion, low, high = names
    out[proportion] = np.where(out["n"] > 0, out["events"] / out["n"].clip(lower=1), np.nan)
    out[low], out[high] = wilson_ci(out["events"].to_numpy(), out["n"].to_numpy(), alpha)
    return out


def wilson_ci(events, n, alpha: float = 0.05):
    """Wilson score interval for ``events / n``; NaN where ``n == 0``.

    Equal to R ``prop.test(events, n, correct = FALSE)$conf.int`` (conf.level = 1 − alpha), including its
    conventions at the boundaries: low is exactly 0 when events == 0 and high exactly 1 when events == n.
    ``events`` must be whole numbers with 0 <= events <= n.
    """
    alpha = _check_alpha(alpha)
    scalar = np.ndim(events) == 0 and np.ndim(n) == 0
    x = _as_float("events", events)
    m = _as_float("n", n)
    x, m = np.broadcast_arrays(x, m)
    if np.any(x > m):
        raise ValueError("events must not exceed n.")
    if np.any(x != np.round(x)) or np.any(m != np.round(m)):
        raise ValueError("events and n must be whole numbers.")
    empty = m == 0
    safe_n = np.where(empty, 1.0, m)
    low, high = proportion_confint(x, safe_n, alpha=alpha, method="wilson")
    low = np.where(x == 0, 0.0, np.asarray(low, dtype=float))
    high = np.where(x == m, 1.0, np.asarray(high, dtype=float))
    low = np.where(empty, np.nan, low)
    high = np.where(empty, np.nan, high)
    return _out(low, high, scalar)


def poisson_rate_ci(events, person_time, alpha: float = 0.05):
    """Exact (Garwood) interval for the rate ``events / person_time``; NaN where ``person_time == 0``.

    Equal to R ``poisson.test(events, person_time)$conf.int`` (conf.level = 1 − alpha): the lower limit is 0 when
    events == 0. ``events`` must be whole numbers (as R requires); the rate is per unit of ``person_time``.
    """
    alpha = _check_alpha(alpha)
    scalar = np.ndim(events) == 0 and np.ndim(person_time) == 0
    x = _as_float("events", events)
    t = _as_float("person_time", person_time)
    x, t = np.broadcast_arrays(x, t)
    if np.any(np.abs(x - np.round(x)) > 1e-7):
        raise ValueError("events must be whole numbers (an exact Poisson interval needs counts).")
    x = np.round(x)
    empty = t == 0
    safe_t = np.where(empty, 1.0, t)
    with np.errstate(invalid="ignore"):
        low = np.where(x == 0, 0.0, gammaincinv(np.where(x == 0, 1.0, x), alpha / 2)) / safe_t
    high = gammaincinv(x + 1.0, 1.0 - alpha / 2) / safe_t
    low = np.where(empty, np.nan, low)
    high = np.where(empty, np.nan, high)
    return _out(low, high, scalar)
