"""Exports: PNG at 200 ppi and SVG through vl-convert (which may not fetch anything), CSV with a header block."""

from __future__ import annotations

import datetime as dt
import io
import struct
import xml.etree.ElementTree as ET

import altair as alt
import pandas as pd
import pytest

from analyses import exports
from analyses.context import AnalysisContext
from disclosure.policy import DisclosurePolicy
from analyses.figures import Figure
from analyses.registry import figures_for
from analyses.prevalence import PrevalenceOptions, prevalence


@pytest.fixture(scope="module")
def result(engine):
    return prevalence(AnalysisContext.from_query(engine, "sex=female&age=40-79", DisclosurePolicy(11))[0],
                      PrevalenceOptions())


def _png_size_and_ppi(png: bytes) -> tuple[int, int, float]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    at = png.index(b"pHYs")
    per_metre_x, per_metre_y, unit = struct.unpack(">IIB", png[at + 4:at + 13])
    assert unit == 1 and per_metre_x == per_metre_y
    return width, height, per_metre_x * 0.0254


def test_png_is_200_ppi_at_the_export_width(result):
    width, height, ppi = _png_size_and_ppi(exports.figure_png(figures_for(result)[0]))
    assert round(ppi) == 200
    assert width >= 720 * 200 / 72 and height > 0


def test_svg_is_well_formed_and_self_contained(result):
    svg = exports.figure_svg(figures_for(result)[0])
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert b"http://" not in svg.replace(b"http://www.w3.org", b"")


def test_export_never_fetches(result):
    remote = alt.Chart(alt.UrlData("http://127.0.0.1:9/participants.csv")).mark_point().encode(x="age:Q")
    with pytest.raises(Exception, match="(?i)not allowed|access|denied|permission"):
        exports.figure_png(Figure("remote", "remote", remote, "caption", pd.DataFrame()))


def test_csv_has_a_header_block_then_the_tidy_table(result):
    data = exports.table_csv(result, "rows", today=dt.date(2026, 11, 21)).decode()
    header = [line for line in data.splitlines() if line.startswith("# ")]
    text = "\n".join(header)
    assert "Cohort: women; aged 40–79" in text and "Filters: sex=female&age=40-79" in text
    assert f"N: {result.n}" in text and result.cohort.data_hash in text
    assert "Small-cell threshold: 11" in text and "Exported: 2026-11-21" in text
    table = pd.read_csv(io.StringIO(data), comment="#")
    expected = result.table("rows")
    assert list(table.columns) == list(expected.columns)
    assert table["n"].tolist() == expected["n"].tolist()
    assert table["prevalence"].tolist() == pytest.approx(expected["prevalence"].astype(float).tolist(), rel=1e-15,
                                                        nan_ok=True)


def test_file_names_carry_analysis_part_and_data_hash(result):
    stem = exports.file_stem(result, "curve")
    assert stem.startswith(f"prevalence_curve_{result.cohort.data_hash[:8]}_")
    other = type(result)(**{**vars(result), "cohort": type(result.cohort)(**{**vars(result.cohort), "filters": ""})})
    assert exports.file_stem(other, "curve") != stem


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_text_cells_that_spreadsheets_would_run_are_neutralised(cell):
    assert exports.neutralise(cell) == "'" + cell
    assert exports.neutralise(-2.5) == -2.5 and exports.neutralise("<50") == "<50"


def test_csv_export_neutralises_labels_from_the_data(result):
    hostile = result.table("rows").assign(age_band="=cmd|' /C calc'!A0")
    tampered = type(result)(**{**vars(result), "tables": (("rows", hostile),)})
    data = exports.table_csv(tampered, "rows").decode()
    body = [line for line in data.splitlines() if not line.startswith("#")]
    assert all(",=cmd" not in line for line in body)
    assert pd.read_csv(io.StringIO(data), comment="#")["age_band"].str.startswith("'=").all()
