"""Benchmark the three analyses on a seeded demo extract of any size: the project's path against the floor (the
bare engine aggregation) and the naive path (pandas + row-level statsmodels).

    python -m benchmarks --participants N [--engine duckdb|spark] [--spark-master URL] [--json]

The extract is generated once per (size, seed) under ``--cache-dir`` and prepared once into the store there; each
(analysis, path) then runs in its own process: one warm-up run, then ``--runs`` timed runs (the median is
reported) and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.paths import ANALYSES, PATHS, Target

ROOT = Path(__file__).resolve().parent.parent
# The naive path holds every participant's row in pandas and in statsmodels' design matrices: measured at 10M it
# peaks at a few GB (docs/performance.md); at 100M it would need ten times that, beyond this 24 GB machine.
NAIVE_MAX_PARTICIPANTS = 20_000_000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, required=True, help="size of the demo extract")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--spark-master", help="Spark master or Spark Connect URL (default: local mode)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--cold", action="store_true", help="the first answer on a new file instead: the CLI in a "
                        "fresh process with an empty store against the naive path, on the cohort under its own "
                        "column names (benchmarks/cold.py)")
    parser.add_argument("--runs", type=int, default=3, help="timed warm runs per path (at least 3)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--filters", default="", help="a dashboard query string, e.g. 'site=A&sex=female'")
    parser.add_argument("--analyses", nargs="+", choices=ANALYSES, default=list(ANALYSES))
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "data" / "benchmarks",
                        help="where extracts and the prepared store are kept (default: data/benchmarks)")
    return parser


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def extract(cache: Path, participants: int, seed: int) -> Path:
    """The demo extract of this size and seed, generated on first use."""
    from data_schema.demo import synthesize

    out = cache / f"n{participants}-seed{seed}"
    if not (out / "truth.json").exists():
        _say(f"Generating the demo extract ({participants:,} participants, seed {seed}) in {out} …")
        synthesize(participants, seed, out, lambda done, total: _say(f"  {done:,} / {total:,} participants"))
    return out


def prepared_target(args: argparse.Namespace) -> tuple[Target, dict]:
    """Generate and prepare the cohort (each once) and write the canonical Parquet copy the naive path reads."""
    from queries.engine import prepare
    from queries.store import export_parquet

    data = extract(args.cache_dir, args.participants, args.seed)
    store = args.cache_dir / "store"
    _say("Preparing the cohort (checked and loaded once per extract; reused afterwards) …")
    began = time.perf_counter()
    prepared, info = prepare(data, None, store)
    startup = time.perf_counter() - began
    parquet = prepared.folder / "cohort.parquet"
    needs_parquet = args.engine == "spark" or args.cold or ("naive" in args.paths and _skip_naive(args) is None)
    if needs_parquet and not parquet.exists():
        _say("Exporting the prepared cohort as Parquet (for the naive path and Spark) …")
        export_parquet(prepared, parquet)
    setup = {"prepare_seconds": round(prepared.seconds, 1), "prepared_earlier": prepared.reused,
             "startup_seconds": round(startup, 2),
             "rows_loaded": info.load.n_participants}
    return Target(data, store, parquet, args.engine, args.spark_master, args.filters), setup


def run_path(target: Target, analysis: str, path: str, runs: int) -> dict:
    """One (analysis, path) in a fresh process: median seconds of the warm runs and peak RSS."""
    spec = {"target": {k: str(v) if isinstance(v, Path) else v for k, v in vars(target).items()},
            "analysis": analysis, "path": path, "runs": runs}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "benchmarks.worker", json.dumps(spec)], capture_output=True,
                          text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"analysis": analysis, "path": path, "seconds": None, "peak_rss_mb": None,
                "skipped": f"failed: {tail[0][:200]}"}
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return {"analysis": analysis, "path": path, "seconds": round(statistics.median(measured["seconds"]), 4),
            "peak_rss_mb": measured["peak_rss_mb"], "runs": [round(s, 4) for s in measured["seconds"]]}


def _skip_naive(args: argparse.Namespace) -> str | None:
    if args.participants > NAIVE_MAX_PARTICIPANTS:
        return (f"skipped: above {NAIVE_MAX_PARTICIPANTS:,} participants the row-level fits would not fit in "
                "memory on this machine")
    if args.filters:
        return "skipped: the naive path is measured on the whole cohort only"
    return None


def machine() -> dict:
    """Where and with what the figures were measured."""
    import duckdb
    import pandas
    import statsmodels

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"date": date.today().isoformat(), "cpus": os.cpu_count(), "memory_gb": round(memory, 1),
            "platform": platform.platform(), "python": platform.python_version(), "duckdb": duckdb.__version__,
            "pandas": pandas.__version__, "statsmodels": statsmodels.__version__}


def measure(args: argparse.Namespace) -> dict:
    target, setup = prepared_target(args)
    results = []
    for analysis in args.analyses:
        for path in args.paths:
            skip = _skip_naive(args) if path == "naive" else None
            if skip:
                results.append({"analysis": analysis, "path": path, "seconds": None, "peak_rss_mb": None,
                                "skipped": skip})
                continue
            _say(f"  {analysis}: {path} …")
            results.append(run_path(target, analysis, path, args.runs))
    return {"participants": args.participants, "engine": args.engine, "filters": args.filters, **setup,
            "machine": machine(), "results": results}


def table(report: dict) -> str:
    """The report as a plain-text table: seconds and MB per path, and the project's ratios to floor and naive."""
    lines = [f"{report['participants']:,} participants, {report['engine']} engine"
             + (f", filters {report['filters']}" if report["filters"] else "")
             + f" (checked and prepared once in {report['prepare_seconds']:,} s"
             + (f"; reopened in {report['startup_seconds']} s)" if report["prepared_earlier"] else ")"),
             f"{'analysis':16} {'path':8} {'median s':>9} {'peak MB':>8} {'vs floor':>9} {'naive/proj':>11}"]
    by_key = {(r["analysis"], r["path"]): r for r in report["results"]}
    for r in report["results"]:
        project = by_key.get((r["analysis"], "project"), {}).get("seconds")
        if r.get("seconds") is None:
            lines.append(f"{r['analysis']:16} {r['path']:8} {r.get('skipped', '')}")
            continue
        floor = by_key.get((r["analysis"], "floor"), {}).get("seconds")
        vs_floor = f"{r['seconds'] / floor:8.1f}×" if floor and r["path"] == "project" else ""
        speedup = f"{r['seconds'] / project:10.0f}×" if project and r["path"] == "naive" else ""
        lines.append(f"{r['analysis']:16} {r['path']:8} {r['seconds']:9.3f} {r['peak_rss_mb']:8.0f} {vs_floor:>9} "
                     f"{speedup:>11}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.participants < 1 or args.runs < 3:
        _say("Error: --participants must be at least 1 and --runs at least 3.")
        return 2
    if args.cold:
        from benchmarks.cold import cold_table, measure_cold

        target, setup = prepared_target(args)
        report = {**measure_cold(target.parquet, args.cache_dir, args.participants, args.runs, _say),
                  "machine": machine()}
        print(json.dumps(report, indent=1) if args.json else cold_table(report))
        return 0
    report = measure(args)
    print(json.dumps(report, indent=1) if args.json else table(report))
    return 0
