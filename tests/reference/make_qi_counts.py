"""Write the inputs of the quality-improvement references (run once; the CSVs are committed, then run
``Rscript tests/reference/r/spc_funnel.R``, which writes the expected values).

    .venv/bin/python -m tests.reference.make_qi_counts

1. ``data/demo_qi.csv`` (+ ``demo_qi.toml``): every participant of a seeded demo extract (30,000 participants,
   seed 13), flattened to the columns of its four guideline measures (in the denominator, met, calendar year,
   person-years), so the Python side loads it as a user cohort with ``[measures]`` — like ``make_datasets``.
2. The released counts each case of :data:`SPC_CASES` and :data:`FUNNEL_CASES` uses (exact mode), run through the
   ``spc`` and ``funnel`` analyses on that demo, on flchain (calendar years: ``sample.yr``) and on lung
   (institutions): ``data/qi_spc_series.csv``, ``qi_spc_cases.csv``, ``qi_funnel_units.csv``,
   ``qi_funnel_cases.csv`` and ``qi_funnel_strata.csv`` (counts per unit × stratum). The R script computes the
   limits, runs rules and indirect standardisation from those counts with the published formulas;
   ``test_qi_analyses_vs_r.py`` checks that the analyses release the same counts and draw the same limits.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.context import AnalysisContext
from analyses.measures import resolve_measure, standardizers, unit_counts, unit_variable
from analyses.sites import FunnelOptions, funnel_analysis
from analyses.trends import SpcOptions, spc_analysis
from disclosure.policy import DisclosurePolicy
from queries.engine import CohortEngine

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
COHORTS = HERE.parent / "data" / "cohorts"
MEASURES = ("ferritin_before_dopaminergic", "first_line_alpha2delta_or_iron", "augmentation_within_2y",
            "augmentation_rate")


@dataclass(frozen=True)
class Case:
    name: str
    cohort: str  # "demo_qi", "flchain" or "lung"
    options: object
    min_cell: int = 11  # exact mode with this threshold: small periods and units are withheld, as in use


SPC_CASES = (
    Case("qi_demo_first_line_p", "demo_qi", SpcOptions("first_line_alpha2delta_or_iron", chart="p")),
    Case("qi_demo_first_line_pp_freeze", "demo_qi", SpcOptions("first_line_alpha2delta_or_iron", chart="pp",
                                                               freeze=8)),
    Case("qi_demo_augmentation_rate_u", "demo_qi", SpcOptions("augmentation_rate")),
    Case("qi_demo_rls_run", "demo_qi", SpcOptions("rls", chart="run")),
    Case("qi_flchain_mgus_p", "flchain", SpcOptions("mgus", chart="p")),
    Case("qi_flchain_mgus_detected_pp", "flchain", SpcOptions("mgus_detected", chart="pp")),
    Case("qi_flchain_deaths_u_freeze", "flchain", SpcOptions("deaths", freeze=5)),
)
FUNNEL_CASES = (
    Case("qi_demo_first_line_site", "demo_qi", FunnelOptions("first_line_alpha2delta_or_iron")),
    Case("qi_demo_rls_site_additive", "demo_qi", FunnelOptions("rls", overdispersion="additive")),
    Case("qi_demo_rls_site_standardized", "demo_qi", FunnelOptions("rls", standardize=("age", "sex"))),
    Case("qi_demo_augmentation_rate_site", "demo_qi", FunnelOptions("augmentation_rate")),
    Case("qi_lung_death_inst", "lung", FunnelOptions("death"), min_cell=0),
    Case("qi_lung_death_inst_multiplicative", "lung", FunnelOptions("death", overdispersion="multiplicative"),
         min_cell=0),
    Case("qi_lung_death_inst_standardized", "lung", FunnelOptions("death", standardize=("age", "sex")), min_cell=0),
)


@cache
def engine(cohort: str) -> CohortEngine:
    folder = DATA if cohort == "demo_qi" else COHORTS / cohort
    mapping = DATA / "demo_qi.toml" if cohort == "demo_qi" else folder / "mapping.toml"
    return CohortEngine.open(folder / f"{cohort}.csv", mapping)


def context(case: Case) -> AnalysisContext:
    return AnalysisContext.from_query(engine(case.cohort), "", DisclosurePolicy(case.min_cell, "exact"))[0]


def chart_name(kind: str) -> str:
    """The R script's chart name."""
    return {"pp": "laney_p"}.get(kind, kind)


def _demo_columns() -> str:
    parts = ["pid AS participant_id", "CASE sex WHEN 'female' THEN 'F' ELSE 'M' END AS sex", "age", "site",
             "baseline_year", "CAST(outcome_rls AS INTEGER) AS rls"]
    for m in MEASURES:
        parts += [f"CAST(measure_{m}_in AS INTEGER) AS {m}_in",
                  f"CASE WHEN measure_{m}_in THEN CAST(measure_{m}_num AS INTEGER) END AS {m}_num",
                  f"measure_{m}_period AS {m}_year"]
    parts.append("measure_augmentation_rate_pt AS augmentation_rate_years")
    return ", ".join(parts)


def write_demo() -> int:
    from data_schema.demo import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        synthesize(30_000, 13, Path(tmp))
        demo = CohortEngine.open(Path(tmp))
        frame = demo._con.cursor().execute(f"SELECT {_demo_columns()} FROM cohort ORDER BY pid").df()
    frame.to_csv(DATA / "demo_qi.csv", index=False, float_format="%.17g")
    return len(frame)


def spc_rows(case: Case) -> tuple[pd.DataFrame, dict]:
    result = spc_analysis(context(case), case.options)
    points = result.table("points")
    per = result.details.per
    withheld = points["withheld"].astype(bool)
    series = pd.DataFrame({"case": case.name, "period": points["period"],
                           "numerator": points["numerator"].where(~withheld).astype(float),
                           "denominator": points["denominator"].where(~withheld).astype(float)})
    options = case.options
    row = {"case": case.name, "chart": chart_name(result.details.chart), "freeze": options.freeze, "parts": None,
           "centre": None, "screen": 1, "per": per}
    return series, row


def funnel_rows(case: Case) -> tuple[pd.DataFrame, pd.DataFrame | None, dict]:
    ctx = context(case)
    result = funnel_analysis(ctx, case.options)
    units = result.table("units")
    ratio = result.details.scale == "ratio"
    strata = None
    if ratio:
        strata = _strata_rows(ctx, case, set(units["unit"]))
        frame = pd.DataFrame(columns=["case", "unit", "numerator", "denominator"])
    else:
        frame = pd.DataFrame({"case": case.name, "unit": units["unit"], "numerator": units["events"],
                              "denominator": units["n"]})
    target = None if ratio else result.details.target
    row = {"case": case.name, "data": case.name, "kind": "ratio" if ratio else "proportion", "target": target,
           "method": "exact", "adjustment": case.options.overdispersion, "scale": "sqrt" if ratio else "identity"}
    return frame, strata, row


def _strata_rows(ctx, case: Case, shown: set[str]) -> pd.DataFrame:
    """Released counts per unit × stratum (exposure: participants, or person-years for a rate); a rate without
    standardisation has one stratum."""
    opts = case.options
    measure = resolve_measure(ctx, opts.outcome, periods=False)
    counts = unit_counts(ctx, measure, unit_variable(ctx, opts.by), standardizers(ctx, opts.standardize),
                         opts.age_bands)
    exposure = "pt" if measure.kind == "rate" else "n"
    strata = counts.strata if counts.strata is not None else counts.units.assign(stratum="all")
    return pd.DataFrame({"data": case.name, "unit": strata["unit"], "stratum": strata["stratum"],
                         "events": strata["events"], "exposure": strata[exposure].astype(float),
                         "shown": strata["unit"].isin(shown)})


def _write(frame: pd.DataFrame, name: str) -> None:
    frame.to_csv(DATA / name, index=False, float_format="%.17g")


def main() -> None:
    print(f"demo_qi.csv: {write_demo()} rows")
    series, cases = zip(*(spc_rows(c) for c in SPC_CASES))
    _write(pd.concat(series), "qi_spc_series.csv")
    _write(pd.DataFrame(cases), "qi_spc_cases.csv")
    units, strata, funnels = zip(*(funnel_rows(c) for c in FUNNEL_CASES))
    _write(pd.concat(units), "qi_funnel_units.csv")
    _write(pd.DataFrame(funnels), "qi_funnel_cases.csv")
    _write(pd.concat([s for s in strata if s is not None]), "qi_funnel_strata.csv")
    print(f"{len(SPC_CASES)} SPC and {len(FUNNEL_CASES)} funnel cases written; now run "
          "Rscript tests/reference/r/spc_funnel.R")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
