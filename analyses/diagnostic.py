"""Diagnostic accuracy of an index test against a reference standard (PLMS index ≥ 15 against RLS on the demo).

The reference standard is a mapped outcome; the test is any binary variable, or a numeric one with a threshold
(positive when the value is at or above it). One aggregation query returns cases and non-cases per test value (and
stratum); the 2×2 table, each stratum's table and the ROC curve are released from it as cells of their own, and every
measure is computed from those counts (``analyses.stats.diagnostic``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analyses.bands import AgeBands
from analyses.context import AnalysisContext
from analyses.results import AnalysisResult, Estimate, ResultBuilder
from analyses.stats.diagnostic import Accuracy, accuracy_from_counts, predictive_values_at, roc_from_counts
from analyses.variables import SEX_GROUPS, AnalysisInputError, Variable, resolve
from queries.aggregates import pattern_counts, round_significant, with_known

TWO_BY_TWO_MEASURES = ("sensitivity", "specificity", "ppv", "npv", "lr_positive", "lr_negative", "accuracy", "dor",
                       "youden")
MEASURE_LABELS = {"sensitivity": "Sensitivity", "specificity": "Specificity", "ppv": "Positive predictive value",
                  "npv": "Negative predictive value", "lr_positive": "Positive likelihood ratio",
                  "lr_negative": "Negative likelihood ratio", "accuracy": "Accuracy", "dor": "Diagnostic odds ratio",
                  "youden": "Youden index", "auc": "Area under the ROC curve"}
METHODS = {"lr_positive": "Simel et al. (1991) 95% CI", "lr_negative": "Simel et al. (1991) 95% CI",
           "dor": "log (Woolf) 95% CI", "youden": "limits of sensitivity and specificity added (as epiR)",
           "auc": "empirical ROC; DeLong 95% CI (as pROC)"}
TEST_COLUMN = "test_value"


@dataclass(frozen=True)
class DiagnosticOptions:
    outcome: str | None = None  # the reference standard; None: the case definition
    test: str | None = None  # a binary or numeric variable; None: the first numeric covariate
    threshold: float | None = None  # numeric test: positive at or above it; None: the mapping's, else Youden-optimal
    strata: str | None = None  # "age" (age bands) or a categorical variable, for per-stratum accuracy
    prevalence: float | None = None  # a prevalence (0-1) at which to give PPV and NPV too
    lower_is_positive: bool = False  # numeric test: positive at or below the threshold (e.g. a low ferritin)
    age_bands: AgeBands = AgeBands()


@dataclass(frozen=True)
class DiagnosticDetails:
    """What only the diagnostic-accuracy analysis reports (flattened into the CLI JSON beside the common keys)."""

    threshold: float | None  # a numeric test is positive at or above it (at or below: ``lower_is_positive``)
    test: str
    outcome: str  # the reference standard
    lower_is_positive: bool
    stratified_by: str | None


@dataclass(frozen=True)
class _Setup:
    outcome: str
    outcome_label: str
    test: Variable
    strata: Variable | None
    declared_threshold: float | None = None  # the mapping's clinical threshold of a numeric test covariate


def diagnostic(ctx: AnalysisContext, opts: DiagnosticOptions = DiagnosticOptions()) -> AnalysisResult:
    """Accuracy of ``opts.test`` against ``opts.outcome`` in the filtered cohort (see the module docstring)."""
    setup = _setup(ctx, opts)
    table = ctx.table()
    value = table[setup.test.column]
    if setup.test.kind == "numeric":
        value = value.cast("float64")
        if ctx.policy.continuous_digits is not None:
            value = round_significant(value, ctx.policy.continuous_digits)
    keyed = table.mutate(**{TEST_COLUMN: value})
    keys = [TEST_COLUMN] + ([setup.strata.column] if setup.strata else [])
    released = ctx.release(pattern_counts(keyed, keys, f"outcome_{setup.outcome}"))
    return _analyse(ctx, opts, setup, released)


def _setup(ctx: AnalysisContext, opts: DiagnosticOptions) -> _Setup:
    outcome = ctx.outcome(opts.outcome, "reference standard")
    variables = ctx.variables
    declared = {n: c.threshold for n, c in ctx.engine.info.mapping.covariates.items() if c.threshold is not None}
    name = opts.test or next(iter(declared), None) or next(
        (n for n, v in variables.items() if v.kind == "numeric" and n not in ("age", "year")), None)
    if name is None:
        raise AnalysisInputError("Diagnostic accuracy needs an index test: a binary or numeric variable. The "
                                 "mapping has none besides age and year.")
    test = resolve(name, variables, "index test")
    if test.kind == "categorical":
        raise AnalysisInputError("The index test must be binary (yes/no) or numeric with a threshold.")
    if test.kind != "numeric" and opts.threshold is not None:
        raise AnalysisInputError("A threshold applies to a numeric index test only.")
    if opts.prevalence is not None and not 0 < opts.prevalence < 1:
        raise AnalysisInputError("The prevalence for predictive values must lie strictly between 0 and 1.")
    strata = resolve(opts.strata, variables, "stratifier") if opts.strata else None
    if strata is not None and strata.column == test.column:
        raise AnalysisInputError("The index test cannot also be the stratifier.")
    return _Setup(outcome, ctx.outcome_label(outcome), test, strata,
                  declared.get(name) if test.kind == "numeric" else None)


def _known(keys: pd.DataFrame) -> pd.Series:
    return keys[TEST_COLUMN].notna()


def _positive(setup: _Setup, threshold: float | None, lower: bool):
    if setup.test.kind == "numeric" and lower:
        return lambda k: (k[TEST_COLUMN] <= threshold).to_numpy()
    if setup.test.kind == "numeric":
        return lambda k: (k[TEST_COLUMN] >= threshold).to_numpy()
    return lambda k: k[TEST_COLUMN].astype(bool).to_numpy()


def _analyse(ctx, opts: DiagnosticOptions, setup: _Setup, released) -> AnalysisResult:
    builder = ResultBuilder("diagnostic", ctx.cohort())
    builder.query(released.sql)
    builder.note(*_missing_notes(ctx, setup, released))
    by_value = with_known(released.cells(by=[TEST_COLUMN], where=_known))
    n = released.total("known", where=_known)
    cases = int(by_value["events"].sum())
    if n == 0 or ctx.policy.is_small(n) or ctx.policy.withholds(cases, n - cases) or cases in (0, n):
        builder.note("Too few participants, or no cases or no non-cases, after filtering; nothing is estimated.")
        builder.table("two_by_two", pd.DataFrame(columns=["test", "cases", "non_cases", "n", "suppressed"]))
        builder.table("roc", _roc_frame(ctx, None))
        return _build(builder, ctx, opts, setup, n, None)
    roc = _roc(ctx, by_value, opts.lower_is_positive, builder) if setup.test.kind == "numeric" else None
    threshold = next((t for t in (opts.threshold, setup.declared_threshold) if t is not None),
                     roc.youden_threshold if roc else None)
    builder.note(*_threshold_notes(opts, setup, threshold))
    positive = _positive(setup, threshold, opts.lower_is_positive)
    cells = with_known(released.cells(by=["positive"], where=_known, derive={"positive": positive}))
    accuracy = _accuracy(cells, ctx.alpha)
    _estimates(ctx, accuracy, opts, roc, builder)
    builder.table("two_by_two", _two_by_two_frame(ctx, accuracy, setup))
    builder.table("roc", _roc_frame(ctx, roc))
    if setup.strata is not None:
        builder.table("strata", _strata(ctx, opts, setup, released, positive, builder))
    return _build(builder, ctx, opts, setup, n, threshold)


def _threshold_notes(opts: DiagnosticOptions, setup: _Setup, threshold) -> list[str]:
    """Where a numeric test's threshold came from, when it was not given."""
    if setup.test.kind != "numeric" or opts.threshold is not None:
        return []
    if setup.declared_threshold is not None:
        return [f"The threshold {threshold:g} is the clinical cut-off the cohort's mapping declares for "
                f"{setup.test.label}."]
    return [f"No threshold was given: the Youden-optimal value {threshold:g} is used (chosen on these data, so its "
            "sensitivity and specificity are optimistic)."]


def _missing_notes(ctx, setup: _Setup, released) -> list[str]:
    notes = []
    unknown = released.total("missing")
    if unknown:
        notes.append(f"{ctx.policy.show_count(unknown)} participants with an unknown reference standard are left "
                     "out.")
    no_test = sum(released.total(c, where=lambda k: ~_known(k)) for c in ("events", "non_events"))
    if no_test:
        notes.append(f"{ctx.policy.show_count(no_test)} participants without a value of {setup.test.label} are "
                     "left out.")
    return notes


def _accuracy(cells: pd.DataFrame, alpha: float) -> Accuracy:
    by = cells.groupby("positive")[["events", "non_events"]].sum()

    def get(flag: bool, column: str) -> int:
        return int(by[column].get(flag, 0))

    return accuracy_from_counts(get(True, "events"), get(True, "non_events"), get(False, "events"),
                                get(False, "non_events"), alpha)


def _estimates(ctx, accuracy: Accuracy, opts: DiagnosticOptions, roc, builder: ResultBuilder) -> None:
    """The 2×2 measures (withheld with a note when a cell is small), PPV/NPV at the asked prevalence, the AUC."""
    if ctx.policy.withholds(accuracy.tp, accuracy.fp, accuracy.fn, accuracy.tn):
        builder.note(f"A cell of the 2×2 table is below {ctx.policy.min_cell}, so the accuracy measures are "
                     "withheld.")
    else:
        builder.estimate(*(_estimate(m, getattr(accuracy, m)) for m in TWO_BY_TWO_MEASURES))
        if opts.prevalence is not None:
            ppv, npv = predictive_values_at(opts.prevalence, accuracy.lr_positive, accuracy.lr_negative)
            at = f"at a prevalence of {opts.prevalence:.3g}"
            builder.estimate(_estimate("ppv", ppv, label=f"PPV {at}", method=f"Bayes' theorem on LR+ {at}"),
                             _estimate("npv", npv, label=f"NPV {at}", method=f"Bayes' theorem on LR− {at}"))
    if roc:
        builder.estimate(_auc(roc))


def _estimate(measure: str, interval, label: str | None = None, method: str | None = None,
              group: str | None = None) -> Estimate:
    def finite(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    method = method or METHODS.get(measure, "exact (Clopper–Pearson) 95% CI")
    return Estimate(measure, finite(interval.estimate), finite(interval.low), finite(interval.high), None, method,
                    label=label or MEASURE_LABELS[measure], group=group)


def _auc(roc) -> Estimate:
    return _estimate("auc", roc.auc)


def _roc(ctx, by_value: pd.DataFrame, lower: bool, builder: ResultBuilder):
    """The ROC of the test (of its negated value when low values are positive, thresholds turned back)."""
    sign = -1.0 if lower else 1.0
    try:
        roc = roc_from_counts(sign * by_value[TEST_COLUMN], by_value["events"], by_value["non_events"], ctx.alpha)
    except ValueError as exc:  # cell-key mode: every case's value cell may be released as zero
        builder.note(f"No ROC curve: {exc}")
        return None
    curve = roc.curve.assign(threshold=sign * roc.curve["threshold"])
    return replace(roc, curve=curve, youden_threshold=sign * roc.youden_threshold)


def _roc_frame(ctx, roc) -> pd.DataFrame:
    """The ROC curve at thresholds between groups of adjacent values holding at least k cases and k non-cases each,
    so no step of the curve is a small count (the AUC uses every value)."""
    if roc is None:
        return pd.DataFrame(columns=["threshold", "sensitivity", "specificity"])
    curve = roc.curve
    k = max(ctx.policy.min_cell, 1)
    tp = np.rint(curve["sensitivity"].to_numpy() * roc.cases)
    fp = np.rint((1 - curve["specificity"].to_numpy()) * roc.controls)
    keep = [0]
    for i in range(1, len(curve)):
        if tp[i] - tp[keep[-1]] >= k and fp[i] - fp[keep[-1]] >= k:
            keep.append(i)
    end = len(curve) - 1  # everyone positive: the curve ends at (1, 1); a short last step joins the one before
    if keep[-1] != end:
        keep[-1:] = [end] if len(keep) > 1 else [0, end]
    return curve.iloc[keep].reset_index(drop=True)


def _two_by_two_frame(ctx, accuracy: Accuracy, setup: _Setup) -> pd.DataFrame:
    frame = pd.DataFrame({"test": ["positive", "negative"], "cases": [accuracy.tp, accuracy.fn],
                          "non_cases": [accuracy.fp, accuracy.tn]})
    frame["n"] = frame["cases"] + frame["non_cases"]
    return ctx.policy.gate_frame(frame, ["cases", "non_cases", "n"], [])


def _stratum_labels(setup: _Setup, opts: DiagnosticOptions):
    column = setup.strata.column
    if column == "age":
        return lambda k: pd.Series(opts.age_bands.assign(k["age"].astype(int), int(k["age"].min())), index=k.index)
    if column == "sex":
        return lambda k: k[column].map(SEX_GROUPS).fillna(k[column]).astype(str)
    return lambda k: k[column].astype(str)


def _strata(ctx, opts, setup: _Setup, released, positive, builder: ResultBuilder) -> pd.DataFrame:
    """Sensitivity and specificity per stratum: the table, and the estimates of the strata that may be shown."""
    column = setup.strata.column
    known = lambda k: _known(k) & k[column].notna()  # noqa: E731
    cells = with_known(released.cells(by=["stratum", "positive"], where=known,
                                      derive={"stratum": _stratum_labels(setup, opts), "positive": positive}))
    rows = []
    for stratum, part in cells.groupby("stratum", sort=True):
        acc = _accuracy(part, ctx.alpha)
        shown = not ctx.policy.withholds(acc.tp, acc.fp, acc.fn, acc.tn) and not ctx.policy.is_small(
            acc.tp + acc.fp + acc.fn + acc.tn)
        rows.append({"stratum": stratum, "n": acc.tp + acc.fp + acc.fn + acc.tn, "cases": acc.tp + acc.fn,
                     **{f"{m}{s}": getattr(getattr(acc, m), f) if shown else None
                        for m in ("sensitivity", "specificity")
                        for s, f in (("", "estimate"), ("_low", "low"), ("_high", "high"))}})
        if shown:
            builder.estimate(*(_estimate(m, getattr(acc, m), label=f"{MEASURE_LABELS[m]}, {stratum}",
                                         group=stratum) for m in ("sensitivity", "specificity")))
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    gated = ctx.policy.gate_frame(frame, ["n", "cases"], [c for c in frame.columns if c.startswith(("sens", "spec"))])
    if gated["suppressed"].any():
        builder.note(f"Strata with a count below {ctx.policy.min_cell} are withheld: "
                     f"{', '.join(gated.loc[gated['suppressed'], 'stratum'])}.")
    return gated


def _build(builder: ResultBuilder, ctx, opts, setup: _Setup, n, threshold) -> AnalysisResult:
    sign = "≤" if opts.lower_is_positive else "≥"
    rule = f"{setup.test.label} {sign} {threshold:g}" if threshold is not None and setup.test.kind == "numeric" \
        else setup.test.label
    caption = (f"{rule} against {setup.outcome_label}; {builder.cohort.description}; "
               f"N = {ctx.policy.show_count(n)}.")
    methods = ("Reference standard: " + setup.outcome_label + "; index test: " + rule + " (participants with both "
               "known). Sensitivity, specificity, predictive values and accuracy with exact Clopper–Pearson 95% CIs; "
               "likelihood ratios with the CIs of Simel et al. (1991); diagnostic odds ratio with a log CI; Youden "
               "index with the limits of sensitivity and specificity added — as R's epiR::epi.tests. Predictive "
               "values at another prevalence from the likelihood ratios (Bayes' theorem). For a numeric test: the "
               "empirical ROC curve from the counts per distinct value, the AUC with the DeLong 95% CI (as pROC), "
               "and the Youden-optimal threshold. " + ctx.policy.note)
    details = DiagnosticDetails(threshold, setup.test.name, setup.outcome, opts.lower_is_positive, opts.strata)
    return builder.build(title=f"{setup.test.label} against {setup.outcome_label}", caption=caption,
                         methods=methods, n=None if n is None or ctx.policy.is_small(n) else n, details=details)
