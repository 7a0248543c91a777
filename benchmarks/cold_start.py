"""Cold start of the real dashboard: seconds from ``streamlit run`` to the Overview's first numbers in a browser.

    python -m benchmarks.cold_start --data PATH [--store DIR] [--runs 3]

Each run starts a fresh server process (nothing cached in memory) on the prepared cohort, opens the Overview in
Debian's chromium and times the first numbers (the cohort metrics, drawn before Table 1) and the whole page (the
script finished). The cohort is prepared once beforehand (``python -m queries prepare``); its one-time preparation
cost is reported by ``python -m benchmarks`` and in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """A free loopback port for a server (also used by the browser tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    """Poll Streamlit's health endpoint until it answers; raise if the server exits or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("streamlit did not become healthy")


def one_start(browser, data: Path, env: dict) -> dict:
    """Start a server, open the Overview, wait for its metrics; seconds to healthy and to the first page."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--", "--data", str(data)]
    began = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(url, process)
        healthy = time.perf_counter() - began
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector('[data-testid="stMetricValue"]', timeout=300_000)
        first_numbers = time.perf_counter() - began
        page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=300_000)
        first_page = time.perf_counter() - began
        page.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"server_healthy_s": round(healthy, 2), "first_numbers_s": round(first_numbers, 2),
            "first_page_s": round(first_page, 2)}


def _median(runs: list[dict], key: str) -> str:
    values = [r[key] for r in runs]
    return f"{statistics.median(values):.2f} s (runs {', '.join(f'{v:.2f}' for v in values)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--store", type=Path, help="the prepared-cohort store (default: RLS_STORE_DIR or ~/.cache)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT)} | ({"RLS_STORE_DIR": str(args.store)} if args.store else {})
    subprocess.run([sys.executable, "-m", "queries", "prepare", "--data", str(args.data)], env=env, cwd=ROOT,
                   check=True, capture_output=True)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        runs = [one_start(browser, args.data.resolve(), env) for _ in range(args.runs)]
        browser.close()
    print(f"Cold start on {args.data} (median of {len(runs)}): server healthy in "
          f"{_median(runs, 'server_healthy_s')}, the Overview's first numbers in {_median(runs, 'first_numbers_s')}, "
          f"the whole Overview in {_median(runs, 'first_page_s')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
