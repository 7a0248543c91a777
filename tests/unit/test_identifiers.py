"""The de-identification gate: identifier-looking column names and values (HIPAA Safe Harbor)."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import duckdb
import ibis
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data_schema.identifiers import (IdentifierFinding, name_findings, normalise,  # noqa: E402
                                     numeric_zip_findings, scan, value_findings)

NOT_IDENTIFIERS = ["drug_name", "site_name", "patient_key", "participant_id", "pid", "age", "sex", "site",
                   "baseline_year", "ferritin", "rls_irlssg", "username", "name_of_drug", "filename", "zip", "zip3",
                   "dob_year", "birth_year", "address_verified", "emailed", "phone_count", "first_drug",
                   "mimic_present"]

IDENTIFIERS = {
    "first_name": "personal name",
    "Surname": "personal name",
    "Last Name": "personal name",
    "name": "personal name",
    "PATIENT_NAME": "personal name",
    "MRN": "medical record number",
    "Medical Record Number": "medical record number",
    "nhs_number": "medical record number",
    "SSN": "social security or national id number",
    "social-security-number": "social security or national id number",
    "E-mail": "e-mail address",
    "email_address": "e-mail address",
    "phone_number": "telephone number",
    "Telephone": "telephone number",
    "mobile": "telephone number",
    "address": "street address",
    "Street Address": "street address",
    "address_line_1": "street address",
    "DOB": "date of birth",
    "Date of Birth": "date of birth",
    "birthdate": "date of birth",
}


@pytest.mark.parametrize("column", NOT_IDENTIFIERS)
def test_harmless_names_are_not_flagged(column):
    assert name_findings([column]) == []


@pytest.mark.parametrize("column,rule", IDENTIFIERS.items())
def test_identifier_names_are_flagged(column, rule):
    assert name_findings([column]) == [IdentifierFinding(column, rule)]


def test_normalise():
    assert normalise("  E-mail ") == "e_mail"
    assert normalise("Date of Birth") == "date_of_birth"
    assert normalise("First__Name!") == "first_name"


def test_name_finding_message_names_column_and_rule():
    (finding,) = name_findings(["first_name"])
    assert "column 'first_name'" in finding.message and "personal name" in finding.message


@pytest.fixture
def backend():
    with duckdb.connect(":memory:") as con:
        yield con, ibis.duckdb.from_connection(con)


def test_value_rules_count_matching_values(backend):
    con, be = backend
    con.execute("""CREATE TABLE t AS SELECT * FROM (VALUES
        ('123-45-6789', 'sentinel@example.org', '(555) 123-4567', '1950-03-14', '93817', '938', 'ok', '40'),
        (' 987-65-4321 ', 'no mail', '555-123-4567', '14/03/1950', '93817-1234', '939', 'fine', '41'),
        ('12-345-6789', NULL, '+1 555 123 4567', '2020', '9381', NULL, NULL, '42')
    ) v(ref, contact, note, visit, zip, zip3, comment, age)""")
    found = {(f.column, f.rule): f.matches for f in value_findings(be.table("t"))}
    assert found == {
        ("ref", "social security number"): 2,
        ("contact", "e-mail address"): 1,
        ("note", "telephone number"): 3,
        ("visit", "full calendar date"): 2,
        ("zip", "five-digit ZIP code (Safe Harbor allows the first three digits)"): 2,
    }
    for f in value_findings(be.table("t")):
        assert f"column '{f.column}'" in f.message
        for value in ("123-45-6789", "sentinel", "555", "1950", "93817"):
            assert value not in f.message


def test_date_typed_columns_and_numeric_zip(backend):
    con, be = backend
    con.execute("CREATE TABLE t (visit DATE, seen TIMESTAMP, zip INTEGER, zip_code BIGINT, other INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [
        (datetime.date(2020, 1, 1), None, 93817, 938, 93817),
        (None, None, 938, 99999, 12345),
    ])
    t = be.table("t")
    assert {(f.column, f.rule, f.matches) for f in value_findings(t)} == {("visit", "full calendar date", 1)}
    assert {(f.column, f.matches) for f in numeric_zip_findings(t)} == {("zip", 1), ("zip_code", 1)}


def test_scan_reports_by_name_first_and_skips_those_columns_for_values(backend):
    con, be = backend
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('p1', '123-45-6789', 'a@b.org', '40')) "
                "v(participant_id, ssn, contact, age)")
    found = [(f.column, f.rule, f.matches) for f in scan(be.table("t"))]
    assert found == [("ssn", "social security or national id number", 0), ("contact", "e-mail address", 1)]


def test_scan_of_a_clean_table_is_empty(backend):
    con, be = backend
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('p1', 'F', '40', '2019')) v(participant_id, sex, age, year)")
    assert scan(be.table("t")) == []
