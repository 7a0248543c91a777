"""``python -m data_schema {synthesize,validate}``: build the demo extract; check a source before use.

``validate`` reports rule, column and counts per file and which roles the mapping binds (each missing one is a
warning saying what it would enable); ``validate --suggest-mapping`` prints a mapping file (TOML) for a source
without one, guessed from column names and values.

Exit codes: 0 the data can be used (warnings allowed) or the mapping was suggested; 2 refused or bad arguments;
3 internal error. Messages name files, columns and rules, never data values, and never show a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import duckdb

from data_schema.bound_roles import roles_section
from data_schema.loading import LoadRefused, load_cohort
from data_schema.mapping import Mapping, MappingError
from data_schema.reading import DataError
from data_schema.sources import resolve_mapping
from data_schema.validation import Finding, ValidationReport


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_schema", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    syn = sub.add_parser("synthesize", help="write the seeded demo extract (Parquet) to a folder")
    syn.add_argument("--participants", type=int, default=50_000)
    syn.add_argument("--seed", type=int, default=2024)
    syn.add_argument("--out", type=Path, required=True)
    syn.add_argument("--months", action="store_true", help="a limited data set: also write the calendar month of "
                     "treatment starts and labs (Safe Harbor keeps only years), declared in its mapping.toml")
    val = sub.add_parser("validate", help="check a cohort source and report rule, column and counts")
    val.add_argument("--data", type=Path)
    val.add_argument("--mapping", type=Path)
    val.add_argument("--json", action="store_true", help="print one JSON object")
    val.add_argument("--suggest-mapping", action="store_true", help="print a suggested mapping file (TOML) for "
                     "--data, guessed from column names and values, instead of the report")
    return parser


def synthesize_command(args: argparse.Namespace) -> int:
    from data_schema.demo import synthesize

    if args.participants < 1:
        print("--participants must be at least 1.", file=sys.stderr)
        return 2
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"\r  {done:,} / {total:,} participants", end="", file=sys.stderr, flush=True)

    summary = synthesize(args.participants, args.seed, args.out, progress=progress, months=args.months)
    print(file=sys.stderr)
    rows = ", ".join(f"{k} {v:,}" for k, v in summary.items() if isinstance(v, int))
    print(f"Wrote {args.out} ({rows}) in {time.perf_counter() - started:.1f} s.")
    return 0


def validate_source(data: Path | None, mapping_file: Path | None) -> tuple[ValidationReport, Mapping | None]:
    """Load the source into a scratch in-memory database: what validation found, with the roles section when the
    mapping could be read, and that mapping (None if it could not be)."""
    mapping = None
    try:
        mapping = resolve_mapping(data, mapping_file)
        with duckdb.connect(":memory:") as con:
            report = load_cohort(con, mapping).report
    except LoadRefused as refused:
        report = refused.report
    except DataError as exc:
        report = ValidationReport((Finding("error", exc.file, exc.rule, exc.detail, exc.column),))
    except MappingError as exc:
        report = ValidationReport((Finding("error", "mapping", "mapping", str(exc)),))
    return (report if mapping is None else replace(report, roles=roles_section(mapping))), mapping


def validate_report(data: Path | None, mapping_file: Path | None) -> ValidationReport:
    """Load the source into a scratch in-memory database and return what validation found."""
    return validate_source(data, mapping_file)[0]


def validate_command(args: argparse.Namespace) -> int:
    if args.suggest_mapping:
        return suggest_command(args)
    report = validate_report(args.data, args.mapping)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_text())
    return 0 if report.usable else 2


def suggest_command(args: argparse.Namespace) -> int:
    """Print a suggested mapping for ``--data`` on stdout (so it can be redirected to a file)."""
    from data_schema.suggest import suggest_mapping

    if args.data is None or args.mapping is not None or args.json:
        print("--suggest-mapping takes --data FILE only (no --mapping, no --json).", file=sys.stderr)
        return 2
    try:
        text = suggest_mapping(args.data)
    except DataError as exc:
        print(f"Error: {exc.file}: {exc.detail}", file=sys.stderr)
        return 2
    print(text, end="")
    print(f"Suggested a mapping for {args.data.name}: check the lines marked CHECK, then run python -m data_schema "
          "validate --data FILE --mapping MAPPING.", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"synthesize": synthesize_command, "validate": validate_command}[args.command](args)
    except Exception as exc:  # the last line of defence: no traceback, no data values
        print(f"Internal error ({type(exc).__name__}); no data values are shown. Please report this.",
              file=sys.stderr)
        return 3
