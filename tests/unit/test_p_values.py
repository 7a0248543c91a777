"""p-values as shown everywhere (pages, slides, report): three significant digits, "< 0.001" only below 0.001 with
the exact value in the hover text and the CSV, and never "p = < 0.001"."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from analyses import display, exports
from analyses.results import AnalysisResult, CohortSummary, Estimate
from analyses.results import TestResult as Test

COHORT = CohortSummary("demo", "0123456789abcdef", "", "all participants", 11)


@pytest.mark.parametrize(("p", "shown"), [(0.5834, "0.583"), (0.04567, "0.0457"), (0.0012345, "0.00123"),
                                          (0.001, "0.00100"), (0.05, "0.0500"), (1.0, "1.00"),
                                          (0.000999, "< 0.001"), (3.2e-45, "< 0.001"), (None, "–")])
def test_three_significant_digits_and_a_floor(p, shown):
    assert display.fmt_p(p) == shown


def test_the_operator_is_never_doubled():
    assert display.p_clause(1e-9) == "p < 0.001"
    assert display.p_clause(0.0457) == "p = 0.0457"
    sentence = display.test_sentence(Test("logrank", 40.0, 3, 1e-9, "log-rank"))
    assert "p < 0.001" in sentence and "= <" not in sentence


def test_the_exact_value_goes_to_the_hover_text_below_the_floor():
    assert display.exact_p(3.2e-45) == "p = 3.2e-45"
    assert display.exact_p(0.0457) is None  # shown in full already


def _result(p: float) -> AnalysisResult:
    estimate = Estimate("crude_or", 1.93, 1.8, 2.06, p, "Woolf (logit) 95% CI; Wald p", label="women vs men")
    return AnalysisResult("odds-ratio", "Odds ratio", COHORT, 20_000, (estimate,), (), (), (), "caption.", "methods")


def test_estimate_rows_and_their_csv():
    result = _result(3.2e-45)
    assert display.estimate_rows(result)[0]["p"] == "< 0.001"
    assert display.estimate_rows(_result(0.01234))[0]["p"] == "0.0123"
    csv = exports.frame_csv(result, display.estimates_frame(result)).decode()
    table = pd.read_csv(io.StringIO(csv), comment="#")
    assert table.loc[0, "p_value"] == pytest.approx(3.2e-45)
    assert table.loc[0, "measure_name"] == "Crude OR"
    assert "exact values in the CSV" in display.estimates_caption(result)
