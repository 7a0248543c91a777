"""Slide decks (PPTX) and printable reports (one self-contained HTML file) made from analysis results.

``build_report`` gathers what both show; ``deck_bytes`` and ``html_bytes`` lay it out. No Streamlit here: the
dashboard's buttons and ``python -m analyses report`` call the same functions.
"""

from analyses.report.content import Report, Unavailable, build_report
from analyses.report.deck import deck_bytes
from analyses.report.defaults import page_options, run_page_analyses
from analyses.report.html import html_bytes

__all__ = ["Report", "Unavailable", "build_report", "deck_bytes", "html_bytes", "page_options", "run_page_analyses"]
