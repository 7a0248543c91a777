"""Writers of hostile cohort sources, generated at test time (nothing binary or large is committed).

Each builder writes its files into a fresh folder and returns the arguments that follow ``validate`` on the
command line. Offending cells hold planted sentinel values; the validator's output must never show them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SENTINEL = "SENTINEL_VALUE_93817"
SENTINEL_NUMBER = "987654.321"
# Fragments that must never appear in any output (each is planted in some offending cell below).
GLOBAL_SENTINELS = (SENTINEL, SENTINEL.lower(), "93817", "987654", "123-45-6789", "987-65-4321", "123-4567",
                    "(555)", "1950-03-14", "1949-11-02", "Abernathy", "Quux Lane", "example.org")

HEADER = "participant_id,sex,age"


@dataclass(frozen=True)
class Expect:
    """One finding the report must hold (matched on rule, and on column/file/count when given)."""

    rule: str
    column: str | None = None
    file: str | None = None
    count: int | None = None
    fragments: tuple[str, ...] = ()  # substrings of that finding's message (and of the text output)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], list[str]]
    exit_code: int
    expect: tuple[Expect, ...]
    sentinels: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def _csv(folder: Path, name: str, lines: list[str], mapping: str | None = None) -> list[str]:
    data = _write(folder / name, "\n".join(lines) + "\n")
    args = ["--data", str(data)]
    if mapping is not None:
        args += ["--mapping", str(_write(folder / "cohort_mapping.toml", mapping))]
    return args


BIOMARKER_MAPPING = """
[columns]
participant_id = "participant_id"
sex = "sex"
age = "age"

[biomarker]
column = "ferritin_ugl"
label = "Serum ferritin"
unit = "ug/L"
"""

SEMICOLON_MAPPING = """
[source]
delimiter = ";"
decimal = ","

[columns]
participant_id = "participant_id"
sex = "sex"
age = "age"

[biomarker]
column = "ferritin_ugl"
unit = "ug/L"
"""

SEMICOLON_LINES = ["participant_id;sex;age;ferritin_ugl", "p1;F;40;45,5", "p2;M;41;12,5", "p3;F;52;120",
                   f"p4;M;63;{SENTINEL_NUMBER.replace('.', ',')}"]


# --- identifier columns -------------------------------------------------------------------------------------

def name_column(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", ["participant_id,name,age", f"p1,{SENTINEL},40", "p2,Abernathy,41"])


def mrn_column(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", ["participant_id,MRN,age", f"p1,{SENTINEL},40", "p2,93817001,41"])


def ssn_values(d: Path) -> list[str]:
    # an innocently named column holding social security numbers
    return _csv(d, "cohort.csv", ["participant_id,ref_code,age", "p1,123-45-6789,40", "p2,987-65-4321,41",
                                  "p3,,42"])


def email_values(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", ["participant_id,contact,age", "p1,sentinel_value_93817@example.org,40",
                                  "p2,,41"])


def phone_values(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", ["participant_id,note,age", "p1,(555) 123-4567,40", "p2,none,41"])


def address_column(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", ["participant_id,address,age", f"p1,1 {SENTINEL} Quux Lane,40",
                                  "p2,2 Quux Lane,41"])


def dob_column(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", ["participant_id,dob,age", "p1,1950-03-14,40", "p2,1949-11-02,41"])


def zip_column(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", ["participant_id,zip,age", "p1,93817,40", "p2,93817,41", "p3,938,42"])


# --- structure ----------------------------------------------------------------------------------------------

def unbalanced_quote(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [HEADER, "p1,F,40", f'p2,"{SENTINEL},M,41', "p3,M,42"])


def extra_fields(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [HEADER, "p1,F,40", f"p2,M,41,{SENTINEL}", "p3,M,42"])


def semicolon_default(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", SEMICOLON_LINES)


def empty_file(d: Path) -> list[str]:
    return ["--data", str(_write(d / "cohort.csv", b""))]


def header_only(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [HEADER])


def ten_mb_field(d: Path) -> list[str]:
    big = SENTINEL * (10 * 1024 * 1024 // len(SENTINEL) + 1)
    return _csv(d, "cohort.csv", [HEADER, "p1,F,40", f"p2,{big},41", "p3,M,42"])


def fake_parquet(d: Path) -> list[str]:
    return ["--data", str(_write(d / "cohort.parquet", f"{HEADER}\np1,F,{SENTINEL}\n"))]


# --- values -------------------------------------------------------------------------------------------------

def nan_inf_biomarker(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [f"{HEADER},ferritin_ugl", f"{SENTINEL}_a,F,40,NaN", f"{SENTINEL}_b,M,41,inf",
                                  f"{SENTINEL}_c,M,42,-Infinity", "p4,F,43,55.5"], BIOMARKER_MAPPING)


def negative_ferritin(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [f"{HEADER},ferritin_ugl", f"p1,F,40,-{SENTINEL_NUMBER}", "p2,M,41,55.5"],
                BIOMARKER_MAPPING)


def duplicate_ids(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [HEADER, f"{SENTINEL},F,40", "p2,M,41", f"{SENTINEL},M,42"])


def wrong_type_age(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [HEADER, f"p1,F,{SENTINEL}", "p2,M,41"])


def fractional_age(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [HEADER, "p1,F,40.5", "p2,M,41.0"])


def huge_integer_age(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [HEADER, "p1,F,9876543210987654321", "p2,M,1e300", "p3,F,41"])


def list_typed_parquet_age(d: Path) -> list[str]:
    table = pa.table({"participant_id": ["p1", "p2"], "sex": ["F", "M"], "age": [[987654], [41]]})
    pq.write_table(table, d / "cohort.parquet")
    return ["--data", str(d / "cohort.parquet")]


# --- mapping ------------------------------------------------------------------------------------------------

def mapping_unknown_key(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [HEADER, f"{SENTINEL},F,40"],
                '[columns]\nparticipant_id = "participant_id"\ncolour = "sex"\n')


def mapping_absent_column(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [HEADER, f"{SENTINEL},F,40"],
                '[columns]\nparticipant_id = "participant_id"\nage = "age_at_baseline"\n')


def mapping_header_false(d: Path) -> list[str]:
    return _csv(d, "cohort.csv", [f"{SENTINEL},F,40", "p2,M,41"], "[source]\nheader = false\n")


# --- multi-table extract ------------------------------------------------------------------------------------

def demo_extract(d: Path, participants: int = 150) -> Path:
    """A small seeded demo extract (participants, ferritin_labs, treatments, mapping.toml) in ``d/extract``."""
    from data_schema.demo import synthesize

    out = d / "extract"
    synthesize(participants, 1, out)
    return out


def _replace_first(path: Path, column: str, value) -> None:
    table = pq.read_table(path)
    i = table.schema.get_field_index(column)
    values = table.column(i).to_pylist()
    values[0] = value
    table = table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))
    pq.write_table(table, path)


def dangling_foreign_key(d: Path) -> list[str]:
    out = demo_extract(d)
    _replace_first(out / "ferritin_labs.parquet", "participant_id", SENTINEL)
    return ["--data", str(out)]


# --- the cases ----------------------------------------------------------------------------------------------

REFUSED = "the data are refused"

CASES: tuple[Case, ...] = (
    Case("name_column", name_column, 2,
         (Expect("identifier: personal name", "name", "cohort.csv", fragments=("column 'name'", "personal name")),)),
    Case("mrn_column", mrn_column, 2,
         (Expect("identifier: medical record number", "MRN", "cohort.csv",
                 fragments=("column 'MRN'", "medical record number")),)),
    Case("ssn_values_innocent_column", ssn_values, 2,
         (Expect("identifier: social security number", "ref_code", "cohort.csv", 2,
                 ("column 'ref_code'", "2 value(s)", "social security number")),)),
    Case("email_values", email_values, 2,
         (Expect("identifier: e-mail address", "contact", "cohort.csv", 1, ("column 'contact'", "e-mail address")),)),
    Case("phone_values", phone_values, 2,
         (Expect("identifier: telephone number", "note", "cohort.csv", 1, ("column 'note'", "telephone number")),)),
    Case("address_column", address_column, 2,
         (Expect("identifier: street address", "address", "cohort.csv", fragments=("column 'address'",
                                                                                   "street address")),)),
    Case("dob_column", dob_column, 2,
         (Expect("identifier: date of birth", "dob", "cohort.csv", fragments=("column 'dob'", "date of birth")),)),
    Case("zip_column", zip_column, 2,
         (Expect("identifier: five-digit ZIP code (Safe Harbor allows the first three digits)", "zip", "cohort.csv",
                 2, ("column 'zip'", "five-digit ZIP code")),)),
    Case("unbalanced_quote", unbalanced_quote, 2,
         (Expect("a quoted field is not closed properly (unbalanced quote)", None, "cohort.csv", 1,
                 ("unbalanced quote", "line 3", "check the delimiter and quoting")),)),
    Case("extra_fields", extra_fields, 2,
         (Expect("the line has more fields than the header", None, "cohort.csv", 1,
                 ("more fields than the header", "line 3")),)),
    Case("semicolon_decimal_comma_default", semicolon_default, 2,
         (Expect("delimiter", None, "cohort.csv", fragments=("semicolon-delimited", "delimiter = ';'",
                                                             "decimal = ','")),)),
    Case("empty_file", empty_file, 2,
         (Expect("empty file", None, "cohort.csv", fragments=("the file is empty",)),)),
    Case("header_only", header_only, 2,
         (Expect("no data rows", None, "cohort.csv", fragments=("header but no data rows",)),)),
    Case("ten_mb_field", ten_mb_field, 2,
         (Expect("the line is longer than 1024 KiB", None, "cohort.csv", 1, ("longer than 1024 KiB", "line 3")),)),
    Case("not_really_parquet", fake_parquet, 2,
         (Expect("not parquet", None, "cohort.parquet", fragments=("not a valid Parquet file",)),)),
    Case("nan_inf_biomarker", nan_inf_biomarker, 2,
         (Expect("not a finite number (NaN or infinity)", "ferritin_ugl", "cohort.csv", 3,
                 ("column 'ferritin_ugl'", "3 row(s)", REFUSED)),)),
    Case("negative_ferritin", negative_ferritin, 2,
         (Expect("outside the plausible range 0.001-100000", "ferritin_ugl", "cohort.csv", 1,
                 ("column 'ferritin_ugl'", "outside the plausible range", REFUSED)),)),
    Case("duplicate_ids", duplicate_ids, 2,
         (Expect("duplicate key", "participant_id", "cohort.csv", 2,
                 ("column 'participant_id'", "share a key", "appear once")),)),
    Case("wrong_type_text_in_age", wrong_type_age, 2,
         (Expect("not a number", "age", "cohort.csv", 1, ("column 'age'", "not a number", REFUSED)),)),
    Case("fractional_age", fractional_age, 2,
         (Expect("not a whole number", "age", "cohort.csv", 1, ("column 'age'", "1 row(s)", "not a whole number")),)),
    Case("huge_integer_age", huge_integer_age, 2,
         (Expect("too large for a whole number", "age", "cohort.csv", 2, ("column 'age'", "too large")),),
         ("9876543210987654321", "1e300", "1e+300", "9.87")),
    Case("list_typed_parquet_age", list_typed_parquet_age, 2,
         (Expect("not a number", "age", "cohort.parquet", 2, ("column 'age'", "not a number")),)),
    Case("mapping_unknown_key", mapping_unknown_key, 2,
         (Expect("mapping", None, "mapping", fragments=("cohort_mapping.toml", "'columns.colour'",
                                                        "is not a known key")),)),
    Case("mapping_names_absent_column", mapping_absent_column, 2,
         (Expect("mapped column absent", "age_at_baseline", "cohort.csv",
                 fragments=("column 'age_at_baseline'", "not in the data")),)),
    Case("mapping_header_false", mapping_header_false, 2,
         (Expect("mapping", None, "mapping", fragments=("'source.header'", "must be true")),)),
    Case("dangling_foreign_key", dangling_foreign_key, 2,
         (Expect("unknown participant", "participant_id", "ferritin_labs.parquet", 1,
                 ("column 'participant_id'", "participants.parquet", REFUSED)),)),
)
