"""Write the small demo cohorts the R reference script reads (run once; the CSVs are committed).

    .venv/bin/python -m tests.reference.make_datasets

Both are one-row-per-participant CSVs of the seeded demo generator's output, flattened through the project's own
derivation, with a mapping file each (``demo_*.toml``) so the Python side loads them like any user cohort:

- ``demo_cohort.csv``: every participant of a 10,000-participant extract (seed 11) — odds ratios, prevalence;
- ``demo_treated.csv``: the treated participants with a ferritin value at treatment start from a 60,000-participant
  extract (seed 12) — ferritin bands, Kaplan–Meier, logistic and Cox models.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from data_schema.demo import synthesize
from queries.engine import CohortEngine

HERE = Path(__file__).resolve().parent / "data"
COLUMNS = """pid AS participant_id, CASE sex WHEN 'female' THEN 'F' ELSE 'M' END AS sex, age, site,
    CAST(outcome_rls AS INTEGER) AS rls, CAST(outcome_rls_clinsig AS INTEGER) AS rls_clinsig,
    biomarker AS ferritin, coalesce(treatment, 'none') AS drug, CAST(event AS INTEGER) AS augmented,
    CAST(round(time_years * 365.25) AS INTEGER) AS days"""


def _export(participants: int, seed: int, where: str, out: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        synthesize(participants, seed, Path(tmp))
        engine = CohortEngine.open(Path(tmp))
        frame = engine._con.cursor().execute(f"SELECT {COLUMNS} FROM cohort WHERE {where} ORDER BY pid").df()
    frame.to_csv(out, index=False)
    return len(frame)


def main() -> None:
    n = _export(10_000, 11, "TRUE", HERE / "demo_cohort.csv")
    m = _export(60_000, 12, "treatment IS NOT NULL AND biomarker IS NOT NULL", HERE / "demo_treated.csv")
    print(f"demo_cohort.csv: {n} rows; demo_treated.csv: {m} rows")


if __name__ == "__main__":
    main()
