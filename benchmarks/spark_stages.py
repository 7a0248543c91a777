"""Where the time of each analysis goes on a Spark cluster (a driver in this process, ``spark://…``).

    python -m benchmarks.spark_stages --participants N --spark-master spark://HOST:PORT [--runs 3] [--json]

The cohort is generated, prepared and exported as by ``python -m benchmarks`` (same cache). This process starts
the Spark driver itself with its web UI on (the engine then joins it), so the UI's REST API
(``/api/v1/applications/<app>/jobs`` and ``/stages``) gives each job's and stage's times, tasks and shuffle bytes.
Per analysis, after one warm-up run, the median of ``--runs`` runs of:

- ``total``: the analysis as a page runs it (the benchmark's ``project`` path);
- ``queries``: inside ``engine.execute`` (Ibis compile, Spark planning, the jobs, the result to pandas);
- ``jobs``: the Spark jobs' own durations (submission to completion, from the REST API), split by stage into
  ``scan`` (stages reading the cached cohort, with a shuffle write) and ``after shuffle`` (the rest);
- ``compile`` and ``plan``: the same queries compiled by Ibis and planned by Spark (analysed, optimised, physical
  plan) on their own, once more after the runs;
- ``collect``: ``queries`` − ``jobs`` − ``compile`` − ``plan`` (results to the driver, Arrow to pandas, dtypes);
- ``python``: ``total`` − ``queries`` (parsing the filters, the release layer, the model fits).
"""

from __future__ import annotations

import argparse
import calendar
import json
import statistics
import time
import urllib.request
from pathlib import Path

from benchmarks.cli import ROOT, machine, prepared_target
from benchmarks.paths import ANALYSES, project

STATIC_CONF = {"spark.ui.enabled": "true", "spark.ui.showConsoleProgress": "false",
               "spark.sql.session.timeZone": "UTC", "spark.app.name": "rls-spark-stages"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.spark_stages", description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, required=True)
    parser.add_argument("--spark-master", required=True, help="spark://HOST:PORT (a driver in this process)")
    parser.add_argument("--executor-memory", default="2g")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--analyses", nargs="+", choices=ANALYSES, default=list(ANALYSES))
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "data" / "benchmarks")
    parser.add_argument("--json", action="store_true")
    return parser


def start_driver(master: str, executor_memory: str):
    """The SparkContext of this process, with its UI (and REST API) on a free port."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).config("spark.executor.memory", executor_memory)
    for key, value in STATIC_CONF.items():
        builder = builder.config(key, value)
    session = builder.config("spark.ui.port", "0").getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session.sparkContext


class Rest:
    """The driver UI's REST API for this application."""

    def __init__(self, sc):
        self.base = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}"

    def get(self, path: str):
        with urllib.request.urlopen(f"{self.base}/{path}", timeout=30) as response:
            return json.load(response)

    def jobs_of(self, group: str) -> list[dict]:
        time.sleep(1.0)  # the listener bus is asynchronous: let it catch up
        return [j for j in self.get("jobs") if j.get("jobGroup") == group]


def _seconds(start: str, end: str) -> float:
    def parse(text):
        return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + int(text[20:23]) / 1000
    return parse(end) - parse(start)


def job_summary(rest: Rest, jobs: list[dict]) -> dict:
    """Durations, tasks and shuffle bytes of these jobs, by stage kind."""
    stages = {s["stageId"]: s for s in rest.get("stages")}
    out = {"jobs": len(jobs), "jobs_s": 0.0, "scan_s": 0.0, "after_shuffle_s": 0.0, "stages": 0, "tasks": 0,
           "shuffle_write_mb": 0.0, "input_mb": 0.0, "executor_run_s": 0.0}
    for job in jobs:
        out["jobs_s"] += _seconds(job["submissionTime"], job["completionTime"])
        for sid in job["stageIds"]:
            stage = stages.get(sid)
            if not stage or stage.get("status") != "COMPLETE":
                continue  # skipped stages (their shuffle output reused) cost nothing
            spent = _seconds(stage["submissionTime"], stage["completionTime"])
            out["scan_s" if stage["shuffleWriteBytes"] else "after_shuffle_s"] += spent
            out["stages"] += 1
            out["tasks"] += stage["numTasks"]
            out["shuffle_write_mb"] += stage["shuffleWriteBytes"] / 2**20
            out["input_mb"] += stage["inputBytes"] / 2**20
            out["executor_run_s"] += stage["executorRunTime"] / 1000
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def timed_engine(engine, log: list):
    """Wrap ``engine.execute`` to time each call and keep its expression (the path itself is unchanged)."""
    original = engine.execute

    def execute(expr):
        began = time.perf_counter()
        try:
            return original(expr)
        finally:
            log.append((expr, time.perf_counter() - began))
    engine.execute = execute


def planning(engine, exprs) -> tuple[float, float]:
    """Seconds to compile the expressions (Ibis) and to plan them (Spark: analysed, optimised, physical)."""
    compile_s = plan_s = 0.0
    for expr in exprs:
        began = time.perf_counter()
        sql = engine.sql(expr)
        compiled = time.perf_counter()
        engine.physical_plan(sql)
        compile_s, plan_s = compile_s + compiled - began, plan_s + time.perf_counter() - compiled
    return compile_s, plan_s


def _profile_one(analysis, run, sc, rest, runs) -> dict:
    engine = run.engine
    log: list = []
    timed_engine(engine, log)
    run()  # warm-up: the cohort's cache filled, the JIT warm
    rows = []
    for i in range(runs):
        log.clear()
        group = f"{analysis}-{i}"
        sc.setJobGroup(group, group)
        began = time.perf_counter()
        run()
        total = time.perf_counter() - began
        rows.append({"total_s": total, "queries": len(log), "queries_s": sum(s for _e, s in log),
                     **job_summary(rest, rest.jobs_of(group))})
    compile_s, plan_s = planning(engine, [e for e, _s in log])
    engine.close()
    row = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    row |= {"compile_s": compile_s, "plan_s": plan_s}
    row["collect_s"] = row["queries_s"] - row["jobs_s"] - compile_s - plan_s
    row["python_s"] = row["total_s"] - row["queries_s"]
    return {"analysis": analysis, **{k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_args = argparse.Namespace(**vars(args), engine="spark", paths=["project"], filters="")
    target, setup = prepared_target(setup_args)
    sc = start_driver(args.spark_master, args.executor_memory)
    rest = Rest(sc)
    results = [_profile_one(a, project(target, a), sc, rest, args.runs) for a in args.analyses]
    import pyspark

    report = {"participants": args.participants, "master": args.spark_master, **setup,
              "machine": machine() | {"pyspark": pyspark.__version__}, "results": results}
    print(json.dumps(report, indent=1) if args.json else _table(report))
    sc.stop()
    return 0


def _table(report: dict) -> str:
    cols = ["total_s", "queries", "compile_s", "plan_s", "jobs_s", "scan_s", "after_shuffle_s", "collect_s",
            "python_s", "stages", "tasks", "shuffle_write_mb"]
    lines = [f"{report['participants']:,} participants on {report['master']}", "analysis         " +
             " ".join(f"{c:>15}" for c in cols)]
    for r in report["results"]:
        lines.append(f"{r['analysis']:16} " + " ".join(f"{r[c]:>15}" for c in cols))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
