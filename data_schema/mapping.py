"""The mapping file (TOML): binds a user's columns and codes to the roles the dashboard knows.

This is a public contract, documented in the README. Parsing is strict: an unknown key, a wrong type or an
unsafe name is a :class:`MappingError` naming the file, the key and the rule — never a traceback.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAME_RULE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_COLUMN_NAME = 128
TIME_UNITS = {"days": 365.25, "months": 12.0, "years": 1.0}  # units per year
SHAPES = ("wide", "rls_extract")
BASIC_ROLES = ("participant_id", "sex", "age", "site", "baseline_year")
DEFAULT_SEX_CODES = {"female": ("F", "f", "female", "Female"), "male": ("M", "m", "male", "Male")}
DIRECTIONS = ("up", "down")  # the improvement direction of a measure
PERIODS = ("year", "quarter", "month")  # the calendar periods a measure may be shown by


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file, the key and the rule."""


@dataclass(frozen=True)
class ReadOptions:
    """Explicit options for reading delimited text; nothing is auto-detected."""

    delimiter: str = ","
    decimal: str = "."
    quote: str = '"'
    header: bool = True
    encoding: str = "utf-8"


@dataclass(frozen=True)
class BinaryColumn:
    """A column read as yes/no: a value in ``positive`` is yes, other values no, empty cells unknown."""

    name: str
    column: str
    positive: tuple
    label: str


@dataclass(frozen=True)
class Covariate:
    name: str
    column: str
    label: str
    type: str  # "categorical" | "numeric"
    unit: str | None = None
    threshold: float | None = None  # numeric only: a clinical cut-off (positive at or above it), e.g. PLMS index 15


@dataclass(frozen=True)
class Biomarker:
    column: str
    label: str
    unit: str
    cut_points: tuple[float, ...]
    range: tuple[float, float] | None = None  # None: the built-in plausible range of roles.toml

    @property
    def positive(self) -> bool:
        """True when every plausible value is above zero (a log scale applies)."""
        return self.range is None or self.range[0] > 0


@dataclass(frozen=True)
class Treatment:
    column: str
    label: str
    untreated: tuple


@dataclass(frozen=True)
class TimeToEvent:
    event: str
    event_positive: tuple
    time: str
    time_unit: str
    label: str


@dataclass(frozen=True)
class Measure:
    """A quality measure: who counts (``denominator``), who of them meets it (``outcome``), and the calendar period
    each participant counts in (``time``, whole years; ``month``, 1-12, only in a declared limited data set).

    With ``person_time`` the measure is a rate: events (``outcome``) per ``per`` person-years of ``person_time``
    among the denominator; otherwise a proportion. ``target`` is in the measure's own units: a proportion between
    0 and 1, or a rate per ``per`` person-years."""

    name: str
    label: str
    outcome: BinaryColumn
    time: str  # column of whole calendar years
    direction: str  # "up" or "down": the direction of improvement
    denominator: BinaryColumn | None = None  # None: everyone
    month: str | None = None  # column of months 1-12 (limited data set only)
    target: float | None = None
    person_time: str | None = None
    person_time_unit: str = "days"
    per: int = 100

    @property
    def kind(self) -> str:
        """"proportion" (numerator / denominator) or "rate" (events per person-time)."""
        return "rate" if self.person_time else "proportion"

    @property
    def periods(self) -> tuple[str, ...]:
        """The periods the measure can be shown by: years, and quarters and months where a month is declared."""
        return PERIODS if self.month else PERIODS[:1]

    def source_columns(self) -> set[str]:
        cols = {self.outcome.column, self.time}
        cols |= {c for c in (self.month, self.person_time) if c}
        if self.denominator:
            cols.add(self.denominator.column)
        return cols


@dataclass(frozen=True)
class Mapping:
    """A parsed, checked mapping. Paths are absolute."""

    path: Path | None
    shape: str = "wide"
    files: tuple[Path, ...] = ()
    tables: dict[str, Path] = field(default_factory=dict)
    read_options: ReadOptions = ReadOptions()
    columns: dict[str, str] = field(default_factory=dict)
    sex_codes: dict[str, tuple] = field(default_factory=lambda: dict(DEFAULT_SEX_CODES))
    outcomes: dict[str, BinaryColumn] = field(default_factory=dict)
    biomarker: Biomarker | None = None
    treatment: Treatment | None = None
    time_to_event: TimeToEvent | None = None
    exclusions: dict[str, BinaryColumn] = field(default_factory=dict)
    covariates: dict[str, Covariate] = field(default_factory=dict)
    baseline_window_days: int = 365
    invalid_rows: str = "refuse"
    measures: dict[str, Measure] = field(default_factory=dict)
    limited_data_set: bool = False

    def source_columns(self) -> set[str]:
        """Every user column this mapping reads."""
        cols = set(self.columns.values())
        cols |= {o.column for o in self.outcomes.values()} | {e.column for e in self.exclusions.values()}
        cols |= {c.column for c in self.covariates.values()}
        if self.biomarker:
            cols.add(self.biomarker.column)
        if self.treatment:
            cols.add(self.treatment.column)
        if self.time_to_event:
            cols |= {self.time_to_event.event, self.time_to_event.time}
        for measure in self.measures.values():
            cols |= measure.source_columns()
        return cols

    def with_files(self, paths: tuple[Path, ...]) -> "Mapping":
        """The same mapping over other data (``--data`` overrides ``[source] files``)."""
        from dataclasses import replace

        return replace(self, files=paths)


class _Reader:
    """Typed access to one TOML table, collecting the dotted key path for error messages."""

    def __init__(self, file: str, data: dict, where: str):
        self.file, self.data, self.where = file, data, where

    def fail(self, key: str, rule: str) -> MappingError:
        place = f"{self.where}.{key}" if self.where else key
        return MappingError(f"Mapping file {self.file}: key '{place}' {rule}.")

    def only(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.data) - allowed)
        if unknown:
            raise self.fail(unknown[0], f"is not a known key here (allowed: {', '.join(sorted(allowed))})")

    def get(self, key: str, kind: type | tuple, default: Any = None, required: bool = False) -> Any:
        if key not in self.data:
            if required:
                raise self.fail(key, "is required")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise self.fail(key, f"must be {_kind_name(kind)}")
        return value

    def column(self, key: str, required: bool = True) -> str | None:
        value = self.get(key, str, required=required)
        if value is not None and (not value.strip() or len(value) > MAX_COLUMN_NAME or _has_control(value)):
            raise self.fail(key, f"must be a column name of 1-{MAX_COLUMN_NAME} printable characters")
        return value

    def codes(self, key: str, default: tuple = ()) -> tuple:
        value = self.get(key, list, default=list(default))
        if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
            raise self.fail(key, "must be a list of strings or whole numbers")
        if any(isinstance(v, str) and (len(v) > 200 or _has_control(v)) for v in value):
            raise self.fail(key, "holds a code that is too long or has control characters")
        return tuple(value)

    def sub(self, key: str, required: bool = False) -> "_Reader | None":
        value = self.get(key, dict, required=required)
        return None if value is None else _Reader(self.file, value, f"{self.where}.{key}".strip("."))


def _kind_name(kind: type | tuple) -> str:
    names = {str: "a string", int: "a whole number", list: "a list", dict: "a table", bool: "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _has_control(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def _check_name(reader: _Reader, name: str) -> None:
    if not NAME_RULE.match(name):
        raise reader.fail(name, "must be a name of lower-case letters, digits and _ (starting with a letter)")


def _resolve(base: Path, name: str, reader: _Reader, key: str) -> Path:
    if _has_control(name) or not name.strip():
        raise reader.fail(key, "must be a file path")
    return (base / name).resolve()


def _source(r: _Reader, base: Path) -> dict:
    r.only({"files", "tables", "shape", "delimiter", "decimal", "quote", "header", "encoding", "limited_data_set"})
    shape = r.get("shape", str, default="wide")
    if shape not in SHAPES:
        raise r.fail("shape", f"must be one of {', '.join(SHAPES)}")
    files = tuple(_resolve(base, f, r, "files") for f in r.codes("files") if isinstance(f, str))
    tables_reader = r.sub("tables")
    tables = {}
    if tables_reader:
        tables_reader.only({"participants", "ferritin_labs", "treatments"})
        tables = {k: _resolve(base, tables_reader.get(k, str), tables_reader, k) for k in tables_reader.data}
    options = ReadOptions(
        delimiter=r.get("delimiter", str, default=","),
        decimal=r.get("decimal", str, default="."),
        quote=r.get("quote", str, default='"'),
        header=r.get("header", bool, default=True),
        encoding=r.get("encoding", str, default="utf-8"),
    )
    if not options.header:  # the first line always names the columns; never read a data row as a header
        raise r.fail("header", "must be true (the first line of each file must name the columns)")
    if len(options.delimiter) != 1 or options.decimal not in (".", ",") or len(options.quote) != 1:
        raise r.fail("delimiter", "must be a single character (and decimal '.' or ',')")
    if options.encoding.lower().replace("-", "") not in ("utf8", "latin1", "utf16"):
        raise r.fail("encoding", "must be utf-8, latin-1 or utf-16")
    limited = r.get("limited_data_set", bool, default=False)
    return {"shape": shape, "files": files, "tables": tables, "read_options": options, "limited_data_set": limited}


def _binary(r: _Reader, name: str, column_key: str = "column", positive_key: str = "positive") -> BinaryColumn:
    _check_name(r, name)
    sub = r.sub(name, required=True)
    sub.only({column_key, positive_key, "label"})
    positive = sub.codes(positive_key, default=(1,))
    if not positive:
        raise sub.fail(positive_key, "must list at least one value")
    return BinaryColumn(name, sub.column(column_key), positive, sub.get("label", str, default=name))


def _covariates(r: _Reader) -> dict[str, Covariate]:
    out = {}
    for name in r.data:
        _check_name(r, name)
        sub = r.sub(name, required=True)
        sub.only({"column", "label", "type", "unit", "threshold"})
        kind = sub.get("type", str, default="categorical")
        if kind not in ("categorical", "numeric"):
            raise sub.fail("type", "must be 'categorical' or 'numeric'")
        threshold = sub.get("threshold", (int, float), default=None)
        if threshold is not None and kind != "numeric":
            raise sub.fail("threshold", "is a number, and only for a numeric covariate")
        column = sub.column("column", required=False) or name
        out[name] = Covariate(name, column, sub.get("label", str, default=name), kind, sub.get("unit", str),
                              None if threshold is None else float(threshold))
    return out


def _biomarker(r: _Reader) -> Biomarker:
    r.only({"column", "label", "unit", "cut_points", "range"})
    cuts = r.get("cut_points", list, default=[50, 75, 100])
    if not cuts or not _numbers(cuts):
        raise r.fail("cut_points", "must be a list of numbers")
    bounds = r.get("range", list, default=None)
    if bounds is not None and (len(bounds) != 2 or not _numbers(bounds) or not bounds[0] < bounds[1]):
        raise r.fail("range", "must be two numbers [low, high] with low < high")
    low, high = bounds if bounds is not None else (0, float("inf"))
    if list(cuts) != sorted(set(cuts)) or not low < cuts[0] or not cuts[-1] < high:
        raise r.fail("cut_points", "must be strictly increasing and inside the biomarker's range (above zero "
                     "unless `range` says otherwise)")
    return Biomarker(r.column("column"), r.get("label", str, default="Biomarker"), r.get("unit", str, default=""),
                     tuple(float(c) for c in cuts), None if bounds is None else (float(low), float(high)))


def _numbers(values: list) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _time_to_event(r: _Reader) -> TimeToEvent:
    r.only({"event", "event_positive", "time", "time_unit", "label"})
    unit = r.get("time_unit", str, default="days")
    if unit not in TIME_UNITS:
        raise r.fail("time_unit", "must be days, months or years")
    return TimeToEvent(r.column("event"), r.codes("event_positive", default=(1,)), r.column("time"), unit,
                       r.get("label", str, default="Event"))


def _sex_codes(r: _Reader | None) -> dict[str, tuple]:
    if r is None:
        return dict(DEFAULT_SEX_CODES)
    r.only({"female", "male"})
    codes = {"female": r.codes("female"), "male": r.codes("male")}
    if set(map(str, codes["female"])) & set(map(str, codes["male"])):
        raise r.fail("female", "shares a code with 'male'")
    return codes


def parse_mapping(text: str, base: Path, file_label: str = "<mapping>", path: Path | None = None) -> Mapping:
    """Parse mapping TOML text; relative paths resolve against ``base``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"Mapping file {file_label} is not valid TOML ({exc}).") from None
    top = _Reader(file_label, data, "")
    top.only({"source", "columns", "codes", "outcomes", "biomarker", "treatment", "time_to_event", "exclusions",
              "covariates", "derivation", "validation", "measures"})
    source = _source(top.sub("source") or _Reader(file_label, {}, "source"), base)
    cols = top.sub("columns") or _Reader(file_label, {}, "columns")
    cols.only(set(BASIC_ROLES))
    codes = top.sub("codes")
    if codes:
        codes.only({"sex"})
    derivation = top.sub("derivation") or _Reader(file_label, {}, "derivation")
    derivation.only({"baseline_window_days"})
    window = derivation.get("baseline_window_days", int, default=365)
    if not 0 <= window <= 3650:
        raise derivation.fail("baseline_window_days", "must be between 0 and 3650")
    validation = top.sub("validation") or _Reader(file_label, {}, "validation")
    validation.only({"invalid_rows"})
    invalid_rows = validation.get("invalid_rows", str, default="refuse")
    if invalid_rows not in ("refuse", "drop"):
        raise validation.fail("invalid_rows", "must be 'refuse' or 'drop'")
    named = {key: top.sub(key) for key in ("outcomes", "exclusions", "covariates", "measures")}
    columns = {role: cols.column(role) for role in BASIC_ROLES if role in cols.data}
    outcomes = {n: _binary(named["outcomes"], n) for n in (named["outcomes"].data if named["outcomes"] else {})}
    measures_reader = named["measures"]
    measures = {n: _measure(measures_reader, n, columns, outcomes, source["limited_data_set"])
                for n in (measures_reader.data if measures_reader else {})}
    return Mapping(
        path=path,
        **source,
        columns=columns,
        sex_codes=_sex_codes(codes.sub("sex") if codes else None),
        outcomes=outcomes,
        biomarker=_biomarker(top.sub("biomarker")) if "biomarker" in data else None,
        treatment=_treatment(top.sub("treatment")) if "treatment" in data else None,
        time_to_event=_time_to_event(top.sub("time_to_event")) if "time_to_event" in data else None,
        exclusions={n: _binary(named["exclusions"], n)
                    for n in (named["exclusions"].data if named["exclusions"] else {})},
        covariates=_covariates(named["covariates"]) if named["covariates"] else {},
        baseline_window_days=window,
        invalid_rows=invalid_rows,
        measures=measures,
    )


def _flag(r: _Reader, key: str, outcomes: dict[str, BinaryColumn]) -> BinaryColumn:
    """A measure's numerator or denominator flag: an [outcomes] name, a column read as 1 = yes, or an inline table
    ``{ column = "...", positive = [...] }``."""
    value = r.get(key, (str, dict), required=True)
    if isinstance(value, dict):
        sub = r.sub(key)
        sub.only({"column", "positive"})
        positive = sub.codes("positive", default=(1,))
        if not positive:
            raise sub.fail("positive", "must list at least one value")
        return BinaryColumn(key, sub.column("column"), positive, key)
    if value in outcomes:
        return outcomes[value]
    r.column(key)
    return BinaryColumn(key, value, (1,), value)


def _measure(r: _Reader, name: str, columns: dict[str, str], outcomes: dict[str, BinaryColumn],
             limited_data_set: bool) -> Measure:
    _check_name(r, name)
    sub = r.sub(name, required=True)
    sub.only({"label", "outcome", "time", "month", "denominator", "direction", "target", "person_time",
              "person_time_unit", "per"})
    outcome = _flag(sub, "outcome", outcomes)
    time = sub.column("time")
    if time in BASIC_ROLES:
        if time != "baseline_year":
            raise sub.fail("time", "must name a column of calendar years or the role 'baseline_year' (the role "
                           f"'{time}' is not a calendar time)")
        if time not in columns:
            raise sub.fail("time", "names the role 'baseline_year', which [columns] does not bind")
        time = columns[time]
    month = sub.column("month", required=False)
    if month is not None and not limited_data_set:
        raise sub.fail("month", "needs [source] limited_data_set = true: a month is a date element beyond the year, "
                       "which HIPAA Safe Harbor removes; declare months only for a limited data set")
    direction = sub.get("direction", str, required=True)
    if direction not in DIRECTIONS:
        raise sub.fail("direction", "must be 'up' or 'down' (the direction of improvement)")
    denominator = None
    if "denominator" in sub.data and sub.data["denominator"] != "all":
        denominator = _flag(sub, "denominator", outcomes)
    person_time = sub.column("person_time", required=False)
    unit = sub.get("person_time_unit", str, default="days")
    if unit not in TIME_UNITS:
        raise sub.fail("person_time_unit", "must be days, months or years")
    if person_time is None and "person_time_unit" in sub.data:
        raise sub.fail("person_time_unit", "needs person_time (the column of person-time)")
    per = sub.get("per", int, default=100)
    if person_time is None and "per" in sub.data:
        raise sub.fail("per", "needs person_time (a rate per person-years)")
    if per not in (1, 10, 100, 1000, 10000, 100000):
        raise sub.fail("per", "must be 1, 10, 100, 1000, 10000 or 100000 (person-years)")
    target = sub.data.get("target")
    if target is not None:
        if not _numbers([target]) or target != target or abs(target) == float("inf"):
            raise sub.fail("target", "must be a finite number")
        if person_time is None and not 0 <= target <= 1:
            raise sub.fail("target", "must be a proportion between 0 and 1")
        if person_time is not None and target < 0:
            raise sub.fail("target", f"must be a rate per {per:,} person-years of 0 or more")
    return Measure(name, sub.get("label", str, default=name), outcome, time, direction, denominator, month,
                   None if target is None else float(target), person_time, unit, per)


def _treatment(r: _Reader) -> Treatment:
    r.only({"column", "label", "untreated"})
    return Treatment(r.column("column"), r.get("label", str, default="Treatment"), r.codes("untreated"))


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(f"Mapping file {path.name} was not found.") from None
    except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
        raise MappingError(f"Mapping file {path.name} cannot be read as UTF-8 text ({type(exc).__name__}).") from None
    return parse_mapping(text, path.parent.resolve(), path.name, path.resolve())


def default_mapping(columns: list[str], files: tuple[Path, ...]) -> Mapping:
    """A mapping for a file without one: roles bind to columns of the same name."""
    present = set(columns)
    return Mapping(
        path=None,
        files=files,
        columns={role: role for role in BASIC_ROLES if role in present},
        outcomes={"rls": BinaryColumn("rls", "rls", (1,), "RLS")} if "rls" in present else {},
    )
