"""A figure made from an analysis result: the chart, its caption and the result table behind it."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import altair as alt
import pandas as pd

from analyses.figures.theme import EXPORT_WIDTH, theme_config
from analyses.results import AnalysisResult

TITLE_CHARS = 72  # a chart title wraps onto lines of at most this many characters (never cut with "…")
CAPTION_CHARS = 128  # caption lines under an exported figure (11 px type on a 720 px figure)
CAPTION_FONT_SIZE = 11
# Axis tick labels of proportions: up to two decimals of a percent, trailing zeros dropped ("0.5%", "1%", "10.5%"),
# so neighbouring ticks never round to the same label.
PERCENT_FORMAT = ".2~%"
# Candidate ticks of a log-scaled ratio axis (1–2–5 alone leaves 1 to 2 bare).
LOG_TICKS = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 5.0,
             6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0)


def wrap_lines(text: str, width: int) -> list[str]:
    """``text`` as lines of at most ``width`` characters (words kept whole)."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [text]


def log_ticks(low: float, high: float, most: int = 9) -> list[float]:
    """Tick values of a log axis spanning [low, high]: from :data:`LOG_TICKS`, always including 1 when inside, at
    most ``most`` of them, and at least one between 1 and 2 when the axis covers that stretch."""
    inside = [t for t in LOG_TICKS if low <= t <= high]
    if len(inside) < 3:  # a narrow range: a finer grid
        step = 10 ** math.floor(math.log10(max(high - low, 1e-9)))
        start = math.ceil(low / step) * step
        inside = [round(start + i * step, 10) for i in range(int((high - start) / step) + 1)]
        if len(inside) > most:
            inside = inside[::math.ceil(len(inside) / most)]
        return inside
    while len(inside) > most:  # thin out evenly, keeping 1
        keep = inside[::2]
        if 1.0 in inside and 1.0 not in keep:
            keep = sorted(set(keep) | {1.0})
        inside = keep
    return inside


@dataclass(frozen=True, eq=False)
class Figure:
    """One chart of a result. ``caption`` states the cohort, N, definition and method; ``data`` is the tidy table
    of exactly what the chart draws, taken from the result (so already gated), exported as CSV next to it."""

    key: str
    title: str
    chart: alt.TopLevelMixin
    caption: str
    data: pd.DataFrame
    fixed_width: bool = False  # concatenated charts carry their own widths

    def spec(self, scale: float = 1.0, export: bool = False, titled: bool = True, min_height: int = 0,
             fit: bool = False, captioned: bool = False) -> dict:
        """The Vega-Lite spec with the shared theme. ``export`` fixes the width so files have a known size;
        ``scale`` enlarges type and height (presentation), ``min_height`` stretches the main plot to fill a
        screen, ``titled=False`` leaves the title to the page. ``fit`` sizes a single chart to its container
        (presentation: the page gives it the screen height left under the heading and above the caption); a
        concatenated chart keeps its own heights there, its main plot unscaled so the whole fits a screen.
        ``captioned`` prints the caption (cohort, N, method, disclosure rule) under the chart, for files that
        leave the page."""
        chart = self.chart
        if export and not self.fixed_width:
            chart = chart.properties(width=round(EXPORT_WIDTH * scale))
        # Altair refuses data over 5,000 rows by default; a Kaplan–Meier step curve has one row per event time
        # (about 5,900 per ferritin band at 10 million participants). The data are the result's own aggregates.
        with alt.data_transformers.enable("default", max_rows=None):
            spec = chart.to_dict()
        views = spec.get("vconcat", [spec])
        for i, view in enumerate(views):
            if isinstance(view.get("height"), (int, float)) and not (fit and i == 0 and len(views) > 1):
                view["height"] = round(view["height"] * scale)
            if fit and len(views) > 1 and isinstance(view.get("width"), (int, float)):
                view["width"] = round(view["width"] * min(scale, FIT_WIDTH_SCALE))
        if isinstance(views[0].get("height"), (int, float)):
            views[0]["height"] = max(views[0]["height"], min_height)
        if fit and len(views) == 1:
            spec["height"] = spec["width"] = "container"
            spec["autosize"] = {"type": "fit", "contains": "padding"}
        for view in views:
            if not titled:
                view.pop("title", None)
            elif "title" in view:
                view["title"] = _wrapped_title(view["title"])
        spec["config"] = theme_config(scale)
        return with_caption(spec, self.caption) if captioned else spec


FIT_WIDTH_SCALE = 1.4  # a concatenated chart (fixed width) grows at most this much when presented


def _wrapped_title(title):
    """A title (text or title object) with its text as lines of at most :data:`TITLE_CHARS` characters."""
    if isinstance(title, str):
        return wrap_lines(title, TITLE_CHARS)
    if isinstance(title, dict) and isinstance(title.get("text"), str):
        return {**title, "text": wrap_lines(title["text"], TITLE_CHARS)}
    return title


def with_caption(spec: dict, caption: str) -> dict:
    """``spec`` with ``caption`` printed under it as a left-aligned block of lines (a bottom title of an outer
    concatenation, so the chart's own title stays on top)."""
    inner = {k: v for k, v in spec.items() if k not in ("$schema", "config", "datasets")}
    outer = {k: spec[k] for k in ("$schema", "config", "datasets") if k in spec}
    outer["vconcat"] = [inner]
    outer["title"] = {"text": wrap_lines(caption, CAPTION_CHARS), "orient": "bottom", "anchor": "start",
                      "frame": "group", "fontSize": CAPTION_FONT_SIZE, "fontWeight": "normal", "color": "#333333",
                      "lineHeight": round(CAPTION_FONT_SIZE * 1.35), "offset": 14}
    return outer


def figure_caption(result: AnalysisResult, what: str, method: str) -> str:
    """'<what, naming the outcome>. Cohort: <filters in English>; N = …. <method>. <suppression rule>.'"""
    n = "withheld" if result.n is None else f"{result.n:,}"
    parts = [f"{what}.", f"Cohort: {result.cohort.description}; N = {n}.", f"{method}."]
    if result.cohort.policy.perturbed:
        parts.append(f"Counts perturbed (cell key method); counts below {result.cohort.min_cell} are withheld.")
    elif result.cohort.min_cell > 1:
        parts.append(f"Counts below {result.cohort.min_cell} are withheld.")
    return " ".join(parts)
