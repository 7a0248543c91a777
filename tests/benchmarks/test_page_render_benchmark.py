"""The page-render benchmark drives the real app (AppTest) through its filter changes on a page and reports each
timing: it runs on the test demo for the pages added last (the timings themselves are benchmark output, not
asserted against a target)."""

from __future__ import annotations

import json

import pytest

from benchmarks import page_render


@pytest.mark.timeout(600)
def test_the_benchmark_measures_every_filter_change_of_a_page(app_data, demo_dir, capsys):
    pages = ["views/trends_sites.py", "views/risk_factors.py"]
    assert set(pages) <= set(page_render.PAGES)
    assert page_render.main(["--data", str(demo_dir), "--json", "--pages", *pages]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [r["page"] for r in rows] == pages
    for row in rows:
        assert row["changes"] == len(page_render.CHANGES)
        assert 0 < row["filter_change_median_s"] <= row["filter_change_max_s"]
