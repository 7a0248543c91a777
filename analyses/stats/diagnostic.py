"""Diagnostic accuracy of an index test against a reference standard, from counts only.

- :func:`accuracy_from_counts`: the 2×2 measures as R's ``epiR::epi.tests`` gives them by default — sensitivity,
  specificity, predictive values, accuracy and prevalences with exact Clopper–Pearson CIs; likelihood ratios with
  the CIs of Simel, Samsa & Matchar (1991); the diagnostic odds ratio with a log (Woolf) CI; Youden's index with the
  limits of sensitivity and specificity added (as epiR).
- :func:`predictive_values_at`: PPV and NPV at another prevalence (Bayes' theorem on the likelihood ratios); each
  is monotone in one likelihood ratio, so its CI is the image of that ratio's CI.
- :func:`roc_from_counts`: the empirical ROC curve and its AUC with the DeLong (1988) variance, from the numbers of
  cases and non-cases per distinct test value (aggregates, never rows). The AUC and its CI equal R's
  ``pROC::ci.auc`` (DeLong, the default); the Youden-optimal threshold is the observed value that maximises
  sensitivity + specificity − 1 (pROC reports the midpoint below it).

Every interval is an :class:`Interval` (NaN where undefined, e.g. a zero denominator) — never an exception for an
empty cell, so a stratum with no cases still renders.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["Interval", "Accuracy", "Roc", "accuracy_from_counts", "predictive_values_at", "roc_from_counts"]


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class Accuracy:
    """The measures of one 2×2 table (``tp``: test positive and reference positive, and so on)."""

    tp: int
    fp: int
    fn: int
    tn: int
    sensitivity: Interval
    specificity: Interval
    ppv: Interval
    npv: Interval
    accuracy: Interval
    prevalence: Interval  # true prevalence: reference positives / all
    apparent_prevalence: Interval  # test positives / all
    lr_positive: Interval
    lr_negative: Interval
    dor: Interval
    youden: Interval

    MEASURES = ("sensitivity", "specificity", "ppv", "npv", "lr_positive", "lr_negative", "accuracy", "dor",
                "youden", "prevalence", "apparent_prevalence")


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1.")
    return float(stats.norm.ppf(1 - alpha / 2))


def clopper_pearson(x: int, n: int, alpha: float = 0.05) -> Interval:
    """x / n with the exact (Clopper–Pearson) interval, as R's ``binom.test``; NaN when n = 0."""
    if n <= 0:
        return Interval(np.nan, np.nan, np.nan)
    low = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
    high = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
    return Interval(x / n, low, high)


def _log_interval(estimate: float, se: float, z: float) -> Interval:
    if not np.isfinite(estimate) or estimate <= 0 or not np.isfinite(se):
        return Interval(estimate, np.nan, np.nan)
    return Interval(estimate, float(estimate * np.exp(-z * se)), float(estimate * np.exp(z * se)))


def _ratio(num: float, den: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(num) / np.float64(den))


def likelihood_ratios(tp: int, fp: int, fn: int, tn: int, alpha: float = 0.05) -> tuple[Interval, Interval]:
    """LR+ = sens / (1 − spec) and LR− = (1 − sens) / spec with the log CIs of Simel et al. (1991)."""
    z = _z(alpha)
    diseased, healthy = tp + fn, fp + tn
    sens, spec = _ratio(tp, diseased), _ratio(tn, healthy)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_pos = np.sqrt(1 / np.float64(tp) - 1 / np.float64(diseased) + 1 / np.float64(fp) - 1 / np.float64(healthy))
        se_neg = np.sqrt(1 / np.float64(fn) - 1 / np.float64(diseased) + 1 / np.float64(tn) - 1 / np.float64(healthy))
    return (_log_interval(_ratio(sens, 1 - spec), float(se_pos), z),
            _log_interval(_ratio(1 - sens, spec), float(se_neg), z))


def accuracy_from_counts(tp: int, fp: int, fn: int, tn: int, alpha: float = 0.05) -> Accuracy:
    """Every measure of a 2×2 table of test result by reference standard (see the module docstring)."""
    counts = [int(v) for v in (tp, fp, fn, tn)]
    if any(v < 0 for v in counts):
        raise ValueError("Counts must not be negative.")
    tp, fp, fn, tn = counts
    n = tp + fp + fn + tn
    sens, spec = clopper_pearson(tp, tp + fn, alpha), clopper_pearson(tn, fp + tn, alpha)
    lr_pos, lr_neg = likelihood_ratios(tp, fp, fn, tn, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_log_dor = float(np.sqrt(sum(1 / np.float64(v) for v in counts)))
    dor = _log_interval(_ratio(tp * tn, fp * fn), se_log_dor, _z(alpha))
    youden = Interval(sens.estimate + spec.estimate - 1, sens.low + spec.low - 1, sens.high + spec.high - 1)
    return Accuracy(tp, fp, fn, tn, sens, spec, clopper_pearson(tp, tp + fp, alpha),
                    clopper_pearson(tn, fn + tn, alpha), clopper_pearson(tp + tn, n, alpha),
                    clopper_pearson(tp + fn, n, alpha), clopper_pearson(tp + fp, n, alpha), lr_pos, lr_neg, dor,
                    youden)


def predictive_values_at(prevalence: float, lr_positive: Interval, lr_negative: Interval) -> tuple[Interval, Interval]:
    """PPV and NPV at ``prevalence`` (0 < p < 1) from the likelihood ratios: post-test odds = pre-test odds × LR."""
    if not 0 < prevalence < 1:
        raise ValueError("The prevalence must lie strictly between 0 and 1.")
    odds = prevalence / (1 - prevalence)

    def ppv(lr: float) -> float:
        return odds * lr / (1 + odds * lr)

    def npv(lr: float) -> float:
        return 1 / (1 + odds * lr)

    pos = Interval(ppv(lr_positive.estimate), ppv(lr_positive.low), ppv(lr_positive.high))
    neg = Interval(npv(lr_negative.estimate), npv(lr_negative.high), npv(lr_negative.low))  # decreasing in LR−
    return pos, neg


@dataclass(frozen=True)
class Roc:
    """The empirical ROC curve (``curve``: threshold, sensitivity, specificity — a participant is test positive when
    its value is at or above the threshold; the first row is +inf, nobody positive) and its AUC with the DeLong CI."""

    curve: pd.DataFrame
    auc: Interval
    auc_se: float
    youden_threshold: float
    youden_sensitivity: float
    youden_specificity: float
    cases: int
    controls: int


def roc_from_counts(values, cases, controls, alpha: float = 0.05) -> Roc:
    """ROC and DeLong AUC from the numbers of cases and controls at each distinct test value (higher = more likely
    a case). ``values`` need not be sorted or unique; counts at equal values are summed."""
    frame = pd.DataFrame({"value": np.asarray(values, dtype=float), "cases": np.asarray(cases, dtype=float),
                          "controls": np.asarray(controls, dtype=float)})
    if frame[["cases", "controls"]].lt(0).any().any() or frame["value"].isna().any():
        raise ValueError("Values must be numbers and counts must not be negative.")
    frame = frame.groupby("value", sort=True)[["cases", "controls"]].sum().reset_index()
    m, n = frame["cases"].sum(), frame["controls"].sum()
    if m == 0 or n == 0:
        raise ValueError("An ROC curve needs at least one case and one control.")
    curve = _curve(frame, m, n)
    auc, se = _delong(frame, m, n)
    z = _z(alpha)
    best = curve.iloc[1:].assign(j=lambda f: f["sensitivity"] + f["specificity"]).sort_values(
        ["j", "threshold"], ascending=[False, False]).iloc[0]
    return Roc(curve, Interval(auc, max(0.0, auc - z * se), min(1.0, auc + z * se)), se, float(best["threshold"]),
               float(best["sensitivity"]), float(best["specificity"]), int(m), int(n))


def _curve(frame: pd.DataFrame, m: float, n: float) -> pd.DataFrame:
    """Sensitivity and specificity when "positive" means value >= threshold, for each distinct value, highest first."""
    down = frame.iloc[::-1]
    tp, fp = down["cases"].cumsum().to_numpy(), down["controls"].cumsum().to_numpy()
    return pd.DataFrame({"threshold": np.concatenate([[np.inf], down["value"].to_numpy()]),
                         "sensitivity": np.concatenate([[0.0], tp / m]),
                         "specificity": np.concatenate([[1.0], 1 - fp / n])})


def _delong(frame: pd.DataFrame, m: float, n: float) -> tuple[float, float]:
    """AUC and its DeLong standard error from per-value counts: the placement value of a case at value v is the
    share of controls below v plus half those at v; of a control, the share of cases above plus half those at it."""
    cases, controls = frame["cases"].to_numpy(), frame["controls"].to_numpy()
    below_controls = np.concatenate([[0.0], np.cumsum(controls)[:-1]])
    above_cases = m - np.cumsum(cases)
    v10 = (below_controls + 0.5 * controls) / n  # per value, for each case there
    v01 = (above_cases + 0.5 * cases) / m  # per value, for each control there
    auc = float((cases * v10).sum() / m)
    s10 = float((cases * (v10 - auc) ** 2).sum() / (m - 1)) if m > 1 else 0.0
    s01 = float((controls * (v01 - auc) ** 2).sum() / (n - 1)) if n > 1 else 0.0
    return auc, float(np.sqrt(s10 / m + s01 / n))
