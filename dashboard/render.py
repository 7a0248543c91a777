"""Rendering helpers shared by the pages. Every count shown goes through the disclosure policy."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import pandas as pd
import streamlit as st

from analyses.variables import catalog
from data_schema.derivation import DERIVED_COLUMNS
from data_schema.mapping import Mapping
from data_schema.schema import extract_schemas, roles
from data_schema.validation import ValidationReport
from disclosure.policy import DisclosurePolicy
from queries.cohort import AttritionStep
from queries.protocol import Engine

if TYPE_CHECKING:
    from analyses.table_one import TableOne


def cohort_large_enough(n: int, policy: DisclosurePolicy) -> bool:
    """Show 'cohort too small' (and nothing else) when fewer than k participants remain."""
    if n == 0:
        st.warning("No participant matches these filters. Widen the filters in the sidebar.",
                   icon=":material/search_off:")
        return False
    if policy.is_small(n):
        st.warning(f"Cohort too small: fewer than {policy.min_cell} participants match these filters, so nothing "
                   "is shown. Widen the filters in the sidebar.", icon=":material/lock:")
        return False
    return True


def cohort_metrics(counts: dict[str, int], ctx) -> None:
    """Participants, cases and known outcomes of the case definition, through the gate."""
    cols = st.columns(3)
    cols[0].metric("Participants", ctx.policy.show_count(counts["n"]))
    if "cases" in counts:
        shown = ctx.policy.outcome_counts(counts["n"], counts["cases"], counts["known"])
        label = ctx.options.outcomes.get(ctx.state.definition, "Cases")
        cols[1].metric("Cases", shown["cases"], help=label)
        cols[2].metric("Outcome known", shown["known"])
    st.caption(ctx.policy.note)


def attrition_table(steps: list[AttritionStep], policy: DisclosurePolicy) -> None:
    """Who each filter removes and who is left (released counts, shown under the policy)."""
    cells = policy.attrition_cells([s.remaining for s in steps], [s.removed for s in steps])
    frame = pd.DataFrame({"Step": [s.description for s in steps], "Removed": [c[0] for c in cells],
                          "Remaining": [c[1] for c in cells]})
    st.dataframe(frame, hide_index=True, width="stretch")
    if len(steps) == 1:
        st.caption("No filter removes anyone: all loaded participants are included.")


def table_one(result: TableOne) -> None:
    """Table 1 whole (every row on the page, no inner scroll box, long labels wrapped rather than cut), its
    caption, notes and methods."""
    text_table(result.to_frame())
    st.caption(result.caption)
    for note in result.notes:
        st.info(note)
    with st.expander("How this was computed"):
        st.markdown(result.methods)


def analysis_links(query: str) -> None:
    """Links into each analysis page carrying the current filters (so the link itself can be copied and shared); a
    page showing several analyses (Trends & sites) is linked once."""
    from analyses.registry import PAGE_ANALYSES  # imported on use: keeps statsmodels and Altair off the cold start

    params = dict(parse_qsl(query))
    pages: dict[str, list] = {}
    for spec in PAGE_ANALYSES:
        pages.setdefault(spec.page, []).append(spec)
    for page, specs in pages.items():
        titles = " and ".join(spec.title for spec in specs)
        st.page_link(page, label=f"{titles} — {specs[0].summary}", query_params=params,
                     icon=":material/arrow_forward:")


def validation_report(report: ValidationReport, policy: DisclosurePolicy) -> None:
    st.markdown("**The data can be used.**" if report.usable else "**The data were refused.**")
    accounts = pd.DataFrame([{"File": a.file, "Rows read": policy.show_count(a.rows_read),
                              "Loaded": policy.show_count(a.rows_loaded),
                              "Rejected": policy.show_count(a.rows_rejected)} for a in report.accounts])
    if not accounts.empty:
        st.dataframe(accounts, hide_index=True, width="stretch")
        st.caption(policy.note)
    if report.findings:
        st.dataframe(pd.DataFrame([{"Severity": f.severity, "File": f.file, "Column": f.column or "",
                                    "Rule": f.rule, "Rows": policy.show_count(f.count) if f.count else "",
                                    "Message": f.message} for f in report.findings]),
                     hide_index=True, width="stretch")
    else:
        st.caption("No rule was broken.")


def _mapping_rows(mapping: Mapping) -> list[dict]:
    spec = roles()
    rows = [{"Role": r, "Column": c, "Label": spec[r].label, "Description": spec[r].description}
            for r, c in mapping.columns.items()]
    rows += [{"Role": f"outcome: {k}", "Column": o.column, "Label": o.label,
              "Description": f"case when the value is one of {list(o.positive)}"} for k, o in mapping.outcomes.items()]
    if mapping.biomarker:
        b = mapping.biomarker
        rows.append({"Role": "biomarker", "Column": b.column, "Label": f"{b.label} ({b.unit})",
                     "Description": f"cut points {', '.join(f'{c:g}' for c in b.cut_points)}"})
    if mapping.treatment:
        rows.append({"Role": "treatment", "Column": mapping.treatment.column, "Label": mapping.treatment.label,
                     "Description": f"untreated: {list(mapping.treatment.untreated)} or empty"})
    if mapping.time_to_event:
        t = mapping.time_to_event
        rows.append({"Role": "event", "Column": t.event, "Label": t.label, "Description": spec["event"].description})
        rows.append({"Role": "time", "Column": t.time, "Label": f"time ({t.time_unit})",
                     "Description": spec["time"].description})
    rows += [{"Role": f"exclusion: {k}", "Column": e.column, "Label": e.label,
              "Description": f"excluded when the value is one of {list(e.positive)}"}
             for k, e in mapping.exclusions.items()]
    rows += [{"Role": f"covariate ({c.type})", "Column": c.column, "Label": c.label, "Description": c.unit or ""}
             for c in mapping.covariates.values()]
    return rows


def data_dictionary(mapping: Mapping) -> None:
    st.markdown("**Roles** — how the source's columns are read (from the mapping file)")
    text_table(pd.DataFrame(_mapping_rows(mapping)))
    if mapping.shape != "rls_extract":
        return
    for schema in extract_schemas():
        with st.expander(f"Table `{schema.name}` — {schema.description}"):
            text_table(pd.DataFrame([{
                "Column": c.name, "Type": c.type, "Unit": c.unit or "",
                "Allowed": ", ".join(map(str, c.allowed_codes)) if c.allowed_codes else
                (f"{c.range[0]:g} – {c.range[1]:g}" if c.range else ""),
                "Required": "yes" if not c.nullable else "", "Description": c.description,
            } for c in schema.columns]))
    with st.expander("Derived columns (one row per participant)"):
        text_table(pd.DataFrame([{"Column": k, "Type": t, "Unit": u or "", "Description": d}
                                 for k, (t, u, d) in DERIVED_COLUMNS.items()]))


def text_table(frame: pd.DataFrame) -> None:
    """A table of prose (the data dictionary): a static table whose cells wrap, so no description is cut off and
    every row is on the page (an interactive grid shows one line per cell and scrolls). ``st.table`` reads each
    cell as Markdown, so text cells are shown literally (a level ">=30" is not a quotation, a label is not a link).
    """
    st.table(frame.map(markdown_literal), hide_index=True)


# an underscore between letters or digits is never emphasis (participant_id stays as it is)
_INLINE_MARKUP = re.compile(r"([\\`*\[\]<$~|]|(?<![^\W_])_|_(?![^\W_]))")
_LINE_START_MARKUP = re.compile(r"^(\s*)(?:([#>+-])|(\d+)([.)]))", re.MULTILINE)


def markdown_literal(value):
    """Text with its Markdown syntax escaped, so Markdown shows it as written; other values unchanged."""
    if not isinstance(value, str):
        return value
    text = _INLINE_MARKUP.sub(r"\\\1", value)
    return _LINE_START_MARKUP.sub(lambda m: m.group(1) + (f"\\{m.group(2)}" if m.group(2)
                                                          else f"{m.group(3)}\\{m.group(4)}"), text)


def adjuster_choices(engine: Engine, exclude: tuple[str, ...] = ("sex",)) -> dict[str, str]:
    """Adjusters an analysis page offers: name → label (age also as a natural spline)."""
    out = {}
    for name, variable in catalog(engine.info).items():
        if name in exclude:
            continue
        out[name] = variable.label
        if name == "age":
            out["age:spline"] = "age (natural spline)"
    return out
