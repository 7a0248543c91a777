"""Funnel plots for comparing units (sites, clinics, regions): proportions against their denominators, and
indirectly standardised ratios (observed/expected), with 95% and 99.8% control limits and over-dispersion.

Pure functions over one row per unit (numerator, denominator); no figure is drawn here. Sources:

- Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med 2005;24:1185–1202.
  **Exact binomial limits** (``exact_binomial_limit``): for the p-quantile, r_p is the smallest r with
  P(X ≤ r) ≥ p, X ~ Binomial(n, θ₀) (R ``qbinom``); interpolating between the discrete steps,
  α = (P(X ≤ r_p) − p) / (P(X ≤ r_p) − P(X ≤ r_p − 1)) and the limit is (r_p − α)/n, clipped to [0, 1].
  The 95% limits use p = 0.025 and 0.975, the 99.8% limits p = 0.001 and 0.999. At θ₀ = 0 or 1 the limits are
  θ₀ (the interpolation is undefined there).
  **Normal limits**: g⁻¹(g(θ₀) ± z·sᵢ) on the chosen scale g (identity: θ₀ ± z·sqrt(θ₀(1 − θ₀)/nᵢ)), with
  z = 1.959964 (95%) and 3.090232 (99.8%), clipped to the range of the measure.
- Spiegelhalter DJ. Handling over-dispersion of performance indicators. Qual Saf Health Care 2005;14:347–351.
  z-scores zᵢ = (g(yᵢ) − g(θ₀))/sᵢ are winsorised at their 10th and 90th percentiles (R ``quantile`` type 7; as
  FunnelPlotR's ``winsorisation``), then φ = Σ zᵢ²/k over the k units with a finite z-score.
  **Multiplicative** adjustment: limits g⁻¹(g(θ₀) ± z·sqrt(φ)·sᵢ). **Additive** (random effects,
  DerSimonian–Laird): τ² = (kφ − (k − 1)) / (Σwᵢ − Σwᵢ²/Σwᵢ) with wᵢ = 1/sᵢ², 0 when kφ < k − 1; limits
  g⁻¹(g(θ₀) ± z·sqrt(sᵢ² + τ²)). Either is applied only when φ > 1 (as FunnelPlotR, which then draws
  unadjusted limits); the adjusted limits are normal limits on the chosen scale whatever ``method`` says.
- R FunnelPlotR (Wood C, NHS-R community; ``R/calculate_limits.R``, ``R/od_adjustment.R``). **Ratios** O/E
  (indirect standardisation): exact Poisson limits θ₀·qchisq(p, 2θ₀E)/(2θ₀E) below and
  θ₀·qchisq(1 − p, 2(θ₀E + 1))/(2θ₀E) above, i.e. Gamma⁻¹(p; θ₀E)/E and Gamma⁻¹(1 − p; θ₀E + 1)/E (FunnelPlotR's
  SR limits when θ₀ = 1). Scales for ratios: "sqrt" (sᵢ = 1/(2·sqrt(Eᵢ)), Spiegelhalter's and FunnelPlotR's
  "CQC" transform, back-transformed here by squaring, where FunnelPlotR's CQC limits are left on the square-root
  scale), "log" (sᵢ = 1/sqrt(θ₀Eᵢ), FunnelPlotR's "SHMI" at θ₀ = 1) and "identity" (sᵢ = sqrt(θ₀/Eᵢ)).
  Scales for proportions: "identity" (sᵢ = sqrt(θ₀(1 − θ₀)/nᵢ)) and "arcsine" (g = asin(sqrt(·)),
  sᵢ = 1/(2·sqrt(nᵢ)), FunnelPlotR's "PR").

Flags compare the unit's value with the limits in effect, strictly: beyond a 99.8% limit is an "alarm", beyond a
95% limit only an "alert", otherwise "within"; ``side`` says "high" or "low". A unit with a zero or missing
denominator (or missing numerator) is "no_data" and takes no part in the target or the over-dispersion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from analyses.stats.spc import binomial_quantile

__all__ = [
    "Overdispersion",
    "Funnel",
    "exact_binomial_limit",
    "exact_poisson_ratio_limit",
    "estimate_overdispersion",
    "proportion_funnel",
    "ratio_funnel",
    "funnel_limits",
]

# (column suffix, lower tail probability, upper tail probability)
LEVELS = (("95", 0.025, 0.975), ("998", 0.001, 0.999))
SCALES = {"proportion": ("identity", "arcsine"), "ratio": ("sqrt", "log", "identity")}
ADJUSTMENTS = (None, "multiplicative", "additive")
METHODS = ("exact", "normal")
UNIT_COLUMNS = ["unit", "numerator", "denominator", "value", "z", "lower_95", "upper_95", "lower_998", "upper_998",
                "flag", "side"]


@dataclass(frozen=True)
class Overdispersion:
    """Over-dispersion of the z-scores on ``scale``: ``units`` with a finite z-score (k), how many of them were
    ``winsorised`` (pulled in to the ``trim``/1 − ``trim`` quantile), the dispersion ratio ``phi`` and the
    between-unit variance ``tau2`` (on the scale's units). NaN when fewer than two units have a z-score."""

    scale: str
    trim: float
    units: int
    winsorised: int
    phi: float
    tau2: float

    @property
    def overdispersed(self) -> bool:
        return bool(self.phi > 1)


@dataclass(frozen=True)
class Funnel:
    """A computed funnel. ``units`` has one row per unit, with columns:

    - ``unit``: the label given (default 1, 2, …); ``numerator``, ``denominator``: events and denominators
      (observed and expected counts for a ratio funnel); ``value``: their ratio (NaN when there is no data);
    - ``z``: unadjusted z-score on ``scale``, (g(value) − g(target))/sᵢ;
    - ``lower_95``, ``upper_95``, ``lower_998``, ``upper_998``: the limits in effect at the unit's denominator
      (adjusted for over-dispersion when ``adjusted``);
    - ``flag``: "within", "alert" (beyond 95%, within 99.8%), "alarm" (beyond 99.8%) or "no_data";
      ``side``: "high", "low" or None.
    """

    kind: str  # "proportion" or "ratio"
    target: float
    method: str
    scale: str
    adjustment: str | None  # as asked for
    adjusted: bool  # the adjustment was applied (φ > 1)
    overdispersion: Overdispersion
    units: pd.DataFrame


# --- limits ---------------------------------------------------------------------------------------------------

def exact_binomial_limit(p, n, theta) -> np.ndarray:
    """Spiegelhalter's (2005) interpolated exact binomial p-quantile of a proportion: (r_p − α)/n, clipped to
    [0, 1]; θ₀ itself when θ₀ is 0 or 1. ``n`` must be whole numbers ≥ 1."""
    p, n, theta = np.broadcast_arrays(np.asarray(p, float), np.asarray(n, float), np.asarray(theta, float))
    r = binomial_quantile(p, n, theta)
    at_r = stats.binom.cdf(r, n, theta)
    below_r = stats.binom.cdf(r - 1, n, theta)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = (at_r - p) / (at_r - below_r)
        limit = np.clip((r - alpha) / n, 0.0, 1.0)
    return np.where((theta == 0) | (theta == 1), theta, limit)


def exact_poisson_ratio_limit(p, expected, target=1.0) -> np.ndarray:
    """Exact Poisson p-quantile of O/E when O ~ Poisson(θ₀E), as FunnelPlotR: Gamma⁻¹(p; θ₀E)/E for a lower tail
    probability p < ½, Gamma⁻¹(p; θ₀E + 1)/E for p > ½ (= θ₀·qchisq(p, 2θ₀E [+2])/(2θ₀E))."""
    p, e, theta = np.broadcast_arrays(np.asarray(p, float), np.asarray(expected, float), np.asarray(target, float))
    shape = np.where(p < 0.5, theta * e, theta * e + 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return special.gammaincinv(shape, p) / e


def _transform(kind, scale):
    """(g, g⁻¹ clipped to the measure's range, sᵢ(target, denominators)) for a kind and scale."""
    if kind == "proportion" and scale == "identity":
        return (lambda x: x), (lambda v: np.clip(v, 0.0, 1.0)), (lambda t, n: np.sqrt(t * (1 - t) / n))
    if kind == "proportion":  # arcsine
        return (lambda x: np.arcsin(np.sqrt(x))), (lambda v: np.sin(np.clip(v, 0.0, np.pi / 2)) ** 2), \
            (lambda t, n: 1 / (2 * np.sqrt(n)))
    if scale == "identity":
        return (lambda x: x), (lambda v: np.maximum(v, 0.0)), (lambda t, e: np.sqrt(t / e))
    if scale == "sqrt":
        return np.sqrt, (lambda v: np.maximum(v, 0.0) ** 2), (lambda t, e: 1 / (2 * np.sqrt(e)))
    return np.log, np.exp, (lambda t, e: 1 / np.sqrt(t * e))


def _limits(kind, method, scale, target, denominators, spread) -> dict[str, np.ndarray]:
    """Limits at ``denominators``; ``spread(s)`` gives the standard error used on the scale (adjusted or not), or
    is None for the unadjusted limits of ``method``."""
    g, g_inverse, se = _transform(kind, scale)
    den = np.asarray(denominators, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = se(target, den)
    out = {}
    for suffix, p_low, p_high in LEVELS:
        if spread is None and method == "exact":
            limit = exact_binomial_limit if kind == "proportion" else exact_poisson_ratio_limit
            low, high = limit(p_low, den, target), limit(p_high, den, target)
        else:
            z = stats.norm.ppf(p_high)
            width = z * (s if spread is None else spread(s))
            with np.errstate(invalid="ignore"):
                low, high = g_inverse(g(target) - width), g_inverse(g(target) + width)
        out[f"lower_{suffix}"], out[f"upper_{suffix}"] = low, high
    return out


# --- over-dispersion ------------------------------------------------------------------------------------------

def estimate_overdispersion(z, s, trim: float = 0.1, scale: str = "") -> Overdispersion:
    """φ from the winsorised z-scores and τ² (DerSimonian–Laird) from φ and the standard errors ``s``
    (Spiegelhalter 2005, QSHC; FunnelPlotR ``winsorisation``, ``phi_func``, ``tau_func``). Units whose z-score
    or standard error is not finite are left out."""
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim must lie in [0, 0.5) (got {trim}).")
    z, s = np.asarray(z, float), np.asarray(s, float)
    keep = np.isfinite(z) & np.isfinite(s) & (s > 0)
    z, s = z[keep], s[keep]
    k = int(z.size)
    if k < 2:
        return Overdispersion(scale, trim, k, 0, np.nan, np.nan)
    low, high = np.quantile(z, [trim, 1 - trim])
    winsorised = np.clip(z, low, high)
    phi = float(np.sum(winsorised ** 2) / k)
    # Σw − Σw²/Σw with w = 1/s², written as 2·Σ_{i<j} wᵢwⱼ / Σw on weights scaled by their largest: the same
    # number, without the cancellation when one weight dominates or the under/overflow of extreme ones
    largest = np.max(1 / s ** 2)
    w = (1 / s ** 2) / largest
    spread_of_weights = largest * 2 * np.sum(w[1:] * np.cumsum(w)[:-1]) / w.sum()
    tau2 = 0.0 if k * phi < k - 1 else max(0.0, (k * phi - (k - 1)) / spread_of_weights)
    return Overdispersion(scale, trim, k, int(np.sum((z < low) | (z > high))), phi, float(tau2))


# --- funnels --------------------------------------------------------------------------------------------------

def proportion_funnel(events, denominators, units=None, target: float | None = None, method: str = "exact",
                      adjustment: str | None = None, scale: str = "identity", trim: float = 0.1) -> Funnel:
    """Funnel of proportions ``events / denominators`` per unit. ``target`` defaults to the overall proportion
    Σevents/Σdenominators; ``method`` "exact" (Spiegelhalter's interpolated binomial; denominators must be whole)
    or "normal"; ``adjustment`` None, "multiplicative" or "additive" on ``scale`` "identity" or "arcsine"."""
    return _funnel("proportion", events, denominators, units, target, method, adjustment, scale, trim)


def ratio_funnel(observed, expected, units=None, target: float = 1.0, method: str = "exact",
                 adjustment: str | None = None, scale: str = "sqrt", trim: float = 0.1) -> Funnel:
    """Funnel of standardised ratios O/E (indirect standardisation: ``expected`` from reference rates) per unit,
    plotted against E. ``method`` "exact" (Poisson, as FunnelPlotR) or "normal"; ``scale`` "sqrt", "log" or
    "identity" for z-scores, normal and adjusted limits."""
    return _funnel("ratio", observed, expected, units, target, method, adjustment, scale, trim)


def funnel_limits(funnel: Funnel, denominators) -> pd.DataFrame:
    """The limits of ``funnel`` (adjusted if it was) at any ``denominators``, e.g. a grid to draw the funnel:
    columns ``denominator``, ``lower_95``, ``upper_95``, ``lower_998``, ``upper_998``."""
    den = _nonnegative("denominators", denominators)
    if funnel.kind == "proportion" and funnel.method == "exact" and not funnel.adjusted:
        _check_whole(den)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        limits = _limits(funnel.kind, funnel.method, funnel.scale, funnel.target, np.where(den > 0, den, np.nan),
                         _spread(funnel.adjustment if funnel.adjusted else None, funnel.overdispersion))
    return pd.DataFrame({"denominator": den, **limits})


def _spread(applied_adjustment, od: Overdispersion):
    """The standard error on the scale as a function of sᵢ under the applied adjustment (None: unadjusted)."""
    if applied_adjustment is None:
        return None
    if applied_adjustment == "multiplicative":
        return lambda s: np.sqrt(od.phi) * s
    return lambda s: np.sqrt(s ** 2 + od.tau2)


def _funnel(kind, numerators, denominators, units, target, method, adjustment, scale, trim) -> Funnel:
    _check_options(kind, method, adjustment, scale)
    num, den = _nonnegative("numerators", numerators), _nonnegative("denominators", denominators)
    if num.size != den.size:
        raise ValueError(f"{num.size} numerators but {den.size} denominators.")
    labels = list(range(1, num.size + 1)) if units is None else list(units)
    if len(labels) != num.size:
        raise ValueError(f"units has {len(labels)} labels for {num.size} units.")
    has_data = np.isfinite(num) & np.isfinite(den) & (den > 0)
    if kind == "proportion":
        if np.any(num[has_data] > den[has_data]):
            raise ValueError("events must not exceed denominators.")
        if method == "exact":
            _check_whole(den[has_data])
    target = _target(kind, target, num[has_data], den[has_data])
    with np.errstate(over="ignore"):  # a denominator near 0 gives infinite values and limits, which is right
        value = np.where(has_data, num / np.where(has_data, den, 1.0), np.nan)
        z, s = _z_scores(kind, scale, target, value, np.where(has_data, den, np.nan))
        od = estimate_overdispersion(z, s, trim, scale)
        adjusted = adjustment is not None and od.overdispersed
        limits = _limits(kind, method, scale, target, np.where(has_data, den, np.nan),
                         _spread(adjustment if adjusted else None, od))
    frame = pd.DataFrame({"unit": labels, "numerator": num, "denominator": den, "value": value, "z": z, **limits})
    frame["flag"], frame["side"] = _flags(frame, has_data)
    return Funnel(kind, target, method, scale, adjustment, adjusted, od, frame[UNIT_COLUMNS])


def _check_options(kind, method, adjustment, scale):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS} (got {method!r}).")
    if adjustment not in ADJUSTMENTS:
        raise ValueError(f"adjustment must be one of {ADJUSTMENTS} (got {adjustment!r}).")
    if scale not in SCALES[kind]:
        raise ValueError(f"scale for a {kind} funnel must be one of {SCALES[kind]} (got {scale!r}).")


def _nonnegative(name, values) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"{name}: no units given.")
    if np.any(np.isinf(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be finite and not negative (NaN marks a missing value).")
    return array


def _check_whole(den):
    if np.any(den != np.round(den)):
        raise ValueError("exact binomial limits need whole-number denominators (use method='normal').")


def _target(kind, target, num, den) -> float:
    if target is None:
        if kind == "ratio":
            return 1.0
        return float(num.sum() / den.sum()) if den.sum() > 0 else np.nan
    target = float(target)
    if kind == "proportion" and not 0 <= target <= 1:
        raise ValueError(f"a target proportion must lie in [0, 1] (got {target}).")
    if kind == "ratio" and not (np.isfinite(target) and target > 0):
        raise ValueError(f"a target ratio must be a positive number (got {target}).")
    return target


def _z_scores(kind, scale, target, value, den):
    g, _, se = _transform(kind, scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = se(target, den)
        return (g(value) - g(target)) / s, s


def _flags(frame, has_data):
    value = frame["value"].to_numpy()
    high_998, low_998 = value > frame["upper_998"].to_numpy(), value < frame["lower_998"].to_numpy()
    high_95, low_95 = value > frame["upper_95"].to_numpy(), value < frame["lower_95"].to_numpy()
    flag = np.select([~has_data, high_998 | low_998, high_95 | low_95], ["no_data", "alarm", "alert"], "within")
    side = pd.Series(np.where(high_95, "high", np.where(low_95, "low", None)), dtype=object)
    return flag, side
