"""Write the small demo cohorts the R reference script reads (run once; the CSVs are committed).

    .venv/bin/python -m tests.reference.make_datasets

Both are one-row-per-participant CSVs of the seeded demo generator's output, flattened through the project's own
derivation, with a mapping file each (``demo_*.toml``) so the Python side loads them like any user cohort:

- ``demo_cohort.csv``: every participant of a 10,000-participant extract (seed 11) — odds ratios, prevalence;
- ``demo_treated.csv``: the treated participants with a ferritin value at treatment start from a 60,000-participant
  extract (seed 12) — ferritin bands, Kaplan–Meier, logistic and Cox models;
- ``demo_risk_factors.csv``: the risk factors of every participant of the seed-11 extract — the risk-factor table
  (the generator draws neuropathy and family history from a stream of their own, so the participants and their other
  columns are those of ``demo_cohort.csv``).
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


RISK_FACTOR_COLUMNS = """pid AS participant_id, CASE sex WHEN 'female' THEN 'F' ELSE 'M' END AS sex, age, site,
    CAST(outcome_rls AS INTEGER) AS rls, CAST(exclude_pregnancy AS INTEGER) AS pregnant,
    CAST(exclude_iron_deficiency AS INTEGER) AS iron_deficiency, CAST(exclude_antidepressant AS INTEGER) AS
    antidepressant, CAST(cov_neuropathy AS INTEGER) AS neuropathy, CAST(cov_family_history AS INTEGER) AS
    family_history, cov_bmi_group AS bmi_group, cov_egfr AS egfr"""


def _export(participants: int, seed: int, where: str, out: Path, columns: str = COLUMNS) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        synthesize(participants, seed, Path(tmp))
        engine = CohortEngine.open(Path(tmp))
        frame = engine._con.cursor().execute(f"SELECT {columns} FROM cohort WHERE {where} ORDER BY pid").df()
    frame.to_csv(out, index=False)
    return len(frame)


def main() -> None:
    n = _export(10_000, 11, "TRUE", HERE / "demo_cohort.csv")
    m = _export(60_000, 12, "treatment IS NOT NULL AND biomarker IS NOT NULL", HERE / "demo_treated.csv")
    r = _export(10_000, 11, "TRUE", HERE / "demo_risk_factors.csv", RISK_FACTOR_COLUMNS)
    print(f"demo_cohort.csv: {n} rows; demo_treated.csv: {m} rows; demo_risk_factors.csv: {r} rows")


if __name__ == "__main__":
    main()
