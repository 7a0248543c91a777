"""Survival statistics from aggregated risk-set data: Kaplan–Meier, log-rank, Cox regression, PH test.

Inputs are never participant rows. Each input row is one (time, event status, covariate pattern) with an
integer ``count``: a frequency weight, "this row stands for ``count`` identical participants". Every function
returns what the same method gives on the replicated participant rows (tests check this against row-level
statsmodels and against R ``survival`` 3.5-3 pinned in ``tests/reference``).

Conventions
- Right-censored data; ``event`` is 1 (event) or 0 (censored). At a tied time events precede censorings, so
  participants censored at t are in the risk set at t.
- Kaplan–Meier ``std_err`` is the Greenwood standard error of S(t) itself (R ``summary.survfit``'s
  ``std.err``, Stata's). R's ``survfit()$std.err`` is the SE of -log S(t), i.e. ``std_err / survival``.
- Efron ties treat a row with count c as c tied participants (Efron on the replicated rows). R's
  ``coxph(..., weights=count, ties="efron")`` applies the correction per *row* and averages the weights, so
  it differs from both; ``coxph`` on replicated rows is the reference. Breslow is identical either way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, stats

CONF_TYPES = ("log-log", "log", "plain")
TIES = ("breslow", "efron")
TRANSFORMS = ("km", "rank", "identity", "log")


class SurvivalDataError(ValueError):
    """Input no survival statistic can be computed from: empty, malformed, or without events."""


# --------------------------------------------------------------------------------------------------- inputs


def _inputs(time, event, count) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated (time, event, count) for rows with count > 0, and the mask of those rows."""
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event).ravel()
    c = np.asarray(count, dtype=float).ravel()
    if not t.size == e.size == c.size:
        raise SurvivalDataError(f"time, event and count differ in length ({t.size}, {e.size}, {c.size})")
    if t.size == 0:
        raise SurvivalDataError("no rows: the selection is empty")
    if not np.isfinite(t).all():
        raise SurvivalDataError("time has missing or infinite values")
    try:
        e = e.astype(float)
    except (TypeError, ValueError) as exc:
        raise SurvivalDataError("event must be 0/1 or boolean") from exc
    if not np.isin(e, (0.0, 1.0)).all():
        raise SurvivalDataError("event must be 0/1 or boolean (1 = event, 0 = censored)")
    if not np.isfinite(c).all() or (c < 0).any() or (c != np.round(c)).any():
        raise SurvivalDataError("count must be non-negative integers (frequency weights)")
    keep = c > 0
    if not keep.any():
        raise SurvivalDataError("no participants: every count is zero")
    return t[keep], e[keep].astype(bool), c[keep], keep


def _revcumsum(a: np.ndarray) -> np.ndarray:
    """Sums over rows at or after each row (arrays sorted by ascending time): risk-set totals."""
    return np.cumsum(a[::-1], axis=0)[::-1]


def _risk_table(t, e, c) -> tuple[np.ndarray, ...]:
    """Distinct times with numbers at risk, events and censorings (replicated-row counts)."""
    times, inv = np.unique(t, return_inverse=True)
    events = np.bincount(inv, weights=c * e, minlength=times.size)
    total = np.bincount(inv, weights=c, minlength=times.size)
    return times, _revcumsum(total), events, total - events


# ---------------------------------------------------------------------------------------------- Kaplan–Meier


def _confint(surv, se_log, conf_type: str, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI for S(t) from the SE of log S(t), as R's survfit_confint (NaN where undefined)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = z * se_log * surv
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log":
            s = np.where(surv > 0, surv, np.nan)
            return np.exp(np.log(s) - z * se_log), np.minimum(np.exp(np.log(s) + z * se_log), 1.0)
        if conf_type == "log-log":
            # undefined at S = 1 (no events yet) and S = 0, as in R and Stata
            s = np.where((surv > 0) & (surv < 1), surv, np.nan)
            loglog, half = np.log(-np.log(s)), z * se_log / np.log(s)
            return np.exp(-np.exp(loglog - half)), np.exp(-np.exp(loglog + half))
    raise ValueError(f"conf_type must be one of {CONF_TYPES}, not {conf_type!r}")


def kaplan_meier(time, event, count, conf_type: str = "log-log", alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier curve with Greenwood SEs, one row per distinct (event or censoring) time.

    Columns ``time, at_risk, events, censored, survival, std_err, ci_low, ci_high``; ``std_err`` is the SE of
    S(t). ``conf_type``: "log-log" (default, Stata's), "log" (R's default) or "plain" (clipped to [0, 1]).
    CIs are NaN where the scale is undefined (log-log at S = 1; all scales at S = 0), as in R. Without any
    event the curve is 1 throughout.
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, not {conf_type!r}")
    t, e, c, _ = _inputs(time, event, count)
    times, n, d, cens = _risk_table(t, e, c)
    surv = np.cumprod(1.0 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Greenwood: Var(log S) = sum d / (n (n - d)); infinite once everyone at risk has the event
        se_log = np.sqrt(np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0)))
        std_err = surv * se_log
    lo, hi = _confint(surv, se_log, conf_type, stats.norm.ppf(1 - alpha / 2))
    return pd.DataFrame({"time": times, "at_risk": n.astype(np.int64), "events": d.astype(np.int64),
                         "censored": cens.astype(np.int64), "survival": surv, "std_err": std_err,
                         "ci_low": lo, "ci_high": hi})


def survival_at(km_frame: pd.DataFrame, at_times) -> pd.DataFrame:
    """Read a ``kaplan_meier`` frame at given times (right-continuous step function).

    Columns ``time, survival, std_err, ci_low, ci_high, at_risk``; ``at_risk`` counts participants with
    time >= t (R ``summary(survfit, times=)``'s n.risk). Before the first observed time S = 1 with CI [1, 1]
    (as R); after the last observed time the estimate is undefined: NaN with at_risk 0 (R drops such times
    unless ``extend=TRUE``, which would carry the last value forward).
    """
    at = np.asarray(at_times, dtype=float).ravel()
    times = km_frame["time"].to_numpy(dtype=float)
    idx = np.searchsorted(times, at, side="right") - 1
    before, beyond = idx < 0, at > times[-1]
    out = {"time": at}
    for col, start in (("survival", 1.0), ("std_err", 0.0), ("ci_low", 1.0), ("ci_high", 1.0)):
        values = km_frame[col].to_numpy(dtype=float)[np.clip(idx, 0, None)]
        out[col] = np.where(before, start, np.where(beyond, np.nan, values))
    nxt = np.searchsorted(times, at, side="left")
    at_risk = km_frame["at_risk"].to_numpy()
    out["at_risk"] = np.where(nxt < times.size, at_risk[np.clip(nxt, None, times.size - 1)], 0)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------------------- log-rank


def logrank_test(group, time, event, count) -> tuple[float, int, float]:
    """Log-rank test of equal survival across groups: (chi-square, df, p), R ``survdiff`` with rho = 0.

    Groups with no expected events are left out and df = (groups kept) - 1, as in R.
    """
    t, e, c, keep = _inputs(time, event, count)
    g = pd.Series(np.asarray(group, dtype=object).ravel())
    if g.size != keep.size:
        raise SurvivalDataError("group differs in length from time")
    g = g[keep]
    if g.isna().any():
        raise SurvivalDataError("group has missing values")
    codes, levels = pd.factorize(g, sort=True)
    if levels.size < 2:
        raise SurvivalDataError("the log-rank test needs at least two groups")
    times, inv = np.unique(t, return_inverse=True)
    k = levels.size
    cell = inv * k + codes
    d = np.bincount(cell, weights=c * e, minlength=times.size * k).reshape(-1, k)
    n = _revcumsum(np.bincount(cell, weights=c, minlength=times.size * k).reshape(-1, k))
    has_event = d.sum(axis=1) > 0
    if not has_event.any():
        raise SurvivalDataError("no events: the log-rank test is undefined")
    d, n = d[has_event], n[has_event]
    dj, nj = d.sum(axis=1), n.sum(axis=1)
    observed, expected = d.sum(axis=0), (n * (dj / nj)[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(nj > 1, dj * (nj - dj) / (nj * (nj - 1)), 0.0)
    var = np.diag((n * h[:, None]).sum(axis=0)) - (n * (h / nj)[:, None]).T @ n
    used = expected > 0
    if used.sum() < 2:
        raise SurvivalDataError("fewer than two groups have anyone at risk at an event time")
    diff = (observed - expected)[used][1:]
    statistic = float(diff @ linalg.solve(var[np.ix_(used, used)][1:, 1:], diff, assume_a="sym"))
    df = int(used.sum() - 1)
    return statistic, df, float(stats.chi2.sf(statistic, df))


# ------------------------------------------------------------------------------------------------------ Cox


@dataclass(frozen=True)
class _RiskSets:
    """The rows, indexed by distinct time, shared by every likelihood evaluation. Rows keep their input order: every
    risk-set sum is a sum per distinct time (``np.bincount`` over ``inv``) followed by a cumulative sum over times,
    so no row is sorted or copied per evaluation and no temporary has more than one column."""

    x: np.ndarray  # rows × p, centred (weighted), column-major so that each column is contiguous
    w: np.ndarray  # counts
    event: np.ndarray  # bool
    times: np.ndarray  # distinct times, ascending
    inv: np.ndarray  # distinct-time index of each row
    ev: np.ndarray  # indices (into times) of event times
    deaths: np.ndarray  # replicated events per event time
    event_rows: np.ndarray = field(repr=False)  # indices of the rows with an event
    wx_events: np.ndarray = field(repr=False)  # sum over events of count * x
    # Efron only: f = l / d_j for l = 0..d_j-1, one entry per replicated event, grouped by event time
    efron_f: np.ndarray | None = field(default=None, repr=False)

    @property
    def efron(self) -> bool:
        return self.efron_f is not None

    def per_time(self, values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Sums of ``values`` (one per row, or per row of ``rows``) per distinct time."""
        inv = self.inv if rows is None else self.inv[rows]
        return np.bincount(inv, weights=values, minlength=self.times.size)

    def per_time_columns(self, weights: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Sums of ``weights × x`` per distinct time, one column per covariate (times × p)."""
        x = self.x if rows is None else self.x[rows]
        return np.column_stack([self.per_time(x[:, k] * weights, rows) for k in range(x.shape[1])])


@dataclass(frozen=True)
class _Evaluation:
    loglik: float
    score: np.ndarray
    info: np.ndarray
    wr: np.ndarray  # count * exp(eta) per row
    s1: np.ndarray  # risk-set sums of wr * x at event times
    e1: np.ndarray  # sums of wr * x over the events at each event time
    coefs: tuple[np.ndarray, ...]  # a, b, c0, c1, c2 per event time (see _tie_coefficients)


def _risk_sets(x: np.ndarray, t, e, c, efron: bool) -> _RiskSets:
    """The risk-set structure of the rows; ``x`` (column-major, the caller's own copy) is centred in place."""
    x -= (c @ x) / c.sum()  # the weighted means; centring only improves numerics, estimates are invariant
    times, inv = np.unique(t, return_inverse=True)
    deaths = np.bincount(inv, weights=c * e, minlength=times.size)
    ev = np.flatnonzero(deaths > 0)
    efron_f = None
    if efron:
        d = deaths[ev].astype(np.int64)
        efron_f = (np.arange(d.sum()) - np.repeat(np.cumsum(d) - d, d)) / np.repeat(d, d)
    return _RiskSets(x=x, w=c, event=e, times=times, inv=inv, ev=ev, deaths=deaths[ev],
                     event_rows=np.flatnonzero(e), wx_events=x.T @ (c * e), efron_f=efron_f)


def _weighted_gram(x: np.ndarray, weights: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """``x' diag(weights) x`` in blocks of rows, so that no rows × p temporary is allocated (fresh memory is
    slow to fault in on some hosts, and the blocks stay in cache)."""
    gram = np.zeros((x.shape[1], x.shape[1]))
    for start in range(0, x.shape[0], block):
        part = x[start:start + block]
        gram += part.T @ (part * weights[start:start + block, None])
    return gram


def _tie_coefficients(rs: _RiskSets, s0, e0) -> tuple[float, tuple[np.ndarray, ...]]:
    """Per event time j: the log-likelihood denominator term and the coefficients a, b, c0, c1, c2.

    With d_j replicated events, f_l = l / d_j (l = 0..d_j-1; Efron) or f_l = 0 (Breslow) and
    den_l = S0_j - f_l E0_j: a = sum 1/den, b = sum f/den, c0 = sum 1/den², c1 = sum f/den², c2 = sum f²/den².
    Score and information are linear in these (see _evaluate), so no loop over individuals is needed.
    """
    d = rs.deaths
    if not rs.efron:
        a = d / s0
        zero = np.zeros_like(a)
        return float(d @ np.log(s0)), (a, zero, a / s0, zero, zero)
    # one term per replicated event (the total number of events), vectorised over all event times
    di = d.astype(np.int64)
    f = rs.efron_f
    den = np.repeat(s0, di) - f * np.repeat(e0, di)
    inv_den = 1.0 / den
    f_den = f * inv_den
    first = np.cumsum(di) - di
    sums = tuple(np.add.reduceat(v, first)
                 for v in (inv_den, f_den, inv_den * inv_den, f_den * inv_den, f_den * f_den))
    return float(np.log(den).sum()), sums


def _information(rs: _RiskSets, wr, s1, e1, coefs, weight=None) -> np.ndarray:
    """Sum over event times of weight_j × (Efron/Breslow information contribution at j).

    sum_j a_j S2_j = X' diag(wr × A) X with A_i = sum of a_j over event times t_j <= t_i (risk sets are
    nested), which avoids forming the p×p risk-set sums S2_j.
    """
    a, b, c0, c1, c2 = coefs if weight is None else (v * weight for v in coefs)
    per_time = np.zeros(rs.times.size)
    per_time[rs.ev] = a
    row_weight = np.cumsum(per_time)[rs.inv]
    if rs.efron:
        per_time[:] = 0.0
        per_time[rs.ev] = b
        row_weight = row_weight - rs.event * per_time[rs.inv]
    info = _weighted_gram(rs.x, wr * row_weight) - (s1 * c0[:, None]).T @ s1
    if rs.efron:
        cross = (s1 * c1[:, None]).T @ e1
        info += cross + cross.T - (e1 * c2[:, None]).T @ e1
    return info


def _evaluate(rs: _RiskSets, beta: np.ndarray) -> _Evaluation:
    """Log partial likelihood, score and information at beta, by cumulative sums over sorted rows."""
    eta = rs.x @ beta
    eta -= eta.max()  # the shift cancels in the likelihood and keeps exp() finite
    wr = rs.w * np.exp(eta)
    s0 = _revcumsum(rs.per_time(wr))[rs.ev]
    s1 = _revcumsum(rs.per_time_columns(wr))[rs.ev]
    wre = wr[rs.event_rows]
    e0 = rs.per_time(wre, rs.event_rows)[rs.ev]
    e1 = rs.per_time_columns(wre, rs.event_rows)[rs.ev]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_den, coefs = _tie_coefficients(rs, s0, e0)
        a, b = coefs[0], coefs[1]
        loglik = float((rs.w * rs.event) @ eta) - log_den
        score = rs.wx_events - a @ s1 + b @ e1
        info = _information(rs, wr, s1, e1, coefs)
    if not ((s0 > 0).all() and np.isfinite(loglik) and np.isfinite(info).all()):
        # exp() underflowed for whole risk sets: beta is far out (monotone likelihood); the caller halves
        loglik = -np.inf
    return _Evaluation(loglik, score, info, wr, s1, e1, coefs)


def _solve_pd(info: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
    try:
        return linalg.cho_solve(linalg.cho_factor(info), rhs)
    except (linalg.LinAlgError, ValueError):  # ValueError: non-finite entries
        return None


def _aliased(rs: _RiskSets, info0: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Columns without an estimate: constant over every risk set (all rows from the first event time on), or
    linear combinations of earlier columns (R drops the later ones too), i.e. their Schur complement in the
    null information is ~0 relative to their own diagonal."""
    kept: list[int] = []
    out = np.ptp(rs.x[rs.inv >= rs.ev[0]], axis=0) == 0
    for k in np.flatnonzero(~out):
        diag = info0[k, k]
        if kept and diag > 0:
            block = info0[np.ix_(kept, kept)]
            resid = diag - info0[k, kept] @ linalg.solve(block, info0[kept, k], assume_a="pos")
        else:
            resid = diag
        if not diag > 0 or resid <= tol * diag:
            out[k] = True
        else:
            kept.append(k)
    return out


@dataclass(frozen=True)
class CoxResult:
    """A Cox proportional hazards fit on aggregated rows (identical to the fit on replicated rows).

    ``params``/``bse``/``cov`` are NaN for aliased terms (constant or collinear: no estimate, as R's NA).
    ``infinite`` lists terms whose estimate diverges (monotone likelihood, e.g. a group without events):
    their finite-looking numbers are not estimates and ``hazard_ratios()`` reports them as NaN.
    ``converged`` means the Newton criterion was met (as R, a diverging coefficient can meet it); ``ok`` is
    the one-word answer. Score (at beta = 0), Wald and likelihood-ratio tests are R's, with df = estimated
    terms.
    """

    names: tuple[str, ...]
    params: np.ndarray
    cov: np.ndarray
    bse: np.ndarray
    loglik: float
    loglik_null: float
    lr_statistic: float
    lr_pvalue: float
    score_statistic: float
    score_pvalue: float
    wald_statistic: float
    wald_pvalue: float
    df: int
    n: int
    events: int
    ties: str
    converged: bool
    iterations: int
    aliased: tuple[str, ...] = ()
    infinite: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # the rows of the estimated terms and the evaluation at the estimate, kept for the PH test
    fitted: tuple[_RiskSets, _Evaluation] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when every coefficient is a finite, converged estimate."""
        return self.converged and not self.aliased and not self.infinite

    def hazard_ratios(self, alpha: float = 0.05) -> pd.DataFrame:
        """Per term: coef, se, HR = exp(coef), Wald CI, z, p, and flag ('aliased'/'infinite'/'')."""
        z = stats.norm.ppf(1 - alpha / 2)
        flag = np.array(["aliased" if n in self.aliased else "infinite" if n in self.infinite else ""
                         for n in self.names])
        coef = np.where(flag == "", self.params, np.nan)
        se = np.where(flag == "", self.bse, np.nan)
        return pd.DataFrame({"coef": coef, "se": se, "hr": np.exp(coef), "ci_low": np.exp(coef - z * se),
                             "ci_high": np.exp(coef + z * se), "z": coef / se,
                             "p": 2 * stats.norm.sf(np.abs(coef / se)), "flag": flag},
                            index=pd.Index(self.names, name="term"))


def _design(X, names, keep: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """The covariates of the kept rows as a private column-major copy (centred in place later; the caller's data
    are never written), copied column by column so that each copy is contiguous."""
    if isinstance(X, pd.DataFrame):
        names = tuple(names or map(str, X.columns))
    source = np.asarray(X)
    source = source.reshape(-1, 1) if source.ndim == 1 else source
    if source.ndim != 2 or source.shape[0] != keep.size:
        raise SurvivalDataError(f"X must have one row per input row ({keep.size}), got shape {source.shape}")
    if source.shape[1] == 0:
        raise SurvivalDataError("X has no covariates")
    every = keep.all()
    x = np.empty((int(keep.sum()), source.shape[1]), order="F")
    for k in range(source.shape[1]):
        column = np.asarray(source[:, k], dtype=float)
        x[:, k] = column if every else column[keep]
    if not np.isfinite(x).all():
        raise SurvivalDataError("X has missing or infinite values")
    names = tuple(names) if names is not None else tuple(f"x{i}" for i in range(x.shape[1]))
    if len(names) != x.shape[1]:
        raise SurvivalDataError(f"{len(names)} names for {x.shape[1]} covariates")
    return x, names


def _prepare(X, time, event, count, ties: str, names):
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, not {ties!r}")
    t, e, c, keep = _inputs(time, event, count)
    x, names = _design(X, names, keep)
    if not e.any():
        raise SurvivalDataError("no events: a Cox model cannot be fitted")
    return _risk_sets(x, t, e, c, ties == "efron"), names


def _newton(rs: _RiskSets, max_iter: int, tol: float, null: _Evaluation):
    """Newton–Raphson from beta = 0 (whose evaluation is ``null``) with step-halving (as R coxph).

    Converged when the Newton decrement (score × step, i.e. squared distance in SE units) of the last step
    is <= tol; the step is taken, so the remaining error is of the order of its square.
    """
    beta = np.zeros(rs.x.shape[1])
    cur = null
    notes: list[str] = []
    for iteration in range(1, max_iter + 1):
        step = _solve_pd(cur.info, cur.score)
        if step is None:
            notes.append("information matrix became singular during the iterations")
            return beta, cur, False, iteration - 1, notes
        decrement = float(step @ cur.score)
        new = _evaluate(rs, beta + step)
        for _ in range(40):
            if new.loglik >= cur.loglik - 1e-12 * abs(cur.loglik):
                break
            step = step / 2
            new = _evaluate(rs, beta + step)
        else:
            notes.append("step-halving could not improve the likelihood")
            return beta, cur, False, iteration, notes
        beta, cur = beta + step, new
        if decrement <= tol:
            return beta, cur, True, iteration, notes
    notes.append(f"no convergence in {max_iter} iterations")
    return beta, cur, False, max_iter, notes


def cox_fit(X, time, event, count, ties: str = "breslow", names=None, max_iter: int = 50,
            tol: float = 1e-12) -> CoxResult:
    """Cox proportional hazards regression on aggregated rows (Newton–Raphson with step-halving).

    ``X``: covariates per aggregated row (array or DataFrame, whose columns name the terms); ``count``:
    frequency weights. ``ties``: "breslow" (= R coxph / statsmodels PHReg) or "efron" on the replicated rows
    (see the module docstring for R's weighted Efron). Aliased and infinite terms are flagged, not raised.
    """
    rs, names = _prepare(X, time, event, count, ties, names)
    n, events = int(rs.w.sum()), int(rs.deaths.sum())
    p = len(names)
    null = _evaluate(rs, np.zeros(p))
    aliased = _aliased(rs, null.info)
    notes: list[str] = []
    if aliased.any():
        notes.append("no estimate (constant in every risk set or collinear with earlier terms): "
                     + ", ".join(np.asarray(names)[aliased]))
    params, cov = np.full(p, np.nan), np.full((p, p), np.nan)
    used = ~aliased
    if not used.any():
        return CoxResult(names, params, cov, np.full(p, np.nan), null.loglik, null.loglik, 0.0, 1.0, 0.0,
                         1.0, 0.0, 1.0, 0, n, events, ties, False, 0, names, (), tuple(notes))
    rs_used = _risk_sets_subset(rs, used)
    null_used = null if used.all() else _evaluate(rs_used, np.zeros(used.sum()))
    score_stat = float(null_used.score @ linalg.solve(null_used.info, null_used.score, assume_a="pos"))
    beta, fit, converged, iterations, fit_notes = _newton(rs_used, max_iter, tol, null_used)
    notes += fit_notes
    cov_used, infinite = _covariance_and_divergence(fit, beta)
    if infinite.any():
        notes.append("monotone likelihood, coefficient tends to ±infinity (e.g. a group with no events): "
                     + ", ".join(np.asarray(names)[used][infinite]))
    params[used] = beta
    cov[np.ix_(used, used)] = cov_used
    df = int(used.sum())
    lr = 2.0 * (fit.loglik - null.loglik)
    wald = float(beta @ fit.info @ beta)
    return CoxResult(
        names=tuple(names), params=_frozen(params), cov=_frozen(cov), bse=_frozen(np.sqrt(np.diag(cov))),
        loglik=fit.loglik, loglik_null=null.loglik, lr_statistic=lr, lr_pvalue=float(stats.chi2.sf(lr, df)),
        score_statistic=score_stat, score_pvalue=float(stats.chi2.sf(score_stat, df)),
        wald_statistic=wald, wald_pvalue=float(stats.chi2.sf(wald, df)), df=df, n=n, events=events,
        ties=ties, converged=converged, iterations=iterations,
        aliased=tuple(str(s) for s in np.asarray(names)[aliased]),
        infinite=tuple(str(s) for s in np.asarray(names)[used][infinite]),
        notes=tuple(notes), fitted=(rs_used, fit))


def _covariance_and_divergence(fit: _Evaluation, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse information, and which coefficients diverge (monotone likelihood).

    The next Newton step at the solution is ~0 for a finite MLE and stays ~constant (1 / covariate gap)
    while a coefficient runs to infinity, as R's coxph check. If the information is no longer positive
    definite (its diverging direction has vanished numerically), the step comes from least squares and the
    covariance of the remaining terms from their own block.
    """
    cov = _inverse(fit.info)
    if np.isfinite(cov).all():
        next_step = cov @ fit.score
    else:
        next_step = np.linalg.lstsq(fit.info, fit.score, rcond=1e-12)[0]
    infinite = (np.abs(next_step) > 1e-8) & (np.abs(next_step) > 1e-3 * np.abs(beta))
    if not np.isfinite(cov).all() and not infinite.all():
        finite = ~infinite
        cov = np.full_like(cov, np.nan)
        cov[np.ix_(finite, finite)] = _inverse(fit.info[np.ix_(finite, finite)])
    return cov, infinite


def _risk_sets_subset(rs: _RiskSets, used: np.ndarray) -> _RiskSets:
    if used.all():
        return rs
    return dataclasses.replace(rs, x=np.asfortranarray(rs.x[:, used]), wx_events=rs.wx_events[used])


def _inverse(info: np.ndarray) -> np.ndarray:
    inverse = _solve_pd(info, np.eye(info.shape[0]))
    return np.full(info.shape, np.nan) if inverse is None else inverse


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


# ------------------------------------------------------------------------------------- proportional hazards


@dataclass(frozen=True)
class PHTest:
    """Score tests of proportional hazards: one row per term (df 1) and GLOBAL (df = number of terms)."""

    table: pd.DataFrame  # index term/GLOBAL; columns chisq, df, p
    transform: str
    notes: tuple[str, ...] = ()


def _time_transform(rs: _RiskSets, transform: str) -> np.ndarray:
    """g(t) at each event time, on the replicated rows (as R cox.zph computes it)."""
    t = rs.times[rs.ev]
    if transform == "identity":
        return t
    if transform == "log":
        if (t <= 0).any():
            raise SurvivalDataError("transform='log' needs positive event times")
        return np.log(t)
    total = rs.per_time(rs.w)
    if transform == "rank":
        # average rank of the tied replicated rows at t, among all rows (events and censorings)
        return (np.cumsum(total) - total + (total + 1) / 2)[rs.ev]
    if transform == "km":
        # 1 - left-continuous KM, S(t-)
        at_risk = _revcumsum(total)
        deaths = np.zeros(rs.times.size)
        deaths[rs.ev] = rs.deaths
        surv = np.cumprod(1.0 - deaths / at_risk)
        return 1.0 - np.concatenate(([1.0], surv[:-1]))[rs.ev]
    raise ValueError(f"transform must be one of {TRANSFORMS}, not {transform!r}")


def proportional_hazards_test(fit: CoxResult, X=None, time=None, event=None, count=None,
                              transform: str = "km") -> PHTest:
    """Grambsch–Therneau test as R ``cox.zph(fit, transform, terms=FALSE)`` (survival 3.x).

    Score test at (beta-hat, theta = 0) for beta + theta g(t) with the full 2p × 2p information matrix. Pass the
    same data ``fit`` was estimated on, or no data: the fit's own rows are used. Aliased terms are left out (as R).
    g(t) is "km" (1 - KM(t-)), "rank", "identity" or "log", on the replicated rows.
    """
    notes = list(fit.notes)
    names = np.asarray(fit.names)
    used = ~np.isin(names, fit.aliased)
    beta = np.asarray(fit.params)[used]
    if X is None:
        if fit.fitted is None:
            raise SurvivalDataError("the fit estimated nothing; there are no rows to test")
        rs, ev = fit.fitted
    else:
        rs, _ = _prepare(X, time, event, count, fit.ties, fit.names)
        rs = _risk_sets_subset(rs, used)
        ev = _evaluate(rs, beta)
    g = _time_transform(rs, transform)
    g = g - (rs.deaths @ g) / rs.deaths.sum()  # centring as R; the test is invariant to it
    a, b = ev.coefs[0], ev.coefs[1]
    wx_event_times = rs.per_time_columns(rs.w[rs.event_rows], rs.event_rows)[rs.ev]
    u_theta = g @ wx_event_times - (g * a) @ ev.s1 + (g * b) @ ev.e1
    p = beta.size
    imat = np.empty((2 * p, 2 * p))
    imat[:p, :p] = ev.info
    imat[:p, p:] = imat[p:, :p] = _information(rs, ev.wr, ev.s1, ev.e1, ev.coefs, g)
    imat[p:, p:] = _information(rs, ev.wr, ev.s1, ev.e1, ev.coefs, g * g)
    u = np.concatenate((np.zeros(p), u_theta))  # score for beta is zero at the MLE (R sets it so)
    chisq = []
    for k in range(p):
        kk = np.r_[np.arange(p), p + k]
        chisq.append(float(u[kk] @ linalg.solve(imat[np.ix_(kk, kk)], u[kk], assume_a="sym")))
    chisq.append(float(u @ linalg.solve(imat, u, assume_a="sym")))
    df = np.r_[np.ones(p, dtype=np.int64), p]
    if fit.infinite or not fit.converged:
        notes.append("the Cox fit has infinite or unconverged coefficients: the test is not meaningful")
    table = pd.DataFrame({"chisq": chisq, "df": df, "p": stats.chi2.sf(chisq, df)},
                         index=pd.Index([*np.asarray(names)[used], "GLOBAL"], name="term"))
    return PHTest(table, transform, tuple(notes))
