"""``[measures.NAME]`` in the mapping: parsing, defaults, and one clear message (naming the key) per mistake."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data_schema.mapping import BinaryColumn, Mapping, MappingError, load_mapping, parse_mapping  # noqa: E402

DEMO = ROOT / "data_schema" / "demo" / "mapping.toml"
FLCHAIN = ROOT / "tests" / "data" / "cohorts" / "flchain" / "mapping.toml"
HEAD = '[columns]\nbaseline_year = "year"\n[outcomes.rls]\ncolumn = "rls_col"\npositive = ["yes"]\n'


def parse(text: str) -> Mapping:
    return parse_mapping(text, Path("/cohort"), "m.toml")


def error(text: str) -> str:
    with pytest.raises(MappingError) as exc:
        parse(text)
    message = str(exc.value)
    assert message.startswith("Mapping file m.toml") and "Traceback" not in message
    return message


def measure(body: str, head: str = HEAD) -> str:
    return f'{head}[measures.m]\n{body}\n'


def test_a_proportion_over_a_role_with_defaults():
    m = parse(measure('outcome = "rls"\ntime = "baseline_year"\ndirection = "down"')).measures["m"]
    assert m.outcome == BinaryColumn("rls", "rls_col", ("yes",), "rls")  # an [outcomes] name: its column and codes
    assert m.time == "year"  # the role's column
    assert (m.denominator, m.month, m.target, m.person_time, m.label) == (None, None, None, None, "m")
    assert m.kind == "proportion" and m.periods == ("year",) and m.direction == "down"
    assert m.source_columns() == {"rls_col", "year"}


def test_columns_inline_flags_population_target_and_label():
    m = parse(measure('label = "Ferritin checked"\noutcome = "checked"\ntime = "start_year"\ndirection = "up"\n'
                      'denominator = { column = "first_drug", positive = ["pramipexole", "ropinirole"] }\n'
                      'target = 0.9')).measures["m"]
    assert m.outcome == BinaryColumn("outcome", "checked", (1,), "checked")  # a column read as 1 = yes
    assert m.denominator == BinaryColumn("denominator", "first_drug", ("pramipexole", "ropinirole"), "denominator")
    assert (m.time, m.target, m.label) == ("start_year", 0.9, "Ferritin checked")
    assert parse(measure('outcome = "x"\ntime = "t"\ndirection = "up"\ndenominator = "all"')).measures["m"] \
        .denominator is None
    assert parse(measure('outcome = "x"\ntime = "t"\ndirection = "up"\ndenominator = "rls"')).measures["m"] \
        .denominator.column == "rls_col"


def test_a_rate_per_person_time():
    m = parse(measure('outcome = "death"\ntime = "t"\ndirection = "down"\nperson_time = "futime"\n'
                      'person_time_unit = "years"\nper = 1000\ntarget = 2.5')).measures["m"]
    assert m.kind == "rate" and (m.person_time, m.person_time_unit, m.per, m.target) == ("futime", "years", 1000, 2.5)
    assert parse(measure('outcome = "d"\ntime = "t"\ndirection = "down"\nperson_time = "f"')).measures["m"] \
        .person_time_unit == "days"
    assert "futime" in parse(measure('outcome = "d"\ntime = "t"\ndirection = "down"\nperson_time = "futime"')) \
        .source_columns()


def test_months_need_a_declared_limited_data_set():
    body = 'outcome = "x"\ntime = "t"\nmonth = "t_month"\ndirection = "up"'
    message = error(measure(body))
    assert "key 'measures.m.month'" in message and "limited_data_set = true" in message
    assert "Safe Harbor" in message
    m = parse(measure(body, '[source]\nlimited_data_set = true\n')).measures["m"]
    assert m.month == "t_month" and m.periods == ("year", "quarter", "month")
    assert parse('[source]\nlimited_data_set = true\n').limited_data_set is True
    assert parse("").limited_data_set is False


@pytest.mark.parametrize("body,key,rule", [
    ('time = "t"\ndirection = "up"', "measures.m.outcome", "is required"),
    ('outcome = "x"\ndirection = "up"', "measures.m.time", "is required"),
    ('outcome = "x"\ntime = "t"', "measures.m.direction", "is required"),
    ('outcome = "x"\ntime = "t"\ndirection = "higher"', "measures.m.direction", "'up' or 'down'"),
    ('outcome = 1\ntime = "t"\ndirection = "up"', "measures.m.outcome", "must be a string or a table"),
    ('outcome = ""\ntime = "t"\ndirection = "up"', "measures.m.outcome", "column name of 1-128"),
    ('outcome = { column = "x", positive = [] }\ntime = "t"\ndirection = "up"', "measures.m.outcome.positive",
     "at least one value"),
    ('outcome = { column = "x", codes = [1] }\ntime = "t"\ndirection = "up"', "measures.m.outcome.codes",
     "is not a known key"),
    ('outcome = { positive = [1] }\ntime = "t"\ndirection = "up"', "measures.m.outcome.column", "is required"),
    ('outcome = "x"\ntime = 2020\ndirection = "up"', "measures.m.time", "must be a string"),
    ('outcome = "x"\ntime = "age"\ndirection = "up"', "measures.m.time", "not a calendar time"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\ndenominator = 3', "measures.m.denominator",
     "must be a string or a table"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\ntarget = 1.5', "measures.m.target", "proportion between 0 and 1"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\ntarget = "90%"', "measures.m.target", "finite number"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\ntarget = nan', "measures.m.target", "finite number"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\ntarget = true', "measures.m.target", "finite number"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\nperson_time = "f"\ntarget = -1', "measures.m.target",
     "rate per 100 person-years of 0 or more"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\nperson_time = "f"\nperson_time_unit = "weeks"',
     "measures.m.person_time_unit", "days, months or years"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\nperson_time_unit = "days"', "measures.m.person_time_unit",
     "needs person_time"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\nper = 100', "measures.m.per", "needs person_time"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\nperson_time = "f"\nper = 7', "measures.m.per",
     "1, 10, 100, 1000"),
    ('outcome = "x"\ntime = "t"\ndirection = "up"\nnumerator = "y"', "measures.m.numerator", "is not a known key"),
])
def test_mistakes_are_named_by_key(body, key, rule):
    message = error(measure(body))
    assert f"key '{key}'" in message and rule in message


def test_the_baseline_year_role_must_be_bound():
    message = error('[measures.m]\noutcome = "x"\ntime = "baseline_year"\ndirection = "up"\n')
    assert "key 'measures.m.time'" in message and "[columns] does not bind" in message


@pytest.mark.parametrize("name", ["M", "2nd", "a-b", "a" * 41])
def test_bad_measure_names_are_refused(name):
    message = error(f'[measures."{name}"]\noutcome = "x"\ntime = "t"\ndirection = "up"\n')
    assert f"key 'measures.{name}'" in message and "lower-case letters" in message


def test_measures_must_be_tables():
    assert "key 'measures.m'" in error('[measures]\nm = "x"\n') and "must be a table" in error('[measures]\nm = "x"\n')
    assert "key 'source.limited'" in error('[source]\nlimited = true\n')
    assert "must be true or false" in error('[source]\nlimited_data_set = "yes"\n')


def test_messages_quote_no_data_value_but_keys():
    # a target outside its range is named by key; the value itself is not echoed back
    message = error(measure('outcome = "x"\ntime = "t"\ndirection = "up"\ntarget = 123.456'))
    assert "123.456" not in message


def test_demo_mapping_declares_the_guideline_measures():
    m = load_mapping(DEMO)
    assert set(m.measures) == {"ferritin_before_dopaminergic", "first_line_alpha2delta_or_iron",
                               "augmentation_within_2y", "augmentation_rate"}
    assert {x.time for x in m.measures.values()} == {"first_start_year"}
    assert m.measures["augmentation_rate"].kind == "rate" and m.measures["augmentation_rate"].person_time_unit == "days"
    assert m.measures["ferritin_before_dopaminergic"].denominator.column == "first_start_dopaminergic"
    assert {n: x.direction for n, x in m.measures.items()} == {
        "ferritin_before_dopaminergic": "up", "first_line_alpha2delta_or_iron": "up",
        "augmentation_within_2y": "down", "augmentation_rate": "down"}
    assert not m.limited_data_set and all(x.month is None for x in m.measures.values())


def test_demo_mapping_with_months_declares_a_limited_data_set():
    from data_schema.demo.generator import demo_mapping_text

    assert demo_mapping_text(False) == DEMO.read_text(encoding="utf-8")
    m = parse_mapping(demo_mapping_text(True), DEMO.parent, "mapping.toml")
    assert m.limited_data_set and {x.month for x in m.measures.values()} == {"first_start_month"}


def test_flchain_mapping_declares_measures_by_sample_year():
    m = load_mapping(FLCHAIN)
    assert m.measures["mgus_detected"].time == "sample.yr" and m.measures["mgus_detected"].kind == "proportion"
    assert m.measures["mgus_detected"].outcome.column == "mgus"
    assert m.measures["deaths"].kind == "rate" and m.measures["deaths"].person_time == "futime"


def test_the_readme_mapping_example_parses_with_its_measures():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### The mapping file (TOML)"):]
    block = section[section.index("```toml") + len("```toml"):]
    m = parse(block[:block.index("```")])
    assert m.measures["rls_by_year"].outcome.column == "rls_irlssg" and m.measures["rls_by_year"].denominator is None
    assert m.measures["deaths"].kind == "rate" and m.measures["deaths"].per == 100
