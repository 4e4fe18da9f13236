"""Trace store: every reasoning run is a LangGraph thread (``trace_id``) checkpointed into one SQLite file,
``<cache_dir>/traces.sqlite``. A trace is rebuilt from the thread's state history; it exports as JSON, with
LLM prompts and responses optionally redacted.

    store = TraceStore.from_settings(settings)
    with store.saver() as saver:                     # a SqliteSaver for graph.compile(checkpointer=...)
        ...
    trace = store.get(trace_id, redact=True)         # TraceNotFound for an unknown id
"""

from __future__ import annotations

import builtins
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, Field

from vidreason.tools.core.errors import TraceNotFound, TraceStoreError
from vidreason.tools.core.results import LLMCall, TraceStep

if TYPE_CHECKING:  # `vidreason trace` reads plain checkpoints without importing LangGraph
    from langchain_core.runnables import RunnableConfig

    from vidreason.tools.core.settings import Settings

TRACE_FILE = "traces.sqlite"
log = logging.getLogger(__name__)


def new_trace_id() -> str:
    """A fresh trace id (32 hex characters)."""
    return uuid.uuid4().hex


def thread_config(trace_id: str, **extra: Any) -> RunnableConfig:
    """The LangGraph config that files a run under ``trace_id``."""
    return cast("RunnableConfig", {"configurable": {"thread_id": trace_id}, **extra})


class Trace(BaseModel):
    """One stored run: the question, each step (inputs, outputs, tool/LLM calls, timings) and the result."""

    trace_id: str
    question: str | None = None
    video: str | None = None
    created_at: str | None = Field(None, description="ISO time of the first checkpoint")
    updated_at: str | None = Field(None, description="ISO time of the last checkpoint")
    checkpoints: int = 0
    complete: bool = Field(False, description="the run reached the end of the graph")
    steps: list[TraceStep] = Field(default_factory=list)
    answer: dict[str, Any] | None = None
    spans: list[dict[str, Any]] = Field(default_factory=list)
    plan: dict[str, Any] | None = None
    degraded: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    redacted: bool = False

    def redact(self) -> Trace:
        """A copy without LLM prompt/response text."""
        steps = [s.model_copy(update={"llm_calls": [c.redact() for c in s.llm_calls]}) for s in self.steps]
        return self.model_copy(update={"steps": steps, "redacted": True})

    @property
    def llm_calls(self) -> list[LLMCall]:
        return [c for s in self.steps for c in s.llm_calls]

    def to_json(self, *, indent: int | None = 1) -> str:
        return self.model_dump_json(indent=indent)


class TraceStore:
    """The SQLite file holding every run's checkpoints."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def from_settings(cls, settings: Settings) -> TraceStore:
        return cls(Path(settings.cache_dir) / TRACE_FILE)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(str(self.path), check_same_thread=False)

    def writable(self) -> str | None:
        """``None`` when runs can be stored here, else why not (a read-only cache, a file in the way, ...)."""
        try:
            conn = self._connect()
        except (OSError, sqlite3.Error) as e:
            return str(e)
        try:  # a write rolled back: SQLite silently opens an unwritable file read-only, which only writes reveal
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE vidreason_write_probe (x)")
            conn.rollback()
        except sqlite3.Error as e:
            return None if "locked" in str(e) else str(e)  # busy with another run: writable
        finally:
            conn.close()
        return None

    def _unstored(self, why: str) -> Any:
        from langgraph.checkpoint.memory import InMemorySaver

        log.warning("this run's trace is not stored: %s cannot be written (%s)", self.path, why)
        return InMemorySaver()

    @contextmanager
    def saver(self) -> Iterator[Any]:
        """A ``SqliteSaver`` over the store (closed on exit); an in-memory one, with a warning, when the store
        cannot be written (a read-only cache still answers, it only keeps no trace)."""
        from langgraph.checkpoint.sqlite import SqliteSaver

        why = self.writable()
        if why is not None:
            yield self._unstored(why)
            return
        conn = self._connect()
        try:
            saver = SqliteSaver(conn)
            saver.setup()
            yield saver
        finally:
            conn.close()

    @asynccontextmanager
    async def asaver(self) -> AsyncIterator[Any]:
        """An ``AsyncSqliteSaver`` over the store, for ``astream``/``ainvoke`` (in memory, with a warning, when
        the store cannot be written)."""
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        why = self.writable()
        if why is not None:
            yield self._unstored(why)
            return
        async with AsyncSqliteSaver.from_conn_string(str(self.path)) as saver:
            yield saver

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection; ``TraceStoreError`` (one line) when the file cannot be read as a store.

        A store in a read-only folder has no ``-shm`` file for WAL readers and cannot create one: it is then
        opened as immutable (nothing can write there anyway)."""
        uri = self.path.resolve().as_uri()
        conn = None
        try:
            for options in ("mode=ro", "mode=ro&immutable=1"):
                try:
                    conn = sqlite3.connect(f"{uri}?{options}", uri=True, check_same_thread=False)
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                    break
                except sqlite3.OperationalError:
                    if conn is not None:
                        conn.close()
                    conn = None
                    if "immutable" in options:
                        raise
            assert conn is not None
            yield conn
        except sqlite3.Error as e:
            raise TraceStoreError(
                f"{self.path}: the trace store cannot be read ({e}); check its permissions, or move the damaged "
                "file away (a new one is started by the next run)"
            ) from e
        finally:
            if conn is not None:
                conn.close()

    @contextmanager
    def _read_saver(self) -> Iterator[Any]:
        """A ``SqliteSaver`` over a read-only connection (its tables are not created: nothing is written)."""
        from langgraph.checkpoint.sqlite import SqliteSaver

        with self._reader() as conn:
            saver = SqliteSaver(conn)
            saver.is_setup = True
            yield saver

    def list(self, limit: int = 100) -> list[str]:
        """Stored trace ids, most recent first; ``TraceStoreError`` when the store exists but cannot be read."""
        if not self.path.exists():
            return []
        with self._reader() as conn:
            try:
                rows = conn.execute(
                    "SELECT thread_id, MAX(checkpoint_id) AS last FROM checkpoints GROUP BY thread_id "
                    "ORDER BY last DESC LIMIT ?",
                    (limit,),
                ).fetchall()
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):  # the file exists but no run was stored yet
                    return []
                raise
        return [r[0] for r in rows]

    def get(self, trace_id: str, *, redact: bool = False) -> Trace:
        """The trace of run ``trace_id`` rebuilt from its checkpoints; ``TraceNotFound`` if unknown. Reads the
        checkpointer directly (read-only): no graph is compiled."""
        if not self.path.exists():
            raise TraceNotFound(f"no trace {trace_id!r}: the trace store {self.path} does not exist yet")
        known = self.list(limit=5)  # also checks that the store is readable
        history: builtins.list[Snapshot] | None = self._plain_history(trace_id) if known else []
        if history is None:
            with self._read_saver() as saver:
                history = [Snapshot.of(tup) for tup in saver.list(thread_config(trace_id))]
        if not history:
            raise TraceNotFound(f"no trace {trace_id!r} in {self.path}; recent ids: {known or 'none'}")
        return trace_from_history(trace_id, history, redact=redact)

    def _plain_history(self, trace_id: str) -> builtins.list[Snapshot] | None:
        """The run's checkpoints (newest first) read straight from SQLite, as the saver would list them, when
        each is plain msgpack (vidreason's state is plain data); None when one is not (the caller then asks
        the saver). Saves importing LangGraph in ``vidreason trace``."""
        import ormsgpack

        def unknown_ext(code: int, data: bytes) -> Any:
            raise ValueError(f"msgpack extension {code}")

        with self._reader() as conn:
            try:
                rows = conn.execute(
                    "SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id DESC",
                    (trace_id,),
                ).fetchall()
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):  # no run stored yet
                    return []
                raise
        out = []
        for kind, blob in rows:
            if kind != "msgpack":
                return None
            try:
                checkpoint = ormsgpack.unpackb(blob, ext_hook=unknown_ext)
            except (ValueError, TypeError, ormsgpack.MsgpackDecodeError):
                return None
            out.append(Snapshot.from_checkpoint(checkpoint))
        return out

    def latest(self, limit: int = 100) -> builtins.list[tuple[str, Snapshot]]:
        """The last checkpoint of each of the ``limit`` most recent runs (one connection for all)."""
        ids = self.list(limit=limit)
        if not ids:
            return []
        out = []
        with self._read_saver() as saver:
            for tid in ids:
                tup = saver.get_tuple(thread_config(tid))
                if tup is not None:
                    out.append((tid, Snapshot.of(tup)))
        return out

    def export_json(self, trace_id: str, *, redact: bool = False) -> str:
        return self.get(trace_id, redact=redact).to_json()


@dataclass(frozen=True)
class Snapshot:
    """One checkpoint of a run: the state values, when it was written, and the nodes due next."""

    values: dict[str, Any]
    created_at: str | None
    next: tuple[str, ...]

    @classmethod
    def of(cls, tup: Any) -> Snapshot:
        """From a checkpointer's ``CheckpointTuple`` (``channel_values`` holds the state; ``branch:to:<node>``
        channels mark the nodes triggered next)."""
        return cls.from_checkpoint(tup.checkpoint)

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any]) -> Snapshot:
        """From a checkpoint dict (``channel_values``, ``ts``)."""
        channels = dict(checkpoint.get("channel_values") or {})
        due = tuple(k.removeprefix("branch:to:") for k in channels if k.startswith("branch:to:"))
        values = {k: v for k, v in channels.items() if not k.startswith(("branch:", "__"))}
        return cls(values=values, created_at=checkpoint.get("ts"), next=due)


def trace_from_history(trace_id: str, history: list[Any], *, redact: bool = False) -> Trace:
    """Rebuild a ``Trace`` from snapshots (newest first, as checkpointers list them): ``Snapshot``s or
    LangGraph's ``StateSnapshot``s (both have ``values``, ``created_at`` and ``next``).

    Steps are collected in checkpoint order from the ``steps`` channel each checkpoint added, so a run that
    stopped midway still shows the steps it finished."""
    ordered = list(reversed(history))
    steps: list[TraceStep] = []
    seen = 0
    for snap in ordered:
        values = snap.values or {}
        recorded = values.get("steps") or []
        for raw in recorded[seen:]:
            steps.append(TraceStep.model_validate(raw))
        seen = max(seen, len(recorded))
    last = ordered[-1].values or {}
    trace = Trace(
        trace_id=trace_id,
        question=last.get("question"),
        video=last.get("video"),
        created_at=ordered[0].created_at,
        updated_at=ordered[-1].created_at,
        checkpoints=len(ordered),
        complete=not ordered[-1].next,
        steps=steps,
        answer=last.get("answer"),
        spans=list(last.get("spans") or []),
        plan=last.get("plan"),
        degraded=list(dict.fromkeys(last.get("degraded") or [])),
        notes=list(last.get("notes") or []),
    )
    return trace.redact() if redact else trace


__all__ = [
    "TRACE_FILE",
    "Snapshot",
    "Trace",
    "TraceStore",
    "new_trace_id",
    "thread_config",
    "trace_from_history",
]
