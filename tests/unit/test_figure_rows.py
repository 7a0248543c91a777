"""A figure's data may exceed Altair's default 5,000-row cap: a Kaplan–Meier step curve of a large cohort has one row
per event time (about 5,900 per ferritin band at 10 million participants), and the page must still draw it."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from analyses.figures.figure import Figure


def test_spec_of_a_chart_with_more_than_5000_rows():
    steps = pd.DataFrame({"time": np.linspace(0, 10, 24_000), "survival": np.linspace(1, 0.5, 24_000)})
    chart = alt.Chart(steps).mark_line(interpolate="step-after").encode(x="time", y="survival")
    spec = Figure("km", "KM", chart, "caption", steps).spec()
    assert sum(len(rows) for rows in spec["datasets"].values()) == 24_000
