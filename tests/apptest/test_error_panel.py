"""A refused source shows an error panel naming file, column and rule — no traceback, no values."""

from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

from tests.apptest.conftest import APP


def test_refused_source_shows_an_error_panel(tmp_path, app_data):
    bad = tmp_path / "cohort.csv"
    bad.write_text("participant_id,sex,age,email\n1,F,40,secret.person@example.org\n2,M,50,x\n")
    old = os.environ["RLS_DATA"]
    os.environ["RLS_DATA"] = str(bad)
    try:
        at = AppTest.from_file(APP, default_timeout=60).run()
    finally:
        os.environ["RLS_DATA"] = old
    assert not at.exception
    assert "could not be used" in at.error[0].value
    text = " ".join(m.value for m in at.markdown)
    assert "email" in text and "e-mail address" in text
    assert "secret.person" not in text
    assert not at.metric
