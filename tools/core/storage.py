"""Atomic files, content hashes and inter-process locks for the cache."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from vidreason.tools.core.errors import IndexLocked, StorageError, VideoOpenError

_HASH_CHUNK = 8 << 20
log = logging.getLogger(__name__)


def _umask() -> int:
    """The process umask, read without changing it (``/proc``) where possible."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: mode of the files written here: what ``open()`` would give (``mkstemp`` alone makes them 0600)
FILE_MODE = 0o666 & ~_umask()


def storage_error(path: Path, e: OSError, doing: str = "write") -> StorageError:
    """A one-line ``StorageError`` for ``e`` raised while trying to ``doing`` ``path``."""
    reason = e.strerror or type(e).__name__
    return StorageError(f"cannot {doing} {path}: {reason} (is the cache folder writable, and a folder?)")


def ensure_dir(path: Path) -> Path:
    """``mkdir -p path``; ``StorageError`` (one line) when it cannot be created."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise storage_error(path, e, "create the folder") from e
    return path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it over ``path`` (mode as
    ``open()`` would give it). ``StorageError`` (one line) when the folder cannot be written."""
    ensure_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise storage_error(path, e) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), FILE_MODE)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, StorageError):
            raise storage_error(path, e) from e
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def _memo_file(real: Path, cache_dir: Path) -> Path:
    return cache_dir / "hashes" / (hashlib.sha1(str(real).encode()).hexdigest() + ".json")


def _stamp(real: Path) -> dict[str, int]:
    st = real.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def content_hash(path: Path, cache_dir: Path) -> str:
    """BLAKE2b of the file's bytes, memoised per (real path, size, mtime) under ``cache_dir/hashes``."""
    known = memoized_content_hash(path, cache_dir)
    if known is not None:
        return known
    try:
        real = path.resolve(strict=True)
        stamp = _stamp(real)
        h = hashlib.blake2b(digest_size=20)
        with open(real, "rb") as f:
            while block := f.read(_HASH_CHUNK):
                h.update(block)
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop
        reason = getattr(e, "strerror", None) or str(e)
        raise VideoOpenError(f"{path}: cannot read the file ({reason})") from e
    digest = h.hexdigest()
    memo = json.dumps({"path": str(real), "stamp": stamp, "hash": digest})
    try:
        write_text_atomic(_memo_file(real, cache_dir), memo)
    except StorageError as e:  # a read-only cache only costs hashing again next time
        log.debug("content hash not memoised: %s", e)
    return digest


def memoized_content_hash(path: Path, cache_dir: Path) -> str | None:
    """The hash :func:`content_hash` memoised for ``path`` if still valid, without reading the file; ``None``
    when the file was never hashed with this cache (so it cannot be indexed there yet) or has changed."""
    try:
        real = path.resolve()
        data = json.loads(_memo_file(real, cache_dir).read_text())
        if data.get("stamp") != _stamp(real) or "hash" not in data:
            return None
    except (OSError, ValueError, RuntimeError):  # RuntimeError: a symlink loop
        return None
    return str(data["hash"])


@contextlib.contextmanager
def file_lock(path: Path, timeout_s: float = 3600.0, poll_s: float = 0.2) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` (created if needed); waits up to ``timeout_s``.

    The kernel drops the lock when its holder dies, so a killed build never blocks the next one. Raises
    ``StorageError`` when the lock file cannot be created or opened for writing (a read-only cache)."""
    ensure_dir(path.parent)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise storage_error(path, e, "open the lock file") from e
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexLocked(
                        f"{path}: another process is still building this index (waited {timeout_s:.0f}s)"
                    ) from None
                time.sleep(poll_s)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
