"""``python -m queries prepare``: prepares once, reuses, exports Parquet outside the sources, refuses cleanly."""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq

from tests.cli.invocation import REPO, Run


def prepare(*args) -> Run:
    done = subprocess.run([sys.executable, "-m", "queries", "prepare", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stdout + done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


def test_prepare_then_reuse_then_export(demo_dir, tmp_path):
    store = tmp_path / "store"
    first = prepare("--data", demo_dir, "--store", store)
    assert first.code == 0, first.stderr
    assert "Prepared 20,000 participants" in first.stdout
    again = prepare("--data", demo_dir, "--store", store, "--export", tmp_path / "c.parquet")
    assert again.code == 0, again.stderr
    assert pq.read_metadata(tmp_path / "c.parquet").num_rows == 20_000
    assert len([p for p in store.iterdir() if not p.name.startswith(".")]) == 1
    summary = prepare("--data", demo_dir, "--store", store, "--summary")  # what `make run` prints
    assert summary.code == 0 and summary.stdout.strip().startswith("Prepared 20,000 participants")
    assert len(summary.stdout.strip().splitlines()) == 1 and len(first.stdout.splitlines()) > 1


def test_export_into_the_source_folder_is_refused(demo_dir, tmp_path):
    done = prepare("--data", demo_dir, "--store", tmp_path / "s", "--export",
                  demo_dir / "cohort.parquet")
    assert done.code == 2 and "folder holding the sources" in done.stderr and "Prepared" not in done.stdout
    assert not (demo_dir / "cohort.parquet").exists()


def test_refused_data_exit_2_without_values(tmp_path):
    data = tmp_path / "cohort.csv"
    data.write_text("participant_id,sex,age\nSECRET1,F,40\nSECRET1,M,50\n")
    done = prepare("--data", data, "--store", tmp_path / "s")
    assert done.code == 2 and "Data refused" in done.stderr and "SECRET1" not in done.stderr + done.stdout
