"""Atomic files, content hashes and inter-process locks for the cache."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from vidreason.tools.core.errors import IndexLocked

_HASH_CHUNK = 8 << 20


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
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
    real = path.resolve()
    stamp = _stamp(real)
    h = hashlib.blake2b(digest_size=20)
    with open(real, "rb") as f:
        while block := f.read(_HASH_CHUNK):
            h.update(block)
    digest = h.hexdigest()
    write_text_atomic(_memo_file(real, cache_dir), json.dumps({"path": str(real), "stamp": stamp, "hash": digest}))
    return digest


def memoized_content_hash(path: Path, cache_dir: Path) -> str | None:
    """The hash :func:`content_hash` memoised for ``path`` if still valid, without reading the file; ``None``
    when the file was never hashed with this cache (so it cannot be indexed there yet) or has changed."""
    try:
        real = path.resolve()
        data = json.loads(_memo_file(real, cache_dir).read_text())
        if data.get("stamp") != _stamp(real) or "hash" not in data:
            return None
    except (OSError, ValueError):
        return None
    return str(data["hash"])


@contextlib.contextmanager
def file_lock(path: Path, timeout_s: float = 3600.0, poll_s: float = 0.2) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` (created if needed); waits up to ``timeout_s``.

    The kernel drops the lock when its holder dies, so a killed build never blocks the next one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
