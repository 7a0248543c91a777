"""Cached aggregate queries of the dashboard. Their arguments are the source and the query string (primitives, never
DataFrames) and their results are small and already released under the policy."""

from __future__ import annotations

import streamlit as st

from analyses.context import AnalysisContext
from analyses.variables import AnalysisInputError, two_level
from dashboard.source import open_engine
from disclosure.policy import DisclosurePolicy
from queries import cohort, filters
from queries.filters import FilterOptions


@st.cache_data(show_spinner=False)
def cached_options(data: str | None, mapping: str | None) -> FilterOptions:
    return cohort.filter_options(open_engine(data, mapping))


@st.cache_data(show_spinner=False)
def cached_two_level(data: str | None, mapping: str | None) -> dict[str, str]:
    """The cohort's two-level variables, name → label (its structure: one query per source, not per rerun)."""
    return {name: v.label for name, v in two_level(open_engine(data, mapping)).items()}



@st.cache_data(show_spinner=False)
def cached_attrition(data: str | None, mapping: str | None, query: str,
                     policy: DisclosurePolicy) -> list[cohort.AttritionStep]:
    engine = open_engine(data, mapping)
    options = cached_options(data, mapping)
    return cohort.attrition(engine, filters.parse_query(query, options)[0], options, policy)


@st.cache_data(show_spinner=False)
def cached_counts(data: str | None, mapping: str | None, query: str, policy: DisclosurePolicy) -> dict[str, int]:
    engine = open_engine(data, mapping)
    options = cached_options(data, mapping)
    return cohort.outcome_counts(engine, filters.parse_query(query, options)[0], options, policy)


@st.cache_data(show_spinner="Computing Table 1…")
def cached_table_one_inputs(data: str | None, mapping: str | None, query: str, policy: DisclosurePolicy,
                            by: str | None = "sex") -> dict:
    engine = open_engine(data, mapping)
    options = cached_options(data, mapping)
    return cohort.table_one_inputs(engine, filters.parse_query(query, options)[0], options, policy, by)


@st.cache_data(show_spinner="Computing the analysis…")
def cached_analysis(data: str | None, mapping: str | None, query: str, policy: DisclosurePolicy, name: str, options):
    """An analysis result for the filters in ``query`` (released counts under ``policy``), or the message of an
    input the cohort cannot serve."""
    from analyses.registry import run_analysis  # imported on use: keeps statsmodels and Altair off the cold start

    engine = open_engine(data, mapping)
    cohort_options = cached_options(data, mapping)
    ctx = AnalysisContext(engine, filters.parse_query(query, cohort_options)[0], cohort_options, policy)
    try:
        return run_analysis(ctx, name, options)
    except AnalysisInputError as exc:
        return str(exc)
