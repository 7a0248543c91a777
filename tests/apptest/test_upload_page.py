"""Data page, "Analyse your own file": AppTest (1.67) drives st.file_uploader, so the real panel is exercised —
a checked upload replaces the configured cohort for this session only, refusals and load failures show a message
and change nothing, and "Back to the configured cohort" restores it."""

from __future__ import annotations

import gzip
import tempfile

import pytest

from dashboard import source, upload
from data_schema.uploads import UploadLimits
from queries import cohort, filters
from queries.engine import CohortEngine
from tests.apptest.conftest import CELL_KEY, metric
from tests.conftest import ROOT

COHORT = ROOT / "tests" / "reference" / "data" / "demo_cohort.csv"
MAPPING = COHORT.with_suffix(".toml")
SENTINEL = "SENTINEL_UPLOAD_5150"
DATA_PAGE = "views/data.py"


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    """Uploads go to this test's folder instead of the machine's temporary folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def submit(at, name: str, content: bytes, mapping: bytes | None = None):
    at.file_uploader(key="upload_data").upload(name, content)
    if mapping is not None:
        at.file_uploader(key="upload_mapping").upload("demo_cohort.toml", mapping)
    at.run()
    at.button(key="upload_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def page_text(at) -> str:
    return " ".join(e.value for kind in ("markdown", "error", "info", "caption", "warning") for e in at.get(kind))


def test_an_upload_replaces_the_cohort_for_this_session_only(app, engine, private_tmp):
    at = submit(app({"site": "A,B", "sex": "female"}, page=DATA_PAGE), "demo_cohort.csv.gz",
                gzip.compress(COHORT.read_bytes()), MAPPING.read_bytes())
    uploaded = CohortEngine.open(COHORT, MAPPING)
    expected = uploaded.info
    data_path, mapping_path = at.session_state[source.UPLOADED_COHORT]
    assert data_path.startswith(str(private_tmp)) and mapping_path.endswith("demo_cohort.toml")
    assert not at.error
    assert "**Source:** demo_cohort.csv" in at.markdown[0].value and expected.data_hash in at.markdown[0].value
    assert any("analyses the uploaded file" in i.value for i in at.info)
    at.switch_page("views/overview.py").run()
    options = cohort.filter_options(uploaded)
    released = cohort.outcome_counts(uploaded, filters.default_state(options), options, CELL_KEY)["n"]
    assert metric(at, "Participants") == f"{released:,}"  # the whole upload, released (default cell-key mode)
    assert abs(released - expected.load.n_participants) <= 3
    assert not at.exception

    other_session = app(page=DATA_PAGE)
    assert engine.info.data_hash in other_session.markdown[0].value

    at.switch_page(DATA_PAGE).run()
    at.button(key="upload_back").click().run()
    assert source.UPLOADED_COHORT not in at.session_state
    assert engine.info.data_hash in at.markdown[0].value and not at.exception


@pytest.mark.parametrize("name, content, says", [
    ("cohort.csv", b"PAR1" + SENTINEL.encode() + b"PAR1", "named .csv but its content is Parquet"),
    ("cohort.csv", f"participant_id,sex\nP1,{SENTINEL}\x00\n".encode(), "NUL byte"),
    ("cohort.zip", b"PK\x03\x04" + SENTINEL.encode(), "damaged or truncated"),
])
def test_a_refused_upload_shows_why_and_changes_nothing(app, engine, name, content, says):
    at = submit(app(page=DATA_PAGE), name, content)
    assert any(says in e.value for e in at.error), [e.value for e in at.error]
    assert source.UPLOADED_COHORT not in at.session_state
    assert engine.info.data_hash in at.markdown[0].value
    assert SENTINEL not in page_text(at) and "Traceback" not in page_text(at)


def test_a_file_the_loader_refuses_shows_the_report(app, engine):
    rows = "participant_id,sex,age\n" + "".join(f"P{i},F,{SENTINEL}\n" for i in range(20))
    at = submit(app(page=DATA_PAGE), "cohort.csv", rows.encode())
    assert any("cohort.csv:" in e.value and "age" in e.value for e in at.error), [e.value for e in at.error]
    assert source.UPLOADED_COHORT not in at.session_state
    assert SENTINEL not in page_text(at)


def test_the_handler_without_widgets():
    """``upload.accept``: refusal, load failure and success, each as the page would show it."""
    caps = UploadLimits(max_bytes=50 * 1024 * 1024)
    refusal = upload.accept("cohort.parquet", b"a,b\n1,2\n", caps=caps)
    assert refusal.paths is None and "named .parquet" in refusal.errors[0]
    failure = upload.accept("cohort.csv", b"participant_id,sex,age\nP1,F,40\n", "m.toml",
                            b'[columns]\nsex = "gender"\n', caps=caps)
    assert failure.paths is None and any("gender" in e for e in failure.errors)
    success = upload.accept("demo_cohort.csv", COHORT.read_bytes(), "demo_cohort.toml", MAPPING.read_bytes(), caps)
    assert not success.errors and success.paths[0].endswith("demo_cohort.csv")
    assert source.open_engine(*success.paths).info.data_hash == CohortEngine.open(COHORT, MAPPING).info.data_hash


FLCHAIN = ROOT / "tests" / "data" / "cohorts" / "flchain"


def test_an_upload_brings_its_own_filters_and_survives_a_reload(app, engine):
    """flchain (no site, no treatment, its own outcomes): the sidebar, case definition and pages follow the upload;
    the URL carries an opaque id, so a reload (a new session with that URL) finds the upload again."""
    at = submit(app({"site": "A"}, page=DATA_PAGE), "flchain.csv", (FLCHAIN / "flchain.csv").read_bytes())
    at.file_uploader(key="upload_mapping").upload("mapping.toml", (FLCHAIN / "mapping.toml").read_bytes())
    at.run()
    at.button(key="upload_go").click().run()
    upload_id = at.query_params[source.UPLOAD_KEY]
    upload_id = upload_id[0] if isinstance(upload_id, list) else upload_id
    assert upload_id and "flchain" not in upload_id and "site" not in at.query_params
    at.switch_page("views/overview.py").run()
    assert not at.exception
    case_definition = [s for s in at.sidebar.selectbox if s.label == "Case definition"][0]
    assert "Death during follow-up" in case_definition.options
    assert not [m for m in at.sidebar.multiselect if m.label == "Site"]  # flchain has no site column

    reloaded = app({source.UPLOAD_KEY: upload_id}, page="views/overview.py")
    assert reloaded.session_state[source.UPLOADED_COHORT][0].endswith("flchain.csv")
    assert [s for s in reloaded.sidebar.selectbox if s.label == "Case definition"][0].options == \
        case_definition.options
    reloaded.switch_page("views/ferritin_augmentation.py").run()  # biomarker risk in everyone: no treatment role
    assert not reloaded.exception and not reloaded.error

    at.switch_page(DATA_PAGE).run()
    at.button(key="upload_back").click().run()  # leaving removes the upload: its link no longer finds it
    gone = app({source.UPLOAD_KEY: upload_id})  # a reload lands on the link's page in one run: the Overview here
    assert any("was removed" in w.value for w in gone.warning)
    assert source.UPLOADED_COHORT not in gone.session_state
    gone.switch_page(DATA_PAGE).run()
    assert engine.info.data_hash in gone.markdown[0].value


def test_an_unknown_upload_id_shows_the_configured_cohort_with_a_warning(app, engine):
    at = app({source.UPLOAD_KEY: "no-such-upload"})
    assert any("was removed" in w.value for w in at.warning)
    assert source.UPLOAD_KEY not in at.query_params
    at.switch_page(DATA_PAGE).run()
    assert engine.info.data_hash in at.markdown[0].value
