"""Server-side checks of an uploaded cohort file (and optional mapping file) before the loader reads it.

An upload is checked on its bytes, then written to a private folder (0700, under the system temporary folder,
named by the SHA-256 of the names and bytes, so the same upload reuses it) by a temporary file and an atomic
rename. :func:`check_upload` returns the paths to pass to ``CohortEngine.open(data, mapping)``, which then
validates the data like any source. Every refusal is an :class:`UploadRefused` whose message names the rule and
what to do about it, and never quotes the file's content.

- **Size**: at most ``max_bytes`` (50 MB, like ``server.maxUploadSize``) as uploaded, and again after unpacking.
- **Format from the content** (magic bytes), never from the name: Parquet (``PAR1`` at both ends, with a
  readable footer), gzip (``1f 8b``), zip (``PK``); anything else must be CSV: UTF-8 text (a byte-order mark is
  allowed) without NUL bytes, whose first line names at least two columns split by the delimiter the loader will
  use (``,`` or the mapping's ``[source] delimiter``), not only numbers, with the header's number of fields on
  at least one of the next lines.
- **Name and content must agree**: ``.csv``, ``.parquet``, ``.csv.gz`` or ``.zip``. A Parquet file named
  ``.csv`` (or the reverse) is *refused*, not renamed: a mismatch usually means the wrong file was picked, and
  the message says which name would fit.
- **Compressed input**: ``.csv.gz`` (gzip of one CSV) or ``.zip`` holding exactly one ``.csv`` or ``.parquet``
  file (folders and ``__MACOSX/`` entries aside). Unpacked in 64 KiB steps, stopped as soon as the output
  passes ``max_bytes`` or ``max_ratio`` (100) times the compressed size (ratios count beyond the first MiB), so
  a bomb never fills memory or disk. Zip entries with absolute paths, ``..``, symlinks, encryption, or that
  are archives themselves are refused; so is an archive inside the unpacked content. Parquet's own compression
  is bounded the same way from the footer's declared sizes.
- **Mapping file**: at most 64 KiB of UTF-8 TOML. For uploads it must describe one file (``shape = "wide"``)
  read as UTF-8; ``[source] files`` are ignored, because the checked upload is passed as ``--data``, which
  overrides them (``data_schema.sources``): nothing but the upload is read, and no source file is written.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import re
import stat
import tempfile
import tomllib
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

MB = 1024 * 1024
MAX_UPLOAD_BYTES = 50 * MB
MAX_MAPPING_BYTES = 64 * 1024
MAX_RATIO = 100
RATIO_FLOOR = MB  # ratios count only once the unpacked output passes this size
CHUNK = 64 * 1024
HEADER_SAMPLE = MB
SAMPLE_RECORDS = 20
FOLDER_PREFIX = "rls-upload-"

PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
OTHER_ARCHIVES = (b"BZh", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"\x28\xb5\x2f\xfd", b"Rar!", b"\x1f\x9d")
ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar", ".zst", ".z")
NAME_KINDS = {".csv.gz": ("csv", "gzip"), ".csv": ("csv", None), ".parquet": ("parquet", None), ".zip": (None, "zip")}
CONTENT_WORDS = {"parquet": "Parquet", "gzip": "gzip-compressed", "zip": "a zip archive", "csv": "text (CSV)",
                 "archive": "another kind of archive (bzip2, xz, 7-Zip, zstd or RAR)",
                 "broken parquet": "an incomplete Parquet file (it starts like Parquet but does not end like one)"}
NAME_FOR_CONTENT = {"parquet": ".parquet", "gzip": ".csv.gz", "zip": ".zip", "csv": ".csv"}


class UploadRefused(ValueError):
    """An upload that was not accepted; the message says why and what to do, and quotes no content."""


@dataclass(frozen=True)
class UploadLimits:
    """Caps on one upload: bytes as uploaded and unpacked, unpacked/compressed ratio, mapping file size."""

    max_bytes: int = MAX_UPLOAD_BYTES
    max_ratio: float = MAX_RATIO
    max_mapping_bytes: int = MAX_MAPPING_BYTES


@dataclass(frozen=True)
class CheckedUpload:
    """Where a checked upload was written (private folder), and what it holds."""

    data: Path
    mapping: Path | None
    format: str  # "csv" | "parquet"
    compression: str | None  # None | "gzip" | "zip"
    size: int  # bytes of the (unpacked) data file


@dataclass(frozen=True)
class _CsvDialect:
    delimiter: str = ","
    quote: str = '"'


def check_upload(name: str, content: bytes, mapping_name: str | None = None, mapping: bytes | None = None,
                 limits: UploadLimits = UploadLimits(), root: Path | None = None) -> CheckedUpload:
    """Check an uploaded file (and mapping file) and write it to a private folder; raise :class:`UploadRefused`."""
    dialect = check_mapping(mapping, limits) if mapping is not None else _CsvDialect()
    expected, compression, safe_name = _name_kind(name)
    if not content:
        raise UploadRefused("The file is empty (0 bytes).")
    if len(content) > limits.max_bytes:
        raise UploadRefused(f"The file is larger than the {_size(limits.max_bytes)} limit; upload a smaller extract "
                            "(for example one with only the columns the mapping names), or compress it as .csv.gz.")
    _refuse_mismatch(sniff(content), compression or expected, name_suffix=_suffix(safe_name))
    mapping_safe = _safe_name(mapping_name or "mapping.toml", ".toml") if mapping is not None else None
    stream, packed, expected, data_name = _unpacked(content, compression, expected, safe_name, limits)
    folder = private_folder(_digest(safe_name, content, mapping_safe, mapping), root)
    try:
        size = _write_checked(stream, folder / data_name, expected, dialect, limits, packed)
    except UploadRefused:
        _remove_if_empty(folder)
        raise
    mapping_path = folder / mapping_safe if mapping is not None else None
    if mapping_path:
        _atomic_write(mapping_path, [mapping])
    return CheckedUpload(folder / data_name, mapping_path, expected, compression, size)


def _unpacked(content: bytes, compression: str | None, expected: str | None, name: str,
              limits: UploadLimits) -> tuple[Iterator[bytes], int | None, str, str]:
    """A lazy chunk stream of the data file, its compressed size, its expected format and its stored name."""
    if compression == "zip":
        member, stream, packed = _zip_stream(content, limits)
        expected, _, name = _name_kind(member)
        return stream, packed, expected, name
    if compression == "gzip":
        return _gunzip(content), len(content), expected, name[: -len(".gz")]
    return _chunks(content), None, expected, name


def check_mapping(content: bytes, limits: UploadLimits = UploadLimits()) -> _CsvDialect:
    """Check an uploaded mapping file (size, UTF-8, TOML, one-file shape); return the CSV dialect it declares."""
    if len(content) > limits.max_mapping_bytes:
        raise UploadRefused(f"The mapping file is larger than {_size(limits.max_mapping_bytes)}; a mapping is a short "
                            "text file (see the README section 'The mapping file').")
    if not content.strip():
        raise UploadRefused("The mapping file is empty.")
    if content.startswith(codecs.BOM_UTF8):
        raise UploadRefused("The mapping file starts with a byte-order mark; save it as UTF-8 without BOM.")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused("The mapping file is not UTF-8 text; save it as UTF-8.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at (line \d+, column \d+|end of document)\)", str(exc))
        raise UploadRefused("The mapping file is not valid TOML" + (f" (error at {where.group(1)})" if where else "")
                            + "; compare it with the example in the README.") from None
    return _mapping_dialect(data.get("source"))


def _mapping_dialect(source) -> _CsvDialect:
    if not isinstance(source, dict):
        return _CsvDialect()
    if source.get("shape", "wide") != "wide":
        raise UploadRefused("An uploaded mapping must describe one file (shape = \"wide\"); the multi-table extract "
                            "cannot be uploaded — point the server's settings at its folder instead.")
    encoding = source.get("encoding", "utf-8")
    if not isinstance(encoding, str) or encoding.lower().replace("-", "") != "utf8":
        raise UploadRefused("Uploaded files must be UTF-8: save the file as UTF-8 and remove [source] encoding from "
                            "the mapping.")
    delimiter, quote = source.get("delimiter", ","), source.get("quote", '"')
    ok = all(isinstance(v, str) and len(v) == 1 for v in (delimiter, quote))
    return _CsvDialect(delimiter, quote) if ok else _CsvDialect()


def sniff(content: bytes) -> str:
    """What the bytes are, from their magic numbers: parquet, gzip, zip, archive, broken parquet or csv."""
    found = _magic(content[:8])
    if found == "parquet" and (len(content) < 12 or content[-4:] != PARQUET_MAGIC):
        return "broken parquet"
    return found


def _magic(head: bytes) -> str:
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZIP_MAGICS):
        return "zip"
    if head.startswith(OTHER_ARCHIVES):
        return "archive"
    return "csv"


def private_folder(digest: str, root: Path | None = None) -> Path:
    """``<tmp>/rls-upload-<digest>``: created 0700, or reused when it is this user's private folder."""
    folder = Path(root or tempfile.gettempdir()) / f"{FOLDER_PREFIX}{digest}"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    foreign = hasattr(os, "getuid") and info.st_uid != os.getuid()
    if not stat.S_ISDIR(info.st_mode) or foreign or stat.S_IMODE(info.st_mode) & 0o077:
        raise UploadRefused("The server's folder for uploads is not private, so the file was not stored; ask the "
                            "administrator to check the temporary folder.")
    return folder


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # it holds an earlier, accepted upload


def _name_kind(name: str) -> tuple[str | None, str | None, str]:
    base = PurePosixPath(name.replace("\\", "/")).name
    lower = base.lower()
    for suffix, (kind, compression) in NAME_KINDS.items():
        if lower.endswith(suffix) and len(base) > len(suffix):
            return kind, compression, _safe_name(base, suffix)
    raise UploadRefused("The file name must end in .csv, .parquet, .csv.gz or .zip (a zip holding one CSV or "
                        "Parquet file).")


def _safe_name(name: str, suffix: str) -> str:
    """The base name with only letters, digits, '.', '_' and '-', at most 100 characters, ending in ``suffix``."""
    base = PurePosixPath(name.replace("\\", "/")).name
    stem = base[: -len(suffix)] if base.lower().endswith(suffix) else base
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".-")[: 100 - len(suffix)] or "upload"
    return stem + suffix


def _suffix(safe_name: str) -> str:
    return next(s for s in NAME_KINDS if safe_name.lower().endswith(s))


def _refuse_mismatch(found: str, wanted: str, name_suffix: str) -> None:
    if found == wanted:
        return
    advice = {"archive": "unpack it and upload the CSV or Parquet file, or a .zip or .csv.gz of it.",
              "broken parquet": "it is damaged or truncated; export it again."}.get(
        found, f"if it is the right file, name it {NAME_FOR_CONTENT.get(found)}.")
    raise UploadRefused(f"The file is named {name_suffix} but its content is {CONTENT_WORDS[found]}; {advice}")


def _digest(name: str, content: bytes, mapping_name: str | None, mapping: bytes | None) -> str:
    digest = hashlib.sha256()
    for part in (name.encode(), content, (mapping_name or "").encode(), mapping or b""):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _chunks(content: bytes) -> Iterator[bytes]:
    view = memoryview(content)
    for start in range(0, len(view), CHUNK):
        yield bytes(view[start:start + CHUNK])


def _gunzip(content: bytes) -> Iterator[bytes]:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as gz:
            while chunk := gz.read(CHUNK):
                yield chunk
    except (OSError, EOFError, zlib.error):
        raise UploadRefused("The gzip data is damaged or truncated; compress the CSV file again.") from None


def _zip_stream(content: bytes, limits: UploadLimits) -> tuple[str, Iterator[bytes], int]:
    """The one data member of a zip archive (its name, a chunk stream, its compressed size), after the checks."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise UploadRefused("The zip archive is damaged or truncated; create it again.") from None
    for info in entries:
        _check_entry(info)
    members = [i for i in entries if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    if len(members) != 1:
        raise UploadRefused(f"The zip archive holds {len(members)} files; it must hold exactly one CSV or Parquet "
                            "file.")
    member = members[0]
    if not member.filename.lower().endswith((".csv", ".parquet")):
        raise UploadRefused("The file inside the zip archive must be named .csv or .parquet.")
    packed = max(1, min(member.compress_size, len(content)))
    _check_size(member.file_size, packed, limits)
    return member.filename, _read_member(archive, member), packed


def _check_entry(info: zipfile.ZipInfo) -> None:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise UploadRefused("The zip archive has an entry with an absolute path or '..'; such archives are refused.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UploadRefused("The zip archive has a symbolic link; zip the CSV or Parquet file itself.")
    if info.flag_bits & 0x1:
        raise UploadRefused("The zip archive is encrypted; upload it without a password.")
    if not info.is_dir() and name.lower().endswith(ARCHIVE_SUFFIXES):
        raise UploadRefused("The zip archive holds another archive; zip the CSV or Parquet file itself.")


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Iterator[bytes]:
    try:
        with archive.open(member) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError, ValueError):
        raise UploadRefused("The file inside the zip archive is damaged, truncated or compressed with an unsupported "
                            "method; create the archive again with ordinary (deflate) compression.") from None


def _check_size(unpacked: int, packed: int | None, limits: UploadLimits) -> None:
    if unpacked > limits.max_bytes:
        raise UploadRefused(f"Unpacked, the file is larger than the {_size(limits.max_bytes)} limit; upload a smaller "
                            "extract.")
    if packed is not None and unpacked > RATIO_FLOOR and unpacked > limits.max_ratio * packed:
        raise UploadRefused(f"The file unpacks to more than {limits.max_ratio:g} times its compressed size, which is "
                            "how compression bombs look; it was not unpacked further. Upload it uncompressed.")


def _write_checked(stream: Iterable[bytes], target: Path, expected: str, dialect: _CsvDialect,
                   limits: UploadLimits, packed: int | None) -> int:
    """Stream into a temporary file beside ``target`` with every check, then rename it into place."""
    checker = _TextCheck() if expected == "csv" else None
    size = 0
    with _Staged(target) as fh:
        for chunk in stream:
            if size == 0:
                _refuse_nested(chunk, expected)
            size += len(chunk)
            _check_size(size, packed, limits)
            if checker:
                checker.feed(chunk)
            fh.write(chunk)
        if size == 0:
            raise UploadRefused("The file inside the archive is empty (0 bytes).")
        fh.flush()
        if checker:
            checker.finish(dialect)
        else:
            _check_parquet(Path(fh.name), size, limits)
    return size


def _refuse_nested(head: bytes, expected: str) -> None:
    found = _magic(head)
    if found in ("gzip", "zip", "archive"):
        raise UploadRefused("The unpacked file is itself an archive; upload the CSV or Parquet file, or one "
                            "archive of it.")
    if found != expected:
        advice = "upload the Parquet file itself, named .parquet" if found == "parquet" else "name it .csv"
        raise UploadRefused(f"The file inside is named .{expected} but its content is {CONTENT_WORDS[found]}; "
                            f"if it is the right file, {advice}.")


def _check_parquet(path: Path, size: int, limits: UploadLimits) -> None:
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(0, size - 4))
        tail = fh.read(4)
    if size < 12 or head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        raise UploadRefused("The Parquet file is incomplete (it does not end like Parquet); export it again.")
    try:
        meta = pq.read_metadata(path)
        declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except (pa.ArrowException, OSError, ValueError, IndexError):
        raise UploadRefused("The Parquet file's footer cannot be read (damaged or truncated); export it "
                            "again.") from None
    if declared > RATIO_FLOOR and declared > limits.max_ratio * size:
        raise UploadRefused(f"The Parquet file declares more than {limits.max_ratio:g} times its size in uncompressed "
                            "data, which is how compression bombs look; export it with ordinary compression.")


class _TextCheck:
    """Streaming check that the bytes are UTF-8 (BOM allowed) without NUL; keeps the start for the header check."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._seen = 0
        self._head: list[str] = []
        self._head_chars = 0
        self._truncated = False

    def feed(self, chunk: bytes) -> None:
        nul = chunk.find(b"\x00")
        if nul >= 0:
            raise UploadRefused(f"The file has a NUL byte (at byte {self._seen + nul + 1:,}), so it is not a CSV text "
                                "file; export it again as CSV (UTF-8).")
        try:
            text = self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise UploadRefused(f"The file is not UTF-8 text (the first invalid byte is near byte "
                                f"{self._seen + exc.start + 1:,}); save it as CSV UTF-8.") from None
        self._seen += len(chunk)
        if self._head_chars < HEADER_SAMPLE:
            self._head.append(text)
            self._head_chars += len(text)
        elif text:
            self._truncated = True

    def finish(self, dialect: _CsvDialect) -> None:
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise UploadRefused("The file ends in the middle of a UTF-8 character (truncated?); export it again.") \
                from None
        head = "".join(self._head)
        complete = not self._truncated and len(head) <= HEADER_SAMPLE
        check_csv_head(head[:HEADER_SAMPLE], complete=complete, dialect=dialect)


def check_csv_head(text: str, complete: bool, dialect: _CsvDialect = _CsvDialect()) -> None:
    """The first line must name at least two columns, split by the delimiter the loader will use."""
    first, newline, _ = text.partition("\n")
    if not newline and not complete:
        raise UploadRefused(f"The first line is longer than {_size(HEADER_SAMPLE)}; the first line must be a header "
                            "naming the columns.")
    first = first.rstrip("\r")
    if not first.strip():
        raise UploadRefused("The first line is empty; it must be a header naming the columns.")
    names = _records(first, dialect, 1)
    if not names or len(names[0]) < 2:
        raise UploadRefused(f"The first line does not split into columns on {_delimiter_word(dialect.delimiter)}; if "
                            "the file uses another delimiter, upload a mapping file with [source] delimiter set "
                            "(see the README).")
    header = names[0]
    if all(_is_number(name) for name in header):
        raise UploadRefused("The first line holds only numbers; the first line must be a header naming the columns.")
    body = text if complete else text[: text.rfind("\n") + 1]
    rows = [r for r in _records(body, dialect, SAMPLE_RECORDS + 1)[1:] if any(cell.strip() for cell in r)]
    if rows and not any(len(r) == len(header) for r in rows):
        raise UploadRefused(f"None of the first {len(rows)} lines after the header has the header's {len(header)} "
                            f"fields when split on {_delimiter_word(dialect.delimiter)}; check the delimiter and the "
                            "quoting.")


def _records(text: str, dialect: _CsvDialect, limit: int) -> list[list[str]]:
    out: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter,
                                 quotechar=dialect.quote):
            out.append(record)
            if len(out) >= limit:
                break
    except csv.Error:
        pass  # a field beyond the csv module's limit: the loader reads such lines and reports them
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _delimiter_word(delimiter: str) -> str:
    return {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}.get(delimiter, "the declared delimiter")


def _size(n: int) -> str:
    return f"{n / MB:.3g} MB" if n >= MB else f"{n / 1024:.3g} KiB"


class _Staged:
    """A temporary file in the target's folder that replaces the target atomically on success only."""

    def __init__(self, target: Path):
        self.target = target

    def __enter__(self):
        self.fh = tempfile.NamedTemporaryFile(dir=self.target.parent, prefix=".staged-", delete=False)
        return self.fh

    def __exit__(self, kind, exc, tb) -> bool:
        self.fh.close()
        if kind is None:
            os.replace(self.fh.name, self.target)
        else:
            Path(self.fh.name).unlink(missing_ok=True)
        return False


def _atomic_write(target: Path, chunks: Iterable[bytes]) -> None:
    with _Staged(target) as fh:
        for chunk in chunks:
            fh.write(chunk)
