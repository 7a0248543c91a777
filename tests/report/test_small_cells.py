"""A cohort with small cells (one site, ages 60–79, of the demo extract) gives an "Export all" deck without a single
count from 1 to 10, in the default cell-key mode (released counts 1 … 10 shown as "<11") and in exact mode (threshold
and complementary suppression): every text frame, table cell and speaker note is read. With suppression off
(``min_cell = 0``), the same reading does find such counts."""

from __future__ import annotations

import re

import pytest

from tests.report.conftest import all_texts, build, context, shape, table_records

SMALL = "site=H&age=60-79"
COUNT_COLUMNS = {"n", "Cases", "Non-cases", "Events"}
COUNT_IN_TEXT = re.compile(r"\bN = ([\d,]+)|\b([\d,]+) (?:treated )?participants\b|\b(?:Women|Men) ([\d,]+)\b")
N_PERCENT = re.compile(r"^([\d,]+) \([\d.]+%\)$")


def counts(deck) -> list[int]:
    """Every count the deck states: in count columns, Table 1's n (%) and missing cells, and "N = …",
    "… participants" and the per-sex N in any text (titles, footnotes, notes, cells)."""
    found = []
    for text in all_texts(deck):
        found += [int(g.replace(",", "")) for m in COUNT_IN_TEXT.finditer(text) for g in m.groups() if g]
    for slide in deck.slides:
        if shape(slide, "Table") is None:
            continue
        for record in table_records(slide):
            for column, cell in record.items():
                table_one_cell = N_PERCENT.match(cell) or (record.get("Level") == "missing" and "N = " in column)
                if column in COUNT_COLUMNS or table_one_cell:
                    found += [int(n.replace(",", "")) for n in re.findall(r"^[\d,]+", cell)]
    return found


@pytest.fixture(scope="module", params=["cell_key", "exact"])
def gated(engine, request):
    return build(context(engine, SMALL, method=request.param), with_table_one=True)


def test_no_count_below_the_threshold_anywhere_in_the_deck(gated):
    assert {r.cohort.method for r in gated.results} == {gated.results[0].cohort.method}
    shown = counts(gated.deck)
    assert shown, "the deck states no count at all"
    assert not [n for n in shown if 0 < n < 11], sorted(shown)
    texts = all_texts(gated.deck)
    assert any(t == "withheld" for t in texts) and any("<11" in t for t in texts)
    perturbed = [t for t in texts if "Counts are perturbed (cell key method" in t]
    assert bool(perturbed) == (gated.results[0].cohort.method == "cell_key")


def test_the_reading_finds_small_counts_when_suppression_is_off(engine):
    open_ = build(context(engine, SMALL, min_cell=0), with_table_one=True)
    assert [n for n in counts(open_.deck) if 0 < n < 11]
