"""Risk of a time-to-event outcome by biomarker band (ferritin and augmentation on the demo): bands, ORs, HRs,
Kaplan–Meier and the dose–response curve."""

from __future__ import annotations

from analyses.bands import BiomarkerBands, numbers_option
from analyses.biomarker_risk import BiomarkerRiskDetails, BiomarkerRiskOptions, biomarker_risk
from analyses.display import TableView, fmt, p_clause, shown, test_verdict
from analyses.figures import biomarker_risk as figures
from analyses.results import AnalysisResult, TestResult
from analyses.spec import AnalysisSpec, CliArgument, RoleNeed, names_option


def stated_tests(result: AnalysisResult) -> list[TestResult]:
    """Log-rank and the proportional-hazards check, in words, and only when at least two bands are shown (a test
    across one shown band would speak for the withheld ones)."""
    bands = result.table("bands")
    if len(bands) == 0 or (~bands["suppressed"].astype(bool)).sum() < 2:
        return []
    return [t for t in (result.test("logrank"), result.test("proportional_hazards")) if t is not None]


def findings(result: AnalysisResult) -> dict[str, str]:
    """The ratios: the hazard ratio of the lowest band with a shown HR; the Kaplan–Meier curves: the log-rank test
    (only when the page states it: two or more bands shown)."""
    out = {}
    event = result.details.event_label.lower()
    reference = result.details.reference_band
    hrs = {e.band: e for e in result.estimates if e.measure == "hr" and shown(e)}
    band = next((b for b in result.details.band_labels if b in hrs), None)
    if band is not None:
        e = hrs[band]
        out["effects"] = (f"Hazard of {event} in band {band} was {fmt(e.estimate)} times that in band {reference} "
                          f"(Cox HR; 95% CI {fmt(e.ci_low)}–{fmt(e.ci_high)})")
    logrank = next((t for t in stated_tests(result) if t.test == "logrank"), None)
    verdict = None if logrank is None else test_verdict(logrank)
    if verdict:
        out["km"] = f"{verdict} (log-rank {p_clause(logrank.p_value)})"
    return out


def from_cli(args) -> BiomarkerRiskOptions:
    cuts = BiomarkerBands(numbers_option("--cut-points", args.cut_points, float, "50,75,100")) \
        if args.cut_points else None
    return BiomarkerRiskOptions(cuts, args.reference_band, names_option(args.adjust),
                                numbers_option("--at", args.at, float, "0.5,1,2,3,5") if args.at else None, args.ties,
                                "treated" if args.treated_only else args.population)


SPEC = AnalysisSpec(
    name="biomarker-risk",
    title="Ferritin & augmentation",
    summary="Risk of the mapped event by biomarker band (augmentation by serum ferritin on the demo).",
    run=biomarker_risk,
    options=BiomarkerRiskOptions,
    details=BiomarkerRiskDetails,
    needs=(RoleNeed("biomarker", "the biomarker whose bands are compared"),
           RoleNeed("time_to_event", "the event and the follow-up time")),
    arguments=(
        CliArgument(("--cut-points",), {"help": "biomarker cut points (default: the mapping's, else 50,75,100)"}),
        CliArgument(("--reference-band",), {"help": "reference biomarker band label, e.g. '>=100' (default: top "
                                            "band)"}),
        CliArgument(("--population",), {"choices": ("all", "treated"), "help": "biomarker-risk: everyone with a "
                                        "biomarker value, or only the treated (default: treated when the mapping "
                                        "has a treatment role)"}),
        CliArgument(("--at",), {"help": "times (years) for Kaplan–Meier estimates (default: whole years to the end "
                                "of follow-up)"}),
        CliArgument(("--ties",), {"choices": ("breslow", "efron"), "default": "breslow",
                                  "help": "Cox tie handling"}),
    ),
    from_cli=from_cli,
    figures=figures.figures,
    table_view=TableView(
        "bands", "Events, person-years, risk and rate by band",
        "Risk with Wilson 95% CIs; rate per 100 person-years with exact Poisson CIs",
        percent=("risk", "risk_low", "risk_high"),
        decimals=(("person_time", 0), ("rate_per_100", 2), ("rate_low", 2), ("rate_high", 2)),
        names=(("band", "Band"), ("events", "Events"), ("person_time", "Person-years"), ("risk", "Risk"),
               ("risk_low", "Risk CI low"), ("risk_high", "Risk CI high"), ("rate_per_100", "Rate / 100 PY"),
               ("rate_low", "Rate CI low"), ("rate_high", "Rate CI high"), ("reference", "Reference"))),
    findings=findings,
    stated_tests=stated_tests,
    estimates_title="Odds and hazard ratios by band vs the reference band",
    page="views/ferritin_augmentation.py",
)
