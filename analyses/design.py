"""Design matrices for models fitted on covariate-pattern tables.

Numeric variables enter linearly, or as a natural cubic spline with knots at quantiles of the people; categorical
variables as indicators against their first level in sorted order (R's default); binary variables as one
indicator of "yes".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyses.stats.glm import NaturalSpline
from analyses.variables import Variable

SPLINE_DF = 4


@dataclass(frozen=True)
class Term:
    variable: Variable
    spline: NaturalSpline | None = None
    levels: tuple = ()

    @property
    def columns(self) -> list[str]:
        v = self.variable
        if self.spline is not None:
            return [f"ns({v.name}){i}" for i in range(1, self.spline.df + 1)]
        if v.kind == "numeric":
            return [v.name]
        if v.kind == "binary":
            return [f"{v.name}[yes]"]
        return [f"{v.name}[{level}]" for level in self.levels[1:]]

    def formula(self) -> str:
        v = self.variable
        if self.spline is not None:
            return self.spline.describe(v.name)
        return v.name if v.kind in ("numeric", "binary") else f"factor({v.name})"

    def encode(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = frame[self.variable.column]
        if self.spline is not None:
            return pd.DataFrame(self.spline.basis(values.to_numpy(dtype=float)), columns=self.columns,
                                index=frame.index)
        if self.variable.kind == "numeric":
            return pd.DataFrame({self.columns[0]: values.astype(float)}, index=frame.index)
        if self.variable.kind == "binary":
            return pd.DataFrame({self.columns[0]: values.astype(bool).astype(float)}, index=frame.index)
        text = values.astype(str)
        return pd.DataFrame({col: (text == str(level)).astype(float) for col, level in
                             zip(self.columns, self.levels[1:])}, index=frame.index)


def undefined_spline_note(terms: list[Term]) -> str | None:
    """The note for spline terms whose basis is undefined in this cohort (models with them are withheld)."""
    bad = [t.variable.label for t in terms if t.spline is not None and not t.spline.defined]
    return (f"The natural spline of {', '.join(bad)} cannot be formed in this cohort (too many people share the "
            "highest value, so its knots coincide); models adjusted for it are withheld.") if bad else None


def make_term(variable: Variable, frame: pd.DataFrame, weights: str) -> Term:
    """The term for a variable, its knots or levels taken from the people in ``frame`` (``weights`` = counts)."""
    values = frame[variable.column]
    if variable.spline:
        return Term(variable, spline=NaturalSpline.from_counts(values.to_numpy(dtype=float),
                                                               frame[weights].to_numpy(), SPLINE_DF))
    if variable.kind == "categorical":
        return Term(variable, levels=tuple(sorted(values.astype(str).unique())))
    return Term(variable)


def design_matrix(frame: pd.DataFrame, terms: list[Term], leading: pd.DataFrame | None = None) -> pd.DataFrame:
    """Intercept, then ``leading`` columns (e.g. the exposure), then each term's columns."""
    parts = [pd.DataFrame({"Intercept": np.ones(len(frame))}, index=frame.index)]
    parts += [leading] if leading is not None else []
    parts += [term.encode(frame) for term in terms]
    return pd.concat(parts, axis=1)


def formula(outcome: str, leading: list[str], terms: list[Term]) -> str:
    rhs = leading + [t.formula() for t in terms]
    return f"{outcome} ~ {' + '.join(rhs) if rhs else '1'}"
