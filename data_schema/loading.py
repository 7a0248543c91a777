"""Load a cohort: source files → checked, typed tables → one canonical table of roles (``cohort``).

The canonical table has one row per participant and columns named by role, so every query downstream chooses
columns from this fixed whitelist, never from user text:

``pid, site, sex ('female'/'male'), age, baseline_year, outcome_<name>, biomarker, treatment, event,
time_years, exclude_<name>, cov_<name>``, and per declared measure (``[measures.NAME]``):

- ``measure_<name>_in`` (boolean, never null): in the measure's denominator — in its population, with a known
  period (and month, where one is declared), a known outcome and, for a rate, a known person-time;
- ``measure_<name>_num`` (boolean, never null): in the denominator and meeting the measure (an event, for a rate);
- ``measure_<name>_period`` (integer): the calendar year the participant counts in;
- ``measure_<name>_month`` (integer 1-12): only where the mapping declares a month (a limited data set);
- ``measure_<name>_pt`` (float, person-years): only for a rate (``person_time``); NULL outside the denominator.
"""

from __future__ import annotations

from contextlib import nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir

from data_schema import derivation, identifiers
from data_schema.mapping import TIME_UNITS, BinaryColumn, Mapping
from data_schema.reading import DataError, RawTable, load_file, reading, run
from data_schema.schema import extract_schemas, roles
from data_schema.validation import (
    CheckedTable,
    ColumnCheck,
    FileAccount,
    Finding,
    ValidationReport,
    check_table,
    plan_checks,
    stripped,
    dangling_keys,
    duplicate_keys,
    top_coding_finding,
)
from disclosure.record_keys import RECORD_KEY, record_key_sql

COHORT_TABLE = "cohort"


class LoadRefused(Exception):
    """The data cannot be used; ``report`` says why (rule, column, counts — no values)."""

    def __init__(self, report: ValidationReport):
        super().__init__(report.to_text())
        self.report = report


@dataclass(frozen=True)
class LoadResult:
    report: ValidationReport
    n_participants: int


MONTH_RANGE = (1, 12)


def _role_check(role: str, column: str, kind: str, range_override=None, **extra) -> ColumnCheck:
    """The check of a role's column: the role's built-in plausible range unless the mapping declares its own."""
    spec = roles()[role]
    return ColumnCheck(column, role, kind, range=range_override or spec.range, **extra)


def canonical_checks(mapping: Mapping) -> list[ColumnCheck]:
    """The typed columns of the canonical table (binary roles are handled by :func:`_binary`)."""
    cols = mapping.columns
    checks = []
    if "participant_id" in cols:
        checks.append(ColumnCheck(cols["participant_id"], "pid", "string", nullable=False))
    if "site" in cols:
        checks.append(ColumnCheck(cols["site"], "site", "string"))
    if "sex" in cols:
        codes = tuple(str(c) for group in mapping.sex_codes.values() for c in group)
        checks.append(ColumnCheck(cols["sex"], "sex_raw", "string", codes=codes, code_hint="in [codes.sex]"))
    if "age" in cols:
        checks.append(_role_check("age", cols["age"], "integer", top_code_age=True))
    if "baseline_year" in cols:
        checks.append(_role_check("baseline_year", cols["baseline_year"], "integer"))
    if mapping.biomarker:
        checks.append(_role_check("biomarker", mapping.biomarker.column, "float", mapping.biomarker.range))
    if mapping.treatment:
        checks.append(ColumnCheck(mapping.treatment.column, "treatment_raw", "string"))
    if mapping.time_to_event:
        checks.append(_role_check("time", mapping.time_to_event.time, "float"))
    for cov in mapping.covariates.values():
        checks.append(ColumnCheck(cov.column, f"cov_{cov.name}", "float" if cov.type == "numeric" else "string"))
    return checks + _measure_checks(mapping, checks)


def _measure_checks(mapping: Mapping, checks: list[ColumnCheck]) -> list[ColumnCheck]:
    """The typed period, month and person-time columns of the measures (``__m_<name>_…``); a column already
    checked the same way (by a role or another measure) is not checked twice (see :func:`_measure_sources`)."""
    out: list[ColumnCheck] = []
    for _name, _source, check in _measure_typed(mapping):
        if _same_check(check, checks + out) is None:
            out.append(check)
    return out


def _measure_typed(mapping: Mapping) -> list[tuple[str, str, ColumnCheck]]:
    """(measure, source column, check) of every typed column the measures read."""
    year_range, time_range = roles()["baseline_year"].range, roles()["time"].range
    out = []
    for name, m in mapping.measures.items():
        out.append((name, m.time, ColumnCheck(m.time, f"__m_{name}_period", "integer", range=year_range)))
        if m.month:
            out.append((name, m.month, ColumnCheck(m.month, f"__m_{name}_month", "integer", range=MONTH_RANGE)))
        if m.person_time:
            out.append((name, m.person_time, ColumnCheck(m.person_time, f"__m_{name}_pt", "float", range=time_range)))
    return out


def _same_check(check: ColumnCheck, checks: list[ColumnCheck]) -> ColumnCheck | None:
    return next((c for c in checks if (c.source, c.type, c.range) == (check.source, check.type, check.range)), None)


def _measure_sources(mapping: Mapping) -> dict[str, str]:
    """Target of each measure's typed column -> the typed column holding it (its own, or an earlier same check)."""
    checks = canonical_checks(mapping)
    aliases = {}
    for _name, _source, check in _measure_typed(mapping):
        aliases[check.target] = _same_check(check, checks).target
    return aliases


def _binary(table: ir.Table, column: str, positive: tuple) -> ir.BooleanValue:
    col = table[column]
    if col.type().is_numeric():
        numbers = [c for c in positive if isinstance(c, int)]
        return ibis.ifelse(col.isnull(), ibis.null("boolean"), col.isin(numbers) if numbers else False)
    text = stripped(col)
    return ibis.ifelse(col.isnull() | (text == ""), ibis.null("boolean"), text.isin([str(c) for c in positive]))


def _binaries(mapping: Mapping) -> dict[str, BinaryColumn]:
    out = {f"outcome_{k}": v for k, v in mapping.outcomes.items()}
    out |= {f"exclude_{k}": v for k, v in mapping.exclusions.items()}
    if mapping.time_to_event:
        tte = mapping.time_to_event
        out["event"] = BinaryColumn("event", tte.event, tte.event_positive, tte.label)
    for name, m in mapping.measures.items():
        out[f"__m_{name}_outcome"] = m.outcome
        if m.denominator is not None:
            out[f"__m_{name}_population"] = m.denominator
    return out


def _unmapped(table: ir.Table, mapping: Mapping, file: str) -> list[Finding]:
    """Mapped columns the data lack (errors), or no role bound at all (a warning)."""
    missing = sorted(c for c in mapping.source_columns() if c not in table.columns)
    findings = [Finding("error", file, "mapped column absent", f"the mapping names column '{c}', which is not in "
                        "the data.", c) for c in missing]
    if not findings and not mapping.source_columns():
        findings.append(Finding("warning", file, "no roles", "no column was bound to a role; write a mapping file "
                                "(see the README) to name the sex, age and outcome columns."))
    return findings


def _extras(table: ir.Table, mapping: Mapping) -> dict[str, ir.Value]:
    return {name: _binary(table, b.column, b.positive) for name, b in _binaries(mapping).items()}


def _duplicate_ids(table: ir.Table, mapping: Mapping, file: str) -> list[Finding]:
    """A wide cohort's repeated participant ids (an extract checks its participants file instead)."""
    if mapping.shape != "wide" or "participant_id" not in mapping.columns:
        return []
    id_column = mapping.columns["participant_id"]
    ids = table.select(**{id_column: table.pid}).filter(lambda t: t[id_column].notnull())
    dup = duplicate_keys(ids, id_column, file)
    return [dup] if dup else []


def canonical(table: ir.Table, mapping: Mapping, file: str, is_text: bool,
              decimal: str) -> tuple[ir.Table, list[Finding], CheckedTable | None]:
    """Map a one-row-per-participant table to the canonical roles: the expression, findings and check counts.

    The checks are counted in a scan of their own before the expression is written; :func:`_checked_write` counts
    them in the write itself (used unless invalid rows are to be dropped)."""
    findings = _unmapped(table, mapping, file)
    if any(f.severity == "error" for f in findings):
        return table, findings, None
    checked = check_table(table, canonical_checks(mapping), file, is_text, decimal,
                          drop_invalid=mapping.invalid_rows == "drop", extra=_extras(table, mapping))
    findings += checked.findings + _duplicate_ids(checked.table, mapping, file)
    if checked.top_coded:
        findings.append(top_coding_finding(file, mapping.columns.get("age"), checked.top_coded))
    return _finish(checked.table, mapping), findings, checked


FLAG = "__broken_"  # a rule's flag column in the table being written, dropped once counted


def _checked_write(con, backend, table: ir.Table, mapping: Mapping, file: str, is_text: bool,
                   secret: str | None) -> list[Finding]:
    """Write the canonical cohort and count its checks in the same scan: one derivation, one read of the source.

    Each rule's flag is a column of the written table (constant false columns compress to nothing), counted from
    it and then dropped. For data that will be refused anyway the table is written first: the caller drops it."""
    findings = _unmapped(table, mapping, file)
    if any(f.severity == "error" for f in findings):
        return findings
    plan = plan_checks(table, canonical_checks(mapping), file, is_text, mapping.read_options.decimal)
    flags = {f"{FLAG}{key}": broken for key, (_c, _r, broken) in plan.rules.items()}
    if plan.top_coded is not None:
        flags[f"{FLAG}top_coded"] = plan.top_coded
    typed = table.select(**plan.typed, **_extras(table, mapping), **flags)
    _create_cohort(con, _finish(typed, mapping), secret)
    cohort = backend.table(COHORT_TABLE)
    counts = {}
    if flags:
        sums = {name.removeprefix(FLAG): cohort[name].sum() for name in flags}
        counts = {k: int(v or 0) for k, v in cohort.aggregate(**sums).to_pyarrow().to_pylist()[0].items()}
    for name in flags:
        run(con, f'ALTER TABLE {COHORT_TABLE} DROP COLUMN "{name}"')
    findings += plan.findings(counts, file, False) + _duplicate_ids(backend.table(COHORT_TABLE), mapping, file)
    if counts.get("top_coded"):
        findings.append(top_coding_finding(file, mapping.columns.get("age"), counts["top_coded"]))
    return findings


def _finish(table: ir.Table, mapping: Mapping) -> ir.Table:
    """Add the measures' columns; recode sex, treatment and time; add row numbers as ids when no id is mapped."""
    out = _measures(table, mapping)
    if "sex_raw" in out.columns:
        female = [str(c) for c in mapping.sex_codes["female"]]
        male = [str(c) for c in mapping.sex_codes["male"]]
        out = out.mutate(sex=ibis.cases((out.sex_raw.isin(female), "female"), (out.sex_raw.isin(male), "male"),
                                        else_=ibis.null("string"))).drop("sex_raw")
    if "treatment_raw" in out.columns:
        untreated = [str(c) for c in mapping.treatment.untreated]
        out = out.mutate(treatment=ibis.ifelse(out.treatment_raw.isin(untreated), ibis.null("string"),
                                               out.treatment_raw)).drop("treatment_raw")
    if "time" in out.columns:
        out = out.mutate(time_years=out.time / TIME_UNITS[mapping.time_to_event.time_unit]).drop("time")
    if "pid" not in out.columns:
        out = out.mutate(pid=(ibis.row_number() + 1).cast("string"))
    return out


def _measures(table: ir.Table, mapping: Mapping) -> ir.Table:
    """The canonical columns of each measure (see the module docstring); the working columns are dropped."""
    if not mapping.measures:
        return table
    source = _measure_sources(mapping)
    new = {}
    for name, m in mapping.measures.items():
        period = table[source[f"__m_{name}_period"]]
        outcome = table[f"__m_{name}_outcome"]
        known = period.notnull() & outcome.notnull()
        if m.denominator is not None:
            known = known & table[f"__m_{name}_population"].fill_null(False)
        cols = {"period": period}
        if m.month:
            cols["month"] = table[source[f"__m_{name}_month"]]
            known = known & cols["month"].notnull()
        if m.person_time:
            raw = table[source[f"__m_{name}_pt"]]
            known = known & raw.notnull()
            cols["pt"] = ibis.ifelse(known, raw / TIME_UNITS[m.person_time_unit], ibis.null("float64"))
        new[f"measure_{name}_in"] = known
        new[f"measure_{name}_num"] = known & outcome.fill_null(False)
        new |= {f"measure_{name}_{k}": v for k, v in cols.items()}
    working = [c for c in table.columns if c.startswith("__m_")]
    return table.mutate(**new).drop(*working)


def _identifier_findings(raw: RawTable, backend) -> list[Finding]:
    with reading(raw.file):
        found = identifiers.scan(backend.table(raw.table))
    return [Finding("error", raw.file, f"identifier: {f.rule}", f.message, f.column, f.matches) for f in found]


def _materialize(con, backend, table: ir.Table, name: str) -> ir.Table:
    """Write an expression's rows once, so the scans after it read typed columns instead of recomputing casts,
    checks and joins from the source each time. Preparation drops these working tables."""
    run(con, f"CREATE OR REPLACE TEMP TABLE {name} AS {ibis.to_sql(table, dialect='duckdb')}")
    return backend.table(name)


def _structural_findings(raw: RawTable) -> list[Finding]:
    by_rule: dict[str, list[int]] = {}
    for reject in raw.rejects:
        by_rule.setdefault(reject.rule, []).append(reject.line)
    return [Finding("error", raw.file, rule, f"{len(lines):,} line(s) could not be parsed: {rule} (first at line "
                    f"{lines[0]:,}); check the delimiter and quoting, or re-export the file.", None, len(lines))
            for rule, lines in by_rule.items()]


def _load_raw(con, backend, path: Path, name: str, mapping: Mapping) -> tuple[RawTable, list[Finding]]:
    raw = load_file(con, path, name, mapping.read_options)
    findings = _structural_findings(raw) + _identifier_findings(raw, backend)
    if raw.rows_loaded == 0 and not raw.rejects:
        findings.append(Finding("error", raw.file, "no data rows", "the file has a header but no data rows."))
    return raw, findings


def _load_wide(con, backend, mapping: Mapping):
    if not mapping.files:
        raise LoadRefused(ValidationReport((Finding("error", "mapping", "no source files",
                                                    "no data files were given ([source] files or --data)."),)))
    raws, findings = [], []
    for i, path in enumerate(mapping.files):
        raw, found = _load_raw(con, backend, path, f"raw_{i}", mapping)
        raws.append(raw)
        findings += found
    if len({r.columns for r in raws}) > 1:
        findings.append(Finding("error", raws[0].file, "different headers", "the source files do not all have the "
                                "same columns; combine files with identical headers only."))
        return None, raws, findings, {}
    table = backend.table(raws[0].table)
    for raw in raws[1:]:
        table = table.union(backend.table(raw.table))
    return table, raws, findings, {}


def _extract_checks(schema) -> list[ColumnCheck]:
    return [ColumnCheck(c.name, c.name, c.type, codes=c.codes, range=c.range, nullable=c.nullable,
                        top_code_age=(schema.name == "participants" and c.name == "age")) for c in schema.columns]


def _load_extract(con, backend, mapping: Mapping):
    raws, findings, typed = [], [], {}
    drop = mapping.invalid_rows == "drop"
    for schema in extract_schemas():
        path = mapping.tables.get(schema.name)
        if path is None:
            raise LoadRefused(ValidationReport((Finding("error", "mapping", "missing table",
                                                        f"[source.tables] has no '{schema.name}' file."),)))
        raw, found = _load_raw(con, backend, path, f"raw_{schema.name}", mapping)
        raws.append(raw)
        findings += found
        if found:
            continue
        with reading(raw.file):
            checked = check_table(backend.table(raw.table), _extract_checks(schema), raw.file, raw.is_text,
                                  mapping.read_options.decimal, drop_invalid=drop)
            findings += checked.findings
            if checked.top_coded:
                findings.append(top_coding_finding(raw.file, "age", checked.top_coded))
            typed[schema.name] = checked.table
    if len(typed) < 3:
        return None, raws, findings, {}
    dup = duplicate_keys(typed["participants"], "participant_id", raws[0].file)
    findings += [dup] if dup else []
    for raw, name in zip(raws[1:], ("ferritin_labs", "treatments")):
        dangling = dangling_keys(typed[name], "participant_id", typed["participants"], "participant_id")
        count = typed[name].aggregate(n=dangling.sum()).to_pyarrow().column(0)[0].as_py() or 0
        if count:
            findings.append(Finding("warning" if drop else "error", raw.file, "unknown participant",
                                    f"column 'participant_id': {count:,} row(s) refer to a participant not in "
                                    f"{raws[0].file}" + ("; those rows were left out." if drop else
                                                         "; the data are refused."), "participant_id", int(count)))
            typed[name] = typed[name].filter(~dangling)
    wide = derivation.derive_wide(typed["participants"], typed["ferritin_labs"], typed["treatments"],
                                  mapping.baseline_window_days)
    children = {raw.file: typed[name] for raw, name in zip(raws[1:], ("ferritin_labs", "treatments"))}
    return wide, raws, findings, children


def _accounts(raws: list[RawTable], loaded: dict[str, int]) -> tuple[FileAccount, ...]:
    out = []
    for raw in raws:
        read = raw.rows_loaded + len(raw.rejects)
        kept = loaded.get(raw.file, 0)
        out.append(FileAccount(raw.file, read, kept, read - kept))
    return tuple(out)


def load_cohort(con: duckdb.DuckDBPyConnection, mapping: Mapping, secret: str | None = None) -> LoadResult:
    """Load, check and map the source into the ``cohort`` table of ``con``; raise :class:`LoadRefused` if unusable.

    With the deployment's cell-key ``secret`` each participant gets a record key (``disclosure.record_keys``)."""
    backend = ibis.duckdb.from_connection(con)
    loader = _load_extract if mapping.shape == "rls_extract" else _load_wide
    stamps = _stamps(mapping)
    wide, raws, findings, children = loader(con, backend, mapping)
    is_text = mapping.shape == "wide" and raws[0].is_text
    # a wide Parquet cohort's checks and cohort table scan its (possibly damaged) files; a CSV was read whole into a
    # table already, and an extract's files were read whole by their own checks, so their errors are not the file's
    files = ", ".join(r.file for r in raws)  # which of several files failed a scan is not known
    scans = reading(files) if mapping.shape == "wide" and not is_text else nullcontext()
    try:
        with scans:
            _check_and_write(con, backend, mapping, wide, raws, findings, is_text, secret)
        if _stamps(mapping) != stamps:
            raise DataError(files, "changed while it was being read; prepare it again once the export has "
                            "finished.", "changed while loading")
    except BaseException:
        with suppress(duckdb.Error):  # the first error is the one to report
            run(con, f"DROP TABLE IF EXISTS {COHORT_TABLE}")  # written before its checks were counted
        raise
    n = run(con, f"SELECT count(*) FROM {COHORT_TABLE}")[0][0]
    loaded = _loaded_counts(backend, raws, children, n)
    top_coded = sum(f.count for f in findings if f.rule == "age top-coded")
    report = ValidationReport(tuple(findings), _accounts(raws, loaded), top_coded)
    return LoadResult(report, n)


def _check_and_write(con, backend, mapping: Mapping, wide, raws: list[RawTable], findings: list[Finding],
                     is_text: bool, secret: str | None) -> None:
    """Check the one-row-per-participant table and write it as the cohort; raise LoadRefused (appending to
    ``findings``) if any error was found."""
    if wide is not None and not _refused(findings):
        label = raws[0].file if mapping.shape == "wide" else f"{raws[0].file} (derived)"
        if mapping.invalid_rows == "drop":  # counted first, so the write can leave the invalid rows out
            if mapping.shape == "rls_extract":  # derived once, then counted and written from the table
                wide = _materialize(con, backend, wide, "derived")
            table, more, _ = canonical(wide, mapping, label, is_text, mapping.read_options.decimal)
            findings += more
            if not _refused(findings):
                _create_cohort(con, table, secret)
        else:
            findings += _checked_write(con, backend, wide, mapping, label, is_text, secret)
    if _refused(findings):
        raise LoadRefused(ValidationReport(tuple(findings), _accounts(raws, {})))


def _stamps(mapping: Mapping) -> list[tuple[int, int] | None]:
    """Size and modification time of every source file: the checks and the write read a Parquet file more than
    once, so a file replaced in between must not pass."""
    paths = list(mapping.files) if mapping.shape == "wide" else list(mapping.tables.values())
    out = []
    for path in paths:
        try:
            stat = Path(path).stat()
            out.append((stat.st_size, stat.st_mtime_ns))
        except OSError:
            out.append(None)
    return out


def _refused(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def _create_cohort(con, table: ir.Table, secret: str | None) -> None:
    select = ibis.to_sql(table, dialect="duckdb")
    if secret is None:
        run(con, f"CREATE OR REPLACE TABLE {COHORT_TABLE} AS {select}")
    else:
        run(con, f"CREATE OR REPLACE TABLE {COHORT_TABLE} AS SELECT *, {record_key_sql('pid')} AS {RECORD_KEY} "
            f"FROM ({select})", {"secret": secret})


def _loaded_counts(backend, raws: list[RawTable], children: dict[str, ir.Table], n: int) -> dict[str, int]:
    """Rows of each file that reached the cohort (for extract tables: checked rows of loaded participants)."""
    if not children:
        return {raws[0].file: n} if len(raws) == 1 else _split_wide(raws, n)
    loaded = {raws[0].file: n}
    cohort = backend.table(COHORT_TABLE)
    for file, child in children.items():
        kept = child.filter(child.participant_id.isin(cohort.pid))
        loaded[file] = int(kept.count().to_pyarrow().as_py())
    return loaded


def _split_wide(raws: list[RawTable], n: int) -> dict[str, int]:
    total = sum(r.rows_loaded for r in raws)
    return {r.file: r.rows_loaded for r in raws} if n == total else {"(all files)": n}
