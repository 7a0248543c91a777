"""disclosure.ptable: the built table's properties, perturb, the ONS layout, and agreement with the ONS package.

Tolerances: the mean of a row is exact wherever integer key counts allow it (every row of the tables below; in
general the residual is a multiple of 1/key_range and at most D/key_range); the variance of a full row (every
value -D..D allowed) is V within 1/key_range (with mean 0, sum n·v² is even, so V·key_range can be missed by 1),
unless the one-key floor per value or a small key_range leaves integers no room (see
test_invariants_for_any_parameters); the unquantised maximum-entropy rows meet both to 1e-9.
"""

from __future__ import annotations

import importlib.metadata
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import null_space

from disclosure import ptable as pt
from disclosure.ptable import PTableParams, build_ptable, from_frame, lookup_frame, row_distribution

PARAMS = [PTableParams(), PTableParams(5, 3.0, 256, 2), PTableParams(2, 1.0, 64), PTableParams(4, 3.0, 512, 1)]


@pytest.fixture(scope="module", params=PARAMS, ids=lambda p: f"D{p.max_perturbation}-V{p.variance}-"
                f"K{p.key_range}-js{p.small_count_threshold}")
def table(request) -> pt.PTable:
    return build_ptable(request.param)


def _moments(table: pt.PTable) -> tuple[np.ndarray, np.ndarray]:
    d = table.params.max_perturbation
    values = np.arange(-d, d + 1)
    shift = table.probabilities @ values
    return shift, table.probabilities @ values**2 - shift**2


def _check_invariants(table: pt.PTable) -> None:
    """Properties every built table has, whatever its parameters."""
    p, d, keys, js = table.params, table.params.max_perturbation, table.params.key_range, \
        table.params.small_count_threshold
    assert table.perturbation.shape == (p.stable_row + 1, keys)
    assert np.all(table.perturbation[0] == 0)
    assert np.abs(table.perturbation).max() <= d
    released = np.arange(p.stable_row + 1)[:, None] + table.perturbation
    assert released.min() >= 0
    assert not np.isin(released[1:], np.arange(1, js + 1)).any()
    assert np.all(np.diff(table.perturbation, axis=1) >= 0)  # contiguous runs of keys in increasing order of j
    key_counts = table.probabilities * keys
    assert np.allclose(key_counts, np.round(key_counts)) and np.allclose(table.probabilities.sum(axis=1), 1)
    for i, row in enumerate(table.perturbation):
        assert np.array_equal(np.bincount(row + d, minlength=2 * d + 1), np.round(key_counts[i]))
    assert np.all((key_counts >= 1) == (table.max_entropy_probabilities > 1e-12))  # one-key floor, no new values
    shift, _ = _moments(table)
    assert np.all(np.abs(shift) <= d / keys + 1e-12)


def test_invariants(table):
    _check_invariants(table)


def test_unbiased_exactly(table):
    shift, _ = _moments(table)
    assert np.all(shift == 0)


def test_variance_is_v_on_full_rows(table):
    p = table.params
    _, variance = _moments(table)
    full = [i for i in range(p.stable_row + 1) if pt.row_support(i, p).size == 2 * p.max_perturbation + 1]
    assert full and full[-1] == p.stable_row
    assert np.all(np.abs(variance[full] - p.variance) <= 1 / p.key_range)


def test_every_row_meets_its_target_variance(table):
    _, variance = _moments(table)
    targets = np.array([pt.target_variance(i, table.params) for i in range(table.stable_row + 1)])
    assert np.all(targets[1:] <= table.params.variance + 1e-12) or table.params.small_count_threshold
    assert np.all(np.abs(variance - targets) <= 0.02)  # rows with gaps have coarser integer steps


def test_unquantised_rows_meet_mean_and_variance(table):
    p = table.params
    for i in range(p.stable_row + 1):
        v, prob = row_distribution(i, p)
        assert abs(prob.sum() - 1) < 1e-12 and abs(prob @ v) < 1e-9
        assert abs(prob @ v**2 - pt.target_variance(i, p)) < 1e-9


def test_rows_from_i_on_are_equal():
    p = PTableParams(5, 3.0, 256, 2)
    v_last, p_last = row_distribution(p.stable_row, p)
    assert np.array_equal(v_last, np.arange(-5, 6)) and np.allclose(p_last, p_last[::-1])
    for i in range(p.stable_row + 1, p.stable_row + 20):
        v, prob = row_distribution(i, p)
        assert np.array_equal(v, v_last) and np.allclose(prob, p_last, atol=1e-12)


@pytest.mark.parametrize("params", PARAMS)
def test_exponential_family_form(params):
    """Interior rows are p(v) ∝ exp(l1·v + l2·v²): log p is exactly quadratic in v."""
    for i in range(1, params.stable_row + 1):
        v, prob = row_distribution(i, params)
        if v.size > 3 and prob.min() > 0:  # not a two-point row at a variance bound
            coefficients = np.polyfit(v, np.log(prob), 2)
            assert np.abs(np.polyval(coefficients, v) - np.log(prob)).max() < 1e-7


@pytest.mark.parametrize("params", PARAMS)
def test_maximum_entropy(params):
    """Every feasible move (keeping total, mean and variance) away from a row lowers its entropy."""
    rng = np.random.default_rng(7)
    for i in range(1, params.stable_row + 1):
        v, prob = row_distribution(i, params)
        if prob.min() == 0:  # a two-point row at a variance bound: the only feasible distribution
            continue
        directions = null_space(np.vstack([np.ones(v.size), v, v**2]))
        entropy = -(prob * np.log(prob)).sum()
        for _ in range(20) if directions.size else ():
            step = directions @ rng.normal(size=directions.shape[1])
            moved = prob + 0.5 * prob.min() * step / np.abs(step).max()
            assert np.allclose([moved.sum(), moved @ v, moved @ v**2], [1, 0, prob @ v**2])
            assert -(moved * np.log(moved)).sum() < entropy


def test_default_table():
    table = pt.default_ptable()
    assert table is pt.default_ptable() is pt.DEFAULT_PTABLE
    summary = table.summary()
    assert summary["stable_row"] == 4 and summary["max_perturbation"] == 3 and summary["key_range"] == 256
    large = summary["large_count_distribution"]
    assert set(large) == set(range(-3, 4)) and all(large[v] == large[-v] for v in large)
    assert all(row["mean"] == row["count"] for row in summary["rows"])
    assert [row["variance"] for row in summary["rows"]] == [0.0, 2.0, 2.0, 2.0, 2.0]
    assert summary["p_equal_differences"] == pytest.approx(sum(p * p for p in large.values()))
    assert summary["rows"][-1]["p_no_change"] == large[0]


def test_v_above_the_reachable_variance_gives_the_two_point_row():
    """D=2, V=5: row 1 can reach at most 1·2 = 2 (values -1 and +2); 2/3 : 1/3 cannot be made of 256 keys, so the
    mean misses by the least possible, 1/256 (3·n = 256 has no integer solution)."""
    table = build_ptable(PTableParams(2, 5.0, 256))
    assert pt.target_variance(1, table.params) == 2.0
    v, prob = row_distribution(1, table.params)
    assert np.allclose(prob[v == -1], 2 / 3) and np.allclose(prob[v == 2], 1 / 3) and prob[v == 1] == 0
    shift, _ = _moments(table)
    assert abs(shift[1]) == 1 / 256 and shift[2] == 0 and np.allclose(table.probabilities[2], [0.5, 0, 0, 0, 0.5])


def test_small_counts_are_moved_when_js_is_set():
    table = build_ptable(PTableParams(4, 1.0, 256, 3))
    for i in (1, 2, 3):
        assert table.probabilities[i, 4] == 0  # P(no change) of an original count 1..js
        assert pt.target_variance(i, table.params) > 1.0  # V is below what 1..js can reach: the smallest is used
    released = table.perturb(np.repeat(np.arange(1, 40), 256), np.tile(np.arange(256), 39))
    assert not np.isin(released, [1, 2, 3]).any()


@settings(max_examples=30, deadline=None)
@given(d=st.integers(1, 5), js_fraction=st.floats(0, 0.99), log_v=st.floats(np.log(0.05), np.log(30)),
       key_bits=st.integers(4, 10))
def test_invariants_for_any_parameters(d, js_fraction, log_v, key_bits):
    keys = 2**key_bits
    if 2 * d + 1 > keys:
        return
    params = PTableParams(d, float(np.exp(log_v)), keys, int(js_fraction * d))
    table = build_ptable(params)
    _check_invariants(table)
    # V within 1/keys on the stable row where integers leave room: enough keys, V above the variance of the one-key
    # floor and at most the uniform distribution's D(D+1)/3 (beyond it the row is U-shaped and 0 keeps few keys)
    floor = 2 * sum(v * v for v in range(1, d + 1)) / keys
    if keys >= 64 and floor + 2 / keys < params.variance <= d * (d + 1) / 3:
        _, variance = _moments(table)
        assert abs(variance[-1] - params.variance) <= 1 / keys


@pytest.mark.parametrize("kwargs", [
    {"max_perturbation": 0}, {"max_perturbation": 2.0}, {"variance": 0}, {"variance": float("nan")},
    {"variance": -1.0}, {"key_range": 100}, {"key_range": 8}, {"key_range": 16, "max_perturbation": 8},
    {"small_count_threshold": -1}, {"small_count_threshold": 3}, {"small_count_threshold": True},
])
def test_params_are_validated(kwargs):
    with pytest.raises(ValueError):
        PTableParams(**kwargs)


def _slow_perturb(table: pt.PTable, counts, keys) -> np.ndarray:
    out = []
    for count, key in zip(counts.ravel().tolist(), keys.ravel().tolist()):
        out.append(0 if count == 0 else count + int(table.perturbation[min(count, table.stable_row), key]))
    return np.array(out, dtype=np.int64).reshape(counts.shape)


def test_perturb_equals_a_per_cell_loop(table):
    rng = np.random.default_rng(11)
    counts = np.concatenate([rng.integers(0, 12, 3000), rng.integers(0, 100_000, 2000), np.zeros(50, int)])
    keys = rng.integers(0, table.params.key_range, counts.size)
    assert np.array_equal(table.perturb(counts, keys), _slow_perturb(table, counts, keys))
    grid = counts[:1000].reshape(20, 50), keys[:1000].reshape(20, 50)
    released = table.perturb(*grid)
    assert released.shape == (20, 50) and released.dtype == np.int64
    assert np.array_equal(released, _slow_perturb(table, *grid))
    assert np.array_equal(table.perturb(pd.Series(counts).astype(float), list(keys)), table.perturb(counts, keys))


@pytest.mark.parametrize("counts, keys", [
    ([1, -1], [0, 0]), ([1, 2], [0, 256]), ([1, 2], [0, -1]), ([1.5, 2], [0, 0]), ([np.nan, 2], [0, 0]),
    ([1, 2, 3], [0, 0]), (["1", "2"], [0, 0]), ([1, 2], [0.5, 1]),
])
def test_perturb_rejects_bad_input(counts, keys):
    with pytest.raises(ValueError):
        pt.default_ptable().perturb(counts, keys)


def test_perturb_is_fast_for_a_million_cells():
    rng = np.random.default_rng(3)
    counts, keys = rng.integers(0, 5000, 1_000_000), rng.integers(0, 256, 1_000_000)
    table = pt.default_ptable()
    start = time.perf_counter()
    released = table.perturb(counts, keys)
    assert time.perf_counter() - start < 1.0 and released.shape == counts.shape


def test_frame_layout_and_round_trips(table):
    keys, last = table.params.key_range, table.stable_row
    frame = table.to_frame()
    assert list(frame.columns) == ["pcv", "ckey", "pvalue"] and len(frame) == (last + 1) * keys
    assert all(frame[c].dtype == np.int64 for c in frame.columns)
    assert np.array_equal(frame["pvalue"].to_numpy().reshape(last + 1, keys), table.perturbation)
    for source in (frame, table.to_frame(pt.ONS_MAX_PCV)):
        loaded = from_frame(source, table.params)
        assert np.array_equal(loaded.perturbation, table.perturbation)
        assert np.array_equal(loaded.probabilities, table.probabilities)
    rng = np.random.default_rng(5)
    counts = np.concatenate([np.arange(0, 2000), rng.integers(0, 100_000, 5000)])
    cell_keys = rng.integers(0, keys, counts.size)
    ons_layout = table.to_frame(pt.ONS_MAX_PCV)
    assert np.array_equal(lookup_frame(ons_layout, counts, cell_keys), table.perturb(counts, cell_keys))


def test_from_frame_rejects_tables_it_cannot_represent():
    table, params = pt.default_ptable(), PTableParams()
    frame = table.to_frame(10)
    for broken in (frame.iloc[1:], frame.assign(pvalue=np.where(frame["pcv"] == 0, 1, frame["pvalue"])),
                   frame.assign(pvalue=np.where(frame["pcv"] == 7, 0, frame["pvalue"])),
                   frame.assign(pvalue=frame["pvalue"] * 2), frame.drop(columns="ckey"),
                   pd.concat([frame, frame.iloc[:1]])):
        with pytest.raises(ValueError):
            from_frame(broken, params)
    with pytest.raises(ValueError):
        from_frame(frame, PTableParams(key_range=512))
    with pytest.raises(ValueError):
        table.to_frame(2)


def test_lookup_frame_uses_the_ons_rule_above_750():
    """The ONS package: pcv = count up to 750, ((count - 1) % 250) + 501 above; missing pairs perturb by 0."""
    pcv = np.repeat(np.arange(1, 751), 4)
    frame = pd.DataFrame({"pcv": pcv, "ckey": np.tile(np.arange(4), 750), "pvalue": pcv % 7 - 3})
    counts = np.array([0, 1, 500, 501, 750, 751, 752, 1000, 1001, 1250, 10**6])
    expected_pcv = np.array([0, 1, 500, 501, 750, 501, 502, 750, 501, 750, 750])
    offsets = np.where(expected_pcv == 0, 0, expected_pcv % 7 - 3)
    assert np.array_equal(lookup_frame(frame, counts, np.zeros_like(counts)), counts + offsets)
    assert lookup_frame(frame.iloc[4:], [1], [0])[0] == 1  # (1, 0) missing: no change
    with pytest.raises(ValueError):
        lookup_frame(frame, [1], [4])  # keys beyond the table's ckey range


# --- The ONS package (cell-key-perturbation, MIT): same cells, same keys, same released counts -----------------

def _ons_bundled_ptable() -> pd.DataFrame:
    files = importlib.metadata.files("cell-key-perturbation") or []
    path = next((f.locate() for f in files if f.name == "ptable_10_5_rule.csv"), None)
    assert path is not None, "cell-key-perturbation (pinned in requirements-dev.txt) lacks its ptable_10_5_rule.csv"
    return pd.read_csv(path)


def _microdata(rows: int = 5000, seed: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "region": rng.choice(["N", "S", "E", "W"], rows, p=[0.7, 0.2, 0.07, 0.03]),
        "age": rng.choice(["18-39", "40-59", "60-79", "80+"], rows, p=[0.85, 0.1, 0.04, 0.01]),
        "sex": rng.choice(["F", "M", "X"], rows, p=[0.9, 0.08, 0.02]),
        "record_key": rng.integers(0, 256, rows),
    })


def _our_cells(data: pd.DataFrame, variables: list[str]) -> pd.DataFrame:
    cells = data.groupby(variables).agg(n=("record_key", "size"), key=("record_key", "sum")).reset_index()
    cells["key"] %= 256
    return cells


def _ons_table(data: pd.DataFrame, ptable: pd.DataFrame, variables: list[str]) -> pd.DataFrame:
    ons = pytest.importorskip("cell_key_perturbation.create_perturbed_table",
                              reason="the ONS package cell-key-perturbation (requirements-dev.txt) is not installed")
    return ons.create_perturbed_table(data=data, ptable=ptable, geog=variables[:1], tab_vars=variables[1:],
                                      record_key="record_key", threshold=0)


def test_ons_package_agrees_cell_by_cell_with_its_bundled_ptable():
    data, variables = _microdata(), ["region", "age", "sex"]
    bundled = _ons_bundled_ptable()
    ons = _ons_table(data, bundled, variables)
    cells = _our_cells(data, variables)
    assert cells["n"].max() > pt.ONS_MAX_PCV and cells["n"].min() < 10  # both of the ONS rules are exercised
    cells["released"] = lookup_frame(bundled, cells["n"], cells["key"])
    merged = ons.merge(cells, on=variables, how="left", validate="one_to_one")
    observed = merged["n"].notna()
    assert observed.sum() == len(cells)
    assert np.array_equal(merged.loc[observed, "pre_sdc_count"], merged.loc[observed, "n"])
    assert np.array_equal(merged.loc[observed, "ckey"], merged.loc[observed, "key"])
    assert np.array_equal(merged.loc[observed, "count"].astype("int64"), merged.loc[observed, "released"])
    assert np.all(merged.loc[~observed, "count"] == 0)


def test_ons_package_applies_our_table_as_perturb_does():
    data, variables = _microdata(seed=99), ["region", "age", "sex"]
    table = pt.default_ptable()
    ons = _ons_table(data, table.to_frame(pt.ONS_MAX_PCV), variables)
    cells = _our_cells(data, variables)
    cells["released"] = table.perturb(cells["n"], cells["key"])
    merged = ons.merge(cells, on=variables, how="inner", validate="one_to_one")
    assert len(merged) == len(cells) and cells["n"].max() > pt.ONS_MAX_PCV
    assert np.array_equal(merged["count"].astype("int64"), merged["released"])
