"""De-identification gate: columns that look like direct identifiers are refused.

Rules follow the HIPAA Safe Harbor list (names, record numbers, SSNs, contact details, street addresses, full
dates, ZIP codes with more than three digits). A column is refused by its name or by its values; the finding
names the column and the rule and counts matching values, but never shows one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ibis.expr.types as ir

_NAME_RULES: tuple[tuple[str, re.Pattern], ...] = (
    ("personal name", re.compile(r"^((first|last|given|family|full|patient|maiden|middle|sur|fore)_?)?name$")),
    ("medical record number", re.compile(r"^(mrn|medical_?record(_?(number|no|num))?|hospital_?(number|no)|"
                                         r"nhs_?(number|no)|chart_?(number|no)|record_?number)$")),
    ("social security or national id number", re.compile(r"^(ssn|social_?security(_?(number|no))?|"
                                                         r"national_?id(_?number)?|nin|sin|bsn)$")),
    ("e-mail address", re.compile(r"^(e_?mail(_?address)?|mail_?address)$")),
    ("telephone number", re.compile(r"^((tele)?phone(_?(number|no))?|mobile(_?(phone|number))?|cell_?phone|fax)$")),
    ("street address", re.compile(r"^((home|street|postal|mailing)_?)?address(_?line_?\d)?$|^street$|^addr$")),
    ("date of birth", re.compile(r"^(dob|date_?of_?birth|birth_?date|birthday)$")),
)
_ZIP_NAME = re.compile(r"^(zip|zip_?code|postcode|postal_?code)$")

# Value rules: DuckDB regular expressions matched against text columns.
_VALUE_RULES: tuple[tuple[str, str], ...] = (
    ("e-mail address", r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"),
    ("social security number", r"^\s*\d{3}-\d{2}-\d{4}\s*$"),
    ("telephone number", r"^\s*(\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\s*$"),
    ("full calendar date", r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4}|\d{1,2}\.\d{1,2}\.\d{4})([ T].*)?$"),
)
_FIVE_DIGIT_ZIP = r"^\s*\d{5}(-\d{4})?\s*$"


@dataclass(frozen=True)
class IdentifierFinding:
    """One identifier-looking column: which rule, and how many values matched (0 for a name rule)."""

    column: str
    rule: str
    matches: int = 0

    @property
    def _article(self) -> str:
        return "an" if self.rule[0] in "aeiou" else "a"

    @property
    def message(self) -> str:
        if self.matches:
            return (f"column '{self.column}' holds {self.matches:,} value(s) that look like {self._article} "
                    f"{self.rule}; "
                    "remove the column or replace it with a pseudonymous or coarsened value.")
        return (f"column '{self.column}' is named like {self._article} {self.rule} (a direct identifier); "
                "remove it from the extract before loading.")


def normalise(name: str) -> str:
    """Lower-case, non-alphanumerics folded to single underscores."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def name_findings(columns: list[str]) -> list[IdentifierFinding]:
    """Columns refused by name alone."""
    found = []
    for column in columns:
        key = normalise(column)
        rule = next((label for label, pattern in _NAME_RULES if pattern.match(key)), None)
        if rule:
            found.append(IdentifierFinding(column, rule))
    return found


def _value_rules(column: str) -> list[tuple[str, str]]:
    rules = list(_VALUE_RULES)
    if _ZIP_NAME.match(normalise(column)):
        rules.append(("five-digit ZIP code (Safe Harbor allows the first three digits)", _FIVE_DIGIT_ZIP))
    return rules


def _any_rule(rules: list[tuple[str, str]]) -> str:
    """One pattern matching where any of the rules' patterns matches (RE2 runs the alternation in one pass)."""
    return "|".join(f"(?:{pattern})" for _, pattern in rules)


def _count(table: ir.Table, checks: dict[str, ir.Scalar]) -> dict[str, int]:
    return {k: int(v or 0) for k, v in table.aggregate(**checks).to_pyarrow().to_pylist()[0].items()}


def value_findings(table: ir.Table) -> list[IdentifierFinding]:
    """Text and date columns whose values look like identifiers, counted over every row.

    One scan tests each text value against all the rules at once; only when a column has matches does a second
    scan count them rule by rule (a cohort that passes, the usual case, is read once)."""
    checks: dict[str, ir.Scalar] = {}
    text_columns: dict[str, str] = {}
    for i, (column, dtype) in enumerate(table.schema().items()):
        if dtype.is_date() or dtype.is_timestamp():
            checks[f"c{i}_date"] = table[column].notnull().sum()
        elif dtype.is_string():
            checks[f"c{i}_any"] = table[column].re_search(_any_rule(_value_rules(column))).fill_null(False).sum()
            text_columns[f"c{i}_any"] = column
    if not checks:
        return []
    counts = _count(table, checks)
    found = [IdentifierFinding(column, "full calendar date", counts[f"c{i}_date"])
             for i, column in enumerate(table.columns) if counts.get(f"c{i}_date")]
    flagged = [column for key, column in text_columns.items() if counts[key]]
    return found + _by_rule(table, flagged)


def _by_rule(table: ir.Table, columns: list[str]) -> list[IdentifierFinding]:
    """The matches of each rule in columns known to have some."""
    checks, labels = {}, {}
    for i, column in enumerate(columns):
        for j, (label, pattern) in enumerate(_value_rules(column)):
            checks[f"c{i}_{j}"] = table[column].re_search(pattern).fill_null(False).sum()
            labels[f"c{i}_{j}"] = (column, label)
    if not checks:
        return []
    return [IdentifierFinding(*labels[k], v) for k, v in _count(table, checks).items() if v]


def numeric_zip_findings(table: ir.Table) -> list[IdentifierFinding]:
    """ZIP-named numeric columns holding five-digit values."""
    found = []
    for column, dtype in table.schema().items():
        if dtype.is_integer() and _ZIP_NAME.match(normalise(column)):
            n = table.aggregate(n=table[column].between(10000, 99999).fill_null(False).sum()).to_pyarrow()
            count = int(n.column(0)[0].as_py() or 0)
            if count:
                found.append(IdentifierFinding(column, "five-digit ZIP code (Safe Harbor allows three digits)", count))
    return found


def scan(table: ir.Table) -> list[IdentifierFinding]:
    """Every identifier finding for one loaded table: by name first, then by value."""
    by_name = name_findings(list(table.columns))
    named = {f.column for f in by_name}
    rest = table.select([c for c in table.columns if c not in named]) if len(named) < len(table.columns) else None
    by_value = value_findings(rest) + numeric_zip_findings(rest) if rest is not None else []
    return by_name + by_value


