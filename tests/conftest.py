"""Shared fixtures: a small seeded demo extract written once per session, and an engine over it.

Source guard: every data file the suite reads (the committed reference cohorts, the session's demo extract and
``data/demo`` when present) is hashed before use and again when the session ends; any change fails the run.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from data_schema.demo import synthesize

ROOT = Path(__file__).resolve().parent.parent
DEMO_PARTICIPANTS = 20_000
DEMO_SEED = 7


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# Prepared cohorts of this session (the dashboard and the CLI prepare the configured cohort into a store): a private
# temporary store, inherited by every subprocess the tests start, removed when the session ends.
STORE_DIR = Path(tempfile.mkdtemp(prefix="rls-test-store-"))
os.environ["RLS_STORE_DIR"] = str(STORE_DIR)
# The cell-key secret of this session: random (no test may depend on the deployment's keys, and an attacker test must
# not know them), the same for every engine and subprocess of the session, so released counts are consistent.
# RLS_TEST_CELL_KEY_SECRET replays a session whose secret the report header printed (a failure that depends on it).
os.environ["RLS_CELL_KEY_SECRET"] = os.environ.get("RLS_TEST_CELL_KEY_SECRET") or secrets.token_hex(32)
SOURCE_HASHES: dict[Path, str] = {}
GUARDED_FOLDERS: set[Path] = set()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def guard_sources(folder: Path) -> None:
    """Record the hash of every file under ``folder``; the session end checks none has changed and none was added."""
    GUARDED_FOLDERS.add(folder)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        SOURCE_HASHES.setdefault(path, _sha256(path))


def pytest_sessionstart(session):
    for folder in (ROOT / "tests" / "reference" / "data", ROOT / "data" / "demo"):
        if folder.exists():
            guard_sources(folder)


def changed_sources() -> list[Path]:
    """Guarded files whose bytes differ from (or that disappeared since) their first hash, and files that appeared
    in a guarded folder since."""
    changed = [p for p, digest in SOURCE_HASHES.items() if not p.exists() or _sha256(p) != digest]
    added = [p for folder in sorted(GUARDED_FOLDERS) if folder.exists()
             for p in sorted(folder.rglob("*")) if p.is_file() and p not in SOURCE_HASHES]
    return changed + added


def pytest_sessionfinish(session, exitstatus):
    changed = changed_sources()
    lines = [f"source guard: {len(SOURCE_HASHES)} source files hashed before and after the suite, "
             f"{len(changed)} changed"] + [f"  changed, removed or added: {p}" for p in changed]
    if exitstatus or changed:  # a failure may depend on the session's random secret: say how to replay it
        lines.append(f"replay its cell keys: RLS_TEST_CELL_KEY_SECRET={os.environ['RLS_CELL_KEY_SECRET']}")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for line in lines if reporter else ():
        reporter.write_line(line)
    if changed:
        session.exitstatus = 1
    shutil.rmtree(STORE_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """A seeded demo extract (20,000 participants) in a session temp folder."""
    out = tmp_path_factory.mktemp("demo") / "extract"
    synthesize(DEMO_PARTICIPANTS, DEMO_SEED, out)
    guard_sources(out)
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
    """Point the dashboard at the session's demo extract (read by deployment.settings)."""
    os.environ["RLS_DATA"] = str(demo_dir)
    return demo_dir


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium for the whole session (the browser tests and the printed report): Playwright's
    sync API cannot start a second instance while one is running."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for browser tests: `make test` installs it "
                    "(apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
