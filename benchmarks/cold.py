"""The first answer on a new extract: the CLI, cold, against the naive path on the same file.

    python -m benchmarks --cold --participants N

The cohort is a wide Parquet file with its own column names and codes (written once from the seeded demo
cohort of that size: ``patient_ref``, ``gender`` coded 1/2, ``rls_dx`` …) and a mapping file binding them. Each
run starts a fresh process with an empty store, so it pays everything a user's first command pays: Python's
imports, reading and checking every row, the record keys, writing the prepared cohort, then the analysis (odds
ratios by sex, the CLI's default options) and its JSON. The naive run, also a fresh process, reads the needed
columns of the same file into pandas, recodes them and fits the same estimates row by row
(:func:`benchmarks.naive.odds_ratio_frame`). Median of ``--runs`` runs of each, and each process's peak memory.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# canonical column of the prepared demo cohort -> this cohort's own name
OWN_NAMES = {"pid": "patient_ref", "site": "centre", "age": "age_years", "baseline_year": "enrol_year",
             "outcome_rls": "rls_dx", "outcome_rls_clinsig": "rls_significant", "exclude_pregnancy": "pregnant_now",
             "exclude_iron_deficiency": "ida", "biomarker": "ferritin_ugl", "cov_bmi_group": "bmi_band",
             "cov_egfr": "egfr_ml"}
MAPPING = """[source]
files = ["cohort.parquet"]

[columns]
participant_id = "patient_ref"
sex = "gender"
age = "age_years"
site = "centre"
baseline_year = "enrol_year"

[codes.sex]
female = [2]
male = [1]

[outcomes.rls]
column = "rls_dx"
positive = [1]
label = "Restless legs syndrome"

[outcomes.rls_significant]
column = "rls_significant"
positive = [1]
label = "Clinically significant RLS"

[biomarker]
column = "ferritin_ugl"
label = "Serum ferritin"
unit = "µg/L"
cut_points = [50, 75, 100]

[exclusions]
pregnancy = { column = "pregnant_now", positive = [1], label = "pregnancy" }
iron_deficiency = { column = "ida", positive = [1], label = "iron-deficiency anaemia" }

[covariates]
bmi_band = { label = "BMI group", type = "categorical" }
egfr_ml = { label = "eGFR", type = "numeric", unit = "mL/min/1.73m²" }
"""


def own_names_cohort(prepared_parquet: Path, out: Path) -> Path:
    """Write the cohort under its own names and codes (once); returns the mapping file's path."""
    import duckdb

    from data_schema.reading import run

    mapping = out / "mapping.toml"
    if (out / "cohort.parquet").exists() and mapping.exists():
        return mapping
    out.mkdir(parents=True, exist_ok=True)
    columns = ", ".join(f"{'CAST(' + c + ' AS TINYINT)' if c.startswith(('outcome_', 'exclude_')) else c} AS {n}"
                        for c, n in OWN_NAMES.items())
    sex = "CASE sex WHEN 'female' THEN 2 WHEN 'male' THEN 1 END AS gender"
    source = str(prepared_parquet).replace("'", "''")
    target = str(out / "cohort.parquet").replace("'", "''")
    run(duckdb.connect(), f"COPY (SELECT {columns}, {sex} FROM read_parquet('{source}')) TO '{target}' "
        "(FORMAT parquet, COMPRESSION zstd)")  # the loader's helper: a source file is written, no count leaves
    mapping.write_text(MAPPING, encoding="utf-8")
    return mapping


def _worker_project(mapping: Path, store: Path) -> None:
    from analyses.cli import main

    with redirect_stdout(io.StringIO()) as out:
        code = main(["odds-ratio", "--data", str(mapping.parent / "cohort.parquet"), "--mapping", str(mapping),
                     "--store", str(store), "--json"])
    if code != 0:
        raise SystemExit(f"the CLI failed (exit code {code})")
    json.loads(out.getvalue())  # the analysis's JSON, whole


def _worker_naive(mapping: Path) -> None:
    import pandas as pd

    from benchmarks.naive import odds_ratio_frame

    df = pd.read_parquet(mapping.parent / "cohort.parquet", columns=["gender", "age_years", "rls_dx"])
    df["sex"] = df["gender"].map({2: "female", 1: "male"})
    odds_ratio_frame(df.rename(columns={"age_years": "age", "rls_dx": "rls"})[["sex", "age", "rls"]], "rls")


def _one_run(path: str, mapping: Path, cache: Path) -> dict:
    """One cold run in a fresh process (an empty store for the project): wall seconds and peak memory."""
    store = Path(tempfile.mkdtemp(prefix="cold-store-", dir=cache))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.setdefault("RLS_CELL_KEY_SECRET", "cold-benchmark-" + "0" * 32)
    try:
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "benchmarks.cold", path, str(mapping), str(store)],
                              capture_output=True, text=True, env=env, cwd=ROOT)
        seconds = time.perf_counter() - began
    finally:
        shutil.rmtree(store, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"cold {path} run failed: {(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    return {"seconds": seconds, **json.loads(done.stdout.strip().splitlines()[-1])}


def measure_cold(prepared_parquet: Path, cache: Path, participants: int, runs: int, say) -> dict:
    """Cold CLI and naive runs, alternating, on the own-names cohort of this size."""
    mapping = own_names_cohort(prepared_parquet, cache / f"own-names-n{participants}")
    measured: dict[str, list[dict]] = {"project": [], "naive": []}
    for i in range(runs):
        for path in measured:
            say(f"  cold {path}, run {i + 1} of {runs} …")
            measured[path].append(_one_run(path, mapping, cache))
    out = {}
    for path, rows in measured.items():
        out[path] = {"seconds": round(statistics.median(r["seconds"] for r in rows), 2),
                     "runs": [round(r["seconds"], 2) for r in rows],
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in rows)}
    out["naive_over_project"] = round(out["naive"]["seconds"] / out["project"]["seconds"], 2)
    return {"participants": participants, "analysis": "odds-ratio", "cohort": str(mapping.parent), **out}


def cold_table(report: dict) -> str:
    p, n = report["project"], report["naive"]
    return "\n".join([
        f"First answer on a new {report['participants']:,}-participant Parquet file (odds ratios by sex), cold:",
        f"  CLI (check, prepare, analyse): {p['seconds']:8.2f} s  peak {p['peak_rss_mb']:6.0f} MB  runs {p['runs']}",
        f"  naive (pandas + statsmodels):  {n['seconds']:8.2f} s  peak {n['peak_rss_mb']:6.0f} MB  runs {n['runs']}",
        f"  naive ÷ CLI: {report['naive_over_project']:.2f} (the target is at least 1.5)"])


if __name__ == "__main__":
    from benchmarks.worker import high_water_mb

    kind, mapping_arg, store_arg = sys.argv[1:4]
    if kind == "project":
        _worker_project(Path(mapping_arg), Path(store_arg))
    else:
        _worker_naive(Path(mapping_arg))
    print(json.dumps({"peak_rss_mb": round(high_water_mb(), 1)}))
