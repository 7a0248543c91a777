"""Diagnostic accuracy of an index test against a reference standard (PLMS index ≥ 15 against RLS on the demo)."""

from __future__ import annotations

from analyses.bands import age_bands_option
from analyses.diagnostic import DiagnosticDetails, DiagnosticOptions, diagnostic
from analyses.display import TableView, fmt, shown
from analyses.figures import diagnostic as figures
from analyses.results import AnalysisResult
from analyses.spec import AnalysisSpec, CliArgument, RoleNeed


def findings(result: AnalysisResult) -> dict[str, str]:
    """The ROC figure: sensitivity and specificity at the threshold, and the AUC."""
    sens, spec, auc = (result.estimate(m) for m in ("sensitivity", "specificity", "auc"))
    if not (shown(sens) and shown(spec)):
        return {}
    text = (f"{result.caption.split(';')[0]}: sensitivity {100 * sens.estimate:.0f}% "
            f"(95% CI {100 * sens.ci_low:.0f}–{100 * sens.ci_high:.0f}%), specificity {100 * spec.estimate:.0f}% "
            f"(95% CI {100 * spec.ci_low:.0f}–{100 * spec.ci_high:.0f}%)")
    if shown(auc):
        text += f"; AUC {fmt(auc.estimate)}"
    return {"roc": text}


def from_cli(args) -> DiagnosticOptions:
    return DiagnosticOptions(args.outcome, args.test, args.threshold, None if args.strata == "none" else args.strata,
                             args.prevalence, lower_is_positive=args.lower_is_positive,
                             age_bands=age_bands_option(args.age_bands))


SPEC = AnalysisSpec(
    name="diagnostic",
    title="Diagnostic accuracy",
    summary="Sensitivity, specificity, predictive values and the ROC of a test against a reference standard.",
    run=diagnostic,
    options=DiagnosticOptions,
    details=DiagnosticDetails,
    needs=(RoleNeed("outcome", "the reference standard"),
           RoleNeed("covariate", "the index test (a binary or numeric variable)",
                    "or name an exclusion flag with --test")),
    arguments=(
        CliArgument(("--test",), {"help": "diagnostic: the index test, a binary or numeric variable"}),
        CliArgument(("--threshold",), {"type": float, "help": "diagnostic: a numeric test is positive at or above "
                                       "it (default: the mapping's threshold for it, else the Youden-optimal value)"}),
        CliArgument(("--prevalence",), {"type": float, "help": "diagnostic: also give PPV and NPV at this "
                                        "prevalence (0-1)"}),
        CliArgument(("--lower-is-positive",), {"action": "store_true", "help": "diagnostic: a numeric test is "
                                               "positive at or below the threshold (e.g. a low ferritin)"}),
    ),
    from_cli=from_cli,
    figures=figures.figures,
    table_view=TableView(
        "two_by_two", "2×2 table: index test by reference standard", "Counts of participants with both known",
        names=(("test", "Index test"), ("cases", "Reference positive"), ("non_cases", "Reference negative"),
               ("n", "Total"))),
    findings=findings,
    estimates_title="Accuracy: sensitivity, specificity, predictive values, likelihood ratios",
    presented_estimates=("sensitivity", "specificity", "auc"),
    page="views/diagnostic_accuracy.py",
)
