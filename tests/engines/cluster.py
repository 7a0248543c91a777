"""A Spark standalone cluster on 127.0.0.1 for the engine-equivalence tests: a master, two workers and a Spark
Connect server whose application runs on them, all started from the pyspark wheel's own jars and scripts
(``SPARK_HOME`` is the pyspark package folder; nothing is downloaded).

    with SparkCluster.start(folder) as cluster:
        cluster.master_url   # spark://127.0.0.1:PORT  (a driver in this process gets executors on the workers)
        cluster.connect_url  # sc://127.0.0.1:PORT     (the Connect server's own driver, executors on the workers)

Ports are chosen free at start; every process writes its log under ``folder``; a process that does not become ready
within the timeout raises :class:`ClusterError` with the tails of the logs. The processes are always stopped (each
in its own process group, terminated, then killed after a grace period).

Cores: each worker offers 2 (4 in all, on a 2-core machine: the tests are small) and the Connect server's
application is capped at 2, so a driver in this process gets the other 2 instead of waiting for resources.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

WORKERS = 2
WORKER_CORES = 2
WORKER_MEMORY = "1536m"
EXECUTOR_MEMORY = "512m"
CONNECT_CORES = 2
START_TIMEOUT = 120.0


class ClusterError(RuntimeError):
    """The cluster did not start (the message has the tail of each process's log)."""


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SparkCluster:
    folder: Path
    master_url: str = ""
    connect_url: str = ""
    master_ui: str = ""
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @classmethod
    @contextlib.contextmanager
    def start(cls, folder: Path, timeout: float = START_TIMEOUT, executor_memory: str = EXECUTOR_MEMORY,
              worker_memory: str = WORKER_MEMORY):
        """Start master, workers and Connect server; yield the running cluster; always stop it."""
        cluster = cls(Path(folder))
        try:
            try:
                cluster._start_master(timeout)
                for number in range(1, WORKERS + 1):
                    cluster._start_worker(number, worker_memory)
                cluster._wait_for_workers(timeout)
                cluster._start_connect(timeout, executor_memory)
            except (OSError, ValueError) as exc:  # e.g. spark-class missing or not executable
                raise ClusterError(f"{type(exc).__name__}: {exc}\n{cluster.logs()}") from exc
            yield cluster
        finally:
            cluster.stop()

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
        return env | {"SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": "127.0.0.1",
                      "SPARK_LOG_DIR": str(self.folder), "SPARK_WORKER_DIR": str(self.folder / "work"),
                      "PYSPARK_PYTHON": sys.executable, "SPARK_NO_DAEMONIZE": "1"}

    def _launch(self, name: str, args: list[str]) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        self.processes[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self._env(),
                                                cwd=self.folder, start_new_session=True)
        log.close()  # the child holds its own descriptor

    def _spark_class(self, *args: str) -> list[str]:
        return [str(spark_home() / "bin" / "spark-class"), *args]

    def _start_master(self, timeout: float) -> None:
        port, ui = free_port(), free_port()
        self.master_url, self.master_ui = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}"
        self._launch("master", self._spark_class("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                                 "--port", str(port), "--webui-port", str(ui)))
        self._wait("master", lambda: self._state() is not None, timeout)

    def _start_worker(self, number: int, memory: str) -> None:
        work = self.folder / f"work-{number}"
        work.mkdir(exist_ok=True)
        self._launch(f"worker-{number}", self._spark_class(
            "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--port", str(free_port()),
            "--webui-port", str(free_port()), "--cores", str(WORKER_CORES), "--memory", memory,
            "--work-dir", str(work), self.master_url))

    def _wait_for_workers(self, timeout: float) -> None:
        def alive():
            state = self._state() or {}
            return sum(w.get("state") == "ALIVE" for w in state.get("workers", [])) == WORKERS

        self._wait("workers", alive, timeout)

    def _start_connect(self, timeout: float, executor_memory: str) -> None:
        port = free_port()
        self.connect_url = f"sc://127.0.0.1:{port}"
        conf = {"spark.connect.grpc.binding.address": "127.0.0.1", "spark.connect.grpc.binding.port": port,
                "spark.cores.max": CONNECT_CORES, "spark.executor.memory": executor_memory,
                "spark.driver.memory": "1g", "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": 4,
                "spark.local.dir": self.folder / "connect-local",
                "spark.sql.warehouse.dir": self.folder / "connect-warehouse",
                "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
        args = [str(spark_home() / "bin" / "spark-submit"), "--class",
                "org.apache.spark.sql.connect.service.SparkConnectServer", "--name", "rls-connect-server",
                "--master", self.master_url]
        for key, value in conf.items():
            args += ["--conf", f"{key}={value}"]
        self._launch("connect", args)
        self._wait("connect", lambda: _accepts(port) and self._connect_app_running(), timeout)

    def _connect_app_running(self) -> bool:
        state = self._state() or {}
        return any(app.get("name") == "rls-connect-server" for app in state.get("activeapps", []))

    def _state(self) -> dict | None:
        """The master's JSON status page, or None while it is not up."""
        try:
            with urllib.request.urlopen(f"{self.master_ui}/json/", timeout=2) as response:
                return json.load(response)
        except OSError:
            return None

    def _wait(self, name: str, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc_name, process in self.processes.items():
                if process.poll() is not None:
                    raise ClusterError(f"Spark {proc_name} exited with code {process.returncode} while waiting for "
                                       f"{name}.\n{self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise ClusterError(f"Spark {name} was not ready within {timeout:.0f} s.\n{self.logs()}")

    def logs(self, lines: int = 40) -> str:
        """The last lines of every process's log (for a failure message)."""
        parts = []
        for path in sorted(self.folder.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path} (last {len(tail)} lines) ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self, grace: float = 20.0) -> None:
        """Stop the Connect server first (its application), then the workers and the master."""
        for name in sorted(self.processes, key=lambda n: ("connect", "worker", "master").index(n.split("-")[0])):
            _stop(self.processes[name], grace)
        self.processes.clear()


def _stop(process: subprocess.Popen, grace: float) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)  # the group: spark-class's shell and the JVM it started
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(grace)


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.engines.cluster FOLDER [--worker-memory 4g] [--executor-memory 2g]``: start the test
    cluster by hand (for a benchmark or the dashboard), print its URLs, and stop it on Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.engines.cluster", description=main.__doc__.split(":")[0])
    parser.add_argument("folder", type=Path, help="where the logs and the workers' files go")
    parser.add_argument("--worker-memory", default=WORKER_MEMORY)
    parser.add_argument("--executor-memory", default=EXECUTOR_MEMORY, help="for the Connect server's executors")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    with SparkCluster.start(args.folder, executor_memory=args.executor_memory,
                            worker_memory=args.worker_memory) as cluster:
        print(f"master {cluster.master_url}\nconnect {cluster.connect_url}\nmaster UI {cluster.master_ui}", flush=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # after the launches: not inherited
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
