"""Hostile sources through the real CLI: ``python -m data_schema validate`` as a subprocess.

Every case checks the exit code, the rule/column/file named in the report, the message fragments, that no
traceback is shown and that no planted sentinel value leaks into stdout or stderr (text and ``--json`` modes).
Files are generated into tmp_path by hostile_builders; source files must never be written by validation.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for _path in (HERE, REPO):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import hostile_builders as hb  # noqa: E402
from data_schema.loading import load_cohort  # noqa: E402
from data_schema.sources import resolve_mapping  # noqa: E402

TIMEOUT = 120


class Run:
    def __init__(self, proc: subprocess.Popen):
        self.stdout, self.stderr = proc.communicate(timeout=TIMEOUT)
        self.code = proc.returncode

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "data_schema", "validate", *args], cwd=REPO, text=True,
                            encoding="utf-8", stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_both(args: list[str]) -> tuple[Run, Run]:
    """The CLI in text and in --json mode, run concurrently."""
    text, js = _start(args), _start([*args, "--json"])
    return Run(text), Run(js)


def assert_clean(run: Run, sentinels: tuple[str, ...]) -> None:
    assert "Traceback" not in run.output, run.output[-2000:]
    assert "Internal error" not in run.output, run.output[-2000:]
    for value in (*hb.GLOBAL_SENTINELS, *sentinels):
        assert value not in run.output, f"planted value {value!r} leaked into the output"


def assert_accounting(report: dict) -> None:
    for account in report["files"]:
        assert account["rows_read"] == account["rows_loaded"] + account["rows_rejected"], account
        assert min(account["rows_read"], account["rows_loaded"], account["rows_rejected"]) >= 0, account


def parsed(run: Run) -> dict:
    report = json.loads(run.stdout)
    assert set(report) >= {"usable", "findings", "files", "top_coded_ages"}
    return report


def matching(report: dict, expect: hb.Expect) -> dict:
    hits = [f for f in report["findings"] if f["rule"] == expect.rule]
    assert hits, f"no finding with rule {expect.rule!r}: {[f['rule'] for f in report['findings']]}"
    f = hits[0]
    assert f["column"] == expect.column
    if expect.file is not None:
        assert f["file"] == expect.file
    if expect.count is not None:
        assert f["count"] == expect.count
    for fragment in expect.fragments:
        assert fragment in f["message"], (fragment, f["message"])
    return f


def sha256_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- refused sources ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", hb.CASES, ids=[c.id for c in hb.CASES])
def test_hostile_source_is_refused_without_leaking(case: hb.Case, tmp_path: Path) -> None:
    args = case.build(tmp_path)
    before = sha256_tree(tmp_path)
    text, js = run_both(args)
    for run in (text, js):
        assert run.code == case.exit_code != 0, run.output[-2000:]
        assert_clean(run, case.sentinels)
    report = parsed(js)
    assert report["usable"] is False
    assert_accounting(report)
    assert any(f["severity"] == "error" for f in report["findings"])
    assert text.stdout.startswith("Data refused.")
    for expect in case.expect:
        finding = matching(report, expect)
        assert f"{finding['file']}: " in text.stdout
        for fragment in expect.fragments:
            assert fragment in text.stdout, (fragment, text.stdout)
    assert sha256_tree(tmp_path) == before, "validation wrote to or changed the source folder"


def test_there_are_enough_hostile_cases() -> None:
    assert len(hb.CASES) >= 18
    assert len({c.id for c in hb.CASES}) == len(hb.CASES)


# --- usable sources -----------------------------------------------------------------------------------------

def _cohort(args: list[str], sql: str) -> list[tuple]:
    data = Path(args[args.index("--data") + 1])
    mapping = Path(args[args.index("--mapping") + 1]) if "--mapping" in args else None
    with duckdb.connect(":memory:") as con:
        load_cohort(con, resolve_mapping(data, mapping))
        return con.execute(sql).fetchall()


def test_utf8_bom_is_usable_and_first_column_named_correctly(tmp_path: Path) -> None:
    # The first column is `age`: if the BOM stayed in its name, `age` would not be bound and nothing top-coded.
    body = "age,participant_id,sex\n95,p1,F\n41,p2,M\n"
    data = hb._write(tmp_path / "bom.csv", b"\xef\xbb\xbf" + body.encode("utf-8"))
    text, js = run_both(["--data", str(data)])
    for run in (text, js):
        assert run.code == 0, run.output
        assert_clean(run, ())
    report = parsed(js)
    assert report["usable"] is True
    assert report["top_coded_ages"] == 1
    top = matching(report, hb.Expect("age top-coded", "age", "bom.csv", 1))
    assert top["severity"] == "info"
    assert "\ufeff" not in js.stdout and "\\ufeff" not in js.stdout and "\ufeff" not in text.stdout
    assert not [f for f in report["findings"] if "absent" in f["rule"]]
    assert report["files"] == [{"file": "bom.csv", "rows_read": 2, "rows_loaded": 2, "rows_rejected": 0}]
    assert _cohort(["--data", str(data)], "SELECT pid, age, sex FROM cohort ORDER BY pid") == [
        ("p1", 90, "female"), ("p2", 41, "male")]


def test_semicolon_with_decimal_comma_loads_with_mapping(tmp_path: Path) -> None:
    args = hb._csv(tmp_path, "cohort.csv", hb.SEMICOLON_LINES[:-1], hb.SEMICOLON_MAPPING)
    text, js = run_both(args)
    for run in (text, js):
        assert run.code == 0, run.output
        assert_clean(run, ())
    report = parsed(js)
    assert report["usable"] is True and report["findings"] == []
    assert report["files"] == [{"file": "cohort.csv", "rows_read": 3, "rows_loaded": 3, "rows_rejected": 0}]
    assert text.stdout.startswith("Data can be used.")
    assert _cohort(args, "SELECT pid, biomarker FROM cohort ORDER BY pid") == [
        ("p1", 45.5), ("p2", 12.5), ("p3", 120.0)]


def test_ages_above_89_are_top_coded_and_no_row_is_lost(tmp_path: Path) -> None:
    ages = [18, 40, 89, 90, 95, 104, 117, 120]
    lines = [hb.HEADER] + [f"p{i},{'FM'[i % 2]},{age}" for i, age in enumerate(ages)]
    args = hb._csv(tmp_path, "cohort.csv", lines)
    text, js = run_both(args)
    for run in (text, js):
        assert run.code == 0, run.output
        assert_clean(run, ("104", "117"))
    report = parsed(js)
    assert report["usable"] is True
    assert report["top_coded_ages"] == 4  # 95, 104, 117, 120 change; 90 already is the 90+ category
    matching(report, hb.Expect("age top-coded", "age", "cohort.csv", 4, ("4 age(s) above 90", "recoded to 90")))
    assert "4 age(s) above 90 were recoded to 90" in text.stdout
    assert report["files"] == [{"file": "cohort.csv", "rows_read": 8, "rows_loaded": 8, "rows_rejected": 0}]
    assert _cohort(args, "SELECT count(*), max(age), count(*) FILTER (WHERE age = 90) FROM cohort") == [(8, 90, 5)]


# --- JSON shape and untouched sources -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def validated_sources(tmp_path_factory):
    """A clean demo extract, a drop-invalid CSV and a structurally broken CSV, hashed before and after --json."""
    root = tmp_path_factory.mktemp("untouched")
    extract = hb.demo_extract(root / "demo")
    drop = root / "drop"
    drop_args = hb._csv(drop, "cohort.csv", [hb.HEADER, "p1,F,40", "p2,M,40.5", "p3,X,41", "p4,F,95"],
                        '[validation]\ninvalid_rows = "drop"\n[columns]\nparticipant_id = "participant_id"\n'
                        'sex = "sex"\nage = "age"\n')
    broken = root / "broken"
    broken_args = hb.extra_fields(broken)
    sources = {"extract": (extract, ["--data", str(extract)]), "drop": (drop, drop_args),
               "broken": (broken, broken_args)}
    before = {k: sha256_tree(folder) for k, (folder, _) in sources.items()}
    procs = {k: _start([*args, "--json"]) for k, (_, args) in sources.items()}
    runs = {k: Run(p) for k, p in procs.items()}
    after = {k: sha256_tree(folder) for k, (folder, _) in sources.items()}
    return runs, before, after


def test_json_output_parses_and_accounts_for_every_row(validated_sources) -> None:
    runs, _, _ = validated_sources
    expected = {"extract": (0, True), "drop": (0, True), "broken": (2, False)}
    for name, run in runs.items():
        code, usable = expected[name]
        assert run.code == code, (name, run.output[-2000:])
        assert_clean(run, ())
        report = parsed(run)
        assert report["usable"] is usable
        assert isinstance(report["findings"], list) and report["files"], name
        for finding in report["findings"]:
            assert set(finding) == {"severity", "file", "rule", "message", "column", "count"}
            assert finding["severity"] in ("error", "warning", "info")
        assert_accounting(report)
    extract = parsed(runs["extract"])
    assert [a["file"] for a in extract["files"]] == ["participants.parquet", "ferritin_labs.parquet",
                                                     "treatments.parquet"]
    assert all(a["rows_rejected"] == 0 and a["rows_read"] > 0 for a in extract["files"])
    drop = parsed(runs["drop"])
    assert drop["files"] == [{"file": "cohort.csv", "rows_read": 4, "rows_loaded": 2, "rows_rejected": 2}]
    assert {f["rule"] for f in drop["findings"]} == {"not a whole number", "not one of the allowed codes in "
                                                     "[codes.sex]", "age top-coded"}
    assert drop["top_coded_ages"] == 1
    broken = parsed(runs["broken"])
    assert broken["files"] == [{"file": "cohort.csv", "rows_read": 3, "rows_loaded": 0, "rows_rejected": 3}]


def test_source_files_are_never_written(validated_sources) -> None:
    _, before, after = validated_sources
    for name in before:
        assert before[name], name
        assert after[name] == before[name], f"{name}: a source file was changed, added or removed"
