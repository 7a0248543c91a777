"""AppTest helpers: run the real navigation entry against the session's demo extract."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def app(app_data):
    """A function returning a fresh AppTest, optionally seeded with URL query parameters and a page."""

    def make(query: dict | None = None, page: str | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    return make


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)
