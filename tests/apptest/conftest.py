"""AppTest helpers: run the real navigation entry against the session's demo extract."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from disclosure.policy import DisclosurePolicy
from tests.conftest import ROOT

APP = str(ROOT / "dashboard" / "app.py")
CELL_KEY = DisclosurePolicy(11, "cell_key")  # the default policy: the repository's dashboard.toml


def run_app(query: dict | None = None, page: str | None = None) -> AppTest:
    """A fresh AppTest of the real app, seeded with URL query parameters, on ``page``; it must not raise."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def app(app_data):
    """:func:`run_app`, once the app's data source points at the session's demo extract."""
    return run_app


@pytest.fixture
def disclosure_method(tmp_path, monkeypatch):
    """Run the app (and the in-process CLI, which reads the same config) under a deployment config with this
    disclosure method; returns the policy. Without it the app runs in the default (cell-key) mode of the
    repository's dashboard.toml."""

    def use(method: str) -> DisclosurePolicy:
        config = tmp_path / "dashboard.toml"
        config.write_text(f'[disclosure]\nmin_cell = 11\nmethod = "{method}"\n', encoding="utf-8")
        monkeypatch.setenv("RLS_DASHBOARD_CONFIG", str(config))
        return DisclosurePolicy(11, method)

    return use


@pytest.fixture
def exact_mode(disclosure_method) -> DisclosurePolicy:
    """Exact mode (exact counts, threshold and complementary suppression), for tests that check exact numbers."""
    return disclosure_method("exact")


def small_cohort_query(engine, options, policy: DisclosurePolicy = CELL_KEY) -> dict:
    """A filter state on the demo whose released size under ``policy`` is between 1 and k−1 (in cell-key mode the
    released size decides, and an exact size of 9 may be released as 12, so the search asks the release layer)."""
    from queries import cohort, filters

    for sex in ("male", "female"):
        for site in options.sites:
            for year in options.years:
                query = {"age": "85-90", "sex": sex, "site": site, "year": f"{year}-{year}"}
                n = cohort.outcome_counts(engine, filters.parse_query(query, options)[0], options, policy)["n"]
                if policy.is_small(n):
                    return query
    raise AssertionError("the demo has no small cohort to test with")


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def cli_json(capsys, *argv: str) -> dict:
    """The analyses CLI's JSON for the same arguments (run in process: the same parser and options)."""
    from analyses.cli import main

    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def dataframe_with(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def charts(at: AppTest) -> list[dict]:
    """The Vega-Lite specs of the page's charts (AppTest cannot render them, but it sees their specs)."""
    specs = []
    for element in at.get("vega_lite_chart"):
        specs.append(json.loads(element.proto.spec))
    return specs


def shown(value, template: str) -> str:
    """How the pages display a result value: withheld (None) values as "withheld"."""
    return "withheld" if value is None else template.format(value)
