"""``python -m analyses report`` as a subprocess, on the demo extract (default cell-key mode) and on the mapped one-file
cohort (``--method exact``), both formats: the numbers in slide titles and tables equal the analyses' own ``--json``
for the same filters and method; inputs are never overwritten; errors exit 2 with one line and no file; the file
appears in one step (no temporary file left).

Every run loads its source (a few seconds), so all runs start at once and each test waits for the ones it reads.
"""

from __future__ import annotations

import io
import json
import shutil
from concurrent.futures import Future
from pathlib import Path

import pytest
from pptx import Presentation

from tests.cli.invocation import REPO, done, start_all
from analyses.registry import PAGE_ANALYSES
from tests.report.conftest import DOSE_NOT_FITTED, FIGURES, pictures, slides_titled, table_records, title

COHORT = REPO / "tests" / "reference" / "data" / "demo_cohort.csv"
MAPPING = COHORT.with_suffix(".toml")
FILTERS = "sex=female,male&age=30-79"
TIMEOUT = 300


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A copy of the mapped cohort for the refusal cases (a regression would write there, not into the repo)."""
    folder = tmp_path_factory.mktemp("inputs")
    for source in (COHORT, MAPPING):
        shutil.copy(source, folder / source.name)
    return folder


@pytest.fixture(scope="module")
def roleless(tmp_path_factory) -> Path:
    """A mapping of the one-file cohort that names no outcome, biomarker, treatment or time to event (in a folder of
    its own: an output may not go where an input is)."""
    text = MAPPING.read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("roleless") / "no_roles.toml"
    path.write_text(text[:text.index("[outcomes.")], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(demo_dir, out, inputs, roleless) -> dict[str, Future]:
    extract = ["--data", str(demo_dir), "--filters", FILTERS]
    cohort = ["--data", str(COHORT), "--mapping", str(MAPPING), "--method", "exact"]
    copy = ["--data", str(inputs / COHORT.name), "--mapping", str(inputs / MAPPING.name)]
    commands = {
        "demo_pptx": ["report", *extract, "--format", "pptx", "--out", str(out / "demo.pptx")],
        "demo_html": ["report", *extract, "--format", "html", "--out", str(out / "demo.html")],
        "cohort_pptx": ["report", *cohort, "--format", "pptx", "--out", str(out / "cohort.pptx")],
        "cohort_html": ["report", *cohort, "--format", "html", "--out", str(out / "cohort.html")],
        "or_json": ["odds-ratio", *extract, "--json"],
        "prevalence_json": ["prevalence", *extract, "--json", "--standard", "esp2013"],
        "risk_json": ["biomarker-risk", *extract, "--json"],
        "next_to_input": ["report", *copy, "--format", "html", "--out", str(inputs / "demo_cohort.html")],
        "into_extract": ["report", "--data", str(demo_dir), "--format", "pptx", "--out", str(demo_dir / "r.pptx")],
        "over_source": ["report", *copy, "--format", "pptx", "--out", str(inputs / COHORT.name)],
        "wrong_suffix": ["report", *copy, "--format", "pptx", "--out", str(out / "deck.html")],
        "refused": ["report", "--data", str(COHORT), "--mapping", str(roleless), "--format", "pptx",
                    "--out", str(out / "refused.pptx")],
    }
    yield from start_all(commands, TIMEOUT)


def deck(path: Path):
    return Presentation(io.BytesIO(path.read_bytes()))


def test_deck_and_report_of_the_demo_extract_are_written(runs, out):
    for name, file in (("demo_pptx", "demo.pptx"), ("demo_html", "demo.html")):
        assert done(runs, name).stdout.startswith(f"Wrote {out / file} (")
    # every figure, but the dose–response curve when it cannot be fitted on the perturbed cells (then the
    # biomarker analysis says so: its JSON for the same filters, method and secret)
    figures = len(FIGURES) - (DOSE_NOT_FITTED in json.loads(done(runs, "risk_json").stdout)["notes"])
    slides = deck(out / "demo.pptx").slides
    assert title(slides[0]) == "Cohort analyses" and len([s for s in slides if pictures(s)]) == figures
    cover = "\n".join(sh.text_frame.text for sh in slides[0].shapes if sh.has_text_frame)
    assert "Small-cell threshold: 11. Counts are perturbed (cell key method" in cover  # the default method
    html = (out / "demo.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("data:image/png;base64,") == figures
    assert "Table 1 by sex" in html and any(slides_titled(deck(out / "demo.pptx"), "Table 1"))  # as on the Overview
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_numbers_on_the_slides_equal_the_analyses_json(runs, out):
    done(runs, "demo_pptx")
    presentation = deck(out / "demo.pptx")
    slides = presentation.slides
    odds, prevalence, risk = (json.loads(done(runs, n).stdout) for n in ("or_json", "prevalence_json", "risk_json"))
    adjusted = next(e for e in odds["estimates"] if e["measure"] == "adjusted_or")
    assert any(title(s).startswith(f"Women had {adjusted['estimate']:.2f} times the odds") and
               f"95% CI {adjusted['ci_low']:.2f}–{adjusted['ci_high']:.2f})" in title(s) for s in slides)
    (groups,) = slides_titled(presentation, "2×2 table: cases and prevalence in the compared groups")
    assert [(r["Group"], r["Cases"], r["n"], r["Prevalence"]) for r in table_records(groups)] == [
        (g["group"], f"{g['events']:,}", f"{g['n']:,}", f"{100 * g['prevalence']:.1f}%") for g in odds["groups"]]
    (estimates,) = slides_titled(presentation, "Odds ratios: crude")
    assert [(r["Estimate"], r["95% CI"]) for r in table_records(estimates)] == [
        (f"{e['estimate']:.2f}", f"{e['ci_low']:.2f}–{e['ci_high']:.2f}") for e in odds["estimates"]]
    rows = [r for s in slides_titled(presentation, "Prevalence by age band and sex") for r in table_records(s)]
    assert [(r["Age band"], r["Cases"], r["n"]) for r in rows] == [
        (p["age_band"], f"{p['events']:,}", f"{p['n']:,}") for p in prevalence["rows"]]
    women, men = (next(e for e in prevalence["estimates"] if e["group"] == g) for g in ("women", "men"))
    assert any(title(s).startswith(f"Age-standardized prevalence {100 * women['estimate']:.1f}% in women vs "
                                   f"{100 * men['estimate']:.1f}% in men") for s in slides)
    (bands,) = slides_titled(presentation, "Events, person-years")
    assert [(r["Band"], r["n"], r["Events"]) for r in table_records(bands)] == [
        (b["band"], f"{b['n']:,}", f"{b['events']:,}") for b in risk["bands"]]
    # the title takes the lowest band with a hazard ratio: <50 unless its HR is withheld (cell-key mode: when every
    # one of its event cells, of about one participant each, is released as 0)
    hr = next(e for b in risk["bands"] for e in risk["estimates"]
              if e["measure"] == "hr" and e["band"] == b["band"] and e["estimate"] is not None)
    assert any(title(s).startswith(f"Hazard of augmentation in band {hr['band']} was {hr['estimate']:.2f} times")
               for s in slides)


def test_mapped_one_file_cohort_in_both_formats(runs, out):
    """``--method exact``: the exact cohort size, and the threshold line says the counts are exact."""
    done(runs, "cohort_pptx")
    slides = deck(out / "cohort.pptx").slides
    text = "\n".join(sh.text_frame.text for sh in slides[0].shapes if sh.has_text_frame)
    assert "Cohort: demo_cohort.csv" in text and "Odds ratio of RLS (four IRLSSG criteria) by sex: 10,000" in text
    assert "N: Table 1: Women 5,199, Men 4,801;" in text  # Table 1 comes first, as on the Overview
    assert "Small-cell threshold: 11. Exact counts." in text and "perturbed" not in text
    # its mapping has no numeric covariate (the diagnostic analysis has no index test, so no ROC curve) and no
    # calendar year (no control chart)
    assert len([s for s in slides if pictures(s)]) == len(FIGURES) - 2
    done(runs, "cohort_html")
    html = (out / "cohort.html").read_text(encoding="utf-8")
    assert "demo_cohort.csv" in html and html.count("<section>") == 1 + len(PAGE_ANALYSES)  # Table 1, the analyses


@pytest.mark.parametrize("name,message", [
    ("next_to_input", "Error: --out must not be in the folder of the input data; choose another folder."),
    ("into_extract", "Error: --out must not be in the folder of the input data; choose another folder."),
    ("over_source", "Error: --out must end in .pptx for --format pptx."),
    ("wrong_suffix", "Error: --out must end in .pptx for --format pptx."),
])
def test_an_output_in_an_input_folder_or_misnamed_for_its_format_is_refused(runs, name, message, demo_dir, inputs):
    run = done(runs, name, code=2)
    assert run.stdout == "" and run.stderr.strip().splitlines() == [message]
    assert sorted(p.name for p in inputs.iterdir()) == [COHORT.name, MAPPING.name]
    assert (inputs / COHORT.name).read_bytes() == COHORT.read_bytes() and not (demo_dir / "r.pptx").exists()


def test_a_cohort_that_allows_no_analysis_writes_nothing(runs, out):
    """No filter state refuses an analysis any more (the differencing guard is gone); a mapping without the roles
    the analyses need still leaves none to show, and then nothing is written."""
    run = done(runs, "refused", code=2)
    assert run.stderr.count("Not shown: ") == len(PAGE_ANALYSES) and "needs the biomarker, time to event" in run.stderr
    assert run.stderr.strip().splitlines()[-1] == ("Error: None of the analyses can be shown for these filters; no "
                                                   "file was written.")
    assert not (out / "refused.pptx").exists()
