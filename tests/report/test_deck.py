"""The "Export all" deck of the demo extract (default cell-key mode), opened with python-pptx: the title slide, one
slide per figure with a picture of at least 200 ppi and its footnote, native tables holding the pages' cells, the
methods in the notes; the title slide of an exact-mode deck states the exact sizes."""

from __future__ import annotations

import datetime as dt
import io
import re

import pandas as pd
from pptx import Presentation

from analyses import display
from analyses.registry import PAGE_ANALYSES
from analyses.report.content import TableBlock, figures_for, spec_of
from analyses.report import build_report, deck_bytes
from analyses.report.content import cell_text
from analyses.results import software_versions
from disclosure.policy import DisclosurePolicy
from queries import filters
from tests.report.conftest import (all_texts, context, expected_figures, pictures, ppi, shape, slides_titled,
                                   table_one_for, table_records, table_rows, title)

ANALYSES = tuple(spec.name for spec in PAGE_ANALYSES)  # the deck's analyses: those with a page, in page order


def _table_one_n(engine, policy) -> tuple[int, int]:
    """Released (or exact) participants per sex, as Table 1 counts them."""
    from queries.cohort import filter_options, table_one_inputs

    options = filter_options(engine)
    per_sex = table_one_inputs(engine, filters.default_state(options), options, policy)["__n__"].set_index("group")["n"]
    return int(per_sex["female"]), int(per_sex["male"])


def test_title_slide_names_cohort_filters_n_hash_date_software_and_threshold(demo_build, engine):
    """The default (cell-key) deck: N are released counts and the threshold line says counts are perturbed."""
    slide = demo_build.deck.slides[0]
    text = shape(slide, "Cohort").text_frame.text
    cohort = demo_build.result("odds-ratio").cohort
    assert title(slide) == "Cohort analyses"
    assert f"Cohort: {cohort.label}" in text and "Filters: all participants" in text
    assert f"Data hash: {cohort.data_hash}" in text and f"Date: {dt.date.today().isoformat()}" in text
    assert f"statsmodels {software_versions()['statsmodels']}" in text
    assert cohort.method == "cell_key"
    assert f"Small-cell threshold: 11. {cohort.disclosure_note}" in text
    assert "Counts are perturbed (cell key method, at most ±3)" in text and "shown as <11" in text
    n_line = next(line for line in text.splitlines() if line.startswith("N: "))
    women, men = _table_one_n(engine, DisclosurePolicy(11, "cell_key"))
    assert abs(women - 10_432) <= 3 and abs(men - 9_568) <= 3  # the exact sizes, perturbed by at most D = 3
    assert f"Table 1: Women {women:,}, Men {men:,}" in n_line
    odds_n = demo_build.result("odds-ratio").n
    assert f"{demo_build.result('odds-ratio').title}: {odds_n:,}" in n_line
    assert abs(odds_n - 20_000) <= 12  # cases + non-cases of each sex: four released cells, each within ±3
    assert f"{demo_build.result('biomarker-risk').title}: {demo_build.result('biomarker-risk').n:,}" in n_line


def test_exact_mode_title_slide_states_exact_sizes(engine):
    ctx = context(engine, method="exact")
    deck = Presentation(io.BytesIO(deck_bytes(build_report(ctx.cohort(), [], table_one_for(ctx)))))
    text = shape(deck.slides[0], "Cohort").text_frame.text
    assert "N: Women 10,432, Men 9,568" in text  # Table 1 alone: its N per sex
    assert "Small-cell threshold: 11. Exact counts. Counts from 1 to 10 are shown as <11" in text
    assert "perturbed" not in text


def test_one_slide_per_figure_each_with_a_picture_of_at_least_200_ppi_and_its_footnote(demo_build):
    deck = demo_build.deck
    figures = [(r, f) for r in map(demo_build.result, ANALYSES) for f in figures_for(r)]
    with_pictures = [s for s in deck.slides if pictures(s)]
    assert [f.key for _, f in figures] == expected_figures(demo_build.results)
    assert len(with_pictures) == len(figures) >= 5
    for slide, (result, figure) in zip(with_pictures, figures):
        (picture,) = pictures(slide)
        assert picture.name == f"Figure: {figure.key}"
        assert picture.image.content_type == "image/png" and picture.image.dpi == (200, 200)
        assert 200 <= ppi(picture) < 600, (figure.key, ppi(picture))
        assert 0 <= picture.left and picture.left + picture.width <= deck.slide_width
        assert 0 <= picture.top and picture.top + picture.height <= shape(slide, "Footnote").top
        footnote = shape(slide, "Footnote").text_frame.text
        assert footnote.startswith(figure.caption) and "N = " in footnote
        assert "Counts perturbed (cell key method); counts below 11 are withheld." in footnote
        assert all(f"Note: {note}" in footnote for note in result.notes)


def test_figure_slide_titles_state_the_finding(demo_build):
    slides = {pictures(s)[0].name.removeprefix("Figure: "): s for s in demo_build.deck.slides if pictures(s)}
    forest, curve, standardized, effects, km = (slides[k] for k in ("forest", "curve", "standardized", "effects", "km"))
    adjusted = demo_build.result("odds-ratio").estimate("adjusted_or")
    assert title(forest) == (f"Women had {adjusted.estimate:.2f} times the odds of RLS (four IRLSSG criteria) as men "
                             f"(adjusted OR; 95% CI {adjusted.ci_low:.2f}–{adjusted.ci_high:.2f})")
    peak = demo_build.result("prevalence").details.peak
    assert title(curve) == (f"Prevalence of RLS (four IRLSSG criteria) peaked at {peak['women']['age']:g} years in "
                            f"women and {peak['men']['age']:g} years in men")
    assert title(standardized).startswith("Age-standardized prevalence ") and "women/men" in title(standardized)
    risk = demo_build.result("biomarker-risk")  # the lowest band with a hazard ratio (cell-key mode may withhold one)
    hr = next(e for b in risk.details.band_labels if (e := risk.estimate("hr", b)) and e.estimate is not None)
    assert title(effects).startswith(f"Hazard of augmentation in band {hr.band} was {hr.estimate:.2f} times ")
    if "dose_response" in slides:  # no estimate: its own title
        dose = next(f for f in figures_for(demo_build.result("biomarker-risk")) if f.key == "dose_response")
        assert title(slides["dose_response"]) == dose.title
    logrank = demo_build.result("biomarker-risk").test("logrank")  # "p = 0.0123" or "p < 0.001" (secret-dependent)
    assert title(km).startswith("Event-free survival ")
    assert title(km).endswith(f"(log-rank {display.p_clause(logrank.p_value)})")


def test_tables_are_native_tables_with_the_cells_the_pages_show(demo_build):
    deck = demo_build.deck
    for analysis in ANALYSES:
        result = demo_build.result(analysis)
        view = spec_of(analysis).table_view
        slides = slides_titled(deck, view.what[0].upper() + view.what[1:])
        records = [r for s in slides for r in table_records(s)]
        expected = [{k: cell_text(v) for k, v in r.items()} for r in view.frame(result).to_dict("records")]
        assert records == expected, analysis
        assert all(table_rows(s)[0] == list(view.frame(result).columns) for s in slides)  # header on every part
    (estimates,) = slides_titled(deck, "Odds ratios: crude")
    assert table_records(estimates) == display.estimate_rows(demo_build.result("odds-ratio"))
    footnote = shape(estimates, "Footnote").text_frame.text
    assert footnote.startswith("The odds ratio does not differ detectably across strata (Breslow–Day")


def test_table_one_runs_over_slides_with_its_header_repeated(demo_build, engine):
    slides = slides_titled(demo_build.deck, "Table 1: baseline characteristics by sex")
    assert len(slides) >= 2 and title(slides[1]).endswith("(continued)")
    headers = {tuple(table_rows(s)[0]) for s in slides}
    women, men = _table_one_n(engine, DisclosurePolicy(11, "cell_key"))  # released sizes (the default mode)
    assert headers == {("Variable", "Level", f"Women (N = {women:,})", f"Men (N = {men:,})", "SMD")}
    cells = pd.DataFrame([r for s in slides for r in table_records(s)])
    assert len(cells) == len(demo_build.report.sections[0].blocks[0].frame)
    assert cells.iloc[0]["Level"] == "mean (SD)"


def test_speaker_notes_carry_the_methods_of_the_analysis_on_every_slide(demo_build):
    by_title = {r.title: r for r in map(demo_build.result, ANALYSES)}
    slides = list(demo_build.deck.slides)[1:]
    methods = [s.notes_slide.notes_text_frame.text for s in slides]
    for result in by_title.values():
        carrying = [m for m in methods if m.startswith(result.methods)]
        assert carrying and all(f"Model: {f}" in m for m in carrying for f in result.formulas)
    assert all(m for m in methods)


def test_slide_count_title_figures_and_table_parts(demo_build):
    deck = demo_build.deck
    table_slides = [s for s in deck.slides if shape(s, "Table") is not None]
    assert len(deck.slides) == 1 + len(expected_figures(demo_build.results)) + len(table_slides)
    # each table block of the report on its slides (a long table continues on the next), and nothing else
    blocks = [b for section in demo_build.report.sections for b in section.blocks if isinstance(b, TableBlock)]
    titles = {b.title.lower() for b in blocks}
    parts = [s for s in table_slides if title(s).removesuffix(" (continued)").lower() in titles]
    assert len(parts) == len(table_slides) >= len(blocks) + 1 and len(blocks) >= 10
    assert not [t for t in all_texts(deck) if re.search(r"\b(nan|None|NaN)\b", t)]
