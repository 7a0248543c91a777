"""Result objects: one frozen object per analysis run feeds the screen, the CLI JSON, CSV exports and slides.

Every number in a result has already passed the disclosure gate (``disclosure.policy``): a suppressed value is
``None`` and a note says why, so no consumer can show what the gate withheld.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd

from disclosure.policy import DisclosurePolicy


@dataclass(frozen=True)
class Estimate:
    """One effect measure. ``band``/``reference`` name the compared groups where bands are compared."""

    measure: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    method: str
    band: str | None = None
    reference: str | None = None
    label: str = ""
    group: str | None = None  # e.g. "women" for a per-sex estimate
    standard: str | None = None  # standard population of a standardized estimate


@dataclass(frozen=True)
class TestResult:
    test: str
    statistic: float | None
    df: int | None
    p_value: float | None
    method: str


@dataclass(frozen=True)
class CohortSummary:
    """Which data and which participants: printed on every output."""

    label: str
    data_hash: str
    filters: str  # the URL/CLI query string
    description: str  # the filters in English
    min_cell: int
    method: str = "cell_key"  # the disclosure method the counts were released under

    @property
    def policy(self) -> DisclosurePolicy:
        """The disclosure policy the counts were released under (for the notes printed with them)."""
        return DisclosurePolicy(self.min_cell, self.method)

    @property
    def disclosure_note(self) -> str:
        return self.policy.note


@dataclass(frozen=True)
class AnalysisResult:
    """An analysis as it may leave the system: estimates, tests, named tidy tables, notes, and how it was made.

    ``details`` is the analysis's own frozen dataclass of what only it reports (e.g. ``OddsRatioDetails``, defined
    next to the analysis); the CLI JSON flattens its fields beside the common keys."""

    analysis: str
    title: str
    cohort: CohortSummary
    n: int | None
    estimates: tuple[Estimate, ...]
    tests: tuple[TestResult, ...]
    notes: tuple[str, ...]
    tables: tuple[tuple[str, pd.DataFrame], ...]
    caption: str
    methods: str
    formulas: tuple[str, ...] = ()
    queries: tuple[str, ...] = ()
    details: Any = None  # a frozen dataclass instance of the analysis's details, or None

    def table(self, name: str) -> pd.DataFrame:
        return dict(self.tables)[name].copy()

    def to_frame(self) -> pd.DataFrame:
        """The main tidy table of this analysis (a copy)."""
        return self.tables[0][1].copy() if self.tables else self.estimates_frame()

    def estimates_frame(self) -> pd.DataFrame:
        columns = list(Estimate.__dataclass_fields__)
        return pd.DataFrame([vars(e) for e in self.estimates], columns=columns)

    def tests_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(t) for t in self.tests], columns=list(TestResult.__dataclass_fields__))

    def estimate(self, measure: str, band: str | None = None) -> Estimate | None:
        return next((e for e in self.estimates if e.measure == measure and (band is None or e.band == band)), None)

    def test(self, name: str) -> TestResult | None:
        return next((t for t in self.tests if t.test == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of the CLI (see the README): analysis, n, filters, estimates, tests, notes, tables."""
        out: dict[str, Any] = {
            "analysis": self.analysis, "n": self.n, "filters": self.cohort.filters,
            "cohort": vars(self.cohort).copy(),
            "estimates": [vars(e).copy() for e in self.estimates],
            "tests": [vars(t).copy() for t in self.tests],
            "notes": list(self.notes),
        }
        out |= {name: frame.to_dict(orient="records") for name, frame in self.tables}
        details = self.details_dict()
        clashes = set(out) & set(details)
        if clashes:
            raise ValueError(f"details would overwrite {sorted(clashes)} in the JSON contract")
        out |= details
        out |= {"caption": self.caption, "methods": self.methods, "formulas": list(self.formulas),
                "queries": list(self.queries), "software": software_versions()}
        return _clean(out)

    def details_dict(self) -> dict[str, Any]:
        """The analysis's details as a flat dictionary of its fields (empty when it has none)."""
        return dataclasses.asdict(self.details) if self.details is not None else {}

    def to_json(self, indent: int | None = 2) -> str:
        """Deterministic JSON: the same analysis on the same data gives the same bytes."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)


class ResultBuilder:
    """Collects what an analysis finds while it runs — notes, estimates, tests, tables, formulas and queries, each
    in the order given — and :meth:`build` returns the frozen :class:`AnalysisResult`."""

    def __init__(self, analysis: str, cohort: CohortSummary):
        self.analysis = analysis
        self.cohort = cohort
        self._notes: list[str] = []
        self._estimates: list[Estimate] = []
        self._tests: list[TestResult] = []
        self._tables: list[tuple[str, pd.DataFrame]] = []
        self._formulas: list[str] = []
        self._queries: list[str] = []

    @property
    def notes(self) -> tuple[str, ...]:
        """The notes so far."""
        return tuple(self._notes)

    def note(self, *texts: str) -> None:
        self._notes.extend(texts)

    def note_once(self, text: str) -> None:
        """A note unless the same note is already there (a reason shared by several parts of an analysis)."""
        if text not in self._notes:
            self._notes.append(text)

    def estimate(self, *estimates: Estimate) -> None:
        self._estimates.extend(estimates)

    def test(self, *tests: TestResult) -> None:
        self._tests.extend(tests)

    def table(self, name: str, frame: pd.DataFrame) -> None:
        self._tables.append((name, frame))

    def formula(self, *texts: str) -> None:
        self._formulas.extend(texts)

    def query(self, *sql: str) -> None:
        self._queries.extend(sql)

    def build(self, *, title: str, caption: str, methods: str, n: int | None, details: Any) -> AnalysisResult:
        """The frozen result of everything collected."""
        return AnalysisResult(self.analysis, title, self.cohort, n, tuple(self._estimates), tuple(self._tests),
                              tuple(self._notes), tuple(self._tables), caption, methods, tuple(self._formulas),
                              tuple(self._queries), details)


def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN/NA to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return value


@cache
def software_versions() -> dict[str, str]:
    """Versions of the software that computed a result (shown in "How this was computed" and in exports)."""
    packages = ("statsmodels", "scipy", "numpy", "pandas", "duckdb", "ibis-framework", "altair", "vl-convert-python")
    return {"python": platform.python_version()} | {p: version(p) for p in packages}
