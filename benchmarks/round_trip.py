"""Browser round-trip of the real dashboard: seconds from a sidebar change in chromium to the page drawn again.

    python -m benchmarks.round_trip --data PATH [--store DIR] [--pages overview sex-differences …] [--json]

One server (``streamlit run``) on the prepared cohort; Debian's chromium opens each page in a fresh tab, waits for
it, then removes one site after another from the sidebar's Site filter. Each removal is a filter state that no
earlier page or change has seen, so every change runs the page's queries and fits again (the server's caches are
shared across tabs, as they are across a team's browsers). A change is timed in the page itself, from the click to
the moment the script's state leaves "running" (a ``MutationObserver`` on Streamlit's ``data-test-script-state``),
so it includes the websocket both ways, the script and the drawing of its elements; ``script_began_s`` is the part
until the page saw the script start. ``benchmarks.page_render`` times the script alone (AppTest, no browser).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.cold_start import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, wait_healthy

PAGES = ("overview", "sex-differences", "age-prevalence", "ferritin-augmentation", "diagnostic-accuracy",
         "risk-factors", "trends-sites")
CHANGES = 3
# Records the end of the next script run: a mutation whose old value was "running". Reading the attribute in the
# callback instead could miss a run that starts and ends between two callbacks.
WATCH = """() => {
  const root = document.querySelector('[data-test-script-state]');
  window.__roundTrip = {start: performance.now(), running: null, end: null};
  const observer = new MutationObserver(records => {
    if (window.__roundTrip.running === null && root.getAttribute('data-test-script-state') === 'running') {
      window.__roundTrip.running = performance.now();
    }
    if (records.some(r => r.oldValue === 'running') && window.__roundTrip.end === null) {
      window.__roundTrip.end = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(root, {attributes: true, attributeFilter: ['data-test-script-state'], attributeOldValue: true});
}"""


def _site_filter(page):
    return page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="Site")


def site_choices(page) -> list[str]:
    """The sites selected in the sidebar's Site filter (its tags)."""
    return [tag.get_attribute("aria-label") for tag in _site_filter(page).locator("[data-tag]").all()]


def remove_site(page, site: str) -> tuple[float, float]:
    """Remove ``site`` from the Site filter; seconds until the server's script began (the page saw "running") and
    until it had run and the page had drawn again."""
    page.evaluate(WATCH)
    _site_filter(page).get_by_role("button", name=f"Remove {site}", exact=True).click()
    page.wait_for_function("() => window.__roundTrip.end !== null", timeout=300_000)
    trip = page.evaluate("() => window.__roundTrip")
    began = trip["running"] if trip["running"] is not None else trip["end"]
    return (began - trip["start"]) / 1000, (trip["end"] - trip["start"]) / 1000


def measure_page(browser, url: str, page_path: str, first_site: int) -> dict:
    """Open one page in a fresh tab and time ``CHANGES`` site removals, starting at the ``first_site``-th site."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    try:
        began = time.perf_counter()
        page.goto(f"{url}/{'' if page_path == PAGES[0] else page_path}")  # the default page has no path
        _site_filter(page).locator("[data-tag]").first.wait_for(timeout=300_000)  # the first run has begun
        page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=300_000)
        opened = time.perf_counter() - began
        sites = site_choices(page)
        if len(sites) <= CHANGES:
            raise SystemExit(f"the Site filter has {len(sites)} sites; removing {CHANGES} needs more")
        order = [sites[(first_site + i) % len(sites)] for i in range(CHANGES)]
        timings = [remove_site(page, site) for site in order]
        seconds = [total for _, total in timings]
        url_after = page.url
    finally:
        page.close()
    return {"page": page_path, "open_s": round(opened, 2), "changes_s": [round(s, 3) for s in seconds],
            "script_began_s": [round(began, 3) for began, _ in timings],
            "round_trip_median_s": round(statistics.median(seconds), 3), "round_trip_max_s": round(max(seconds), 3),
            "url_after": url_after}


def serve(data: Path, env: dict):
    """Start ``streamlit run`` on ``data``; returns the process and its base URL once healthy."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--", "--data", str(data)]
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_healthy(url, process)
    return process, url


def measure(browser, data: Path, pages: list[str], store: Path | None = None) -> list[dict]:
    """Prepare ``data`` (if not yet in the store), serve it and time each page's changes in ``browser`` (a
    Playwright chromium: one per process, so the tests pass theirs)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)} | ({"RLS_STORE_DIR": str(store)} if store else {})
    subprocess.run([sys.executable, "-m", "queries", "prepare", "--data", str(data)], env=env, cwd=ROOT,
                   check=True, capture_output=True)
    process, url = serve(data.resolve(), env)
    try:
        return [measure_page(browser, url, page, i) for i, page in enumerate(pages)]
    finally:
        process.terminate()
        process.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.round_trip", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--store", type=Path, help="the prepared-cohort store (default: RLS_STORE_DIR or ~/.cache)")
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES))
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            results = measure(browser, args.data, args.pages, args.store)
        finally:
            browser.close()
    if args.json:
        print(json.dumps({"data": str(args.data), "changes_per_page": CHANGES, "results": results}, indent=1))
        return 0
    print(f"Browser round-trip on {args.data} (chromium; seconds from a Site filter change to the page drawn again)")
    print(f"{'page':24} {'open':>6} {'median':>7} {'max':>6}  changes")
    for r in results:
        print(f"{r['page']:24} {r['open_s']:6.2f} {r['round_trip_median_s']:7.2f} {r['round_trip_max_s']:6.2f}  "
              f"{', '.join(f'{s:.2f}' for s in r['changes_s'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
