"""The naive path: what a competent analyst writes today without this project.

Read only the needed columns of the cleaned cohort (the same canonical table the project queries, as Parquet) into
pandas, then compute the same quantities with row-level statsmodels/scipy estimators: one row per participant in
every model, with the same terms as the pages' defaults (age linear as an adjuster; natural splines, knots at the
participants' quantiles with patsy's ``cr``, for the prevalence and dose–response curves). Vectorised pandas
throughout, statsmodels' own ``Logit``, ``PHReg``, ``SurvfuncRight`` and ``survdiff``. The results are not shown;
only their cost is
measured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
from scipy.stats import rankdata
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight, survdiff
from statsmodels.stats.contingency_tables import StratifiedTable, Table2x2
from statsmodels.stats.proportion import proportion_confint

from analyses.bands import DEFAULT_AGE_EDGES
from analyses.stats.funnel import proportion_funnel
from analyses.stats.spc import p_chart, summarise
from analyses.stats.standardization import standard_populations

FERRITIN_CUTS = (50.0, 75.0, 100.0)
KM_TIMES = (0.5, 1.0, 2.0, 3.0, 5.0)


def _age_band(age: pd.Series) -> pd.Series:
    return pd.Series(np.searchsorted(np.array(DEFAULT_AGE_EDGES), age.to_numpy(), side="right"), index=age.index)


def _two_by_two(exposed: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.array([[np.sum(exposed & (y == 1)), np.sum(exposed & (y == 0))],
                     [np.sum(~exposed & (y == 1)), np.sum(~exposed & (y == 0))]])


def odds_ratio(parquet: str, outcome: str) -> dict:
    """Crude OR (Woolf), Mantel–Haenszel OR over age bands with Breslow–Day, and the age-adjusted OR (logistic
    regression on age, as the page adjusts by default) with its likelihood-ratio test.

    The exact conditional OR that the project also reports is left out here: ``scipy.stats.contingency.odds_ratio``
    takes 80 s at a million participants, and including it would flatter the comparison."""
    return odds_ratio_frame(pd.read_parquet(parquet, columns=["sex", "age", outcome]), outcome)


def odds_ratio_frame(df: pd.DataFrame, outcome: str) -> dict:
    """:func:`odds_ratio` on columns already read (``sex`` coded 'female'/'male', ``age``, the outcome 0/1)."""
    df = df.dropna()
    y = df[outcome].astype(np.int64).to_numpy()
    female = (df["sex"] == "female").to_numpy()
    crude = Table2x2(_two_by_two(female, y))
    band = _age_band(df["age"]).to_numpy()
    tables = [_two_by_two(female[band == b], y[band == b]) for b in np.unique(band)]
    mh = StratifiedTable([t for t in tables if t.sum(axis=1).min() > 0 and t.sum(axis=0).min() > 0])
    age = sm.add_constant(df["age"].to_numpy(dtype=float))  # the page's default adjuster: age, linear
    full = sm.Logit(y, np.column_stack([age, female.astype(float)])).fit(disp=0)
    reduced = sm.Logit(y, age).fit(disp=0)
    return {"crude": crude.oddsratio, "crude_ci": crude.oddsratio_confint(), "mh": mh.oddsratio_pooled,
            "mh_ci": mh.oddsratio_pooled_confint(),
            "breslow_day": mh.test_equal_odds().pvalue, "adjusted": np.exp(full.params[-1]),
            "lr": 2 * (full.llf - reduced.llf)}


def prevalence(parquet: str, outcome: str) -> dict:
    """Prevalence by sex and age band with Wilson CIs, a logistic natural-spline curve of age per sex with its
    pointwise CI, and the prevalence per sex standardised to the 2013 European standard population."""
    df = pd.read_parquet(parquet, columns=["sex", "age", outcome]).dropna()
    df["y"] = df[outcome].astype(np.int64)
    df["band"] = _age_band(df["age"])
    bands = df.groupby(["sex", "band"])["y"].agg(events="sum", n="count").reset_index()
    bands["low"], bands["high"] = proportion_confint(bands["events"], bands["n"], method="wilson")
    curves, standardized = {}, {}
    weights = _standard_weights(df["age"].min())
    for sex, part in df.groupby("sex"):
        design = patsy.dmatrix("cr(age, df=4, constraints='center')", part, return_type="dataframe")
        fit = sm.Logit(part["y"].to_numpy(), design.to_numpy()).fit(disp=0)
        grid = patsy.build_design_matrices([design.design_info], {"age": np.arange(18, 91)})[0]
        eta = grid @ fit.params
        se = np.sqrt(np.einsum("ij,jk,ik->i", grid, fit.cov_params(), grid))
        curves[sex] = (eta, se)
        rates = part.groupby(_age_band_of_standard(part["age"], weights))["y"].mean()
        standardized[sex] = float((rates * weights.reindex(rates.index)).sum() / weights.reindex(rates.index).sum())
    return {"bands": bands, "curves": curves, "standardized": standardized}


def _standard_weights(min_age: int) -> pd.Series:
    standard = standard_populations()["esp2013"]
    return pd.Series({g.low: g.weight for g in standard.groups if g.high is None or g.high >= min_age})


def _age_band_of_standard(age: pd.Series, weights: pd.Series) -> np.ndarray:
    lowers = weights.index.to_numpy()
    return lowers[np.searchsorted(lowers, age.to_numpy(), side="right") - 1]


def biomarker_risk(parquet: str) -> dict:
    """Among the treated: odds ratios and adjusted Cox hazard ratios by ferritin band, Kaplan–Meier by band, the
    log-rank test, and the spline dose–response of log ferritin (logistic and adjusted Cox)."""
    columns = ["treatment", "biomarker", "age", "sex", "time_years", "event"]
    df = pd.read_parquet(parquet, columns=columns).dropna()
    df = df[(df["biomarker"] > 0) & (df["time_years"] >= 0)]
    df["event"] = df["event"].astype(np.int64)
    df["band"] = np.searchsorted(np.array(FERRITIN_CUTS), df["biomarker"].to_numpy(), side="right")
    reference = len(FERRITIN_CUTS)
    adjust = patsy.dmatrix("age + C(sex) + C(treatment)", df, return_type="dataframe")  # the page's adjusters
    bands = pd.get_dummies(df["band"], prefix="band", dtype=float).drop(columns=f"band_{reference}")
    logit = sm.Logit(df["event"].to_numpy(), np.column_stack([bands.to_numpy(), adjust.to_numpy()])).fit(disp=0)
    without_intercept = np.column_stack([bands.to_numpy(), adjust.iloc[:, 1:].to_numpy()])  # Cox has no intercept
    cox = _cox(df, without_intercept)
    km = {b: SurvfuncRight(part["time_years"].to_numpy(), part["event"].to_numpy())
          for b, part in df.groupby("band")}
    km_at = {b: [s.surv_prob[np.searchsorted(s.surv_times, t, side="right") - 1] if t >= s.surv_times[0] else 1.0
                 for t in KM_TIMES] for b, s in km.items()}
    logrank = survdiff(df["time_years"].to_numpy(), df["event"].to_numpy(), df["band"].to_numpy())
    df["log_ferritin"] = np.log(df["biomarker"])
    dose = patsy.dmatrix("cr(log_ferritin, df=4, constraints='center')", df, return_type="dataframe")
    risk_curve = sm.Logit(df["event"].to_numpy(), dose.to_numpy()).fit(disp=0)
    hazard_curve = _cox(df, np.column_stack([dose.iloc[:, 1:].to_numpy(), adjust.iloc[:, 1:].to_numpy()]))
    return {"or": np.exp(logit.params[: bands.shape[1]]), "hr": np.exp(cox.params[: bands.shape[1]]),
            "km": km_at, "logrank": logrank, "risk": risk_curve.params, "hazard": hazard_curve.params}


def _cox(df: pd.DataFrame, exog: np.ndarray):
    """Breslow Cox by BFGS: PHReg's default Newton steps overflow on this cohort (levodopa's hazard ratio is about
    100) and return NaN, which an analyst would notice and fix this way."""
    return PHReg(df["time_years"].to_numpy(), exog, status=df["event"].to_numpy(), ties="breslow").fit(
        method="bfgs", maxiter=200, disp=0)


def spc(parquet: str, measure: str) -> dict:
    """A p-chart of a measure by calendar year (the spc page's default view): the rows in the denominator counted
    per year in pandas, then the same chart and Making Data Count summary."""
    df = pd.read_parquet(parquet, columns=[f"{measure}_in", f"{measure}_num", f"{measure}_period"])
    df = df[df[f"{measure}_in"]]
    per_year = df.groupby(f"{measure}_period")[f"{measure}_num"].agg(events="sum", n="count").sort_index()
    chart = p_chart(per_year["events"], per_year["n"], per_year.index.astype(int).astype(str).tolist())
    return {"points": chart.points, "summary": summarise(chart, "up").sentence}


def funnel(parquet: str, measure: str) -> dict:
    """A funnel plot of a measure by site (the funnel page's default view): counts per site in pandas, then the
    same exact binomial limits around the overall proportion."""
    df = pd.read_parquet(parquet, columns=["site", f"{measure}_in", f"{measure}_num"])
    df = df[df[f"{measure}_in"] & df["site"].notna()]
    per_site = df.groupby("site")[f"{measure}_num"].agg(events="sum", n="count")
    return {"units": proportion_funnel(per_site["events"], per_site["n"], per_site.index.tolist()).units}


def diagnostic(parquet: str, outcome: str, test: str, threshold: float) -> dict:
    """Accuracy of a numeric test at a threshold against the outcome (the diagnostic page's default view): the 2×2
    with Clopper–Pearson CIs and the likelihood ratios, then the empirical ROC curve and its AUC with a DeLong CI
    computed from midranks over the rows (Sun & Xu 2014, pROC's fast algorithm)."""
    df = pd.read_parquet(parquet, columns=[outcome, test]).dropna()
    y = df[outcome].astype(bool).to_numpy()
    value = df[test].to_numpy(dtype=float)
    positive = value >= threshold
    tp, fn = int(np.sum(positive & y)), int(np.sum(~positive & y))
    fp, tn = int(np.sum(positive & ~y)), int(np.sum(~positive & ~y))
    sensitivity = proportion_confint(tp, tp + fn, method="beta")
    specificity = proportion_confint(tn, tn + fp, method="beta")
    lr_positive = (tp / (tp + fn)) / (fp / (fp + tn))
    cases, controls = value[y], value[~y]
    thresholds = np.unique(value)
    roc = (1 - np.searchsorted(np.sort(cases), thresholds) / cases.size,
           np.searchsorted(np.sort(controls), thresholds) / controls.size)
    auc, se = _delong(cases, controls)
    return {"2x2": (tp, fp, fn, tn), "sensitivity": sensitivity, "specificity": specificity,
            "lr_positive": lr_positive, "roc": roc, "auc": auc, "auc_ci": (auc - 1.96 * se, auc + 1.96 * se)}


def _delong(cases: np.ndarray, controls: np.ndarray) -> tuple[float, float]:
    m, n = cases.size, controls.size
    combined = rankdata(np.concatenate([cases, controls]))
    placement_cases = (combined[:m] - rankdata(cases)) / n
    placement_controls = 1 - (combined[m:] - rankdata(controls)) / m
    auc = float(placement_cases.mean())
    return auc, float(np.sqrt(placement_cases.var(ddof=1) / m + placement_controls.var(ddof=1) / n))


def risk_factors(parquet: str, outcome: str, factors: tuple[str, ...]) -> dict:
    """Crude and mutually adjusted odds ratios of the outcome for each factor (the risk-factor page's default view:
    sex, age linear and the cohort's yes/no variables), with a likelihood-ratio test per factor as R's
    ``drop1(test = "LRT")``: one row-level logistic fit for the full model, one per factor alone and one per factor
    dropped."""
    df = pd.read_parquet(parquet, columns=[outcome, *factors]).dropna()
    y = df[outcome].astype(np.int64).to_numpy()
    design = pd.DataFrame({name: (df[name] == "female") if name == "sex" else df[name] for name in factors},
                          dtype=float)
    full = sm.Logit(y, sm.add_constant(design.to_numpy())).fit(disp=0)
    crude, lr = {}, {}
    for name in factors:
        crude[name] = np.exp(sm.Logit(y, sm.add_constant(design[[name]].to_numpy())).fit(disp=0).params[1])
        reduced = sm.Logit(y, sm.add_constant(design.drop(columns=name).to_numpy())).fit(disp=0)
        lr[name] = 2 * (full.llf - reduced.llf)
    return {"adjusted": np.exp(full.params[1:]), "ci": np.exp(full.conf_int()[1:]), "crude": crude, "lr": lr}


NAIVE = {"odds-ratio": odds_ratio, "prevalence": prevalence, "biomarker-risk": biomarker_risk, "spc": spc,
         "funnel": funnel, "diagnostic": diagnostic, "risk-factors": risk_factors}
# the measure of the demo the spc and funnel analyses show by default (the mapping's first)
DEMO_MEASURE = "measure_ferritin_before_dopaminergic"
# the demo's defaults of the diagnostic page (PLMS index at the mapping's threshold) and the risk-factor page
DEMO_TEST, DEMO_THRESHOLD = "cov_plms_index", 15.0
DEMO_FACTORS = ("sex", "age", "exclude_pregnancy", "exclude_kidney", "exclude_iron_deficiency",
                "exclude_antidepressant", "cov_antihistamine", "cov_neuropathy", "cov_family_history")
