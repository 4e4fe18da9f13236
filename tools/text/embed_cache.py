"""Text embeddings kept on disk, so a new process does not embed the same transcript lines again.

One SQLite file per embedding model under ``<cache_dir>/text-embeddings/``: rows ``(text hash, float32
vector)``. Lookups and inserts are batched; SQLite's own locking and transactions make concurrent processes and
killed writers safe. The model's tag hashes its folder path and its weight files' sizes and times, so new
weights start a new file.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_CHUNK = 500  # rows per SELECT ... IN (...)


def model_tag(model: str) -> str:
    """A short tag for ``model`` (a name or folder): changes when a local folder's weights change."""
    h = hashlib.blake2b(model.encode(), digest_size=8)
    folder = Path(model)
    if folder.is_dir():
        for f in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def text_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class EmbeddingStore:
    """Persistent ``text -> embedding`` for one model; ``embed(texts, encode)`` encodes only the misses."""

    def __init__(self, cache_dir: Path, model: str) -> None:
        self.path = Path(cache_dir) / "text-embeddings" / f"{model_tag(model)}.sqlite"
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            conn.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")
            conn.commit()
            self._conn = conn
        return self._conn

    def get(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored embeddings of ``texts`` by text key (misses left out)."""
        keys = list({text_key(t) for t in texts})
        out: dict[str, np.ndarray] = {}
        db = self._db()
        for i in range(0, len(keys), _CHUNK):
            part = keys[i : i + _CHUNK]
            rows = db.execute(f"SELECT key, vec FROM emb WHERE key IN ({','.join('?' * len(part))})", part)
            for key, blob in rows:
                out[key] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        rows = [
            (text_key(t), int(v.shape[0]), np.ascontiguousarray(v, np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        db = self._db()
        with db:  # one transaction
            db.executemany("INSERT OR REPLACE INTO emb (key, dim, vec) VALUES (?, ?, ?)", rows)

    def embed(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """Embeddings of ``texts`` in order: stored ones read back, the others encoded and stored. A store that
        cannot be read or written (read-only cache, full disk) only costs the encoding."""
        texts = list(texts)
        try:
            known = self.get(texts)
        except sqlite3.Error as e:
            log.debug("text-embedding store %s unreadable: %s", self.path, e)
            return encode(texts)
        missing = list(dict.fromkeys(t for t in texts if text_key(t) not in known))
        if missing:
            fresh = encode(missing)
            known.update({text_key(t): v for t, v in zip(missing, fresh, strict=True)})
            try:
                self.put(missing, fresh)
            except sqlite3.Error as e:
                log.debug("text-embedding store %s not written: %s", self.path, e)
        return np.stack([known[text_key(t)] for t in texts]) if texts else np.zeros((0, 0), np.float32)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


__all__ = ["EmbeddingStore", "model_tag", "text_key"]
