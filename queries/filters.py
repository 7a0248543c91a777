"""Global cohort filters, each defined once: URL key, widget, predicate and English description.

A filter's value is parsed from the URL/CLI query string and checked against the options the loaded cohort
actually has (the whitelist); anything else is dropped with a message, never passed to the engine. Predicates
are Ibis expressions over the canonical table, so they run on every engine. Age moves in 5-year bands only, so
nested filter states cannot be subtracted to isolate single years of age.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import ibis
import ibis.expr.types as ir

UNTREATED = "untreated"
AGE_STEP = 5


@dataclass(frozen=True)
class FilterOptions:
    """The values the loaded cohort offers for each filter (read once from the engine)."""

    sites: tuple[str, ...] = ()
    sexes: tuple[str, ...] = ()
    age_bands: tuple[tuple[int, int], ...] = ()  # (low, high) inclusive; the last band's high is the top code
    years: tuple[int, ...] = ()
    drugs: tuple[str, ...] = ()
    outcomes: dict[str, str] = field(default_factory=dict)  # name -> label
    exclusions: dict[str, str] = field(default_factory=dict)  # name -> label


def age_band_label(band: tuple[int, int], top: int) -> str:
    low, high = band
    return f"{low}+" if high >= top else f"{low}-{high}"


def age_bands(min_age: int, max_age: int, step: int = AGE_STEP) -> tuple[tuple[int, int], ...]:
    """5-year bands from the youngest age, aligned to multiples of 5, the last open at the top code; a first or
    last band shorter than 5 years joins its neighbour (18-19 would single out a thin, easily subtracted slice)."""
    edges = [min_age] + list(range((min_age // step + 1) * step, max_age + 1, step))
    if len(edges) > 2 and edges[1] - edges[0] < step:
        edges.pop(1)
    if len(edges) > 2 and max_age + 1 - edges[-1] < step:
        edges.pop()
    bands = [(lo, hi - 1) for lo, hi in zip(edges, edges[1:])]
    bands.append((edges[-1], max_age))
    return tuple(bands)


class FilterValueError(ValueError):
    """A URL or CLI value that is not one of the cohort's options; the message quotes no user text."""


@dataclass(frozen=True)
class Filter:
    """Base: a URL key, a label, and how to parse, format, apply and describe a value."""

    key: str
    label: str
    column: str
    widget: str  # "multiselect" | "band_range" | "year_range" | "choice" | "toggle"
    help: str = ""

    def available(self, options: FilterOptions) -> bool:
        return bool(self.choices(options))

    def choices(self, options: FilterOptions) -> tuple:
        raise NotImplementedError

    def default(self, options: FilterOptions) -> Any:
        raise NotImplementedError

    def parse(self, raw: str, options: FilterOptions) -> Any:
        raise NotImplementedError

    def format(self, value: Any, options: FilterOptions) -> str:
        raise NotImplementedError

    def predicate(self, table: ir.Table, value: Any, options: FilterOptions) -> ir.BooleanValue | None:
        return None

    def describe(self, value: Any, options: FilterOptions) -> str:
        raise NotImplementedError

    def is_default(self, value: Any, options: FilterOptions) -> bool:
        return value == self.default(options)


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


@dataclass(frozen=True)
class ChoiceFilter(Filter):
    """Keep participants whose value is one of the chosen ones (all chosen = no filter)."""

    options_attr: str = ""
    noun: str = ""

    def choices(self, options: FilterOptions) -> tuple:
        return tuple(getattr(options, self.options_attr))

    def default(self, options: FilterOptions) -> tuple:
        return self.choices(options)

    def parse(self, raw: str, options: FilterOptions) -> tuple:
        allowed = self.choices(options)
        if raw == "":
            return ()  # nothing chosen (an emptied multiselect): nobody matches, as on screen
        picked = _split(raw)
        if not picked or any(p not in allowed for p in picked):
            raise FilterValueError(f"'{self.key}' must list values from: {', '.join(map(str, allowed))}.")
        return tuple(c for c in allowed if c in picked)

    def format(self, value: tuple, options: FilterOptions) -> str:
        return ",".join(value)

    def predicate(self, table, value, options):
        if self.is_default(value, options):
            return None
        named = [v for v in value if v != UNTREATED]
        keep = table[self.column].isin(named) if named else ibis.literal(False)
        if UNTREATED in value:
            keep = keep | table[self.column].isnull()
        return keep.fill_null(False)

    def describe(self, value, options) -> str:
        if self.is_default(value, options):
            return ""
        return f"{self.noun} {_join(value, 'or')}" if value else f"no {self.noun}"


@dataclass(frozen=True)
class SexFilter(ChoiceFilter):
    def describe(self, value, options) -> str:
        if self.is_default(value, options):
            return ""
        return {("female",): "women", ("male",): "men"}.get(tuple(value), "no sex selected")


@dataclass(frozen=True)
class RangeFilter(Filter):
    """A closed range ``low-high`` of a whole-number column; the full range is no filter."""

    def format(self, value, options) -> str:
        return f"{value[0]}-{value[1]}"

    def predicate(self, table, value, options):
        if self.is_default(value, options):
            return None
        return table[self.column].between(value[0], value[1]).fill_null(False)


@dataclass(frozen=True)
class AgeFilter(RangeFilter):
    """Age from the start of one 5-year band to the end of another, e.g. ``age=40-79``."""

    def choices(self, options):
        return options.age_bands

    def default(self, options):
        bands = options.age_bands
        return (bands[0][0], bands[-1][1])

    def parse(self, raw: str, options) -> tuple[int, int]:
        bands = options.age_bands
        lows, highs = {b[0] for b in bands}, {b[1] for b in bands}
        text = raw.strip()
        open_top = text.endswith("+")  # "80+" (a '+' decoded from a URL arrives as a space, stripped above)
        parts = text.rstrip("+").split("-")
        try:
            low = int(parts[0])
            high = bands[-1][1] if open_top or len(parts) == 1 else int(parts[1])
        except (ValueError, IndexError):
            raise FilterValueError("'age' must look like 40-79 (5-year bands).") from None
        if len(parts) > 2 or (len(parts) == 1 and not open_top and raw == text) or low not in lows \
                or high not in highs or low > high:
            raise FilterValueError(f"'age' must start and end on 5-year band edges between {bands[0][0]} and "
                                   f"{bands[-1][1]} (e.g. 40-79; {bands[-1][0]}-{bands[-1][1]} is the open top band).")
        return (low, high)

    def describe(self, value, options) -> str:
        if self.is_default(value, options):
            return ""
        top = options.age_bands[-1][1]
        return f"aged {value[0]} or over" if value[1] >= top else f"aged {value[0]}–{value[1]}"


@dataclass(frozen=True)
class YearFilter(RangeFilter):
    """Baseline year from one year to another, e.g. ``year=2010-2015``."""

    def choices(self, options):
        return options.years

    def default(self, options):
        return (options.years[0], options.years[-1])

    def parse(self, raw: str, options) -> tuple[int, int]:
        parts = raw.split("-")
        try:
            low, high = (int(parts[0]), int(parts[-1])) if len(parts) in (1, 2) else (None, None)
        except ValueError:
            low = high = None
        if low not in options.years or high not in options.years or low > high:
            raise FilterValueError(f"'year' must look like {options.years[0]}-{options.years[-1]} within the "
                                   "cohort's baseline years.")
        return (low, high)

    def describe(self, value, options) -> str:
        if self.is_default(value, options):
            return ""
        return f"baseline {value[0]}" if value[0] == value[1] else f"baseline {value[0]}–{value[1]}"


SECONDARY = "secondary"


@dataclass(frozen=True)
class ExclusionFilter(Filter):
    """Leave out participants with any of the mapped secondary causes (unknown = kept): ``exclude=secondary``.

    One switch for all conditions together, not one per condition: a single rare condition (pregnancy) would be a
    slice thin enough to subtract, while their union is large (see ``analyses.differencing``).
    """

    def choices(self, options):
        return (SECONDARY,) if options.exclusions else ()

    def default(self, options):
        return ()

    def parse(self, raw: str, options) -> tuple:
        picked = _split(raw)
        if any(p != SECONDARY for p in picked):
            raise FilterValueError(f"'exclude' takes '{SECONDARY}' (all of: {_join(options.exclusions.values())}); "
                                   "conditions cannot be excluded one at a time.")
        return (SECONDARY,) if picked else ()

    def format(self, value, options) -> str:
        return ",".join(value)

    def predicate(self, table, value, options):
        if not value:
            return None
        excluded = ibis.literal(False)
        for name in options.exclusions:
            excluded = excluded | table[f"exclude_{name}"].fill_null(False)
        return ~excluded

    def describe(self, value, options) -> str:
        return f"excluding {_join(options.exclusions.values())}" if value else ""


@dataclass(frozen=True)
class DefinitionFilter(Filter):
    """Which binary outcome counts as the case definition (no rows removed), e.g. ``def=rls_clinsig``."""

    def choices(self, options):
        return tuple(options.outcomes)

    def default(self, options):
        return self.choices(options)[0]

    def parse(self, raw: str, options) -> str:
        if raw not in options.outcomes:
            raise FilterValueError(f"'def' must be one of: {', '.join(options.outcomes)}.")
        return raw

    def format(self, value, options) -> str:
        return value

    def describe(self, value, options) -> str:
        return f"case definition: {options.outcomes[value]}"


def _join(values, conjunction: str = "and") -> str:
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + f" {conjunction} " + values[-1]


FILTERS: tuple[Filter, ...] = (
    DefinitionFilter("def", "Case definition", "outcome", "choice", "Which outcome counts as a case."),
    ChoiceFilter("site", "Site", "site", "multiselect", "Recruiting sites to include.", "sites", "at sites"),
    SexFilter("sex", "Sex", "sex", "multiselect", "Include women, men or both.", "sexes", "sex"),
    AgeFilter("age", "Age at baseline", "age", "band_range", "Age range in 5-year bands."),
    YearFilter("year", "Baseline year", "baseline_year", "year_range", "Calendar years of the baseline visit."),
    ChoiceFilter("drug", "First drug", "treatment", "multiselect", "First RLS drug ('untreated' = never treated).",
                 "drugs", "first drug"),
    ExclusionFilter("exclude", "Exclude secondary causes", "exclude", "toggle",
                    "Leave out participants with any of the mapped secondary causes of RLS."),
)
FILTERS_BY_KEY = {f.key: f for f in FILTERS}


@dataclass(frozen=True)
class FilterState:
    """The value of every available filter; hashable, so it can key caches."""

    values: tuple[tuple[str, Any], ...]

    def get(self, key: str) -> Any:
        return dict(self.values).get(key)

    @property
    def definition(self) -> str | None:
        return self.get("def")

    def narrowed(self, key: str, keep: tuple) -> "FilterState":
        """The state with the choice filter ``key`` limited to values also in ``keep`` (a page's narrower pick,
        e.g. one drug on the ferritin page); unchanged when the cohort has no such filter."""
        if key not in dict(self.values):
            return self
        return FilterState(tuple((k, tuple(x for x in v if x in keep) if k == key else v) for k, v in self.values))


def active_filters(options: FilterOptions) -> tuple[Filter, ...]:
    """The filters this cohort can offer (a filter whose role is missing is left out)."""
    return tuple(f for f in FILTERS if f.available(options))


def default_state(options: FilterOptions) -> FilterState:
    return FilterState(tuple((f.key, f.default(options)) for f in active_filters(options)))


def parse_query(query: str | dict, options: FilterOptions) -> tuple[FilterState, list[str]]:
    """Filter state from a URL/CLI query string; bad or unknown keys are dropped and reported, never applied."""
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else list(query.items())
    raw = {}
    problems = []
    for key, value in pairs:
        if key not in FILTERS_BY_KEY:
            problems.append("An unknown filter key was ignored.")
            continue
        raw[key] = value if isinstance(value, str) else ",".join(value)
    values = []
    for flt in active_filters(options):
        value = flt.default(options)
        if flt.key in raw:
            try:
                value = flt.parse(raw[flt.key], options)
            except FilterValueError as exc:
                problems.append(f"{exc} The filter was reset.")
        values.append((flt.key, value))
    offered = {flt.key for flt in active_filters(options)}
    problems += [f"The filter '{key}' does not apply to this cohort and was ignored."
                 for key in raw if key not in offered]
    return FilterState(tuple(values)), problems


def to_query(state: FilterState, options: FilterOptions) -> str:
    """The query string for a state; filters at their default are left out to keep links short."""
    pairs = [(f.key, f.format(state.get(f.key), options)) for f in active_filters(options)
             if not f.is_default(state.get(f.key), options)]
    return urlencode(pairs, safe=",+-")


def predicates(table: ir.Table, state: FilterState, options: FilterOptions) -> list[tuple[Filter, ir.BooleanValue]]:
    """The row predicates of the filters that remove anyone, in the fixed filter order."""
    out = []
    for flt in active_filters(options):
        pred = flt.predicate(table, state.get(flt.key), options)
        if pred is not None:
            out.append((flt, pred))
    return out


def apply(table: ir.Table, state: FilterState, options: FilterOptions) -> ir.Table:
    """The table with every filter applied."""
    preds = [p for _, p in predicates(table, state, options)]
    return table.filter(preds) if preds else table


def describe(state: FilterState, options: FilterOptions, with_definition: bool = True) -> str:
    """The cohort in plain English, e.g. "women aged 40–79 at sites A and B; excluding pregnancy"."""
    population = [f.describe(state.get(f.key), options) for f in active_filters(options) if f.key != "def"]
    population = [p for p in population if p]
    text = "; ".join(population) if population else "all participants"
    if with_definition and state.definition:
        text += f" ({FILTERS_BY_KEY['def'].describe(state.definition, options)})"
    return text
