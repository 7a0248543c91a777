"""What the cell key method costs in accuracy: each analysis's headline estimates in cell-key mode against the exact
fit on the same demo extract, over several deployment secrets (each secret gives other record keys, so other noise).

    python -m benchmarks.accuracy --participants N [--secrets 5] [--json]

For every estimate (crude, exact, Mantel–Haenszel and adjusted OR; age-standardised prevalences and their ratio;
per-band ORs and HRs) it reports the exact value and its 95% CI, and over the secrets the median and largest
absolute difference of the cell-key value from the exact one, on the ratio scale (|log(cell key / exact)| as a
percentage) and in units of the exact estimate's standard error (from its CI on the log scale).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import sys

import numpy as np
import pandas as pd

from analyses.context import AnalysisContext
from analyses.report.defaults import page_options
from analyses.registry import run_analysis
from benchmarks.cli import ROOT, extract
from disclosure.policy import DisclosurePolicy
from disclosure.record_keys import SECRET_ENV
from queries.engine import CohortEngine

EXACT = DisclosurePolicy(11, "exact")
CELL_KEY = DisclosurePolicy(11, "cell_key")


def _estimates(engine: CohortEngine, policy: DisclosurePolicy) -> pd.DataFrame:
    ctx, _ = AnalysisContext.from_query(engine, "", policy)
    frames = []
    for name, options in page_options(ctx).items():
        frame = run_analysis(ctx, name, options).estimates_frame()
        frames.append(frame.assign(analysis=name))
    out = pd.concat(frames, ignore_index=True)
    out["label"] = out["label"].fillna("")
    out["standard"] = out.get("standard", pd.Series(index=out.index)).fillna("")
    return out.set_index(["analysis", "measure", "label", "standard"])[["estimate", "ci_low", "ci_high"]]


def _engine(data, secret: str) -> CohortEngine:
    os.environ[SECRET_ENV] = secret
    return CohortEngine.open(data, None)  # in memory: record keys drawn from this secret


def compare(data, n_secrets: int) -> pd.DataFrame:
    """Exact estimates and the cell-key errors over ``n_secrets`` secrets (one row per estimate)."""
    exact = _estimates(_engine(data, secrets.token_hex(32)), EXACT)
    runs = [_estimates(_engine(data, secrets.token_hex(32)), CELL_KEY)["estimate"] for _ in range(n_secrets)]
    log_exact = np.log(exact["estimate"])
    se = (np.log(exact["ci_high"]) - np.log(exact["ci_low"])) / (2 * 1.959964)
    errors = pd.concat([(np.log(r) - log_exact).abs() for r in runs], axis=1)
    out = exact.copy()
    out["median_error_pct"] = 100 * (np.exp(errors.median(axis=1)) - 1)
    out["max_error_pct"] = 100 * (np.exp(errors.max(axis=1)) - 1)
    out["median_error_se"] = errors.median(axis=1) / se
    out["max_error_se"] = errors.max(axis=1) / se
    return out.reset_index()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, required=True)
    parser.add_argument("--secrets", type=int, default=5, help="deployment secrets to draw (noise realisations)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    data = extract(ROOT / "data" / "benchmarks", args.participants, args.seed)
    table = compare(data, args.secrets)
    if args.json:
        print(json.dumps({"participants": args.participants, "secrets": args.secrets,
                          "estimates": json.loads(table.to_json(orient="records"))}, indent=1))
    else:
        print(f"Cell-key vs exact estimates, demo extract of {args.participants:,} participants, "
              f"{args.secrets} secrets")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}" if math.isfinite(v) else "–"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
