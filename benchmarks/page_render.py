"""Script time of each analysis page after a filter change, once the engine is warm (AppTest, real app).

    python -m benchmarks.page_render [--data data/demo] [--json] [--pages views/overview.py ...]

For Overview and each analysis page: a cold first run (loading the extract), then a sequence of sidebar filter
changes, each a filter
state the caches have not seen (so the aggregation query and the fit run again), then the same state again
(served from the cache). Prints median and max seconds per page. The filter changes use the demo extract's
sites, age bands and years: point ``--data`` at a demo extract of any size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from deployment.memory import tune_memory

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ("views/overview.py", "views/sex_differences.py", "views/age_prevalence.py",
         "views/ferritin_augmentation.py", "views/risk_factors.py", "views/diagnostic_accuracy.py",
         "views/trends_sites.py")
# Sidebar changes, each a new filter state: (widget key, kind, value).
CHANGES = (("filter_sex", "multiselect", ["female"]), ("filter_sex", "multiselect", ["female", "male"]),
           ("filter_site", "multiselect", ["A", "B", "C", "D"]), ("filter_age", "slider", ("40-44", "75-79")),
           ("filter_exclude", "toggle", True), ("filter_year", "slider", (2010, 2020)))


def _timed_run(at) -> float:
    start = time.perf_counter()
    at.run(timeout=300)
    elapsed = time.perf_counter() - start
    if at.exception:
        trace = "\n".join(at.exception[0].stack_trace[-6:])
        raise RuntimeError(f"the page raised: {at.exception[0].message}\n{trace}")
    return elapsed


def _apply(at, key: str, kind: str, value) -> None:
    widgets = {"multiselect": at.multiselect, "toggle": at.toggle}
    widgets.get(kind, at.select_slider)(key=key).set_value(value)


def measure_page(page: str) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=300)
    cold = _timed_run(at)
    at.switch_page(page)
    first = _timed_run(at)
    changes, cached = [], []
    for key, kind, value in CHANGES:
        _apply(at, key, kind, value)
        changes.append(_timed_run(at))
        cached.append(_timed_run(at))
    return {"page": page, "cold_start_s": round(cold, 3), "first_view_s": round(first, 3),
            "filter_change_median_s": round(statistics.median(changes), 3),
            "filter_change_max_s": round(max(changes), 3),
            "cached_rerun_median_s": round(statistics.median(cached), 3), "changes": len(changes)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page_render", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "demo"))
    parser.add_argument("--mapping")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=PAGES, metavar="PAGE",
                        help="the pages to measure (default: all of them)")
    args = parser.parse_args(argv)
    tune_memory()  # as the dashboard does
    os.environ["RLS_DATA"] = str(Path(args.data).resolve())
    if args.mapping:
        os.environ["RLS_MAPPING"] = str(Path(args.mapping).resolve())
    rows = [measure_page(page) for page in args.pages]
    if args.json:
        print(json.dumps({"data": args.data, "results": rows}, indent=2))
        return 0
    print(f"Page script time on {args.data} (seconds; AppTest, warm engine unless 'cold')")
    print(f"{'page':32} {'cold':>6} {'first':>6} {'change med':>11} {'change max':>11} {'cached':>7}")
    for r in rows:
        print(f"{r['page']:32} {r['cold_start_s']:6.2f} {r['first_view_s']:6.2f} {r['filter_change_median_s']:11.3f} "
              f"{r['filter_change_max_s']:11.3f} {r['cached_rerun_median_s']:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
