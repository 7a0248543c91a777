"""Real browser: open the app, change a filter, see N change and the URL carry the filter; a pasted URL
reproduces the same N in a fresh browser context. The server runs in the default (cell-key) mode with the session's
secret (inherited), so its N are the release layer's counts here."""

from __future__ import annotations

import re

import pytest

from disclosure.policy import DisclosurePolicy
from queries import cohort, filters
from tests.browser.conftest import ARTIFACTS, wait_for_app

pytestmark = pytest.mark.browser
CELL_KEY = DisclosurePolicy(11, "cell_key")


def _participants(page) -> str:
    return page.get_by_test_id("stMetric").filter(has_text="Participants").get_by_test_id("stMetricValue").inner_text()


def _expect_participants(page, expected: str) -> None:
    page.wait_for_function(
        """expected => [...document.querySelectorAll('[data-testid="stMetric"]')]
             .some(m => m.innerText.includes('Participants') && m.innerText.includes(expected))""",
        arg=expected, timeout=60_000)


def test_filter_change_updates_n_and_url(server, browser, page, engine, options):
    page.goto(server)
    wait_for_app(page)
    total = cohort.outcome_counts(engine, filters.default_state(options), options, CELL_KEY)["n"]
    assert _participants(page) == f"{total:,}"
    page.screenshot(path=str(ARTIFACTS / "overview.png"))

    sex = page.get_by_test_id("stMultiSelect").filter(has_text="Sex")
    sex.get_by_role("button", name=re.compile("Remove female|Delete female", re.I)).first.click()
    men = cohort.outcome_counts(engine, filters.parse_query("sex=male", options)[0], options, CELL_KEY)["n"]
    _expect_participants(page, f"{men:,}")
    page.wait_for_url(re.compile(r"[?&]sex=male"))
    assert _participants(page) == f"{men:,}"
    page.screenshot(path=str(ARTIFACTS / "overview-men.png"))

    fresh = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    fresh.goto(page.url)
    wait_for_app(fresh)
    _expect_participants(fresh, f"{men:,}")
    fresh.context.close()
