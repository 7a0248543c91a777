"""A Parquet source is read where it lies (a view), not copied first: a file whose footer is intact but whose data
pages are damaged fails only when the checks scan it. That failure is the file's, reported without a value and
without a traceback, and nothing is left in the store."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_schema.reading import DataError
from queries.engine import CohortEngine


def _damaged_extract(demo_dir, tmp_path):
    """The demo extract with the lab file's data pages overwritten in the middle (footer and magic kept)."""
    extract = tmp_path / "extract"
    shutil.copytree(demo_dir, extract)
    labs = pd.read_parquet(extract / "ferritin_labs.parquet")
    path = extract / "ferritin_labs.parquet"
    pq.write_table(pa.Table.from_pandas(labs, preserve_index=False), path, compression="zstd")
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    rng = np.random.default_rng(7)
    for at in rng.integers(100, len(data) - footer - 100, 400):
        data[at] = (data[at] + 97) % 256
    path.write_bytes(bytes(data))
    return extract


def test_damaged_data_pages_are_reported_as_the_files_without_values(demo_dir, tmp_path):
    extract = _damaged_extract(demo_dir, tmp_path)
    store = tmp_path / "store"
    with pytest.raises(DataError) as refused:
        CohortEngine.open(extract, store_dir=store)
    message = str(refused.value)
    assert message.startswith("ferritin_labs.parquet:")
    assert "damaged" in message and "P0" not in message
    assert not [p for p in store.iterdir() if not p.name.startswith(".")]  # no prepared folder left behind
