"""queries.release.sorted_rows: the release layer's own-grain order, equal to ``sort_values(kind="stable")``."""

import numpy as np
import pandas as pd
import pytest

from queries.release import sorted_rows


def _frame(seed: int, rows: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=rows).round(1)
    values[rng.random(rows) < 0.05] = np.nan
    text = pd.array(rng.choice(["female", "male", "Ä", "a b"], rows), dtype="str")
    text[rng.random(rows) < 0.05] = None
    return pd.DataFrame({"band": rng.integers(0, 4, rows), "value": values, "text": text,
                         "flag": rng.random(rows) < 0.5, "age": pd.array(rng.integers(18, 25, rows), dtype="Int64"),
                         "count": rng.integers(0, 50, rows)})


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("by", [["band", "value", "text", "flag", "age"], ["text", "band"], ["value"],
                                ["flag", "text"]])
def test_the_order_is_sort_values_stable_order_with_missing_values_last(seed, by):
    frame = _frame(seed)
    frame.loc[frame.sample(frac=0.1, random_state=seed).index, "age"] = pd.NA
    pd.testing.assert_frame_equal(sorted_rows(frame, by), frame.sort_values(by, kind="stable"))


def test_ties_keep_their_input_order():
    frame = pd.DataFrame({"key": [2, 1, 2, 1], "row": [0, 1, 2, 3]})
    assert sorted_rows(frame, ["key"])["row"].tolist() == [1, 3, 0, 2]


def test_keys_too_many_to_combine_in_one_integer_fall_back_to_sort_values():
    rng = np.random.default_rng(9)
    frame = pd.DataFrame({f"k{i}": rng.normal(size=5_000) for i in range(6)})  # 5,001^6 combined ranks > 2^63
    pd.testing.assert_frame_equal(sorted_rows(frame, list(frame.columns)), frame.sort_values(list(frame.columns),
                                                                                               kind="stable"))
