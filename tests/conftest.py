"""Shared fixtures: a small seeded demo extract written once per session, and an engine over it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from data_schema.demo import synthesize

ROOT = Path(__file__).resolve().parent.parent
DEMO_PARTICIPANTS = 20_000
DEMO_SEED = 7


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """A seeded demo extract (20,000 participants) in a session temp folder."""
    out = tmp_path_factory.mktemp("demo") / "extract"
    synthesize(DEMO_PARTICIPANTS, DEMO_SEED, out)
    return out


@pytest.fixture(scope="session")
def engine(demo_dir):
    from queries.engine import CohortEngine

    return CohortEngine.open(demo_dir)


@pytest.fixture(scope="session")
def options(engine):
    from queries.cohort import filter_options

    return filter_options(engine)


@pytest.fixture(scope="session")
def participants(demo_dir) -> pd.DataFrame:
    """Row-level participants table, read independently of the engine (the reference for counts)."""
    return pd.read_parquet(demo_dir / "participants.parquet")


@pytest.fixture(scope="session")
def app_data(demo_dir):
    """Point the dashboard at the session's demo extract (read by dashboard.settings)."""
    os.environ["RLS_DATA"] = str(demo_dir)
    return demo_dir
