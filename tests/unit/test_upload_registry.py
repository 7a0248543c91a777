"""The upload registry: opaque ids, expiry after the time to live (files removed), removal on leaving, shared files
kept while another id holds them, and the cap refused with a message."""

from __future__ import annotations

import pytest

from data_schema.upload_registry import UploadRegistry
from data_schema.uploads import FOLDER_PREFIX, UploadRefused


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _upload(tmp_path, name: str) -> tuple[str, None]:
    folder = tmp_path / f"{FOLDER_PREFIX}{name}"
    folder.mkdir()
    (folder / "cohort.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return str(folder / "cohort.csv"), None


def test_ids_are_opaque_and_look_up_their_paths(tmp_path):
    registry = UploadRegistry()
    paths = _upload(tmp_path, "one")
    first, second = registry.register(paths), registry.register(paths)
    assert first != second and len(first) >= 20 and "cohort" not in first and "one" not in first
    assert registry.lookup(first) == paths and registry.lookup("not-an-id") is None and registry.lookup(None) is None


def test_an_unused_upload_expires_and_its_files_go(tmp_path):
    clock = Clock()
    registry = UploadRegistry(ttl_seconds=60, clock=clock)
    paths = _upload(tmp_path, "old")
    upload_id = registry.register(paths)
    clock.now = 50
    assert registry.lookup(upload_id) == paths  # use restarts the clock
    clock.now = 100
    assert registry.lookup(upload_id) == paths
    clock.now = 161
    assert registry.lookup(upload_id) is None
    assert not (tmp_path / f"{FOLDER_PREFIX}old").exists()


def test_leaving_removes_the_files_unless_another_id_holds_them(tmp_path):
    registry = UploadRegistry()
    paths = _upload(tmp_path, "shared")
    mine, theirs = registry.register(paths), registry.register(paths)  # the same file, uploaded twice
    registry.remove(mine)
    assert registry.lookup(mine) is None and registry.lookup(theirs) == paths
    assert (tmp_path / f"{FOLDER_PREFIX}shared" / "cohort.csv").exists()
    registry.remove(theirs)
    assert not (tmp_path / f"{FOLDER_PREFIX}shared").exists()


def test_only_upload_folders_are_ever_deleted(tmp_path):
    other = tmp_path / "not-an-upload"
    other.mkdir()
    (other / "cohort.csv").write_text("x\n", encoding="utf-8")
    registry = UploadRegistry()
    registry.remove(registry.register((str(other / "cohort.csv"), None)))
    assert (other / "cohort.csv").exists()


def test_the_cap_is_refused_with_a_message_until_one_expires(tmp_path):
    clock = Clock()
    registry = UploadRegistry(ttl_seconds=60, max_uploads=2, clock=clock)
    registry.register(_upload(tmp_path, "a"))
    registry.register(_upload(tmp_path, "b"))
    with pytest.raises(UploadRefused, match="already holds 2 uploaded files"):
        registry.register(_upload(tmp_path, "c"))
    clock.now = 61
    assert registry.register((str(tmp_path / f"{FOLDER_PREFIX}c" / "cohort.csv"), None))
    assert len(registry) == 1


def test_the_deployment_sets_the_time_to_live_and_the_cap(tmp_path, monkeypatch):
    from deployment.settings import load_settings

    config = tmp_path / "dashboard.toml"
    config.write_text("[uploads]\nttl_minutes = 15\nmax_uploads = 3\n", encoding="utf-8")
    monkeypatch.setenv("RLS_DASHBOARD_CONFIG", str(config))
    settings = load_settings([])
    assert (settings.upload_ttl_minutes, settings.max_uploads) == (15, 3)
    config.write_text("[uploads]\nmax_uploads = 0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[uploads\] max_uploads .* at least 1"):
        load_settings([])
