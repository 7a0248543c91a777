"""The printable report in Debian's chromium: it renders from a file without a single network request, every figure
fits on a printed page (so ``break-inside: avoid`` keeps it whole), and it prints to PDF on A4 and Letter. The PDFs
and a PNG of every printed page (Ghostscript) go to test-artifacts/report/ — look at them."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from PIL import Image, ImageStat

from tests.browser.conftest import ARTIFACTS
from tests.report.conftest import expected_figures

pytestmark = pytest.mark.browser

OUT = ARTIFACTS / "report"
PAPER = {"A4": (595.92, 842.88), "Letter": (612.0, 792.0)}  # points
PRINTABLE_A4 = {"width": 688, "height": 1000}  # CSS px inside the 16 mm × 14 mm margins


@pytest.fixture(scope="module")
def printed(demo_html, tmp_path_factory, browser):
    """Open the report in chromium, record every request, measure the figures as printed, print A4 and Letter."""
    source = tmp_path_factory.mktemp("report") / "report.html"
    source.write_text(demo_html, encoding="utf-8")
    OUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=PRINTABLE_A4)
    try:
        page = context.new_page()
        requests, console = [], []
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: console.append(message.text))
        page.goto(source.as_uri(), wait_until="load")
        loaded = page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        page.emulate_media(media="print")
        figures = page.evaluate("[...document.querySelectorAll('figure')].map(f => f.getBoundingClientRect().height)")
        for paper in PAPER:
            page.pdf(path=str(OUT / f"report-{paper}.pdf"), format=paper, print_background=True)
    finally:
        context.close()
    return {"requests": requests, "console": console, "source": source.as_uri(), "loaded": loaded,
            "figures": figures}


def test_renders_from_the_file_alone(printed):
    assert printed["requests"] == [printed["source"]]
    assert printed["loaded"]
    assert not printed["console"]  # e.g. no "Refused to load … Content Security Policy"


def test_every_figure_fits_on_a_printed_page(printed, demo_build):
    assert len(printed["figures"]) == len(expected_figures(demo_build.results))
    assert all(0 < height < PRINTABLE_A4["height"] for height in printed["figures"]), printed["figures"]


@pytest.mark.parametrize("paper", PAPER)
def test_prints_to_pdf_pages_of_the_paper_size(printed, paper, demo_build):
    pdf = (OUT / f"report-{paper}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = re.findall(rb"/Type\s*/Page\b(?!s)", pdf)
    sections = len(demo_build.results) + 2  # the analyses, Table 1 and the cover
    # a section (figure, tables, method) fills about two printed pages; more means pages left mostly empty
    assert sections <= len(pages) <= 3 * sections, (len(pages), sections)
    boxes = {tuple(round(float(v)) for v in box.split()[2:]) for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf)}
    assert boxes == {tuple(round(v) for v in PAPER[paper])}


def test_printed_pages_as_png_for_a_look(printed):
    ghostscript = shutil.which("gs")
    if ghostscript is None:
        pytest.fail("Ghostscript is required to picture the printed pages: `make test` installs it (apt-get install "
                    "ghostscript)")
    for old in OUT.glob("A4-page-*.png"):
        old.unlink()
    subprocess.run([ghostscript, "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=png16m", "-r70",
                    f"-sOutputFile={OUT / 'A4-page-%02d.png'}", str(OUT / "report-A4.pdf")], check=True, timeout=120)
    pages = sorted(OUT.glob("A4-page-*.png"))
    assert len(pages) >= 6
    for png in pages:
        with Image.open(png) as image:
            assert image.size[1] > image.size[0]  # portrait
            assert ImageStat.Stat(image.convert("L")).extrema[0][0] < 100, f"{png.name} is blank"
