"""Direct age standardisation from counts per age band: standard populations, band weights, the Fay–Feuer
gamma interval, and the ratio of two standardised rates.

Methods text (the conventions to state when reporting):

- **Standard populations** (``standard_populations.toml``): European Standard Population 2013 (Eurostat 2013),
  WHO World Standard Population 2000–2025 (Ahmad et al. 2001) and the US 2000 standard million (NCI SEER,
  19 groups).
- **Band weights** (``band_weights``): the weight of a study age band is the standard population of the single
  years of age it covers, each standard group being spread uniformly over its single years (e.g. band 18–29 on
  ESP 2013 = 2/5 × [15–19] + [20–24] + [25–29]). An open standard group (95+, 100+, 85+) is not spread: it goes
  whole to the study's open top band, which must then start at or below the group's lower age (e.g. 80+); a
  study whose bands stop below it leaves it out. Weights are normalised to sum to 1 over the given bands, so
  ages outside the bands (children, say) carry no weight.
- **Standardised rate and interval** (``direct_standardize``): DSR = Σ wᵢ dᵢ/nᵢ with normalised weights wᵢ,
  variance Σ wᵢ² dᵢ/nᵢ² (Poisson counts), and the gamma interval of Fay & Feuer (1997): lower limit the α/2
  quantile of a gamma with mean DSR and variance v; upper limit the 1 − α/2 quantile of a gamma with mean
  DSR + w_M and variance v + w_M², where w_M = maxᵢ wᵢ/nᵢ. This is exactly R ``epitools::ageadjust.direct``.
  Fay MP, Feuer EJ. Confidence intervals for directly standardized rates: a method based on the gamma
  distribution. Stat Med 1997;16:791–801.
- **Ratio of two standardised rates** (``standardized_ratio``): log-normal interval from the delta method,
  var(ln R) = v_a/DSR_a² + v_b/DSR_b² (independent groups); see Breslow NE, Day NE. Statistical Methods in
  Cancer Research, Vol. II (IARC Sci Publ 82, 1987), and Rothman KJ, Greenland S, Lash TL. Modern Epidemiology,
  3rd ed. (2008), on standardised rate ratios.

Rates are per unit of ``n`` (per person for prevalence, per person-year for incidence); the caller scales them.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import stats

__all__ = [
    "StandardGroup",
    "StandardPopulation",
    "DirectStandardized",
    "standard_populations",
    "band_weights",
    "direct_standardize",
    "standardized_ratio",
]

_TOML = Path(__file__).with_name("standard_populations.toml")


@dataclass(frozen=True)
class StandardGroup:
    """Ages ``low``..``high`` inclusive (``high=None``: open top group, e.g. 95+) and their standard weight."""

    low: int
    high: int | None
    weight: float


@dataclass(frozen=True)
class StandardPopulation:
    name: str
    label: str
    source: str
    url: str
    total: float  # what the published weights sum to (WHO: 100,035 per 100,000 — rounding in the original)
    groups: tuple[StandardGroup, ...]

    @property
    def weights(self) -> np.ndarray:
        return np.array([g.weight for g in self.groups], dtype=float)


@dataclass(frozen=True)
class DirectStandardized:
    """A directly standardised rate with its Fay–Feuer gamma interval (rates per unit of ``n``).

    ``dropped_bands``: indices of bands left out because n == 0 (only with ``drop_empty=True``); the weights of
    the remaining bands were renormalised, which the caller must say in a note.
    """

    rate: float
    ci_low: float
    ci_high: float
    variance: float
    crude_rate: float
    dropped_bands: tuple[int, ...] = ()


def _load(path: Path) -> dict[str, StandardPopulation]:
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    tables: dict[str, StandardPopulation] = {}
    for key, table in raw.items():
        groups = tuple(
            StandardGroup(int(g["low"]), None if g.get("high") is None else int(g["high"]), float(g["weight"]))
            for g in table["groups"]
        )
        expected_low = 0
        for i, g in enumerate(groups):
            last = i == len(groups) - 1
            if g.low != expected_low or g.weight <= 0 or (g.high is None) != last:
                raise ValueError(f"Standard population {key!r}: groups must be contiguous from age 0, positive, "
                                 f"and only the last may be open (group {i}).")
            if g.high is not None:
                if g.high < g.low:
                    raise ValueError(f"Standard population {key!r}: group {i} ends before it starts.")
                expected_low = g.high + 1
        total = float(table["total"])
        if not math.isclose(sum(g.weight for g in groups), total, rel_tol=1e-12):
            raise ValueError(f"Standard population {key!r}: weights do not sum to the stated total {total:g}.")
        if table.get("name", key) != key:
            raise ValueError(f"Standard population {key!r}: name must equal its table key.")
        tables[key] = StandardPopulation(key, table["label"], table["source"], table["url"], total, groups)
    return tables


@lru_cache(maxsize=1)
def _cached() -> tuple[tuple[str, StandardPopulation], ...]:
    return tuple(_load(_TOML).items())


def standard_populations() -> dict[str, StandardPopulation]:
    """The standard populations by name (``esp2013``, ``who2000``, ``us2000``), read once from the TOML file."""
    return dict(_cached())


def _standard(standard: str | StandardPopulation) -> StandardPopulation:
    if isinstance(standard, StandardPopulation):
        return standard
    tables = standard_populations()
    if standard not in tables:
        raise ValueError(f"Unknown standard population {standard!r}; known: {', '.join(sorted(tables))}.")
    return tables[standard]


def _check_bands(bands: Sequence[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    bands = list(bands)
    if not bands:
        raise ValueError("At least one age band is needed.")
    checked: list[tuple[int, int | None]] = []
    for i, band in enumerate(bands):
        try:
            low, high = band
        except (TypeError, ValueError):
            raise ValueError(f"Age band {i} must be a (low, high) pair, high=None for the open top band.") from None
        for value in (low, high):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
                raise ValueError(f"Age band {i}: ages must be whole numbers (got {band!r}).")
        if low is None or low < 0 or (high is not None and high < low):
            raise ValueError(f"Age band {i}: need 0 <= low <= high (got {band!r}).")
        if high is None and i != len(bands) - 1:
            raise ValueError("Only the last age band may be open (high=None).")
        if checked:
            previous_high = checked[-1][1]
            if low <= previous_high:  # previous_high is not None: only the last band may be open
                raise ValueError(f"Age bands must be in increasing order without overlap (band {i}: {band!r}).")
        checked.append((int(low), None if high is None else int(high)))
    return checked


def band_weights(standard: str | StandardPopulation, bands: Sequence[tuple[int, int | None]]) -> np.ndarray:
    """Normalised standard weights (sum 1) for study age bands ``[(low, high), …]``, ``high=None`` = open top band.

    Rule: a band's weight is the standard population of the single years it covers, each closed standard group
    spread uniformly over its single years; an open standard group (95+, 100+, 85+) goes whole to the open top
    band, which must start at or below the group's lower age. Bands may leave gaps (ages outside every band get
    no weight). Raises ``ValueError`` for malformed bands, or when the bands would split an open standard group
    (a closed band or a later-starting open band overlapping it: its age distribution is unknown).
    """
    population = _standard(standard)
    checked = _check_bands(bands)
    weights = np.zeros(len(checked))
    for group in population.groups:
        if group.high is None:
            overlapping = [i for i, (lo, hi) in enumerate(checked) if hi is None or hi >= group.low]
            if not overlapping:
                continue
            top_low, top_high = checked[overlapping[0]]
            if len(overlapping) > 1 or top_high is not None or top_low > group.low:
                raise ValueError(
                    f"The bands split the open standard group {group.low}+ of {population.label}; its age "
                    f"distribution is not published. Use an open top band starting at or below {group.low} "
                    f"(e.g. ({min(top_low, group.low)}, None)), or end the bands below {group.low}."
                )
            weights[overlapping[0]] += group.weight
            continue
        width = group.high - group.low + 1
        for i, (lo, hi) in enumerate(checked):
            top = group.high if hi is None else min(group.high, hi)
            covered = top - max(group.low, lo) + 1
            if covered > 0:
                weights[i] += group.weight * covered / width
    total = weights.sum()
    if total <= 0:
        raise ValueError("The bands cover no age with standard weight.")
    return weights / total


def _gamma_quantile(q: float, mean: float, var: float) -> float:
    """Quantile of the gamma with this mean and variance (shape mean²/var, scale var/mean), as R's qgamma."""
    return float(stats.gamma.ppf(q, a=mean * mean / var, scale=var / mean))


def direct_standardize(events, n, weights, alpha: float = 0.05, *, drop_empty: bool = False) -> DirectStandardized:
    """Directly standardised rate Σ wᵢ eventsᵢ/nᵢ with the Fay–Feuer (1997) gamma interval.

    Exactly R ``epitools::ageadjust.direct(count = events, pop = n, stdpop = weights, conf.level = 1 − alpha)``
    (crude.rate, adj.rate, lci, uci), plus the variance Σ wᵢ² eventsᵢ/nᵢ² it uses. ``weights`` need not sum to 1:
    like ageadjust.direct they are normalised (so raw standard counts, e.g. ESP per 100,000, are fine).

    Edge cases, where this deliberately differs from R:

    - a band with ``n == 0`` has no rate (ageadjust.direct would divide by zero and return NaN): by default a
      ``ValueError`` naming the bands; with ``drop_empty=True`` the band is left out, the remaining weights are
      renormalised and its index is listed in ``dropped_bands`` (the caller must add a note — the estimate then
      stands for a standard without those ages);
    - no events at all: rate 0, lower limit 0 (R: NaN from a 0/0 gamma shape), upper limit as R;
    - events in a band with ``n == 0``, negative or non-finite inputs, weights all zero: ``ValueError``.
    """
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1 (got {alpha}).")
    e = np.asarray(events, dtype=float).ravel()
    m = np.asarray(n, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    if not (len(e) == len(m) == len(w)) or len(e) == 0:
        raise ValueError("events, n and weights need one value per band, and at least one band.")
    for name, array in (("events", e), ("n", m), ("weights", w)):
        if not np.all(np.isfinite(array)) or np.any(array < 0):
            raise ValueError(f"{name} must be finite and not negative.")
    empty = m == 0
    if np.any(empty & (e > 0)):
        raise ValueError(f"Bands {np.flatnonzero(empty & (e > 0)).tolist()} have events but n = 0.")
    dropped: tuple[int, ...] = ()
    if np.any(empty):
        dropped = tuple(int(i) for i in np.flatnonzero(empty))
        if not drop_empty:
            raise ValueError(
                f"Bands {list(dropped)} have n = 0, so their rate is undefined; pass drop_empty=True to leave "
                f"them out and renormalise the other weights (and say so in a note)."
            )
        keep = ~empty
        e, m, w = e[keep], m[keep], w[keep]
        if len(e) == 0:
            raise ValueError("Every band has n = 0.")
    if w.sum() <= 0:
        raise ValueError("The weights of the bands with data sum to 0.")
    w = w / w.sum()
    crude = float(e.sum() / m.sum())
    rate = float(np.sum(w * e / m))
    variance = float(np.sum(w * w * e / (m * m)))
    w_max = float(np.max(w / m))
    low = 0.0 if rate == 0 else _gamma_quantile(alpha / 2, rate, variance)
    high = _gamma_quantile(1 - alpha / 2, rate + w_max, variance + w_max * w_max)
    return DirectStandardized(rate, low, high, variance, crude, dropped)


def standardized_ratio(
    a: DirectStandardized, b: DirectStandardized, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Ratio ``a.rate / b.rate`` of two directly standardised rates with a log-normal (delta-method) interval.

    var(ln R) = var_a / rate_a² + var_b / rate_b² (the two rates from independent groups, standardised to the
    same weights); limits exp(ln R ∓ z₁₋α/₂ · √var). Breslow & Day, Statistical Methods in Cancer Research II
    (IARC 1987); Rothman, Greenland & Lash, Modern Epidemiology 3rd ed. (2008). Pinned against the same formula
    in tests/reference/r/rates.R. When either rate is 0 the log scale is undefined: the ratio is returned where
    it is finite (0 when only ``a`` is 0) and both limits are NaN.
    """
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1 (got {alpha}).")
    if a.rate <= 0 or b.rate <= 0:
        ratio = a.rate / b.rate if b.rate > 0 else math.nan
        return ratio, math.nan, math.nan
    ratio = a.rate / b.rate
    se = math.sqrt(a.variance / a.rate**2 + b.variance / b.rate**2)
    z = float(stats.norm.ppf(1 - alpha / 2))
    return ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se)
