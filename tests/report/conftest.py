"""Decks and reports built in process from the session's demo extract, and helpers to read a PPTX back."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from pptx import Presentation
from pptx.util import Emu

from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from analyses.report import build_report, deck_bytes, html_bytes, run_page_analyses
from analyses.results import AnalysisResult
from analyses.table_one import table_one
from queries import filters
from queries.cohort import table_one_inputs, table_one_variables


def context(engine, query: str = "", min_cell: int = 11, method: str = "cell_key") -> AnalysisContext:
    """An analysis context; by default under the deployment's default policy (cell-key, k = 11) as the dashboard's
    "Export all" builds it."""
    return AnalysisContext.from_query(engine, query, DisclosurePolicy(min_cell, method))[0]


def table_one_for(ctx: AnalysisContext):
    """Table 1 as the Overview builds it (labels as the dashboard shows them)."""
    from analyses.table_one import variable_labels

    labels = variable_labels(ctx.engine)
    variables = [(col, kind, labels[col]) for col, kind in table_one_variables(ctx.engine)]
    return table_one(table_one_inputs(ctx.engine, ctx.state, ctx.options, ctx.policy), variables, ctx.policy,
                     filters.describe(ctx.state, ctx.options))


@dataclass(frozen=True)
class Built:
    results: list
    report: object
    pptx: bytes

    @property
    def deck(self):
        return Presentation(io.BytesIO(self.pptx))

    def result(self, analysis: str) -> AnalysisResult:
        return next(r for r in self.results if isinstance(r, AnalysisResult) and r.analysis == analysis)


def build(ctx: AnalysisContext, with_table_one: bool = False) -> Built:
    results = run_page_analyses(ctx)
    report = build_report(ctx.cohort(), results, table_one_for(ctx) if with_table_one else None)
    return Built(results, report, deck_bytes(report))


# the demo's figures with each page analysis's defaults, in page order
FIGURES = ("forest", "curve", "standardized", "effects", "dose_response", "km", "roc", "risk_factors", "chart",
           "funnel")
DOSE_NOT_FITTED = "The dose–response curve could not be fitted."


def expected_figures(results) -> list[str]:
    """The keys of the figures a deck of the demo's page analyses holds: all of them, but the dose–response curve only
    when it could be fitted — in cell-key mode it is fitted on cells of about one participant each, so with some
    (random) session secrets it cannot be, and the biomarker result says so in its notes."""
    risk = next(r for r in results if isinstance(r, AnalysisResult) and r.analysis == "biomarker-risk")
    return [key for key in FIGURES if key != "dose_response" or DOSE_NOT_FITTED not in risk.notes]


@pytest.fixture(scope="session")
def demo_build(engine) -> Built:
    """The "Export all" deck of the unfiltered demo extract (Table 1 and the three analyses) in the default
    (cell-key) mode."""
    return build(context(engine), with_table_one=True)


@pytest.fixture(scope="session")
def demo_html(demo_build) -> str:
    return html_bytes(demo_build.report).decode("utf-8")


# --- reading a deck back --------------------------------------------------------------------------------------

def title(slide) -> str:
    return slide.shapes.title.text_frame.text


def shape(slide, name: str):
    return next((s for s in slide.shapes if s.name == name), None)


def pictures(slide) -> list:
    return [s for s in slide.shapes if s.shape_type == 13]  # MSO_SHAPE_TYPE.PICTURE


def ppi(picture) -> float:
    """Pixels per inch of a picture as placed on the slide (the smaller of width and height)."""
    width_px, height_px = picture.image.size
    return min(width_px / Emu(picture.width).inches, height_px / Emu(picture.height).inches)


def table_rows(slide) -> list[list[str]]:
    table = shape(slide, "Table").table
    return [[cell.text for cell in row.cells] for row in table.rows]


def table_records(slide) -> list[dict[str, str]]:
    header, *rows = table_rows(slide)
    return [dict(zip(header, row)) for row in rows]


def slides_titled(deck, prefix: str) -> list:
    return [s for s in deck.slides if title(s).startswith(prefix)]


def all_texts(deck) -> list[str]:
    """Every text in the deck: titles, text boxes, table cells (headers too) and speaker notes."""
    texts = []
    for slide in deck.slides:
        for item in slide.shapes:
            if item.has_text_frame:
                texts.append(item.text_frame.text)
            if item.has_table:
                texts += [cell.text for row in item.table.rows for cell in row.cells]
        if slide.has_notes_slide:
            texts.append(slide.notes_slide.notes_text_frame.text)
    return texts


def expected_tables(report) -> int:
    """The tables of a report: one per table block of its sections (Table 1, each analysis's tables)."""
    from analyses.report.content import TableBlock

    return sum(isinstance(block, TableBlock) for section in report.sections for block in section.blocks)
