"""The printable report: one self-contained HTML file with the content of the deck.

Figures are embedded as base64 PNG (200 ppi); there is no link, script, font or any other external resource, and a
Content-Security-Policy forbids fetching one. Print CSS lays it out for A4 or Letter: each section on a new page,
figures never split, table headers repeated on every page. Every text is escaped: labels and filter descriptions
come from the user's data.
"""

from __future__ import annotations

import base64
import io
from html import escape

from PIL import Image

from analyses.exports import PNG_PPI
from analyses.report.content import (FigureBlock, Report, Section, TableBlock, TitlePage, cell_text,
                                      numeric_columns)

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = """
:root { color-scheme: light; }
body { font-family: "Liberation Sans", Helvetica, Arial, sans-serif; color: #222; background: #fff;
       max-width: 10.5in; margin: 0 auto; padding: 24px; font-size: 11pt; line-height: 1.4; }
h1 { font-size: 22pt; margin: 0 0 12px; }
h2 { font-size: 17pt; margin: 0 0 6px; padding-bottom: 4px; border-bottom: 2px solid #0072B2; }
h3 { font-size: 12.5pt; margin: 14px 0 6px; }
dl.cover { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; font-size: 12pt; }
dl.cover dt { font-weight: bold; }
dl.cover dd { margin: 0; }
.lead { font-size: 11.5pt; }
.note { background: #fff6e0; border-left: 4px solid #E69F00; padding: 4px 8px; margin: 6px 0; }
figure { margin: 0 0 18px; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption, .footnote { font-size: 9pt; color: #555; margin-top: 4px; }
.statement { margin: 6px 0; }
table { border-collapse: collapse; font-size: 9.5pt; margin: 6px 0; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
td.number { text-align: right; white-space: nowrap; }
.methods { font-size: 9.5pt; color: #333; }
.methods pre { white-space: pre-wrap; font-size: 8.5pt; background: #f6f6f6; padding: 4px 6px; }
@page { margin: 16mm 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  section { break-before: page; }
  figure, tr, .note, .statement, .footnote { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  thead { display: table-header-group; }
}
"""


def html_bytes(report: Report) -> bytes:
    """The report as one self-contained HTML document (UTF-8)."""
    page = report.title_page
    body = [cover(page), *(section(s) for s in report.sections)]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(page.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n").encode("utf-8")


def cover(page: TitlePage) -> str:
    rows = "".join(f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>" for label, text in page.lines)
    return f"<header>\n<h1>{escape(page.title)}</h1>\n<dl class=\"cover\">{rows}</dl>\n</header>"


def section(part: Section) -> str:
    notes = "".join(f"<p class=\"note\">{escape(n)}</p>" for n in part.notes)
    blocks = "\n".join(figure(b) if isinstance(b, FigureBlock) else table(b) for b in part.blocks)
    return (f"<section>\n<h2>{escape(part.heading)}</h2>\n<p class=\"lead\">{escape(part.lead)}</p>\n{notes}\n"
            f"{blocks}\n{methods(part)}\n</section>")


def figure(block: FigureBlock) -> str:
    """The PNG at its physical size (pixels / 200 ppi), shrunk to the page width when wider."""
    width_px, _ = Image.open(io.BytesIO(block.png)).size
    data = base64.b64encode(block.png).decode("ascii")
    return (f"<figure>\n<h3>{escape(block.title)}</h3>\n<img src=\"data:image/png;base64,{data}\" "
            f"alt=\"{escape(block.figure.title)}\" style=\"width: {width_px / PNG_PPI:.2f}in\">\n"
            f"<figcaption>{escape(block.footnote)}</figcaption>\n</figure>")


def table(block: TableBlock) -> str:
    numeric = [c in numeric_columns(block.frame) for c in block.frame.columns]
    head = "".join(f"<th>{escape(str(c))}</th>" for c in block.frame.columns)
    rows = "".join("<tr>" + "".join(_cell(v, right) for v, right in zip(values, numeric)) + "</tr>\n"
                   for values in block.frame.itertuples(index=False))
    statements = "".join(f"<p class=\"statement\">{escape(s)}</p>" for s in block.statements)
    return (f"<div class=\"table\">\n<h3>{escape(block.title)}</h3>\n<table>\n<thead><tr>{head}</tr></thead>\n"
            f"<tbody>\n{rows}</tbody>\n</table>\n{statements}"
            f"<p class=\"footnote\">{escape(block.footnote)}</p>\n</div>")


def _cell(value, right: bool) -> str:
    opening = '<td class="number">' if right else "<td>"
    return f"{opening}{escape(cell_text(value))}</td>"


def methods(part: Section) -> str:
    if not part.methods:
        return ""
    formulas = "".join(f"<pre>{escape(f)}</pre>" for f in part.formulas)
    return (f"<div class=\"methods\">\n<h3>How this was computed</h3>\n<p>{escape(part.methods)}</p>\n{formulas}"
            "\n</div>")
