"""Injection: at least 50 payloads through every filter (URL and CLI ``--filters``), every page control (URL)
and mapping-file fields. None may change what is computed, reach the engine as SQL, or touch a file."""

from __future__ import annotations

from analyses.registry import PAGE_ANALYSES

import contextlib
import io
import json
import shutil
from urllib.parse import urlencode

import pytest

from analyses.cli import main as analyses_cli
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from analyses.odds_ratio import OddsRatioOptions, odds_ratio
from dashboard.controls import PAGE_KEYS
from data_schema.loading import LoadRefused
from data_schema.mapping import MappingError
from data_schema.reading import DataError
from queries import filters
from queries.engine import CohortEngine
from tests.apptest.conftest import app  # noqa: F401  (the AppTest fixture, shared with the page tests)
from tests.conftest import ROOT
from tests.hostile.injection_payloads import PAYLOADS, SENTINEL_DIR

COHORT = ROOT / "tests" / "reference" / "data" / "demo_cohort.csv"
PAGES = list(dict.fromkeys(spec.page for spec in PAGE_ANALYSES))  # every analysis page, once
TRIED: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def sentinel_dir():
    SENTINEL_DIR.mkdir(exist_ok=True)
    yield
    written = list(SENTINEL_DIR.iterdir())
    shutil.rmtree(SENTINEL_DIR)
    assert not written, "an injected statement wrote a file"
    print(f"\ninjection payloads tried per surface: {TRIED}; successes: 0")


def test_there_are_at_least_50_payloads():
    assert len(set(PAYLOADS)) == len(PAYLOADS) >= 50


def test_url_payloads_never_change_the_filter_state(options):
    default = filters.default_state(options)
    for key in filters.FILTERS_BY_KEY:
        for payload in PAYLOADS:
            for raw in (payload, f"A,{payload}"):
                state, problems = filters.parse_query(urlencode({key: raw}), options)
                assert state == default and problems, (key, payload)
    TRIED["url filters"] = len(PAYLOADS) * len(filters.FILTERS_BY_KEY) * 2


def test_payloads_never_reach_the_engine(engine):
    baseline = odds_ratio(AnalysisContext.from_query(engine, "", DisclosurePolicy(11))[0], OddsRatioOptions())
    for payload in PAYLOADS:
        query = urlencode({key: payload for key in filters.FILTERS_BY_KEY})
        ctx, problems = AnalysisContext.from_query(engine, query, DisclosurePolicy(11))
        assert problems
        result = odds_ratio(ctx, OddsRatioOptions())
        assert result.queries == baseline.queries and result.n == baseline.n  # the same SQL, byte for byte
    TRIED["engine queries"] = len(PAYLOADS)


def test_cli_filters_payloads_are_dropped_with_a_message():
    keys = list(filters.FILTERS_BY_KEY)
    for i, payload in enumerate(PAYLOADS):
        key = keys[i % len(keys)]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = analyses_cli(["prevalence", "--data", str(COHORT), "--mapping", str(COHORT.with_suffix(".toml")),
                                 "--filters", urlencode({key: payload}), "--json"])
        assert code == 0
        assert json.loads(out.getvalue())["filters"] == ""
        assert "reset" in err.getvalue() or "ignored" in err.getvalue()
        assert payload not in err.getvalue() or len(payload) < 3
    TRIED["CLI --filters"] = len(PAYLOADS)


def test_page_controls_ignore_payloads(app):  # noqa: F811 (the fixture of the same name)
    for i, payload in enumerate(PAYLOADS):
        at = app({key: payload for key in [*PAGE_KEYS, *filters.FILTERS_BY_KEY] if key != "present"},
                 page=PAGES[i % len(PAGES)])
        assert not at.exception
        assert all(payload not in (s.value or "") for s in at.subheader)
        assert all(str(s.value) != payload for s in at.selectbox)
    TRIED["page controls (URL)"] = len(PAYLOADS)


MAPPING_FIELDS = ("column", "label", "code")


def _mapping_with(payload: str, field: str) -> str:
    text = COHORT.with_suffix(".toml").read_text(encoding="utf-8")
    quoted = json.dumps(payload)  # a TOML basic string
    replacements = {"column": ('age = "age"', f"age = {quoted}"),
                    "label": ('label = "RLS (four IRLSSG criteria)"', f"label = {quoted}"),
                    "code": ('female = ["F"]', f"female = [{quoted}]")}
    old, new = replacements[field]
    return text.replace(old, new).replace('files = ["demo_cohort.csv"]', f'files = ["{COHORT}"]')


@pytest.mark.parametrize("field", MAPPING_FIELDS)
def test_mapping_field_payloads_load_cleanly_or_are_refused(tmp_path, field):
    baseline = CohortEngine.open(COHORT, COHORT.with_suffix(".toml"))
    expected_sql = baseline.sql(baseline.table().count())
    for i, payload in enumerate(PAYLOADS):
        if "\x00" in payload:
            continue  # TOML cannot hold a NUL: the mapping parser refuses it (checked below)
        mapping = tmp_path / f"mapping_{i}.toml"
        mapping.write_text(_mapping_with(payload, field), encoding="utf-8")
        try:
            engine = CohortEngine.open(COHORT, mapping)
        except (MappingError, DataError, LoadRefused):
            continue
        assert field != "column", "an unknown column must be refused"
        assert engine.sql(engine.table().count()) == expected_sql  # labels and codes never become SQL text
        assert engine.info.load.report.usable
    TRIED[f"mapping {field}"] = len(PAYLOADS)


def test_nul_in_a_mapping_is_refused_with_a_message(tmp_path):
    mapping = tmp_path / "nul.toml"
    mapping.write_text(_mapping_with("x", "label").replace('label = "x"', 'label = "a\\u0000b"'), encoding="utf-8")
    try:
        CohortEngine.open(COHORT, mapping)
    except (MappingError, DataError, LoadRefused) as exc:
        assert "\x00" not in str(exc)
