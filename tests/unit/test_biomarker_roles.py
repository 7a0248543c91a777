"""Biomarker risk needs only a biomarker and a time to event: it runs in everyone where the mapping has no treatment
role, takes the mapping's plausible range (zeros allowed, a linear dose–response scale), leaves out adjusters that
one filter made constant, and its caption says who it covers. The page's cut-point grid follows the mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.bands import cut_point_grid
from analyses.biomarker_risk import BiomarkerRiskOptions, biomarker_risk
from analyses.context import AnalysisContext
from analyses.variables import AnalysisInputError
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

N = 800
MAPPING = """[source]
files = ["receptor.csv"]

[columns]
sex = "gender"
age = "age_at_entry"

[codes.sex]
female = ["f"]
male = ["m"]

[outcomes.relapse]
column = "relapse"
positive = [1]

[biomarker]
column = "pgr"
label = "Progesterone receptor"
unit = "fmol/l"
{range}cut_points = [1, 20, 100]

[time_to_event]
event = "relapse"
event_positive = [1]
time = "rfs_days"
time_unit = "days"
label = "Relapse"
"""


def _write(folder: Path, with_range: bool) -> tuple[Path, Path]:
    """A breast-cancer-like cohort without treatment: a receptor value that reads 0 for a third of the tumours."""
    rng = np.random.default_rng(7)
    pgr = np.where(rng.random(N) < 0.35, 0.0, np.round(rng.lognormal(3.5, 1.2, N), 1))
    hazard = 0.25 * np.exp(-0.004 * np.minimum(pgr, 300))
    event_time, censor = rng.exponential(1 / hazard), rng.uniform(0.5, 8, N)
    frame = pd.DataFrame({"gender": rng.choice(["f", "m"], N, p=[0.9, 0.1]),
                          "age_at_entry": rng.integers(30, 85, N), "pgr": pgr,
                          "relapse": (event_time <= censor).astype(int),
                          "rfs_days": np.round(365.25 * np.minimum(event_time, censor)).astype(int)})
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "receptor.csv", index=False)
    (folder / "mapping.toml").write_text(MAPPING.format(range="range = [0, 5000]\n" if with_range else ""),
                                         encoding="utf-8")
    return folder / "receptor.csv", folder / "mapping.toml"


@pytest.fixture(scope="module")
def receptor(tmp_path_factory):
    data, mapping = _write(tmp_path_factory.mktemp("receptor"), with_range=True)
    return CohortEngine.open(data, mapping), pd.read_csv(data)


def _context(engine, query: str = "", method: str = "exact") -> AnalysisContext:
    ctx, problems = AnalysisContext.from_query(engine, query, DisclosurePolicy(11, method))
    assert not problems
    return ctx


def test_runs_in_everyone_without_a_treatment_role(receptor):
    engine, frame = receptor
    result = biomarker_risk(_context(engine))
    assert result.n == N  # zeros are kept: the mapping's range starts at 0
    assert {"crude_or", "adjusted_or", "hr"} <= {e.measure for e in result.estimates}
    adjusted = [e.method for e in result.estimates if e.measure in ("adjusted_or", "hr")]
    assert adjusted and all("age" in m and "sex" in m and "drug" not in m for m in adjusted)
    assert "treated" not in result.caption and "all participants" in result.caption
    assert result.methods.startswith("Population: all participants with a value of Progesterone receptor")
    bands = result.table("bands").set_index("band")
    assert bands.loc["<1", "n"] == int((frame["pgr"] < 1).sum())
    assert bands["events"].sum() == int(frame["relapse"].sum())


def test_zeros_give_a_linear_dose_response_with_merged_knots(receptor):
    engine, _ = receptor
    result = biomarker_risk(_context(engine))
    assert result.table("dose_response")["biomarker"].min() == 0  # the curve starts at zero, not at a log limit
    assert any(f.startswith("event ~ ns(biomarker,") for f in result.formulas)
    assert not any("log(biomarker)" in f for f in result.formulas)
    assert "linear scale" in result.methods
    assert any("some of its quantile knots coincide" in note for note in result.notes)  # a third read 0


def test_without_a_range_zeros_are_refused_at_load(tmp_path):
    from data_schema.loading import LoadRefused

    data, mapping = _write(tmp_path / "norange", with_range=False)
    with pytest.raises(LoadRefused) as refused:
        CohortEngine.open(data, mapping)
    assert any("plausible range" in f.rule for f in refused.value.report.findings)


def test_the_treated_population_needs_a_treatment_role(receptor):
    engine, _ = receptor
    with pytest.raises(AnalysisInputError, match="needs the treatment role"):
        biomarker_risk(_context(engine), BiomarkerRiskOptions(population="treated"))
    with pytest.raises(AnalysisInputError, match="Unknown population"):
        biomarker_risk(_context(engine), BiomarkerRiskOptions(population="cases"))


def test_an_adjuster_made_constant_by_a_filter_is_left_out(receptor):
    engine, _ = receptor
    result = biomarker_risk(_context(engine, "sex=female"))
    assert any(note.startswith("Not adjusted for sex") for note in result.notes)
    methods = [e.method for e in result.estimates if e.measure in ("adjusted_or", "hr")]
    assert methods and not any("sex" in m for m in methods)
    assert all("age" in m for m in methods)


def test_cell_key_mode_runs_and_says_so(receptor):
    engine, _ = receptor
    result = biomarker_risk(_context(engine, method="cell_key"))
    assert result.n is not None and abs(result.n - N) <= 3 * 8  # eight released cells at most ±3 each
    assert "perturbed" in result.methods


@pytest.mark.parametrize("mapped, expected", [
    ((50.0, 75.0, 100.0), ["15", "20", "30", "50", "75", "100", "150", "200", "300"]),
    ((1.0, 1.5, 1.94), ["0.3", "0.5", "0.75", "1", "1.5", "1.94", "2", "3", "5", "7.5"]),
])
def test_the_cut_point_grid_follows_the_mapping(mapped, expected):
    grid = cut_point_grid(mapped)
    assert grid == expected
    assert all(b / a >= 1.25 or f"{b:g}" in [f"{m:g}" for m in mapped] or f"{a:g}" in [f"{m:g}" for m in mapped]
               for a, b in zip(map(float, grid), map(float, grid[1:])))


def test_cli_population_option(receptor, tmp_path, capsys):
    from analyses.cli import main

    data, mapping = _write(tmp_path / "cli", with_range=True)
    assert main(["biomarker-risk", "--data", str(data), "--mapping", str(mapping), "--population", "treated"]) == 2
    assert "needs the treatment role" in capsys.readouterr().err
    assert main(["biomarker-risk", "--data", str(data), "--mapping", str(mapping), "--population", "all",
                 "--method", "exact", "--json"]) == 0
    assert f'"n": {N}' in capsys.readouterr().out
