"""Diagnostic accuracy page: the diagnostic result object for the sidebar filters and its URL-bound controls (index
test, threshold from the released ROC steps, strata, prevalence, low-is-positive)."""

from __future__ import annotations

from analyses.context import AnalysisContext
from analyses.diagnostic import DiagnosticOptions, diagnostic
from tests.apptest.conftest import CELL_KEY

PAGE = "views/diagnostic_accuracy.py"


def _shown_estimates(at) -> dict[str, str]:
    table = next(d.value for d in at.dataframe if "Measure" in d.value.columns)
    return dict(zip(table["Measure"], table["Estimate"]))


def _expected(engine, **options):
    ctx = AnalysisContext.from_query(engine, "", CELL_KEY)[0]
    return diagnostic(ctx, DiagnosticOptions(**options))


def test_default_is_the_mapped_test_at_its_declared_threshold(app, engine):
    """The demo mapping declares PLMS index ≥ 15 as a clinical cut-off: the page opens on it, with the estimates of
    the same released counts as the analysis."""
    at = app(page=PAGE)
    assert at.selectbox(key="control_test").value == "plms_index"
    expected = _expected(engine)
    assert expected.details.threshold == 15
    assert at.subheader[0].value.startswith("PLMS index (polysomnography subset) ≥ 15 against RLS")
    shown = _shown_estimates(at)
    for measure, name in (("sensitivity", "Sensitivity"), ("specificity", "Specificity"),
                          ("auc", "Area under the ROC curve")):
        assert shown[name] == f"{expected.estimate(measure).estimate:.2f}"
    assert any("clinical cut-off the cohort's mapping declares" in w.value for w in at.warning)
    assert "p" not in next(d.value for d in at.dataframe if "Measure" in d.value.columns).columns  # no p-values here


def test_threshold_offered_are_the_released_roc_steps(app, engine):
    roc = _expected(engine).table("roc")
    step = f"{roc['threshold'].iloc[len(roc) // 2]:g}"
    at = app({"threshold": step}, page=PAGE)
    choices = at.selectbox(key="control_threshold").options
    assert choices[1:] == [f"{t:g}" for t in roc["threshold"]]
    assert f"≥ {step} against" in at.subheader[0].value


def test_a_threshold_off_the_grid_falls_back_with_a_warning(app):
    at = app({"threshold": "15.5"}, page=PAGE)
    assert any("`threshold=`" in w.value for w in at.warning)
    assert "≥ 15 against" in at.subheader[0].value


def test_binary_test_strata_and_a_typed_prevalence(app, engine):
    at = app({"test": "iron_deficiency", "strata": "sex", "prevalence": "5"}, page=PAGE)
    assert not [s for s in at.selectbox if s.key == "control_threshold"]  # a binary test has no threshold
    shown = _shown_estimates(at)
    expected = _expected(engine, test="iron_deficiency", strata="sex", prevalence=0.05)
    ppv = next(e for e in expected.estimates if e.measure == "ppv" and "0.05" in e.label)
    assert shown[ppv.label] == f"{ppv.estimate:.2f}"
    assert at.subheader[0].value.startswith("iron-deficiency anaemia against RLS")
    assert any(f"Sensitivity, {group}" in shown for group in ("female", "male", "women", "men"))


def test_low_values_positive_from_the_url(app, engine):
    at = app({"test": "ferritin_at_baseline", "lower": "1"}, page=PAGE)
    assert at.toggle(key="control_lower").value is True
    assert " ≤ " in at.subheader[0].value
