"""The owner of loaded models: each is loaded once per key and handed to whoever asks, and can be released.

    models = ModelRegistry()
    enc = models.get(ModelKey("clip", "ViT-B-32/laion2b", "cpu", "bf16"), lambda: ClipEmbedder(...))
    models.release("clip")          # drop every CLIP model (GPU memory is freed once nobody holds it)

Index stages, the graph's tools, the UI, Ray actors and the MCP server all take a registry, so one process
loads a model once and can free it on purpose. A load that fails with ``ModelUnavailable`` is remembered for
the registry's life (an offline machine pays a hub's retries once, not once per video); ``forget_failures``
clears that. ``default_registry()`` is the process-wide registry used when a caller gives none.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from vidreason.tools.core.errors import ModelUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


class ModelKey(NamedTuple):
    """What identifies a loaded model."""

    kind: str  # "whisper", "clip", "blip2", "text-matcher", "ocr", "transnetv2", "captioner", ...
    name: str  # model id, weights tag or path, plus anything else that changes the instance
    device: str = "cpu"
    precision: str = "default"

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}@{self.device}/{self.precision}"


class ModelRegistry:
    """Loaded models by :class:`ModelKey`; thread-safe, each key loaded at most once at a time."""

    def __init__(self) -> None:
        self._models: dict[ModelKey, Any] = {}
        self._failures: dict[ModelKey, ModelUnavailable] = {}
        self._locks: dict[ModelKey, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: ModelKey, load: Callable[[], T]) -> T:
        """The model under ``key``, calling ``load()`` the first time. A ``ModelUnavailable`` from ``load`` is
        remembered and raised again for the same key without calling ``load``."""
        with self._guard:
            if key in self._models:
                return self._models[key]
            if key in self._failures:
                raise self._failures[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one loader per key; other keys load in parallel
            with self._guard:
                if key in self._models:
                    return self._models[key]
            log.debug("loading model %s", key)
            try:
                model = load()
            except ModelUnavailable as e:
                with self._guard:
                    self._failures[key] = e
                raise
            with self._guard:
                self._models[key] = model
            return model

    def put(self, key: ModelKey, model: Any) -> None:
        """Hold ``model`` under ``key`` (a model built elsewhere, or a stand-in in tests)."""
        with self._guard:
            self._models[key] = model
            self._failures.pop(key, None)

    def peek(self, key: ModelKey) -> Any | None:
        """The model under ``key`` if it is loaded (never loads)."""
        with self._guard:
            return self._models.get(key)

    def loaded(self) -> list[ModelKey]:
        """Keys of the models held now."""
        with self._guard:
            return list(self._models)

    def failures(self) -> dict[ModelKey, str]:
        """Keys whose load failed, with the reason."""
        with self._guard:
            return {k: str(e) for k, e in self._failures.items()}

    def forget_failures(self) -> None:
        with self._guard:
            self._failures.clear()

    def release(self, kind: str | None = None, name: str | None = None) -> int:
        """Drop the models of ``kind`` (and ``name``), or all; returns how many. Frees CUDA memory that only
        those models held."""
        with self._guard:
            gone = [k for k in self._models if (kind is None or k.kind == kind) and (name is None or k.name == name)]
            for k in gone:
                del self._models[k]
        if gone:
            gc.collect()
            if any(k.device.startswith("cuda") for k in gone):
                try:
                    import torch

                    torch.cuda.empty_cache()
                except Exception:  # pragma: no cover - no torch / no CUDA
                    pass
            log.info("released %d model(s): %s", len(gone), ", ".join(map(str, gone)))
        return len(gone)


_default: ModelRegistry | None = None
_default_guard = threading.Lock()


def default_registry() -> ModelRegistry:
    """The process-wide registry (created on first use)."""
    global _default
    with _default_guard:
        if _default is None:
            _default = ModelRegistry()
        return _default


__all__ = ["ModelKey", "ModelRegistry", "default_registry"]
