"""Sex differences as users saw it: a one-sex filter says so plainly (not "…, sex; women"), the estimates come with
p-values to three significant digits, a CSV of the exact values, the exact p on hover, and presentation mode states
the odds ratios with their CIs next to the forest plot."""

from __future__ import annotations

import re

import pytest

from tests.apptest.conftest import charts

PAGE = "views/sex_differences.py"


@pytest.mark.parametrize(("sex", "word"), [("female", "women"), ("male", "men")])
def test_one_sex_filter_reads_plainly(app, sex, word):
    at = app({"sex": sex}, page=PAGE)
    headings = [h.value for h in at.subheader]
    assert headings[0].startswith(f"No comparison of women and men: the Sex filter keeps {word} only (RLS")
    assert re.search(r"N = [\d,]+\)$", headings[0])
    assert not any("sex;" in h for h in headings)
    assert any("exactly two levels" in w.value for w in at.warning)  # the analysis' own note stays
    assert any("Select both women and men" in i.value for i in at.info)
    assert not charts(at)


def test_estimates_show_p_values_and_offer_the_exact_ones(app):
    at = app(page=PAGE)
    table = next(d.value for d in at.dataframe if "Measure" in d.value.columns)
    assert all(re.fullmatch(r"< 0\.001|[01]\.\d{2,}|0\.0*[1-9]\d{2}", p) for p in table["p"]), list(table["p"])
    config = next(d.proto.columns for d in at.dataframe if "Measure" in d.value.columns)
    assert '"Method"' in config and '"width": 300' in config  # the method column is the wide one, wrapped
    assert next(d.proto.row_height for d in at.dataframe if "Measure" in d.value.columns) > 64
    assert "download_estimates" in {b.key for b in at.get("download_button")}
    captions = " ".join(c.value for c in at.caption)
    assert "exact values in the CSV" in captions
    sentences = [m for m in at.markdown if "Breslow–Day" in m.value]
    assert sentences and "= <" not in sentences[0].value
    if "p < 0.001" in sentences[0].value:
        assert sentences[0].help and sentences[0].help.startswith("p = ")


def test_presentation_states_the_odds_ratios(app):
    at = app({"present": "1"}, page=PAGE)
    stated = [m.value for m in at.markdown if " OR " in m.value and "95% CI" in m.value]
    assert len(stated) == 3, stated  # crude, Mantel–Haenszel, adjusted
    for text in stated:
        assert re.search(r"OR \d+\.\d{2}\*\*  \n95% CI \d+\.\d{2}–\d+\.\d{2}, p (<|=) ", text), text
    assert any(t.startswith("**Adjusted OR") for t in stated)
    assert len(charts(at)) == 1
