"""Charts of analysis results (Altair / Vega-Lite) in one shared theme, for the screen, exports and slides.

Each analysis's figures are built by its own module here (``odds_ratio``, ``prevalence``, …), named in its
declaration (``analyses.specs``); ``analyses.registry.figures_for(result)`` gives the figures of any result. Nothing
here computes a statistic: the charts draw what the result object holds.
"""

from __future__ import annotations

from analyses.figures.figure import Figure

__all__ = ["Figure"]
