"""The test cluster's own failure paths, without Spark: a process that exits while it is awaited, or one that never
becomes ready, raises ClusterError with the tail of its log, and stopping kills the whole process group."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engines.cluster import ClusterError, SparkCluster


def test_a_process_that_exits_is_reported_with_its_log(tmp_path):
    cluster = SparkCluster(tmp_path)
    cluster._launch("master", ["sh", "-c", "echo 'bind failed on port 7077'; exit 3"])
    with pytest.raises(ClusterError) as caught:
        cluster._wait("master", lambda: False, timeout=30)
    cluster.stop()
    assert "Spark master exited with code 3" in str(caught.value)
    assert "bind failed on port 7077" in str(caught.value)


def test_a_process_never_ready_times_out_and_is_stopped_with_its_children(tmp_path):
    cluster = SparkCluster(tmp_path)
    cluster._launch("worker-1", ["sh", "-c", "sleep 300 & echo $! > child.pid; echo waiting; wait"])
    with pytest.raises(ClusterError, match="Spark workers was not ready within 1 s"):
        cluster._wait("workers", lambda: False, timeout=1)
    child = int((tmp_path / "child.pid").read_text())
    cluster.stop(grace=5)
    assert cluster.processes == {}
    assert _gone(child)  # the shell's child went with its process group


def _gone(pid: int) -> bool:
    """No such process, or a zombie waiting for init to reap it (this container's init may not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status
