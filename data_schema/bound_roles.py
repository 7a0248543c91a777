"""Which roles a mapping binds, and what each missing one would enable: the roles section of the validation report.

The role names are the mapping file's own vocabulary (a ``[columns]`` key or a section), so a missing role says
where it goes: ``participant_id``, ``sex``, ``age``, ``site``, ``baseline_year`` (``[columns]``), ``outcome``
(``[outcomes.NAME]``), ``biomarker``, ``treatment``, ``time_to_event`` (its event and time columns),
``exclusion`` (``[exclusions.NAME]``) and ``covariate`` (``[covariates.NAME]``). Upper layers (the analyses)
declare what they need in these names. Nothing here reads data: only the mapping's column names are used.
"""

from __future__ import annotations

from dataclasses import dataclass

from data_schema.mapping import Mapping
from data_schema.validation import MissingRole, RoleBinding, RolesSection


@dataclass(frozen=True)
class RoleUse:
    role: str
    where: str  # where the mapping file binds it
    enables: str  # one sentence: what binding it would enable


ROLE_USES = (
    RoleUse("participant_id", "[columns] participant_id",
            "your own participant keys and the check that each participant appears once (row numbers are used "
            "without it)."),
    RoleUse("sex", "[columns] sex with [codes.sex]",
            "odds ratios by sex, sex-specific prevalence and Table 1 by sex."),
    RoleUse("age", "[columns] age",
            "age-prevalence curves, age bands, age filters and age as a stratifier or adjuster."),
    RoleUse("site", "[columns] site", "site filters and site as a stratifier or adjuster."),
    RoleUse("baseline_year", "[columns] baseline_year", "baseline-year filters and year as an adjuster."),
    RoleUse("outcome", "[outcomes.NAME]", "odds ratios and prevalence (each outcome is a case definition)."),
    RoleUse("biomarker", "[biomarker]",
            "biomarker risk together with a time to event (risk, rates, odds and hazard ratios per biomarker band)."),
    RoleUse("treatment", "[treatment]", "drug filters and analyses of treated participants only."),
    RoleUse("time_to_event", "[time_to_event] event and time",
            "biomarker risk together with a biomarker (person-years, hazard ratios, Kaplan-Meier curves)."),
    RoleUse("exclusion", "[exclusions.NAME]", "exclusion filters (leave out participants with a condition)."),
    RoleUse("covariate", "[covariates.NAME]", "further strata, adjusters and filters."),
)
ROLES = tuple(use.role for use in ROLE_USES)


def bound_roles(mapping: Mapping) -> dict[str, RoleBinding]:
    """Role -> its binding, for every role the mapping binds (in the order of :data:`ROLES`)."""
    found: dict[str, RoleBinding] = {}
    for role in ("participant_id", "sex", "age", "site", "baseline_year"):
        if role in mapping.columns:
            found[role] = RoleBinding(role, (mapping.columns[role],))
    if mapping.outcomes:
        found["outcome"] = _named("outcome", {n: o.column for n, o in mapping.outcomes.items()})
    if mapping.biomarker:
        found["biomarker"] = RoleBinding("biomarker", (mapping.biomarker.column,))
    if mapping.treatment:
        found["treatment"] = RoleBinding("treatment", (mapping.treatment.column,))
    if mapping.time_to_event:
        tte = mapping.time_to_event
        found["time_to_event"] = RoleBinding("time_to_event", tuple(dict.fromkeys((tte.event, tte.time))))
    if mapping.exclusions:
        found["exclusion"] = _named("exclusion", {n: e.column for n, e in mapping.exclusions.items()})
    if mapping.covariates:
        found["covariate"] = _named("covariate", {n: c.column for n, c in mapping.covariates.items()})
    return {role: found[role] for role in ROLES if role in found}


def _named(role: str, columns: dict[str, str]) -> RoleBinding:
    return RoleBinding(role, tuple(dict.fromkeys(columns.values())), tuple(columns))


def roles_section(mapping: Mapping) -> RolesSection:
    """The report's roles section: what the mapping binds, and each missing role with what it would enable."""
    bound = bound_roles(mapping)
    missing = tuple(MissingRole(use.role, use.where, use.enables) for use in ROLE_USES if use.role not in bound)
    return RolesSection(mapping.path.name if mapping.path else None, tuple(bound.values()), missing)
