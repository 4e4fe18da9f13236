"""Deadlines: the time a run has left, visible to every step it makes, and calls that stop waiting at it.

A run (one ``ask``) sets a ``Deadline`` with ``deadline_scope``; whatever runs inside the ``with`` block, in this
thread or in a thread started with a copy of the context, reads it with ``current_deadline()`` (the LLM client
gives each request at most the time left). ``call_with_time_limit`` runs a blocking call in a daemon worker thread
and stops waiting when the time is up, so a server that trickles one byte per second cannot hold the caller: the
worker is abandoned (and its connection closed by ``on_expiry`` where the caller can).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Deadline:
    """A point in ``time.monotonic()`` time and what set it (for messages, e.g. ``"ask_timeout_s=30"``)."""

    at: float
    label: str = "deadline"

    @classmethod
    def after(cls, seconds: float, label: str = "deadline") -> Deadline:
        return cls(time.monotonic() + seconds, label)

    def remaining(self) -> float:
        """Seconds left (0 when passed)."""
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at


_CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("vidreason_deadline", default=None)


def current_deadline() -> Deadline | None:
    """The deadline of the run this code runs in (None: unbounded)."""
    return _CURRENT.get()


@contextlib.contextmanager
def deadline_scope(deadline: Deadline | None) -> Iterator[Deadline | None]:
    """Run the block under ``deadline`` (or under an enclosing one that ends earlier); None keeps the current."""
    outer = _CURRENT.get()
    effective = deadline if outer is None or (deadline is not None and deadline.at < outer.at) else outer
    token = _CURRENT.set(effective)
    try:
        yield effective
    finally:
        _CURRENT.reset(token)


_ABANDONED: list[threading.Thread] = []
_ABANDONED_LOCK = threading.Lock()


def abandoned_workers() -> list[threading.Thread]:
    """Workers of ``call_with_time_limit`` calls that stopped waiting and that are still running."""
    with _ABANDONED_LOCK:
        _ABANDONED[:] = [t for t in _ABANDONED if t.is_alive()]
        return list(_ABANDONED)


class TimeLimitExceeded(TimeoutError):
    """``call_with_time_limit`` stopped waiting (the worker may still be running, abandoned)."""


def call_with_time_limit(
    fn: Callable[[], T], seconds: float, *, on_expiry: Callable[[], None] | None = None, name: str = "vidreason-call"
) -> T:
    """``fn()`` run in a daemon thread (with this context); ``TimeLimitExceeded`` after ``seconds`` whatever
    ``fn`` does. ``on_expiry`` is called then (e.g. to close the connection the worker blocks on)."""
    result: list[T] = []
    error: list[BaseException] = []
    done = threading.Event()
    ctx = contextvars.copy_context()

    def work() -> None:
        try:
            result.append(ctx.run(fn))
        except BaseException as e:  # handed to the waiting thread
            error.append(e)
        finally:
            done.set()

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    if not done.wait(max(0.0, seconds)):
        with _ABANDONED_LOCK:
            _ABANDONED.append(thread)
        if on_expiry is not None:
            with contextlib.suppress(Exception):
                on_expiry()
        raise TimeLimitExceeded(f"no result within {seconds:.3g} s")
    if error:
        raise error[0]
    return result[0]


__all__ = [
    "Deadline",
    "TimeLimitExceeded",
    "abandoned_workers",
    "call_with_time_limit",
    "current_deadline",
    "deadline_scope",
]
