"""Quantiles of a value-count table equal R's type-7 quantiles of the people behind it; a table with nobody in it
gives no quantile and an undefined spline rather than an error."""

from __future__ import annotations

import numpy as np
import pytest

from analyses.stats.glm import NaturalSpline, weighted_quantiles


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_quantiles_equal_type_7_quantiles_of_the_expanded_values(seed):
    rng = np.random.default_rng(seed)
    values = rng.choice(np.arange(18, 91), size=25, replace=False).astype(float)
    counts = rng.integers(0, 40, size=25)
    probs = [0.01, 0.25, 0.5, 0.75, 0.99]
    expected = np.quantile(np.repeat(values, counts), probs)  # numpy's default is R's type 7
    assert np.allclose(weighted_quantiles(values, counts, probs), expected)


@pytest.mark.parametrize("values, counts", [([], []), ([30.0, 40.0], [0, 0])])
def test_nobody_gives_no_quantile_and_an_undefined_spline(values, counts):
    assert np.isnan(weighted_quantiles(np.array(values), np.array(counts, dtype=int), [0.25, 0.5])).all()
    spline = NaturalSpline.from_counts(np.array(values), np.array(counts, dtype=int), 4)
    assert not spline.defined
