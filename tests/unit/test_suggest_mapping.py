"""The suggested mapping (data_schema.suggest): it parses with the mapping parser and loads the file it was made
for (the three real cohorts without their mapping.toml, the reference wide cohort, the demo extract), it finds the
roles by name and values, it keeps out of a role any column the load would refuse there, and it prints no data
value beyond the codes the mapping needs."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analyses.registry import enabled_analyses  # noqa: E402
from data_schema.bound_roles import bound_roles  # noqa: E402
from data_schema.loading import COHORT_TABLE, load_cohort  # noqa: E402
from data_schema.mapping import load_mapping  # noqa: E402
from data_schema.reading import DataError  # noqa: E402
from data_schema.sources import resolve_mapping  # noqa: E402
from data_schema.suggest import suggest_mapping, toml_string  # noqa: E402

COHORTS = ROOT / "tests" / "data" / "cohorts"
REFERENCE = ROOT / "tests" / "reference" / "data" / "demo_cohort.csv"
SENTINEL = "SENTINEL_VALUE_93817"
# Numbers the suggestion's own text may hold (codes 0/1/2, the default cut points, the roles' plausible ranges, ISO
# 5218): any other number in the output would come from the data.
TEMPLATE_NUMBERS = {"0", "1", "2", "50", "75", "100", "120", "0.001", "100000", "1900", "2100", "5218"}


def suggested(data: Path, folder: Path) -> tuple[str, Path]:
    """The suggestion for ``data``, written to ``folder/suggested.toml``."""
    text = suggest_mapping(data)
    path = folder / "suggested.toml"
    path.write_text(text, encoding="utf-8")
    return text, path


def load(data: Path | None, mapping_file: Path):
    """(report, {sex: n}) of loading ``data`` with the mapping file into a scratch database."""
    mapping = resolve_mapping(data, mapping_file)
    with duckdb.connect(":memory:") as con:
        result = load_cohort(con, mapping)
        sexes = dict(con.execute(f"SELECT sex, count(*) FROM {COHORT_TABLE} GROUP BY sex").fetchall()) \
            if "sex" in mapping.columns else {}
        outcomes = {name: con.execute(f"SELECT count(*) FILTER (WHERE outcome_{name}) FROM {COHORT_TABLE}")
                    .fetchone()[0] for name in mapping.outcomes}
    return result.report, sexes, outcomes


def numbers_in(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", text))


@pytest.mark.parametrize("cohort, roles, enabled", [
    ("flchain", {"sex", "age", "baseline_year", "outcome", "time_to_event", "covariate"},
     {"odds-ratio", "prevalence", "diagnostic", "risk-factors", "spc", "funnel"}),
    ("colon", {"participant_id", "sex", "age", "outcome", "treatment", "time_to_event", "covariate"},
     {"odds-ratio", "prevalence", "diagnostic", "risk-factors", "spc", "funnel"}),
    ("nafld1", {"participant_id", "sex", "age", "outcome", "time_to_event", "covariate"},
     {"odds-ratio", "prevalence", "diagnostic", "risk-factors", "spc", "funnel"}),
])
def test_real_cohorts_round_trip_without_their_mapping(tmp_path, cohort, roles, enabled):
    data = tmp_path / f"{cohort}.csv"
    shutil.copyfile(COHORTS / cohort / f"{cohort}.csv", data)
    text, path = suggested(data, tmp_path)
    mapping = load_mapping(path)  # parses with the project's parser
    assert mapping.files == (data.resolve(),)
    assert set(bound_roles(mapping)) == roles
    assert {n for n, a in enabled_analyses(mapping).items() if a.enabled} == enabled
    report, sexes, _ = load(None, path)  # the files of its [source] section
    assert report.usable and not report.errors
    again, _, _ = load(data, path)  # --data overrides [source] files
    assert again.usable
    # sex read the way the cohort's own mapping reads it (0/1 guessed right for colon, read from the name in nafld1)
    own = load_mapping(COHORTS / cohort / "mapping.toml")
    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    column = frame[own.columns["sex"]]
    assert sexes == {sex: int(column.isin([str(c) for c in codes]).sum()) for sex, codes in own.sex_codes.items()}
    # nothing from the data but codes: no other number, no category value
    assert numbers_in(text) <= TEMPLATE_NUMBERS, numbers_in(text) - TEMPLATE_NUMBERS
    texts = {v for c in frame.columns for v in frame[c].unique() if v and not _number(v)}
    assert {v for v in texts if v in text} <= {"F", "M", "Obs"}


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_cohort_guesses_are_marked_for_checking(tmp_path):
    data = tmp_path / "colon.csv"
    shutil.copyfile(COHORTS / "colon" / "colon.csv", data)
    text, path = suggested(data, tmp_path)
    assert 'sex = "sex"  # CHECK: named like sex, with 0/1 codes guessed as 1 = male, 0 = female' in text
    assert 'untreated = ["Obs"]' in text
    assert '"study": holds one value only' in text
    mapping = load_mapping(path)
    assert mapping.sex_codes == {"female": (0,), "male": (1,)}
    assert mapping.time_to_event.event == "status" and mapping.time_to_event.time == "time"
    assert mapping.outcomes["status"].positive == (1,)
    assert mapping.covariates["differ"].type == "categorical" and mapping.covariates["nodes"].type == "numeric"


def test_the_reference_wide_cohort_round_trips_with_every_analysis(tmp_path):
    data = tmp_path / "demo_cohort.csv"
    shutil.copyfile(REFERENCE, data)
    _, path = suggested(data, tmp_path)
    mapping = load_mapping(path)
    assert mapping.biomarker.column == "ferritin" and mapping.treatment.untreated == ("none",)
    assert mapping.time_to_event.event == "augmented" and mapping.time_to_event.time_unit == "days"
    assert all(a.enabled for a in enabled_analyses(mapping).values())
    report, _, outcomes = load(data, path)
    assert report.usable
    _, _, own = load(data, REFERENCE.with_suffix(".toml"))
    assert outcomes["rls"] == own["rls"]


def test_the_demo_extract_folder_round_trips(demo_dir, tmp_path):
    text, path = suggested(demo_dir, tmp_path)
    assert text.startswith("# Suggested mapping for the folder")
    mapping = load_mapping(path)
    assert mapping.shape == "rls_extract"
    assert all(a.enabled for a in enabled_analyses(mapping).values())
    report, _, _ = load(demo_dir, path)
    assert report.usable


def test_a_folder_that_is_not_the_extract_is_refused(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n", encoding="utf-8")
    with pytest.raises(DataError, match="takes one CSV or Parquet file"):
        suggest_mapping(tmp_path)


def test_no_data_value_is_printed(tmp_path):
    rows = [f"ID_{SENTINEL}_{i},{'SENTINELA' if i % 2 else 'SENTINELB'},{40 + i % 7}.5,{SENTINEL} text {i},"
            f"{987654.321 + i},G_{SENTINEL}_{i % 3},{i % 2}" for i in range(30)]
    data = tmp_path / "c.csv"
    data.write_text("patient_id,gender,age,notes,amount,grade,death\n" + "\n".join(rows) + "\n", encoding="utf-8")
    text, path = suggested(data, tmp_path)
    assert SENTINEL not in text and "SENTINELA" not in text and "SENTINELB" not in text
    assert "93817" not in text and "987654" not in text
    assert numbers_in(text) <= TEMPLATE_NUMBERS
    mapping = load_mapping(path)
    assert mapping.columns == {"participant_id": "patient_id"}  # gender: unknown codes; age: not whole years
    assert '"gender": named like sex but codes the suggestion does not recognise (they are not printed)' in text
    assert '"age": named like age but not bound' in text
    assert '"notes": text with a different value in every row' in text
    assert mapping.covariates["grade"].type == "categorical"  # its codes are not printed either
    assert mapping.covariates["age_cov"].type == "numeric"  # a built-in variable name is not reused
    report, _, outcomes = load(data, path)
    assert report.usable and outcomes == {"death": 15}


def test_values_the_load_would_refuse_keep_a_column_out_of_its_role(tmp_path):
    lines = ["id,sex,age,ferritin,year,status,futime"]
    lines += [f"p{i % 20},{'FMU'[i % 3]},{30 + i % 50},{i % 4 * 10},{1990 + i % 30},{i % 2},{100 + i}"
              for i in range(40)]
    data = tmp_path / "c.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text, path = suggested(data, tmp_path)
    mapping = load_mapping(path)
    assert "participant_id" not in mapping.columns  # repeated ids
    assert "sex" not in mapping.columns and '"sex": named like sex but more than two codes' in text
    assert mapping.biomarker is None  # a ferritin of 0 is outside the biomarker's plausible range
    assert mapping.columns["age"] == "age" and mapping.columns["baseline_year"] == "year"
    assert mapping.time_to_event.time == "futime"
    assert load(data, path)[0].usable


def test_semicolons_and_decimal_commas_are_declared(tmp_path):
    data = tmp_path / "c.csv"
    data.write_text("pid;sex;age;bmi;rls\n" + "\n".join(f"p{i};{'FM'[i % 2]};{40 + i};{20 + i},5;{i % 2}"
                                                         for i in range(12)) + "\n", encoding="utf-8")
    text, path = suggested(data, tmp_path)
    mapping = load_mapping(path)
    assert mapping.read_options.delimiter == ";" and mapping.read_options.decimal == ","
    assert mapping.covariates["bmi"].type == "numeric"
    assert set(bound_roles(mapping)) >= {"participant_id", "sex", "age", "outcome"}
    assert load(data, path)[0].usable


def test_a_typed_parquet_file(tmp_path):
    frame = pd.DataFrame({"subject_id": [f"s{i}" for i in range(20)], "male": [i % 2 for i in range(20)],
                          "age_years": [float(30 + i) for i in range(20)],
                          "dead": [float(i % 3 == 0) for i in range(20)],
                          "fu_days": [10.0 * i for i in range(20)], "bmi": [20.5 + i for i in range(20)],
                          "smoker": [bool(i % 2) for i in range(20)]})
    data = tmp_path / "c.parquet"
    frame.to_parquet(data)
    text, path = suggested(data, tmp_path)
    mapping = load_mapping(path)
    assert mapping.columns == {"participant_id": "subject_id", "sex": "male", "age": "age_years"}
    assert mapping.sex_codes == {"female": (0,), "male": (1,)}
    assert mapping.outcomes["dead"].positive == (1,)
    assert mapping.time_to_event.time == "fu_days" and mapping.time_to_event.time_unit == "days"
    assert '"smoker": true/false column' in text
    report, sexes, outcomes = load(data, path)
    assert report.usable and sexes == {"female": 10, "male": 10} and outcomes == {"dead": 7}


def test_awkward_column_names_are_quoted_and_named(tmp_path):
    data = tmp_path / "c.csv"
    data.write_text('"a ""quoted"" col",back\\slash,Größe,1st,sex\n'
                    + "\n".join(f"{i},{i * 2},{i * 3}.5,{i % 4},{'FM'[i % 2]}" for i in range(15)) + "\n",
                    encoding="utf-8")
    text, path = suggested(data, tmp_path)
    assert toml_string('a "quoted" col') in text and toml_string("back\\slash") in text
    mapping = load_mapping(path)
    assert {c.column for c in mapping.covariates.values()} == {'a "quoted" col', "back\\slash", "Größe", "1st"}
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name) for name in mapping.covariates)
    assert load(data, path)[0].usable


def test_toml_string_escapes_what_toml_forbids():
    assert toml_string('a"b\\c\x7f\n') == '"a\\"b\\\\c\\u007f\\u000a"'
