"""Run an iterator one step ahead in a background thread.

The index build's decode pass alternates between decoding a chunk (FFmpeg, which releases the GIL) and
feeding it to the frame stages (torch, numpy). Decoding the next chunk while the current one is consumed keeps
both cores busy once the transcript, which runs alongside, has finished.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterator[T], depth: int = 1, name: str = "vidreason-prefetch") -> Generator[T, None, None]:
    """Yield what ``items`` yields, made ahead in a daemon thread: at most ``depth`` items wait ready, one more
    may be in the making. An error of ``items`` is raised here at the point it occurred; closing this generator
    early stops the producer at its next item (and closes ``items`` there)."""
    slots: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            put(_Failed(e))
        finally:
            close = getattr(items, "close", None)
            if callable(close):
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


__all__ = ["prefetch"]
