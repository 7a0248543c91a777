"""One chart theme for screen, export and slides: the Okabe–Ito colour-blind-safe palette, a fixed colour for each
sex and for each band position, and type sizes that stay readable on a projector (``scale`` enlarges them)."""

from __future__ import annotations

import altair as alt
import pandas as pd

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision deficiencies.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")

SEX_COLORS = {"women": "#CC79A7", "men": "#0072B2", "everyone": "#009E73"}  # "everyone": a cohort without sex
POOLED_COLOR = "#D55E00"
REFERENCE_LINE_COLOR = "#555555"
# Band colours by position, lowest band first (the low-ferritin band is the warm, alarming one).
BAND_COLORS = ("#D55E00", "#E69F00", "#009E73", "#0072B2", "#56B4E9", "#CC79A7", "#F0E442", "#000000")

FONT = "Liberation Sans, Helvetica, Arial, sans-serif"
EXPORT_WIDTH = 720  # px at scale 1; PNG exports are rendered at 200 ppi on top of this


def band_colors(labels: list[str]) -> list[str]:
    """The colour of each band by its position (the same band layout always gets the same colours)."""
    return [BAND_COLORS[i % len(BAND_COLORS)] for i in range(len(labels))]


def theme_config(scale: float = 1.0) -> dict:
    """The Vega-Lite ``config`` block of the shared theme; ``scale`` > 1 enlarges type for presenting."""
    def size(points: float) -> int:
        return round(points * scale)
    return {
        "font": FONT,
        "background": "white",
        "view": {"stroke": None},
        "padding": size(8),
        "axis": {"labelFontSize": size(13), "titleFontSize": size(14), "titleFontWeight": "normal",
                 "labelColor": "#333333", "titleColor": "#222222", "gridColor": "#e8e8e8", "domainColor": "#888888",
                 "tickColor": "#888888", "labelLimit": size(220)},
        "legend": {"labelFontSize": size(13), "titleFontSize": size(13), "orient": "bottom", "symbolSize": size(120),
                   "labelLimit": size(300)},
        "title": {"fontSize": size(16), "fontWeight": "bold", "anchor": "start", "color": "#222222",
                  "subtitleFontSize": size(12), "subtitleColor": "#444444", "offset": size(10)},
        "header": {"labelFontSize": size(13), "titleFontSize": size(14)},
        "text": {"fontSize": size(13), "font": FONT},
        "point": {"size": size(70)},
        "line": {"strokeWidth": 2.5 * scale},
        "rule": {"strokeWidth": 2 * scale},
        "range": {"category": list(OKABE_ITO)},
    }


def no_effect_rule() -> alt.Chart:
    """The dashed vertical line at a ratio of 1 (no association) of the forest plots."""
    return alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 4], color=REFERENCE_LINE_COLOR,
                                                           strokeWidth=1.5).encode(x="x:Q")
