"""The README's tables of URL keys list every key the dashboard reads: the sidebar filters and each page control
(``dashboard.controls.PAGE_KEYS``), so a link a user builds from the README works and no key is undocumented."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard.controls import PAGE_KEYS
from queries.filters import FILTERS_BY_KEY

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_url_key_is_in_the_readme():
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", README.read_text(encoding="utf-8"), flags=re.MULTILINE))
    missing = (set(PAGE_KEYS) | set(FILTERS_BY_KEY)) - documented
    assert not missing, f"URL keys missing from the README's tables: {sorted(missing)}"
