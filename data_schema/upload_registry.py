"""The uploads this server holds: an opaque id per accepted upload, its private files, a cap and an expiry.

A checked upload (``data_schema.uploads.check_upload``) is registered under a random id, which the dashboard puts in
the URL (``?upload=…``) so the upload survives a page reload and can be shared while it lasts; the id carries no
data. An upload unused for ``ttl_seconds`` is removed from disk (Streamlit gives no reliable end-of-session signal,
so "its session has ended" is read as "nobody has used it for that long"), and so is one its user leaves. At most
``max_uploads`` are held at once; one more is refused with a message, so memory and disk stay bounded.

Process-wide and thread-safe: Streamlit serves every browser session from threads of one process.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from data_schema.uploads import FOLDER_PREFIX, UploadRefused

DEFAULT_TTL_SECONDS = 60 * 60
DEFAULT_MAX_UPLOADS = 8
ID_BYTES = 16


@dataclass
class _Entry:
    paths: tuple[str, str | None]
    last_used: float


@dataclass
class UploadRegistry:
    """Uploads by opaque id (see the module docstring); ``clock`` is injectable for tests."""

    ttl_seconds: float = DEFAULT_TTL_SECONDS
    max_uploads: int = DEFAULT_MAX_UPLOADS
    clock: callable = time.monotonic
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, paths: tuple[str, str | None]) -> str:
        """A new id for a checked upload's paths, or :class:`UploadRefused` when the server holds its maximum."""
        with self._lock:
            self._expire_locked()
            if len(self._entries) >= self.max_uploads:
                raise UploadRefused(f"The server already holds {self.max_uploads} uploaded files, the most it keeps "
                                    "at once; try again later, or ask the administrator to raise [uploads] "
                                    "max_uploads.")
            upload_id = secrets.token_urlsafe(ID_BYTES)
            self._entries[upload_id] = _Entry(paths, self.clock())
            return upload_id

    def lookup(self, upload_id: str | None) -> tuple[str, str | None] | None:
        """The paths of a live upload (and its expiry restarts), or None for an unknown or expired id."""
        if not upload_id:
            return None
        with self._lock:
            self._expire_locked()
            entry = self._entries.get(upload_id)
            if entry is None:
                return None
            entry.last_used = self.clock()
            return entry.paths

    def remove(self, upload_id: str | None) -> None:
        """Forget an upload and delete its files (unless another live id holds the same files)."""
        with self._lock:
            entry = self._entries.pop(upload_id, None) if upload_id else None
            if entry is not None:
                self._delete_locked(entry.paths)

    def expire(self) -> int:
        """Remove every upload unused for ``ttl_seconds``; how many were removed."""
        with self._lock:
            return self._expire_locked()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _expire_locked(self) -> int:
        now = self.clock()
        stale = [k for k, e in self._entries.items() if now - e.last_used > self.ttl_seconds]
        for upload_id in stale:
            self._delete_locked(self._entries.pop(upload_id).paths)
        return len(stale)

    def _delete_locked(self, paths: tuple[str, str | None]) -> None:
        folder = Path(paths[0]).parent
        if any(Path(e.paths[0]).parent == folder for e in self._entries.values()):
            return  # the same file uploaded again in another session: its files stay while that one lives
        if folder.name.startswith(FOLDER_PREFIX):  # never anything but an upload's private folder
            shutil.rmtree(folder, ignore_errors=True)
