"""Page controls given a value the page does not offer (a mistyped or stale link): the value is dropped and a
warning names the parameter, quoting the value only in a short, escaped form, as the README promises."""

from __future__ import annotations

import pytest

AGE = "views/age_prevalence.py"
SEX = "views/sex_differences.py"


def url_warnings(at) -> list[str]:
    return [w.value for w in at.warning if "The link's" in w.value]


@pytest.mark.parametrize(("page", "url", "key"), [(AGE, {"standard": "esp2031"}, "standard"),
                                                  (AGE, {"bands": "7"}, "bands"),
                                                  (SEX, {"strata": "sex"}, "strata")])
def test_an_unknown_value_is_dropped_with_a_warning_naming_the_parameter(app, page, url, key):
    at = app(url, page=page)
    warnings = url_warnings(at)
    assert len(warnings) == 1 and f"`{key}=`" in warnings[0] and f"`{url[key]}`" in warnings[0]
    assert key not in at.query_params  # the page runs on its default, and the link now says so


def test_valid_values_raise_no_warning(app):
    at = app({"standard": "who2000", "bands": "20"}, page=AGE)
    assert not url_warnings(at)
    assert at.query_params["standard"] == ["who2000"] or at.query_params["standard"] == "who2000"


def test_the_value_is_quoted_short_and_escaped(app):
    hostile = "<img src=x onerror=alert(1)>" + "**bold**" * 20 + "`code`"
    at = app({"strata": hostile}, page=SEX)
    [warning] = url_warnings(at)
    assert "`strata=`" in warning
    quoted = warning.split("value ", 1)[1].split(" is not", 1)[0]
    assert quoted.startswith("`") and quoted.endswith("…`")  # inline code: no Markdown or HTML is interpreted
    assert len(quoted) <= 24 + 3 and quoted.count("`") == 2
    assert "**bold**" * 2 not in warning


def test_unknown_entries_of_a_list_are_named_too(app):
    at = app({"adjust": "age,shoe_size"}, page=SEX)
    [warning] = url_warnings(at)
    assert "`adjust=`" in warning and "`shoe_size`" in warning
