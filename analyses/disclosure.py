"""The disclosure gate: every count that leaves the system passes through here.

Counts from 1 to k-1 are shown as "<k"; statistics computed from such a cell are withheld; when one cell of a
group is suppressed, the next smallest is suppressed too, so the hidden cell cannot be recovered from the total.
The threshold k comes from deployment configuration (``dashboard.toml``), never from a URL or a widget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import pandas as pd

DEFAULT_MIN_CELL = 11


@dataclass(frozen=True)
class DisclosurePolicy:
    """Small-cell rule: counts below ``min_cell`` (and above zero) are never shown. ``min_cell = 0`` disables it."""

    min_cell: int = DEFAULT_MIN_CELL
    differencing: bool = True  # the differencing guard (analyses.differencing) refuses subtractable views

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
        if len(hidden) == 1:
            others = sorted((c, i) for i, c in enumerate(counts) if i not in hidden and c > 0)
            if others:
                hidden.add(others[0][1])
        return hidden

    def attrition_cells(self, remaining: list[int], shown: list[bool] | None = None) -> list[tuple[str, str]]:
        """(removed, remaining) as displayable text for a chain of nested cohort sizes.

        Consecutive sizes give away what each step removed, so once a step removes a small number — or reaches a
        size that may not be shown (``shown[i]`` False: the differencing guard refuses that intermediate state) —
        that step and the ones after it are withheld; the final size is shown only if the total it hides since the
        last shown size is zero or at least ``min_cell``.
        """
        shown = shown or [True] * len(remaining)
        cells = [("", self.show_count(remaining[0]) if shown[0] else "withheld")]
        last_shown, hiding = (remaining[0], False) if shown[0] else (None, True)
        for step, (before, after) in enumerate(zip(remaining, remaining[1:]), start=1):
            removed = before - after
            hiding = hiding or self.is_small(removed) or not shown[step]
            if hiding:
                cells.append((self.show_count(removed) if self.is_small(removed) else "withheld", "withheld"))
            else:
                cells.append((self.show_count(removed), self.show_count(after)))
                last_shown = after
        if hiding and (last_shown is None or not self.is_small(last_shown - remaining[-1])):
            cells[-1] = (cells[-1][0], self.show_count(remaining[-1]))
        return cells

    def outcome_counts(self, n: int, cases: int, known: int) -> dict[str, str]:
        """Cases and known outcomes as they may be shown beside N: known = cases + non-cases and N − known =
        unknowns, so "known" is withheld when the non-cases or the unknowns are 1 … k−1."""
        if self.is_small(n):
            return {"cases": "withheld", "known": "withheld"}
        hide_known = self.any_small(known - cases, n - known) or self.is_small(known)
        return {"cases": self.show_count(cases), "known": "withheld" if hide_known else self.show_count(known)}

    @property
    def note(self) -> str:
        if self.min_cell <= 1:
            return "Small-cell suppression is off."
        return (f"Counts from 1 to {self.min_cell - 1} are shown as <{self.min_cell}, with figures derived from "
                "them withheld.")

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
            if len(hidden) == 1:
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
        """True when any count is 1 … k−1 (an estimate built on them is withheld)."""
        return any(self.is_small(int(c)) for c in counts)
