"""The dashboard's frame (entry script, sidebar, caches, the Overview's counts) loads without the analysis layer's
heavy libraries, so a fresh server draws the Overview's first numbers before statsmodels, SciPy's stats and Altair
are imported (about 1.2 s of a cold start on this machine: docs/performance.md). Run in a fresh interpreter, since
this test session has imported them long ago."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAME_MODULES = ("dashboard.auth", "dashboard.frame", "dashboard.style", "dashboard.caches", "dashboard.controls",
                 "dashboard.render", "dashboard.source", "dashboard.sidebar", "dashboard.presentation")
DEFERRED = ("statsmodels", "scipy.stats", "altair", "analyses.registry", "analyses.table_one")


def _loaded_after_importing(modules: tuple[str, ...]) -> set[str]:
    code = (f"import importlib, json, sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"[importlib.import_module(m) for m in {list(modules)!r}]; print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_frame_loads_without_the_analysis_layer():
    loaded = _loaded_after_importing(FRAME_MODULES)
    assert {"dashboard.frame", "ibis", "duckdb"} <= loaded  # the check itself sees what was imported
    assert sorted(set(DEFERRED) & loaded) == []


def test_an_analysis_page_still_reaches_the_registry():
    assert set(DEFERRED) <= _loaded_after_importing(("dashboard.analysis_page",))
