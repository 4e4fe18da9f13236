"""The model hub, decided once: is it reachable, and which model loads already failed in this cache.

``go_offline_if_unreachable(cache_dir)`` is called where a run starts (``VideoReasoner``, ``vidreason index``).
When ``HF_HUB_OFFLINE`` is unset it opens one TCP connection to the hub (``HF_ENDPOINT``'s host, or the
HTTPS proxy when one is set) with a short timeout; the answer is kept for the process and recorded under the
cache dir for a few minutes, so the next command does not ask again. When the hub is unreachable it sets
``HF_HUB_OFFLINE=1`` for the rest of the process (and in an already imported ``huggingface_hub``), logs that
once, and every loader then fails fast instead of retrying the network: the same result as setting it by hand.

``known_failure`` / ``record_failure`` keep, under ``<cache_dir>/models/failures.json``, the model loads that
failed with ``ModelUnavailable`` (keyed by the model's key and whether the hub was offline), so the next
video or process does not pay for the same doomed load; ``forget_failures`` (``vidreason index --force``)
clears them. A different model, setting or hub state is a different key, and is tried.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vidreason.tools.core import storage
from vidreason.tools.core.devices import hub_offline
from vidreason.tools.core.errors import VidreasonError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT_S = 1.5
REMEMBER_S = 300.0
HUB_FILE = "hub.json"
FAILURES_FILE = Path("models") / "failures.json"

_lock = threading.Lock()
_state: dict[str, Any] = {}  # this process's answer: {"reachable": bool, "target": str, "auto_offline": bool}


def hub_target() -> tuple[str, int]:
    """``(host, port)`` a connection to the hub goes to first: the HTTPS proxy if one is set, else the hub."""
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        proxy = os.environ.get(name)
        if proxy:
            parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            if parts.hostname:
                return parts.hostname, parts.port or 8080
    parts = urlsplit(os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)
    return parts.hostname or "huggingface.co", parts.port or (80 if parts.scheme == "http" else 443)


def _connects(host: str, port: int, timeout_s: float) -> bool:
    """Whether a TCP connection opens within ``timeout_s`` (name lookup included: it runs in a thread)."""
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=attempt, daemon=True, name="vidreason-hub-check")
    t.start()
    t.join(timeout_s + 0.1)
    return bool(result and result[0])


def _read_record(path: Path, target: str) -> bool | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    fresh = time.time() - float(data.get("checked", 0)) < REMEMBER_S
    return bool(data["reachable"]) if fresh and data.get("target") == target and "reachable" in data else None


def hub_reachable(cache_dir: Path | None = None, *, timeout_s: float = TIMEOUT_S) -> bool:
    """Whether the hub (or the proxy in front of it) accepts a TCP connection: asked once per process, and
    reused from ``<cache_dir>/hub.json`` when another process asked in the last ``REMEMBER_S`` seconds."""
    host, port = hub_target()
    target = f"{host}:{port}"
    with _lock:
        if _state.get("target") == target:
            return bool(_state["reachable"])
        record = Path(cache_dir) / HUB_FILE if cache_dir else None
        reachable = _read_record(record, target) if record else None
        if reachable is None:
            t0 = time.perf_counter()
            reachable = _connects(host, port, timeout_s)
            log.debug("hub %s reachable=%s (%.2fs)", target, reachable, time.perf_counter() - t0)
            if record is not None:
                try:
                    payload = {"target": target, "reachable": reachable, "checked": time.time()}
                    storage.write_text_atomic(record, json.dumps(payload))
                except OSError as e:  # a read-only cache still works, it only asks again next time
                    log.debug("cannot record the hub check in %s: %s", record, e)
        _state.update(target=target, reachable=reachable)
        return reachable


def go_offline_if_unreachable(cache_dir: Path | None = None) -> bool:
    """When ``HF_HUB_OFFLINE`` is unset and the hub is unreachable, set it for the rest of the process and say
    so once. Returns whether the process is now offline (by the user's setting or by this check)."""
    if "HF_HUB_OFFLINE" in os.environ or hub_offline():
        return hub_offline()
    if hub_reachable(cache_dir):
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    hub = sys.modules.get("huggingface_hub.constants")
    if hub is not None:  # imported before this check: its constant was read at import time
        setattr(hub, "HF_HUB_OFFLINE", True)  # noqa: B010 - a module constant, set on purpose
    with _lock:
        first = not _state.get("auto_offline")
        _state["auto_offline"] = True
    if first:
        log.warning(
            "the model hub (%s) cannot be reached: working offline for this run (HF_HUB_OFFLINE=1); models "
            "load only from local files and packages",
            _state.get("target"),
        )
    return True


def offline_reason() -> str:
    """Why loaders may not download, in words for an error message (empty when they may)."""
    if _state.get("auto_offline"):
        return f"offline: the model hub ({_state.get('target')}) could not be reached"
    if hub_offline():
        return "offline: HF_HUB_OFFLINE=1 was set"
    return ""


# ------------------------------------------------------------------------------------------ load failures
def _failure_key(model_key: str) -> str:
    return f"{model_key}|offline={int(hub_offline())}"


def _read_failures(cache_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(cache_dir) / FAILURES_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def known_failure(cache_dir: Path, model_key: str) -> str | None:
    """The reason the load of ``model_key`` failed before in this cache (same hub state), or None."""
    entry = _read_failures(cache_dir).get(_failure_key(model_key))
    return str(entry["reason"]) if isinstance(entry, dict) and "reason" in entry else None


def record_failure(cache_dir: Path, model_key: str, reason: str) -> None:
    """Remember that ``model_key`` could not load (read-modify-write under a lock)."""
    path = Path(cache_dir) / FAILURES_FILE
    try:
        with storage.file_lock(path.with_suffix(".lock"), timeout_s=10):
            data = _read_failures(cache_dir)
            data[_failure_key(model_key)] = {"reason": reason, "time": time.time()}
            storage.write_text_atomic(path, json.dumps(data, indent=1))
    except (OSError, VidreasonError) as e:  # not remembered: the next run tries again
        log.debug("cannot record the failed load of %s: %s", model_key, e)


def forget_failures(cache_dir: Path) -> None:
    """Forget every recorded load failure (the next run tries each model again)."""
    (Path(cache_dir) / FAILURES_FILE).unlink(missing_ok=True)


def reset() -> None:
    """Forget this process's hub answer (tests)."""
    with _lock:
        _state.clear()


__all__ = [
    "forget_failures",
    "go_offline_if_unreachable",
    "hub_reachable",
    "hub_target",
    "known_failure",
    "offline_reason",
    "record_failure",
    "reset",
]
