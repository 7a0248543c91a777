"""The cohorts the attacks run on, filter states, and the ground truth.

Each cohort is opened the way the dashboard opens an in-memory cohort (``CohortEngine.open(path, mapping)``) and
comes with its *truth*: the participants re-read with pandas from the source files and mapped by hand to the
canonical roles (sex codes, 90+ top-coding, dropped invalid rows, the demo extract's derived treatment columns).
Only the test's judge reads the truth (``count``); the attacks in ``attacks.py`` read public outputs only.

A :class:`State` is one filter state of the sidebar (the URL query); :class:`Where` selects participants within a
state; a :class:`Target` is a signed sum of (state, where) counts — the count an attack tries to recover.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from queries.cohort import filter_options
from queries.engine import CohortEngine
from queries.filters import UNTREATED, FilterOptions

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "data" / "cohorts"
DAYS_PER_YEAR = 365.25
TOP_AGE = 90


# ------------------------------------------------------------------------------------------------------- filter states


@dataclass(frozen=True)
class State:
    """One sidebar filter state; ``None`` means the filter is at its default (everyone)."""

    sites: tuple[str, ...] | None = None
    sexes: tuple[str, ...] | None = None
    age: tuple[int, int] | None = None  # (low, high) on 5-year band edges
    years: tuple[int, int] | None = None
    drugs: tuple[str, ...] | None = None
    exclude: bool = False
    definition: str | None = None

    def query(self) -> str:
        """The URL query string (values percent-encoded, so a '+' in a drug name survives)."""
        parts = []
        if self.definition:
            parts.append(f"def={self.definition}")
        if self.sites is not None:
            parts.append("site=" + ",".join(quote(x, safe="") for x in self.sites))
        if self.sexes is not None:
            parts.append("sex=" + ",".join(self.sexes))
        if self.age is not None:
            parts.append(f"age={self.age[0]}-{self.age[1]}")
        if self.years is not None:
            parts.append(f"year={self.years[0]}-{self.years[1]}")
        if self.drugs is not None:
            parts.append("drug=" + ",".join(quote(d, safe="") for d in self.drugs))
        if self.exclude:
            parts.append("exclude=secondary")
        return "&".join(parts)

    def __str__(self) -> str:
        return self.query() or "(all)"


def narrowings(state: State, options: FilterOptions) -> list[tuple[str, State]]:
    """Every state one filter step narrower than ``state``: one site, sex or drug fewer, the lowest or highest age
    band or baseline year fewer, or the exclusion toggle on."""
    out = []
    sites = state.sites if state.sites is not None else options.sites
    if len(sites) >= 2:
        out += [(f"site -{s}", replace(state, sites=tuple(x for x in sites if x != s))) for s in sites]
    sexes = state.sexes if state.sexes is not None else options.sexes
    if len(sexes) == 2:
        out += [(f"sex {s}", replace(state, sexes=(s,))) for s in sexes]
    bands = options.age_bands
    if bands:
        lo, hi = state.age or (bands[0][0], bands[-1][1])
        inside = [b for b in bands if b[0] >= lo and b[1] <= hi]
        if len(inside) >= 2:
            out += [("age -low", replace(state, age=(inside[1][0], hi))),
                    ("age -high", replace(state, age=(lo, inside[-2][1])))]
    if options.years:
        lo, hi = state.years or (options.years[0], options.years[-1])
        if hi > lo:
            out += [("year -first", replace(state, years=(lo + 1, hi))),
                    ("year -last", replace(state, years=(lo, hi - 1)))]
    drugs = state.drugs if state.drugs is not None else options.drugs
    if len(drugs) >= 2:
        out += [(f"drug -{d}", replace(state, drugs=tuple(x for x in drugs if x != d))) for d in drugs]
    if options.exclusions and not state.exclude:
        out.append(("exclude", replace(state, exclude=True)))
    return out


# ----------------------------------------------------------------------------------------------------------- the truth


@dataclass(frozen=True)
class Where:
    """Participants of a state the target counts (all conditions must hold; ``None`` = no condition).

    ``outcome``: "case", "noncase", "known" or "unknown" of ``outcome_name``; ``sex_age``: sex and age known (the
    prevalence and odds-ratio denominators); ``usable``: with biomarker, follow-up time and event known, and treated
    where the mapping has a treatment role (biomarker-risk's default population, no adjusters);
    ``missing``/``present``: a canonical column is / is not null."""

    sex: str | None = None
    age: tuple[float, float] | None = None  # inclusive
    outcome_name: str | None = None
    outcome: str | None = None
    sex_age: bool = False
    usable: bool = False
    band: tuple[float, float] | None = None  # biomarker in [low, high)
    time: tuple[float, float] | None = None  # time_years in [low, high)
    event: bool | None = None
    missing: str | None = None
    present: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """A count the attacker tries to recover: sum of sign × (participants of state that ``where`` selects)."""

    terms: tuple[tuple[State, int], ...]
    where: Where = field(default_factory=Where)

    @staticmethod
    def of(state: State, where: Where = Where()) -> "Target":
        return Target(((state, 1),), where)

    @staticmethod
    def diff(a: State, b: State, where: Where = Where()) -> "Target":
        return Target(((a, 1), (b, -1)), where)


class Truth:
    """The canonical participants, re-read with pandas (the judge's data; never given to an attack)."""

    def __init__(self, frame: pd.DataFrame, options: FilterOptions, treated_only: bool = True):
        self.frame = frame
        self.options = options
        self.treated_only = treated_only  # biomarker risk's default population: the treated where a role exists
        self._masks: dict[State, np.ndarray] = {}
        self._wheres: dict[Where, np.ndarray] = {}
        self._parts: dict = {}

    def mask(self, state: State) -> np.ndarray:
        """Participants the state's filters keep (each filter's part cached by its value)."""
        if state not in self._masks:
            keep = np.ones(len(self.frame), dtype=bool)
            for part in ("sites", "sexes", "age", "years", "drugs", "exclude"):
                value = getattr(state, part)
                if value is not None and value is not False:
                    if (part, value) not in self._parts:
                        self._parts[(part, value)] = self._part(part, value)
                    keep &= self._parts[(part, value)]
            self._masks[state] = keep
        return self._masks[state]

    def _part(self, part: str, value) -> np.ndarray:
        f = self.frame
        if part == "sites":
            return f["site"].isin(value).to_numpy()
        if part == "sexes":
            return f["sex"].isin(value).to_numpy()
        if part in ("age", "years"):
            column = f["age" if part == "age" else "baseline_year"]
            return column.between(*value).fillna(False).to_numpy(dtype=bool)
        if part == "drugs":
            hit = f["treatment"].isin([d for d in value if d != UNTREATED]).to_numpy().copy()
            if UNTREATED in value:
                hit |= f["treatment"].isna().to_numpy()
            return hit
        keep = np.ones(len(f), dtype=bool)  # exclude: none of the mapped secondary causes
        for name in self.options.exclusions:
            keep &= ~f[f"exclude_{name}"].fillna(False).to_numpy(dtype=bool)
        return keep

    def arrays(self, outcome: str) -> dict[str, np.ndarray]:
        """Numpy columns for fast counting: age, male, sex and age known, outcome known, case."""
        if ("arrays", outcome) not in self._parts:
            f = self.frame
            value = f[f"outcome_{outcome}"]
            self._parts[("arrays", outcome)] = {
                "age": f["age"].to_numpy(dtype=float), "male": (f["sex"] == "male").to_numpy(dtype=bool),
                "sex_age": (f["sex"].isin(("female", "male")) & f["age"].notna()).to_numpy(dtype=bool),
                "known": value.notna().to_numpy(dtype=bool), "case": value.fillna(False).to_numpy(dtype=bool)}
        return self._parts[("arrays", outcome)]

    def members(self, target: Target) -> bytes:
        """A fingerprint of the participants a target counts (signed membership): attempts on the same
        participants share it."""
        selected = self.where(target.where)
        v = np.zeros(len(self.frame), dtype=np.int8)
        for state, sign in target.terms:
            v += (sign * (self.mask(state) & selected)).astype(np.int8)
        return hashlib.sha1(v.tobytes()).digest()

    def where(self, where: Where) -> np.ndarray:
        if where not in self._wheres:
            self._wheres[where] = self._where(where)
        return self._wheres[where]

    def _where(self, where: Where) -> np.ndarray:
        f, keep = self.frame, np.ones(len(self.frame), dtype=bool)
        if where.sex is not None:
            keep &= (f["sex"] == where.sex).fillna(False).to_numpy(dtype=bool)
        if where.age is not None:
            keep &= f["age"].between(*where.age).fillna(False).to_numpy(dtype=bool)
        if where.sex_age:
            keep &= f["sex"].isin(("female", "male")).to_numpy() & f["age"].notna().to_numpy()
        if where.outcome is not None:
            value = f[f"outcome_{where.outcome_name}"]
            known = value.notna().to_numpy()
            true = value.fillna(False).to_numpy(dtype=bool)
            keep &= {"case": true, "noncase": known & ~true, "known": known, "unknown": ~known}[where.outcome]
        if where.usable:
            treated = f["treatment"].notna() if self.treated_only else True
            keep &= (treated & f["biomarker"].notna() & (f["biomarker"] > 0) & f["time_years"].notna()
                     & (f["time_years"] >= 0) & f["event"].notna()).to_numpy(dtype=bool)
        if where.band is not None:
            keep &= ((f["biomarker"] >= where.band[0]) & (f["biomarker"] < where.band[1])).fillna(False).to_numpy(bool)
        if where.time is not None:
            keep &= ((f["time_years"] >= where.time[0])
                     & (f["time_years"] < where.time[1])).fillna(False).to_numpy(bool)
        if where.event is not None:
            keep &= (f["event"].fillna(not where.event).astype(bool) == where.event).to_numpy()
        if where.missing is not None:
            keep &= f[where.missing].isna().to_numpy()
        for column in where.present:
            keep &= f[column].notna().to_numpy()
        return keep

    def count(self, target: Target) -> int:
        selected = self.where(target.where)
        return int(sum(sign * int(np.count_nonzero(self.mask(state) & selected)) for state, sign in target.terms))


# --------------------------------------------------------------------------------------------------------- the cohorts


@dataclass
class Cohort:
    name: str
    engine: CohortEngine
    options: FilterOptions
    truth: Truth
    source: Path  # the data path given to CohortEngine.open
    mapping: Path | None = None
    notes: dict = field(default_factory=dict)

    @property
    def has_biomarker_risk(self) -> bool:
        m = self.engine.info.mapping
        return m.biomarker is not None and m.time_to_event is not None

    @property
    def outcome(self) -> str:
        return next(iter(self.engine.info.mapping.outcomes))


def _binary(values: pd.Series, positive) -> pd.Series:
    out = values.isin(positive).astype("boolean")
    out[values.isna()] = pd.NA
    return out


def demo_truth(folder: Path) -> pd.DataFrame:
    """The demo extract's participants with the derived treatment columns (``data_schema.derivation`` in pandas)."""
    p = pd.read_parquet(folder / "participants.parquet")
    labs = pd.read_parquet(folder / "ferritin_labs.parquet")
    tr = pd.read_parquet(folder / "treatments.parquet")
    first = tr.sort_values(["participant_id", "start_day", "episode"]).groupby("participant_id").head(1).copy()
    censor = np.minimum(first["stop_day"].fillna(first["end_of_followup_day"]), first["end_of_followup_day"])
    first["days"] = np.where(first["augmented"] == 1, first["augmentation_day"], censor) - first["start_day"]

    def latest(anchor: pd.DataFrame) -> pd.Series:
        j = labs.merge(anchor, on="participant_id")
        j = j[(j["lab_day"] <= j["anchor"]) & (j["lab_day"] >= j["anchor"] - 365)]
        j = j[j["lab_day"] == j.groupby("participant_id")["lab_day"].transform("max")]
        return j.groupby("participant_id")["ferritin"].mean()

    at_start = latest(first[["participant_id"]].assign(anchor=first["start_day"].to_numpy()))
    at_baseline = latest(p[["participant_id"]].assign(anchor=0))
    first = first.set_index("participant_id")
    pid = p["participant_id"]
    out = pd.DataFrame({
        "pid": pid, "site": p["site"], "sex": p["sex"].map({"F": "female", "M": "male"}),
        "age": p["age"].clip(upper=TOP_AGE), "baseline_year": p["baseline_year"],
        "outcome_rls": _binary(p["rls_irlssg"], [1]),
        "outcome_rls_clinsig": _binary(p["rls_clinically_significant"], [1]),
        "exclude_pregnancy": _binary(p["pregnant"], [1]),
        "exclude_kidney": _binary(p["kidney_disease"], ["ckd", "dialysis"]),
        "exclude_iron_deficiency": _binary(p["iron_deficiency_anaemia"], [1]),
        "exclude_antidepressant": _binary(p["antidepressant"], [1]),
        "treatment": pid.map(first["drug"]),
        "biomarker": pid.map(at_start),
        "time_years": pid.map(first["days"]) / DAYS_PER_YEAR,
        "event": pid.map(first["augmented"] == 1).astype("boolean"),
        "cov_ferritin_at_baseline": pid.map(at_baseline),
        "cov_irls_score": p["irls_score"], "cov_parity": p["parity"], "cov_plms_index": p["plms_index"],
        "cov_egfr": p["egfr"], "cov_bmi_group": p["bmi_group"],
    })
    return out


def flchain_truth(path: Path) -> pd.DataFrame:
    d = pd.read_csv(path)
    return pd.DataFrame({
        "pid": np.arange(1, len(d) + 1).astype(str), "site": None, "sex": d["sex"].map({"F": "female", "M": "male"}),
        "age": d["age"].clip(upper=TOP_AGE), "baseline_year": d["sample.yr"],
        "outcome_mgus": _binary(d["mgus"], [1]), "outcome_death": _binary(d["death"], [1]),
        "treatment": None, "biomarker": d["kappa"], "time_years": d["futime"] / DAYS_PER_YEAR,
        "event": _binary(d["death"], [1]),
        "cov_lambda": d["lambda"], "cov_creatinine": d["creatinine"], "cov_flc_grp": d["flc.grp"],
        "cov_chapter": d["chapter"],
    })


def colon_truth(path: Path) -> pd.DataFrame:
    d = pd.read_csv(path)
    d = d[~(d["nodes"] <= 0)]  # the biomarker role's plausible range: those rows are dropped (invalid_rows = "drop")
    treatment = d["rx"].where(d["rx"] != "Obs")
    return pd.DataFrame({
        "pid": d["id"].astype(str), "site": None, "sex": d["sex"].map({0: "female", 1: "male"}), "age": d["age"],
        "baseline_year": np.nan, "outcome_death": _binary(d["status"], [1]),
        "outcome_poor_differentiation": _binary(d["differ"], [3]),
        "exclude_obstruct": _binary(d["obstruct"], [1]), "exclude_perfor": _binary(d["perfor"], [1]),
        "exclude_adhere": _binary(d["adhere"], [1]),
        "treatment": treatment, "biomarker": d["nodes"], "time_years": d["time"] / DAYS_PER_YEAR,
        "event": _binary(d["status"], [1]),
        "cov_differ": d["differ"], "cov_extent": d["extent"], "cov_surg": d["surg"], "cov_node4": d["node4"],
        "cov_nodes": d["nodes"],
    }).reset_index(drop=True)


def nafld1_truth(path: Path) -> pd.DataFrame:
    d = pd.read_csv(path)
    return pd.DataFrame({
        "pid": d["id"].astype(str), "site": None, "sex": d["male"].map({0: "female", 1: "male"}),
        "age": d["age"].clip(upper=TOP_AGE), "baseline_year": np.nan, "outcome_death": _binary(d["status"], [1]),
        "treatment": None, "biomarker": np.nan, "time_years": d["futime"] / DAYS_PER_YEAR,
        "event": _binary(d["status"], [1]),
        "cov_bmi": d["bmi"], "cov_weight": d["weight"], "cov_height": d["height"],
    })


# colon's differentiation grade as a second outcome ("poorly differentiated", grade 3): 23 patients have no grade,
# so "Outcome known" differs from N — the one real cohort whose roles can carry attack 8.
COLON_VARIANT_OUTCOME = """
[outcomes.poor_differentiation]
column = "differ"
positive = [3]
label = "Poorly differentiated tumour (grade 3)"
"""


def colon_variant_mapping(folder: Path) -> Path:
    """colon's own mapping plus a second outcome with unknown values (written to ``folder``)."""
    text = (REAL / "colon" / "mapping.toml").read_text(encoding="utf-8")
    head, sep, rest = text.partition("[biomarker]")
    path = folder / "colon_variant.toml"
    path.write_text(head + COLON_VARIANT_OUTCOME.lstrip() + "\n" + sep + rest, encoding="utf-8")
    return path


def open_cohort(name: str, data: Path, mapping: Path | None, frame: pd.DataFrame,
                engine: CohortEngine | None = None) -> Cohort:
    engine = engine or CohortEngine.open(data, mapping)
    options = filter_options(engine)
    treated_only = engine.info.mapping.treatment is not None
    return Cohort(name, engine, options, Truth(frame, options, treated_only), data, mapping)


def real_cohort(name: str, mapping: Path | None = None) -> Cohort:
    csv = REAL / name / f"{name}.csv"
    frame = {"flchain": flchain_truth, "colon": colon_truth, "nafld1": nafld1_truth}[name](csv)
    return open_cohort(name, csv, mapping or REAL / name / "mapping.toml", frame)
