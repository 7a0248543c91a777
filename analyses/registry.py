"""The analyses by name: the CLI, the pages and the report all run them through here. Every count they use comes
from the release layer (``queries.release``), so no analysis decides disclosure for itself.

``ROLES_NEEDED`` declares the roles each analysis needs, in the role names of the validation report
(``data_schema.bound_roles``); :func:`enabled_analyses` says, for a mapping, which analyses it enables and which
roles the others miss. The data layer lists roles only; what they enable by analysis name is declared here."""

from __future__ import annotations

from dataclasses import dataclass

from analyses.biomarker_risk import biomarker_risk
from analyses.context import AnalysisContext
from analyses.diagnostic import diagnostic
from analyses.odds_ratio import odds_ratio
from analyses.prevalence import prevalence
from analyses.results import AnalysisResult
from data_schema.bound_roles import bound_roles
from data_schema.mapping import Mapping

ANALYSES = {"odds-ratio": odds_ratio, "prevalence": prevalence, "biomarker-risk": biomarker_risk,
            "diagnostic": diagnostic}


def run_analysis(ctx: AnalysisContext, name: str, opts) -> AnalysisResult:
    """Run one analysis by its CLI name with its options object (raises ``AnalysisInputError`` for an input the
    cohort cannot serve)."""
    return ANALYSES[name](ctx, opts)


@dataclass(frozen=True)
class RoleNeed:
    """A role an analysis uses, what for, and (if any) how to run without it."""

    role: str
    use: str
    instead: str = ""


ROLES_NEEDED: dict[str, tuple[RoleNeed, ...]] = {
    "odds-ratio": (
        RoleNeed("outcome", "the binary outcome"),
        RoleNeed("sex", "the two-level exposure (sex by default)",
                 "or name another two-level exposure with --exposure (a covariate or exclusion flag)"),
    ),
    "prevalence": (
        RoleNeed("outcome", "the binary outcome"),
        RoleNeed("age", "the age bands and the age curve"),
    ),
    "biomarker-risk": (
        RoleNeed("biomarker", "the biomarker whose bands are compared"),
        RoleNeed("time_to_event", "the event and the follow-up time"),
    ),
    "diagnostic": (
        RoleNeed("outcome", "the reference standard"),
        RoleNeed("covariate", "the index test (a binary or numeric variable)",
                 "or name an exclusion flag with --test"),
    ),
}
# Roles an analysis's default options use, though it runs without them with other options.
DEFAULT_OPTION_ROLES: dict[str, tuple[RoleNeed, ...]] = {
    "prevalence": (RoleNeed("sex", "prevalence per sex", "it shows one curve for everyone instead"),),
    "odds-ratio": (RoleNeed("age", "the default stratifier and adjuster", "run it with --strata none --adjust none "
                            "(or a stratifier and adjusters the mapping has)"),),
}


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
    for name in ANALYSES:
        missing = tuple(need for need in ROLES_NEEDED[name] if need.role not in bound)
        notes = tuple(f"its default options use {need.role} ({need.use}), which is not mapped: {need.instead}"
                      for need in DEFAULT_OPTION_ROLES.get(name, ()) if need.role not in bound)
        out[name] = Availability(name, missing, notes if not missing else ())
    return out
