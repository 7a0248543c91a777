"""The differencing guard: a filter state is shown only if no neighbouring state differs from it by 1 … k−1.

A small-cell floor fails as soon as two views can be subtracted: "sites A and B" minus "site A" is site B. The
guard closes that for the counts every page shows — participants, and the cases, non-cases and unknowns of every
outcome, overall and by sex — with one rule checked on the state T itself:

    for every filter, every value v that T includes (a site, a sex, a 5-year age band, a baseline year, a drug,
    having a secondary cause while those are not yet excluded), each of those counts among T's participants with value v is 0 or at least k —
    unless that count in T is itself below k (and so never shown).

Why that suffices: if S is any other state and a count differs between T and S, some participant of T is not in S,
so S leaves out some value v of some filter that T includes; then every participant of T with value v is outside
S, and the difference includes that whole slice, which the rule makes 0 or at least k. The rule needs only T's
own slices, read from a small table built at load time (``queries.slices``), so it costs one aggregate query.
Counts below k in a table of one view (a band, a stratum) are handled by the table's own suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analyses.disclosure import DisclosurePolicy
from analyses.variables import AnalysisInputError
from queries import filters, slices
from queries.engine import CohortEngine
from queries.filters import FilterOptions, FilterState


@dataclass(frozen=True)
class Verdict:
    """Whether a state may be shown; ``filters`` names the filters whose single values would single out a few."""

    safe: bool
    filters: tuple[str, ...] = ()

    def message(self, min_cell: int) -> str:
        names = self.filters[0] if len(self.filters) == 1 else \
            ", ".join(self.filters[:-1]) + " or " + self.filters[-1]
        noun = "filter" if len(self.filters) == 1 else "filters"
        return (f"Nothing is shown for these filters: within them, one value of the {names} {noun} covers fewer "
                f"than {min_cell} participants in a count this view shows, so comparing this view with one "
                "that leaves that value out would reveal that small number. Widen the other filters, or keep "
                f"only the values you need in the {names} {noun}.")


class DifferencingRefused(AnalysisInputError):
    """The filter state fails the differencing guard (the message names the filters, never a count)."""


def slice_counts(engine: CohortEngine, state: FilterState, options: FilterOptions) -> pd.DataFrame:
    """The slice table restricted to the state's participants (by the filters' own predicates)."""
    return engine.execute(filters.apply(engine.slice_table(), state, options))


@dataclass(frozen=True)
class Shown:
    """Which counts a view shows: participants, and the cases, non-cases and unknowns of ``outcome`` (a case
    definition's name), overall and — with ``by_sex`` — for women and men."""

    outcome: str | None = None
    by_sex: bool = False

    def columns(self, available: list[str]) -> list[str]:
        cells = [f"outcome_{self.outcome}__{part}" for part in ("yes", "no", "unknown")] if self.outcome else []
        return ["n"] + [c for c in cells if c in available]


def check(engine: CohortEngine, state: FilterState, options: FilterOptions, policy: DisclosurePolicy,
          shown: Shown) -> Verdict:
    """The guard's verdict for one filter state and the counts a view shows (see the module docstring)."""
    if policy.min_cell <= 1 or not policy.differencing:
        return Verdict(True)
    return verdict(slice_counts(engine, state, options), options, policy, shown)


def verdict(cube: pd.DataFrame, options: FilterOptions, policy: DisclosurePolicy, shown: Shown) -> Verdict:
    """The verdict from a state's rows of the slice table."""
    counts = shown.columns(list(cube.columns))
    has_sex = shown.by_sex and "sex" in cube.columns
    cube = cube.assign(**{GROUP: cube["sex"].fillna(MISSING) if has_sex else ALL})
    visible = _shown_in_state(cube, counts, policy)
    failing = [flt.label.lower() for flt, column, part in _slicings(cube, options)
               if _has_small_slice(part, column, counts, visible, policy)]
    return Verdict(not failing, tuple(dict.fromkeys(failing)))


MISSING, ALL, GROUP, FLAG = "__missing__", "__all__", "__group__", "__flag__"


def _cells(frame: pd.DataFrame, keys: list[str], counts: list[str]) -> pd.DataFrame:
    """The shown counts per ``keys``: overall (group ``ALL``) and per display group (women, men)."""
    overall = frame.groupby(keys, dropna=False)[counts].sum().reset_index() if keys else \
        frame[counts].sum().to_frame().T
    per_group = frame.groupby([*keys, GROUP], dropna=False)[counts].sum().reset_index()
    return pd.concat([overall.assign(**{GROUP: ALL}), per_group[per_group[GROUP] != ALL]], ignore_index=True)


def _shown_in_state(cube: pd.DataFrame, counts: list[str], policy: DisclosurePolicy) -> pd.DataFrame:
    """Per display group (and ALL): True where the state's own count is shown exactly (0 or at least k)."""
    totals = _cells(cube, [], counts).set_index(GROUP)
    return pd.DataFrame(~policy.small_cells(totals[counts]), index=totals.index, columns=counts)


def _slicings(cube: pd.DataFrame, options: FilterOptions):
    """(filter, slicing column, frame) for each filter: the column splits the frame into the filter's slices."""
    for flt in filters.active_filters(options):
        if flt.key == "exclude":
            flags = [f"exclude_{name}" for name in options.exclusions if f"exclude_{name}" in cube.columns]
            with_any = cube[flags].fillna(False).astype(bool).any(axis=1) if flags else cube.index.isin([])
            yield flt, FLAG, cube[with_any].assign(**{FLAG: "any"})
        elif flt.key != "def" and flt.column in cube.columns:
            yield flt, flt.column, cube


def _has_small_slice(part: pd.DataFrame, column: str, counts: list[str], shown: pd.DataFrame,
                     policy: DisclosurePolicy) -> bool:
    """True when a slice has a count of 1 … k−1 where the state shows that count exactly."""
    if part.empty or (column != FLAG and part[column].nunique(dropna=False) < 2):
        return False  # one value only: its slice is the whole state, which the floor itself guards
    cells = _cells(part, [column], counts)
    small = policy.small_cells(cells[counts])
    visible = shown.reindex(cells[GROUP]).fillna(False).to_numpy(dtype=bool)
    return bool((small & visible).any())


def require_safe(engine: CohortEngine, state: FilterState, options: FilterOptions, policy: DisclosurePolicy,
                 shown: Shown) -> None:
    """Raise :class:`DifferencingRefused` when the state fails the guard."""
    result = check(engine, state, options, policy, shown)
    if not result.safe:
        raise DifferencingRefused(result.message(policy.min_cell))


def attrition_states(engine: CohortEngine, state: FilterState, options: FilterOptions) -> list[FilterState]:
    """The states behind the rows of the attrition table: none of the filters, then each removing filter added in
    the fixed filter order (as ``queries.cohort.attrition`` counts them)."""
    removing = [flt.key for flt, _ in filters.predicates(engine.table(), state, options)]
    defaults = dict(filters.default_state(options).values)
    out = []
    for i in range(len(removing) + 1):
        keep = set(removing[:i])
        out.append(FilterState(tuple((k, v if k in keep or k == "def" else defaults[k]) for k, v in state.values)))
    return out
