"""Small source files with a few bad rows (attack 10), and the attacker's own same-named upload (attack 10b).

A file is a small wide CSV with its mapping (``invalid_rows = "drop"``) in a temporary folder; its bad rows have an
age outside the role's plausible range (0-120), so they are left out and counted in the load report. The judge's
truth is read back from the CSV with pandas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_schema.validation import FileAccount, Finding, ValidationReport

MAPPING = """[source]
files = ["{name}"]
shape = "wide"

[columns]
participant_id = "pid"
sex = "sex"
age = "age"

[codes.sex]
female = ["F"]
male = ["M"]

[outcomes.case]
column = "case"
positive = [1]
label = "Case"

[validation]
invalid_rows = "drop"
"""


def write_source(folder: Path, name: str, rows: int, bad: int, rng) -> tuple[Path, Path]:
    """A CSV named ``name`` with ``rows`` rows, ``bad`` of them with an implausible age, and its mapping."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"pid": [f"{folder.name}-{i}" for i in range(rows)],
                          "sex": rng.choice(["F", "M"], rows), "age": rng.integers(20, 80, rows),
                          "case": rng.integers(0, 2, rows)})
    frame.loc[rng.choice(rows, bad, replace=False), "age"] = 250
    csv = folder / name
    frame.to_csv(csv, index=False)
    mapping = folder / "mapping.toml"
    mapping.write_text(MAPPING.format(name=name), encoding="utf-8")
    return csv, mapping


def bad_rows(csv: Path) -> int:
    """The judge's count of rows the load leaves out (age outside 0-120), read with pandas."""
    ages = pd.read_csv(csv)["age"]
    return int(((ages < 0) | (ages > 120)).sum())


def colon_like(folder: Path, rows: int, bad: int, rng) -> Path:
    """The attacker's own file named colon.csv: synthetic rows with colon's columns, ``bad`` of them with
    nodes = 0 (outside the biomarker role's plausible range, so dropped as in colon itself)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({
        "id": np.arange(1, rows + 1), "study": 1, "rx": rng.choice(["Obs", "Lev", "Lev+5FU"], rows),
        "sex": rng.integers(0, 2, rows), "age": rng.integers(30, 80, rows), "obstruct": 0, "perfor": 0,
        "adhere": 0, "nodes": rng.integers(1, 6, rows), "status": rng.integers(0, 2, rows), "differ": 2, "extent": 3,
        "surg": 0, "node4": 0, "time": rng.integers(100, 3000, rows), "etype": 2})
    frame.loc[: bad - 1, "nodes"] = 0
    csv = folder / "colon.csv"
    frame.to_csv(csv, index=False)
    return csv


def report_of(name: str, read: int, bad: int, rule: str = "outside the plausible range 0-120",
              column: str = "age") -> ValidationReport:
    """The load report a file named ``name`` with ``read`` rows, ``bad`` of them out of range, gets (the shape
    ``data_schema.loading`` gives it; the release depends only on these names and counts)."""
    finding = Finding("warning", name, rule,
                      f"column '{column}': {bad:,} row(s) — {rule}; those rows were left out.", column, bad)
    return ValidationReport((finding,) if bad else (), (FileAccount(name, read, read - bad, bad),))
