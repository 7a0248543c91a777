"""Diagnostic accuracy: how well an index test (a binary variable, or a numeric one at a threshold) finds the
participants a reference standard calls cases — the 2×2 table, sensitivity, specificity, predictive values,
likelihood ratios, the ROC curve and accuracy by stratum."""

from dataclasses import replace

import streamlit as st

from analyses.diagnostic import DiagnosticOptions
from analyses.variables import catalog
from dashboard import analysis_page, controls, frame

DEFAULT = "default"

ctx = frame.current()
analysis_page.title("Diagnostic accuracy")
mapping = ctx.engine.info.mapping
variables = {name: v for name, v in catalog(ctx.engine.info).items() if name not in ("year",)}
tests = {name: v.label for name, v in variables.items() if v.kind in ("numeric", "binary") and name != "age"}
if not mapping.outcomes or not tests:
    st.info("This page needs a reference standard (an outcome) and an index test (a binary or numeric variable); "
            "the cohort's mapping has no " + ("outcome." if not mapping.outcomes else "such variable."),
            icon=":material/info:")
    st.stop()
declared = [name for name, c in mapping.covariates.items() if c.threshold is not None and name in tests]
outcomes = {name: o.label for name, o in mapping.outcomes.items()}
strata = {"none": "no stratification", "age": "age bands"} | {
    name: v.label for name, v in variables.items() if v.kind in ("binary", "categorical") and name != "age"}

first, second, third = st.columns(3)
with first:
    outcome = controls.select("outcome", "Reference standard", list(outcomes),
                              ctx.state.definition or next(iter(outcomes)), format_func=outcomes.get)
with second:
    test = controls.select("test", "Index test", list(tests), (declared or list(tests))[0], format_func=tests.get)
with third:
    stratum = controls.select("strata", "Accuracy by", list(strata), "none", format_func=strata.get)

numeric = variables[test].kind == "numeric"
left, middle, right = st.columns(3)
with right:
    prevalence = controls.number("prevalence", "Predictive values also at a prevalence of (%)", 0, 100,
                                 help="PPV and NPV depend on how common the condition is; they are given at this "
                                      "cohort's prevalence and, if you type one, at yours.")
with middle:
    lower = numeric and controls.toggle("lower", "Low values are positive",
                                        help="For a test where a low value points to the condition (e.g. ferritin).")
options = DiagnosticOptions(outcome, test, None, None if stratum == "none" else stratum,
                            None if prevalence is None else prevalence / 100, lower_is_positive=lower)
analysis_page.require_cohort(ctx)
if numeric:  # thresholds offered: the ROC curve's released steps (no free number, so a cut cannot slide one unit)
    default_run = analysis_page.run(ctx, "diagnostic", options)
    steps = [f"{t:g}" for t in default_run.table("roc")["threshold"]] if default_run.n else []
    shown = default_run.details.threshold
    with left:
        label = f"the default ({shown:g})" if shown is not None else "the default"
        threshold = controls.select("threshold", "Positive at or " + ("below" if lower else "above"),
                                    [DEFAULT, *steps], DEFAULT, format_func=lambda t: label if t == DEFAULT else t,
                                    help="The default is the mapping's clinical cut-off for this test, else the "
                                         "Youden-optimal value (chosen on these data, so optimistic).")
    if threshold != DEFAULT:
        options = replace(options, threshold=float(threshold))
result = analysis_page.run(ctx, "diagnostic", options)
figures = analysis_page.figures(result)

analysis_page.estimates_sections(result, figures, "figure")
