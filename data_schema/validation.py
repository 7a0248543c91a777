"""Column checks: types, codes, ranges, NaN/inf, missing values, duplicate keys, referential integrity.

Every check is an Ibis expression counted in one aggregate scan per table; the report lists rule, column and
count for each finding and never a value (the report itself must not leak data).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import ibis
import ibis.expr.types as ir

AGE_TOP_CODE = 90  # HIPAA Safe Harbor: ages above 89 are aggregated into one category
IMPLAUSIBLE_AGE = 120
INT64_LIMIT = 2.0**63  # whole numbers must fit a 64-bit integer (|x| < 2**63) to be cast without a DuckDB error


@dataclass(frozen=True)
class Finding:
    """One rule broken (or one thing done) in one column of one file, with how many rows it touched."""

    severity: str  # "error" refuses the data; "warning" and "info" do not
    file: str
    rule: str
    message: str
    column: str | None = None
    count: int = 0


@dataclass(frozen=True)
class FileAccount:
    """Rows read from one file = rows loaded + rows rejected (by the reader or by validation)."""

    file: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int


@dataclass(frozen=True)
class RoleBinding:
    """A role the mapping binds: the source columns it reads (and, for outcomes, exclusions and covariates, the
    names the mapping gives them)."""

    role: str
    columns: tuple[str, ...]
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class MissingRole:
    """A role the mapping does not bind: where in the mapping file it would go and what it would enable. Always a
    warning: the data stay usable without it."""

    role: str
    where: str
    enables: str
    severity: str = "warning"

    @property
    def message(self) -> str:
        return f"role '{self.role}' is not mapped ({self.where}); it would enable {self.enables}"


@dataclass(frozen=True)
class RolesSection:
    """Which roles the mapping binds and which it lacks. ``mapping`` names the mapping file (None: no mapping file,
    roles bound to columns of the same name). Names columns and roles only, never a value."""

    mapping: str | None
    bound: tuple[RoleBinding, ...] = ()
    missing: tuple[MissingRole, ...] = ()

    def to_dict(self) -> dict:
        return {"mapping": self.mapping,
                "bound": [{"role": b.role, "columns": list(b.columns), "names": list(b.names)} for b in self.bound],
                "missing": [{**asdict(m), "message": m.message} for m in self.missing]}

    def to_lines(self) -> list[str]:
        source = f"the mapping file {self.mapping}" if self.mapping else "column names (no mapping file)"
        lines = [f"Roles bound by {source}:" if self.bound else f"Roles bound by {source}: none."]
        for b in self.bound:
            lines.append(f"  {b.role}: {_binding_text(b)}")
        if self.missing:
            lines.append("Roles not mapped (warnings; the data stay usable):")
            lines += [f"  [{m.severity}] {m.message}" for m in self.missing]
        if not self.mapping and self.missing:
            lines.append("  To bind them, write a mapping file: python -m data_schema validate --data FILE "
                         "--suggest-mapping > mapping.toml, then check it and pass --mapping mapping.toml.")
        return lines


def _binding_text(binding: RoleBinding) -> str:
    columns = ", ".join(f"'{c}'" for c in binding.columns)
    word = "column" if len(binding.columns) == 1 else "columns"
    if binding.names:
        return f"{', '.join(binding.names)} ({word} {columns})"
    return f"{word} {columns}"


@dataclass(frozen=True)
class ValidationReport:
    """What loading found: every finding and the row accounting of every file; ``roles`` (when the mapping could
    be read) lists the roles the mapping binds and those it lacks."""

    findings: tuple[Finding, ...] = ()
    accounts: tuple[FileAccount, ...] = ()
    top_coded_ages: int = 0
    roles: RolesSection | None = None

    @property
    def usable(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    def to_dict(self) -> dict:
        out = {
            "usable": self.usable,
            "findings": [asdict(f) for f in self.findings],
            "files": [asdict(a) for a in self.accounts],
            "top_coded_ages": self.top_coded_ages,
        }
        if self.roles is not None:
            out["roles"] = self.roles.to_dict()
        return out

    def to_text(self) -> str:
        head = "Data can be used." if self.usable else "Data refused."
        lines = [head]
        for a in self.accounts:
            lines.append(f"  {a.file}: {a.rows_read:,} rows read = {a.rows_loaded:,} loaded + "
                         f"{a.rows_rejected:,} rejected")
        for f in self.findings:
            lines.append(f"  [{f.severity}] {f.file}: {f.message}")
        if self.roles is not None:
            lines += self.roles.to_lines()
        return "\n".join(lines)


@dataclass(frozen=True)
class ColumnCheck:
    """How one source column is typed and checked, and the name it gets in the typed table."""

    source: str
    target: str
    type: str  # string | integer | float | flag
    codes: tuple | None = None
    range: tuple[float, float] | None = None
    nullable: bool = True
    top_code_age: bool = False
    code_hint: str = ""


@dataclass
class CheckedTable:
    """A typed table expression plus what checking it found."""

    table: ir.Table
    findings: list[Finding] = field(default_factory=list)
    rows_in: int = 0
    rows_invalid: int = 0
    top_coded: int = 0


def stripped(text: ir.StringValue) -> ir.StringValue:
    """``text.strip()``, computed only where the value starts or ends with whitespace: DuckDB's trim with a set of
    characters costs about 1 s per 10 million values, the test in front of it a third of that, and almost no value
    needs it."""
    return ibis.ifelse(text.re_search(r"^[\s\x0b]|[\s\x0b]$"), text.strip(), text)  # strip() also trims \v


def _is_text(col: ir.Value, is_text: bool) -> bool:
    return is_text or col.type().is_string()


def _text(col: ir.Value, is_text: bool) -> ir.StringValue:
    kind = col.type()
    if not is_text and (kind.is_numeric() or kind.is_boolean() or kind.is_temporal()):
        return col.cast("string")  # a number's, flag's or date's text has no surrounding whitespace
    return stripped(col if _is_text(col, is_text) else col.cast("string"))  # text, or e.g. Parquet binary


def _missing(col: ir.Value, is_text: bool) -> ir.BooleanValue:
    if is_text or col.type().is_string():
        return col.isnull() | (stripped(col) == "")
    return col.isnull()


def _number(col: ir.Value, is_text: bool, decimal: str) -> ir.FloatingValue:
    if is_text or col.type().is_string():
        text = stripped(col)
        if decimal == ",":
            text = text.replace(",", ".")
        return text.try_cast("float64")
    if col.type().is_numeric() or col.type().is_boolean():
        return col.cast("float64")
    return col.cast("string").try_cast("float64")  # lists, structs, dates: a direct cast raises in DuckDB


def _integral(number: ir.FloatingValue) -> ir.BooleanValue:
    """True on whole numbers, computed in floating point (Ibis's floor() casts to BIGINT, which overflows)."""
    return number % 1 == 0


def _stored_as_number(col: ir.Value, check: ColumnCheck, is_text: bool) -> bool:
    """The source stores this column as numbers its declared type holds exactly (a typed Parquet column): an
    integer for an integer or flag, any integer or float for a float. Such a column cannot break the rules of
    reading a number (not a number, not whole, too large), so they are neither computed nor counted."""
    kind = col.type()
    if is_text or check.type == "string":
        return False
    fits_int64 = kind.is_integer() and (kind.nbytes < 8 or not kind.is_unsigned_integer())
    if check.type == "float":
        return fits_int64 or kind.is_floating()
    return fits_int64


def typed_value(col: ir.Value, check: ColumnCheck, is_text: bool, decimal: str) -> ir.Value:
    """The column cast to its declared type (NULL where the cast fails)."""
    if _stored_as_number(col, check, is_text):
        return col.cast("float64" if check.type == "float" else "int64")
    if check.type == "string":
        text = _text(col, is_text)
        return text.nullif("") if _is_text(col, is_text) else text  # blank text is missing (see _missing)
    number = _number(col, is_text, decimal)
    if check.type == "float":
        return number
    whole = ibis.ifelse(number.isinf() | number.isnan(), ibis.null("float64"), number)
    whole = ibis.ifelse(_integral(whole) & (whole.abs() < INT64_LIMIT), whole, ibis.null("float64"))
    return whole.cast("int64")


def _code_match(value: ir.Value, codes: tuple) -> ir.BooleanValue:
    if value.type().is_numeric():
        numeric = [c for c in codes if isinstance(c, (int, float))]
        return value.isin(numeric) if numeric else ibis.literal(False)
    return value.isin([str(c) for c in codes])


def violations(col: ir.Value, check: ColumnCheck, is_text: bool, decimal: str) -> dict[str, ir.BooleanValue]:
    """Rule name -> boolean expression that is true on rows breaking it."""
    missing = _missing(col, is_text)
    value = typed_value(col, check, is_text, decimal)
    rules: dict[str, ir.BooleanValue] = {}
    if not check.nullable:
        rules["missing value"] = missing
    if _stored_as_number(col, check, is_text):
        if col.type().is_floating():
            rules["not a finite number (NaN or infinity)"] = value.isnan() | value.isinf()
    elif check.type != "string":
        number = _number(col, is_text, decimal)
        rules["not a number"] = ~missing & number.isnull()
        rules["not a finite number (NaN or infinity)"] = number.isnan() | number.isinf()
        if check.type in ("integer", "flag"):
            finite = number.notnull() & ~(number.isnan() | number.isinf())
            rules["not a whole number"] = finite & ~_integral(number)
            rules["too large for a whole number"] = finite & _integral(number) & value.isnull()
    if check.range is not None:
        low, high = check.range
        high = IMPLAUSIBLE_AGE if check.top_code_age else high
        finite = value.notnull() & ~(value.isnan() | value.isinf() if check.type == "float" else ibis.literal(False))
        rules[f"outside the plausible range {low:g}-{high:g}"] = finite & ~value.between(low, high)
    codes = (0, 1) if check.type == "flag" else check.codes
    if codes is not None:
        hint = f" {check.code_hint}" if check.code_hint else ""
        rules[f"not one of the allowed codes{hint}"] = value.notnull() & ~_code_match(value, codes)
    return {rule: expr.fill_null(False) for rule, expr in rules.items()}


@dataclass
class CheckPlan:
    """The typed columns of a table and, per rule, the expression true on the rows breaking it (not yet counted)."""

    typed: dict[str, ir.Value]
    rules: dict[str, tuple[str, str, ir.BooleanValue]]  # key -> (source column, rule, broken)
    absent: list[Finding]
    top_coded: ir.BooleanValue | None = None  # ages that top-coding changes

    @property
    def invalid(self) -> ir.BooleanValue:
        """True on rows breaking any rule."""
        out = ibis.literal(False)
        for _column, _rule, broken in self.rules.values():
            out = out | broken
        return out

    def counters(self, drop_invalid: bool) -> dict[str, ir.Scalar]:
        """The aggregates one scan needs to count every rule (``rows``, each rule's key, ``invalid``,
        ``top_coded``)."""
        out: dict[str, ir.Scalar] = {key: broken.sum() for key, (_c, _r, broken) in self.rules.items()}
        out["invalid"] = self.invalid.sum() if self.rules else ibis.literal(0)
        if self.top_coded is not None:  # count only rows that are kept (dropped rows were not loaded)
            out["top_coded"] = (self.top_coded & ~self.invalid if drop_invalid else self.top_coded).sum()
        return out

    def findings(self, counts: dict, file: str, drop_invalid: bool) -> list[Finding]:
        """The absent columns and every rule broken, from the counts of :meth:`counters`."""
        return self.absent + [_violation(file, column, rule, int(counts[key]), drop_invalid)
                              for key, (column, rule, _b) in self.rules.items() if counts[key]]


def plan_checks(table: ir.Table, checks: list[ColumnCheck], file: str, is_text: bool,
                decimal: str = ".") -> CheckPlan:
    """Type ``table`` by ``checks`` and state every rule as an expression (see :func:`check_table`)."""
    present = set(table.columns)
    plan = CheckPlan({}, {}, [])
    for i, check in enumerate(checks):
        if check.source not in present:
            plan.absent.append(_absent(check, file))
            plan.typed[check.target] = ibis.null(_ibis_type(check.type))
            continue
        col = table[check.source]
        value = typed_value(col, check, is_text, decimal)
        if check.top_code_age:
            plan.top_coded = value.between(AGE_TOP_CODE + 1, IMPLAUSIBLE_AGE).fill_null(False)  # values that change
            value = ibis.ifelse(value.between(AGE_TOP_CODE, IMPLAUSIBLE_AGE), AGE_TOP_CODE, value)
        plan.typed[check.target] = value
        for j, (rule, broken) in enumerate(violations(col, check, is_text, decimal).items()):
            plan.rules[f"v{i}_{j}"] = (check.source, rule, broken)
    return plan


def check_table(table: ir.Table, checks: list[ColumnCheck], file: str, is_text: bool, decimal: str = ".",
                drop_invalid: bool = False, extra: dict[str, ir.Value] | None = None) -> CheckedTable:
    """Type and check ``table``; with ``drop_invalid`` rows breaking any rule are left out (and counted).

    ``extra`` adds further column expressions over ``table`` to the typed result.
    """
    plan = plan_checks(table, checks, file, is_text, decimal)
    counts = table.aggregate(rows=table.count(), **plan.counters(drop_invalid)).to_pyarrow().to_pylist()[0]
    out = table.select(**plan.typed, **(extra or {}), __invalid=plan.invalid)
    out = (out.filter(~out.__invalid) if drop_invalid else out).drop("__invalid")
    result = CheckedTable(out, plan.findings(counts, file, drop_invalid), int(counts["rows"]),
                          int(counts["invalid"] or 0))
    result.top_coded = int(counts.get("top_coded") or 0)
    return result


def _ibis_type(kind: str) -> str:
    return {"string": "string", "integer": "int64", "flag": "int64", "float": "float64"}[kind]


def _absent(check: ColumnCheck, file: str) -> Finding:
    if check.nullable:
        return Finding("warning", file, "column absent", f"column '{check.source}' is not in the file; "
                       "it is treated as empty.", check.source)
    return Finding("error", file, "required column absent", f"required column '{check.source}' is not in the "
                   "file.", check.source)


def _violation(file: str, column: str, rule: str, count: int, dropped: bool) -> Finding:
    action = "those rows were left out" if dropped else (
        "the data are refused; fix the source, or set [validation] invalid_rows = \"drop\" in the mapping to "
        "load only the valid rows")
    return Finding("warning" if dropped else "error", file, rule,
                   f"column '{column}': {count:,} row(s) — {rule}; {action}.", column, count)


def top_coding_finding(file: str, column: str | None, count: int) -> Finding:
    """The info line for ages recoded to the top category."""
    return Finding("info", file, "age top-coded", f"column '{column}': {count:,} age(s) above {AGE_TOP_CODE} were "
                   f"recoded to {AGE_TOP_CODE} (the {AGE_TOP_CODE}+ category, HIPAA Safe Harbor).", column, count)


def duplicate_keys(table: ir.Table, key: str, file: str) -> Finding | None:
    """Rows whose key appears more than once (always an error: counts would be ambiguous)."""
    dup = table.group_by(key).aggregate(n=table.count()).filter(lambda t: t.n > 1)
    total = dup.aggregate(rows=dup.n.sum()).to_pyarrow().column(0)[0].as_py() or 0
    if not total:
        return None
    return Finding("error", file, "duplicate key", f"column '{key}': {total:,} rows share a key with another row; "
                   "each participant must appear once.", key, int(total))


def dangling_keys(child: ir.Table, key: str, parent: ir.Table, parent_key: str) -> ir.BooleanValue:
    """True on child rows whose key has no parent row."""
    return ~child[key].isin(parent[parent_key]) & child[key].notnull()
