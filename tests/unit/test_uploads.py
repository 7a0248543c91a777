"""Upload checks (data_schema.uploads): every refusal with a clear message that quotes no content, bombs stopped
early in bounded memory, the private atomic folder, and accepted uploads loading exactly like the original file."""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from data_schema.uploads import (MB, UploadLimits, UploadRefused, check_mapping, check_upload, private_folder,
                                 sniff)
from queries.engine import CohortEngine
from tests.conftest import ROOT

COHORT = ROOT / "tests" / "reference" / "data" / "demo_cohort.csv"
MAPPING = COHORT.with_suffix(".toml")
SENTINEL = "SENTINEL_UPLOAD_4711"
CSV = COHORT.read_bytes()
TOML = MAPPING.read_bytes()
SMALL = f"participant_id,sex,age\nP1,F,{SENTINEL}\nP2,M,40\n".encode()


def zipped(members: dict[str, bytes], attrs: dict[str, int] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (attrs or {}).get(name, 0o644 << 16)
            zf.writestr(info, data)
    return buf.getvalue()


def central_field(archive: bytes, offset: int, fmt: str, value: int) -> bytes:
    """The archive with one field of its (single) central directory entry overwritten."""
    at = archive.rindex(b"PK\x01\x02") + offset
    return archive[:at] + struct.pack(fmt, value) + archive[at + struct.calcsize(fmt):]


def refused(tmp_path: Path, name: str, content: bytes, *, mapping: bytes | None = None, limits=UploadLimits(),
            says: str) -> str:
    with pytest.raises(UploadRefused) as info:
        check_upload(name, content, "m.toml" if mapping is not None else None, mapping, limits, root=tmp_path)
    message = str(info.value)
    assert says in message
    assert SENTINEL not in message and "Traceback" not in message
    assert not list(tmp_path.iterdir()), "a refused upload left a folder or a partial file"
    return message


# --- refusals -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cohort.txt", "cohort.xlsx", "cohort.gz", ".csv", "cohort"])
def test_names_other_than_the_four_kinds_are_refused(tmp_path, name):
    refused(tmp_path, name, SMALL, says="must end in .csv, .parquet, .csv.gz or .zip")


def test_empty_file(tmp_path):
    refused(tmp_path, "a.csv", b"", says="empty (0 bytes)")


def test_oversize_upload(tmp_path):
    refused(tmp_path, "a.csv", CSV, limits=UploadLimits(max_bytes=100 * 1024), says="larger than the 100 KiB limit")


def test_oversize_once_unpacked(tmp_path):
    packed = gzip.compress(CSV)
    assert len(packed) < 100_000 < len(CSV)
    refused(tmp_path, "a.csv.gz", packed, limits=UploadLimits(max_bytes=100_000), says="Unpacked, the file is larger")


@pytest.mark.parametrize("name, content, says", [
    ("a.csv", b"PAR1" + SENTINEL.encode() + b"PAR1", "named .csv but its content is Parquet; if it is the right "
                                                      "file, name it .parquet"),
    ("a.csv", gzip.compress(SMALL), "named .csv but its content is gzip-compressed; if it is the right file, name it "
                                    ".csv.gz"),
    ("a.csv", zipped({"a.csv": SMALL}), "named .csv but its content is a zip archive"),
    ("a.parquet", SMALL, "named .parquet but its content is text (CSV); if it is the right file, name it .csv"),
    ("a.parquet", b"PAR1" + SENTINEL.encode(), "incomplete Parquet file"),
    ("a.csv.gz", SMALL, "named .csv.gz but its content is text"),
    ("a.zip", gzip.compress(SMALL), "named .zip but its content is gzip-compressed"),
    ("a.csv", b"BZh91AY&SY" + SENTINEL.encode(), "another kind of archive"),
])
def test_content_must_agree_with_the_name(tmp_path, name, content, says):
    refused(tmp_path, name, content, says=says)


def test_parquet_with_a_damaged_footer(tmp_path):
    refused(tmp_path, "a.parquet", b"PAR1" + SENTINEL.encode() * 3 + b"\x10\x00\x00\x00PAR1",
            says="footer cannot be read")


def test_nul_bytes(tmp_path):
    refused(tmp_path, "a.csv", f"participant_id,sex\nP1,{SENTINEL}\x00\n".encode(), says="NUL byte (at byte 43)")


def test_not_utf8(tmp_path):
    refused(tmp_path, "a.csv", f"participant_id,sex\nP1,{SENTINEL}é\n".encode("latin-1"), says="not UTF-8 text")


def test_utf8_cut_in_the_middle_of_a_character(tmp_path):
    refused(tmp_path, "a.csv", "participant_id,sex\nP1,é".encode()[:-1], says="ends in the middle of a UTF-8")


@pytest.mark.parametrize("content, says", [
    (f"\n{SENTINEL},b\n".encode(), "first line is empty"),
    (f"{SENTINEL};sex;age\nP1;F;40\n".encode(), "does not split into columns on commas"),
    (b"1,2,3\n4,5,6\n", "holds only numbers"),
    (f"a,b,c\n{SENTINEL};F;40\nP2;M;41\n".encode(), "None of the first 2 lines after the header has the header's 3 "
                                                    "fields when split on commas"),
])
def test_header_must_look_like_a_header(tmp_path, content, says):
    refused(tmp_path, "a.csv", content, says=says)


def test_declared_delimiter_is_the_one_checked(tmp_path):
    mapping = b'[source]\ndelimiter = ";"\n'
    refused(tmp_path, "a.csv", SMALL, mapping=mapping, says="on semicolons")
    ok = check_upload("a.csv", SMALL.replace(b",", b";"), "m.toml", mapping, root=tmp_path)
    assert ok.format == "csv"


def test_gzip_bomb_is_stopped_early_in_bounded_memory(tmp_path):
    bomb = gzip.compress(b"0" * (200 * MB), compresslevel=9)
    assert len(bomb) < 300_000
    tracemalloc.start()
    try:
        refused(tmp_path, "bomb.csv.gz", bomb, says="more than 100 times its compressed size")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB, peak


def zip_bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("cohort.csv", "w") as member:
            block = b"0" * MB
            for _ in range(size // MB):
                member.write(block)
    return buf.getvalue()


def test_zip_bomb_is_refused_from_its_declared_sizes(tmp_path):
    refused(tmp_path, "bomb.zip", zip_bomb(200 * MB), says="Unpacked, the file is larger than the 50 MB limit")


def test_zip_bomb_with_a_lying_header_is_stopped_while_unpacking(tmp_path):
    bomb = central_field(zip_bomb(40 * MB), 24, "<I", 1000)  # declared uncompressed size: 1,000 bytes
    tracemalloc.start()
    try:
        message = refused(tmp_path, "bomb.zip", bomb, says="The")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "more than 100 times" in message or "damaged" in message
    assert peak < 8 * MB, peak


@pytest.mark.parametrize("members, attrs, says", [
    ({"../cohort.csv": SMALL}, None, "absolute path or '..'"),
    ({"data/../../cohort.csv": SMALL}, None, "absolute path or '..'"),
    ({"/etc/cohort.csv": SMALL}, None, "absolute path or '..'"),
    ({"C:/cohort.csv": SMALL}, None, "absolute path or '..'"),
    ({"cohort.csv": b"/etc/passwd"}, {"cohort.csv": (stat.S_IFLNK | 0o777) << 16}, "symbolic link"),
    ({"inner.zip": zipped({"cohort.csv": SMALL})}, None, "holds another archive"),
    ({"inner.csv.gz": gzip.compress(SMALL)}, None, "holds another archive"),
    ({"cohort.csv": gzip.compress(SMALL)}, None, "itself an archive"),
    ({"cohort.csv": zipped({"x.csv": SMALL})}, None, "itself an archive"),
    ({"a.csv": SMALL, "b.csv": SMALL}, None, "holds 2 files; it must hold exactly one"),
    ({}, None, "holds 0 files"),
    ({"cohort.txt": SMALL}, None, "must be named .csv or .parquet"),
    ({"cohort.csv": b"PAR1" + SENTINEL.encode() + b"PAR1"}, None, "named .csv but its content is Parquet"),
    ({"cohort.csv": b""}, None, "empty (0 bytes)"),
])
def test_zip_members(tmp_path, members, attrs, says):
    refused(tmp_path, "upload.zip", zipped(members, attrs), says=says)


def test_encrypted_zip(tmp_path):
    archive = central_field(zipped({"cohort.csv": SMALL}), 8, "<H", 0x1)
    refused(tmp_path, "upload.zip", archive, says="encrypted")


def test_gzip_holding_parquet_or_another_gzip(tmp_path):
    refused(tmp_path, "a.csv.gz", gzip.compress(b"PAR1" + SENTINEL.encode() + b"PAR1"),
            says="named .csv but its content is Parquet; if it is the right file, upload the Parquet file itself")
    refused(tmp_path, "a.csv.gz", gzip.compress(gzip.compress(SMALL)), says="itself an archive")


def test_multi_member_gzip_is_one_file(tmp_path):
    half = len(SMALL) // 2
    checked = check_upload("a.csv.gz", gzip.compress(SMALL[:half]) + gzip.compress(SMALL[half:]), root=tmp_path)
    assert checked.data.read_bytes() == SMALL


@pytest.mark.parametrize("name, content", [
    ("a.csv.gz", gzip.compress(CSV)[:5000]),
    ("a.csv.gz", gzip.compress(CSV)[:-8] + b"\x00" * 8),
    ("a.zip", zipped({"a.csv": CSV})[:3000]),
])
def test_truncated_or_corrupted_archives(tmp_path, name, content):
    refused(tmp_path, name, content, says="damaged")


@pytest.mark.parametrize("mapping, says", [
    (f"[columns]\n{SENTINEL} = = 1\n".encode(), "not valid TOML (error at line 2, column"),
    (f'[columns]\nsex = "{SENTINEL}\n'.encode(), "not valid TOML"),
    (b"\xef\xbb\xbf[columns]\n", "byte-order mark"),
    (f'[columns]\nsex = "{SENTINEL}"\n'.encode("utf-16"), "not UTF-8 text"),
    (b"  \n", "mapping file is empty"),
    (b"# " + b"x" * 70_000, "larger than 64 KiB"),
    (b'[source]\nshape = "rls_extract"\n', 'shape = "wide"'),
    (b'[source]\nencoding = "latin-1"\n', "must be UTF-8"),
])
def test_bad_mapping_files(tmp_path, mapping, says):
    refused(tmp_path, "a.csv", SMALL, mapping=mapping, says=says)


def test_mapping_refusals_come_before_anything_is_written(tmp_path):
    with pytest.raises(UploadRefused):
        check_mapping(b"not = [toml")
    refused(tmp_path, "a.csv", SMALL, mapping=b"not = [toml", says="not valid TOML")
    assert not list(tmp_path.iterdir())


def test_sniff_reads_content_not_names():
    assert sniff(b"PAR1....PAR1") == "parquet"
    assert sniff(b"PAR1....") == "broken parquet"
    assert sniff(b"\x1f\x8b\x08") == "gzip"
    assert sniff(b"PK\x03\x04") == "zip" and sniff(b"PK\x05\x06" + b"\x00" * 18) == "zip"
    assert sniff(b"\xfd7zXZ\x00") == "archive"
    assert sniff(b"a,b\n") == "csv"


# --- the private folder -------------------------------------------------------------------------------------

def test_folder_is_private_under_the_temp_dir_named_by_content_and_reused(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    first = check_upload("a.csv", SMALL)
    again = check_upload("a.csv", SMALL)
    other = check_upload("a.csv", SMALL, "m.toml", b"[columns]\n")
    assert first == again and first.data.parent.parent == tmp_path
    assert first.data.parent.name.startswith("rls-upload-") and len(first.data.parent.name) == 11 + 64
    assert other.data.parent != first.data.parent
    assert stat.S_IMODE(first.data.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(first.data.stat().st_mode) & 0o077 == 0
    assert first.data.read_bytes() == SMALL
    assert sorted(p.name for p in first.data.parent.iterdir()) == ["a.csv"]


def test_a_shared_folder_is_not_used(tmp_path):
    folder = tmp_path / "rls-upload-abc"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with pytest.raises(UploadRefused, match="not private"):
        private_folder("abc", tmp_path)


def test_a_symlinked_folder_is_not_used(tmp_path):
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / "rls-upload-abc").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UploadRefused, match="not private"):
        private_folder("abc", tmp_path)


def test_a_refused_upload_leaves_no_folder(tmp_path):
    refused(tmp_path, "a.csv", b"1,2\n3,4\n", says="only numbers")
    assert not list(tmp_path.iterdir())


def test_unsafe_names_are_stored_under_a_safe_name(tmp_path):
    checked = check_upload("../../x/<b>co hort[1](x).csv", SMALL, "..\\m a p.toml", b"[columns]\n", root=tmp_path)
    assert checked.data.name == "_b_co_hort_1__x_.csv" and checked.mapping.name == "m_a_p.toml"
    assert checked.data.parent.parent == tmp_path


# --- accepted uploads load exactly like the original file ---------------------------------------------------

@pytest.fixture(scope="module")
def original():
    return CohortEngine.open(COHORT, MAPPING).info


@pytest.fixture(scope="module")
def parquet_original(tmp_path_factory):
    path = tmp_path_factory.mktemp("parquet") / "demo_cohort.parquet"
    pq.write_table(pacsv.read_csv(COHORT), path)
    return path, CohortEngine.open(path, MAPPING).info


def assert_same(checked, info) -> None:
    loaded = CohortEngine.open(checked.data, checked.mapping).info
    assert loaded.data_hash == info.data_hash
    assert loaded.load.n_participants == info.load.n_participants
    assert loaded.mapping.files == (checked.data.resolve(),)


@pytest.mark.parametrize("name, content, compression", [
    ("demo_cohort.csv", CSV, None),
    ("demo_cohort.csv", CSV.replace(b"\n", b"\r\n"), None),
    ("demo_cohort.csv.gz", gzip.compress(CSV), "gzip"),
    ("demo.zip", zipped({"export/demo_cohort.csv": CSV, "export/": b""}), "zip"),
])
def test_csv_uploads_load_like_the_original(tmp_path, original, name, content, compression):
    checked = check_upload(name, content, "demo_cohort.toml", TOML, root=tmp_path)
    assert (checked.format, checked.compression, checked.data.name) == ("csv", compression, "demo_cohort.csv")
    if b"\r\n" in content:
        assert CohortEngine.open(checked.data, checked.mapping).info.load.n_participants == 10_000
    else:
        assert_same(checked, original)


def test_csv_with_a_byte_order_mark_is_accepted(tmp_path):
    checked = check_upload("demo_cohort.csv", b"\xef\xbb\xbf" + CSV, "demo_cohort.toml", TOML, root=tmp_path)
    assert CohortEngine.open(checked.data, checked.mapping).info.load.n_participants == 10_000


@pytest.mark.parametrize("wrap", ["plain", "zip"])
def test_parquet_uploads_load_like_the_original(tmp_path, parquet_original, wrap):
    path, info = parquet_original
    content = path.read_bytes()
    if wrap == "zip":
        content, name = zipped({"demo_cohort.parquet": content}), "upload.zip"
    else:
        name = "demo_cohort.parquet"
    checked = check_upload(name, content, "demo_cohort.toml", TOML, root=tmp_path)
    assert checked.format == "parquet"
    assert_same(checked, info)


def test_the_upload_is_loaded_whatever_file_the_mapping_names(tmp_path, original):
    text = TOML.decode().replace('files = ["demo_cohort.csv"]', 'files = ["../../../etc/passwd"]')
    checked = check_upload("demo_cohort.csv", CSV, "demo_cohort.toml", text.encode(), root=tmp_path)
    loaded = CohortEngine.open(checked.data, checked.mapping).info
    assert loaded.mapping.files == (checked.data.resolve(),)
    assert loaded.load.n_participants == original.load.n_participants


def test_without_a_mapping_columns_bind_by_name(tmp_path):
    checked = check_upload("small.csv", b"participant_id,sex,age\nP1,F,40\nP2,M,41\n", root=tmp_path)
    assert checked.mapping is None
    assert CohortEngine.open(checked.data, None).info.load.n_participants == 2


def test_checks_never_write_the_source(tmp_path):
    before = COHORT.read_bytes(), MAPPING.read_bytes()
    check_upload(COHORT.name, CSV, MAPPING.name, TOML, root=tmp_path)
    assert (COHORT.read_bytes(), MAPPING.read_bytes()) == before
    assert os.path.commonpath([tmp_path, COHORT]) != str(COHORT.parent)
