"""Ray plumbing shared by distributed indexing and evaluation: connecting to a cluster, and a bounded,
retrying map of a function over videos on a pool of actors.

Each actor holds one instance of the mapped callable for its whole life, and the index stages it uses are
with models in the process-wide model registry, so a model is loaded once per actor, not once per video.
At most ``max_in_flight`` items are submitted at a time (``ray.wait`` on the oldest results), so the
object store and the workers' memory stay bounded whatever the number of videos. An item whose worker
process dies (killed, out of memory, segfault in a decoder) is retried on a fresh actor up to
``max_retries`` times; an exception raised by the callable is returned as that item's error, never raised.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Generic, TypeVar

from vidreason.tools.core.errors import ConfigError

log = logging.getLogger(__name__)

RAY_INSTALL_HINT = "Ray is not installed: pip install 'vidreason[ray]'"

T = TypeVar("T")
R = TypeVar("R")


def require_ray() -> ModuleType:
    """The ``ray`` module, or a ``ConfigError`` that says how to install it."""
    try:
        import ray
    except ImportError as e:
        raise ConfigError(f"{RAY_INSTALL_HINT} ({e})") from None
    return ray


def connect(
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    object_store_memory: int | None = None,
) -> bool:
    """Connect to the cluster at ``address`` (``"auto"``, ``"host:6379"``, ``"ray://host:10001"``), or start a
    local one when ``address`` is None/"" (Ray first looks for ``RAY_ADDRESS`` or a cluster started on this
    machine with ``ray start``) or ``"local"`` (always a new local instance).

    Returns True when this call initialised Ray (the caller then owns ``ray.shutdown()``); False when Ray was
    already initialised in this process (the caller's ``ray.init`` options stand).
    """
    ray = require_ray()
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"namespace": "vidreason", "log_to_driver": True}
    starts_local = address in (None, "", "local")
    if starts_local:
        kwargs.update(
            include_dashboard=False,
            num_cpus=num_cpus,
            num_gpus=num_gpus,
            object_store_memory=object_store_memory,
        )
    elif num_cpus is not None or num_gpus is not None:
        log.warning("num_cpus/num_gpus are ignored when connecting to the existing cluster %s", address)
    try:
        ray.init(address=address or None, **kwargs)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise ConfigError(
            f"cannot connect to the Ray cluster at {address!r}: {e} (give a head address such as "
            f"'auto', 'HOST:6379' or 'ray://HOST:10001', or no address for a local cluster)"
        ) from e
    log.info("Ray connected: %s", ray.cluster_resources())
    return True


@dataclass
class MapResult(Generic[T, R]):
    """One item's outcome: ``value`` when ``ok``, else ``error`` (``"Type: message"``) and ``traceback``."""

    position: int  # index of the item in the input sequence
    item: T
    ok: bool
    value: R | None = None
    error: str | None = None
    traceback: str | None = None
    attempts: int = 1
    wall_s: float = 0.0
    worker: str = ""  # "host:pid" of the process that ran it last


class _Worker:
    """A Ray actor body: keeps ``fn`` (and whatever it loads lazily) for its whole life."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.where = f"{socket.gethostname()}:{os.getpid()}"

    def run(self, item: Any) -> dict[str, Any]:
        t0 = time.perf_counter()
        try:
            value = self.fn(item)
        except Exception as e:  # one bad video must not fail the run: report it instead
            return {
                "ok": False,
                "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc(limit=8),
                "wall_s": time.perf_counter() - t0,
                "worker": self.where,
            }
        return {"ok": True, "value": value, "wall_s": time.perf_counter() - t0, "worker": self.where}


def default_workers(cpus_per_worker: float, gpus_per_worker: float, n_items: int) -> int:
    """How many actors fit into the cluster's resources (at least 1, at most one per item)."""
    ray = require_ray()
    res = ray.cluster_resources()
    fits = int(res.get("CPU", 1) // cpus_per_worker) if cpus_per_worker > 0 else n_items
    if gpus_per_worker > 0:
        fits = min(fits, int(res.get("GPU", 0) // gpus_per_worker))
        if fits == 0:
            raise ConfigError(
                f"--ray-gpus-per-worker {gpus_per_worker:g}: the cluster has "
                f"{res.get('GPU', 0):g} GPU(s); use 0 for CPU workers"
            )
    return max(1, min(fits, n_items))


def ray_map_videos(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    address: str | None = None,
    num_workers: int | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
    resources: dict[str, float] | None = None,
    max_in_flight: int | None = None,
    max_retries: int = 2,
) -> Iterator[MapResult[T, R]]:
    """Run ``fn(item)`` for every item on a pool of Ray actors; yield results as they complete.

    ``fn`` must be picklable (a module-level function or an object whose state is cheap to ship); each actor
    gets one copy, so an object that loads models lazily on first call loads them once per actor.
    ``max_in_flight`` (default: one per actor) bounds the items submitted but not yet collected. Connects
    (see :func:`connect`) if Ray is not initialised yet and shuts down again at the end in that case.
    """
    if max_retries < 0:
        raise ConfigError(f"max_retries={max_retries}; must be >= 0")
    if not items:
        return
    ray = require_ray()
    started = connect(address)
    try:
        n = num_workers or default_workers(cpus_per_worker, gpus_per_worker, len(items))
        limit = max(1, max_in_flight or n)
        actor_cls = ray.remote(_Worker).options(
            num_cpus=cpus_per_worker,
            num_gpus=gpus_per_worker,
            resources=resources or None,
            max_restarts=0,
            max_task_retries=0,
        )
        fn_ref = ray.put(fn)
        actors: list[Any] = [actor_cls.remote(fn_ref) for _ in range(n)]
        load = [0] * n
        pending: deque[tuple[int, T, int]] = deque((i, it, 0) for i, it in enumerate(items))
        in_flight: dict[Any, tuple[int, T, int, int, Any, float]] = {}
        log.info(
            "mapping %d item(s) over %d Ray actor(s) (%g CPU, %g GPU each, %d in flight)",
            len(items),
            n,
            cpus_per_worker,
            gpus_per_worker,
            limit,
        )
        try:
            while pending or in_flight:
                while pending and len(in_flight) < limit:
                    slot = min(range(n), key=load.__getitem__)
                    pos, item, attempts = pending.popleft()
                    ref = actors[slot].run.remote(item)
                    in_flight[ref] = (pos, item, attempts + 1, slot, actors[slot], time.perf_counter())
                    load[slot] += 1
                done, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in done:
                    pos, item, attempts, slot, actor, t0 = in_flight.pop(ref)
                    load[slot] -= 1
                    try:
                        out = ray.get(ref)
                    except ray.exceptions.RayError as e:  # the worker process died (or lost the result)
                        if actors[slot] is actor:  # replace it once, even if several calls were on it
                            log.warning("Ray worker died while on item %d (%s); starting a new one", pos, e)
                            ray.kill(actor, no_restart=True)
                            actors[slot] = actor_cls.remote(fn_ref)
                        reason = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
                        if attempts <= max_retries:
                            log.warning(
                                "retrying item %d (%s), attempt %d of %d",
                                pos,
                                item,
                                attempts + 1,
                                max_retries + 1,
                            )
                            pending.appendleft((pos, item, attempts))
                            continue
                        yield MapResult(
                            pos,
                            item,
                            ok=False,
                            error=f"worker died {attempts} time(s); last: {reason}",
                            attempts=attempts,
                            wall_s=time.perf_counter() - t0,
                        )
                        continue
                    yield MapResult(
                        pos,
                        item,
                        ok=out["ok"],
                        value=out.get("value"),
                        error=out.get("error"),
                        traceback=out.get("traceback"),
                        attempts=attempts,
                        wall_s=out["wall_s"],
                        worker=out["worker"],
                    )
        finally:
            for actor in actors:
                ray.kill(actor, no_restart=True)
    finally:
        if started:
            ray.shutdown()
