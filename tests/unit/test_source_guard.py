"""The source guard itself: a changed or removed guarded file is detected (the suite's end check relies on it)."""

from __future__ import annotations

from tests.conftest import GUARDED_FOLDERS, SOURCE_HASHES, changed_sources, guard_sources


def test_guard_detects_a_changed_a_removed_and_an_added_file(tmp_path):
    kept, edited, removed = (tmp_path / name for name in ("kept.csv", "edited.csv", "removed.csv"))
    for path in (kept, edited, removed):
        path.write_text("participant_id,age\n1,40\n")
    guard_sources(tmp_path)
    try:
        edited.write_text("participant_id,age\n1,41\n")
        removed.unlink()
        added = tmp_path / "report.html"
        added.write_text("<html></html>")
        assert set(changed_sources()) >= {edited, removed, added} and kept not in changed_sources()
    finally:
        GUARDED_FOLDERS.discard(tmp_path)
        for path in (kept, edited, removed):
            SOURCE_HASHES.pop(path)


def test_the_suites_sources_are_guarded(demo_dir):
    guarded = {p.parent for p in SOURCE_HASHES}
    assert demo_dir in guarded or any(demo_dir in p.parents for p in SOURCE_HASHES)
    assert any(p.suffix == ".csv" and "reference" in p.parts for p in SOURCE_HASHES)
