"""Which analyses a mapping enables (analyses.registry): the roles each analysis declares, enabled_analyses on the
demo and the three real cohorts, and the layering (the data layer lists roles and never names an analysis)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analyses.registry import ANALYSES, enabled_analyses
from data_schema.bound_roles import ROLES
from data_schema.mapping import default_mapping, load_mapping, parse_mapping

ROOT = Path(__file__).resolve().parents[2]

COHORTS = ROOT / "tests" / "data" / "cohorts"
DEMO = ROOT / "data_schema" / "demo" / "mapping.toml"


def parse(text: str):
    return parse_mapping(text, Path("/cohort"), "m.toml")


def test_every_analysis_declares_roles_of_the_report():
    declared = {need.role for spec in ANALYSES.values() for need in (*spec.needs, *spec.default_option_roles)}
    assert declared <= set(ROLES)
    needs = {name: {n.role for n in spec.needs} for name, spec in ANALYSES.items()}
    assert needs["odds-ratio"] == {"outcome", "sex"}
    assert needs["prevalence"] == {"outcome", "age"}  # without sex: one curve
    assert needs["biomarker-risk"] == {"biomarker", "time_to_event"}  # treatment optional
    assert needs["diagnostic"] == {"outcome", "covariate"}
    assert needs["risk-factors"] == {"outcome"}  # its default factors sex and age are optional


def test_the_demo_mapping_enables_all_three():
    available = enabled_analyses(load_mapping(DEMO))
    assert list(available) == list(ANALYSES)
    assert all(a.enabled and a.missing == () and a.notes == () for a in available.values())
    assert available["prevalence"].describe() == "enabled"


@pytest.mark.parametrize("cohort, disabled", [
    ("flchain", {}),  # no treatment: biomarker-risk is still enabled (treatment is optional)
    ("colon", {}),
    ("nafld1", {"biomarker-risk": ("biomarker",)}),
])
def test_real_cohort_mappings(cohort, disabled):
    available = enabled_analyses(load_mapping(COHORTS / cohort / "mapping.toml"))
    assert {name: a.missing_roles for name, a in available.items() if not a.enabled} == disabled


def test_a_file_without_a_mapping_names_the_missing_roles():
    available = enabled_analyses(default_mapping(["age", "site"], (Path("/c.csv"),)))
    assert {name: a.missing_roles for name, a in available.items()} == {
        "odds-ratio": ("outcome", "sex"), "prevalence": ("outcome",),
        "biomarker-risk": ("biomarker", "time_to_event"), "diagnostic": ("outcome", "covariate"),
        "risk-factors": ("outcome",), "spc": ("outcome",), "funnel": ("outcome",)}
    odds = available["odds-ratio"]
    assert not odds.enabled
    assert odds.describe().startswith("not enabled, missing role(s): outcome (the binary outcome); sex (")
    assert "--exposure" in odds.describe()
    assert odds.to_dict()["missing_roles"] == ["outcome", "sex"] and odds.to_dict()["enabled"] is False


def test_odds_ratio_without_age_is_enabled_with_a_note_on_its_default_options():
    mapping = parse('[columns]\nsex = "sex"\n[outcomes.y]\ncolumn = "y"\n')
    available = enabled_analyses(mapping)
    odds = available["odds-ratio"]
    assert odds.enabled and len(odds.notes) == 1
    assert "--strata none --adjust none" in odds.notes[0]
    assert available["prevalence"].missing_roles == ("age",)
    with_age = enabled_analyses(parse('[columns]\nsex = "sex"\nage = "age"\n[outcomes.y]\ncolumn = "y"\n'))
    assert with_age["odds-ratio"].notes == () and with_age["prevalence"].enabled


def test_biomarker_risk_needs_both_the_biomarker_and_the_time_to_event():
    biomarker = '[biomarker]\ncolumn = "b"\n'
    tte = '[time_to_event]\nevent = "e"\ntime = "t"\n'
    assert enabled_analyses(parse(biomarker))["biomarker-risk"].missing_roles == ("time_to_event",)
    assert enabled_analyses(parse(tte))["biomarker-risk"].missing_roles == ("biomarker",)
    assert enabled_analyses(parse(biomarker + tte))["biomarker-risk"].enabled


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_data_layer_never_imports_the_analyses_nor_names_them():
    for path in sorted((ROOT / "data_schema").rglob("*.py")):
        top = {name.split(".")[0] for name in _imports(path)}
        assert not top & {"analyses", "dashboard", "queries"}, path
    ids = [name for name in ANALYSES if "-" in name]  # "prevalence" is also a plain word of the role sentences
    assert ids == ["odds-ratio", "biomarker-risk", "risk-factors"]
    for path in (ROOT / "data_schema" / "bound_roles.py", ROOT / "data_schema" / "validation.py"):
        text = path.read_text(encoding="utf-8")
        assert not any(name in text for name in ids), path
