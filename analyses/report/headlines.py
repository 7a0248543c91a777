"""Slide titles that state the finding in words, e.g. "Women had 2.40 times the odds of RLS as men (adjusted OR;
95% CI 2.05–2.80)".

Each analysis's declaration (``analyses.specs``) has a ``findings`` function that reads the result's estimates,
tests and details (already through the disclosure gate) and returns a headline per figure key; a figure whose
estimate is withheld keeps its own title.
"""

from __future__ import annotations

from analyses.figures import Figure
from analyses.registry import spec_of
from analyses.results import AnalysisResult


def headline(result: AnalysisResult, figure: Figure) -> str:
    """The finding behind ``figure`` in words, or the figure's title when its estimate is withheld."""
    return spec_of(result).findings(result).get(figure.key) or figure.title
