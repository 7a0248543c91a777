"""Writing a deck or report file: never over an input, never half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from analyses.variables import AnalysisInputError
from data_schema.sources import resolve_mapping, source_files

SUFFIXES = {"pptx": (".pptx",), "html": (".html", ".htm")}


class OutputRefused(AnalysisInputError):
    """An output path in an input's folder, or one that does not fit the format (the message names the rule)."""


def checked_output(out: Path, fmt: str, data: Path, mapping: Path | None) -> Path:
    """``out`` resolved, if it ends in the format's suffix, sits in an existing folder, and stays out of the
    inputs' folders: not inside the data folder, not next to the data file, the mapping or a source file it names
    (source folders are only ever read)."""
    target = out.expanduser().resolve()
    if target.suffix.lower() not in SUFFIXES[fmt]:
        raise OutputRefused(f"--out must end in {' or '.join(SUFFIXES[fmt])} for --format {fmt}.")
    if target.is_dir() or not target.parent.is_dir():
        raise OutputRefused("--out must name a file in an existing folder.")
    source = data.expanduser().resolve()
    inputs = [*(p.resolve() for p in source_files(resolve_mapping(data, mapping))),
              *([mapping.expanduser().resolve()] if mapping else [])]
    folders = {p.parent for p in inputs} | ({source} if source.is_dir() else {source.parent})
    if target.parent in folders or (source.is_dir() and source in target.parents):
        raise OutputRefused("--out must not be in the folder of the input data; choose another folder.")
    return target


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file next to ``path`` and move it into place in one step, so a reader (or a
    crash) never sees a partial file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
