"""``python -m queries prepare``: check and load a cohort once into the store (and optionally export it as Parquet
for Spark), so the dashboard and the CLI start in about a second however large the cohort.

Exit codes: 0 prepared; 2 refused or bad arguments; 3 internal error. Messages name files, columns and rules, never
data values.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from data_schema.loading import LoadRefused
from data_schema.mapping import MappingError
from data_schema.reading import DataError
from queries.engine import prepare
from queries.store import default_store_dir, export_parquet


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m queries", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="check and load a cohort into the store (once per version of the data)")
    prep.add_argument("--data", type=Path, help="a CSV/Parquet file or an extract folder")
    prep.add_argument("--mapping", type=Path, help="mapping TOML (see the README)")
    prep.add_argument("--store", type=Path, help="where prepared cohorts are kept (default: RLS_STORE_DIR, else "
                      "~/.cache/rls-dashboard/prepared)")
    prep.add_argument("--summary", action="store_true", help="print one line (participants, time) instead of the "
                      "whole validation report")
    prep.add_argument("--export", type=Path, help="also write the prepared cohort to this Parquet file (to copy "
                      "to object storage for a Spark cluster)")
    return parser


def _inside_sources(out: Path, data: Path | None, mapping: Path | None) -> bool:
    """True when ``out`` would land in (or under) the data folder or beside a source file or the mapping."""
    target = out.resolve()
    folders = [p.resolve() if p.is_dir() else p.resolve().parent for p in (data, mapping) if p is not None]
    return any(target.is_relative_to(folder) for folder in folders)


def prepare_command(args: argparse.Namespace) -> int:
    store = args.store or default_store_dir()
    if args.export and args.export.suffix.lower() != ".parquet":
        print("Error: --export must name a .parquet file.", file=sys.stderr)
        return 2
    if args.export and _inside_sources(args.export, args.data, args.mapping):
        print("Error: --export must not write into a folder holding the sources or the mapping.", file=sys.stderr)
        return 2
    print(f"Checking and loading into {store} (once; on 2 cores about 10–15 s per million participants) …",
          file=sys.stderr, flush=True)
    began = time.perf_counter()
    prepared, info = prepare(args.data, args.mapping, store)
    if not args.summary:
        print(info.load.report.to_text())
    print(f"Prepared {info.load.n_participants:,} participants in {prepared.folder} "
          f"({time.perf_counter() - began:.1f} s this run; {prepared.seconds:.1f} s when first built).")
    if args.export:
        export_parquet(prepared, args.export)
        print(f"Wrote {args.export}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return prepare_command(args)
    except LoadRefused as refused:
        print(refused.report.to_text(), file=sys.stderr)
        return 2
    except DataError as exc:
        print(f"Error: {exc.file}: {exc.detail}", file=sys.stderr)
        return 2
    except MappingError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the last line of defence: no traceback, no data values
        print(f"Internal error ({type(exc).__name__}); no data values are shown. Please report this.",
              file=sys.stderr)
        return 3
