"""Property-based hostile inputs (hypothesis): generated malformed CSVs of a mapped one-file cohort through the
real loader (``CohortEngine.open``) and ``python -m data_schema validate`` (in process), and random or damaged
bytes through the upload checks.

Properties: only the project's own refusals are raised (DataError, MappingError, LoadRefused, UploadRefused); every
refusal has a message; no message or report shows a generated cell value (offending cells carry sentinels); the
CLI never reports an internal error and agrees with the loader; no example hangs (hypothesis deadline, and
pytest-timeout); the source file's bytes never change. Counts are written to the terminal at the end.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_schema.cli import main as data_schema_cli
from data_schema.loading import LoadRefused
from data_schema.mapping import MappingError
from data_schema.reading import DataError
from data_schema.uploads import UploadRefused, check_upload
from queries.engine import CohortEngine
from tests.conftest import ROOT

MAPPING = ROOT / "tests" / "reference" / "data" / "demo_cohort.toml"
COHORT = MAPPING.with_suffix(".csv")
COLUMNS = ("participant_id", "sex", "age", "site", "rls", "rls_clinsig", "ferritin", "drug", "augmented", "days")
NUMERIC = ("age", "ferritin", "days")
BINARY = ("rls", "rls_clinsig", "augmented")
SENTINEL = "Zq9Sentinel"
HUGE = ("98765432109876543210", "1e308", "-1e309", "9" * 400, "123456789012345678901234567890.5")
NOT_NUMBERS = ("NaN", "nan", "inf", "-inf", "Infinity", "-Infinity", "+NaN")
BREAKAGES = ("ragged", "wrong_type", "duplicate_header", "missing_column", "header_only", "huge_number", "nan_inf",
             "open_quote", "unicode", "long_field", "blank_lines", "extra_column")
BYTE_BREAKAGES = ("none", "empty", "bom", "bom_inside", "mixed_endings", "cr_only", "invalid_utf8", "nul",
                  "truncate")
EXPLORE = int(os.environ.get("RLS_HYPOTHESIS_EXPLORE", "0"))  # N > 0: N examples per test from fresh random seeds
SETTINGS = dict(deadline=timedelta(seconds=30), derandomize=not EXPLORE, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])
TALLY: Counter = Counter()
KINDS: Counter = Counter()
CR_ONLY_RAGGED = b"participant_id,sex,age\rP1,F,40," + SENTINEL.encode() + b"\r"  # once crashed the header reader


@pytest.fixture(scope="module", autouse=True)
def report_counts(request):
    yield
    write_tally(request.config, "generated hostile inputs", TALLY)
    write_tally(request.config, "kinds of damage in the generated CSVs", KINDS)


def write_tally(config, title: str, tally: Counter) -> None:
    """One line on the terminal (outside output capture) with the counts, so the figures can be quoted."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter and capture and tally:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\n{title}: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))


# --- strategies ---------------------------------------------------------------------------------------------

def sentinel_text(max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_categories=("Cs",)), max_size=max_size).map(lambda t: SENTINEL + t)


@st.composite
def valid_row(draw, index: int) -> list[str]:
    treated = draw(st.booleans())
    return [f"P{index:06d}", draw(st.sampled_from(["F", "M"])), str(draw(st.integers(18, 99))),
            draw(st.sampled_from("ABCD")), str(draw(st.integers(0, 1))), str(draw(st.integers(0, 1))),
            f"{draw(st.floats(1, 900, allow_nan=False)):.1f}" if treated else "",
            draw(st.sampled_from(["pramipexole", "ropinirole"])) if treated else "none",
            str(draw(st.integers(0, 1))) if treated else "", str(draw(st.integers(1, 3000))) if treated else ""]


def _cell(draw, rows: list[list[str]], columns: tuple[str, ...] | None = None) -> tuple[int, int]:
    row = draw(st.integers(0, len(rows) - 1))
    names = [c for c in (columns or COLUMNS) if c in COLUMNS]
    return row, COLUMNS.index(draw(st.sampled_from(names)))


def _break(kind: str, header: list[str], rows: list[list[str]], draw) -> tuple[list[str], list[list[str]]]:
    """Apply one kind of damage to the table (rows hold cells in COLUMNS order until a column is removed)."""
    if kind == "header_only":
        return header, []
    if kind == "duplicate_header":
        i, j = draw(st.lists(st.integers(0, len(header) - 1), min_size=2, max_size=2, unique=True))
        return [header[j] if k == i else name for k, name in enumerate(header)], rows
    if kind == "missing_column":
        drop = draw(st.integers(0, len(header) - 1))
        return header[:drop] + header[drop + 1:], [r[:drop] + r[drop + 1:] for r in rows]
    if kind == "extra_column":
        return header + [draw(st.sampled_from(["note", "comment", "x"]))], [r + [draw(sentinel_text())] for r in rows]
    if not rows:
        return header, rows
    if kind == "ragged":
        r = draw(st.integers(0, len(rows) - 1))
        rows[r] = rows[r][:-draw(st.integers(1, 3))] if draw(st.booleans()) else rows[r] + [SENTINEL] * 2
    elif kind == "blank_lines":
        rows.insert(draw(st.integers(0, len(rows))), [])
    elif kind in ("wrong_type", "unicode", "long_field", "huge_number", "nan_inf") and len(header) == len(COLUMNS):
        r, c = _cell(draw, rows, NUMERIC + BINARY if kind in ("wrong_type", "huge_number", "nan_inf") else None)
        rows[r][c] = {"wrong_type": lambda: draw(sentinel_text(6)),
                      "unicode": lambda: draw(sentinel_text(40)),
                      "long_field": lambda: SENTINEL * draw(st.sampled_from([100, 20_000, 100_000])),
                      "huge_number": lambda: draw(st.sampled_from(HUGE)),
                      "nan_inf": lambda: draw(st.sampled_from(NOT_NUMBERS))}[kind]()
    return header, rows


def _serialise(header: list[str], rows: list[list[str]], draw, open_quote: bool) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    text = out.getvalue()
    if open_quote and rows:
        lines = text.split("\n")
        at = draw(st.integers(1, max(1, len(lines) - 2)))
        lines[at] = lines[at] + f',"{SENTINEL} never closed'
        text = "\n".join(lines)
    return text


def _damage_bytes(kind: str, data: bytes, draw) -> bytes:
    if kind == "empty":
        return b""
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "bom_inside":
        at = draw(st.integers(0, len(data)))
        return data[:at] + b"\xef\xbb\xbf" + data[at:]
    if kind == "mixed_endings":
        lines = data.split(b"\n")
        return b"".join(line + draw(st.sampled_from([b"\n", b"\r\n", b"\r"])) for line in lines)
    if kind == "cr_only":
        return data.replace(b"\n", b"\r")
    if kind in ("invalid_utf8", "nul"):
        at = draw(st.integers(0, len(data)))
        return data[:at] + (b"\xff\xfe" + SENTINEL.encode() if kind == "invalid_utf8" else b"\x00") + data[at:]
    if kind == "truncate":
        return data[:draw(st.integers(0, len(data)))]
    return data


@st.composite
def broken_csvs(draw, forced: str) -> tuple[bytes, tuple[str, ...]]:
    """CSV bytes for the demo cohort's mapping with the ``forced`` damage, up to two more kinds of table damage in
    random order, and byte-level damage (drawn unless ``forced`` is one)."""
    rows = [draw(valid_row(i)) for i in range(draw(st.integers(0, 30)))]
    extra = draw(st.lists(st.sampled_from(BREAKAGES), max_size=2))
    kinds = draw(st.permutations(([forced] if forced in BREAKAGES else []) + extra))
    header = list(COLUMNS)
    for kind in kinds:
        header, rows = _break(kind, header, rows, draw)
    damage = forced if forced in BYTE_BREAKAGES else draw(st.sampled_from(BYTE_BREAKAGES))
    text = _serialise(header, rows, draw, "open_quote" in kinds)
    return _damage_bytes(damage, text.encode("utf-8"), draw), (*kinds, damage)


# --- properties ---------------------------------------------------------------------------------------------

def assert_no_values(text: str) -> None:
    assert SENTINEL not in text and SENTINEL.lower() not in text.lower(), "a generated cell value was shown"
    for number in HUGE:
        assert number not in text, "a generated number was shown"
    assert "Traceback" not in text


def open_engine(data: Path) -> tuple[str, str]:
    """('loaded', '') or (refusal type, its message); any other exception propagates and fails the test."""
    try:
        CohortEngine.open(data, MAPPING)
    except LoadRefused as refused:
        return "LoadRefused", refused.report.to_text()
    except (DataError, MappingError) as exc:
        return type(exc).__name__, str(exc)
    return "loaded", ""


def validate(data: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = data_schema_cli(["validate", "--data", str(data), "--mapping", str(MAPPING), "--json"])
    return code, out.getvalue() + err.getvalue()


def assert_loads_or_is_refused_cleanly(content: bytes, kinds: tuple[str, ...]) -> None:
    """The loader and the validate CLI agree, fail only with the project's refusals, show no value, write nothing."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "cohort.csv"
        data.write_bytes(content)
        before = hashlib.sha256(content).hexdigest(), MAPPING.read_bytes()
        outcome, message = open_engine(data)
        code, output = validate(data)
        assert (hashlib.sha256(data.read_bytes()).hexdigest(), MAPPING.read_bytes()) == before
    assert code in (0, 2), f"validate ended with {code} for {kinds}"
    assert (code == 0) == (outcome == "loaded"), (kinds, outcome, code)
    report = json.loads(output)
    assert report["usable"] == (code == 0)
    if outcome != "loaded":
        assert message.strip() and report["findings"], kinds
        assert all(f["message"].strip() for f in report["findings"])
    assert_no_values(message)
    assert_no_values(output)
    TALLY["generated CSVs"] += 1
    TALLY[f"CSVs {outcome}"] += 1
    KINDS.update(kinds)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("forced", BREAKAGES + BYTE_BREAKAGES[1:])
@settings(max_examples=EXPLORE or 5, **SETTINGS)
@given(data=st.data())
def test_generated_csvs_load_or_are_refused_cleanly(forced, data):
    content, kinds = data.draw(broken_csvs(forced), label="csv")
    assert_loads_or_is_refused_cleanly(content, kinds)


def test_cr_only_line_endings_with_a_ragged_row():
    """Found by the property above: the header reader crashed on a file with CR-only line endings."""
    assert_loads_or_is_refused_cleanly(CR_ONLY_RAGGED, ("ragged", "cr_only"))


def check_or_refuse(name: str, content: bytes, root: Path) -> str:
    """'accepted' or 'refused' (with a message checked); any other exception fails the test."""
    try:
        check_upload(name, content, root=root)
    except UploadRefused as refused:
        assert str(refused).strip()
        assert_no_values(str(refused))
        assert not list(root.iterdir()), "a refused upload left a folder or a partial file"
        return "refused"
    return "accepted"


@pytest.mark.timeout(120)
@settings(max_examples=EXPLORE or 200, **SETTINGS)
@given(name=st.sampled_from(["x.csv", "x.parquet", "x.csv.gz", "x.zip"]),
       content=st.one_of(st.binary(max_size=2000),
                         st.sampled_from([b"PAR1", b"\x1f\x8b", b"PK\x03\x04", b"PK\x05\x06", b"BZh"]).flatmap(
                             lambda magic: st.binary(max_size=500).map(lambda rest: magic + rest))))
def test_random_bytes_through_the_upload_checks(name, content):
    with tempfile.TemporaryDirectory() as root:
        outcome = check_or_refuse(name, content, Path(root))
    TALLY["random byte uploads"] += 1
    TALLY[f"random byte uploads {outcome}"] += 1


def _originals() -> dict[str, bytes]:
    text = "\n".join(COHORT.read_text(encoding="utf-8").splitlines()[:300]).replace(",A,", f",{SENTINEL},") + "\n"
    parquet = io.BytesIO()
    pq.write_table(pacsv.read_csv(io.BytesIO(text.encode())), parquet)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cohort.csv", text)
    return {"cohort.parquet": parquet.getvalue(), "cohort.csv.gz": gzip.compress(text.encode()),
            "cohort.zip": archive.getvalue()}


ORIGINALS = _originals()


@st.composite
def damaged_archives(draw) -> tuple[str, bytes]:
    """A valid Parquet, .csv.gz or .zip, truncated or with bytes overwritten at uniformly random places (anywhere,
    or in the middle where Parquet keeps its data pages and archives their compressed stream)."""
    name = draw(st.sampled_from(sorted(ORIGINALS)))
    data = bytearray(ORIGINALS[name])
    rnd = draw(st.randoms(use_true_random=False))
    mode = draw(st.sampled_from(["truncate", "anywhere", "middle"]))
    if mode == "truncate":
        return name, bytes(data[:rnd.randrange(len(data))])
    low, high = (0, len(data)) if mode == "anywhere" else (len(data) // 10, len(data) * 6 // 10)
    for _ in range(draw(st.integers(1, 8))):
        data[rnd.randrange(low, high)] = rnd.randrange(256)
    return name, bytes(data)


@pytest.mark.timeout(300)
@settings(max_examples=EXPLORE or 100, **SETTINGS)
@given(case=damaged_archives())
def test_truncated_or_corrupted_archives_are_refused_or_load_cleanly(case):
    name, content = case
    with tempfile.TemporaryDirectory() as root:
        outcome = check_or_refuse(name, content, Path(root))
        if outcome == "accepted":
            checked = check_upload(name, content, root=Path(root))
            before = checked.data.read_bytes()
            loaded, message = open_engine(checked.data)
            assert checked.data.read_bytes() == before
            assert_no_values(message)
            outcome = f"accepted, {loaded}"
    TALLY["damaged Parquet/gzip/zip uploads"] += 1
    TALLY[f"damaged uploads {outcome}"] += 1
