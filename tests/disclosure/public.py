"""What a user sees, and nothing else: the attacker's only window on a cohort.

Each method returns a public output under a disclosure policy, as the pages, the CLI JSON and the exports show it:
the Overview metrics (``queries.cohort.outcome_counts`` through ``DisclosurePolicy.outcome_counts``), attrition
(``queries.cohort.attrition`` through ``DisclosurePolicy.attrition_cells``), Table 1 (``analyses.table_one``), an
analysis result (``analyses.registry.run_analysis``) and the load report (``queries.release.release_report``).
Displayed text is read back with :func:`read` ("<11", "withheld" and "–" read as ``None``: the attacker cannot
see a number there). Results are cached per (view, policy), as a browser tab would keep them.
"""

from __future__ import annotations

import math
import numbers
import re

import pandas as pd

from analyses.context import AnalysisContext
from analyses.registry import run_analysis
from analyses.results import AnalysisResult
from analyses.table_one import table_one
from analyses.variables import AnalysisInputError
from data_schema.validation import ValidationReport
from disclosure.policy import DisclosurePolicy
from disclosure.ptable import PTableParams
from queries.cohort import attrition, outcome_counts, table_one_inputs, table_one_variables
from queries.filters import parse_query
from queries.release import release_report

CELL_KEY = DisclosurePolicy(11, "cell_key")
EXACT = DisclosurePolicy(11, "exact")
MODES = {"cell_key": CELL_KEY, "exact": EXACT}
MAX_PERTURBATION = PTableParams().max_perturbation  # published with the ptable: what the attacker knows
_NUMBER = re.compile(r"^-?[\d,]+$")


def read(text) -> int | None:
    """A displayed count as the attacker reads it: a number, or None for "<11", "withheld", "–", "" or a missing
    value. "12 (3.4%)" reads as 12."""
    if text is None:
        return None
    if isinstance(text, numbers.Integral) and not isinstance(text, bool):
        return int(text)
    if isinstance(text, numbers.Real):
        return None if math.isnan(text) else int(round(text))
    head = str(text).strip().split(" ")[0]
    return int(head.replace(",", "")) if _NUMBER.match(head) else None


def value(x) -> float | None:
    """A displayed number (estimate, CI, count) or None when it is withheld."""
    if x is None or x is pd.NA:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


class Viewer:
    """One user's view of one cohort under one policy."""

    def __init__(self, cohort, policy: DisclosurePolicy):
        self.cohort = cohort
        self.policy = policy
        self._cache: dict = {}

    def _state(self, state):
        parsed, problems = parse_query(state.query(), self.cohort.options)
        assert problems == [], (state.query(), problems)
        return parsed

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def overview(self, state) -> dict[str, int | None]:
        """The Overview's three metrics as displayed: Participants, Cases, Outcome known (None when not a number;
        all None when the page says the cohort is too small)."""
        def make():
            c = self.cohort
            counts = outcome_counts(c.engine, self._state(state), c.options, self.policy)
            if counts["n"] == 0 or self.policy.is_small(counts["n"]):
                return {"participants": None, "cases": None, "known": None}
            shown = {"participants": self.policy.show_count(counts["n"])}
            if "cases" in counts:
                shown |= self.policy.outcome_counts(counts["n"], counts["cases"], counts["known"])
            return {k: read(shown.get(k)) for k in ("participants", "cases", "known")}
        return self._cached(("overview", state), make)

    def attrition(self, state) -> list[tuple[str, int | None, int | None]]:
        """(step, removed, remaining) rows of the attrition table as displayed."""
        def make():
            c = self.cohort
            steps = attrition(c.engine, self._state(state), c.options, self.policy)
            cells = self.policy.attrition_cells([s.remaining for s in steps], [s.removed for s in steps])
            return [(s.description, read(r), read(left)) for s, (r, left) in zip(steps, cells)]
        return self._cached(("attrition", state), make)

    def table_one(self, state, by: str | None = "sex") -> pd.DataFrame:
        """Table 1 grouped by ``by`` (sex by default) as displayed (``TableOne.to_frame()``)."""
        def make():
            c = self.cohort
            inputs = table_one_inputs(c.engine, self._state(state), c.options, self.policy, by)
            variables = [(col, kind, col) for col, kind in table_one_variables(c.engine, by)]
            return table_one(inputs, variables, self.policy, str(state), by, by or "").to_frame()
        return self._cached(("table_one", state, by), make)

    def analysis(self, name: str, state, opts) -> AnalysisResult | None:
        """An analysis result as the page, CLI JSON and CSV exports show it; None when the cohort cannot serve it
        or the page shows "cohort too small"."""
        def make():
            c = self.cohort
            ctx = AnalysisContext(c.engine, self._state(state), c.options, self.policy)
            try:
                result = run_analysis(ctx, name, opts)
            except AnalysisInputError:
                return None
            return result if result.n else None
        return self._cached(("analysis", name, state, opts), make)

    def load_report(self, report: ValidationReport) -> dict:
        """The Data page's validation report: per file the displayed rows read, loaded and rejected; per finding
        the displayed rows and message."""
        released = release_report(report, self.policy, source=f"report-{id(report)}")  # each file its own data hash
        show = self.policy.show_count
        return {
            "accounts": {a.file: {"read": read(show(a.rows_read)), "loaded": read(show(a.rows_loaded)),
                                  "rejected": read(show(a.rows_rejected))} for a in released.accounts},
            "findings": [{"file": f.file, "rule": f.rule, "column": f.column,
                          "rows": read(show(f.count)) if f.count else None, "message": f.message}
                         for f in released.findings],
        }
