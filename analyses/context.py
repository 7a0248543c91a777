"""What every analysis run needs: the engine, the filter state, the disclosure policy — and the helpers to query
the filtered cohort and describe it."""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.types as ir

from analyses.results import CohortSummary
from analyses.variables import AnalysisInputError, Variable, catalog
from disclosure.policy import DisclosurePolicy
from queries import aggregates, filters
from queries.cohort import filter_options
from queries.filters import FilterOptions, FilterState
from queries.protocol import Engine
from queries.release import Released, release


@dataclass(frozen=True)
class AnalysisContext:
    engine: Engine
    state: FilterState
    options: FilterOptions
    policy: DisclosurePolicy = DisclosurePolicy()
    alpha: float = 0.05

    @classmethod
    def from_query(cls, engine: Engine, query: str,
                   policy: DisclosurePolicy) -> tuple["AnalysisContext", list[str]]:
        """A context from a dashboard/CLI query string; the second item lists filter values that were dropped."""
        options = filter_options(engine)
        state, problems = filters.parse_query(query, options)
        return cls(engine, state, options, policy), problems

    @property
    def query(self) -> str:
        """The filters as a dashboard/CLI query string (what a link or ``--filters`` carries)."""
        return filters.to_query(self.state, self.options)

    @property
    def description(self) -> str:
        """The filters in English, the case definition included (e.g. "RLS (four IRLSSG criteria); women")."""
        return filters.describe(self.state, self.options)

    @property
    def variables(self) -> dict[str, Variable]:
        return catalog(self.engine.info)

    def has(self, column: str) -> bool:
        return column in self.engine.info.schema

    def table(self, treated_only: bool = False) -> ir.Table:
        t = filters.apply(self.engine.table(), self.state, self.options)
        return aggregates.treated(t) if treated_only else t

    def release(self, expr: ir.Table) -> Released:
        """Run an aggregate query of cells and hold its counts for release under this context's policy."""
        return release(self.engine, expr, self.policy)

    def cohort(self) -> CohortSummary:
        info = self.engine.info
        return CohortSummary(info.label, info.data_hash, filters.to_query(self.state, self.options),
                             filters.describe(self.state, self.options, with_definition=False),
                             self.policy.min_cell, self.policy.method)

    def outcome_label(self, name: str) -> str:
        return self.engine.info.mapping.outcomes[name].label

    def outcome(self, name: str | None, purpose: str = "outcome") -> str:
        """The mapped outcome ``name`` (None: the case definition, else the mapping's first), or a clear error."""
        outcomes = self.engine.info.mapping.outcomes
        chosen = name or self.default_outcome()
        if chosen not in outcomes:
            raise AnalysisInputError(f"Unknown {purpose}. Choose from: {', '.join(outcomes) or 'none is mapped'}.")
        return chosen

    def default_outcome(self) -> str | None:
        outcomes = list(self.engine.info.mapping.outcomes)
        return self.state.definition or (outcomes[0] if outcomes else None)
