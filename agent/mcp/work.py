"""Blocking work for a tool call: run in a worker thread, cancellable, reporting progress, failing in one line.

* ``in_worker``: the call stops waiting as soon as the client cancels (the thread is abandoned), and the work
  itself stops at its next progress report (an index build reports after every decoded chunk and stage).
* ``progress_reporter``: the index build's ``(stage, fraction)`` callback as MCP progress notifications.
* ``detached``: async work (a graph run) as its own task, so a cancelled request stops waiting at once.
* ``tool_errors``: a ``VidreasonError`` comes back as an MCP tool error carrying the line the CLI prints.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, TextContent

from vidreason.tools.core.errors import VidreasonError

log = logging.getLogger(__name__)
T = TypeVar("T")
Progress = Callable[[str, float], None]

#: seconds between two progress notifications of the same stage
PROGRESS_EVERY_S = 0.25


class Cancelled(Exception):
    """The client cancelled the request; raised inside the worker at its next progress report."""


def error_line(e: BaseException) -> str:
    """The one line the CLI prints for ``e``."""
    text = " ".join(str(e).split())
    if isinstance(e, VidreasonError):
        return f"vidreason: error: {text}"
    return f"vidreason: unexpected error: {type(e).__name__}: {text} (the server's log has the traceback)"


def tool_errors(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap an async tool so that any failure becomes an ``is_error`` result with ``error_line`` as its text
    (the SDK would otherwise prefix it, or hide the message of anything but a ``ToolError``)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except VidreasonError as e:
            log.info("%s failed: %s", fn.__name__, e)
            return CallToolResult(content=[TextContent(type="text", text=error_line(e))], is_error=True)
        except Exception as e:  # a bug: keep the traceback in the log, tell the client one line
            log.exception("%s crashed", fn.__name__)
            return CallToolResult(content=[TextContent(type="text", text=error_line(e))], is_error=True)

    return wrapper


def progress_reporter(ctx: Context | None, cancel: threading.Event, steps: int) -> Progress:
    """A build-progress callback for a worker thread: raises ``Cancelled`` once ``cancel`` is set, else sends
    ``progress/steps`` to the client (``decode`` counts as one step, each later stage as one more)."""
    done, last_stage, last_sent = 0, "", 0.0

    def report(stage: str, fraction: float) -> None:
        nonlocal done, last_stage, last_sent
        if cancel.is_set():
            raise Cancelled("cancelled by the client")
        if ctx is None:
            return
        if stage == "decode":
            value = max(0.0, min(1.0, fraction))
        else:
            done += 1
            value = 1.0 + done
        now = time.monotonic()
        if stage == last_stage and now - last_sent < PROGRESS_EVERY_S and fraction < 1.0:
            return
        last_stage, last_sent = stage, now
        message = f"decoding {fraction:.0%}" if stage == "decode" else f"stage {stage} done"
        try:
            anyio.from_thread.run(ctx.report_progress, min(value, float(steps)), float(steps), message)
        except Exception as e:  # the client went away, or the loop is closing: keep building
            log.debug("progress not sent: %s", e)

    return report


async def in_worker(fn: Callable[[threading.Event], T]) -> T:
    """``fn(cancel)`` in a worker thread. When the request is cancelled the caller stops waiting at once and
    ``cancel`` is set, so work that checks it (through ``progress_reporter``) stops too."""
    cancel = threading.Event()
    try:
        return await anyio.to_thread.run_sync(fn, cancel, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        cancel.set()
        log.info("request cancelled; the worker stops at its next checkpoint")
        raise


async def detached(work: Coroutine[Any, Any, T], lock: asyncio.Lock) -> T:
    """Await ``work`` as its own task holding ``lock``. When the request is cancelled the caller stops waiting at
    once and the task is cancelled too (a graph run stops before its next step); ``lock`` is released only when
    the task has wound down, so the next run never overlaps it."""
    await lock.acquire()
    try:
        task = asyncio.ensure_future(work)
    except BaseException:
        lock.release()
        raise

    def done(t: asyncio.Future[T]) -> None:
        lock.release()
        if not t.cancelled() and t.exception() is not None:
            log.debug("detached work ended with %r", t.exception())

    task.add_done_callback(done)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        log.info("request cancelled; the run stops before its next step")
        raise


__all__ = ["PROGRESS_EVERY_S", "Cancelled", "detached", "error_line", "in_worker", "progress_reporter", "tool_errors"]
