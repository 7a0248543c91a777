"""The variables an analysis may use as exposure, stratifier or adjuster — a whitelist built from the loaded schema.

Names are the ones users type (CLI flags, URL keys): ``age``, ``sex``, ``site``, ``drug``, ``year`` and the
mapping's covariate and exclusion names. ``age:spline`` asks for a natural cubic spline of age. Anything else
is refused with the list of valid names; user text never becomes a column name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from queries.protocol import CohortInfo

SPLINE_SUFFIX = ":spline"
SEX_GROUPS = {"female": "women", "male": "men"}  # canonical sex code → group name in text and tables
BUILT_IN = (  # (name, canonical column, kind, label)
    ("age", "age", "numeric", "age"),
    ("sex", "sex", "categorical", "sex"),
    ("site", "site", "categorical", "site"),
    ("drug", "treatment", "categorical", "drug"),
    ("year", "baseline_year", "numeric", "baseline year"),
)


class AnalysisInputError(ValueError):
    """An analysis option that does not fit the loaded cohort; the message lists the valid choices."""


@dataclass(frozen=True)
class Variable:
    name: str
    column: str
    kind: str  # "numeric" | "categorical" | "binary"
    label: str
    spline: bool = False

    @property
    def display(self) -> str:
        return f"{self.label} (natural spline)" if self.spline else self.label


def catalog(info: CohortInfo) -> dict[str, Variable]:
    """Every variable of the loaded cohort, by user-facing name."""
    out = {name: Variable(name, col, kind, label) for name, col, kind, label in BUILT_IN if col in info.schema}
    for name, cov in info.mapping.covariates.items():
        if f"cov_{name}" in info.schema:
            out[name] = Variable(name, f"cov_{name}", cov.type, cov.label)
    for name, exc in info.mapping.exclusions.items():
        if f"exclude_{name}" in info.schema:
            out[name] = Variable(name, f"exclude_{name}", "binary", exc.label)
    return out


def two_level(engine) -> dict[str, Variable]:
    """The cohort's two-level variables: sex, the yes/no variables (exclusion flags), then the categorical
    covariates with exactly two levels in the whole cohort (its structure, not a count)."""
    from queries.cohort import column_levels

    variables = catalog(engine.info)
    categorical = {n: v.column for n, v in variables.items() if v.column.startswith("cov_") and v.kind ==
                   "categorical"}
    found = column_levels(engine, list(categorical.values()))
    sex = {n: v for n, v in variables.items() if n == "sex"}
    flags = {n: v for n, v in variables.items() if v.kind == "binary"}
    return sex | flags | {n: variables[n] for n, column in categorical.items() if len(found[column]) == 2}


def resolve(name: str, variables: dict[str, Variable], purpose: str) -> Variable:
    """One variable by name (``age:spline`` allowed for numeric variables), or a clear error."""
    base, spline = (name[: -len(SPLINE_SUFFIX)], True) if name.endswith(SPLINE_SUFFIX) else (name, False)
    if base not in variables:
        raise AnalysisInputError(f"Unknown {purpose}. Choose from: {', '.join(sorted(variables))}.")
    variable = variables[base]
    if spline and variable.kind != "numeric":
        raise AnalysisInputError(f"Only a numeric {purpose} can enter as a spline.")
    return replace(variable, spline=spline)


def resolve_all(names: tuple[str, ...], variables: dict[str, Variable], purpose: str) -> tuple[Variable, ...]:
    resolved = tuple(resolve(n, variables, purpose) for n in names)
    if len({v.column for v in resolved}) != len(resolved):
        raise AnalysisInputError(f"Each {purpose} may be named once.")
    return resolved
