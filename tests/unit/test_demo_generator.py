"""Tests of the demo extract generator: schema conformance, determinism, atomic output, calibration recovery.

Statistical checks compare the extract with calibration.toml within Z standard errors (binomial or
Poisson), so they would fail if the generator drifted from its calibration.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data_schema.demo import generator, load_calibration, synthesize  # noqa: E402

N = 200_000
SEED = 20240611
Z = 4.0  # tolerance, in standard errors, for every calibration-recovery check
TABLES = ("participants", "ferritin_labs", "treatments")
ARROW_TYPES = {"string": pa.string(), "integer": pa.int32(), "flag": pa.int8(), "float": pa.float64()}


def declared(table: str) -> dict:
    """Declared column specs of a table, read independently of the generator."""
    with open(ROOT / "data_schema" / "tables" / f"{table}.toml", "rb") as fh:
        return tomllib.load(fh)["columns"]


def within(observed: float, expected: float, se: float) -> bool:
    """True when observed is within Z standard errors of expected."""
    return abs(observed - expected) <= Z * se


def binomial_se(p: float, n: int) -> float:
    """Standard error of a proportion p estimated from n people."""
    return math.sqrt(p * (1 - p) / n)


@pytest.fixture(scope="module")
def cal() -> dict:
    return load_calibration()


@pytest.fixture(scope="module")
def extract(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("demo") / "extract"
    calls: list[tuple[int, int]] = []
    summary = synthesize(N, SEED, out, progress=lambda done, total: calls.append((done, total)))
    return {"dir": out, "summary": summary, "calls": calls}


@pytest.fixture(scope="module")
def arrow(extract) -> dict[str, pa.Table]:
    return {t: pq.read_table(extract["dir"] / f"{t}.parquet") for t in TABLES}


@pytest.fixture(scope="module")
def people(arrow) -> pd.DataFrame:
    return arrow["participants"].to_pandas()


@pytest.fixture(scope="module")
def labs(arrow) -> pd.DataFrame:
    return arrow["ferritin_labs"].to_pandas()


@pytest.fixture(scope="module")
def tx(arrow) -> pd.DataFrame:
    return arrow["treatments"].to_pandas()


# ----------------------------------------------------------------------------- schema and output


@pytest.mark.parametrize("table", TABLES)
def test_columns_types_codes_ranges_and_nulls_match_declared_schema(arrow, table):
    spec = declared(table)
    data = arrow[table]
    assert data.column_names == list(spec)
    for name, col in spec.items():
        values = data.column(name)
        assert values.type == ARROW_TYPES[col["type"]], name
        if col.get("nullable", True) is False:
            assert values.null_count == 0, name
        present = values.drop_null()
        if col["type"] == "flag":
            assert set(pc.unique(present).to_pylist()) <= {0, 1}, name
        if "codes" in col:
            assert set(pc.unique(present).to_pylist()) <= set(col["codes"]), name
        if "range" in col and len(present):
            low, high = col["range"]
            assert low <= pc.min(present).as_py() and pc.max(present).as_py() <= high, name


def test_participant_ids_are_sequential_nine_digit_keys(people):
    expected = [f"P{i:09d}" for i in range(1, N + 1)]
    assert people["participant_id"].tolist() == expected


def test_summary_progress_truth_and_mapping(extract, arrow, cal):
    summary, out = extract["summary"], extract["dir"]
    assert {t: summary[t] for t in TABLES} == {t: arrow[t].num_rows for t in TABLES}
    assert summary["seconds"] > 0
    assert extract["calls"] and extract["calls"][-1] == (N, N)
    assert [d for d, _ in extract["calls"]] == sorted(d for d, _ in extract["calls"])
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert (truth["seed"], truth["participants"]) == (SEED, N)
    assert truth["generator_version"] == generator.GENERATOR_VERSION
    assert truth["calibration"] == json.loads(json.dumps(cal))
    rls = cal["rls"]
    odds = [(w / (1 - w)) / (m / (1 - m)) for w, m in zip(rls["women"], rls["men"])]
    assert list(truth["derived"]["or_women_men_by_age_band"].values()) == pytest.approx(odds)
    mult = cal["augmentation"]["ferritin_band_multiplier"]
    hr = truth["derived"]["augmentation_hr_vs_top_ferritin_band"]
    assert list(hr.values()) == pytest.approx([m / mult[-1] for m in mult])
    if generator.MAPPING_PATH.exists():
        assert (out / "mapping.toml").read_bytes() == generator.MAPPING_PATH.read_bytes()
    else:
        assert not (out / "mapping.toml").exists()


def test_same_inputs_give_identical_bytes_and_seed_matters(tmp_path):
    runs = {name: tmp_path / name for name in ("a", "b", "other_seed")}
    synthesize(30_000, 5, runs["a"])
    synthesize(30_000, 5, runs["b"])
    synthesize(30_000, 6, runs["other_seed"])
    names = sorted(p.name for p in runs["a"].iterdir())
    assert {f"{t}.parquet" for t in TABLES} | {"truth.json"} <= set(names)
    assert names == sorted(p.name for p in runs["b"].iterdir())
    for name in names:
        assert (runs["a"] / name).read_bytes() == (runs["b"] / name).read_bytes(), name
    for t in TABLES:
        assert (runs["a"] / f"{t}.parquet").read_bytes() != (runs["other_seed"] / f"{t}.parquet").read_bytes()


def test_chunks_become_row_groups_with_continuous_ids(tmp_path, monkeypatch):
    monkeypatch.setattr(generator, "CHUNK_SIZE", 7_000)
    calls = []
    synthesize(20_000, 3, tmp_path / "x", progress=lambda done, total: calls.append((done, total)))
    assert calls == [(7_000, 20_000), (14_000, 20_000), (20_000, 20_000)]
    for t in TABLES:
        assert pq.ParquetFile(tmp_path / "x" / f"{t}.parquet").num_row_groups == 3, t
    ids = pq.read_table(tmp_path / "x" / "participants.parquet").column("participant_id").to_pylist()
    assert ids == [f"P{i:09d}" for i in range(1, 20_001)]


def test_failure_leaves_no_partial_extract(tmp_path, monkeypatch):
    real = generator._chunk_tables

    def fail_on_second_chunk(cal, schemas, arrow, rng, first_id, n):
        if first_id > 0:
            raise RuntimeError("boom")
        return real(cal, schemas, arrow, rng, first_id, n)

    monkeypatch.setattr(generator, "CHUNK_SIZE", 5_000)
    monkeypatch.setattr(generator, "_chunk_tables", fail_on_second_chunk)
    with pytest.raises(RuntimeError, match="boom"):
        synthesize(12_000, 1, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_rerun_replaces_an_existing_extract(tmp_path):
    out = tmp_path / "out"
    synthesize(2_000, 1, out)
    synthesize(3_000, 2, out)
    assert pq.read_metadata(out / "participants.parquet").num_rows == 3_000
    assert json.loads((out / "truth.json").read_text(encoding="utf-8"))["seed"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_tiny_extracts_are_valid(tmp_path):
    for n in (1, 7):
        summary = synthesize(n, 0, tmp_path / str(n))
        assert summary["participants"] == n
        assert pq.read_table(tmp_path / str(n) / "participants.parquet").num_rows == n


def test_rejects_invalid_arguments(tmp_path):
    with pytest.raises(ValueError):
        synthesize(0, 1, tmp_path / "x")
    with pytest.raises(ValueError):
        synthesize(10, -1, tmp_path / "x")


# ----------------------------------------------------------------------------- participants


def test_rls_prevalence_per_sex_and_age_band_matches_calibration(people, cal):
    rls = cal["rls"]
    band = np.searchsorted(rls["band_lower"], people["age"], side="right") - 1
    for i, (low, high) in enumerate(zip(rls["band_lower"], rls["band_upper"])):
        for sex, key in (("F", "women"), ("M", "men")):
            cell = people.loc[(band == i) & (people["sex"] == sex), "rls_irlssg"]
            p = rls[key][i]
            assert len(cell) > 1_000
            assert within(cell.mean(), p, binomial_se(p, len(cell))), (low, high, sex, cell.mean(), p)


def test_population_mix(people, cal):
    pop = cal["population"]
    assert within((people["sex"] == "F").mean(), pop["female_share"], binomial_se(pop["female_share"], N))
    assert people["age"].between(18, pop["age_top_code_value"]).all()
    assert (people["age"] == pop["age_top_code_value"]).sum() > 0
    assert people["baseline_year"].between(*pop["baseline_year"]).all()
    share = people["site"].value_counts(normalize=True)
    for code, expected in zip(pop["sites"]["codes"], pop["sites"]["share"]):
        assert within(share[code], expected, binomial_se(expected, N)), code
    mean_age = people.groupby("site")["age"].mean()
    assert mean_age.max() - mean_age.min() > 10  # sites differ in age structure, so site confounds


def test_case_definition_is_consistent(people):
    criteria = people[["irlssg_urge", "irlssg_rest", "irlssg_relief", "irlssg_evening"]].eq(1).all(axis=1)
    cases = people["rls_irlssg"] == 1
    assert (criteria & people["mimic_present"].eq(0)).eq(cases).all()
    assert people.loc[cases, "mimic_present"].eq(0).all()
    noncase_all_four = (~cases & criteria).mean() / (~cases).mean()
    assert 0.01 < noncase_all_four < 0.02
    assert people.loc[~cases & criteria, "mimic_present"].eq(1).all()


def test_symptoms_only_prevalence_is_about_twelve_percent(people, cal):
    truth = generator.derived_truths(cal)
    expected = truth["expected_symptoms_only_prevalence"]
    assert 0.10 < expected < 0.14
    assert within(people["irlssg_urge"].mean(), expected, binomial_se(expected, N))
    assert within(people["rls_irlssg"].mean(), truth["expected_rls_prevalence"]["overall"], binomial_se(0.08, N))


def test_clinically_significant_share_and_irls_bands(people, cal):
    sv = cal["severity"]
    cases = people[people["rls_irlssg"] == 1]
    mix = np.asarray(sv["mix"]) / sum(sv["mix"])
    expected = float(mix @ np.asarray(sv["clinically_significant_p"]))
    assert abs(expected - 0.37) < 0.01
    assert within(cases["rls_clinically_significant"].mean(), expected, binomial_se(expected, len(cases)))
    assert people.loc[people["rls_irlssg"] == 0, "rls_clinically_significant"].eq(0).all()
    assert people["irls_score"].notna().eq(people["rls_irlssg"] == 1).all()
    band = np.searchsorted(sv["score_lower"], cases["irls_score"], side="right") - 1
    assert cases["irls_score"].between(sv["score_lower"][0], sv["score_upper"][-1]).all()
    for i, share in enumerate(mix):
        assert within((band == i).mean(), share, binomial_se(share, len(cases))), sv["bands"][i]


def test_frequency_and_distress_agree_with_case_status(people):
    frequent = people["symptom_frequency"] == "twice_weekly_or_more"
    distressed = people["symptom_distress"].isin(["moderate", "severe"])
    significant = people["rls_clinically_significant"] == 1
    cases = people["rls_irlssg"] == 1
    symptomatic = people["irlssg_urge"] == 1
    assert (frequent & distressed).eq(significant).all()
    noncase_sym = people[~cases & symptomatic]
    assert noncase_sym["symptom_frequency"].isin(["less_than_weekly", "weekly"]).all()
    assert noncase_sym["symptom_distress"].isin(["none", "mild"]).all()
    silent = people[~symptomatic]
    assert silent["symptom_frequency"].eq("none").all() and silent["symptom_distress"].eq("none").all()
    assert people.loc[cases, "symptom_distress"].ne("none").all()


def test_parity_odds_ratios_recover_berger(people, cal):
    par = cal["risk_factors"]["parity"]
    assert people.loc[people["sex"] == "M", "parity"].isna().all()
    women = people[people["sex"] == "F"]
    assert women["parity"].notna().all()
    level = np.minimum(women["parity"].to_numpy(), par["values"][-1])
    case = women["rls_irlssg"].to_numpy() == 1
    a0, b0 = ((level == 0) & case).sum(), ((level == 0) & ~case).sum()
    for value, expected in zip(par["values"][1:], par["case_odds"][1:]):
        a, b = ((level == value) & case).sum(), ((level == value) & ~case).sum()
        log_or, se = math.log(a * b0 / (b * a0)), math.sqrt(1 / a + 1 / b + 1 / a0 + 1 / b0)
        assert within(log_or, math.log(expected), se), (value, math.exp(log_or), expected)


def test_risk_factor_consistency(people, cal):
    rf = cal["risk_factors"]
    pregnant = people["pregnant"] == 1
    assert people.loc[pregnant, "sex"].eq("F").all()
    assert people.loc[pregnant, "age"].between(*rf["pregnant"]["age"]).all()
    e = rf["egfr"]
    egfr, kidney = people["egfr"], people["kidney_disease"]
    assert egfr[kidney == "none"].ge(e["none_floor"]).all()
    assert egfr[kidney == "ckd"].between(*e["ckd_range"]).all()
    assert egfr[kidney == "dialysis"].between(*e["dialysis_range"]).all()
    cases = people["rls_irlssg"] == 1
    dialysis_case, dialysis_non = (kidney[cases] == "dialysis").mean(), (kidney[~cases] == "dialysis").mean()
    assert dialysis_case > 1.5 * dialysis_non
    for name in ("antidepressant", "antihistamine"):
        base = rf[name]["base"]
        assert within(people.loc[~cases, name].mean(), base, binomial_se(base, int((~cases).sum()))), name
        target = base * rf[name]["case_multiplier"]
        assert within(people.loc[cases, name].mean(), target, binomial_se(target, int(cases.sum()))), name


def test_plms_subset_and_elevation_rates(people, cal):
    pl = cal["plms"]
    cases = people["rls_irlssg"] == 1
    measured = people["plms_index"].notna()
    for mask, share in ((cases, pl["psg_share_case"]), (~cases, pl["psg_share_noncase"])):
        assert within(measured[mask].mean(), share, binomial_se(share, int(mask.sum())))
    elevated = people["plms_index"] >= pl["threshold"]
    case_psg = people[cases & measured]
    p = pl["case_p_elevated"]
    assert within(elevated[case_psg.index].mean(), p, binomial_se(p, len(case_psg)))
    old_men = people[~cases & measured & (people["sex"] == "M") & (people["age"] >= pl["noncase_age_lower"][-1])]
    p = pl["noncase_p_elevated_men"][-1]
    assert within(elevated[old_men.index].mean(), p, binomial_se(p, len(old_men)))
    # Non-elevated indices are truncated below the threshold, and Gamma(2, .) has no mass at 0: no pile-up.
    assert (people["plms_index"] == pl["threshold"]).mean() < 1e-4
    young = people[~cases & measured & (people["age"] < pl["noncase_age_lower"][1])]
    p = pl["noncase_p_elevated_women"][0]
    assert within(elevated[young.index].mean(), p, binomial_se(p, len(young)))


# ----------------------------------------------------------------------------- labs and treatments


def test_referential_integrity_and_sorting(people, labs, tx):
    ids = set(people["participant_id"])
    assert set(labs["participant_id"]) <= ids
    assert set(tx["participant_id"]) <= ids
    assert not labs.duplicated(["participant_id", "lab_day"]).any()
    assert labs.equals(labs.sort_values(["participant_id", "lab_day"], kind="stable").reset_index(drop=True))
    assert tx.equals(tx.sort_values(["participant_id", "episode"], kind="stable").reset_index(drop=True))
    treated = people.set_index("participant_id").loc[tx["participant_id"].unique()]
    assert treated["rls_irlssg"].eq(1).all()


def test_ferritin_distribution_and_tsat(people, labs, cal):
    f = cal["ferritin"]
    merged = labs.merge(people[["participant_id", "sex", "age", "iron_deficiency_anaemia"]], on="participant_id")
    first = merged.drop_duplicates("participant_id")  # one lab per person keeps draws independent
    plain = first["iron_deficiency_anaemia"] == 0
    men = np.log(first.loc[plain & (first["sex"] == "M"), "ferritin"])
    young_women = np.log(first.loc[plain & (first["sex"] == "F") & first["age"].between(*f["women_age"]), "ferritin"])
    sd = math.hypot(f["sigma"], f["measurement_sd"])
    se_median = 1.2533 * sd / math.sqrt(len(men))
    assert within(men.median(), math.log(f["median"]), se_median)
    shift = young_women.median() - men.median()
    assert within(shift, f["women_log_shift"], 1.2533 * sd * math.sqrt(1 / len(men) + 1 / len(young_women)))
    assert labs["tsat"].between(*f["tsat_clip"]).all()
    assert np.corrcoef(np.log(labs["ferritin"]), labs["tsat"])[0, 1] > 0.3


def test_treatment_episode_logic(people, tx, cal):
    tr = cal["treatment"]
    assert tx["augmented"].eq(1).eq(tx["augmentation_day"].notna()).all()
    assert (tx["augmentation_day"].dropna() <= tx.loc[tx["augmented"] == 1, "end_of_followup_day"]).all()
    stopped = tx[tx["stop_day"].notna()]
    assert (stopped["stop_day"] > stopped["start_day"]).all()
    assert (stopped["stop_day"] <= stopped["end_of_followup_day"]).all()
    first, second = tx[tx["episode"] == 1], tx[tx["episode"] == 2].set_index("participant_id")
    assert not first["participant_id"].duplicated().any()
    assert set(tx["episode"]) == {1, 2}
    assert second["drug"].isin(tr["second_line_drugs"]).all()
    before = first.set_index("participant_id").loc[second.index]
    assert before["drug"].isin(tr["dopaminergic"]).all() and before["augmented"].eq(1).all()
    assert (second["start_day"] == before["stop_day"] + 1).all()
    cases = people[people["rls_irlssg"] == 1].set_index("participant_id")
    treated = cases.index.isin(first["participant_id"])
    for flag, p in ((1, tr["p_treated_significant"]), (0, tr["p_treated_other"])):
        group = (cases["rls_clinically_significant"] == flag).to_numpy()
        assert within(treated[group].mean(), p, binomial_se(p, int(group.sum()))), flag


def episodes_with_measured_baseline(tx: pd.DataFrame, labs: pd.DataFrame, au: dict) -> pd.DataFrame:
    """Episodes with the most recent ferritin in [start - window, start]: its band, exposure years, events.

    An independent implementation (pandas merge_asof) of the dashboard's baseline-ferritin rule.
    """
    left = tx.assign(day=tx["start_day"].astype("int64")).sort_values("day")
    right = labs.assign(day=labs["lab_day"].astype("int64")).sort_values("day")
    joined = pd.merge_asof(left, right[["participant_id", "day", "ferritin"]], on="day", by="participant_id",
                           direction="backward", tolerance=au["baseline_window"])
    joined = joined[joined["ferritin"].notna()]
    exit_day = joined["augmentation_day"].fillna(joined["stop_day"]).fillna(joined["end_of_followup_day"])
    band = np.searchsorted(au["ferritin_band_edges"], joined["ferritin"], side="right")
    years = (exit_day - joined["start_day"]) / 365.25
    expected = joined["drug"].map(au["base_hazard"]) * np.take(au["ferritin_band_multiplier"], band) * years
    return joined.assign(band=band, years=years, events=joined["augmented"], expected=expected)


@pytest.fixture(scope="module")
def episodes(tx, labs, cal) -> pd.DataFrame:
    return episodes_with_measured_baseline(tx, labs, cal["augmentation"])


def test_most_episodes_have_a_measured_baseline_ferritin(episodes, tx):
    assert len(episodes) > 0.7 * len(tx)


def test_augmentation_rates_by_drug_at_top_ferritin_band(episodes, cal):
    au = cal["augmentation"]
    top = episodes[episodes["band"] == len(au["ferritin_band_edges"])]
    for drug, hazard in au["base_hazard"].items():
        rows = top[top["drug"] == drug]
        rate, years = rows["events"].sum() / rows["years"].sum(), rows["years"].sum()
        expected = hazard * au["ferritin_band_multiplier"][-1]
        assert expected * years > 10, drug
        assert within(rate, expected, math.sqrt(expected / years)), (drug, rate, expected)


@pytest.mark.parametrize("by", ["drug", "band"])
def test_augmentation_events_match_calibrated_hazards(episodes, by):
    totals = episodes.groupby(by)[["events", "expected"]].sum()
    assert len(totals) >= 4
    for key, row in totals.iterrows():
        assert within(row["events"], row["expected"], math.sqrt(row["expected"])), (key, row.to_dict())


def test_augmentation_hazard_ratios_by_ferritin_band(episodes, cal):
    au = cal["augmentation"]
    base_exposure = episodes["drug"].map(au["base_hazard"]) * episodes["years"]
    top = episodes["band"] == len(au["ferritin_band_edges"])
    top_events = episodes.loc[top, "events"].sum()
    top_rate = top_events / base_exposure[top].sum()
    for i, mult in enumerate(au["ferritin_band_multiplier"][:-1]):
        in_band = episodes["band"] == i
        events = episodes.loc[in_band, "events"].sum()
        hr = events / base_exposure[in_band].sum() / top_rate
        se_log = math.sqrt(1 / events + 1 / top_events)
        assert within(math.log(hr), math.log(mult / au["ferritin_band_multiplier"][-1]), se_log), (i, hr, mult)
