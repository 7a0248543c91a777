"""Where the dashboard's data come from and its disclosure threshold: command line > environment > dashboard.toml."""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from analyses.disclosure import DEFAULT_MIN_CELL

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = Path(os.environ.get("RLS_DASHBOARD_CONFIG", ROOT / "dashboard.toml"))


@dataclass(frozen=True)
class Settings:
    data: str | None
    mapping: str | None
    min_cell: int


def _file_settings() -> dict:
    if not CONFIG_FILE.exists():
        return {}
    return tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))


def _relative(value: str | None) -> str | None:
    if not value:
        return None
    path = Path(value)
    return str(path if path.is_absolute() else (CONFIG_FILE.parent / path).resolve())


def load_settings(argv: list[str] | None = None) -> Settings:
    """Settings for this server process (``streamlit run dashboard/app.py -- --data PATH --mapping FILE``)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data")
    parser.add_argument("--mapping")
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    config = _file_settings()
    data = args.data or os.environ.get("RLS_DATA") or _relative(config.get("data", {}).get("path"))
    mapping = args.mapping or os.environ.get("RLS_MAPPING") or _relative(config.get("data", {}).get("mapping"))
    min_cell = int(config.get("disclosure", {}).get("min_cell", DEFAULT_MIN_CELL))
    return Settings(str(Path(data).resolve()) if data else None, str(Path(mapping).resolve()) if mapping else None,
                    min_cell)
