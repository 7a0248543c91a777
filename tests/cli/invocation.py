"""Running ``python -m analyses`` as a user would: in a subprocess, many runs started at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        def refuse(constant):
            raise AssertionError(f"non-finite number {constant} in the JSON")
        return json.loads(self.stdout, parse_constant=refuse)


def environment() -> dict[str, str]:
    """A copy of this process's environment for a child started from a worker thread. Without ``env=`` the child
    execs with the C ``environ`` array after ``vfork()``, while other threads may still change (and reallocate) it;
    a CI run failed once that way with "OSError: [Errno 14] Bad address" from ``_fork_exec``. With ``env=`` the
    list is built before the fork."""
    return dict(os.environ)


def invoke(args: list[str], timeout: int) -> Run:
    proc = subprocess.run([sys.executable, "-m", "analyses", *args], cwd=REPO, capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout, env=environment())
    return Run(proc.returncode, proc.stdout, proc.stderr)


def start_all(commands: dict[str, list[str]], timeout: int) -> Iterator[dict[str, Future]]:
    """Every command started at once (a generator for a module-scoped fixture); a test waits only for its own."""
    pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
    yield {name: pool.submit(invoke, args, timeout) for name, args in commands.items()}
    pool.shutdown(wait=True, cancel_futures=True)


def done(runs, name: str, code: int = 0) -> Run:
    run = runs[name].result()
    assert run.code == code, f"{name}: exit {run.code}\n{run.stderr[-2000:]}"
    assert "Traceback" not in run.stdout + run.stderr
    return run
