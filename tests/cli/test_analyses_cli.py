"""The analyses CLI as a subprocess: ``python -m analyses {odds-ratio,prevalence,biomarker-risk}``.

Two sources: the session's demo extract (a folder of three tables, 20,000 participants) and the reference
demo_cohort.csv with its mapping (one wide file, 10,000 participants). Each invocation costs a few seconds (the
engine loads the source), so every run below is started once, all of them concurrently, and each test checks
several things on the runs it needs: exit codes, the JSON contract, filters, argument errors, small-cell
suppression, byte-identical repeats, the text mode and the disclosure method (``--method cell_key``, the default,
perturbs every count; ``--method exact`` and ``--min-cell 0`` give exact counts). Counts asserted exactly run in
exact mode; the subprocesses share the session's random cell-key secret (tests/conftest.py).
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from tests.cli.invocation import REPO, done, start_all

COHORT = REPO / "tests" / "reference" / "data" / "demo_cohort.csv"
MAPPING = COHORT.with_suffix(".toml")
TIMEOUT = 180
MIN_CELL = 11  # the default threshold
SMALL = "site=H&age=60-79"  # 74 participants of demo_cohort, 5 of them cases: every 2×2 cell is small
SUBGROUP = "sex=female&age=40-79"
COUNT_KEYS = {"n", "events", "non_events", "at_risk"}

ESTIMATE_KEYS = {"measure", "estimate", "ci_low", "ci_high", "p_value", "method", "band", "reference"}
TEST_KEYS = {"test", "statistic", "df", "p_value"}
TABLE_KEYS = {
    "odds-ratio": {"strata": {"stratum", "or", "ci_low", "ci_high", "n"}},
    "prevalence": {"rows": {"sex", "age_band", "events", "n", "prevalence", "ci_low", "ci_high", "suppressed"}},
    "biomarker-risk": {"bands": {"band", "n", "events", "person_time", "risk", "rate_per_100"},
                       "km": {"band", "time", "survival", "ci_low", "ci_high", "at_risk"}},
}


def _commands(demo: Path) -> dict[str, list[str]]:
    extract = ["--data", str(demo)]
    cohort = ["--data", str(COHORT), "--mapping", str(MAPPING)]
    exact = ["--method", "exact"]
    return {
        # the demo extract: the three analyses, one of them on a subgroup; the odds ratio in both modes
        "or_demo": ["odds-ratio", *extract, "--json", *exact],
        "or_demo_cell_key": ["odds-ratio", *extract, "--json"],
        "prevalence_demo_subgroup": ["prevalence", *extract, "--json", "--filters", SUBGROUP],
        "risk_demo": ["biomarker-risk", *extract, "--json", *exact],
        "risk_demo_cell_key": ["biomarker-risk", *extract, "--json"],
        # the mapped single file: contract, bands that split US 2000's open 85+ group (its 90+ band is small, so
        # suppression is off), text mode in both methods, and one model-heavy run twice (the bytes must not change;
        # exact mode, so that its models fit whatever the session's secret)
        "prevalence_cohort_90": ["prevalence", *cohort, "--json", "--age-bands", "30,40,50,60,70,80,90",
                                 "--min-cell", "0"],
        "or_cohort_text": ["odds-ratio", *cohort],
        "or_cohort_text_exact": ["odds-ratio", *cohort, *exact],
        "or_cohort_open_cell_key": ["odds-ratio", *cohort, "--json", "--min-cell", "0", "--method", "cell_key"],
        "risk_cohort": ["biomarker-risk", *cohort, "--json", "--adjust", "age:spline,sex,drug", "--ties", "efron",
                        *exact],
        "risk_cohort_again": ["biomarker-risk", *cohort, "--json", "--adjust", "age:spline,sex,drug", "--ties",
                              "efron", *exact],
        # small cells: the default (cell-key) method, exact mode, and suppression off
        "or_small": ["odds-ratio", *cohort, "--json", "--filters", SMALL],
        "or_small_exact": ["odds-ratio", *cohort, "--json", "--filters", SMALL, *exact],
        "or_small_open": ["odds-ratio", *cohort, "--json", "--filters", SMALL, "--min-cell", "0"],
        "prevalence_small": ["prevalence", *cohort, "--json", "--filters", SMALL],
        "prevalence_small_exact": ["prevalence", *cohort, "--json", "--filters", SMALL, *exact],
        "prevalence_small_open": ["prevalence", *cohort, "--json", "--filters", SMALL, "--min-cell", "0"],
        "risk_site": ["biomarker-risk", *cohort, "--json", "--filters", "site=A"],
        "risk_site_again": ["biomarker-risk", *cohort, "--json", "--filters", "site=A"],
        "risk_site_exact": ["biomarker-risk", *cohort, "--json", "--filters", "site=A", *exact],
        # the differencing guard's flag is gone: an old script fails loudly instead of running unguarded
        "removed_flag": ["odds-ratio", *cohort, "--no-differencing-guard"],
        "bad_method": ["odds-ratio", *cohort, "--method", "rounded"],
        # arguments that do not fit the data
        "bad_adjuster": ["odds-ratio", *cohort, "--adjust", "age,bmi"],
        "bad_outcome": ["prevalence", *cohort, "--outcome", "augmentation"],
        "bad_reference": ["biomarker-risk", *cohort, "--reference-band", ">=200"],
        "bad_cut_points": ["biomarker-risk", *cohort, "--cut-points", "50,75,lots"],  # refused before loading
        "bad_age_bands": ["odds-ratio", *cohort, "--age-bands", "40,30"],  # refused before loading
    }


@pytest.fixture(scope="module")
def runs(demo_dir) -> dict[str, Future]:
    """Every invocation of this module, started at once; a test waits only for the runs it reads."""
    yield from start_all(_commands(demo_dir), TIMEOUT)


# --- the JSON contract --------------------------------------------------------------------------------------

def _is_number(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def check_contract(doc: dict, analysis: str) -> None:
    assert doc["analysis"] == analysis
    assert doc["n"] is None or (isinstance(doc["n"], int) and doc["n"] >= 0)
    assert isinstance(doc["filters"], str)
    assert isinstance(doc["notes"], list) and all(isinstance(n, str) and n for n in doc["notes"])
    for estimate in doc["estimates"]:
        assert ESTIMATE_KEYS <= set(estimate), estimate
        assert isinstance(estimate["measure"], str) and isinstance(estimate["method"], str) and estimate["method"]
        assert all(_is_number(estimate[k]) for k in ("estimate", "ci_low", "ci_high", "p_value")), estimate
        if None not in (estimate["estimate"], estimate["ci_low"], estimate["ci_high"]):
            assert estimate["ci_low"] <= estimate["estimate"] <= estimate["ci_high"], estimate
        if estimate["p_value"] is not None:
            assert 0 <= estimate["p_value"] <= 1
    for test in doc["tests"]:
        assert TEST_KEYS <= set(test), test
        assert isinstance(test["test"], str) and _is_number(test["statistic"]) and _is_number(test["p_value"])
        assert test["df"] is None or isinstance(test["df"], int)
    for table, keys in TABLE_KEYS[analysis].items():
        assert isinstance(doc[table], list), table
        for row in doc[table]:
            assert keys <= set(row), (table, row)
            if row.get("suppressed"):
                assert all(row[k] is None for k in keys & COUNT_KEYS), (table, row)
    if analysis == "prevalence":
        assert isinstance(doc["curve"], list) and isinstance(doc["peak"], dict)


def test_odds_ratio_on_the_demo_extract(runs):
    doc = done(runs, "or_demo").json()
    check_contract(doc, "odds-ratio")
    assert doc["n"] == 20_000 and doc["filters"] == ""
    assert doc["cohort"]["method"] == "exact"
    assert [e["measure"] for e in doc["estimates"]] == ["crude_or", "exact_or", "mh_or", "adjusted_or"]
    assert {t["test"] for t in doc["tests"]} == {"breslow_day", "lr_exposure"}
    assert all(e["estimate"] > 1 and e["label"] == "women vs men" for e in doc["estimates"])
    assert [s["stratum"] for s in doc["strata"]] == ["18-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]
    assert sum(s["n"] for s in doc["strata"]) == doc["n"]
    assert sum(g["n"] for g in doc["groups"]) == doc["n"]


def test_odds_ratio_on_the_demo_extract_in_cell_key_mode(runs):
    exact = done(runs, "or_demo").json()
    doc = done(runs, "or_demo_cell_key").json()
    check_contract(doc, "odds-ratio")
    assert doc["cohort"]["method"] == "cell_key" and doc["cohort"]["min_cell"] == MIN_CELL
    assert abs(doc["n"] - 20_000) <= 4 * 3  # cases and non-cases per sex, each released as its own cell
    assert [e["measure"] for e in doc["estimates"]] == [e["measure"] for e in exact["estimates"]]
    for got, want in zip(doc["estimates"], exact["estimates"]):  # the noise is well within the sampling error
        assert want["ci_low"] < got["estimate"] < want["ci_high"], got["measure"]
    for got, want in zip(doc["groups"], exact["groups"]):
        assert got["group"] == want["group"]
        assert abs(got["events"] - want["events"]) <= 3 and abs(got["n"] - want["n"]) <= 6
    assert [s["stratum"] for s in doc["strata"]] == [s["stratum"] for s in exact["strata"]]
    assert all(isinstance(c, int) and c >= 0 for c in counts(doc) if c is not None)


def test_prevalence_on_a_filtered_demo_extract(runs):
    full = done(runs, "or_demo").json()
    doc = done(runs, "prevalence_demo_subgroup").json()
    check_contract(doc, "prevalence")
    assert dict(parse_qsl(doc["filters"])) == {"sex": "female", "age": "40-79"}
    assert 0 < doc["n"] < full["n"]
    rows = [r for r in doc["rows"] if r["n"]]
    assert {r["sex"] for r in rows} == {"women"}
    assert [r["age_band"] for r in rows] == ["40-49", "50-59", "60-69", "70-79"]
    # cell-key mode: a band's n is its cases plus non-cases, each released as its own cell, and so is the cohort's,
    # so the total need not equal the sum of the bands, but differs by at most the noise of the cells involved
    assert doc["cohort"]["method"] == "cell_key"
    assert abs(sum(r["n"] for r in rows) - doc["n"]) <= 3 * (2 * len(rows) + 2)
    assert {c["sex"] for c in doc["curve"]} == {"women"} and set(doc["peak"]) == {"women"}
    assert min(c["age"] for c in doc["curve"]) == 40 and max(c["age"] for c in doc["curve"]) == 79
    standards = {e["standard"] for e in doc["estimates"] if e["measure"] == "standardized_prevalence"}
    assert standards == {"esp2013", "who2000", "us2000"}


@pytest.mark.parametrize("name", ["risk_demo", "risk_demo_cell_key"])
def test_biomarker_risk_on_the_demo_extract(runs, name):
    doc = done(runs, name).json()
    check_contract(doc, "biomarker-risk")
    assert [b["band"] for b in doc["bands"]] == ["<50", "50-75", "75-100", ">=100"]
    assert sum(b["n"] for b in doc["bands"]) == doc["n"]  # cell-key mode too: n is the sum of the band cells
    assert doc["reference_band"] == ">=100"
    compared = {(e["measure"], e["band"]) for e in doc["estimates"]}
    every = {(m, b) for m in ("crude_or", "adjusted_or", "hr") for b in ("<50", "50-75", "75-100")}
    if name == "risk_demo":
        assert compared == every
    else:
        # cell-key mode: the crude ORs come from the band table's cells (each band has 17 or more events), but the
        # adjusted ORs and HRs from cells of about one participant each, of which a 1 is released as 0 with
        # probability 0.57; with some secrets every event cell of a band is, and that band's estimate is withheld
        # with a note (75-100 has 17 events: about 1 secret in 12,000; its HR is withheld with
        #   RLS_TEST_CELL_KEY_SECRET=06587a9046da1eb9ac2e1d874dfa89e3c3a22d5f2eeddfe4c10c1368a50c6a64)
        assert compared <= every and {(m, b) for m, b in every if m == "crude_or"} <= compared
        assert {m for m, _ in compared} == {"crude_or", "adjusted_or", "hr"}
        for measure, band in every - compared:
            said = {"adjusted_or": (f"No adjusted OR for band {band}:", "The adjusted OR model did not converge"),
                    "hr": (f"No hazard ratio for band {band}:", "No Cox model:")}[measure]
            assert any(note.startswith(said) for note in doc["notes"]), (measure, band)
    assert all(e["reference"] == ">=100" for e in doc["estimates"])
    tests = {t["test"] for t in doc["tests"]}
    if name == "risk_demo":
        assert tests == {"logrank", "proportional_hazards"}
    else:  # the Cox model on perturbed cells of about one participant may fail its proportional-hazards check
        assert "logrank" in tests and tests <= {"logrank", "proportional_hazards"}
    # default times: whole years from 0 to the end of follow-up (the demo follows people for up to 16 years)
    assert doc["at"] == [float(t) for t in range(len(doc["at"]))] and len(doc["at"]) >= 10
    assert {(k["band"], k["time"]) for k in doc["km"]} == {(b, t) for b in [b["band"] for b in doc["bands"]]
                                                           for t in doc["at"]}
    assert all(k["survival"] is None or 0 <= k["survival"] <= 1 for k in doc["km"])


def test_mapped_single_file_prevalence_with_bands_that_split_an_open_standard_group(runs):
    doc = done(runs, "prevalence_cohort_90").json()
    check_contract(doc, "prevalence")
    assert doc["n"] == 10_000
    assert doc["cohort"]["label"] == "demo_cohort.csv" and doc["cohort"]["min_cell"] == 0
    assert any("cannot be standardized to the US 2000" in n and "with these age bands" in n for n in doc["notes"])
    standardized = {(e["measure"], e["standard"], e["group"]) for e in doc["estimates"]}
    assert {s for _, s, _ in standardized} == {"esp2013", "who2000"}
    assert len(standardized) == 6  # per standard: women, men and their ratio
    assert {r["age_band"] for r in doc["rows"]} >= {"80-89", "90+"}


@pytest.mark.parametrize("name", ["or_cohort_text", "or_cohort_text_exact"])
def test_text_mode_prints_the_caption_and_the_data_hash(runs, name):
    run = done(runs, name)
    lines = run.stdout.splitlines()
    assert lines[0] == "Odds ratio of RLS (four IRLSSG criteria) by sex"
    caption = "Odds of RLS (four IRLSSG criteria), women vs men; all participants; N = "
    assert lines[1].startswith(caption)
    n = int(lines[1].removeprefix(caption).split(".")[0].replace(",", ""))
    data_hash = done(runs, "prevalence_cohort_90").json()["cohort"]["data_hash"]
    assert f"Data {data_hash}; small-cell threshold {MIN_CELL};" in lines[-2]
    if name.endswith("exact"):
        assert n == 10_000
        assert lines[-1].startswith("Exact counts. Counts from 1 to 10 are shown as <11")
    else:
        assert abs(n - 10_000) <= 4 * 3
        assert lines[-1].startswith("Counts are perturbed (cell key method, at most ±3)")
    assert "crude_or" in run.stdout and "breslow_day" in run.stdout
    assert not run.stdout.lstrip().startswith("{")


def test_min_cell_zero_gives_exact_counts_whatever_the_method(runs):
    doc = done(runs, "or_cohort_open_cell_key").json()
    assert doc["n"] == 10_000 and doc["cohort"]["min_cell"] == 0
    assert doc["cohort"]["method"] == "cell_key"  # as asked, but with no threshold nothing is perturbed
    printed = {line.split()[0]: line.split()[1:3] for line in done(runs, "or_cohort_text_exact").stdout.splitlines()
               if line.strip().startswith(("women ", "men "))}  # group, events, n of the exact run's text table
    assert {g["group"]: [f"{g['events']}", f"{g['n']}"] for g in doc["groups"]} == printed


# --- argument errors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,message", [
    ("bad_adjuster", "Error: Unknown adjuster. Choose from: age, drug, sex, site."),
    ("bad_outcome", "Error: Unknown outcome. Choose from: rls, rls_clinsig."),
    ("bad_reference", "Error: Unknown reference band. Choose from: <50, 50-75, 75-100, >=100."),
    ("bad_cut_points", "Error: --cut-points takes numbers separated by commas, e.g. 50,75,100."),
    ("bad_age_bands", "Error: Age band edges must be increasing positive whole numbers, e.g. 30,40,50,60,70,80."),
])
def test_arguments_that_do_not_fit_exit_2_with_one_line_listing_the_choices(runs, name, message):
    run = done(runs, name, code=2)
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [message]


# --- small cells --------------------------------------------------------------------------------------------

def counts(doc) -> list:
    """Every value under a count key (n, events, non_events, at_risk), anywhere in the JSON."""
    if isinstance(doc, dict):
        return [v for k, v in doc.items() if k in COUNT_KEYS and not isinstance(v, (dict, list))] + \
            [c for v in doc.values() for c in counts(v)]
    if isinstance(doc, list):
        return [c for v in doc for c in counts(v)]
    return []


def assert_no_small_count(doc: dict) -> None:
    shown = [c for c in counts(doc) if c is not None]
    assert shown, "no counts at all"
    assert not [c for c in shown if 0 < c < MIN_CELL], shown


@pytest.mark.parametrize("analysis,table", [("or", "groups"), ("prevalence", "rows")])
def test_small_cells_are_null_with_a_note_unless_suppression_is_off(runs, analysis, table):
    gated = done(runs, f"{analysis}_small_exact").json()
    released = done(runs, f"{analysis}_small").json()
    open_ = done(runs, f"{analysis}_small_open").json()
    assert gated["filters"] == released["filters"] == open_["filters"] == SMALL
    assert_no_small_count(gated)
    assert any(row["suppressed"] and row["n"] is None for row in gated[table])
    assert any(f"below {MIN_CELL}" in n or "small count" in n for n in gated["notes"])
    assert gated["estimates"] == []
    # cell-key mode: the small counts are null too (a row of 2 or 3 cases is withheld unless its cases were released
    # as 0); estimates fitted on released counts are not withheld (they can only be inverted to perturbed counts)
    assert released["cohort"]["method"] == "cell_key"
    assert_no_small_count(released)
    assert any(row["suppressed"] and row["n"] is None for row in released[table]) or \
        all(row["events"] == 0 for row in released[table] if row["n"])
    assert not any(row["suppressed"] for row in open_[table])
    assert [c for c in counts(open_) if c is not None and 0 < c < MIN_CELL]
    assert open_["estimates"] and all(e["estimate"] is not None for e in open_["estimates"])
    assert open_["cohort"]["min_cell"] == 0


@pytest.mark.parametrize("name", ["risk_site", "risk_site_exact"])
def test_kaplan_meier_never_shows_a_count_the_band_table_withholds(runs, name):
    doc = done(runs, name).json()
    check_contract(doc, "biomarker-risk")
    assert_no_small_count(doc)
    hidden = {b["band"] for b in doc["bands"] if b["suppressed"]}
    assert hidden
    for row in doc["km"] + doc["km_curve"]:
        if row["band"] in hidden:
            assert row["at_risk"] is None and row["survival"] is None, row


def test_the_same_command_twice_gives_the_same_bytes(runs):
    first, second = done(runs, "risk_cohort"), done(runs, "risk_cohort_again")
    check_contract(first.json(), "biomarker-risk")
    assert first.json()["estimates"] and first.json()["dose_response"]
    assert first.stdout == second.stdout


def test_the_same_command_twice_gives_the_same_bytes_in_cell_key_mode(runs):
    """Two processes with the deployment's secret release the same counts for the same participants."""
    first, second = done(runs, "risk_site"), done(runs, "risk_site_again")
    assert first.json()["cohort"]["method"] == "cell_key"
    assert [c for c in counts(first.json()) if c]
    assert first.stdout == second.stdout


def test_the_removed_guard_flag_and_an_unknown_method_are_refused(runs):
    removed = done(runs, "removed_flag", code=2)
    assert removed.stdout == "" and "unrecognized arguments: --no-differencing-guard" in removed.stderr
    bad = done(runs, "bad_method", code=2)
    assert bad.stdout == "" and "argument --method: invalid choice: 'rounded'" in bad.stderr
    assert "'cell_key'" in bad.stderr and "'exact'" in bad.stderr
