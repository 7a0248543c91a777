"""Age bands and biomarker bands: one labelling rule for every analysis, page and export.

Age bands are given by lower edges (integers; the last band is open, "80+"); the first band starts at the youngest
age present. Biomarker bands are given by cut points; each band is [lower, upper): "<50", "50-75", "75-100",
">=100".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_AGE_EDGES = (30, 40, 50, 60, 70, 80)
DEFAULT_CUT_POINTS = (50.0, 75.0, 100.0)


class BandError(ValueError):
    """Band edges that cannot define bands (message names the rule, not the input)."""


def _fmt(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class AgeBands:
    """Integer age bands: [min_age, e1 − 1], [e1, e2 − 1], …, [e_last, ∞)."""

    edges: tuple[int, ...] = DEFAULT_AGE_EDGES

    def __post_init__(self):
        if not self.edges or list(self.edges) != sorted(set(self.edges)) or min(self.edges) < 1:
            raise BandError("Age band edges must be increasing positive whole numbers, e.g. 30,40,50,60,70,80.")

    def bounds(self, min_age: int) -> list[tuple[int, int | None]]:
        """(low, high) inclusive per band, ``high=None`` for the open top band; bands below ``min_age`` dropped."""
        lows = [min_age] + [e for e in self.edges if e > min_age]
        highs = [e - 1 for e in lows[1:]] + [None]
        return list(zip(lows, highs))

    def labels(self, min_age: int) -> list[str]:
        return [f"{lo}+" if hi is None else f"{lo}-{hi}" for lo, hi in self.bounds(min_age)]

    def assign(self, ages, min_age: int) -> np.ndarray:
        """The band label of each age (ages below ``min_age`` are not expected)."""
        lows = np.array([lo for lo, _ in self.bounds(min_age)])
        index = np.searchsorted(lows, np.asarray(ages, dtype=float), side="right") - 1
        return np.array(self.labels(min_age), dtype=object)[np.clip(index, 0, len(lows) - 1)]


@dataclass(frozen=True)
class BiomarkerBands:
    cut_points: tuple[float, ...] = DEFAULT_CUT_POINTS

    def __post_init__(self):
        cuts = list(self.cut_points)
        if not cuts or cuts != sorted(set(cuts)) or not all(np.isfinite(cuts)):
            raise BandError("Cut points must be increasing finite numbers, e.g. 50,75,100.")

    def labels(self) -> list[str]:
        cuts = [_fmt(c) for c in self.cut_points]
        return [f"<{cuts[0]}"] + [f"{lo}-{hi}" for lo, hi in zip(cuts, cuts[1:])] + [f">={cuts[-1]}"]

    def assign(self, values) -> np.ndarray:
        index = np.searchsorted(np.array(self.cut_points), np.asarray(values, dtype=float), side="right")
        return np.array(self.labels(), dtype=object)[index]


def parse_numbers(text: str, kind: type = float) -> tuple:
    """``"50,75,100"`` → (50.0, 75.0, 100.0); a clear error for anything else."""
    try:
        values = tuple(kind(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise BandError("Give numbers separated by commas, e.g. 50,75,100.") from None
    if not values:
        raise BandError("Give at least one number.")
    return values


def age_band_midpoint(label: str, top: float) -> float:
    """Where a band like "30-39" (or the open "80+", closed at ``top``) sits on a continuous age axis."""
    if label.endswith("+"):
        low = float(label[:-1])
        return (low + max(top, low) + 1) / 2
    low, high = (float(part) for part in label.split("-"))
    return (low + high + 1) / 2


NICE_STEPS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.5)


def cut_point_grid(mapped: tuple[float, ...], spread: float = 4.0) -> list[str]:
    """The cut points a page offers: the mapping's, plus round numbers (1, 1.5, 2, 3, 5, 7.5 × 10^k) from a
    ``spread``-th of the lowest to ``spread`` times the highest. The grid depends on the mapping only, never on the
    data, and has no unit steps, so a band edge cannot be slid one unit at a time. For the demo's ferritin cuts
    (50, 75, 100): 15, 20, 30, 50, 75, 100, 150, 200, 300."""
    positive = [c for c in mapped if c > 0]
    if not positive:
        return [_fmt(c) for c in mapped]
    low, high = min(positive) / spread, max(positive) * spread
    grid = {_fmt(float(f"{step * 10.0 ** k:.6g}")) for k in range(int(np.floor(np.log10(low))),
                                                                   int(np.ceil(np.log10(high))) + 1)
            for step in NICE_STEPS if low <= step * 10.0 ** k <= high}
    return sorted(grid | {_fmt(c) for c in mapped}, key=float)


def numbers_option(flag: str, text: str, kind: type, example: str) -> tuple:
    """The numbers of one command-line option, or an error naming the option and an example of valid input."""
    try:
        return parse_numbers(text, kind)
    except BandError:
        whole = "whole " if kind is int else ""
        raise BandError(f"{flag} takes {whole}numbers separated by commas, e.g. {example}.") from None


def age_bands_option(text: str) -> AgeBands:
    """``--age-bands`` as bands."""
    return AgeBands(numbers_option("--age-bands", text, int, "30,40,50,60,70,80"))
