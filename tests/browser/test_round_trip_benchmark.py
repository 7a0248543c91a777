"""The browser round-trip benchmark drives the real server in chromium: each timed change removes one more site, the
page's URL carries the filter afterwards, and each timing is that change's (the figures themselves are benchmark
output, not asserted against a target). It runs in the session's chromium: Playwright's sync API allows one per
process."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from benchmarks import round_trip

pytestmark = pytest.mark.browser


@pytest.mark.timeout(600)
def test_each_site_removal_is_timed_and_reaches_the_url(browser, demo_dir):
    results = round_trip.measure(browser, demo_dir, ["overview", "sex-differences"])
    assert [r["page"] for r in results] == ["overview", "sex-differences"]
    kept = []
    for r in results:
        assert len(r["changes_s"]) == round_trip.CHANGES
        assert all(0 < s <= r["round_trip_max_s"] for s in r["changes_s"])
        assert all(0 <= began <= s for began, s in zip(r["script_began_s"], r["changes_s"]))
        kept.append(set(parse_qs(urlparse(r["url_after"]).query)["site"][0].split(",")))
    assert all(len(k) == len(kept[0]) for k in kept) and kept[0] != kept[1]  # each page removed its own sites
