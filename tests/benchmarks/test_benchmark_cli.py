"""The benchmark command end to end on a small extract: every (analysis, path) measured in its own process, the
JSON shape the issue asks for, and the naive path skipped (with the reason) where it would not fit in memory."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import pytest

from benchmarks import cli
from benchmarks.paths import ANALYSES, PATHS
from tests.conftest import ROOT

PARTICIPANTS = 20_000  # the guard shows every page's default view at this size


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    cache = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--participants", str(PARTICIPANTS), "--runs", "3",
                           "--json", "--cache-dir", str(cache)], capture_output=True, text=True, cwd=ROOT,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_json_has_every_analysis_and_path(report):
    assert report["participants"] == PARTICIPANTS and report["engine"] == "duckdb"
    assert report["rows_loaded"] == PARTICIPANTS
    pairs = [(r["analysis"], r["path"]) for r in report["results"]]
    assert pairs == [(a, p) for a in ANALYSES for p in PATHS]
    for r in report["results"]:
        assert set(r) >= {"analysis", "path", "seconds", "peak_rss_mb"}
        assert len(r["runs"]) == 3 and all(s > 0 for s in r["runs"])
        assert r["seconds"] == round(statistics.median(r["runs"]), 4)
        assert 100 < r["peak_rss_mb"] < 4000  # its own process with pandas loaded (not the parent's size)


def test_floor_is_the_cheapest_path(report):
    by = {(r["analysis"], r["path"]): r["seconds"] for r in report["results"]}
    for analysis in ANALYSES:
        assert by[(analysis, "floor")] < by[(analysis, "project")]


def test_table_names_every_path(report):
    text = cli.table(report)
    assert f"{PARTICIPANTS:,} participants, duckdb engine" in text
    assert sum(line.split()[1:2] == ["naive"] for line in text.splitlines()) == len(ANALYSES)


def test_naive_path_is_skipped_above_the_memory_limit():
    big = argparse.Namespace(participants=cli.NAIVE_MAX_PARTICIPANTS + 1, filters="")
    assert "would not fit in memory" in cli._skip_naive(big)
    assert cli._skip_naive(argparse.Namespace(participants=1_000, filters="")) is None
    assert "whole cohort" in cli._skip_naive(argparse.Namespace(participants=1_000, filters="sex=female"))


def test_too_few_runs_is_refused():
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--participants", "100", "--runs", "2"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "at least 3" in done.stderr
