"""Analysis pages before the statistics engine: labelled placeholders that show no numbers."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("page", ["views/age_prevalence.py", "views/ferritin_augmentation.py"])
def test_placeholder_pages_show_no_numbers(app, page):
    at = app({"sex": "female"}, page=page)
    assert len(at.info) == 1 and "no numbers" in at.info[0].value
    assert not at.metric and not at.dataframe
    assert "women" in at.caption[0].value
    assert not re.search(r"\d", at.info[0].value)
