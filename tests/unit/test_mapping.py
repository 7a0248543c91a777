"""The mapping file parser: the demo mapping, and one clear error (naming the key) per kind of mistake."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data_schema.mapping import (DEFAULT_SEX_CODES, Mapping, MappingError, ReadOptions,  # noqa: E402
                                 default_mapping, load_mapping, parse_mapping)

DEMO = ROOT / "data_schema" / "demo" / "mapping.toml"
BASE = Path("/cohort/base")


def parse(text: str) -> Mapping:
    return parse_mapping(text, BASE, "m.toml")


def error(text: str) -> str:
    with pytest.raises(MappingError) as exc:
        parse(text)
    message = str(exc.value)
    assert message.startswith("Mapping file m.toml")
    assert "Traceback" not in message
    return message


def test_demo_mapping_parses():
    m = load_mapping(DEMO)
    assert m.path == DEMO.resolve() and m.shape == "rls_extract"
    assert m.tables == {name: DEMO.parent.resolve() / f"{name}.parquet"
                        for name in ("participants", "ferritin_labs", "treatments")}
    assert m.files == ()
    assert m.read_options == ReadOptions()
    assert m.columns == {r: r for r in ("participant_id", "sex", "age", "site", "baseline_year")}
    assert m.sex_codes == {"female": ("F",), "male": ("M",)}
    assert m.baseline_window_days == 365 and m.invalid_rows == "refuse"
    assert set(m.outcomes) == {"rls", "rls_clinsig"}
    assert m.outcomes["rls"].column == "rls_irlssg" and m.outcomes["rls"].positive == (1,)
    assert m.biomarker.column == "ferritin_at_treatment_start" and m.biomarker.cut_points == (50.0, 75.0, 100.0)
    assert m.biomarker.unit == "µg/L"
    assert m.treatment.column == "first_drug" and m.treatment.untreated == ("none",)
    tte = m.time_to_event
    assert (tte.event, tte.event_positive, tte.time, tte.time_unit) == (
        "augmented", (1,), "days_to_augmentation_or_censor", "days")
    assert set(m.exclusions) == {"pregnancy", "kidney", "iron_deficiency", "antidepressant"}
    assert m.exclusions["kidney"].positive == ("ckd", "dialysis")
    assert m.covariates["egfr"].type == "numeric" and m.covariates["egfr"].column == "egfr"
    assert m.covariates["bmi_group"].type == "categorical"
    assert len(m.covariates) == 10
    assert "ferritin_at_treatment_start" in m.source_columns() and "pregnant" in m.source_columns()


def test_minimal_and_relative_paths():
    m = parse('[source]\nfiles = ["a.csv", "sub/b.csv"]\ndelimiter = ";"\ndecimal = ","\n'
              '[columns]\nage = "Age at baseline"\n')
    assert m.files == (BASE / "a.csv", BASE / "sub" / "b.csv")
    assert m.read_options.delimiter == ";" and m.read_options.decimal == ","
    assert m.columns == {"age": "Age at baseline"}
    assert m.sex_codes == DEFAULT_SEX_CODES and m.outcomes == {}


@pytest.mark.parametrize("text,key", [
    ("[colour]\nx = 1\n", "colour"),
    ("[source]\ndelimter = ','\n", "source.delimter"),
    ("[source.tables]\nlabs = 'labs.parquet'\n", "source.tables.labs"),
    ("[columns]\nparticipant = 'pid'\n", "columns.participant"),
    ("[codes.sex]\nother = ['X']\n", "codes.sex.other"),
    ("[codes]\nrace = {}\n", "codes.race"),
    ("[biomarker]\ncolumn = 'f'\ncutpoints = [1]\n", "biomarker.cutpoints"),
    ("[outcomes.rls]\ncolumn = 'r'\npositives = [1]\n", "outcomes.rls.positives"),
    ("[treatment]\ncolumn = 't'\nuntreated = []\nlabels = 'x'\n", "treatment.labels"),
    ("[time_to_event]\nevent = 'e'\ntime = 't'\nunit = 'days'\n", "time_to_event.unit"),
    ("[covariates.bmi]\ncolumn = 'bmi'\nkind = 'numeric'\n", "covariates.bmi.kind"),
    ("[derivation]\nwindow = 3\n", "derivation.window"),
    ("[validation]\non_invalid = 'drop'\n", "validation.on_invalid"),
])
def test_unknown_keys_are_named(text, key):
    message = error(text)
    assert f"key '{key}'" in message and "is not a known key" in message


@pytest.mark.parametrize("text,key,kind", [
    ("[columns]\nage = 5\n", "columns.age", "must be a string"),
    ("[columns]\nage = ['a']\n", "columns.age", "must be a string"),
    ("[source]\nfiles = 'a.csv'\n", "source.files", "must be a list"),
    ("[source]\nheader = 'yes'\n", "source.header", "must be true or false"),
    ("[derivation]\nbaseline_window_days = '365'\n", "derivation.baseline_window_days", "must be a whole number"),
    ("[derivation]\nbaseline_window_days = true\n", "derivation.baseline_window_days", "must be a whole number"),
    ("[derivation]\nbaseline_window_days = 36.5\n", "derivation.baseline_window_days", "must be a whole number"),
    ("[outcomes.rls]\ncolumn = 'r'\npositive = '1'\n", "outcomes.rls.positive", "must be a list"),
    ("[outcomes.rls]\ncolumn = 'r'\npositive = [1.5]\n", "outcomes.rls.positive", "list of strings or whole"),
    ("[outcomes.rls]\ncolumn = 'r'\npositive = [true]\n", "outcomes.rls.positive", "list of strings or whole"),
    ("[outcomes.rls]\ncolumn = 'r'\npositive = []\n", "outcomes.rls.positive", "at least one value"),
    ("[outcomes.rls]\npositive = [1]\n", "outcomes.rls.column", "is required"),
    ("[outcomes]\nrls = 'r'\n", "outcomes.rls", "must be a table"),
    ("[biomarker]\ncolumn = 3\n", "biomarker.column", "must be a string"),
    ("[biomarker]\ncolumn = ''\n", "biomarker.column", "column name of 1-128"),
    ('[biomarker]\ncolumn = "a\\tb"\n', "biomarker.column", "column name of 1-128"),
    (f"[columns]\nsex = '{'x' * 129}'\n", "columns.sex", "column name of 1-128"),
    ("columns = 3\n", "columns", "must be a table"),
    ("[source]\ndelimiter = ';;'\n", "source.delimiter", "single character"),
    ("[source]\ndecimal = ';'\n", "source.delimiter", "decimal '.' or ','"),
    ("[source]\nencoding = 'cp1252'\n", "source.encoding", "utf-8, latin-1 or utf-16"),
    ("[source]\nshape = 'long'\n", "source.shape", "must be one of wide, rls_extract"),
    ("[source]\nheader = false\n", "source.header", "must be true"),
    ("[validation]\ninvalid_rows = 'skip'\n", "validation.invalid_rows", "must be 'refuse' or 'drop'"),
    ("[derivation]\nbaseline_window_days = -1\n", "derivation.baseline_window_days", "between 0 and 3650"),
    ("[covariates.bmi]\ntype = 'ordinal'\n", "covariates.bmi.type", "'categorical' or 'numeric'"),
])
def test_wrong_types_and_values_are_named(text, key, kind):
    message = error(text)
    assert f"key '{key}'" in message and kind in message


@pytest.mark.parametrize("section", ["outcomes", "exclusions", "covariates"])
@pytest.mark.parametrize("name", ["RLS", "2nd", "rls-clinsig", "bmi group", "a" * 41, "_x"])
def test_bad_names_are_refused(section, name):
    message = error(f'[{section}."{name}"]\ncolumn = "c"\n')
    assert f"key '{section}.{name}'" in message and "lower-case letters, digits and _" in message


def test_good_names_are_accepted():
    m = parse('[outcomes.rls_2]\ncolumn = "c"\n[covariates.' + "a" * 40 + ']\ntype = "numeric"\n')
    assert "rls_2" in m.outcomes and m.covariates["a" * 40].column == "a" * 40


@pytest.mark.parametrize("female,male", [('["F", "X"]', '["M", "X"]'), ('["F", "1"]', '["M", 1]'),
                                         ('[2]', '["2"]')])
def test_shared_sex_codes_are_refused(female, male):
    message = error(f"[codes.sex]\nfemale = {female}\nmale = {male}\n")
    assert "key 'codes.sex.female'" in message and "shares a code with 'male'" in message


def test_sex_codes_parse():
    assert parse('[codes.sex]\nfemale = [2, "w"]\nmale = [1]\n').sex_codes == {"female": (2, "w"), "male": (1,)}


@pytest.mark.parametrize("cuts,rule", [
    ("[]", "must be a list of numbers"),
    ('["50"]', "must be a list of numbers"),
    ("[true]", "must be a list of numbers"),
    ("[100, 50]", "strictly increasing"),
    ("[50, 50]", "strictly increasing"),
    ("[0, 50]", "above zero unless `range` says otherwise"),
    ("[-5]", "above zero unless `range` says otherwise"),
    ("50", "must be a list"),
])
def test_bad_cut_points_are_named(cuts, rule):
    message = error(f'[biomarker]\ncolumn = "f"\ncut_points = {cuts}\n')
    assert "key 'biomarker.cut_points'" in message and rule in message


@pytest.mark.parametrize("text, rule", [
    ("range = [10]", "two numbers [low, high]"),
    ("range = [5, 5]", "low < high"),
    ('range = ["0", 9]', "two numbers"),
    ("range = [0, 40]\ncut_points = [50]", "inside the biomarker's range"),
    ("range = [0, 100]\ncut_points = [0, 50]", "inside the biomarker's range"),
])
def test_bad_biomarker_range_is_named(text, rule):
    assert rule in error(f'[biomarker]\ncolumn = "f"\n{text}\n')


def test_biomarker_range_allows_zero_cut_points_above_its_low_end():
    biomarker = parse('[biomarker]\ncolumn = "f"\nrange = [-10, 1000]\ncut_points = [0, 20]\n').biomarker
    assert biomarker.range == (-10.0, 1000.0) and biomarker.cut_points == (0.0, 20.0)
    assert not biomarker.positive
    assert parse('[biomarker]\ncolumn = "f"\n').biomarker.positive  # the built-in range starts above zero


def test_cut_points_parse_as_floats():
    assert parse('[biomarker]\ncolumn = "f"\ncut_points = [12, 30.5]\n').biomarker.cut_points == (12.0, 30.5)


@pytest.mark.parametrize("unit", ["weeks", "Days", "", "d"])
def test_bad_time_unit_is_named(unit):
    message = error(f'[time_to_event]\nevent = "e"\ntime = "t"\ntime_unit = "{unit}"\n')
    assert "key 'time_to_event.time_unit'" in message and "must be days, months or years" in message


@pytest.mark.parametrize("unit", ["days", "months", "years"])
def test_time_units_parse(unit):
    assert parse(f'[time_to_event]\nevent = "e"\ntime = "t"\ntime_unit = "{unit}"\n').time_to_event.time_unit == unit


def test_invalid_toml_and_unreadable_files(tmp_path):
    with pytest.raises(MappingError, match="is not valid TOML"):
        parse("[columns\nage = 'x'\n")
    with pytest.raises(MappingError, match="missing.toml was not found"):
        load_mapping(tmp_path / "missing.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"[columns]\nage = '\xe9ge'\n")
    with pytest.raises(MappingError, match="cannot be read as UTF-8"):
        load_mapping(latin)
    with pytest.raises(MappingError, match="cannot be read as UTF-8"):
        load_mapping(tmp_path)


def test_default_mapping_binds_same_named_columns():
    m = default_mapping(["participant_id", "age", "rls", "other"], (Path("/x.csv"),))
    assert m.columns == {"participant_id": "participant_id", "age": "age"}
    assert m.outcomes["rls"].positive == (1,) and m.files == (Path("/x.csv"),)
