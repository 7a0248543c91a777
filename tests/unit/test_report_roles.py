"""The validation report's roles section: which roles a mapping binds, which it lacks (warnings, each with what it
would enable), in text and JSON, naming columns and never a value."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from data_schema.bound_roles import ROLES, bound_roles, roles_section
from data_schema.cli import validate_source
from data_schema.mapping import default_mapping, load_mapping, parse_mapping
from data_schema.schema import roles
from data_schema.validation import FileAccount, Finding, ValidationReport

ROOT = Path(__file__).resolve().parents[2]

COHORTS = ROOT / "tests" / "data" / "cohorts"
DEMO = ROOT / "data_schema" / "demo" / "mapping.toml"


def parse(text: str):
    return parse_mapping(text, Path("/cohort"), "m.toml", Path("/cohort/m.toml"))


def test_every_role_of_roles_toml_has_a_place_in_the_section():
    """The report's role names are the mapping file's vocabulary; each role of roles.toml falls under one."""
    by_section = {"event": "time_to_event", "time": "time_to_event"}
    assert {by_section.get(r, r) for r in roles()} == set(ROLES)


def test_the_demo_mapping_binds_every_role():
    section = roles_section(load_mapping(DEMO))
    assert [b.role for b in section.bound] == list(ROLES)
    assert section.missing == ()
    assert section.mapping == "mapping.toml"
    by_role = {b.role: b for b in section.bound}
    assert by_role["outcome"].names == ("rls", "rls_clinsig")
    assert by_role["outcome"].columns == ("rls_irlssg", "rls_clinically_significant")
    assert by_role["time_to_event"].columns == ("augmented", "days_to_augmentation_or_censor")
    assert by_role["sex"].columns == ("sex",)


@pytest.mark.parametrize("cohort, missing", [
    ("flchain", {"participant_id", "site", "treatment", "exclusion"}),
    ("colon", {"site", "baseline_year"}),
    ("nafld1", {"site", "baseline_year", "biomarker", "treatment", "exclusion"}),
])
def test_real_cohort_mappings(cohort, missing):
    section = roles_section(load_mapping(COHORTS / cohort / "mapping.toml"))
    assert {m.role for m in section.missing} == missing
    assert {b.role for b in section.bound} == set(ROLES) - missing
    assert all(m.severity == "warning" for m in section.missing)


def test_a_file_without_a_mapping_lacks_sex_and_the_outcome_and_says_what_they_would_enable():
    mapping = default_mapping(["age", "site", "score"], (Path("/cohort/c.csv"),))
    section = roles_section(mapping)
    assert section.mapping is None
    assert [b.role for b in section.bound] == ["age", "site"]
    missing = {m.role: m for m in section.missing}
    assert set(missing) == set(ROLES) - {"age", "site"}
    assert "odds ratios by sex" in missing["sex"].enables and "sex-specific prevalence" in missing["sex"].enables
    assert "odds ratios and prevalence" in missing["outcome"].enables
    assert "time to event" in missing["biomarker"].enables and "biomarker" in missing["time_to_event"].enables
    assert missing["sex"].where == "[columns] sex with [codes.sex]"
    assert missing["outcome"].message.startswith("role 'outcome' is not mapped ([outcomes.NAME]); it would enable")
    for m in section.missing:  # one sentence each
        assert m.enables.endswith(".") and m.enables.count(". ") == 0


def test_bound_roles_follow_the_mapping_sections():
    mapping = parse('[columns]\nsex = "gender"\n[codes.sex]\nfemale = ["w"]\nmale = ["m"]\n'
                    '[outcomes.b]\ncolumn = "y2"\n[outcomes.a]\ncolumn = "y1"\n'
                    '[time_to_event]\nevent = "y1"\ntime = "t"\n'
                    '[covariates]\nbmi = { type = "numeric" }\n')
    bound = bound_roles(mapping)
    assert list(bound) == ["sex", "outcome", "time_to_event", "covariate"]
    assert bound["outcome"].names == ("b", "a") and bound["outcome"].columns == ("y2", "y1")
    assert bound["time_to_event"].columns == ("y1", "t")
    assert bound["covariate"].columns == ("bmi",)


def test_the_section_in_text_and_json():
    mapping = default_mapping(["participant_id", "sex", "age"], (Path("/cohort/c.csv"),))
    base = ValidationReport((Finding("info", "c.csv", "age top-coded", "m", "age", 1),),
                            (FileAccount("c.csv", 2, 2, 0),), 1)
    report = replace(base, roles=roles_section(mapping))
    assert report.usable  # missing roles are warnings: the data stay usable
    assert report.findings == base.findings  # and they are not findings
    data = report.to_dict()
    assert data["roles"]["mapping"] is None
    assert data["roles"]["bound"][1] == {"role": "sex", "columns": ["sex"], "names": []}
    missing = {m["role"]: m for m in data["roles"]["missing"]}
    assert missing["outcome"]["severity"] == "warning" and missing["outcome"]["where"] == "[outcomes.NAME]"
    assert missing["outcome"]["message"].startswith("role 'outcome' is not mapped")
    text = report.to_text()
    assert text.startswith("Data can be used.")
    assert "Roles bound by column names (no mapping file):\n  participant_id: column 'participant_id'" in text
    assert "Roles not mapped (warnings; the data stay usable):" in text
    assert "  [warning] role 'outcome' is not mapped ([outcomes.NAME]); it would enable odds ratios" in text
    assert "--suggest-mapping" in text
    # a report without the section is unchanged
    assert "roles" not in base.to_dict() and "Roles" not in base.to_text()


def test_validate_source_adds_the_section_and_keeps_it_out_of_refusals_it_cannot_read(tmp_path):
    data = tmp_path / "c.csv"
    data.write_text("age,site,score\n40,A,1.5\n41,B,2.5\n", encoding="utf-8")
    report, mapping = validate_source(data, None)
    assert report.usable and mapping is not None
    assert {m.role for m in report.roles.missing} >= {"sex", "outcome"}
    assert report.findings == ()
    bad = tmp_path / "m.toml"
    bad.write_text("[columns]\nwhat = 'x'\n", encoding="utf-8")
    report, mapping = validate_source(data, bad)
    assert not report.usable and mapping is None and report.roles is None
    refused = tmp_path / "r.toml"
    refused.write_text('[columns]\nsex = "nope"\n', encoding="utf-8")
    report, mapping = validate_source(data, refused)  # the mapping reads, the data are refused: roles still listed
    assert not report.usable and [b.role for b in report.roles.bound] == ["sex"]
