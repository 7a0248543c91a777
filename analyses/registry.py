"""The analyses: one declaration each (``analyses.spec.AnalysisSpec``, in ``analyses/specs/``), listed here once.
The CLI, the pages, the report and the validation iterate over :data:`ANALYSES`; none keys anything by name. Every
count an analysis uses comes from the release layer (``queries.release``), so no analysis decides disclosure for
itself.

:func:`enabled_analyses` says, for a mapping, which analyses it enables and which roles the others miss (role names
of the validation report, ``data_schema.bound_roles``). The data layer lists roles only."""

from __future__ import annotations

from dataclasses import dataclass

from analyses.context import AnalysisContext
from analyses.figures.figure import Figure
from analyses.results import AnalysisResult, TestResult
from analyses.spec import AnalysisSpec, RoleNeed
from analyses.specs import biomarker_risk, diagnostic, funnel, odds_ratio, prevalence, risk_factors, spc
from data_schema.bound_roles import bound_roles
from data_schema.mapping import Mapping

SPECS: tuple[AnalysisSpec, ...] = (odds_ratio.SPEC, prevalence.SPEC, biomarker_risk.SPEC, diagnostic.SPEC,
                                   risk_factors.SPEC, spc.SPEC, funnel.SPEC)
ANALYSES: dict[str, AnalysisSpec] = {spec.name: spec for spec in SPECS}
PAGE_ANALYSES: tuple[AnalysisSpec, ...] = tuple(spec for spec in SPECS if spec.page)  # with a dashboard page

__all__ = ["ANALYSES", "PAGE_ANALYSES", "RoleNeed", "enabled_analyses", "figures_for", "run_analysis", "spec_of"]


def spec_of(result_or_name: AnalysisResult | str) -> AnalysisSpec:
    """The declaration of an analysis, by name or from one of its results."""
    name = result_or_name if isinstance(result_or_name, str) else result_or_name.analysis
    return ANALYSES[name]


def run_analysis(ctx: AnalysisContext, name: str, opts) -> AnalysisResult:
    """Run one analysis by its CLI name with its options object (raises ``AnalysisInputError`` for an input the
    cohort cannot serve)."""
    return ANALYSES[name].run(ctx, opts)


def figures_for(result: AnalysisResult) -> list[Figure]:
    """The figures of ``result`` (none when it holds nothing to draw, e.g. a cohort too small)."""
    return spec_of(result).figures(result)


def stated_tests(result: AnalysisResult) -> list[TestResult]:
    """The tests a view of ``result`` states in words."""
    return spec_of(result).stated_tests(result)


@dataclass(frozen=True)
class Availability:
    """Whether a mapping enables one analysis: the roles it misses (with what each is for) and notes on default
    options that need a role the mapping lacks."""

    analysis: str
    missing: tuple[RoleNeed, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return not self.missing

    @property
    def missing_roles(self) -> tuple[str, ...]:
        return tuple(need.role for need in self.missing)

    def to_dict(self) -> dict:
        return {"enabled": self.enabled, "missing_roles": list(self.missing_roles),
                "missing": [{"role": n.role, "use": n.use, "instead": n.instead} for n in self.missing],
                "notes": list(self.notes)}

    def describe(self) -> str:
        if self.enabled:
            return "enabled" + "".join(f"; {note}" for note in self.notes)
        needs = "; ".join(f"{n.role} ({n.use}{', ' + n.instead if n.instead else ''})" for n in self.missing)
        return f"not enabled, missing role(s): {needs}"


def enabled_analyses(mapping: Mapping) -> dict[str, Availability]:
    """Per analysis (in the order of :data:`ANALYSES`): enabled, or the roles the mapping lacks for it."""
    bound = bound_roles(mapping)
    out = {}
    for name, spec in ANALYSES.items():
        missing = tuple(need for need in spec.needs if need.role not in bound)
        notes = tuple(f"its default options use {need.role} ({need.use}), which is not mapped: {need.instead}"
                      for need in spec.default_option_roles if need.role not in bound)
        out[name] = Availability(name, missing, notes if not missing else ())
    return out
