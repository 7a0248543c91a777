"""AppTest helpers: run the real navigation entry against the session's demo extract."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "dashboard" / "app.py")


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
def guard_off(tmp_path, monkeypatch):
    """A deployment config with the differencing guard off, for tests of one page's own numbers and suppression
    on views the guard would refuse as a whole (the CLI reads the same config)."""
    config = tmp_path / "dashboard.toml"
    config.write_text("[disclosure]\nmin_cell = 11\ndifferencing_guard = false\n", encoding="utf-8")
    monkeypatch.setenv("RLS_DASHBOARD_CONFIG", str(config))


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
