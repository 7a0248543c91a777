"""One declaration per analysis: everything the CLI, the pages, the report and the validation need to know about it.

An :class:`AnalysisSpec` names the analysis, its run function and options, the class of its results' details, the
roles it needs, its command-line arguments, the options its page opens with, its figures, its main table view, the
tests it states in words, the finding each figure's headline states, and the estimates a presentation shows beside a
figure. The registry
(``analyses.registry``) lists the specs; every other place iterates over it instead of keying dictionaries by name,
so adding an analysis means its own modules, its spec, its page and its tests.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from analyses.display import TableView
from analyses.figures.figure import Figure
from analyses.results import AnalysisResult, TestResult


@dataclass(frozen=True)
class RoleNeed:
    """A role an analysis uses, what for, and (if any) how to run without it."""

    role: str
    use: str
    instead: str = ""


@dataclass(frozen=True)
class CliArgument:
    """One argument of ``python -m analyses NAME`` that only this analysis reads (the shared ones — --data,
    --mapping, --outcome, --filters, the engine and disclosure arguments — are the CLI's own)."""

    flags: tuple[str, ...]
    options: dict = field(default_factory=dict)  # keyword arguments of ``ArgumentParser.add_argument``

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(*self.flags, **self.options)


def names_option(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated list of names from the command line (None when the option was not given; "none" → ())."""
    if text is None:
        return None
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    return () if names == ("none",) else names


def _no_findings(result: AnalysisResult) -> dict[str, str]:
    return {}


def _no_tests(result: AnalysisResult) -> list[TestResult]:
    return []


@dataclass(frozen=True)
class AnalysisSpec:
    """An analysis as the rest of the system sees it (see the module docstring).

    ``from_cli`` turns the parsed command line (shared and own arguments) into the options object;
    ``page_defaults`` gives the options a page opens with for a context (``None``: the options' defaults);
    ``findings`` maps a figure key to its headline; ``stated_tests`` gives the tests a view states in words."""

    name: str
    title: str  # the page's title and the report section's, e.g. "Sex differences"
    summary: str  # one line: what the analysis shows (the Overview's links, the CLI's help)
    run: Callable[[Any, Any], AnalysisResult]
    options: type
    details: type  # the frozen dataclass of ``AnalysisResult.details`` its results carry
    needs: tuple[RoleNeed, ...]
    from_cli: Callable[[argparse.Namespace], Any]
    figures: Callable[[AnalysisResult], list[Figure]]
    table_view: TableView
    arguments: tuple[CliArgument, ...] = ()
    default_option_roles: tuple[RoleNeed, ...] = ()  # roles its default options use, though it runs without them
    page_defaults: Callable[[Any], Any] | None = None
    findings: Callable[[AnalysisResult], dict[str, str]] = _no_findings
    stated_tests: Callable[[AnalysisResult], list[TestResult]] = _no_tests
    estimates_title: str | None = None  # the estimates table's heading in the report (None: no such table)
    presented_estimates: tuple[str, ...] = ()  # measures stated beside the figure in presentation mode
    metrics: Callable[[AnalysisResult], list] | None = None  # summary numbers shown as metrics on the page
    metrics_title: str = ""
    metrics_caption: Callable[[AnalysisResult], str] | None = None
    page: str | None = None  # the dashboard view (dashboard/views/…), None for a command-line-only analysis

    def default_options(self, ctx) -> Any:
        return self.page_defaults(ctx) if self.page_defaults else self.options()
