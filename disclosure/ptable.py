"""Perturbation table ("ptable") of the cell key method (ABS TableBuilder, ONS Census 2021, Destatis ``ptable``).

A released count is ``count + perturbation[row(count), cell_key]``: the cell key (the sum of the cell's record keys
modulo ``key_range``) picks a column, the original count a row, so the same cell always gets the same noise.

Design (Giessing 2016; the sdcTools/Destatis ``ptable`` R package): for each original count ``i`` the released
value ``j = i + v`` has ``|v| <= D``, ``j >= 0`` and, when ``js > 0``, ``j`` not in ``1..js``; zeros stay zero;
``E[j] = i`` (no bias); ``Var[j] = V``; and among all such distributions the one of maximum entropy, which has the
form ``p(v) ∝ exp(l1·v + l2·v²)`` on the allowed values (``l1, l2`` solved with ``scipy.optimize``). From
``I = D + js + 1`` on every value ``i ± D`` is allowed, so rows ``i >= I`` are all the same as row ``I``.

Where ``V`` cannot be reached the variance is the nearest achievable one: for small ``i`` the largest variance with
mean ``i`` is that of the two extreme values (``i·D`` when ``js = 0``), and for rows ``1..js`` the smallest one is
that of the two allowed values around ``i``; at such a bound the row is that two-point distribution. Destatis
instead treats ``V`` as an upper bound (``sum(v²p) <= V`` in ``pt_optim_entropy``), so its small rows can have less
variance than ``V`` (row 1 of D=3, V=2: 1.37), and it stops where ``V`` is below the smallest. Here every row whose
values allow ``V`` gets exactly ``V`` ("fixed noise variance"); for small rows that can take ``l2 > 0`` (row 1 of
the default table puts 0.57 on ``-1`` and 0.12 on ``+3``).

The probabilities are then made multiples of ``1/key_range`` by a small MILP: every value of positive probability
keeps at least one key (a hard floor: with few keys and a small ``V`` it raises the variance); the mean stays
exactly ``i`` whenever integers allow it (not, e.g., for a two-point row whose odds do not divide ``key_range``: then
off by the least possible, a multiple of 1/key_range), then the variance is as close to the target as integers allow
(within 1/key_range for full rows), then the shape as close to the maximum-entropy one; symmetric rows stay symmetric.
``summary()`` reports what is achieved. The keys are laid out as contiguous runs in increasing order of ``j``, as ABS
does.

``to_frame()`` writes the ONS layout (``pcv, ckey, pvalue``); ``lookup_frame()`` applies any ONS-layout table with the
ONS package's own rule for large counts (``cell-key-perturbation`` 3.1.0, ``create_perturbed_table``): a count up to
750 is its own ``pcv``, a larger one uses ``pcv = ((count - 1) % 250) + 501``, and a (pcv, ckey) pair missing from
the table perturbs by 0. ``to_frame(ONS_MAX_PCV)`` repeats row ``I`` up to 750 so that package gives our values.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

ONS_MAX_PCV = 750  # the ONS package uses a count's own row up to this count...
ONS_WRAP_START = 501  # ...and above it row ((count - 1) % ONS_WRAP_PERIOD) + ONS_WRAP_START
ONS_WRAP_PERIOD = 250
FRAME_COLUMNS = ("pcv", "ckey", "pvalue")
_ZERO_PROBABILITY = 1e-12  # below this a maximum-entropy probability is a structural zero (two-point rows)
_BOUND_TOLERANCE = 1e-9  # a target variance this close to an achievable bound is taken as that bound
_MOMENT_TOLERANCE = 1e-9  # the maximum-entropy solve must meet mean and variance to this


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class PTableParams:
    """Parameters of a count ptable: largest perturbation ``D``, noise variance ``V``, number of cell keys, and
    ``js`` (if > 0, released counts 1..js never occur, so original counts 1..js are always moved)."""

    max_perturbation: int = 3
    variance: float = 2.0
    key_range: int = 256
    small_count_threshold: int = 0

    def __post_init__(self):
        d, js, k = self.max_perturbation, self.small_count_threshold, self.key_range
        if not _is_int(d) or d < 1:
            raise ValueError("max_perturbation (D) must be an integer of at least 1.")
        if isinstance(self.variance, bool) or not isinstance(self.variance, (int, float, np.floating)) \
                or not math.isfinite(self.variance) or self.variance <= 0:
            raise ValueError("variance (V) must be a finite number above 0.")
        if not _is_int(k) or k < 16 or k & (k - 1):
            raise ValueError("key_range must be a power of two of at least 16.")
        if 2 * d + 1 > k:
            raise ValueError("key_range must be at least 2·D + 1, so every allowed perturbation gets a key.")
        if not _is_int(js) or js < 0:
            raise ValueError("small_count_threshold (js) must be an integer of 0 or more.")
        if js >= d:
            raise ValueError("small_count_threshold (js) must be below max_perturbation (D): otherwise a count of 1 "
                             "(js = D + 1 and more) or of D + 1 (js = D) cannot be released both unbiased and changed.")

    @property
    def stable_row(self) -> int:
        """``I = D + js + 1``: rows of original counts ``>= I`` are all equal to row ``I``."""
        return self.max_perturbation + self.small_count_threshold + 1


def row_support(i: int, params: PTableParams) -> np.ndarray:
    """The allowed perturbations ``v`` of original count ``i`` (increasing)."""
    if i == 0:
        return np.zeros(1, dtype=np.int64)
    d, js = params.max_perturbation, params.small_count_threshold
    j = np.arange(max(i - d, 0), i + d + 1)
    return (j[(j == 0) | (j > js)] - i).astype(np.int64)


def _variance_bounds(v: np.ndarray) -> tuple[float, float]:
    """Smallest and largest variance of a mean-0 distribution on ``v`` (two-point distributions)."""
    largest = float(-v.min() * v.max())
    if 0 in v:
        return 0.0, largest
    return float(-v[v < 0].max() * v[v > 0].min()), largest


def target_variance(i: int, params: PTableParams) -> float:
    """The variance row ``i`` aims at: ``V`` clipped to what a mean-``i`` distribution on its values can reach."""
    if i == 0:
        return 0.0
    lowest, highest = _variance_bounds(row_support(i, params))
    return min(max(float(params.variance), lowest), highest)


def _two_point(v: np.ndarray, a: int, b: int) -> np.ndarray:
    """The mean-0 distribution on the two values ``a < 0 < b`` of ``v``."""
    p = np.zeros(v.size)
    p[v == a], p[v == b] = b / (b - a), -a / (b - a)
    return p


def _dual(lam: np.ndarray, features: np.ndarray, moments: np.ndarray):
    """Convex dual of the maximum-entropy problem: log-partition minus ``lam · moments``, and its gradient."""
    z = features @ lam
    log_z = special.logsumexp(z)
    p = np.exp(z - log_z)
    return log_z - lam @ moments, features.T @ p - moments


def _dual_hessian(lam: np.ndarray, features: np.ndarray, moments: np.ndarray) -> np.ndarray:
    z = features @ lam
    p = np.exp(z - special.logsumexp(z))
    mean = features.T @ p
    return (features * p[:, None]).T @ features - np.outer(mean, mean)


def _max_entropy(v: np.ndarray, variance: float) -> np.ndarray:
    """Maximum-entropy ``p`` on ``v`` with mean 0 and the given variance (``variance`` strictly inside the bounds)."""
    scale = float(np.abs(v).max())
    features = np.column_stack([v / scale, (v / scale) ** 2])
    moments = np.array([0.0, variance / scale**2])
    result = optimize.minimize(_dual, np.zeros(2), args=(features, moments), jac=True, hess=_dual_hessian,
                               method="trust-exact", options={"gtol": 1e-12, "maxiter": 500})
    # trust-exact can stop on a rounding-limited step short of gtol: polish with Newton's method on the gradient
    polished = optimize.root(lambda lam: _dual(lam, features, moments)[1], result.x, method="hybr",
                             jac=lambda lam: _dual_hessian(lam, features, moments), tol=1e-15)
    z = features @ polished.x
    p = np.exp(z - special.logsumexp(z))
    if abs(p @ v) > _MOMENT_TOLERANCE or abs(p @ v**2 - variance) > _MOMENT_TOLERANCE * max(1.0, variance):
        raise RuntimeError(f"The maximum-entropy solve did not converge for perturbations {v.tolist()} and "
                           f"variance {variance}.")
    return p


def row_distribution(i: int, params: PTableParams) -> tuple[np.ndarray, np.ndarray]:
    """Allowed perturbations ``v`` of original count ``i`` and their maximum-entropy probabilities (unquantised)."""
    v = row_support(i, params)
    if v.size == 1:
        return v, np.ones(1)
    lowest, highest = _variance_bounds(v)
    target = target_variance(i, params)
    if target - lowest <= _BOUND_TOLERANCE * max(1.0, target):
        return v, _two_point(v, int(v[v < 0].max()), int(v[v > 0].min()))
    if highest - target <= _BOUND_TOLERANCE * max(1.0, target):
        return v, _two_point(v, int(v.min()), int(v.max()))
    return v, _max_entropy(v, target)


def _quantisation_rows(v: np.ndarray, expected: np.ndarray, variance_total: float, keys: int):
    """Linear constraints of the quantisation MILP over columns n (keys per value), t (|n - expected|), s_mean
    (|sum n·v|), s_var (|sum n·v² - variance_total|); a symmetric row (support symmetric about 0) stays symmetric."""
    m = v.size
    a = np.zeros((2 * m + 5, 2 * m + 2))
    a[0, :m] = 1
    a[1:m + 1, :m], a[1:m + 1, m:2 * m] = -np.eye(m), np.eye(m)
    a[m + 1:2 * m + 1, :m], a[m + 1:2 * m + 1, m:2 * m] = np.eye(m), np.eye(m)
    a[2 * m + 1:2 * m + 3, :m], a[2 * m + 1:2 * m + 3, 2 * m] = [-v, v], 1
    a[2 * m + 3:, :m], a[2 * m + 3:, 2 * m + 1] = [-(v**2), v**2], 1
    lower = np.concatenate([[keys], -expected, expected, [0, 0, -variance_total, variance_total]])
    upper = np.concatenate([[keys], np.full(2 * m + 4, np.inf)])
    if np.array_equal(v, -v[::-1]):
        mirror = np.zeros((m // 2, 2 * m + 2))
        mirror[np.arange(m // 2), np.arange(m // 2)], mirror[np.arange(m // 2), m - 1 - np.arange(m // 2)] = 1, -1
        a, lower, upper = np.vstack([a, mirror]), np.append(lower, np.zeros(m // 2)), np.append(upper, np.zeros(m // 2))
    return optimize.LinearConstraint(a, lower, upper)


def _integer_counts(v: np.ndarray, expected: np.ndarray, variance_total: float, keys: int) -> np.ndarray:
    """Keys per value: at least 1 each, summing to ``keys``; lexicographically minimise |sum n·v| (the mean), then
    |sum n·v² - variance_total| (the variance), then sum |n - expected| (the shape), as one MILP."""
    m = v.size
    var_weight = 2 * keys + 1  # more than the shape term can ever be (it is at most 2·keys)
    mean_weight = var_weight * (keys * int(v.max() ** 2 + v.min() ** 2) + variance_total + 1)
    cost = np.concatenate([np.zeros(m), np.ones(m), [mean_weight, var_weight]])
    bounds = optimize.Bounds(np.concatenate([np.ones(m), np.zeros(m + 2)]),
                             np.concatenate([np.full(m, keys), np.full(m + 2, np.inf)]))
    result = optimize.milp(cost, constraints=_quantisation_rows(v, expected, variance_total, keys), bounds=bounds,
                           integrality=np.concatenate([np.ones(m), np.zeros(m + 2)]),
                           options={"mip_rel_gap": 0.0})
    if not result.success:
        raise RuntimeError(f"Quantising the ptable row failed: {result.message}")
    return np.round(result.x[:m]).astype(np.int64)


def _quantise(v: np.ndarray, p: np.ndarray, variance: float, keys: int) -> np.ndarray:
    """Number of cell keys of each value of ``v`` (values of structurally zero probability get none)."""
    counts = np.zeros(v.size, dtype=np.int64)
    kept = p > _ZERO_PROBABILITY
    counts[kept] = _integer_counts(v[kept], p[kept] * keys, variance * keys, keys)
    return counts


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def build_ptable(params: PTableParams | None = None) -> PTable:
    """Build the maximum-entropy ptable of ``params`` (module docstring): rows 0..I, one column per cell key."""
    params = params or PTableParams()
    d, keys, last = params.max_perturbation, params.key_range, params.stable_row
    values = np.arange(-d, d + 1)
    exact = np.zeros((last + 1, values.size))
    key_counts = np.zeros((last + 1, values.size), dtype=np.int64)
    for i in range(last + 1):
        v, p = row_distribution(i, params)
        exact[i, v + d] = p
        key_counts[i, v + d] = _quantise(v, p, target_variance(i, params), keys)
    perturbation = np.stack([np.repeat(values, n) for n in key_counts]).astype(np.int64)
    return PTable(params, _frozen(perturbation), _frozen(key_counts / keys), _frozen(exact))


def _int_array(values, name: str) -> np.ndarray:
    """``values`` as an int64 array; ValueError for anything that is not whole numbers."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind in "fO":
        try:
            as_float = array.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be whole numbers.") from None
        if np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)):
            return as_float.astype(np.int64)
    raise ValueError(f"{name} must be whole numbers.")


def _checked_inputs(counts, cell_keys, key_range: int) -> tuple[np.ndarray, np.ndarray]:
    counts, keys = _int_array(counts, "counts"), _int_array(cell_keys, "cell_keys")
    if counts.shape != keys.shape:
        raise ValueError(f"counts and cell_keys differ in shape: {counts.shape} and {keys.shape}.")
    if counts.size and counts.min() < 0:
        raise ValueError("counts must not be negative.")
    if keys.size and (keys.min() < 0 or keys.max() >= key_range):
        raise ValueError(f"cell_keys must be in 0..{key_range - 1}.")
    return counts, keys


@dataclass(frozen=True, eq=False)
class PTable:
    """A built ptable: ``perturbation[row, cell_key]`` (rows 0..I, row I serving every count >= I),
    ``probabilities[row, v + D]`` as applied (multiples of 1/key_range), and the unquantised maximum-entropy
    ones (``None`` for a table read with ``from_frame``)."""

    params: PTableParams
    perturbation: np.ndarray
    probabilities: np.ndarray
    max_entropy_probabilities: np.ndarray | None = None

    @property
    def stable_row(self) -> int:
        """``I``: the last row, used for every count >= I."""
        return self.perturbation.shape[0] - 1

    def perturb(self, counts, cell_keys) -> np.ndarray:
        """Released counts (int64, the shape of ``counts``): ``count + perturbation[min(count, I), key]``.

        Zero stays zero. ValueError for negative or non-whole counts, keys outside 0..key_range-1, or shapes that
        differ."""
        counts, keys = _checked_inputs(counts, cell_keys, self.params.key_range)
        return counts + self.perturbation[np.minimum(counts, self.stable_row), keys]

    def to_frame(self, max_pcv: int | None = None):
        """The table in the ONS layout: a pandas DataFrame with int64 columns ``pcv, ckey, pvalue``.

        Rows ``pcv = 0..I`` by default; ``max_pcv`` (>= I, e.g. ``ONS_MAX_PCV``) repeats row I up to it, which the
        ONS package needs to reproduce ``perturb`` (it perturbs counts missing from its table by 0)."""
        import pandas as pd

        rows = self.stable_row if max_pcv is None else max_pcv
        if not _is_int(rows) or rows < self.stable_row:
            raise ValueError(f"max_pcv must be an integer of at least {self.stable_row}.")
        keys = self.params.key_range
        pcv, ckey = np.repeat(np.arange(rows + 1), keys), np.tile(np.arange(keys), rows + 1)
        pvalue = self.perturbation[np.minimum(pcv, self.stable_row), ckey]
        return pd.DataFrame({"pcv": pcv, "ckey": ckey, "pvalue": pvalue})

    def summary(self) -> dict:
        """Parameters and achieved properties, for documentation.

        ``rows``: per original count 0..I (I stands for every larger count) the target and achieved variance, the
        achieved mean of the released count and P(no change). ``p_equal_differences``: sum over v of p(v)² of row
        I, the chance that two independently keyed cells of the same large count get the same perturbation (how
        often differencing two views recovers the exact difference)."""
        d = self.params.max_perturbation
        values = np.arange(-d, d + 1)
        rows = []
        for i, p in enumerate(self.probabilities):
            shift = float(p @ values)
            rows.append({"count": i, "target_variance": target_variance(i, self.params), "mean": i + shift,
                         "variance": float(p @ values**2) - shift**2, "p_no_change": float(p[d])})
        large = self.probabilities[-1]
        return {
            "max_perturbation": d, "variance": float(self.params.variance),
            "small_count_threshold": self.params.small_count_threshold, "key_range": self.params.key_range,
            "stable_row": self.stable_row, "rows": rows,
            "large_count_distribution": {int(v): float(p) for v, p in zip(values, large) if p > 0},
            "p_equal_differences": float(large @ large),
        }


def _dense_frame(frame) -> np.ndarray:
    """An ONS-layout frame as a dense ``[pcv, ckey]`` array of perturbations (missing pairs perturb by 0)."""
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"The ptable frame lacks column(s): {', '.join(missing)}.")
    pcv, ckey, pvalue = (_int_array(frame[c].to_numpy(), c) for c in FRAME_COLUMNS)
    if pcv.size == 0 or pcv.min() < 0 or ckey.min() < 0:
        raise ValueError("The ptable frame must have rows, with pcv and ckey of 0 or more.")
    table = np.zeros((pcv.max() + 1, ckey.max() + 1), dtype=np.int64)
    seen = np.zeros(table.shape, dtype=bool)
    seen[pcv, ckey] = True
    if seen.sum() != pcv.size:
        raise ValueError("The ptable frame repeats a (pcv, ckey) pair.")
    table[pcv, ckey] = pvalue
    return table


def lookup_frame(frame, counts, cell_keys) -> np.ndarray:
    """Released counts from an ONS-layout ptable (columns ``pcv, ckey, pvalue``), by the rules of the ONS package
    ``cell-key-perturbation`` 3.1.0: ``pcv = count`` up to 750, else ``((count - 1) % 250) + 501``; a (pcv, ckey)
    pair missing from the frame perturbs by 0. No threshold is applied. Cell keys must be in 0..max(ckey)."""
    table = _dense_frame(frame)
    counts, keys = _checked_inputs(counts, cell_keys, table.shape[1])
    pcv = np.where(counts <= ONS_MAX_PCV, counts, (counts - 1) % ONS_WRAP_PERIOD + ONS_WRAP_START)
    inside = pcv < table.shape[0]
    pvalue = np.zeros_like(counts)
    pvalue[inside] = table[pcv[inside], keys[inside]]
    return counts + pvalue


def from_frame(frame, params: PTableParams) -> PTable:
    """A ``PTable`` from an ONS-layout frame written by ``to_frame`` (with any ``max_pcv``) for ``params``.

    ValueError unless the frame has every (pcv, ckey) for pcv 0..M (M >= I) and ckey 0..key_range-1, row 0 is all
    zeros, |pvalue| <= D, and rows I..M are equal (so counts >= I are served by row I)."""
    table = _dense_frame(frame)
    last, keys, d = params.stable_row, params.key_range, params.max_perturbation
    if len(frame) != table.size or table.shape[1] != keys or table.shape[0] <= last:
        raise ValueError(f"The frame must hold every pcv 0..M (M >= {last}) with every ckey 0..{keys - 1}.")
    if np.any(table[0] != 0) or np.abs(table).max() > d or np.any(table[last:] != table[last]):
        raise ValueError(f"The frame must keep 0 at 0, perturb by at most {d}, and repeat row {last} above it.")
    counts = np.stack([np.bincount(row + d, minlength=2 * d + 1) for row in table[:last + 1]])
    return PTable(params, _frozen(table[:last + 1].copy()), _frozen(counts / keys))


@functools.cache
def default_ptable() -> PTable:
    """The ptable of ``PTableParams()`` (D=3, V=2, 256 keys, js=0), built once on first use."""
    return build_ptable(PTableParams())


def __getattr__(name: str):
    """``DEFAULT_PTABLE`` is built lazily, on first access (``default_ptable()``)."""
    if name == "DEFAULT_PTABLE":
        return default_ptable()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
