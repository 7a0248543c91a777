"""Seeded, chunked generator of the demo RLS extract: participants, ferritin_labs, treatments (Parquet).

Every model parameter comes from calibration.toml; column names, order and types come from the declared
table schemas in data_schema/tables. Chunk k of CHUNK_SIZE participants draws from
np.random.default_rng([seed, k]) and becomes one row group of each table, so the output depends only on
(participants, seed) and memory stays flat however many participants are asked for. Risk factors added later
(neuropathy, family history) draw from a stream of their own, np.random.default_rng([seed, k, ADDED_STREAM]), so
adding them changed no other column.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

GENERATOR_VERSION = "1.2.0"
ADDED_STREAM = 1  # the random stream of the risk factors added in 1.2.0 (see the module docstring)
CHUNK_SIZE = 250_000
MAX_PARTICIPANTS = 999_999_999  # participant_id is "P" + nine digits
HERE = Path(__file__).resolve().parent
CALIBRATION_PATH = HERE / "calibration.toml"
MAPPING_PATH = HERE / "mapping.toml"
TABLES_DIR = HERE.parent / "tables"
TABLES = ("participants", "ferritin_labs", "treatments")
ARROW_TYPES = {"string": pa.string(), "integer": pa.int32(), "flag": pa.int8(), "float": pa.float64()}
PARQUET_COMPRESSION = "zstd"
NULL = np.iinfo(np.int64).min  # sentinel for an empty integer cell before conversion to Arrow
SEX_LEVELS = ("F", "M")  # sex code 0 = female, 1 = male


# ----------------------------------------------------------------------------- configuration


def load_calibration(path: Path | None = None) -> dict:
    """Read and sanity-check the calibration TOML (default: the one next to this module)."""
    with open(path or CALIBRATION_PATH, "rb") as fh:
        cal = tomllib.load(fh)
    _check_calibration(cal)
    return cal


def _check_calibration(cal: dict) -> None:
    """Raise ValueError when list parameters that must line up do not."""
    pop, sites = cal["population"], cal["population"]["sites"]
    checks = {
        "site shares": len(sites["share"]) == len(sites["codes"]),
        "site age weights": all(len(sites["age_weights"][c]) == len(pop["age_bins"]["lower"]) for c in sites["codes"]),
        "rls bands": len({len(cal["rls"][k]) for k in ("band_lower", "band_upper", "women", "men")}) == 1,
        "severity bands": len({len(cal["severity"][k]) for k in ("bands", "mix", "clinically_significant_p")}) == 1,
        "drug shares": len(cal["treatment"]["drugs"]) == len(cal["treatment"]["first_drug_share"])
        == len(cal["treatment"]["practice_change"]["first_drug_share_after"]),
        "drug classes": set(cal["treatment"]["dopamine_agonists"]) <= set(cal["treatment"]["dopaminergic"])
        and set(cal["treatment"]["alpha2delta"]) <= set(cal["treatment"]["drugs"]),
        "ferritin bands": len(cal["augmentation"]["ferritin_band_multiplier"])
        == len(cal["augmentation"]["ferritin_band_edges"]) + 1,
        "hazards": set(cal["augmentation"]["base_hazard"]) == set(cal["treatment"]["drugs"]),
    }
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise ValueError(f"calibration.toml is inconsistent: {', '.join(bad)}")


def load_table_schemas(tables_dir: Path = TABLES_DIR) -> dict[str, dict]:
    """Declared column specs per table, in declared order."""
    out = {}
    for table in TABLES:
        with open(tables_dir / f"{table}.toml", "rb") as fh:
            out[table] = tomllib.load(fh)["columns"]
    return out


def arrow_schema(columns: dict) -> pa.Schema:
    """Arrow schema for declared columns: string/int32/int8/float64, non-null where declared."""
    fields = [pa.field(name, ARROW_TYPES[c["type"]], nullable=c.get("nullable", True)) for name, c in columns.items()]
    return pa.schema(fields)


# ----------------------------------------------------------------------------- small helpers


def _norm(weights) -> np.ndarray:
    """Weights scaled to sum to 1."""
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _band(lower_bounds, values) -> np.ndarray:
    """Index of the band (given by ascending lower bounds) each value falls in."""
    return np.searchsorted(np.asarray(lower_bounds), values, side="right") - 1


def _chance(rng: np.random.Generator, p) -> np.ndarray:
    """Independent Bernoulli draws with per-element probability p."""
    p = np.asarray(p, dtype=float)
    return rng.random(p.shape) < p


def _case_scaled(p, rls: np.ndarray, multiplier: float) -> np.ndarray:
    """Probability p, multiplied among RLS cases."""
    return p * np.where(rls, multiplier, 1.0)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (rows, categories) probability matrix."""
    cum = probs.cumsum(axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _strings(levels, codes: np.ndarray) -> pa.Array:
    """Arrow string array of levels[codes]."""
    return pa.array(list(levels), pa.string()).take(pa.array(np.asarray(codes, dtype=np.int64)))


def _participant_ids(first: int, n: int) -> pa.Array:
    """'P' + nine-digit sequential numbers first+1 .. first+n, built as one byte buffer."""
    numbers = np.arange(first + 1, first + n + 1, dtype=np.int64)
    buf = np.empty((n, 10), dtype=np.uint8)
    buf[:, 0] = ord("P")
    buf[:, 1:] = (numbers[:, None] // 10 ** np.arange(8, -1, -1)) % 10 + ord("0")
    offsets = np.arange(0, 10 * (n + 1), 10, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf.tobytes()))


def _arrow_column(field: pa.Field, value, levels) -> pa.Array:
    """Arrow array for one declared column: codes become strings, NaN/NULL become nulls."""
    if isinstance(value, pa.Array):
        return value
    if levels is not None:
        return _strings(levels, value)
    value = np.asarray(value)
    missing = np.isnan(value) if value.dtype.kind == "f" else value == NULL
    if not missing.any():
        missing = None
    elif not field.nullable:
        raise ValueError(f"column {field.name} is declared non-nullable but has empty cells")
    return pa.array(value.astype(field.type.to_pandas_dtype()), type=field.type, mask=missing)


def _table(schema: pa.Schema, state: dict, levels: dict) -> pa.Table:
    """Table of the declared columns, in declared order, taken from a dict that may hold more keys."""
    absent = [name for name in schema.names if name not in state]
    if absent:
        raise ValueError(f"declared columns not generated: {absent}")
    arrays = [_arrow_column(field, state[field.name], levels.get(field.name)) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


# ----------------------------------------------------------------------------- participants


def _draw_people(cal: dict, rng: np.random.Generator, n: int) -> dict:
    """Site, sex, top-coded age and baseline year."""
    pop = cal["population"]
    sites, bins = pop["sites"], pop["age_bins"]
    site = rng.choice(len(sites["codes"]), size=n, p=_norm(sites["share"]))
    age_weights = np.array([_norm(sites["age_weights"][code]) for code in sites["codes"]])
    age_bin = _choice_rows(rng, age_weights[site])
    age = rng.integers(np.asarray(bins["lower"])[age_bin], np.asarray(bins["upper"])[age_bin] + 1)
    age = np.where(age > pop["age_top_code_above"], pop["age_top_code_value"], age)
    female = _chance(rng, np.full(n, pop["female_share"]))
    first_year, last_year = pop["baseline_year"]
    year = rng.integers(first_year, last_year + 1, size=n)
    return {"site": site, "female": female, "sex": np.where(female, 0, 1), "age": age, "baseline_year": year}


def _draw_rls(cal: dict, rng: np.random.Generator, p: dict) -> np.ndarray:
    """RLS (four criteria, no mimic) with exactly the calibrated probability per sex and age band."""
    r = cal["rls"]
    band = _band(r["band_lower"], p["age"])
    return _chance(rng, np.where(p["female"], np.take(r["women"], band), np.take(r["men"], band)))


def _partial_patterns(rng: np.random.Generator, p: float, m: int) -> np.ndarray:
    """(m, 3) rest/relief/evening flags, each with probability p, conditioned on not all three."""
    bits = (np.arange(8)[:, None] >> np.array([2, 1, 0])) & 1
    k = bits.sum(axis=1)
    weights = p**k * (1 - p) ** (3 - k) * (k < 3)
    return bits[rng.choice(8, size=m, p=_norm(weights))].astype(bool)


def _draw_criteria(cal: dict, rng: np.random.Generator, rls: np.ndarray) -> dict:
    """IRLSSG criteria and mimic flag: cases meet all four without a mimic; no non-case does."""
    s = cal["symptoms"]
    n = len(rls)
    u = rng.random(n)
    all_four_mimic = ~rls & (u < s["noncase_all_four_with_mimic"])
    partial = ~rls & ~all_four_mimic & (u < s["noncase_symptomatic"])
    other = np.zeros((n, 3), dtype=bool)
    other[rls | all_four_mimic] = True
    other[partial] = _partial_patterns(rng, s["partial_criterion_p"], int(partial.sum()))
    mimic = all_four_mimic.copy()
    mimic[partial] = _chance(rng, np.full(int(partial.sum()), s["partial_mimic_p"]))
    return {
        "irlssg_urge": rls | all_four_mimic | partial,
        "irlssg_rest": other[:, 0],
        "irlssg_relief": other[:, 1],
        "irlssg_evening": other[:, 2],
        "mimic_present": mimic,
    }


def _draw_severity(cal: dict, rng: np.random.Generator, rls: np.ndarray) -> dict:
    """IRLS total for cases (NULL otherwise) and the clinically-significant flag."""
    sv = cal["severity"]
    m = int(rls.sum())
    band = rng.choice(len(sv["mix"]), size=m, p=_norm(sv["mix"]))
    score = np.full(len(rls), NULL, dtype=np.int64)
    score[rls] = rng.integers(np.take(sv["score_lower"], band), np.take(sv["score_upper"], band) + 1)
    significant = np.zeros(len(rls), dtype=bool)
    significant[rls] = _chance(rng, np.take(sv["clinically_significant_p"], band))
    return {"irls_score": score, "rls_clinically_significant": significant}


def _draw_frequency_distress(cal: dict, rng: np.random.Generator, p: dict, columns: dict) -> dict:
    """Codes of symptom_frequency and symptom_distress (0 = "none"), consistent with significance."""
    fd = cal["severity"]["frequency_distress"]
    freq_codes, distress_codes = columns["symptom_frequency"]["codes"], columns["symptom_distress"]["codes"]
    # Cells that define clinical significance: at least twice a week with moderate/severe distress.
    defining = np.outer(
        np.asarray(freq_codes) == "twice_weekly_or_more", np.isin(distress_codes, ["moderate", "severe"])
    )
    rls, significant = p["rls_irlssg"], p["rls_clinically_significant"]
    groups = {
        "significant": (significant, defining),
        "other_case": (rls & ~significant, ~defining),
        "noncase": (~rls & p["irlssg_urge"], ~defining),
    }
    freq, distress = np.zeros(len(rls), dtype=np.int64), np.zeros(len(rls), dtype=np.int64)
    for name, (mask, allowed) in groups.items():
        joint = np.outer(fd[f"{name}_frequency"], fd[f"{name}_distress"]) * allowed
        cell = rng.choice(joint.size, size=int(mask.sum()), p=_norm(joint.ravel()))
        freq[mask], distress[mask] = np.divmod(cell, len(distress_codes))
    return {"symptom_frequency": freq, "symptom_distress": distress}


def _draw_parity(cal: dict, rng: np.random.Generator, female: np.ndarray, rls: np.ndarray) -> np.ndarray:
    """Live births for women (NULL for men); cases reweighted by Berger 2004 odds."""
    par = cal["risk_factors"]["parity"]
    base = np.asarray(par["base"])
    parity = np.full(len(female), NULL, dtype=np.int64)
    for mask, weights in ((female & ~rls, base), (female & rls, base * np.asarray(par["case_odds"]))):
        parity[mask] = rng.choice(par["values"], size=int(mask.sum()), p=_norm(weights))
    top = parity == par["values"][-1]  # the last value stands for "that many or more"
    parity[top] = rng.choice(par["three_plus_values"], size=int(top.sum()), p=_norm(par["three_plus_split"]))
    return parity


def _draw_kidney(cal: dict, rng: np.random.Generator, age: np.ndarray, rls: np.ndarray, codes: list) -> dict:
    """kidney_disease code and a consistent eGFR."""
    k, e = cal["risk_factors"]["kidney"], cal["risk_factors"]["egfr"]
    n = len(rls)
    p_dialysis = _case_scaled(k["dialysis_p"], rls, k["dialysis_case_multiplier"])
    p_ckd = _case_scaled(np.take(k["ckd_p"], _band(k["ckd_age_lower"], age)), rls, k["ckd_case_multiplier"])
    u = rng.random(n)
    is_dialysis, is_ckd = u < p_dialysis, (u >= p_dialysis) & (u < p_dialysis + p_ckd)
    kidney = np.select([is_dialysis, is_ckd], [codes.index("dialysis"), codes.index("ckd")], codes.index("none"))
    healthy = rng.normal(e["none_intercept"] + e["none_slope"] * (age - e["none_ref_age"]), e["none_sd"])
    egfr = np.select(
        [is_dialysis, is_ckd],
        [rng.uniform(*e["dialysis_range"], size=n), rng.uniform(*e["ckd_range"], size=n)],
        np.maximum(healthy, e["none_floor"]),
    )
    return {"kidney_disease": kidney, "egfr": np.round(np.minimum(egfr, e["max"]), 1)}


def _draw_flag(rng: np.random.Generator, factor: dict, rls: np.ndarray) -> np.ndarray:
    """A baseline flag with probability base, times case_multiplier among RLS cases."""
    return _chance(rng, _case_scaled(factor["base"], rls, factor["case_multiplier"]))


def _draw_risk_factors(cal: dict, rng: np.random.Generator, p: dict, columns: dict) -> dict:
    """Risk factors drawn conditional on RLS status, so RLS prevalence stays as calibrated."""
    rf = cal["risk_factors"]
    rls, female, age = p["rls_irlssg"], p["female"], p["age"]
    preg, ida, bmi = rf["pregnant"], rf["iron_deficiency_anaemia"], rf["bmi_group"]
    eligible = female & (age >= preg["age"][0]) & (age <= preg["age"][1])
    p_ida = np.where(female & (age < ida["women_below_age"]), ida["women_p"], ida["other_p"])
    return {
        "parity": _draw_parity(cal, rng, female, rls),
        "pregnant": eligible & _draw_flag(rng, preg, rls),
        **_draw_kidney(cal, rng, age, rls, columns["kidney_disease"]["codes"]),
        "iron_deficiency_anaemia": _chance(rng, _case_scaled(p_ida, rls, ida["case_multiplier"])),
        "antidepressant": _draw_flag(rng, rf["antidepressant"], rls),
        "antihistamine": _draw_flag(rng, rf["antihistamine"], rls),
        "bmi_group": rng.choice(len(bmi["share"]), size=len(rls), p=_norm(bmi["share"])),
    }


def _logit(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p / (1 - p))


def _draw_added_risk_factors(cal: dict, rng: np.random.Generator, p: dict) -> dict:
    """Neuropathy and family history of RLS, drawn after RLS from their own stream (``ADDED_STREAM``).

    Neuropathy: logit P = logit(non-case probability of the age band) + ln(case_or) among cases, so its odds ratio
    for RLS given the age band is exactly case_or. Family history: by RLS status only."""
    rf = cal["risk_factors"]
    neuro, family = rf["neuropathy"], rf["family_history"]
    rls = p["rls_irlssg"]
    base = _logit(np.take(neuro["noncase_p"], _band(neuro["age_lower"], p["age"])))
    p_neuro = 1 / (1 + np.exp(-(base + np.where(rls, np.log(neuro["case_or"]), 0.0))))
    return {"neuropathy": _chance(rng, p_neuro),
            "family_history_rls": _chance(rng, np.where(rls, family["case_p"], family["noncase_p"]))}


def _draw_plms(cal: dict, rng: np.random.Generator, p: dict) -> np.ndarray:
    """PLMS index for the polysomnography subset, NaN for everyone else."""
    pl = cal["plms"]
    rls = p["rls_irlssg"]
    n = len(rls)
    psg = _chance(rng, np.where(rls, pl["psg_share_case"], pl["psg_share_noncase"]))
    band = _band(pl["noncase_age_lower"], p["age"])
    p_noncase = np.where(
        p["female"], np.take(pl["noncase_p_elevated_women"], band), np.take(pl["noncase_p_elevated_men"], band)
    )
    elevated = _chance(rng, np.where(rls, pl["case_p_elevated"], p_noncase))
    high = np.round(pl["threshold"] + rng.gamma(pl["elevated_gamma_shape"], pl["elevated_gamma_scale"], n), 1)
    low = np.floor(rng.uniform(0.0, pl["threshold"], n) * 10) / 10  # truncation keeps it below the threshold
    index = np.where(elevated, np.minimum(high, pl["max"]), low)
    return np.where(psg, index, np.nan)


def _latent_ferritin(cal: dict, rng: np.random.Generator, p: dict) -> np.ndarray:
    """Latent serum ferritin (µg/L): log-normal with shifts for young women and iron-deficiency anaemia."""
    f = cal["ferritin"]
    young_woman = p["female"] & (p["age"] >= f["women_age"][0]) & (p["age"] <= f["women_age"][1])
    shift = np.where(young_woman, f["women_log_shift"], 0.0)
    shift = shift + np.where(p["iron_deficiency_anaemia"], f["ida_log_shift"], 0.0)
    return np.exp(np.log(f["median"]) + shift + f["sigma"] * rng.standard_normal(len(shift)))


def _end_of_followup(cal: dict, rng: np.random.Generator, year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Last follow-up day from the baseline year to the administrative end (capped), and the baseline date.

    The draw U{0..extra_max} is the rest of the baseline year after the baseline visit: the visit falls on day
    ``days_per_year - 1 - extra`` of the baseline year (0 = 1 January), so every participant's follow-up ends in the
    last days of ``admin_end_year`` (the offsets count 365-day years; the calendar has leap days)."""
    fu = cal["followup"]
    extra = rng.integers(0, fu["extra_max"] + 1, len(year))
    days = (fu["admin_end_year"] - year) * fu["days_per_year"] + extra
    first_of_year = np.asarray(year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    return np.minimum(days, fu["max_day"]), first_of_year + (fu["days_per_year"] - 1 - extra)


def calendar(baseline_date: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calendar year and month (1-12) of ``day`` days after each baseline date."""
    date = baseline_date + np.asarray(day, dtype=np.int64).astype("timedelta64[D]")
    year = date.astype("datetime64[Y]").astype(np.int64) + 1970
    month = date.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return year, month


def _calendar_columns(prefix: str, baseline_date: np.ndarray, day: np.ndarray, months: bool) -> dict:
    """``<prefix>_year`` and ``<prefix>_month`` (all empty unless ``months``: Safe Harbor keeps years only)."""
    year, month = calendar(baseline_date, day)
    return {f"{prefix}_year": year, f"{prefix}_month": month if months else np.full(len(year), NULL, np.int64)}


def _draw_participants(cal: dict, rng: np.random.Generator, n: int, columns: dict) -> dict:
    """All participant columns (under their declared names) plus hidden state: female, latent ferritin, end."""
    p = _draw_people(cal, rng, n)
    p["rls_irlssg"] = _draw_rls(cal, rng, p)
    p.update(_draw_criteria(cal, rng, p["rls_irlssg"]))
    p.update(_draw_severity(cal, rng, p["rls_irlssg"]))
    p.update(_draw_frequency_distress(cal, rng, p, columns))
    p.update(_draw_risk_factors(cal, rng, p, columns))
    p["plms_index"] = _draw_plms(cal, rng, p)
    p["latent_ferritin"] = _latent_ferritin(cal, rng, p)
    p["end_of_followup_day"], p["baseline_date"] = _end_of_followup(cal, rng, p["baseline_year"])
    return p


# ----------------------------------------------------------------------------- labs and treatments


def _draw_first_treatment(cal: dict, rng: np.random.Generator, p: dict) -> dict:
    """Treated cases (local index), their first drug (index into drugs) and start day.

    The drug's shares depend on the calendar year of the start (the practice change); the uniform behind the drug
    is drawn before the start day, exactly as ``rng.choice`` would, so starts before the change get the drugs (and
    the random stream) they had without it."""
    tr = cal["treatment"]
    p_treated = np.where(p["rls_clinically_significant"], tr["p_treated_significant"], tr["p_treated_other"])
    who = np.flatnonzero(p["rls_irlssg"] & _chance(rng, p_treated))
    u = rng.random(len(who))
    last_start = np.minimum(tr["start_max_day"], p["end_of_followup_day"][who] - tr["start_min_remaining"])
    start = rng.integers(0, last_start + 1)
    after = calendar(p["baseline_date"][who], start)[0] >= tr["practice_change"]["year"]
    drug = np.empty(len(who), dtype=np.int64)
    for mask, share in ((~after, tr["first_drug_share"]), (after, tr["practice_change"]["first_drug_share_after"])):
        cdf = _norm(share).cumsum()
        cdf /= cdf[-1]
        drug[mask] = cdf.searchsorted(u[mask], side="right")
    return {"who": who, "drug": drug, "start": start}


def _draw_labs(cal: dict, rng: np.random.Generator, p: dict, first: dict, months: bool = False) -> dict:
    """Baseline, follow-up and pre-treatment labs, one per participant-day, sorted by participant, day."""
    lb = cal["labs"]
    end = p["end_of_followup_day"]
    n = len(end)
    with_baseline = np.flatnonzero(_chance(rng, np.full(n, lb["baseline_p"])))
    baseline_day = rng.integers(lb["baseline_day"][0], lb["baseline_day"][1] + 1, size=len(with_baseline))
    followup_who = np.repeat(np.arange(n), rng.poisson(lb["followup_mean"], n))
    followup_day = rng.integers(1, end[followup_who] + 1)
    pre = _chance(rng, np.full(len(first["who"]), lb["pretreatment_p"]))
    pre_start = first["start"][pre]
    pre_day = rng.integers(pre_start - lb["pretreatment_window"], pre_start)
    who = np.concatenate([with_baseline, followup_who, first["who"][pre]])
    day = np.concatenate([baseline_day, followup_day, pre_day])
    order = np.lexsort((day, who))
    who, day = who[order], day[order]
    distinct = np.ones(len(who), dtype=bool)
    distinct[1:] = (who[1:] != who[:-1]) | (day[1:] != day[:-1])
    who, day = who[distinct], day[distinct]
    return {"who": who, "lab_day": day, **_measure_iron(cal, rng, p["latent_ferritin"][who]),
            **_calendar_columns("lab", p["baseline_date"][who], day, months)}


def _measure_iron(cal: dict, rng: np.random.Generator, latent: np.ndarray) -> dict:
    """Measured ferritin (latent with log-normal error) and a TSAT correlated with it."""
    f = cal["ferritin"]
    error = np.exp(rng.normal(0.0, f["measurement_sd"], len(latent)))
    ferritin = np.clip(np.round(latent * error, 1), *f["clip"])
    mean_tsat = f["tsat_intercept"] + f["tsat_slope"] * np.log(ferritin / f["median"])
    tsat = np.round(np.clip(rng.normal(mean_tsat, f["tsat_sd"]), *f["tsat_clip"]), 1)
    return {"ferritin": ferritin, "tsat": tsat}


def _baseline_band(cal: dict, labs: dict, latent: np.ndarray, who: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Ferritin band index of the most recent lab in [start - window, start], else of the latent value."""
    a = cal["augmentation"]
    value = latent[who]
    if len(labs["who"]):
        span = 1 << 32  # wider than any day range; keys stay sorted because labs are sorted by (who, day)
        lab_key = labs["who"].astype(np.int64) * span + labs["lab_day"]
        pos = np.searchsorted(lab_key, who.astype(np.int64) * span + start, side="right") - 1
        at = np.maximum(pos, 0)
        found = (pos >= 0) & (labs["who"][at] == who) & (labs["lab_day"][at] >= start - a["baseline_window"])
        # Labs are one per participant-day, so "the mean of same-day measurements" is the single value.
        value = np.where(found, labs["ferritin"][at], value)
    return np.searchsorted(a["ferritin_band_edges"], value, side="right")


def _event_day(cal: dict, rng: np.random.Generator, start, hazard) -> np.ndarray:
    """start + ceil(T * days_per_year) for T ~ Exponential(hazard per year); capped beyond any follow-up."""
    days = np.ceil(rng.exponential(1.0 / np.asarray(hazard, dtype=float)) * cal["treatment"]["days_per_year"])
    return start + np.minimum(days, cal["followup"]["max_day"] + 1).astype(np.int64)


def _episode_outcomes(cal: dict, rng: np.random.Generator, drug, start, end, band) -> dict:
    """Augmentation (competing with discontinuation and end of follow-up) and stop day of episodes."""
    tr, au = cal["treatment"], cal["augmentation"]
    base = np.array([au["base_hazard"][name] for name in tr["drugs"]])[drug]
    aug_day = _event_day(cal, rng, start, base * np.take(au["ferritin_band_multiplier"], band))
    off_day = _event_day(cal, rng, start, np.full(len(drug), tr["discontinuation_hazard"]))
    augmented = aug_day <= np.minimum(off_day, end)
    dopaminergic = np.isin(drug, [tr["drugs"].index(d) for d in tr["dopaminergic"]])
    stop_after_aug = np.minimum(aug_day + rng.integers(0, tr["post_augmentation_stop_max"] + 1, len(drug)), end)
    stop = np.where(augmented & dopaminergic, stop_after_aug, np.where(off_day <= end, off_day, NULL))
    return {
        "drug": drug,
        "start_day": start,
        "stop_day": stop,
        "augmented": augmented,
        "augmentation_day": np.where(augmented, aug_day, NULL),
        "switch": augmented & dopaminergic,
    }


def _draw_treatments(cal: dict, rng: np.random.Generator, p: dict, first: dict, labs: dict,
                     months: bool = False) -> dict:
    """Episode 1 for treated cases; episode 2 (alpha-2-delta) after a dopaminergic augmentation."""
    tr = cal["treatment"]
    end, latent, who1 = p["end_of_followup_day"], p["latent_ferritin"], first["who"]
    band1 = _baseline_band(cal, labs, latent, who1, first["start"])
    ep1 = _episode_outcomes(cal, rng, first["drug"], first["start"], end[who1], band1)
    start2 = ep1["stop_day"] + 1
    second = ep1["switch"] & (end[who1] - start2 >= tr["second_line_min_remaining"])
    who2, start2 = who1[second], start2[second]
    second_line = [tr["drugs"].index(d) for d in tr["second_line_drugs"]]
    pick = rng.choice(len(second_line), size=len(who2), p=_norm(tr["second_line_share"]))
    band2 = _baseline_band(cal, labs, latent, who2, start2)
    ep2 = _episode_outcomes(cal, rng, np.take(second_line, pick), start2, end[who2], band2)
    who = np.concatenate([who1, who2])
    episode = np.concatenate([np.ones(len(who1), np.int64), np.full(len(who2), 2, np.int64)])
    order = np.lexsort((episode, who))
    episodes = {key: np.concatenate([ep1[key], ep2[key]])[order] for key in ep1}
    who = who[order]
    return {**episodes, "who": who, "episode": episode[order], "end_of_followup_day": end[who],
            **_calendar_columns("start", p["baseline_date"][who], episodes["start_day"], months)}


# ----------------------------------------------------------------------------- one chunk


def _added_stream(rng: np.random.Generator) -> np.random.Generator:
    """The added risk factors' stream, default_rng([seed, k, ADDED_STREAM]), for the chunk stream
    default_rng([seed, k])."""
    return np.random.default_rng([*rng.bit_generator.seed_seq.entropy, ADDED_STREAM])


def _levels(cal: dict, columns: dict) -> dict:
    """Labels of coded columns: position = code used by the draws."""
    return {
        "site": cal["population"]["sites"]["codes"],
        "sex": SEX_LEVELS,
        "symptom_frequency": columns["symptom_frequency"]["codes"],
        "symptom_distress": columns["symptom_distress"]["codes"],
        "kidney_disease": columns["kidney_disease"]["codes"],
        "bmi_group": cal["risk_factors"]["bmi_group"]["codes"],
        "drug": cal["treatment"]["drugs"],
    }


def _chunk_tables(cal: dict, schemas: dict, arrow: dict, rng: np.random.Generator, first_id: int, n: int,
                  months: bool = False) -> dict:
    """Generate the three tables for participants first_id+1 .. first_id+n."""
    p = _draw_participants(cal, rng, n, schemas["participants"])
    p.update(_draw_added_risk_factors(cal, _added_stream(rng), p))
    first = _draw_first_treatment(cal, rng, p)
    labs = _draw_labs(cal, rng, p, first, months)
    tx = _draw_treatments(cal, rng, p, first, labs, months)
    ids = _participant_ids(first_id, n)
    p["participant_id"] = ids
    labs["participant_id"] = ids.take(pa.array(labs["who"]))
    tx["participant_id"] = ids.take(pa.array(tx["who"]))
    levels = _levels(cal, schemas["participants"])
    state = {"participants": p, "ferritin_labs": labs, "treatments": tx}
    return {t: _table(arrow[t], state[t], levels) for t in TABLES}


# ----------------------------------------------------------------------------- truths and output


def _band_labels(lower, upper) -> list[str]:
    """'18-29', ..., with the last band open-ended ('80+')."""
    return [f"{lo}-{hi}" for lo, hi in zip(lower[:-1], upper[:-1])] + [f"{lower[-1]}+"]


def _expected_prevalence(cal: dict) -> dict:
    """Expected RLS prevalence overall and by sex implied by the site, age and sex mix."""
    pop, r = cal["population"], cal["rls"]
    bins = pop["age_bins"]
    ages = np.arange(bins["lower"][0], bins["upper"][-1] + 1)
    age_bin = _band(bins["lower"], ages)
    size = np.asarray(bins["upper"]) - np.asarray(bins["lower"]) + 1
    site_w = np.array([_norm(pop["sites"]["age_weights"][c]) for c in pop["sites"]["codes"]])
    age_dist = _norm(pop["sites"]["share"]) @ (site_w[:, age_bin] / size[age_bin])
    coded = np.where(ages > pop["age_top_code_above"], pop["age_top_code_value"], ages)
    band = _band(r["band_lower"], coded)
    women, men = float(age_dist @ np.take(r["women"], band)), float(age_dist @ np.take(r["men"], band))
    fs = pop["female_share"]
    return {"women": women, "men": men, "overall": fs * women + (1 - fs) * men}


def derived_truths(cal: dict) -> dict:
    """Quantities an analysis of the extract should recover, computed from the calibration alone."""
    r, sv, au = cal["rls"], cal["severity"], cal["augmentation"]
    labels = _band_labels(r["band_lower"], r["band_upper"])
    prevalence = _expected_prevalence(cal)
    mult = np.asarray(au["ferritin_band_multiplier"])
    odds_w, odds_m = (np.asarray(r[k]) / (1 - np.asarray(r[k])) for k in ("women", "men"))
    symptomatic = cal["symptoms"]["noncase_symptomatic"]
    bands = au["ferritin_band_labels"]
    hazards = {drug: dict(zip(bands, (base * mult).tolist())) for drug, base in au["base_hazard"].items()}
    return {
        "practice_change": practice_change_truth(cal),
        "or_women_men_by_age_band": dict(zip(labels, (odds_w / odds_m).tolist())),
        "rls_prevalence_by_sex_age_band": {"women": dict(zip(labels, r["women"])), "men": dict(zip(labels, r["men"]))},
        "expected_rls_prevalence": prevalence,
        "expected_symptoms_only_prevalence": prevalence["overall"] + (1 - prevalence["overall"]) * symptomatic,
        "expected_clinically_significant_share_of_cases": float(_norm(sv["mix"]) @ sv["clinically_significant_p"]),
        "augmentation_hr_vs_top_ferritin_band": dict(zip(bands, (mult / mult[-1]).tolist())),
        "augmentation_hazard_per_year": hazards,
        "risk_factor_or": added_risk_factor_odds_ratios(cal),
    }


def added_risk_factor_odds_ratios(cal: dict) -> dict:
    """The odds ratios of RLS for neuropathy and family history in a logistic model of RLS on sex, age band (the
    [rls] bands), neuropathy and family history (each is drawn given RLS alone, or RLS and a union of age bands)."""
    rf = cal["risk_factors"]
    family = rf["family_history"]
    odds = lambda q: q / (1 - q)  # noqa: E731
    return {"neuropathy": float(rf["neuropathy"]["case_or"]),
            "family_history": float(odds(family["case_p"]) / odds(family["noncase_p"]))}


def practice_change_truth(cal: dict) -> dict:
    """First-line drug shares before and after the practice change, by drug and by class."""
    tr = cal["treatment"]
    change = tr["practice_change"]
    out = {"year": change["year"], "guideline": change["guideline"]}
    for when, share in (("before", tr["first_drug_share"]), ("after", change["first_drug_share_after"])):
        share = dict(zip(tr["drugs"], _norm(share).tolist()))
        out[f"first_drug_share_{when}"] = share
        out[f"dopamine_agonist_share_{when}"] = sum(share[d] for d in tr["dopamine_agonists"])
        out[f"dopaminergic_share_{when}"] = sum(share[d] for d in tr["dopaminergic"])
        out[f"alpha2delta_share_{when}"] = sum(share[d] for d in tr["alpha2delta"])
    return out


def _write_truth(path: Path, cal: dict, participants: int, seed: int, months: bool = False) -> None:
    """truth.json: the calibration, the run's inputs and the derived truths."""
    truth = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "participants": participants,
        "months": months,
        "chunk_size": CHUNK_SIZE,
        "calibration": cal,
        "derived": derived_truths(cal),
    }
    path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _publish(tmp: Path, out_dir: Path) -> None:
    """Move finished files into out_dir (the whole directory when it does not exist yet)."""
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    # Parquet first, metadata last: truth.json appearing marks a complete extract.
    for name in (*(f"{t}.parquet" for t in TABLES), "mapping.toml", "truth.json"):
        if (tmp / name).exists():
            os.replace(tmp / name, out_dir / name)
    shutil.rmtree(tmp)


def demo_mapping_text(months: bool = False) -> str:
    """The demo mapping (mapping.toml next to this module); with ``months`` it declares the extract a limited data
    set and each measure's month, so the measures can be shown by quarter and month."""
    text = MAPPING_PATH.read_text(encoding="utf-8")
    if not months:
        return text
    for anchor, added in ((SHAPE_LINE, LIMITED_LINE), (MEASURE_TIME_LINE, MEASURE_MONTH_LINE)):
        if anchor not in text:
            raise ValueError(f"mapping.toml has no line {anchor!r} to declare months after")
        text = text.replace(anchor, f"{anchor}\n{added}")
    return text


SHAPE_LINE = 'shape = "rls_extract"'
LIMITED_LINE = "limited_data_set = true            # months of treatment starts and labs (synthesize --months)"
MEASURE_TIME_LINE = 'time = "first_start_year"'
MEASURE_MONTH_LINE = 'month = "first_start_month"'


def _write_extract(tmp: Path, participants: int, seed: int, progress, months: bool = False) -> dict:
    """Write all tables chunk by chunk into tmp; return row counts."""
    cal, schemas = load_calibration(), load_table_schemas()
    meta = {b"demo_generator_version": GENERATOR_VERSION.encode(), b"demo_seed": str(seed).encode()}
    arrow = {t: arrow_schema(schemas[t]).with_metadata(meta) for t in TABLES}
    writers = {t: pq.ParquetWriter(tmp / f"{t}.parquet", arrow[t], compression=PARQUET_COMPRESSION) for t in TABLES}
    rows = dict.fromkeys(TABLES, 0)
    try:
        for index, first_id in enumerate(range(0, participants, CHUNK_SIZE)):
            n = min(CHUNK_SIZE, participants - first_id)
            chunk = functools.partial(_chunk_tables, months=True) if months else _chunk_tables
            tables = chunk(cal, schemas, arrow, np.random.default_rng([seed, index]), first_id, n)
            for t, table in tables.items():
                if table.num_rows:
                    writers[t].write_table(table, row_group_size=table.num_rows)
                rows[t] += table.num_rows
            if progress is not None:
                progress(first_id + n, participants)
    finally:
        for writer in writers.values():
            writer.close()
    _write_truth(tmp / "truth.json", cal, participants, seed, months)
    if MAPPING_PATH.exists():
        (tmp / "mapping.toml").write_text(demo_mapping_text(months), encoding="utf-8")
    return rows


def synthesize(
    participants: int, seed: int, out_dir: Path, progress: Callable[[int, int], None] | None = None,
    months: bool = False,
) -> dict:
    """Write the demo extract (three Parquet tables, truth.json, mapping.toml if present) to out_dir.

    Output depends only on (participants, seed, months). progress(done, total) is called after each chunk with
    participant counts. With ``months`` the extract is a limited data set: start_month and lab_month are filled
    (otherwise empty, as Safe Harbor keeps only years) and the mapping declares them. Returns {table: rows,
    "seconds": wall time}.
    """
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise ValueError(f"participants must be between 1 and {MAX_PARTICIPANTS}, got {participants}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    began = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; it may become out_dir itself
    try:
        rows = _write_extract(tmp, participants, seed, progress, months)
        _publish(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {**rows, "seconds": time.perf_counter() - began}
