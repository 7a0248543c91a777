"""``python -m analyses NAME``: the analyses headless (odds-ratio, prevalence, biomarker-risk, diagnostic,
risk-factors, spc, funnel);
``python -m analyses report``: their slide deck (PPTX) or printable report (HTML);
``python -m analyses validate``: the source's validation report and which analyses its mapping enables.

``--filters`` takes the dashboard URL's query string, so a view reproduces from its link. ``--json`` prints one
JSON object (the contract is in the README). Exit codes: 0 done (notes may say an estimate was withheld);
2 bad arguments or data that cannot be used; 3 internal error. No traceback and no data values are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from analyses.bands import BandError
from analyses.context import AnalysisContext
from analyses.registry import ANALYSES, Availability, enabled_analyses, run_analysis
from analyses.report import (
    Unavailable,
    build_report,
    deck_bytes,
    html_bytes,
    run_page_analyses,
)
from analyses.report.output import checked_output, write_atomically
from analyses.results import AnalysisResult
from analyses.table_one import cohort_table_one
from analyses.variables import AnalysisInputError
from data_schema.cli import validate_source
from data_schema.loading import LoadRefused
from data_schema.mapping import MappingError
from data_schema.reading import DataError
from deployment.memory import tune_memory
from deployment.settings import load_settings
from disclosure.policy import (
    DEFAULT_METHOD,
    DEFAULT_MIN_CELL,
    METHODS,
    DisclosurePolicy,
)
from queries.engines import ENGINES, EngineUnavailable, open_engine
from queries.store import default_store_dir


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analyses", description=__doc__.splitlines()[0],
                                     epilog="python -m analyses report --help: the slide deck or printable report "
                                     "of the page analyses. python -m analyses validate --help: which analyses a "
                                     "source and its mapping enable.")
    parser.add_argument("analysis", choices=list(ANALYSES))
    _source_arguments(parser)
    parser.add_argument("--outcome", help="binary outcome name from the mapping (default: the first)")
    parser.add_argument("--strata", help="stratifier: odds-ratio's Mantel–Haenszel strata (default: age bands; "
                        "'none' to skip); diagnostic's per-stratum accuracy (default: none)")
    parser.add_argument("--adjust", help="adjusters, comma-separated (age, age:spline, sex, site, drug, year or a "
                        "covariate name); 'none' for crude models")
    parser.add_argument("--age-bands", default="30,40,50,60,70,80", help="lower edges of the age bands after the "
                        "first (default 30,40,50,60,70,80: 18-29 … 80+)")
    parser.add_argument("--treated-only", action="store_true", help="only participants who started a treatment")
    for spec in ANALYSES.values():  # each analysis's own arguments, from its declaration
        for argument in spec.arguments:
            argument.add_to(parser)
    parser.add_argument("--filters", default="", help="dashboard query string, e.g. 'sex=female&age=40-79'")
    _policy_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="a CSV/Parquet file or an extract folder")
    parser.add_argument("--mapping", type=Path, help="mapping TOML (see the README)")


def _engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, help="query engine (default: the deployment's dashboard.toml, "
                        "else duckdb); spark needs the optional extra (requirements-spark.txt) and Java 17")
    parser.add_argument("--spark-master", help="Spark master URL (spark://…, yarn, local[4]) or Spark Connect URL "
                        "(sc://…); default: local mode on this machine")
    parser.add_argument("--spark-parquet", help="the prepared cohort's Parquet export where the Spark cluster can "
                        "read it (s3a://…, hdfs://…); default: the export in the local store")
    parser.add_argument("--store", type=Path, help="where prepared cohorts are kept (default: RLS_STORE_DIR, else "
                        "~/.cache/rls-dashboard/prepared)")


def _policy_arguments(parser: argparse.ArgumentParser) -> None:
    _engine_arguments(parser)
    parser.add_argument("--min-cell", type=int, help="small-cell threshold for this run (default: the deployment's "
                        f"dashboard.toml, else {DEFAULT_MIN_CELL}); 0 means exact numbers with no threshold and no "
                        "perturbation, for analysts entitled to the rows")
    parser.add_argument("--method", choices=METHODS, help="disclosure method (default: the deployment's "
                        f"dashboard.toml, else {DEFAULT_METHOD}): cell_key perturbs every count consistently; exact "
                        "gives exact counts with suppression and does not defend against differencing")


def _options(args: argparse.Namespace):
    return ANALYSES[args.analysis].from_cli(args)


def _text(result: AnalysisResult, seconds: float) -> str:
    lines = [result.title, result.caption, ""]
    main_table = result.to_frame()
    if len(main_table):
        lines += [main_table.to_string(index=False, float_format=lambda v: f"{v:.4g}"), ""]
    frame = result.estimates_frame()
    if len(frame):
        shown = frame[["measure", "label", "band", "standard", "estimate", "ci_low", "ci_high", "p_value"]]
        lines += [shown.dropna(axis=1, how="all").to_string(index=False, float_format=lambda v: f"{v:.4g}"), ""]
    tests = result.tests_frame()
    if len(tests):
        lines += [tests[["test", "statistic", "df", "p_value"]].to_string(index=False,
                                                                         float_format=lambda v: f"{v:.4g}"), ""]
    lines += [f"Note: {note}" for note in result.notes]
    lines += [f"Data {result.cohort.data_hash}; small-cell threshold {result.cohort.min_cell}; {seconds:.2f} s.",
              result.cohort.disclosure_note]
    return "\n".join(lines)


def _policy(args: argparse.Namespace) -> DisclosurePolicy:
    """The run's disclosure policy: the flags, else the deployment's dashboard.toml (as the dashboard uses)."""
    deployment = load_settings([])
    min_cell = deployment.min_cell if args.min_cell is None else args.min_cell
    return DisclosurePolicy(min_cell, deployment.method if args.method is None else args.method)


def _report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analyses report", description="The slide deck (PPTX) or "
                                     "printable report (one self-contained HTML file) of the page analyses, with "
                                     "the dashboard pages' default options.")
    _source_arguments(parser)
    parser.add_argument("--filters", default="", help="dashboard query string, e.g. 'sex=female&age=40-79'")
    parser.add_argument("--format", choices=("pptx", "html"), required=True, help="slide deck or printable report")
    parser.add_argument("--out", type=Path, required=True, help="the file to write (never an input)")
    _policy_arguments(parser)
    return parser


def _validate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analyses validate", description="Check a source (as python -m "
                                     "data_schema validate does) and say which analyses its mapping enables and "
                                     "which roles the others miss. Exit 0: usable; 2: refused; 3: internal error.")
    _source_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    tune_memory()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["report"]:
        args = _report_parser().parse_args(argv[1:])
        return guarded(lambda: _report(args))
    if argv[:1] == ["validate"]:
        args = _validate_parser().parse_args(argv[1:])
        return guarded(lambda: _validate(args))
    args = _parser().parse_args(argv)
    return guarded(lambda: _analysis(args))


def guarded(work: Callable[[], int]) -> int:
    """Run ``work`` with the CLI's error handling: exit 2 with one line for arguments or data that cannot be used,
    3 for anything else; never a traceback, never a data value."""
    try:
        return work()
    except (AnalysisInputError, BandError, MappingError, EngineUnavailable) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except DataError as exc:
        print(f"Error: {exc.file}: {exc.detail}", file=sys.stderr)
        return 2
    except LoadRefused as refused:
        print(refused.report.to_text(), file=sys.stderr)
        return 2
    except Exception as exc:  # the last line of defence: no traceback, no data values
        print(f"Internal error ({type(exc).__name__}); no data values are shown. Please report this.",
              file=sys.stderr)
        return 3


def _context(args: argparse.Namespace) -> tuple[AnalysisContext, list[str]]:
    """The cohort and the filters of this run, and the filter values it dropped (the cohort does not have them)."""
    deployment = load_settings([])
    store = args.store or (Path(deployment.store) if deployment.store else default_store_dir())
    engine = open_engine(args.data, args.mapping, store, args.engine or deployment.engine,
                         args.spark_master or deployment.spark_master,
                         args.spark_parquet or deployment.spark_parquet)
    return AnalysisContext.from_query(engine, args.filters, _policy(args))


def _tell(problems: list[str]) -> None:
    for problem in problems:
        print(f"Filter: {problem}", file=sys.stderr)


def _check_min_cell(args: argparse.Namespace) -> None:
    if args.min_cell is not None and args.min_cell < 0:
        raise AnalysisInputError("--min-cell must be 0 or more.")


def _analysis(args: argparse.Namespace) -> int:
    _check_min_cell(args)
    opts = _options(args)
    ctx, problems = _context(args)
    started = time.perf_counter()
    result = run_analysis(ctx, args.analysis, opts)
    _tell(problems)
    print(result.to_json() if args.json else _text(result, time.perf_counter() - started))
    return 0


def _report(args: argparse.Namespace) -> int:
    """The page analyses → one deck or report, written atomically; analyses the filters do not allow are named
    on stderr and shown as such in the file; none at all is an error (nothing is written)."""
    _check_min_cell(args)
    out = checked_output(args.out, args.format, args.data, args.mapping)
    ctx, problems = _context(args)
    started = time.perf_counter()
    items = run_page_analyses(ctx)
    _tell(problems)
    for item in items:
        if isinstance(item, Unavailable):
            print(f"Not shown: {item.title}: {item.message}", file=sys.stderr)
    if all(isinstance(item, Unavailable) for item in items):
        raise AnalysisInputError("None of the analyses can be shown for these filters; no file was written.")
    report = build_report(ctx.cohort(), items, table_one=cohort_table_one(ctx))
    content = deck_bytes(report) if args.format == "pptx" else html_bytes(report)
    write_atomically(out, content)
    print(f"Wrote {out} ({len(content):,} bytes) in {time.perf_counter() - started:.1f} s.")
    return 0


def _validate(args: argparse.Namespace) -> int:
    """The data_schema validation report plus an "Analyses" section: each analysis enabled, or the roles it misses.
    Exit 0 when the data can be used, 2 when they are refused (the analyses section then says what the mapping
    would enable once the errors are fixed)."""
    report, mapping = validate_source(args.data, args.mapping)
    available = enabled_analyses(mapping) if mapping is not None else None
    if args.json:
        out = report.to_dict()
        out["analyses"] = None if available is None else {
            name: {**a.to_dict(), "enabled": a.enabled and report.usable} for name, a in available.items()}
        print(json.dumps(out, indent=2))
    else:
        print("\n".join([report.to_text(), *_analyses_lines(available, report.usable)]))
    return 0 if report.usable else 2


def _analyses_lines(available: dict[str, Availability] | None, usable: bool) -> list[str]:
    if available is None:
        return ["Analyses: unknown, the mapping could not be read (see above)."]
    lines = ["Analyses:" if usable else "Analyses (none can run until the errors above are fixed; with this "
             "mapping):"]
    for name, a in available.items():
        lines.append(f"  {name}: {a.describe()}")
    return lines
