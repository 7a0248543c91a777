"""How a result is displayed — on the pages, on slides and in the printed report.

Pure formatting (no Streamlit): numbers rounded the same way everywhere, suppressed rows spelled out as "withheld",
tests stated in words, and the display of each result table (column names, percentages, decimals) defined once.
Nothing here computes a statistic; every value comes from a result that already passed the disclosure gate.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analyses.figures.figure import figure_caption
from analyses.figures.prevalence import peak_label
from analyses.results import AnalysisResult, Estimate, TestResult
from analyses.stats.standardization import standard_populations

MEASURE_NAMES = {"crude_or": "Crude OR", "exact_or": "Exact OR", "mh_or": "Mantel–Haenszel OR",
                 "adjusted_or": "Adjusted OR", "hr": "Hazard ratio",
                 "standardized_prevalence": "Age-standardized prevalence", "standardized_ratio": "Standardized ratio"}


def fmt(value, digits: int = 2) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


P_FLOOR = 0.001  # p-values below this are shown as "< 0.001" (the exact value goes to the hover text and the CSV)


def fmt_p(p) -> str:
    """A p-value as displayed: three significant digits ("0.583", "0.0457", "0.00123"), "< 0.001" below 0.001."""
    if p is None or pd.isna(p):
        return "–"
    return "< 0.001" if p < P_FLOOR else f"{float(p):#.3g}"


def p_clause(p) -> str:
    """'p = 0.0457' or 'p < 0.001' (never 'p = < 0.001')."""
    shown = fmt_p(p)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def exact_p(p) -> str | None:
    """The exact value of a p-value shown as "< 0.001" (e.g. "p = 3.2e-45"), for hover text; None otherwise."""
    if p is None or pd.isna(p) or p >= P_FLOOR:
        return None
    return f"p = {float(p):.3g}"


def shown(e: Estimate | None) -> bool:
    """Whether an estimate has a value and both CI limits (a withheld one has None)."""
    return e is not None and None not in (e.estimate, e.ci_low, e.ci_high)


# --- estimates and tests ---------------------------------------------------------------------------------------

def measure_name(estimate: Estimate) -> str:
    """"Adjusted OR"; an estimate whose measure has no display name here (e.g. sensitivity) by its label."""
    return MEASURE_NAMES.get(estimate.measure) or estimate.label or estimate.measure


def estimate_rows(result: AnalysisResult, measures: tuple[str, ...] | None = None) -> list[dict[str, str]]:
    """The estimates table as displayed: measure, comparison, estimate, 95% CI, p, method. An estimate whose measure
    has no display name here (e.g. sensitivity) is named by its label; a column empty in every row (no comparison,
    no p-value) is left out."""
    rows = [{"Measure": measure_name(e),
             "Comparison": e.label if e.measure in MEASURE_NAMES else "",
             "Estimate": fmt(e.estimate), "95% CI": f"{fmt(e.ci_low)}–{fmt(e.ci_high)}", "p": fmt_p(e.p_value),
             "Method": e.method}
            for e in result.estimates if measures is None or e.measure in measures]
    empty = {column for column, blank in (("Comparison", ""), ("p", "–")) if rows and all(r[column] == blank
                                                                                         for r in rows)}
    return [{k: v for k, v in row.items() if k not in empty} for row in rows]


def estimates_caption(result: AnalysisResult) -> str:
    return (f"{result.caption} Method of each estimate in its row; 95% confidence intervals; p-values to three "
            "significant digits, below 0.001 as \"< 0.001\" (exact values in the CSV).")


def estimates_frame(result: AnalysisResult, measures: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The estimates as a tidy table for the CSV: exact estimates, CIs and p-values (no rounding)."""
    frame = result.estimates_frame()
    if measures is not None:
        frame = frame[frame["measure"].isin(measures)]
    return frame.assign(measure_name=frame["measure"].map(lambda m: MEASURE_NAMES.get(m, m)))


@dataclass(frozen=True)
class TestWording:
    subject: str
    verdicts: tuple[str, str]  # when p < 0.05, otherwise
    name: str


TEST_WORDING = {
    "breslow_day": TestWording("The odds ratio", ("differs across strata", "does not differ detectably across strata"),
                               "Breslow–Day with Tarone's correction"),
    "logrank": TestWording("Event-free survival", ("differs across bands", "does not differ detectably across bands"),
                           "log-rank"),
    "proportional_hazards": TestWording("The proportional-hazards assumption",
                                        ("is questionable: hazard ratios may change over time", "is not contradicted"),
                                        "Grambsch–Therneau"),
}


def test_verdict(test: TestResult) -> str | None:
    """'<subject> <verdict>' for a test with a p-value, else None."""
    wording = TEST_WORDING[test.test]
    if test.p_value is None or test.statistic is None:
        return None
    return f"{wording.subject} {wording.verdicts[0] if test.p_value < 0.05 else wording.verdicts[1]}"


def test_sentence(test: TestResult | None) -> str | None:
    """'<subject> <verdict> (<name>: χ² = …, df = …, p = …).', or None when the test has no value."""
    verdict = None if test is None else test_verdict(test)
    if verdict is None:
        return None
    return (f"{verdict} ({TEST_WORDING[test.test].name}: χ² = {test.statistic:.2f}, df = {test.df}, "
            f"{p_clause(test.p_value)}).")


# --- prevalence summary ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    """One summary number as displayed, with its 95% CI and what it is (the metric's help text)."""

    label: str
    value: str
    ci: str = ""
    note: str = ""

    @property
    def help(self) -> str | None:
        return f"95% CI {self.ci}; {self.note}." if self.ci else (self.note or None)


PEAK_NOTE = "Age of the highest fitted prevalence (none when it is at the edge of the age range)."


def prevalence_summary(result: AnalysisResult) -> list[Metric]:
    """Peak age per sex, standardized prevalence per sex and the women/men ratio (for a cohort without sex: the
    peak and standardized prevalence of everyone)."""
    peaks = result.details.peak
    standardized = {e.group: e for e in result.estimates if e.measure == "standardized_prevalence"}
    groups = ("everyone",) if "everyone" in set(result.table("rows").get("sex", ())) else ("women", "men")
    metrics = [Metric(f"Peak age, {sex}", "–" if peaks.get(sex) is None or peaks[sex]["at_edge"]
                      else peak_label(peaks[sex]["age"]), note=PEAK_NOTE) for sex in groups]
    for sex in groups:
        e, label = standardized.get(sex), f"Standardized, {sex}"
        metrics.append(Metric(label, f"{100 * e.estimate:.1f}%", f"{100 * e.ci_low:.1f}–{100 * e.ci_high:.1f}%",
                              e.method) if shown(e) else Metric(label, "–"))
    if groups == ("everyone",):
        return metrics
    ratio = result.estimate("standardized_ratio")
    metrics.append(Metric("Women / men", f"{ratio.estimate:.2f}", f"{ratio.ci_low:.2f}–{ratio.ci_high:.2f}",
                          ratio.method) if shown(ratio) else Metric("Women / men", "–"))
    return metrics


def summary_caption(result: AnalysisResult, standard_label: str | None = None) -> str:
    """The caption of the prevalence summary, naming the standard population (from the estimates if not given)."""
    if standard_label is None:
        name = next((e.standard for e in result.estimates if e.standard), None)
        standard_label = standard_populations()[name].label if name else "chosen standard population"
    return figure_caption(result, f"Peak ages and prevalence standardized to the {standard_label}",
                          "Peak of the spline curve on a 0.1-year grid; direct standardization with Fay–Feuer CIs")


# --- result tables ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableView:
    """How one result table is displayed: its heading, the method in its caption and the column formats."""

    name: str
    what: str
    method: str
    percent: tuple[str, ...] = ()
    decimals: tuple[tuple[str, int], ...] = ()
    names: tuple[tuple[str, str], ...] = ()
    columns: tuple[str, ...] = ()  # the columns shown, in order (empty: all); the CSV keeps every column
    # (estimate, low, high) columns shown as one "estimate (low–high)" column named after the estimate, as papers
    # print "OR (95% CI)"; the CSV keeps all three
    with_ci: tuple[tuple[str, str, str], ...] = ()

    def frame(self, result: AnalysisResult) -> pd.DataFrame:
        table = result.table(self.name)
        if self.columns:
            table = table[[c for c in (*self.columns, "suppressed") if c in table.columns]]
        shown = gated_table(table, self.percent, dict(self.decimals))
        for estimate, low, high in self.with_ci:
            shown[estimate] = [_with_interval(*cells) for cells in zip(shown[estimate], shown[low], shown[high])]
            shown = shown.drop(columns=[low, high])
        return shown.rename(columns=dict(self.names))

    def caption(self, result: AnalysisResult) -> str:
        return figure_caption(result, self.what, self.method)



def _with_interval(estimate: str, low: str, high: str) -> str:
    return estimate if estimate in ("–", "withheld") or "–" in (low, high) else f"{estimate} ({low}–{high})"


def gated_table(frame: pd.DataFrame, percent: tuple[str, ...] = (), decimals: dict[str, int] | None = None,
                names: dict[str, str] | None = None) -> pd.DataFrame:
    """A result table for display: proportions in ``percent`` as percentages, other numbers rounded per
    ``decimals``, counts with thousands separators, and suppressed rows saying "withheld" instead of blanks."""
    decimals = decimals or {}
    table = frame.drop(columns=["suppressed"], errors="ignore").astype(object)
    hidden = frame["suppressed"].fillna(False).astype(bool) if "suppressed" in frame.columns else \
        pd.Series(False, index=frame.index)
    for column in table.columns:
        if frame[column].dropna().map(lambda v: isinstance(v, str)).all() and frame[column].notna().any():
            continue  # a label column: kept as it is, also on withheld rows
        table[column] = [_display_value(v, column, percent, decimals) for v in frame[column]]
        table.loc[hidden, column] = "withheld"
    return table.rename(columns=names or {})


def _display_value(value, column: str, percent: tuple[str, ...], decimals: dict[str, int]) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, (bool, str)):
        return {True: "yes", False: ""}.get(value, value) if isinstance(value, bool) else value
    if column in percent:
        return f"{100 * float(value):.1f}%"
    if column in decimals:
        return f"{float(value):,.{decimals[column]}f}"
    return f"{int(value):,}" if float(value).is_integer() else f"{float(value):,.3g}"
