"""The background iterator the decode pass reads frames through."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from vidreason.tools.core.prefetch import prefetch


def test_yields_everything_in_order() -> None:
    assert list(prefetch(iter(range(50)), depth=2)) == list(range(50))
    assert list(prefetch(iter([]))) == []


def test_runs_ahead_in_another_thread() -> None:
    threads: list[str] = []

    def items() -> Iterator[int]:
        for i in range(3):
            threads.append(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), name="ahead")) == [0, 1, 2]
    assert threads == ["ahead"] * 3


def test_error_is_raised_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("damaged at 2")

    got = []
    with pytest.raises(ValueError, match="damaged at 2"):
        for x in prefetch(items()):
            got.append(x)
    assert got == [1, 2]


def test_stopping_early_closes_the_producer() -> None:
    closed = threading.Event()
    made: list[int] = []

    def items() -> Iterator[int]:
        try:
            for i in range(1000):
                made.append(i)
                yield i
        finally:
            closed.set()

    stream = prefetch(items(), depth=1)
    assert next(stream) == 0
    stream.close()  # joins the producer
    assert closed.is_set()
    assert len(made) <= 3  # one handed over, at most one queued and one waiting to be


def test_a_slow_consumer_bounds_what_is_held() -> None:
    made: list[int] = []

    def items() -> Iterator[int]:
        for i in range(100):
            made.append(i)
            yield i

    stream = prefetch(items(), depth=2)
    assert next(stream) == 0
    time.sleep(0.2)
    assert len(made) <= 4
    assert list(stream) == list(range(1, 100))
