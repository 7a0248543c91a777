"""The deployment's disclosure policy: which method releases counts, and how released counts are displayed.

Two methods (``[disclosure] method`` in ``dashboard.toml``, never a URL or a widget):

- ``cell_key`` (the default): every count is perturbed by the cell key method (``disclosure.ptable``) at the
  engine's exit (``queries.release``), so the same participants always give the same released count and a
  difference of two views is noise. Continuous values are grouped before release.
- ``exact``: exact counts (equal to R), for analysts entitled to the rows. It does not defend against
  differencing: two views or options that differ by a few participants give their exact number away.

Either way, a released count from 1 to k−1 is shown as "<k" and statistics computed from such a cell are withheld.
In exact mode, when one cell of a group is suppressed the next smallest is suppressed too, so the hidden cell cannot
be recovered from the total (complementary suppression); in cell-key mode totals are perturbed independently of
their parts, so no complementary cell is needed. ``min_cell = 0`` means exact numbers with no threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from disclosure.ptable import PTableParams

DEFAULT_MIN_CELL = 11
METHODS = ("cell_key", "exact")
DEFAULT_METHOD = "cell_key"
CONTINUOUS_DIGITS = 3  # cell-key mode: numeric values are released grouped to this many significant digits
TIME_STEP_DAYS = 7  # cell-key mode: follow-up times are released grouped to whole weeks


@dataclass(frozen=True)
class DisclosurePolicy:
    """How counts are released (``method``) and shown: counts below ``min_cell`` (and above zero) are never shown.

    ``min_cell = 0`` means exact numbers with no threshold, whatever ``method`` says."""

    min_cell: int = DEFAULT_MIN_CELL
    method: str = DEFAULT_METHOD

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"Unknown disclosure method. Choose from: {', '.join(METHODS)}.")
        if self.min_cell < 0:
            raise ValueError("The small-cell threshold must be zero or more.")

    @property
    def perturbed(self) -> bool:
        """True when released counts are perturbed by the cell key method."""
        return self.method == "cell_key" and self.min_cell > 0

    @property
    def max_perturbation(self) -> int:
        """The most a released count may differ from the true one (the published ptable's D; 0 when exact)."""
        return PTableParams().max_perturbation if self.perturbed else 0

    @property
    def continuous_digits(self) -> int | None:
        """Significant digits numeric values are grouped to before release (None: exact values)."""
        return CONTINUOUS_DIGITS if self.perturbed else None

    @property
    def time_step_days(self) -> int | None:
        """Days follow-up times are grouped to before release (None: exact times)."""
        return TIME_STEP_DAYS if self.perturbed else None

    def is_small(self, count: int | None) -> bool:
        return count is not None and 0 < count < self.min_cell

    def small_cells(self, counts) -> np.ndarray:
        """:meth:`is_small` over an array of counts at once (NaN/missing counts are not small)."""
        values = np.asarray(counts, dtype=float)
        return (values > 0) & (values < self.min_cell)

    def show_count(self, count: int | None) -> str:
        """A count as it may be displayed."""
        if count is None:
            return "–"
        return f"<{self.min_cell}" if self.is_small(count) else f"{count:,}"

    def suppressed_cells(self, counts: list[int]) -> set[int]:
        """Indices of cells to hide in one group of counts that add up to a shown total.

        Primary suppression hides small cells; if exactly one cell is hidden, the next smallest non-zero cell is
        hidden as well (complementary suppression).
        """
        hidden = {i for i, c in enumerate(counts) if self.is_small(c)}
        if len(hidden) == 1 and not self.perturbed:
            others = sorted((c, i) for i, c in enumerate(counts) if i not in hidden and c > 0)
            if others:
                hidden.add(others[0][1])
        return hidden

    def attrition_cells(self, remaining: list[int], removed: list[int]) -> list[tuple[str, str]]:
        """(removed, remaining) as displayable text for a chain of nested cohort sizes (``removed[0]`` is unused).

        Cell-key mode: each count is released as its own cell, so each is shown (or "<k") on its own. Exact mode:
        consecutive sizes give away what each step removed, so once a step removes 1 … k−1 that step and the ones
        after it are withheld; the final size is shown only if what it hides since the last shown size is zero or
        at least k."""
        if self.perturbed:
            return [("", self.show_count(remaining[0]))] + [
                (self.show_count(gone), self.show_count(left)) for gone, left in zip(removed[1:], remaining[1:])]
        cells = [("", self.show_count(remaining[0]))]
        last_shown, hiding = remaining[0], False
        for before, after in zip(remaining, remaining[1:]):
            gone = before - after
            hiding = hiding or self.is_small(gone)
            if hiding:
                cells.append((self.show_count(gone) if self.is_small(gone) else "withheld", "withheld"))
            else:
                cells.append((self.show_count(gone), self.show_count(after)))
                last_shown = after
        if hiding and not self.is_small(last_shown - remaining[-1]):
            cells[-1] = (cells[-1][0], self.show_count(remaining[-1]))
        return cells

    def outcome_counts(self, n: int, cases: int, known: int) -> dict[str, str]:
        """Cases and known outcomes as they may be shown beside N. Exact mode: known = cases + non-cases and
        N − known = unknowns, so "known" is withheld when the non-cases or the unknowns are 1 … k−1."""
        if self.is_small(n):
            return {"cases": "withheld", "known": "withheld"}
        hide_known = self.is_small(known) or (not self.perturbed and self.any_small(known - cases, n - known))
        return {"cases": self.show_count(cases), "known": "withheld" if hide_known else self.show_count(known)}

    @property
    def note(self) -> str:
        """The disclosure note every caption, CSV header, slide and report carries."""
        if self.min_cell <= 1:
            return "Exact counts; small-cell suppression is off."
        small = (f"Counts from 1 to {self.min_cell - 1} are shown as <{self.min_cell}, with figures derived from "
                 "them withheld.")
        if not self.perturbed:
            return f"Exact counts. {small}"
        return (f"Counts are perturbed (cell key method, at most ±{PTableParams().max_perturbation}); totals need "
                "not equal "
                f"the sum of their parts, and estimates are computed from the perturbed counts. {small}")

    def gate_frame(self, frame: pd.DataFrame, cells: list[str], hide: list[str],
                   group_by: list[str] | None = None) -> pd.DataFrame:
        """A table with small cells withheld: rows where any of ``cells`` is 1 … k−1 are suppressed, plus a
        complementary row per group when only one row of the group would be (so totals cannot give it away).

        Suppressed rows keep their labels, get ``suppressed = True``, and have ``cells`` and ``hide`` set to None.
        """
        out = frame.copy()
        out["suppressed"] = False
        groups = out.groupby(group_by, sort=False, dropna=False).groups.values() if group_by else [out.index]
        for index in groups:
            part = out.loc[index]
            small = part[cells].apply(lambda col: col.map(self.is_small)).any(axis=1)
            hidden = set(part.index[small])
            if len(hidden) == 1 and not self.perturbed:
                sizes = part.loc[~small, cells[0]]
                sizes = sizes[sizes > 0]
                if len(sizes):
                    hidden.add(sizes.idxmin())
            out.loc[list(hidden), "suppressed"] = True
        columns = [c for c in cells + hide if c in out.columns]
        out[columns] = out[columns].astype(object)
        out.loc[out["suppressed"], columns] = None
        return out

    def any_small(self, *counts: int) -> bool:
        """True when any count is 1 … k−1."""
        return any(self.is_small(int(c)) for c in counts)

    def withholds(self, *counts: int) -> bool:
        """True when an estimate built on these released counts is withheld: in exact mode when any is 1 … k−1 (it
        could be inverted to the exact small count); never in cell-key mode, where it can only be inverted to a
        perturbed count (the counts themselves still show as "<k")."""
        return not self.perturbed and self.any_small(*counts)
