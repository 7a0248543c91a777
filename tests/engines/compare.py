"""Comparing what two engines return: aggregate frames (row order free, counts exact, floats to 1e-9 relative) and
analysis results (everything but the SQL text, which is each engine's own dialect).

One difference is allowed and named, not hidden: DuckDB sums a BIGINT into a 128-bit HUGEINT, which its ``.df()``
hands over as float64, where Spark (and the Ibis expression's own type) says int64 — e.g. Table 1's missing counts
and the summed counts of coarsened cells (cell keys no longer: they are narrowed to int32 in the query, and
``test_aggregates.py::test_cells_have_the_same_dtype`` checks it). ``assert_same_frame`` accepts that pair only for
whole numbers, and compares them as integers (both frames are then sorted by the same columns).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

RTOL = 1e-9


def _is_list_column(column: pd.Series) -> bool:
    return column.dtype == object and column.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any()


def _sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order: by every scalar column, non-float columns first (row order is not part of a
    query's result on either engine)."""
    scalar = [c for c in frame.columns if not _is_list_column(frame[c])]
    keys = [c for c in scalar if not pd.api.types.is_float_dtype(frame[c])] + \
           [c for c in scalar if pd.api.types.is_float_dtype(frame[c])]
    return frame.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True) if keys else frame


def hugeint_sum(duck: pd.Series, spark: pd.Series) -> bool:
    """The known DuckDB/Spark dtype pair for a SUM of integers (see the module docstring)."""
    return str(duck.dtype) == "float64" and str(spark.dtype) in ("int64", "Int64")


def assert_same_frame(duck: pd.DataFrame, spark: pd.DataFrame, what: str = "") -> None:
    """Same columns in the same order, same dtypes (bar the named SUM pair), same rows in any order: integers,
    booleans and strings exactly, floats to ``RTOL``, lists as sorted lists."""
    label = f"{what}: " if what else ""
    assert list(duck.columns) == list(spark.columns), f"{label}columns differ"
    assert len(duck) == len(spark), f"{label}{len(duck)} rows on DuckDB, {len(spark)} on Spark"
    duck = duck.copy()
    for name in duck.columns:
        if str(duck[name].dtype) != str(spark[name].dtype):
            assert hugeint_sum(duck[name], spark[name]), \
                f"{label}column {name!r} is {duck[name].dtype} on DuckDB, {spark[name].dtype} on Spark"
            known = duck[name].notna()
            assert (duck[name][known] == duck[name][known].round()).all(), f"{label}column {name!r}: a sum is not whole"
            # the same dtype on both sides before sorting, so both frames are sorted by the same keys
            duck[name] = duck[name].astype("Int64")
            if str(spark[name].dtype) == "int64" and known.all():
                duck[name] = duck[name].astype("int64")
    a, b = _sorted_rows(duck), _sorted_rows(spark)
    for name in a.columns:
        left, right = a[name], b[name]
        assert (left.isna() == right.isna()).all() if not _is_list_column(left) else True, \
            f"{label}column {name!r}: missing values in other rows"
        if _is_list_column(left) or _is_list_column(right):
            norm = [(None if _missing(x) else sorted(x), None if _missing(y) else sorted(y))
                    for x, y in zip(left, right)]
            assert all(x == y for x, y in norm), f"{label}column {name!r}: lists differ"
        elif pd.api.types.is_float_dtype(left) and pd.api.types.is_float_dtype(right):
            close = np.isclose(left.to_numpy(float), right.to_numpy(float), rtol=RTOL, atol=0, equal_nan=True)
            assert close.all(), f"{label}column {name!r}: {int((~close).sum())} values differ beyond {RTOL}"
        else:
            known = left.notna()
            assert (left[known].to_numpy(object) == right[known].to_numpy(object)).all(), \
                f"{label}column {name!r}: values differ"


def _missing(value) -> bool:
    return value is None or (not isinstance(value, (list, tuple, np.ndarray)) and pd.isna(value))


def assert_close(duck: Any, spark: Any, path: str = "result") -> None:
    """Recursive equality of JSON-like values; floats to ``RTOL`` relative (NaN equals NaN)."""
    if isinstance(duck, dict):
        assert isinstance(spark, dict) and list(duck) == list(spark), f"{path}: keys differ"
        for key in duck:
            assert_close(duck[key], spark[key], f"{path}.{key}")
    elif isinstance(duck, (list, tuple)):
        assert isinstance(spark, (list, tuple)) and len(duck) == len(spark), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(duck, spark)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(duck, float) and not isinstance(spark, bool) and isinstance(spark, (int, float)):
        both_nan = math.isnan(duck) and math.isnan(float(spark))
        assert both_nan or math.isclose(duck, float(spark), rel_tol=RTOL, abs_tol=0.0), \
            f"{path}: {duck!r} on DuckDB, {spark!r} on Spark"
    else:
        assert type(duck) is type(spark) and duck == spark, f"{path}: {duck!r} on DuckDB, {spark!r} on Spark"


def assert_same_result(duck, spark) -> None:
    """Two ``AnalysisResult``s agree in everything they show: n, estimates, tests, notes, tables, caption, methods,
    formulas and details (through the CLI's JSON contract) — all but the SQL, which differs by dialect."""
    a, b = duck.to_dict(), spark.to_dict()
    assert len(a.pop("queries", [])) == len(b.pop("queries", [])), "a different number of queries"
    assert_close(a, b)
    assert_close(duck.estimates_frame().to_dict("records"), spark.estimates_frame().to_dict("records"), "estimates")
    assert_close(duck.tests_frame().to_dict("records"), spark.tests_frame().to_dict("records"), "tests")
    for (name, left), (other, right) in zip(duck.tables, spark.tables):
        assert name == other
        assert list(left.columns) == list(right.columns) and list(left.dtypes) == list(right.dtypes), \
            f"table {name}: columns or dtypes differ"
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=RTOL, atol=0, obj=f"table {name}")
