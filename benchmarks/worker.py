"""One benchmark path in its own process, so its peak resident memory is its own.

    python -m benchmarks.worker '<json: target, analysis, path, runs>'

Prints one JSON object: the seconds of each warm run (after one untimed warm-up run) and the process's peak
resident set size in MB (for Spark, the Python driver plus the JVM it started).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from benchmarks.paths import BUILDERS, Target


def high_water_mb(pid: int | str = "self") -> float:
    """Peak resident memory (VmHWM) of a process since it started its program.

    Not ``getrusage``: Linux carries ``ru_maxrss`` over ``fork`` + ``exec``, so a worker started by a large parent
    would report the parent's size."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _spark_jvm_pid() -> int | None:
    if "pyspark" not in sys.modules:
        return None
    from pyspark import SparkContext

    process = getattr(SparkContext._gateway, "proc", None)
    return process.pid if process is not None else None


def _stop_spark() -> None:
    """Stop Spark (its JVM's peak memory has been read already); the JVM exits with this process."""
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()


def measure(spec: dict) -> dict:
    target = Target(**{k: Path(v) if k in ("data", "store", "parquet") else v for k, v in spec["target"].items()})
    work = BUILDERS[spec["path"]](target, spec["analysis"])
    work()  # warm-up, untimed: file cache and engine buffers filled, as from a page's second view on
    seconds = []
    for _ in range(spec["runs"]):
        began = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - began)
    jvm = _spark_jvm_pid()
    peak = high_water_mb() + (high_water_mb(jvm) if jvm else 0.0)
    if jvm:
        _stop_spark()
    return {"seconds": seconds, "peak_rss_mb": round(peak, 1)}


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
