"""The ferritin page's heading says who is analysed once, in plain words (issue 15 saw "among treated participants;
all participants"), and its notes name the biomarker as the mapping does, never "baseline biomarker"."""

from __future__ import annotations

import pytest

from analyses.biomarker_risk import BiomarkerRiskOptions, biomarker_risk
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy


@pytest.mark.parametrize("query, population, who", [
    ("", "treated", "; participants who started a treatment; N = "),
    ("sex=female", "treated", "; women; treated only; N = "),
    ("", "all", "; all participants; N = "),
])
def test_the_heading_names_the_population_once(engine, query, population, who):
    ctx = AnalysisContext.from_query(engine, query, DisclosurePolicy(11, "exact"))[0]
    result = biomarker_risk(ctx, BiomarkerRiskOptions(population=population))
    assert who in result.caption
    assert result.caption.count("participants") == who.count("participants")
    assert not any("baseline biomarker" in note for note in result.notes)
