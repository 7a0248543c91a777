"""A real Streamlit server on a free loopback port, driven by Debian's chromium through Playwright."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.cold_start import free_port, wait_healthy
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT  # noqa: F401 (re-exported to the browser tests)

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def server(demo_dir):
    """The dashboard served on the session's demo extract; yields its base URL."""
    yield from serve(["--data", str(demo_dir)], "streamlit.log")


def serve(source: list[str], log_name: str):
    """A dashboard server on ``source`` (its --data/--mapping arguments) on a free port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--", *source]
    log = (ARTIFACTS / log_name)
    ARTIFACTS.mkdir(exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process, timeout=60)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until the script has finished running (never sleep)."""
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=timeout)
