"""The slide deck (PPTX, python-pptx, 16:9) of a report.

A title slide; one slide per figure (the PNG placed no larger than its 200-ppi size, so it keeps at least 200 ppi on
the slide; the finding as the slide title; a footnote with method, N and the suppression note); tables as native,
editable PowerPoint tables, split over slides with the header repeated; the methods text in every slide's notes.
"""

from __future__ import annotations

import io

import pandas as pd
from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import PP_ALIGN
from pptx.util import Emu, Inches, Pt

from analyses.exports import PNG_PPI
from analyses.report.content import (FigureBlock, Report, Section, TableBlock, TitlePage, cell_text,
                                      numeric_columns)

SLIDE_WIDTH, SLIDE_HEIGHT = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.5)
CONTENT_WIDTH = SLIDE_WIDTH - 2 * MARGIN
TITLE_TOP, TITLE_HEIGHT = Inches(0.3), Inches(1.0)
BODY_TOP = Inches(1.45)
FOOTNOTE_HEIGHT = Inches(1.2)
FOOTNOTE_TOP = SLIDE_HEIGHT - FOOTNOTE_HEIGHT - Inches(0.12)
BODY_HEIGHT = FOOTNOTE_TOP - BODY_TOP - Inches(0.08)
TITLE_ONLY_LAYOUT = 5
ROW_HEIGHT = Inches(0.34)
ROWS_PER_SLIDE = 10
ROWS_PER_SLIDE_WRAPPED = 9  # rows with long text (the method of an estimate) wrap onto two lines, in smaller type
LONG_CELL = 40
DARK, GREY = RGBColor(0x22, 0x22, 0x22), RGBColor(0x55, 0x55, 0x55)


def deck_bytes(report: Report) -> bytes:
    """The PPTX file of ``report``."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    title_slide(deck, report.title_page)
    for section in report.sections:
        if not section.blocks:
            message_slide(deck, section)
        for block in section.blocks:
            if isinstance(block, FigureBlock):
                figure_slide(deck, block, section)
            else:
                for part, rows in enumerate(table_parts(block.frame)):
                    table_slide(deck, block, rows, section, continued=part > 0)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def _slide(deck, title: str, notes: str):
    slide = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY_LAYOUT])
    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = MARGIN, TITLE_TOP, CONTENT_WIDTH, TITLE_HEIGHT
    shape.text_frame.word_wrap = True
    paragraph = shape.text_frame.paragraphs[0]
    paragraph.text = title
    paragraph.alignment = PP_ALIGN.LEFT
    paragraph.font.size, paragraph.font.bold, paragraph.font.color.rgb = Pt(26 if len(title) < 90 else 22), True, DARK
    slide.notes_slide.notes_text_frame.text = notes
    return slide


def _text(slide, paragraphs: list[tuple[str, int, RGBColor]], top: Emu, height: Emu, name: str) -> None:
    """A text box of paragraphs (text, size in points, colour) across the slide."""
    box = slide.shapes.add_textbox(MARGIN, top, CONTENT_WIDTH, height)
    box.name = name
    frame = box.text_frame
    frame.word_wrap = True
    for i, (text, size, colour) in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = text
        paragraph.font.size, paragraph.font.color.rgb = Pt(size), colour
        paragraph.space_after = Pt(4)


def _footnote(slide, footnote: str, statements: tuple[str, ...] = ()) -> None:
    size = 11 if len(footnote) < 420 else 10 if len(footnote) < 700 else 9
    _text(slide, [(s, 12, DARK) for s in statements] + [(footnote, size, GREY)], FOOTNOTE_TOP, FOOTNOTE_HEIGHT,
          "Footnote")


def speaker_notes(section: Section) -> str:
    formulas = [f"Model: {f}" for f in section.formulas]
    return "\n".join([section.methods, *formulas]).strip()


def title_slide(deck, page: TitlePage) -> None:
    slide = _slide(deck, page.title, "\n".join(f"{label}: {text}" for label, text in page.lines))
    sizes = {"Software": 12, "Small-cell threshold": 14}
    _text(slide, [(f"{label}: {text}", sizes.get(label, 18), DARK) for label, text in page.lines], BODY_TOP,
          SLIDE_HEIGHT - BODY_TOP - MARGIN, "Cohort")


def message_slide(deck, section: Section) -> None:
    slide = _slide(deck, section.heading, section.lead)
    _text(slide, [(section.lead, 18, DARK)], BODY_TOP, BODY_HEIGHT, "Message")


def figure_slide(deck, block: FigureBlock, section: Section) -> None:
    """The figure at no more than its 200-ppi size (so never below 200 ppi), centred in the body."""
    slide = _slide(deck, block.title, speaker_notes(section))
    width_px, height_px = Image.open(io.BytesIO(block.png)).size
    native_width, native_height = Inches(width_px / PNG_PPI), Inches(height_px / PNG_PPI)
    scale = min(1.0, CONTENT_WIDTH / native_width, BODY_HEIGHT / native_height)
    width, height = int(native_width * scale), int(native_height * scale)
    picture = slide.shapes.add_picture(io.BytesIO(block.png), (SLIDE_WIDTH - width) // 2,
                                       BODY_TOP + (BODY_HEIGHT - height) // 2, width, height)
    picture.name = f"Figure: {block.figure.key}"
    _footnote(slide, block.footnote)


def wrapped(frame: pd.DataFrame) -> bool:
    return frame.astype(str).map(len).to_numpy().max(initial=0) > LONG_CELL


def table_parts(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """The rows of a table in slide-sized parts of about equal length (fewer rows per slide when cells wrap)."""
    limit = ROWS_PER_SLIDE_WRAPPED if wrapped(frame) else ROWS_PER_SLIDE
    parts = -(-max(len(frame), 1) // limit)
    size = -(-max(len(frame), 1) // parts)
    return [frame.iloc[i:i + size] for i in range(0, max(len(frame), 1), size)]


def table_slide(deck, block: TableBlock, rows: pd.DataFrame, section: Section, continued: bool) -> None:
    slide = _slide(deck, block.title + (" (continued)" if continued else ""), speaker_notes(section))
    widths = column_widths(rows)
    shape = slide.shapes.add_table(
        len(rows) + 1, len(rows.columns), MARGIN, BODY_TOP, sum(widths), ROW_HEIGHT * (len(rows) + 1))
    shape.name = "Table"
    table = shape.table
    size = 10 if wrapped(rows) or len(rows.columns) > 9 else 12 if len(rows.columns) <= 7 else 11
    for j, width in enumerate(widths):
        table.columns[j].width = width
    for j, name in enumerate(rows.columns):
        _cell(table.cell(0, j), str(name), size, bold=True)
    numeric = numeric_columns(block.frame)
    for i, values in enumerate(rows.itertuples(index=False), start=1):
        for j, (column, value) in enumerate(zip(rows.columns, values)):
            _cell(table.cell(i, j), cell_text(value), size, right=column in numeric)
    _footnote(slide, block.footnote, block.statements)


def column_widths(frame: pd.DataFrame) -> list[int]:
    """Column widths by their longest text (capped so long texts wrap), scaled down to fit the slide."""
    chars = [min(max([len(str(c)), *(len(cell_text(v)) for v in frame[c])]), LONG_CELL + 5) for c in frame.columns]
    widths = [Inches(0.45 + 0.105 * n) for n in chars]
    scale = min(1.0, CONTENT_WIDTH / sum(widths))
    return [int(w * scale) for w in widths]


def _cell(cell, text: str, size: int, bold: bool = False, right: bool = False) -> None:
    cell.text = text
    for paragraph in cell.text_frame.paragraphs:
        paragraph.font.size, paragraph.font.bold = Pt(size), bold
        if right:
            paragraph.alignment = PP_ALIGN.RIGHT
    cell.margin_top = cell.margin_bottom = Inches(0.04)
