"""Where the dashboard's data come from, which engine runs its queries, its disclosure threshold and who may use it:
command line > environment > dashboard.toml for the data and the engine; the threshold and the access list come from
dashboard.toml only."""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import tomllib

from disclosure.policy import DEFAULT_METHOD, DEFAULT_MIN_CELL, METHODS

ROOT = Path(__file__).resolve().parent.parent
ACCESS_KEYS = ("allowed_emails", "allowed_domains")
_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")
_LOCAL_PART = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}")


@dataclass(frozen=True)
class Settings:
    data: str | None
    mapping: str | None
    min_cell: int
    method: str = DEFAULT_METHOD  # [disclosure] method: "cell_key" (perturbed counts) or "exact"
    engine: str = "duckdb"  # [engine] name: "duckdb" (embedded) or "spark" (optional extra)
    spark_master: str | None = None  # [engine] spark_master: a master URL or a Spark Connect sc:// URL
    store: str | None = None  # [engine] store: where prepared cohorts are kept (default: queries.store)
    spark_parquet: str | None = None  # [engine] spark_parquet: the prepared cohort's Parquet export for a cluster
    upload_ttl_minutes: int = 60  # [uploads] ttl_minutes: an upload unused this long is removed from disk
    max_uploads: int = 8  # [uploads] max_uploads: uploads held at once; one more is refused with a message


@dataclass(frozen=True)
class AccessList:
    """Who may use the dashboard once signed in: exact addresses and whole domains, lower-case ASCII.

    ``configured`` says whether dashboard.toml has an ``[access]`` table at all: a deployment that has one means to
    restrict access, so it must not serve data without sign-in.
    """

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    configured: bool = False


class AccessConfigError(ValueError):
    """The ``[access]`` table of dashboard.toml cannot be used (the message names the key and entry, not a value)."""


def config_file() -> Path:
    """The deployment's dashboard.toml (``RLS_DASHBOARD_CONFIG`` points elsewhere)."""
    return Path(os.environ.get("RLS_DASHBOARD_CONFIG", ROOT / "dashboard.toml"))


def _file_settings() -> dict:
    path = config_file()
    if not path.exists():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _relative(value: str | None) -> str | None:
    if not value:
        return None
    path = Path(value)
    return str(path if path.is_absolute() else (config_file().parent / path).resolve())


def load_settings(argv: list[str] | None = None) -> Settings:
    """Settings for this server process (``streamlit run dashboard/app.py -- --data PATH --mapping FILE``)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data")
    parser.add_argument("--mapping")
    parser.add_argument("--engine")
    parser.add_argument("--spark-master")
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    config = _file_settings()
    data = args.data or os.environ.get("RLS_DATA") or _relative(config.get("data", {}).get("path"))
    mapping = args.mapping or os.environ.get("RLS_MAPPING") or _relative(config.get("data", {}).get("mapping"))
    disclosure = config.get("disclosure", {})
    min_cell = int(disclosure.get("min_cell", DEFAULT_MIN_CELL))
    engine = config.get("engine", {})
    store = os.environ.get("RLS_STORE_DIR") or _relative(engine.get("store"))
    return Settings(str(Path(data).resolve()) if data else None, str(Path(mapping).resolve()) if mapping else None,
                    min_cell, method=_method(disclosure),
                    engine=args.engine or os.environ.get("RLS_ENGINE") or engine.get("name", "duckdb"),
                    spark_master=args.spark_master or os.environ.get("RLS_SPARK_MASTER") or engine.get("spark_master"),
                    store=store, spark_parquet=os.environ.get("RLS_SPARK_PARQUET") or engine.get("spark_parquet"),
                    **_uploads(config.get("uploads", {})))


def _uploads(table: dict) -> dict:
    """``[uploads]``: whole numbers of at least 1, or a clear error naming the key."""
    out = {}
    for key, field_name in (("ttl_minutes", "upload_ttl_minutes"), ("max_uploads", "max_uploads")):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"[uploads] {key} in dashboard.toml must be a whole number of at least 1.")
            out[field_name] = value
    return out


def _method(disclosure: dict) -> str:
    method = str(disclosure.get("method", DEFAULT_METHOD))
    if method not in METHODS:
        raise ValueError(f"[disclosure] method in dashboard.toml must be one of: {', '.join(METHODS)}.")
    return method


def is_domain(text: str) -> bool:
    """A DNS name with at least two labels, lower-case ASCII (international names in their xn-- form)."""
    return _DOMAIN.fullmatch(text) is not None


def is_email(text: str) -> bool:
    """One ``local@domain`` address, lower-case ASCII, no quoting or spaces."""
    local, at, domain = text.rpartition("@")
    return bool(at) and _LOCAL_PART.fullmatch(local) is not None and is_domain(domain)


def _entries(table: dict, key: str, valid) -> frozenset[str]:
    values = table.get(key, [])
    if not isinstance(values, list):
        raise AccessConfigError(f"[access] {key} must be a list of strings")
    entries = set()
    for position, value in enumerate(values, start=1):
        entry = value.strip().lower() if isinstance(value, str) else None
        if entry is None or not valid(entry):
            kind = "an e-mail address" if key == "allowed_emails" else "a domain name (without '@')"
            raise AccessConfigError(f"[access] {key}: entry {position} is not {kind}")
        entries.add(entry)
    return frozenset(entries)


def access_list(config: dict) -> AccessList:
    """The ``[access]`` table of a parsed dashboard.toml; raises :class:`AccessConfigError` on anything unexpected."""
    if "access" not in config:
        return AccessList()
    table = config["access"]
    if not isinstance(table, dict):
        raise AccessConfigError("[access] must be a table")
    unknown = sorted(set(table) - set(ACCESS_KEYS))
    if unknown:
        raise AccessConfigError(f"[access] has unknown keys: {', '.join(unknown)} (known: {', '.join(ACCESS_KEYS)})")
    return AccessList(_entries(table, "allowed_emails", is_email), _entries(table, "allowed_domains", is_domain), True)


def load_access() -> AccessList:
    """This deployment's access list, read from dashboard.toml on each call (never from the URL or a widget)."""
    return access_list(_file_settings())
