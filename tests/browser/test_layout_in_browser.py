"""Layout defects seen in screenshots at 1600×1000 and 1280×720, measured in a real browser: tables in inner scroll
boxes or cut at the right edge, a sidebar multiselect hiding its tags, presentation slides whose legend, caption or
step buttons fall below the window, downloads without their caption. Screenshots go to test-artifacts/."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg.marks'
SCROLLER = """grid => { const s = grid.querySelector('.dvn-scroller');
    return {sh: s.scrollHeight, ch: s.clientHeight, sw: s.scrollWidth, cw: s.clientWidth}; }"""


@pytest.fixture(params=[(1600, 1000), (1280, 720)], ids=["1600x1000", "1280x720"])
def screen(request, browser):
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.size = (width, height)
    yield page
    context.close()


def open_page(page, url: str, charts: int = 0, selector: str | None = None) -> None:
    page.goto(url)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=90_000)
    if charts:
        page.wait_for_function("n => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas,"
                               " [data-testid=\"stVegaLiteChart\"] svg.marks').length >= n", arg=charts,
                               timeout=90_000)
    if selector:
        page.wait_for_selector(selector, timeout=90_000)


def grid_with(page, header: str):
    """The interactive table (glide grid) that has a column ``header``."""
    grid = page.get_by_test_id("stDataFrame").filter(has=page.locator("th", has_text=header)).first
    grid.wait_for(timeout=60_000)
    return grid


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.size[0]}x{page.size[1]}.png"))


def test_table_one_is_shown_whole(server, screen, engine):
    open_page(screen, server, selector='[data-testid="stTable"]')
    table = screen.get_by_test_id("stTable").filter(has=screen.locator("th", has_text="SMD")).first
    size = table.evaluate("t => ({sh: t.scrollHeight, ch: t.clientHeight, sw: t.scrollWidth, cw: t.clientWidth,"
                          " rows: t.querySelectorAll('tbody tr').length})")
    assert size["sh"] <= size["ch"] + 2, f"Table 1 scrolls inside its box: {size}"
    assert size["sw"] <= size["cw"] + 2, f"Table 1 is cut at the right: {size}"
    assert size["rows"] > 40  # every row on the page
    longest = max((o.label for o in engine.info.mapping.outcomes.values()), key=len)
    assert table.get_by_text(longest).first.is_visible()  # the longest label whole, wrapped
    table.scroll_into_view_if_needed()
    shot(screen, "overview-table-one")


def test_estimates_table_is_not_cut(server, screen):
    open_page(screen, f"{server}/sex-differences", charts=1)
    grid = grid_with(screen, "Method")
    size = grid.evaluate(SCROLLER)
    assert size["sw"] <= size["cw"] + 2, f"the estimates table is cut at the right: {size}"
    assert size["sh"] <= size["ch"] + 2, f"the estimates table scrolls: {size}"
    grid.scroll_into_view_if_needed()
    shot(screen, "sex-differences-estimates")


def test_data_dictionary_and_sidebar_show_everything(server, screen):
    open_page(screen, f"{server}/data", selector='[data-testid="stTable"]')
    for table in screen.get_by_test_id("stTable").all():
        box = table.evaluate("t => ({sw: t.scrollWidth, cw: t.clientWidth, sh: t.scrollHeight, ch: t.clientHeight})")
        assert box["sw"] <= box["cw"] + 2 and box["sh"] <= box["ch"] + 2, box
    description = screen.get_by_test_id("stTable").first.get_by_text("Pseudonymous participant key")
    assert description.is_visible()
    drugs = screen.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="First drug")
    tags = drugs.get_by_test_id("stMultiSelectTagsContainer")
    size = tags.evaluate("t => ({sh: t.scrollHeight, ch: t.clientHeight, parent: t.parentElement.clientHeight})")
    assert size["sh"] <= size["ch"] + 1, f"the drug filter hides tags in a scroll box: {size}"
    assert size["parent"] + 2 >= size["sh"], f"the drug filter's box cuts its tags off: {size}"
    screen.get_by_test_id("stSidebar").get_by_text("First drug").scroll_into_view_if_needed()
    shot(screen, "data-sidebar")


def _fits(page, what: str, settle_ms: int = 10_000) -> None:
    """The slide's chart (with its legend), caption and step buttons all lie inside the window — once the layout has
    settled: a chart sized to its container is redrawn after the container takes its final height, so the check is
    repeated for up to ``settle_ms`` before it fails."""
    for _ in range(settle_ms // 500):
        try:
            return _fits_now(page, what)
        except AssertionError:
            page.wait_for_timeout(500)
    _fits_now(page, what)


def _fits_now(page, what: str) -> None:
    height = page.size[1]
    chart = page.get_by_test_id("stVegaLiteChart").first
    drawn = chart.locator("canvas, svg.marks").first.bounding_box()
    frame = chart.bounding_box()
    assert drawn["y"] + drawn["height"] <= frame["y"] + frame["height"] + 2, f"{what}: the chart overflows its box"
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text="Cohort:").first.bounding_box()
    assert caption["y"] >= drawn["y"] + drawn["height"] - 2, f"{what}: the caption overlaps the chart"
    for name in ("◀ Previous", "Next ▶", "Exit presentation"):
        button = page.get_by_role("button", name=name).bounding_box()
        assert button["y"] + button["height"] <= height, f"{what}: {name} is below the window"
    assert caption["y"] + caption["height"] <= height, f"{what}: the caption is below the window"


def test_presented_age_chart_fits_the_screen(server, screen):
    open_page(screen, f"{server}/age-prevalence?present=1", charts=1)
    screen.get_by_text("Figure 1 of 2").wait_for(timeout=60_000)
    _fits(screen, "age chart")
    shot(screen, "presentation-age")


def test_presented_roc_curve_fits_the_screen_with_its_notes(server, screen):
    """The diagnostic page's notes (participants left out, where the threshold comes from) stay on the one screen,
    above the step buttons, instead of following below the window."""
    open_page(screen, f"{server}/diagnostic-accuracy?present=1", charts=1)
    _fits(screen, "ROC curve")
    notes = screen.get_by_test_id("stMain").get_by_test_id("stAlertContainer")
    assert notes.count() >= 1
    for i in range(notes.count()):
        box = notes.nth(i).bounding_box()
        assert box["y"] + box["height"] <= screen.size[1], "a note is below the window"
    shot(screen, "presentation-roc")


def test_presented_kaplan_meier_fits_the_screen(server, screen):
    """The KM figure (curves over the numbers at risk, a fixed-size concatenation) is scaled to the screen, so its
    caption and the step buttons stay on it at 1280×720 too."""
    open_page(screen, f"{server}/ferritin-augmentation?present=1", charts=1)
    total = int(screen.get_by_text("Figure 1 of ").inner_text().rsplit(" ", 1)[1])
    for i in range(2, total + 1):
        screen.get_by_role("button", name="Next ▶").click()
        screen.get_by_text(f"Figure {i} of {total}").wait_for(timeout=60_000)
    screen.wait_for_selector(CHART, timeout=60_000)
    assert "Kaplan" in screen.get_by_test_id("stMain").get_by_test_id("stHeading").first.inner_text()
    _fits(screen, "Kaplan–Meier")
    shot(screen, "presentation-km")


def test_downloaded_svg_names_its_cohort(server, page):
    open_page(page, f"{server}/age-prevalence", charts=2)
    button = page.get_by_test_id("stDownloadButton").filter(has_text="SVG").first
    with page.expect_download(timeout=60_000) as info:
        button.click()
    root = ET.parse(info.value.path()).getroot()
    text = " ".join(" ".join(t.itertext()) for t in root.iter() if t.tag.endswith("text"))
    assert "Cohort: all participants; N = " in text and "withheld" in text
