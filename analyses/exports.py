"""Files made from results: figures as PNG (200 ppi) and SVG through vl-convert, tables as CSV with a header block.

vl-convert renders in-process with no network access (``allowed_base_urls=[]``), so an export can never fetch a
resource. Every file names its cohort: the CSV header block and the figure caption state filters, N, data hash,
threshold and date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import altair as alt
import pandas as pd
import vl_convert as vlc
from PIL import Image

from analyses.figures import Figure
from analyses.results import AnalysisResult, CohortSummary, software_versions

PNG_PPI = 200
# vl-convert's bundled Vega-Lite version matching Altair's schema, e.g. "v6_4".
VL_VERSION = "_".join(alt.SCHEMA_VERSION.split(".")[:2])


def figure_png(figure: Figure, ppi: int = PNG_PPI, captioned: bool = False) -> bytes:
    """The figure as PNG at ``ppi`` (vl-convert scales the pixels by ppi/72, so the physical size stays), deflated
    again by Pillow: the same pixels in about a fifth of the bytes. ``captioned`` prints the figure's caption
    (cohort, N, method, disclosure rule) inside the image, under the chart: a downloaded file names its cohort
    wherever it ends up (slides and the report print the caption next to the image instead)."""
    spec = figure.spec(export=True, captioned=captioned)
    png = vlc.vegalite_to_png(spec, vl_version=VL_VERSION, ppi=ppi, allowed_base_urls=[])
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).save(buffer, "PNG", compress_level=6, dpi=(ppi, ppi))
    return buffer.getvalue()


def figure_svg(figure: Figure, captioned: bool = False) -> bytes:
    """The figure as SVG (text and shapes stay editable in slide and drawing programs); ``captioned`` as for
    :func:`figure_png`."""
    return vlc.vegalite_to_svg(figure.spec(export=True, captioned=captioned), vl_version=VL_VERSION,
                               allowed_base_urls=[]).encode()


def header_lines(result: AnalysisResult, today: dt.date | None = None) -> list[str]:
    """What every exported table states about itself (lines without the comment mark)."""
    cohort = result.cohort
    return [f"{result.title}",
            f"Cohort: {cohort.description}",
            f"Filters: {cohort.filters or '(none)'}",
            f"N: {'withheld' if result.n is None else result.n}",
            f"Source: {cohort.label}; data hash {cohort.data_hash}",
            f"Small-cell threshold: {cohort.min_cell} (counts 1-{max(cohort.min_cell - 1, 0)} withheld)",
            f"Disclosure control: {cohort.disclosure_note}",
            f"Software: {', '.join(f'{k} {v}' for k, v in software_versions().items())}",
            f"Exported: {(today or dt.date.today()).isoformat()}"]


# A text cell starting with one of these is run as a formula by spreadsheet programs (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula, prefixed with ' so it stays text; numbers as they are."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def table_csv(result: AnalysisResult, name: str, today: dt.date | None = None) -> bytes:
    """The tidy result table ``name`` as CSV, after a ``#``-commented header block naming the cohort."""
    return frame_csv(result, result.table(name), today)


def frame_csv(result: AnalysisResult, table: pd.DataFrame, today: dt.date | None = None) -> bytes:
    """A tidy table taken from ``result`` (e.g. a figure's data) as CSV after the header block. Text cells
    (labels can come from the data, e.g. site names) are neutralised against formula injection."""
    buffer = io.StringIO()
    for line in header_lines(result, today):
        buffer.write(f"# {neutralise(line)}\n")
    text_columns = [c for c in table.columns if table[c].map(lambda v: isinstance(v, str)).any()]
    table = table.assign(**{c: table[c].map(neutralise) for c in text_columns})
    table.rename(columns=neutralise).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def file_stem(result: AnalysisResult, part: str) -> str:
    """``odds-ratio_forest_35b4737e_3f2a`` — analysis, part, data hash and a short hash of the filters, so files
    from two cohorts or two filter states do not collide."""
    return cohort_stem(result.cohort, result.analysis, part)


def cohort_stem(cohort: CohortSummary, name: str, part: str) -> str:
    """``<name>_<part>_<data hash>_<filters hash>``, for files made from one cohort and filter state."""
    filters = hashlib.sha256(cohort.filters.encode()).hexdigest()[:4]
    return f"{name}_{part}_{cohort.data_hash[:8]}_{filters}"
