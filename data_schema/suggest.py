"""A suggested mapping file for a source without one: ``python -m data_schema validate --data F --suggest-mapping``.

Columns are matched to roles by their names and by what their values look like (numbers, whole numbers, a range,
two codes), from one aggregate scan of the file. The result is TOML in the format ``data_schema.mapping`` parses,
with a comment on every guess saying what was guessed and what to check. Values the load would refuse (ages that are
not whole years, a sex column with a third code, a biomarker of 0) keep a column out of its role, so the suggestion
loads the file it was made for.

Disclosure: the text names files and columns only. The only values printed are codes the mapping needs as codes,
and only when they belong to a fixed vocabulary (``F``/``M``, ``female``/``male``, ``0``/``1``/``2``, ``yes``/``no``,
``none``/``untreated``...): a code outside it is never printed. No number, id or free text from the data is shown,
not even a minimum or maximum; ranges are only compared with the roles' plausible ranges (``roles.toml``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir

from data_schema.mapping import MAX_COLUMN_NAME, ReadOptions
from data_schema.reading import DataError, detect_format, load_file
from data_schema.schema import EXTRACT_TABLES, roles
from data_schema.sources import DEMO_MAPPING

MAX_CODES = 20  # a column with at most this many distinct values is read as categories
FEW_LEVELS = 10  # whole numbers with at most this many levels are suggested as categories
RESERVED_NAMES = {"age", "sex", "site", "drug", "year"}  # the analyses' built-in variable names

ID_NAMES = {"id", "pid", "patient_id", "participant_id", "subject_id", "patid", "patient", "subject", "person_id",
            "record_id", "study_id", "participant", "patientid", "subjectid", "participantid", "personid", "eid",
            "individual_id"}
SEX_NAMES = {"sex", "gender", "sex_at_birth", "birth_sex", "sex_birth", "biological_sex", "sexe", "geschlecht"}
MALE_NAMES = {"male", "is_male", "sex_male", "men", "man"}
FEMALE_NAMES = {"female", "is_female", "sex_female", "women", "woman"}
AGE_NAMES = {"age", "age_years", "age_yrs", "ageyears", "age_year", "age_at_baseline", "age_baseline",
             "baseline_age", "age_at_entry", "age_at_index", "age_at_visit", "age_at_diagnosis", "agey"}
SITE_NAMES = {"site", "site_id", "centre", "center", "centre_id", "center_id", "clinic", "hospital", "practice",
              "study_site", "institution", "location"}
YEAR_NAMES = {"year", "baseline_year", "yr", "year_of_visit", "visit_year", "index_year", "entry_year",
              "sample_yr", "sample_year", "year_of_entry", "recruitment_year", "study_year"}
OUTCOME_NAMES = {"status", "death", "dead", "died", "event", "outcome", "case", "cases", "case_status",
                 "mortality", "diagnosis", "dx", "rls", "disease", "fustat", "vital_status", "augmented",
                 "augmentation", "relapse", "recurrence", "progression"}
EVENT_NAMES = ("event", "status", "fustat", "death", "dead", "died", "vital_status", "augmented", "augmentation",
               "relapse", "recurrence", "progression")  # preferred first
TIME_NAMES = {"time", "futime", "fu_time", "follow_up", "followup", "follow_up_time", "followup_time", "stime",
              "survival_time", "surv_time", "time_to_event", "tte", "days", "fu_days", "follow_up_days", "survtime"}
TREATMENT_NAMES = {"treatment", "drug", "rx", "therapy", "first_drug", "arm", "trt", "treat", "treatment_group",
                   "treatment_arm", "medication", "regimen"}
BIOMARKER_WORDS = ("ferritin", "biomarker")
# Codes printed only when they belong to these vocabularies (compared in lower case).
FEMALE_CODES = {"f", "female", "w", "woman", "women", "fem", "frau", "weiblich", "femme"}
MALE_CODES = {"m", "male", "man", "men", "mann", "männlich", "homme"}
YES_CODES = {"yes", "y", "true", "ja", "oui", "si"}
NO_CODES = {"no", "n", "false", "nein", "non"}
UNTREATED_CODES = {"none", "untreated", "no treatment", "no_treatment", "not treated", "obs", "observation",
                   "no drug", "no_drug", "nil"}


@dataclass
class Profile:
    """What one column's values look like (counts and flags only; ``codes`` stay in memory and are printed only
    when they belong to a vocabulary above)."""

    column: str
    key: str  # the column name normalised for matching: lower case, runs of other characters as _
    text: bool  # the loader compares it as text (a CSV column or a text Parquet column)
    boolean: bool = False
    present: int = 0  # non-empty values
    finite: int = 0  # present values that are finite numbers
    whole: int = 0  # present values that are whole numbers
    low: float | None = None
    high: float | None = None
    distinct: int = 0
    codes: tuple[str, ...] = ()  # distinct text values, when at most MAX_CODES

    @property
    def numeric(self) -> bool:
        return self.present > 0 and self.finite == self.present

    @property
    def whole_numbers(self) -> bool:
        return self.numeric and self.whole == self.present

    def within(self, bounds: tuple[float, float] | None) -> bool:
        return bounds is not None and self.numeric and bounds[0] <= self.low and self.high <= bounds[1]

    def number_codes(self) -> dict[float, tuple[str, ...]]:
        """Numeric value -> the text codes holding it (for whole-number columns with few codes)."""
        out: dict[float, list[str]] = {}
        for code in self.codes:
            out.setdefault(float(code.replace(",", ".")), []).append(code)
        return {k: tuple(v) for k, v in out.items()}

    @property
    def zero_one(self) -> bool:
        return self.whole_numbers and bool(self.codes) and set(self.number_codes()) == {0.0, 1.0}


@dataclass
class Suggestion:
    """The mapping being written: TOML lines per section, and comments on what was left out."""

    file: str
    source: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    sex_codes: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    biomarker: list[str] = field(default_factory=list)
    treatment: list[str] = field(default_factory=list)
    time_to_event: list[str] = field(default_factory=list)
    covariates: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)


def toml_string(text: str) -> str:
    """A TOML basic string (every control character escaped)."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def normalised(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")


def _code(text: str):
    """A code as the mapping writes it: a whole number when the text is one (``1``), else the text (``"F"``)."""
    return int(text) if re.fullmatch(r"-?[0-9]+", text) and str(int(text)) == text else text


def _codes(codes: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(str(c) if isinstance(c, int) else toml_string(c) for c in map(_code, codes)) + "]"


# ---------------------------------------------------------------------------------------------------- reading


def sniff_options(path: Path) -> ReadOptions:
    """Delimiter (the header line's most frequent separator), encoding (UTF-8, else Latin-1)."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    line = re.split(rb"\r\n|\n|\r", head, maxsplit=1)[0]
    try:
        first, encoding = line.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        first, encoding = line.decode("latin-1"), "latin-1"
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    return ReadOptions(delimiter=delimiter if counts[delimiter] else ",", encoding=encoding)


def _text(col: ir.Value) -> ir.StringValue:
    return (col if col.type().is_string() else col.cast("string")).strip()


def profile(con: duckdb.DuckDBPyConnection, path: Path,
            options: ReadOptions) -> tuple[list[Profile], str, int, bool]:
    """Profiles of every column of ``path``, the decimal mark to use, the number of rows, and whether any line
    could not be parsed."""
    raw = load_file(con, path, "suggest_raw", options)
    table = ibis.duckdb.from_connection(con).table(raw.table)
    decimals = (".", ",") if raw.is_text and options.delimiter != "," else (".",)
    counters: dict[str, ir.Scalar] = {}
    kinds: dict[str, object] = {}
    for i, name in enumerate(raw.columns):
        col = table[name]
        kinds[name] = col.type()
        if col.type().is_boolean():
            counters[f"p{i}"] = col.notnull().sum()
            continue
        text = _text(col)
        value = ibis.ifelse(col.isnull() | (text == ""), ibis.null("string"), text)
        counters[f"p{i}"] = value.notnull().sum()
        counters[f"d{i}"] = value.nunique()
        for j, mark in enumerate(decimals):
            if col.type().is_numeric():
                number = col.cast("float64")
            else:
                number = (value.replace(",", ".") if mark == "," else value).try_cast("float64")
            finite = (number.notnull() & ~number.isnan() & ~number.isinf()).fill_null(False)
            kept = ibis.ifelse(finite, number, ibis.null("float64"))
            counters[f"f{i}_{j}"] = finite.sum()
            counters[f"w{i}_{j}"] = (finite & (kept % 1 == 0)).fill_null(False).sum()
            counters[f"lo{i}_{j}"] = kept.min()
            counters[f"hi{i}_{j}"] = kept.max()
    counts = table.aggregate(**counters).to_pyarrow().to_pylist()[0] if counters else {}
    mark = _decimal(raw.columns, counts, decimals)
    j = decimals.index(mark)
    profiles = []
    for i, name in enumerate(raw.columns):
        kind = kinds[name]
        p = Profile(name, normalised(name), text=raw.is_text or kind.is_string(), boolean=kind.is_boolean(),
                    present=int(counts.get(f"p{i}") or 0))
        if not p.boolean:
            p.finite, p.whole = int(counts[f"f{i}_{j}"] or 0), int(counts[f"w{i}_{j}"] or 0)
            p.low, p.high, p.distinct = counts[f"lo{i}_{j}"], counts[f"hi{i}_{j}"], int(counts[f"d{i}"] or 0)
        profiles.append(p)
    _add_codes(table, profiles)
    return profiles, mark, raw.rows_loaded, bool(raw.rejects)


def _decimal(columns, counts: dict, decimals: tuple[str, ...]) -> str:
    """',' when it turns some column's values into numbers that '.' does not (a semicolon file from Excel)."""
    if len(decimals) == 1:
        return "."
    gained = [i for i in range(len(columns)) if f"f{i}_1" in counts
              and (counts[f"f{i}_1"] or 0) > (counts[f"f{i}_0"] or 0) and counts[f"f{i}_1"] == counts[f"p{i}"]]
    return "," if gained else "."


def _add_codes(table: ir.Table, profiles: list[Profile]) -> None:
    few = [(i, p) for i, p in enumerate(profiles) if not p.boolean and 0 < p.distinct <= MAX_CODES]
    if not few:
        return
    aggs = {}
    for i, p in few:
        text = _text(table[p.column])
        aggs[f"c{i}"] = ibis.ifelse(text == "", ibis.null("string"), text).collect(distinct=True)
    row = table.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    for i, p in few:
        p.codes = tuple(sorted(row[f"c{i}"] or ()))


# ---------------------------------------------------------------------------------------------------- guessing


def suggest_mapping(data: Path) -> str:
    """The suggested mapping (TOML text) for one CSV/Parquet file, or for a folder holding the extract's tables."""
    data = Path(data)
    if data.is_dir():
        return _extract_folder(data)
    options = sniff_options(data) if detect_format(data) == "csv" else ReadOptions()
    with duckdb.connect(":memory:") as con:
        profiles, decimal, rows, rejects = profile(con, data, options)
        if options.encoding == "utf-8" and rejects and detect_format(data) == "csv":
            latin = ReadOptions(delimiter=options.delimiter, encoding="latin-1")
            profiles, decimal, rows, _ = profile(con, data, latin)
            options = latin
    return render(_guess(data.name, profiles, rows, options, decimal))


def _extract_folder(folder: Path) -> str:
    present = {name: any((folder / f"{name}.{ext}").exists() for ext in ("parquet", "csv")) for name in EXTRACT_TABLES}
    if not all(present.values()):
        raise DataError(folder.name, "is a folder; --suggest-mapping takes one CSV or Parquet file (or a folder "
                        f"holding the extract's tables {', '.join(EXTRACT_TABLES)}).", "not a file")
    head = ["# Suggested mapping for the folder " + toml_string(folder.name) + ": it holds the multi-table extract",
            f"# ({', '.join(EXTRACT_TABLES)}), whose columns are declared in data_schema/tables/*.toml, so this is the",
            "# mapping the extract is read with (data_schema/demo/mapping.toml). CHECK the outcomes, exclusions and",
            "# covariates against your extract's documentation.", ""]
    return "\n".join(head) + DEMO_MAPPING.read_text(encoding="utf-8")


def _guess(file: str, profiles: list[Profile], rows: int, options: ReadOptions, decimal: str) -> Suggestion:
    s = Suggestion(file)
    s.source = [f"files = [{toml_string(file)}]  # relative to this mapping file; --data overrides it",
                'shape = "wide"']
    if options.delimiter != ",":
        s.source.append(f"delimiter = {toml_string(options.delimiter)}  # CHECK: guessed from the header line")
    if decimal != ".":
        s.source.append('decimal = ","  # CHECK: numbers use decimal commas')
    if options.encoding != "utf-8":
        s.source.append(f"encoding = {toml_string(options.encoding)}  # CHECK: the file is not valid UTF-8")
    usable = []
    for p in profiles:
        if not p.column.strip() or len(p.column) > MAX_COLUMN_NAME or any(ord(c) < 32 or ord(c) == 127
                                                                            for c in p.column):
            s.left_out.append("a column whose name has control characters or is too long: not mapped")
        else:
            usable.append(p)
    _participant_id(s, usable, rows)
    _sex(s, usable)
    _number_role(s, usable, "age", AGE_NAMES, "whole years within the plausible range",
                 "must hold whole years within the plausible range 0-120")
    _site(s, usable)
    _number_role(s, usable, "baseline_year", YEAR_NAMES, "whole numbers within the plausible range",
                 "must hold whole years within 1900-2100")
    event = _outcomes(s, usable)
    _biomarker(s, usable)
    _treatment(s, usable)
    _time_to_event(s, usable, event)
    _covariates(s, usable)
    return s


def _free(profiles: list[Profile], s: Suggestion) -> list[Profile]:
    return [p for p in profiles if p.column not in s.used]


def _name(s: Suggestion, column: str, prefix: str) -> str:
    """A mapping name (lower-case letters, digits, _; not a built-in variable name) unique in this mapping."""
    base = normalised(column)[:36] or prefix
    if not base[0].isalpha():
        base = f"{prefix}_{base}"[:36]
    if base in RESERVED_NAMES:
        base = f"{base}_{prefix}"
    name, n = base, 2
    while name in s.names:
        name, n = f"{base}_{n}", n + 1
    s.names.add(name)
    return name


def _participant_id(s: Suggestion, profiles: list[Profile], rows: int) -> None:
    for p in profiles:
        if p.key in ID_NAMES:
            if p.present == rows and p.distinct == p.present and p.present > 0:
                s.columns.append(f"participant_id = {toml_string(p.column)}  # CHECK: named like an id, no empty "
                                 "cell, no value twice")
                s.used.add(p.column)
                return
            s.left_out.append(f"{toml_string(p.column)}: named like an id but has empty cells or repeated values, "
                              "so it is not the participant key (each participant must appear once)")
            s.used.add(p.column)
    s.columns.append("# participant_id: no column looks like a unique participant key; row numbers are used as ids")


def _sex(s: Suggestion, profiles: list[Profile]) -> None:
    for p in profiles:
        oriented = "male" if p.key in MALE_NAMES else "female" if p.key in FEMALE_NAMES else None
        if p.key not in SEX_NAMES and oriented is None:
            continue
        groups, how = _sex_groups(p, oriented)
        if groups is None:
            s.left_out.append(f"{toml_string(p.column)}: named like sex but {how}; bind it by hand ([columns] sex "
                              "and [codes.sex]: every code must be listed as female or male)")
            s.used.add(p.column)
            continue
        s.columns.append(f"sex = {toml_string(p.column)}  # CHECK: named like sex, with {how}")
        s.sex_codes = [f"female = {_codes(groups['female'])}", f"male = {_codes(groups['male'])}"]
        s.used.add(p.column)
        return
    s.columns.append("# sex: no column named sex or gender with two codes (female/male)")


def _sex_groups(p: Profile, oriented: str | None) -> tuple[dict | None, str]:
    """The codes of a sex column as female/male, and how they were read; (None, why) when they cannot be."""
    if not p.codes or len(p.codes) > 2:
        return None, "more than two codes" if p.distinct > 2 else "no codes"
    lower = {c: c.lower() for c in p.codes}
    if all(v in FEMALE_CODES | MALE_CODES for v in lower.values()):
        groups = {"female": [c for c, v in lower.items() if v in FEMALE_CODES],
                  "male": [c for c, v in lower.items() if v in MALE_CODES]}
        return groups, "female/male codes"
    numbers = p.number_codes() if p.whole_numbers else {}
    values = set(numbers)
    if values and values <= {0.0, 1.0} and len(p.codes) == len(values):
        one = oriented or "male"
        other = "female" if one == "male" else "male"
        groups = {one: list(numbers.get(1.0, ())), other: list(numbers.get(0.0, ()))}
        if oriented:
            return groups, f"0/1 codes read from its name as 1 = {one}, 0 = {other}"
        return groups, "0/1 codes guessed as 1 = male, 0 = female; swap them if your codebook says otherwise"
    if values and values <= {1.0, 2.0} and len(p.codes) == len(values) and oriented is None:
        groups = {"male": list(numbers.get(1.0, ())), "female": list(numbers.get(2.0, ()))}
        return groups, "1/2 codes guessed as 1 = male, 2 = female (ISO 5218); swap them if your codebook says otherwise"
    return None, "codes the suggestion does not recognise (they are not printed)"


def _number_role(s: Suggestion, profiles: list[Profile], role: str, names: set[str], good: str, rule: str) -> None:
    bounds = roles()[role].range
    for p in _free(profiles, s):
        named = p.key in names or (role == "age" and (p.key.startswith("age_") or p.key.endswith("_age"))) or (
            role == "baseline_year" and (p.key.endswith("_year") or p.key.endswith("_yr")))
        if not named:
            continue
        if p.whole_numbers and p.within(bounds):
            s.columns.append(f"{role} = {toml_string(p.column)}  # CHECK: named like {role.replace('_', ' ')}, "
                             f"{good}")
            s.used.add(p.column)
            return
        if p.key in names:
            s.left_out.append(f"{toml_string(p.column)}: named like {role.replace('_', ' ')} but not bound: the role "
                              f"{rule}; fix the source (it is suggested as a covariate below if it is numeric)")
    s.columns.append(f"# {role}: no column named like {role.replace('_', ' ')} holding {good}")


def _site(s: Suggestion, profiles: list[Profile]) -> None:
    for p in _free(profiles, s):
        if p.key in SITE_NAMES and p.present and p.distinct <= max(MAX_CODES, 50):
            s.columns.append(f"site = {toml_string(p.column)}  # CHECK: named like a site")
            s.used.add(p.column)
            return
    s.columns.append("# site: no column named site, centre or clinic")


def _binary_codes(p: Profile) -> tuple[list[str], str] | None:
    """The positive codes of a two-code yes/no column, and a description; None if it is not one."""
    if p.zero_one:
        return (["1"] if not p.text else list(p.number_codes()[1.0])), "0/1"
    lower = {c: c.lower() for c in p.codes}
    if len(p.codes) == 2 and all(v in YES_CODES | NO_CODES for v in lower.values()):
        yes = [c for c, v in lower.items() if v in YES_CODES]
        if len(yes) == 1:
            return yes, "yes/no"
    return None


def _outcomes(s: Suggestion, profiles: list[Profile]) -> str | None:
    """Binary columns: those named like an outcome become outcomes (all of them if none is); returns the column
    taken as the event of a time to event, if any."""
    binary = [(p, _binary_codes(p)) for p in _free(profiles, s)]
    binary = [(p, codes) for p, codes in binary if codes is not None]
    named = [(p, codes) for p, codes in binary if p.key in OUTCOME_NAMES or "death" in p.key or "outcome" in p.key]
    chosen = named or binary
    for p, (positive, kind) in chosen:
        name = _name(s, p.column, "outcome")
        why = "named like an outcome" if named else "a two-code column (no column is named like an outcome)"
        s.outcomes += [f"[outcomes.{name}]", f"column = {toml_string(p.column)}",
                       f"positive = {_codes(positive)}  # CHECK: {why}, {kind}; the listed code counts as a case",
                       f"label = {toml_string(p.column)}  # a readable name for captions", ""]
        s.used.add(p.column)
    if not chosen:
        s.outcomes = ["# [outcomes.NAME]: no 0/1 or yes/no column; add one binary outcome per section:",
                      '# column = "your_column"', "# positive = [1]", ""]
    else:
        s.outcomes.insert(0, "# The first outcome is the default case definition. Other 0/1 columns are covariates "
                          "below: move one here if it is an outcome.")
    for want in EVENT_NAMES:
        for p, (positive, _) in chosen:
            if p.key == want or (want == "death" and "death" in p.key):
                return p.column
    return None


def _biomarker(s: Suggestion, profiles: list[Profile]) -> None:
    bounds = roles()["biomarker"].range
    for p in _free(profiles, s):
        if any(word in p.key for word in BIOMARKER_WORDS) and p.within(bounds):
            s.biomarker = ["[biomarker]", f"column = {toml_string(p.column)}  # CHECK: named like a biomarker",
                           f"label = {toml_string(p.column)}",
                           'unit = ""  # CHECK: the unit, e.g. "µg/L"',
                           "# cut_points = [50, 75, 100]  # the default bands; set the cut points of your biomarker",
                           ""]
            s.used.add(p.column)
            return
    role_named = AGE_NAMES | YEAR_NAMES | TIME_NAMES | ID_NAMES
    candidates = [p.column for p in _free(profiles, s) if p.within(bounds) and not p.whole_numbers
                  and p.key not in role_named and not p.key.endswith("id")]
    s.biomarker = ["# [biomarker]: no column named like a biomarker (ferritin). To enable biomarker risk, name a "
                   "continuous lab value",
                   "# measured at baseline, all values within 0.001-100000:"]
    if candidates:
        s.biomarker.append("#   numeric columns that could be one: " + ", ".join(map(toml_string, candidates[:12])))
    s.biomarker += ['# column = "your_column"', '# label = "Serum ferritin"', '# unit = "µg/L"',
                    "# cut_points = [50, 75, 100]", ""]


def _treatment(s: Suggestion, profiles: list[Profile]) -> None:
    for p in _free(profiles, s):
        if p.key not in TREATMENT_NAMES or not p.present or p.boolean:
            continue
        untreated = [c for c in p.codes if c.lower() in UNTREATED_CODES]
        note = ("CHECK: the codes that mean untreated (empty cells are untreated too)" if untreated else
                "CHECK: list the codes that mean untreated, if any (empty cells are untreated)")
        s.treatment = ["[treatment]", f"column = {toml_string(p.column)}  # CHECK: named like a treatment",
                       f"label = {toml_string(p.column)}", f"untreated = {_codes(untreated)}  # {note}", ""]
        s.used.add(p.column)
        return
    s.treatment = ["# [treatment]: no column named treatment, drug or rx", ""]


def _time_to_event(s: Suggestion, profiles: list[Profile], event: str | None) -> None:
    bounds = roles()["time"].range
    times = [p for p in _free(profiles, s) if (p.key in TIME_NAMES or p.key.startswith(("time_to", "days_to"))
                                                or "futime" in p.key) and p.within(bounds)]
    if not times or event is None:
        missing = "follow-up time column (e.g. futime, time)" if not times else "0/1 event column (e.g. status)"
        s.time_to_event = [f"# [time_to_event]: not suggested, no {missing} was recognised. With a time in "
                           "0-100000 and a 0/1 event:", '# event = "status"', "# event_positive = [1]",
                           '# time = "futime"', '# time_unit = "days"', ""]
        return
    time = times[0]
    unit, how = _time_unit(time)
    event_profile = next(p for p in profiles if p.column == event)
    positive, _ = _binary_codes(event_profile)
    s.time_to_event = ["[time_to_event]",
                       f"event = {toml_string(event)}  # CHECK: the outcome above taken as the event",
                       f"event_positive = {_codes(positive)}",
                       f"time = {toml_string(time.column)}  # CHECK: named like a follow-up time",
                       f'time_unit = "{unit}"  # CHECK: {how}',
                       f"label = {toml_string(event)}", ""]
    s.used.add(time.column)


def _time_unit(p: Profile) -> tuple[str, str]:
    for word, unit in (("day", "days"), ("month", "months"), ("year", "years"), ("yr", "years")):
        if word in p.key:
            return unit, "from the column's name"
    if p.high is not None and p.high > 240:
        return "days", "guessed from the values' range (too large for months or years)"
    return "days", "a guess (days, months or years)"


def _covariates(s: Suggestion, profiles: list[Profile]) -> None:
    for p in _free(profiles, s):
        label = toml_string(p.column)
        if p.boolean:
            s.left_out.append(f"{label}: true/false column; store it as 0/1 to map it")
        elif p.present == 0:
            s.left_out.append(f"{label}: empty")
        elif p.distinct == 1:
            s.left_out.append(f"{label}: holds one value only")
        elif p.key in ID_NAMES or p.key.endswith("_id"):
            s.left_out.append(f"{label}: named like an identifier or a key")
        elif not p.numeric and p.distinct == p.present and p.distinct > MAX_CODES:
            s.left_out.append(f"{label}: text with a different value in every row (an identifier or free text?)")
        elif p.zero_one or (p.codes and 0 < p.distinct <= 2 and not p.numeric):
            s.covariates.append(_covariate(s, p, "categorical", "two codes: a binary covariate (or an outcome)"))
        elif p.whole_numbers and p.distinct <= FEW_LEVELS:
            s.covariates.append(_covariate(s, p, "categorical", "few whole-number levels, read as categories; "
                                           'type = "numeric" if it is a count or a measurement'))
        elif p.numeric:
            s.covariates.append(_covariate(s, p, "numeric", "numbers"))
        elif p.distinct <= MAX_CODES:
            s.covariates.append(_covariate(s, p, "categorical", "text with few distinct values"))
        else:
            s.left_out.append(f"{label}: text with many distinct values or numbers mixed with text (free text, "
                              "dates or an identifier?)")


def _covariate(s: Suggestion, p: Profile, kind: str, why: str) -> str:
    name = _name(s, p.column, "cov")
    s.used.add(p.column)
    return (f"{name} = {{ column = {toml_string(p.column)}, label = {toml_string(p.column)}, type = \"{kind}\" }}"
            f"  # {why}")


# ---------------------------------------------------------------------------------------------------- writing


def render(s: Suggestion) -> str:
    lines = [f"# Suggested mapping for {toml_string(s.file)}, by python -m data_schema validate --suggest-mapping.",
             "# Columns were matched to roles by their names and by what their values look like (numbers, whole",
             "# numbers, plausible ranges, two codes). Nothing here is certain: check every line marked CHECK",
             "# against your codebook, give labels and units, then run",
             "#   python -m data_schema validate --data FILE --mapping THIS_FILE",
             "# No data value is printed here except category codes the mapping needs.",
             "", "[source]", *s.source, "", "[columns]", *s.columns, ""]
    if s.sex_codes:
        lines += ["[codes.sex]  # CHECK: which code is female and which male", *s.sex_codes, ""]
    lines += [*s.outcomes, *s.biomarker, *s.treatment, *s.time_to_event]
    if s.covariates:
        lines += ["# Further columns usable as strata, adjusters and filters. CHECK each type.", "[covariates]",
                  *s.covariates, ""]
    lines += ["# [exclusions.NAME]: binary conditions offered as exclusion filters (none suggested), e.g.",
              '# pregnancy = { column = "pregnant", positive = [1], label = "pregnancy" }', ""]
    if s.left_out:
        lines += ["# Columns not mapped:", *[f"#   {line}" for line in s.left_out], ""]
    return "\n".join(lines).rstrip("\n") + "\n"
