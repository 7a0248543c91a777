"""What a deck and a printed report contain, built once from result objects so both say the same thing.

A report is a title page (cohort, filters in English, N, data hash, date, software, small-cell threshold) and one
section per analysis: figures (PNG at 200 ppi, a headline stating the finding, a footnote with method, N and the
suppression note) and tables as displayed on the pages. Every number is taken from a result that passed the
disclosure gate and formatted by ``analyses.display``; nothing is recomputed here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from analyses import display, exports
from analyses.figures import Figure
from analyses.registry import figures_for, spec_of, stated_tests
from analyses.report.headlines import headline
from analyses.results import AnalysisResult, CohortSummary, software_versions
from analyses.table_one import TableOne


@dataclass(frozen=True)
class Unavailable:
    """An analysis the cohort cannot serve for these filters, and why (the analysis' own message)."""

    title: str
    message: str


@dataclass(frozen=True, eq=False)
class FigureBlock:
    title: str
    figure: Figure
    png: bytes
    footnote: str


@dataclass(frozen=True, eq=False)
class TableBlock:
    title: str
    frame: pd.DataFrame  # display strings only
    footnote: str
    statements: tuple[str, ...] = ()  # tests in words, shown with the table


@dataclass(frozen=True, eq=False)
class Section:
    heading: str
    lead: str  # the result's caption (or why it is not shown)
    notes: tuple[str, ...]
    blocks: tuple[FigureBlock | TableBlock, ...]
    methods: str
    formulas: tuple[str, ...] = ()


@dataclass(frozen=True)
class TitlePage:
    title: str
    lines: tuple[tuple[str, str], ...]  # (label, text)


@dataclass(frozen=True, eq=False)
class Report:
    title_page: TitlePage
    sections: tuple[Section, ...]


def build_report(cohort: CohortSummary, items: Sequence[AnalysisResult | Unavailable],
                 table_one: TableOne | None = None, title: str | None = None,
                 today: dt.date | None = None) -> Report:
    """The report of ``items`` (results, or analyses that could not be shown) for ``cohort``, Table 1 first when
    given. ``title`` defaults to the single result's title, else "Cohort analyses"."""
    results = [i for i in items if isinstance(i, AnalysisResult)]
    title = title or (results[0].title if len(items) == 1 and results else "Cohort analyses")
    sections = ([table_one_section(table_one)] if table_one else []) + [
        analysis_section(i) if isinstance(i, AnalysisResult) else unavailable_section(i) for i in items]
    return Report(title_page(title, cohort, results, table_one, today), tuple(sections))


def title_page(title: str, cohort: CohortSummary, results: list[AnalysisResult], table_one: TableOne | None,
               today: dt.date | None) -> TitlePage:
    policy = cohort.policy
    sizes = [(r.title, "withheld" if r.n is None else policy.show_count(r.n)) for r in results]
    if table_one:
        sizes.insert(0, ("Table 1", ", ".join(f"{g} {n}" for g, n in zip(table_one.groups, table_one.group_n))))
    n_text = sizes[0][1] if len(sizes) == 1 else "; ".join(f"{what}: {n}" for what, n in sizes)
    filters = cohort.description + (f" (filters: {cohort.filters})" if cohort.filters else "")
    versions = ", ".join(f"{k} {v}" for k, v in software_versions().items())
    return TitlePage(title, (("Cohort", cohort.label), ("Filters", filters), ("N", n_text or "–"),
                             ("Data hash", cohort.data_hash), ("Date", (today or dt.date.today()).isoformat()),
                             ("Software", versions),
                             ("Small-cell threshold", f"{cohort.min_cell}. {policy.note}")))


def analysis_section(result: AnalysisResult) -> Section:
    """Figures first (each with its finding), then the tables the page shows."""
    notes = _notes_text(result.notes)
    figures = tuple(FigureBlock(headline(result, f), f, exports.figure_png(f), f"{f.caption}{notes}")
                    for f in figures_for(result))
    return Section(result.title, result.caption, result.notes, figures + tables(result), result.methods,
                   result.formulas)


def tables(result: AnalysisResult) -> tuple[TableBlock, ...]:
    """The page's tables of ``result``: the prevalence summary, the result table, the estimates with the tests."""
    notes = _notes_text(result.notes)
    spec = spec_of(result)
    blocks = [_summary_table(result, notes)] if spec.metrics else []
    view = spec.table_view
    if not result.table(view.name).empty:
        blocks.append(TableBlock(view.what[0].upper() + view.what[1:], view.frame(result),
                                 view.caption(result) + notes))
    rows = display.estimate_rows(result) if spec.estimates_title else []
    if rows:
        statements = tuple(s for s in map(display.test_sentence, stated_tests(result)) if s)
        blocks.append(TableBlock(spec.estimates_title, pd.DataFrame(rows),
                                 display.estimates_caption(result) + notes, statements))
    return tuple(blocks)


def _summary_table(result: AnalysisResult, notes: str) -> TableBlock:
    """The page's summary metrics (prevalence: peak ages, standardized prevalence, the women/men ratio) as a
    table."""
    spec = spec_of(result)
    frame = pd.DataFrame([{"Measure": m.label, "Value": m.value, "95% CI": m.ci or "–"} for m in spec.metrics(result)])
    return TableBlock(spec.metrics_title, frame, spec.metrics_caption(result) + notes)


def table_one_section(table_one: TableOne) -> Section:
    notes = _notes_text(table_one.notes)
    heading = table_one.title.replace("Table 1", "Table 1: baseline characteristics")
    block = TableBlock(heading, table_one.to_frame(), table_one.caption + notes)
    return Section(table_one.title, table_one.caption, table_one.notes, (block,), table_one.methods)


def unavailable_section(item: Unavailable) -> Section:
    return Section(item.title, f"Not shown for these filters: {item.message}", (), (), "")


NUMBER = re.compile(r"^[<>]?\s?[-–]?[\d,.]+%?(–[\d,.]+%?)?( [(\[].*[)\]])?$|^withheld$|^–$")


def numeric_columns(frame: pd.DataFrame) -> set:
    """Columns whose every filled cell is a number, a range, a count with its percentage or "withheld" (set right)."""
    return {c for c in frame.columns
            if (texts := [t for t in map(cell_text, frame[c]) if t]) and all(NUMBER.match(t) for t in texts)}


def cell_text(value) -> str:
    """A table cell as text (empty for a missing label)."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _notes_text(notes: Sequence[str]) -> str:
    return "".join(f" Note: {n}" for n in notes)
