"""``python -m data_schema validate`` (its roles section and ``--suggest-mapping``) and ``python -m analyses
validate`` as subprocesses: exit codes, text and JSON outputs, no traceback, no data value.

Every run is started once, all at once (each costs an interpreter start and a load of a small file); the round trip
of a suggested mapping through ``validate --mapping`` runs in its own test because it needs the suggestion first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from data_schema.mapping import load_mapping
from tests.cli.invocation import environment, REPO, Run

COHORTS = REPO / "tests" / "data" / "cohorts"
TIMEOUT = 180
SENTINEL = "SENTINEL_VALUE_93817"


def invoke(module: str, args: list[str]) -> Run:
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
                          encoding="utf-8", timeout=TIMEOUT, env=environment())
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _sources(folder: Path) -> dict[str, Path]:
    no_roles = folder / "age_site.csv"  # the case: age and site, nothing else the dashboard knows
    no_roles.write_text("age,site,score\n" + "\n".join(f"{40 + i},{'AB'[i % 2]},{i}.{i}" for i in range(20)) + "\n",
                        encoding="utf-8")
    refused = folder / "refused.csv"  # an age that is not a number: refused
    refused.write_text(f"participant_id,sex,age\np1,F,40\np2,M,{SENTINEL}\n", encoding="utf-8")
    colon = folder / "colon.csv"
    shutil.copyfile(COHORTS / "colon" / "colon.csv", colon)
    bad_mapping = folder / "bad.toml"
    bad_mapping.write_text("[columns]\ngender = 'sex'\n", encoding="utf-8")
    return {"no_roles": no_roles, "refused": refused, "colon": colon, "bad_mapping": bad_mapping,
            "colon_mapping": COHORTS / "colon" / "mapping.toml", "nafld1_mapping": COHORTS / "nafld1" / "mapping.toml",
            "nafld1": COHORTS / "nafld1" / "nafld1.csv"}


def _commands(s: dict[str, Path]) -> dict[str, tuple[str, list[str]]]:
    def ds(*args):
        return "data_schema", ["validate", *map(str, args)]

    def an(*args):
        return "analyses", ["validate", *map(str, args)]

    return {
        "ds_no_roles": ds("--data", s["no_roles"]),
        "ds_no_roles_json": ds("--data", s["no_roles"], "--json"),
        "ds_colon": ds("--data", s["colon"], "--mapping", s["colon_mapping"]),
        "ds_refused_json": ds("--data", s["refused"], "--json"),
        "ds_suggest": ds("--data", s["colon"], "--suggest-mapping"),
        "ds_suggest_with_mapping": ds("--data", s["colon"], "--mapping", s["colon_mapping"], "--suggest-mapping"),
        "ds_suggest_json": ds("--data", s["colon"], "--suggest-mapping", "--json"),
        "ds_suggest_missing": ds("--data", s["colon"].with_name("absent.csv"), "--suggest-mapping"),
        "an_no_roles": an("--data", s["no_roles"]),
        "an_nafld1": an("--data", s["nafld1"], "--mapping", s["nafld1_mapping"]),
        "an_nafld1_json": an("--data", s["nafld1"], "--mapping", s["nafld1_mapping"], "--json"),
        "an_refused": an("--data", s["refused"]),
        "an_refused_json": an("--data", s["refused"], "--json"),
        "an_bad_mapping_json": an("--data", s["colon"], "--mapping", s["bad_mapping"], "--json"),
        "an_no_data": an(),
    }


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    return _sources(tmp_path_factory.mktemp("validate_cli"))


@pytest.fixture(scope="module")
def runs(sources):
    pool = ThreadPoolExecutor(max_workers=4)
    futures = {name: pool.submit(invoke, module, args) for name, (module, args) in _commands(sources).items()}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def done(runs: dict[str, Future], name: str, code: int) -> Run:
    run = runs[name].result()
    assert run.code == code, f"{name}: exit {run.code}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    assert "Traceback" not in run.stdout + run.stderr and "Internal error" not in run.stdout + run.stderr
    assert SENTINEL not in run.stdout + run.stderr and "93817" not in run.stdout + run.stderr
    return run


def test_data_schema_validate_lists_missing_roles_as_warnings(runs):
    text = done(runs, "ds_no_roles", 0).stdout
    assert text.startswith("Data can be used.")
    assert "Roles bound by column names (no mapping file):\n  age: column 'age'\n  site: column 'site'" in text
    assert "[warning] role 'sex' is not mapped ([columns] sex with [codes.sex]); it would enable odds ratios by " \
           "sex, sex-specific prevalence" in text
    assert "[warning] role 'outcome' is not mapped ([outcomes.NAME]); it would enable odds ratios and prevalence" \
           in text
    assert "--suggest-mapping" in text
    assert "odds-ratio" not in text and "biomarker-risk" not in text  # the data layer names no analysis
    report = json.loads(done(runs, "ds_no_roles_json", 0).stdout)
    assert report["usable"] is True and report["findings"] == []  # missing roles are not findings
    assert [b["role"] for b in report["roles"]["bound"]] == ["age", "site"]
    missing = {m["role"]: m for m in report["roles"]["missing"]}
    assert {"sex", "outcome", "biomarker", "time_to_event"} <= set(missing)
    assert all(m["severity"] == "warning" for m in missing.values())


def test_data_schema_validate_with_a_mapping_and_refused(runs):
    text = done(runs, "ds_colon", 0).stdout
    assert "Roles bound by the mapping file mapping.toml:" in text
    assert "  outcome: death (column 'status')" in text and "  time_to_event: columns 'status', 'time'" in text
    assert "role 'site' is not mapped" in text and "role 'baseline_year' is not mapped" in text
    refused = json.loads(done(runs, "ds_refused_json", 2).stdout)
    assert refused["usable"] is False
    assert [b["role"] for b in refused["roles"]["bound"]] == ["participant_id", "sex", "age"]


def test_suggest_mapping_prints_toml_and_refuses_other_flags(runs, tmp_path):
    run = done(runs, "ds_suggest", 0)
    assert run.stdout.startswith("# Suggested mapping for \"colon.csv\"")
    assert "Suggested a mapping for colon.csv" in run.stderr and "Suggested" not in run.stdout.splitlines()[-1]
    path = tmp_path / "my.toml"
    path.write_text(run.stdout, encoding="utf-8")
    mapping = load_mapping(path)
    assert mapping.columns["sex"] == "sex" and "status" in mapping.outcomes
    for name in ("ds_suggest_with_mapping", "ds_suggest_json"):
        bad = done(runs, name, 2)
        assert bad.stdout == "" and "--suggest-mapping takes --data FILE only" in bad.stderr
    missing = done(runs, "ds_suggest_missing", 2)
    assert missing.stdout == "" and "absent.csv: the file was not found." in missing.stderr


def test_a_suggested_mapping_validates(sources, tmp_path):
    """The README's two steps: suggest > my.toml, then validate --mapping my.toml."""
    suggestion = invoke("data_schema", ["validate", "--data", str(sources["no_roles"]), "--suggest-mapping"])
    assert suggestion.code == 0, suggestion.stderr
    mapping = tmp_path / "my.toml"
    mapping.write_text(suggestion.stdout, encoding="utf-8")
    run = invoke("data_schema", ["validate", "--data", str(sources["no_roles"]), "--mapping", str(mapping)])
    assert run.code == 0, run.stdout + run.stderr
    assert "Roles bound by the mapping file my.toml:" in run.stdout


def test_analyses_validate_says_which_analyses_are_enabled(runs):
    text = done(runs, "an_no_roles", 0).stdout
    assert text.startswith("Data can be used.")
    assert "Analyses:\n  odds-ratio: not enabled, missing role(s): outcome (the binary outcome); sex (" in text
    assert "  prevalence: not enabled, missing role(s): outcome (the binary outcome)\n" in text
    assert "  biomarker-risk: not enabled, missing role(s): biomarker" in text
    nafld1 = done(runs, "an_nafld1", 0).stdout
    assert "  odds-ratio: enabled\n  prevalence: enabled\n  biomarker-risk: not enabled, missing role(s): " \
           "biomarker (" in nafld1
    report = json.loads(done(runs, "an_nafld1_json", 0).stdout)
    assert report["usable"] is True and "roles" in report
    assert {name: a["enabled"] for name, a in report["analyses"].items()} == {
        "odds-ratio": True, "prevalence": True, "biomarker-risk": False, "diagnostic": True, "risk-factors": True,
        "spc": True, "funnel": True}
    assert report["analyses"]["biomarker-risk"]["missing_roles"] == ["biomarker"]


def test_analyses_validate_exit_codes(runs):
    refused = done(runs, "an_refused", 2).stdout
    assert refused.startswith("Data refused.")
    assert "Analyses (none can run until the errors above are fixed; with this mapping):" in refused
    report = json.loads(done(runs, "an_refused_json", 2).stdout)
    assert report["usable"] is False
    assert not any(a["enabled"] for a in report["analyses"].values())
    assert report["analyses"]["odds-ratio"]["missing_roles"] == ["outcome"]
    bad = json.loads(done(runs, "an_bad_mapping_json", 2).stdout)
    assert bad["analyses"] is None and "roles" not in bad
    assert "gender" in bad["findings"][0]["message"]
    no_data = done(runs, "an_no_data", 2)
    assert "--data" in no_data.stderr
