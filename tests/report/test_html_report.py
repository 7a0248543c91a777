"""The printable report as a file: self-contained (figures as data: PNG, nothing to fetch), the deck's content, print
CSS for paged output, and every text escaped (labels and filter descriptions come from the user's data)."""

from __future__ import annotations

import base64
import io
import re
from dataclasses import replace
from html import escape
from html.parser import HTMLParser

from PIL import Image

from analyses.report import build_report, html_bytes
from analyses.registry import PAGE_ANALYSES
from tests.report.conftest import expected_figures, expected_tables, pictures, shape, table_rows, title


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


def test_nothing_is_fetched_figures_are_embedded_png(demo_build, demo_html):
    tags = elements(demo_html)
    assert not [t for t, _ in tags if t in ("link", "script", "iframe", "object", "embed", "base")]
    images = [a["src"] for t, a in tags if t == "img"]
    assert len(images) == len(expected_figures(demo_build.results))
    assert all(src.startswith("data:image/png;base64,") for src in images)
    for src in images:
        png = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert round(png.info["dpi"][0]) == 200
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", demo_html)
    assert not re.search(r"(https?:|ftp:|file:)?//[a-z0-9]|url\(|@import|@font-face", text, re.I)
    csp = next(a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "img-src data:" in csp


def test_print_css_breaks_sections_keeps_figures_whole_and_repeats_table_headers(demo_html):
    style = re.search(r"<style>(.*)</style>", demo_html, re.S).group(1)
    printing = style[style.index("@media print"):]
    assert "section { break-before: page; }" in printing
    assert re.search(r"figure[^{]*\{ break-inside: avoid", printing)
    assert "thead { display: table-header-group; }" in printing
    page = re.search(r"@page \{([^}]*)\}", style).group(1)
    assert "margin" in page and "size" not in page  # the reader's paper (A4 or Letter) decides


def test_the_report_holds_the_deck_content(demo_build, demo_html):
    deck = demo_build.deck
    for slide in deck.slides:
        assert escape(title(slide).removesuffix(" (continued)")) in demo_html
        if pictures(slide):
            assert escape(shape(slide, "Footnote").text_frame.text) in demo_html
    cells = {cell for s in deck.slides if shape(s, "Table") is not None for row in table_rows(s) for cell in row}
    assert len(cells) > 100
    assert not [c for c in cells if f">{escape(c)}</td>" not in demo_html and f">{escape(c)}</th>" not in demo_html]
    assert demo_html.count("<section>") == 1 + len(PAGE_ANALYSES)  # Table 1 and each page analysis
    assert demo_html.count("<table>") == expected_tables(demo_build.report)


def test_every_text_is_escaped(demo_build):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>&amp;"
    results = [replace(r, cohort=replace(r.cohort, description=hostile, label=hostile), title=hostile,
                       notes=(hostile,)) for r in demo_build.results]
    html = html_bytes(build_report(results[0].cohort, results)).decode("utf-8")
    assert "<script" not in html and "<img src=x" not in html
    assert escape(hostile) in html
    assert [t for t, _ in elements(html)].count("img") == len(expected_figures(demo_build.results))
