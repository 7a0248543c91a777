"""queries.release: the one exit of the engine.

Consistency (the same participants give the same released count from any query, grain, engine or session with the
deployment's secret), margins released as their own cells, exact counts in exact mode, bounded perturbation in
cell-key mode, record keys from the secret (never shown), the load report's released counts, and a source scan that
fails if anything but the release layer reads the engine.

Cohorts: the committed reference extracts (demo_cohort: 10,000 participants in one wide CSV, no missing values;
demo_treated: its 2,024 treated participants). The session's cell-key secret is random (tests/conftest.py), so no
assertion depends on particular released values, only on their properties.
"""

from __future__ import annotations

import ast
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.biomarker_risk import biomarker_risk
from analyses.context import AnalysisContext
from analyses.odds_ratio import OddsRatioOptions, odds_ratio
from analyses.prevalence import prevalence
from data_schema.sources import resolve_mapping
from data_schema.validation import FileAccount, Finding, ValidationReport
from disclosure.policy import DisclosurePolicy
from disclosure.record_keys import KEY_RANGE, RECORD_KEY, SECRET_ENV
from queries import cohort, filters, store
from queries.aggregates import KEY_SUFFIX, cell, pattern_counts, risk_sets, treated
from queries.engine import CohortEngine, data_hash
from queries.release import UnreleasableQuery, release, release_report
from tests.conftest import ROOT

DATA = ROOT / "tests" / "reference" / "data"
COHORT, COHORT_MAPPING = DATA / "demo_cohort.csv", DATA / "demo_cohort.toml"
TREATED, TREATED_MAPPING = DATA / "demo_treated.csv", DATA / "demo_treated.toml"
CELL_KEY = DisclosurePolicy(11, "cell_key")
EXACT = DisclosurePolicy(11, "exact")
COUNTS = ["events", "non_events", "missing", "known"]
MAX_PERTURBATION = 3  # the default ptable's D


@pytest.fixture(scope="module")
def engine() -> CohortEngine:
    return CohortEngine.open(COHORT, COHORT_MAPPING)


@pytest.fixture(scope="module")
def source() -> pd.DataFrame:
    """demo_cohort.csv read by pandas, independently of the loader."""
    return pd.read_csv(COHORT).assign(sex=lambda f: f["sex"].map({"F": "female", "M": "male"}))


def _counts(engine, keys: list[str], policy: DisclosurePolicy, table=None):
    return release(engine, pattern_counts(engine.table() if table is None else table, keys, "outcome_rls"), policy)


def _frame(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Comparable: sorted by the keys, plain int64 counts, a fresh index."""
    out = frame.sort_values(keys, kind="stable").reset_index(drop=True) if keys else frame.reset_index(drop=True)
    return out.astype({c: "int64" for c in COUNTS if c in out.columns})


# --- (1) consistency ---------------------------------------------------------------------------------------------

def test_the_same_participants_give_the_same_count_from_different_queries(engine):
    """Women cases from the (sex) margin of counts per (sex, age), per (sex, site), from the Overview's filtered
    count and from the odds ratio's 2×2 table: one cell, one released count."""
    by_age = _counts(engine, ["sex", "age"], CELL_KEY).cells(by=["sex"]).set_index("sex")
    by_site = _counts(engine, ["sex", "site"], CELL_KEY).cells(by=["sex"]).set_index("sex")
    pd.testing.assert_frame_equal(_frame(by_age, []), _frame(by_site, []))
    opts = cohort.filter_options(engine)
    women = filters.parse_query("sex=female", opts)[0]
    overview = cohort.outcome_counts(engine, women, opts, CELL_KEY)
    assert overview["cases"] == by_age.loc["female", "events"]
    assert overview["known"] == by_age.loc["female", "known"]  # its own cell, not the sum of two perturbed ones
    ctx = AnalysisContext.from_query(engine, "", CELL_KEY)[0]
    groups = odds_ratio(ctx, OddsRatioOptions(strata="site", adjust=("age",))).table("groups").set_index("group")
    assert groups.loc["women", "events"] == by_age.loc["female", "events"]
    assert groups.loc["men", "events"] == by_site.loc["male", "events"]


def test_two_engines_on_the_same_data_release_the_same_counts(engine, tmp_path):
    """An in-memory engine, a second one and one opened from a prepared store, in one session."""
    others = [CohortEngine.open(COHORT, COHORT_MAPPING), CohortEngine.open(COHORT, COHORT_MAPPING,
                                                                           store_dir=tmp_path / "store")]
    keys = ["sex", "site", "age"]
    want = _frame(_counts(engine, keys, CELL_KEY).cells(), keys)
    for other in others:
        pd.testing.assert_frame_equal(_frame(_counts(other, keys, CELL_KEY).cells(), keys), want)
        state = filters.parse_query("site=A,B&age=40-79", cohort.filter_options(other))[0]
        assert cohort.attrition(other, state, cohort.filter_options(other), CELL_KEY) == \
            cohort.attrition(engine, state, cohort.filter_options(engine), CELL_KEY)


# --- (2) margins -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("policy", [CELL_KEY, EXACT], ids=["cell-key", "exact"])
@pytest.mark.parametrize("by", [["sex"], ["site"], ["sex", "site"]])
def test_a_margin_equals_the_release_of_the_query_at_that_grain(engine, policy, by):
    margin = _counts(engine, ["sex", "age", "site"], policy).cells(by=by)
    own = _counts(engine, by, policy).cells()
    pd.testing.assert_frame_equal(_frame(margin, by), _frame(own, by))


def test_a_margin_with_where_derive_and_total_equals_the_engines_own_query(engine):
    fine = _counts(engine, ["sex", "age", "site"], CELL_KEY)
    t = engine.table()
    women = fine.cells(by=["site"], where=lambda k: k["sex"] == "female")
    own = _counts(engine, ["site"], CELL_KEY, t.filter(t.sex == "female")).cells()
    pd.testing.assert_frame_equal(_frame(women, ["site"]), _frame(own, ["site"]))
    decades = fine.cells(by=["decade"], derive={"decade": lambda k: (k["age"] // 10 * 10).astype("int64")})
    own = _counts(engine, ["decade"], CELL_KEY, t.mutate(decade=(t.age // 10 * 10).cast("int64"))).cells()
    pd.testing.assert_frame_equal(_frame(decades, ["decade"]), _frame(own, ["decade"]))
    total = release(engine, t.aggregate(**cell(t, "events", t.outcome_rls)), CELL_KEY).cells()
    assert fine.total("events") == total["events"].iloc[0]


def test_a_margin_is_released_as_its_own_cell_not_as_a_sum_of_released_parts(engine):
    """Exact margins are sums of exact parts; released margins are perturbed once, within ±3 of the exact sum."""
    exact = _counts(engine, ["sex", "age"], EXACT)
    released = _counts(engine, ["sex", "age"], CELL_KEY)
    by_sex_exact = _frame(exact.cells(by=["sex"]), ["sex"])
    pd.testing.assert_frame_equal(by_sex_exact, _frame(exact.cells().groupby("sex", as_index=False)[COUNTS].sum(),
                                                       ["sex"]))
    by_sex = _frame(released.cells(by=["sex"]), ["sex"])
    assert (np.abs(by_sex[COUNTS] - by_sex_exact[COUNTS]) <= MAX_PERTURBATION).all().all()
    sum_of_parts = _frame(released.cells().groupby("sex", as_index=False)[COUNTS].sum(), ["sex"])
    assert not sum_of_parts[["events", "non_events"]].equals(by_sex[["events", "non_events"]])  # ~80 noisy parts


# --- (3) exact mode ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("policy", [EXACT, DisclosurePolicy(0), DisclosurePolicy(0, "exact")],
                         ids=["exact", "min-cell-0", "min-cell-0-exact"])
def test_exact_mode_returns_the_exact_counts_of_the_source(engine, source, policy):
    assert engine.info.load.report.accounts[0].rows_rejected == 0  # every row of the CSV was loaded
    got = _frame(_counts(engine, ["sex", "site"], policy).cells(), ["sex", "site"])
    g = source.groupby(["sex", "site"])["rls"]
    want = pd.DataFrame({"events": g.apply(lambda v: int((v == 1).sum())),
                         "non_events": g.apply(lambda v: int((v == 0).sum())),
                         "missing": g.apply(lambda v: int(v.isna().sum())),
                         "known": g.apply(lambda v: int(v.notna().sum()))}).reset_index()
    pd.testing.assert_frame_equal(got, _frame(want, ["sex", "site"]))
    assert got["events"].sum() == 822 and (got["events"] + got["non_events"]).sum() == 10_000


def test_statistics_are_released_in_exact_mode_only(engine):
    t = engine.table()
    query = t.group_by("sex").aggregate(mean_age=t.age.mean(), **cell(t, "n"))
    exact = release(engine, query, EXACT).cells().set_index("sex")
    assert exact.loc["female", "mean_age"] == pytest.approx(
        pd.read_csv(COHORT).query("sex == 'F'")["age"].clip(upper=90).mean())
    with pytest.raises(UnreleasableQuery):
        release(engine, query, CELL_KEY)
    with pytest.raises(UnreleasableQuery):
        release(engine, query, EXACT).cells(by=[])


# --- (4) cell-key mode perturbs ----------------------------------------------------------------------------------

def test_cell_key_mode_perturbs_every_count_by_at_most_three_and_keeps_zeros(engine):
    keys = ["sex", "age", "site"]
    exact = _frame(_counts(engine, keys, EXACT).cells(), keys)
    released = _frame(_counts(engine, keys, CELL_KEY).cells(), keys)
    pd.testing.assert_frame_equal(released[keys], exact[keys])
    diff = released[COUNTS].to_numpy() - exact[COUNTS].to_numpy()
    assert np.abs(diff).max() <= MAX_PERTURBATION
    assert (released[COUNTS].to_numpy() >= 0).all()
    zeros = exact[COUNTS].to_numpy() == 0
    assert zeros.any() and (released[COUNTS].to_numpy()[zeros] == 0).all()  # e.g. every missing cell
    assert (diff[~zeros] != 0).mean() > 0.6  # about a thousand non-zero cells: ~75% move with the default ptable
    assert KEY_SUFFIX not in "".join(released.columns)  # cell keys never leave the release layer


def test_risk_sets_are_released_in_cell_key_mode(engine):
    """The biomarker query's cells (grouped values and weeks in cell-key mode) perturbed like any other count."""
    t = treated(engine.table())
    exact = release(engine, risk_sets(t, ["biomarker", "sex"], (50.0, 75.0, 100.0), 3, 7), EXACT).cells()
    released = release(engine, risk_sets(t, ["biomarker", "sex"], (50.0, 75.0, 100.0), 3, 7), CELL_KEY).cells()
    diff = released["count"].to_numpy() - exact["count"].to_numpy()
    assert np.abs(diff).max() <= MAX_PERTURBATION and (diff != 0).any()
    by_band = release(engine, risk_sets(t, ["biomarker", "sex"], (50.0, 75.0, 100.0), 3, 7), CELL_KEY)
    own = release(engine, t.mutate(band_index=sum((t.biomarker >= c).cast("int64") for c in (50.0, 75.0, 100.0)))
                  .group_by("band_index").aggregate(**cell(t, "count")), CELL_KEY).cells()
    order = lambda f: f.sort_values("band_index", na_position="first").reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(order(by_band.cells(by=["band_index"])), order(own), check_dtype=False)


# --- (5) record keys and the secret ------------------------------------------------------------------------------

def _record_keys(engine) -> pd.Series:
    """Each participant's record key, read row by row (tests may; nothing in the project does)."""
    t = engine.table()
    return engine.execute(t.select("pid", RECORD_KEY).order_by("pid")).set_index("pid")[RECORD_KEY]


def test_record_keys_come_from_the_secret(monkeypatch):
    first, second = secrets.token_hex(32), secrets.token_hex(32)
    monkeypatch.setenv(SECRET_ENV, first)
    a, a_again = (CohortEngine.open(TREATED, TREATED_MAPPING) for _ in range(2))
    monkeypatch.setenv(SECRET_ENV, second)
    b = CohortEngine.open(TREATED, TREATED_MAPPING)
    keys_a, keys_a_again, keys_b = _record_keys(a), _record_keys(a_again), _record_keys(b)
    assert len(keys_a) == 2_024 and keys_a.index.is_unique
    pd.testing.assert_series_equal(keys_a, keys_a_again)  # deterministic for the same secret and participant
    assert (keys_a == keys_b).mean() < 0.05  # another secret, other keys (1/256 agree by chance)
    assert keys_a.between(0, KEY_RANGE - 1).all() and keys_a.nunique() > 200  # spread over the key range
    by_site = [_frame(_counts(e, ["sex", "site"], CELL_KEY).cells(), ["sex", "site"]) for e in (a, a_again, b)]
    pd.testing.assert_frame_equal(by_site[0], by_site[1])
    assert not by_site[0].equals(by_site[2])  # released counts depend on the keys


def test_the_secret_appears_in_no_sql_and_no_result(engine):
    secret = os.environ[SECRET_ENV]
    t = engine.table()
    shown = [_counts(engine, ["sex", "age"], CELL_KEY).sql, _counts(engine, ["sex"], EXACT).sql,
             release(engine, risk_sets(treated(t), ["biomarker"], (50.0,), 3, 7), CELL_KEY).sql,
             engine.sql(t.aggregate(**cell(t, "n")))]
    ctx = AnalysisContext.from_query(engine, "", CELL_KEY)[0]
    for result in (odds_ratio(ctx), prevalence(ctx), biomarker_risk(ctx)):
        assert result.queries
        shown += [*result.queries, result.to_json()]
    assert not [text for text in shown if secret in text or secret[:16] in text]


def test_the_prepared_store_holds_no_secret_and_is_rebuilt_when_it_changes(tmp_path):
    first, second = secrets.token_hex(32), secrets.token_hex(32)
    mapping = resolve_mapping(TREATED, TREATED_MAPPING)
    source_hash = data_hash(mapping)
    built = store.prepare(mapping, source_hash, first, tmp_path)
    reused = store.prepare(mapping, source_hash, first, tmp_path)
    assert not built.reused and reused.reused and reused.folder == built.folder
    for path in tmp_path.rglob("*"):
        assert first not in path.name and first[:16] not in path.name, path
        if path.is_file():
            data = path.read_bytes()
            assert first.encode() not in data and first[:16].encode() not in data, path  # manifest and database
    keys_first = _stored_keys(built)
    rebuilt = store.prepare(mapping, source_hash, second, tmp_path)
    assert not rebuilt.reused and rebuilt.folder == built.folder  # the folder name does not depend on the secret
    assert (_stored_keys(rebuilt) == keys_first).mean() < 0.05
    assert store.prepare(mapping, source_hash, second, tmp_path).reused
    assert second not in (rebuilt.folder / store.MANIFEST).read_text(encoding="utf-8")


def _stored_keys(prepared) -> pd.Series:
    con = store.open_read_only(prepared)
    try:
        return con.execute(f"SELECT pid, {RECORD_KEY} FROM prepared.cohort ORDER BY pid").df() \
            .set_index("pid")[RECORD_KEY]
    finally:
        con.close()


# --- (6) nothing else reads the engine ---------------------------------------------------------------------------

READERS = {"execute", "execute_sql"}
# (file, enclosing function, receiver): the only calls of .execute( / .execute_sql( outside queries/release.py
ALLOWED = {
    ("queries/engine.py", "execute", "cursor"),  # CohortEngine.execute itself, on its own DuckDB cursor
    ("queries/spark.py", "execute", "self._backend"),  # SparkCohortEngine.execute itself, on the Ibis backend
    ("queries/spark.py", "_check_no_nan", "backend"),  # opening Spark: no float column holds NaN (no count leaves)
    ("data_schema/reading.py", "run", "con"),  # the loader's DuckDB connections (before there is an engine)
    ("benchmarks/paths.py", "floor", "engine"),  # the benchmark's floor: the SQL the project ran, via execute_sql
    # the Spark profiler times the engine's own execute (it wraps the method; what the analysis receives is unchanged)
    ("benchmarks/spark_stages.py", "timed_engine", "engine"),
    # opening Spark: the Parquet file's row count is compared with the loaded cohort's (not via the release layer)
    ("queries/engines.py", "open_engine", "spark"),
}
PRIVATE_HANDLES = {"_con": {"queries/engine.py"}, "_backend": {"queries/spark.py"}, "_session": {"queries/spark.py"}}


def _project_sources() -> list[Path]:
    skip = {".venv", ".git", "tests", "test-artifacts", "data", "docs"}
    return sorted(p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts[:1])
                  and not any(part.startswith(".") for part in p.relative_to(ROOT).parts))


def _engine_reads(path: Path) -> list[tuple[str, str, str, int]]:
    """(file, enclosing function, receiver, line) of every .execute / .execute_sql attribute (called or not), every
    getattr(x, "execute...") and every use of an engine's private handle, in one file."""
    rel = path.relative_to(ROOT).as_posix()
    found = []

    def visit(node, function: str):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Attribute) and (child.attr in READERS or child.attr in PRIVATE_HANDLES):
                found.append((rel, name, ast.unparse(child.value), child.attr, child.lineno))
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id == "getattr" \
                    and len(child.args) > 1 and isinstance(child.args[1], ast.Constant) \
                    and str(child.args[1].value).startswith("execute"):
                found.append((rel, name, ast.unparse(child.args[0]), "getattr", child.lineno))
            visit(child, name)

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return found


def test_nothing_but_the_release_layer_reads_the_engine():
    sources = _project_sources()
    assert ROOT / "queries" / "release.py" in sources and ROOT / "dashboard" / "app.py" in sources
    reads = [r for path in sources for r in _engine_reads(path)]
    private = [r for r in reads if r[3] in PRIVATE_HANDLES and r[0] not in PRIVATE_HANDLES[r[3]]]
    assert not private, f"an engine's private handle used outside its class: {private}"
    calls = [r for r in reads if r[3] not in PRIVATE_HANDLES and r[0] != "queries/release.py"]
    unexpected = [r for r in calls if r[:3] not in ALLOWED]
    assert not unexpected, ("only queries/release.py may read the engine (release() for counts, levels() for the "
                            f"cohort's structure); found: {unexpected}")
    stale = ALLOWED - {r[:3] for r in calls}
    assert not stale, f"allowances no longer used (remove them): {stale}"
    release_reads = {r[1] for r in reads if r[0] == "queries/release.py" and r[3] == "execute"}
    assert release_reads == {"release", "levels"}


def test_levels_serves_the_filter_options_alone():
    """levels() returns the one row of the cohort's structure (no count); only the filter options use it."""
    users = sorted(p.relative_to(ROOT).as_posix() for p in _project_sources()
                   if any(isinstance(n, ast.ImportFrom) and n.module == "queries.release"
                          and "levels" in {a.name for a in n.names}
                          for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))))
    assert users == ["queries/cohort.py"]


# --- (7) the load report -----------------------------------------------------------------------------------------

def _report(files: int = 10) -> ValidationReport:
    findings = (Finding("warning", "cohort.csv", "out of range", "column 'age': 3 row(s) — above 120; those rows were "
                        "left out.", "age", 3),
                Finding("warning", "cohort.csv", "invalid code", "column 'sex': 1,234 row(s) — not a code of the "
                        "mapping; those rows were left out.", "sex", 1_234),
                Finding("info", "cohort.csv", "no roles", "no column was bound to a role."))
    accounts = tuple(FileAccount(f"part{i}.csv", 10_003 + i, 10_000, 3 + i) for i in range(files))
    return ValidationReport(findings, accounts, top_coded_ages=57)


@pytest.mark.parametrize("policy", [CELL_KEY, EXACT], ids=["cell-key", "exact"])
def test_a_small_count_quoted_in_a_finding_shows_as_below_the_threshold(policy):
    small = release_report(_report(), policy).findings[0]
    assert small.message == "column 'age': <11 row(s) — above 120; those rows were left out."
    assert 1 <= small.count <= 10 and policy.show_count(small.count) == "<11"
    assert release_report(_report(), policy).findings[2] == _report().findings[2]  # nothing quoted, nothing changed


def test_exact_mode_keeps_the_reports_counts():
    report = release_report(_report(), EXACT)
    assert report.accounts == _report().accounts and report.top_coded_ages == 57
    assert report.findings[1] == _report().findings[1]  # 1,234 rows: shown as it is


def test_cell_key_mode_perturbs_the_reports_counts(monkeypatch):
    report = release_report(_report(), CELL_KEY)
    assert report == release_report(_report(), CELL_KEY)  # the same counts released the same way every time
    original = _report()
    large = report.findings[1]
    assert abs(large.count - 1_234) <= MAX_PERTURBATION
    assert large.message == (f"column 'sex': {large.count:,} row(s) — not a code of the mapping; those rows were "
                             "left out.")
    assert abs(report.top_coded_ages - 57) <= MAX_PERTURBATION
    moved = 0
    for got, want in zip(report.accounts, original.accounts):
        assert got.file == want.file
        assert abs(got.rows_read - want.rows_read) <= MAX_PERTURBATION
        assert abs(got.rows_rejected - want.rows_rejected) <= MAX_PERTURBATION
        assert abs(got.rows_loaded - want.rows_loaded) <= MAX_PERTURBATION  # its own cell, not read − rejected
        moved += got != want
    assert moved  # ten files: some counts move
    monkeypatch.setenv(SECRET_ENV, secrets.token_hex(32))
    assert release_report(_report(), CELL_KEY) != report  # named cell keys come from the deployment's secret
