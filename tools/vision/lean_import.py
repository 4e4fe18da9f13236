"""open_clip without the packages a model does not use.

``import open_clip`` imports timm and transformers for the few architectures built on them (timm image towers,
Hugging Face text towers, CoCa's captioning), and its torchvision import pulls in ``torch._dynamo`` and with it
triton, which only runs on a GPU. A plain open_clip ViT on CPU uses none of them: :func:`open_clip_module` imports
open_clip with them held back (measured: 100-116 MB less peak memory in an index build, and the import takes 4.7 s
instead of 6.8 s on a 2-vCPU machine), and :func:`load_backends` imports them for real, and rebinds them in
open_clip, as soon as a model's config asks for one. Packages the process imported already are used as they are;
a package held back is importable again as soon as open_clip is in.
"""

from __future__ import annotations

import importlib
import importlib.abc
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from vidreason.tools.core.devices import cuda_available

log = logging.getLogger(__name__)

#: optional package -> the open_clip modules that bind it at import time
BACKENDS = {"timm": ("open_clip.timm_model",), "transformers": ("open_clip.hf_model", "open_clip.coca_model")}
_missing: set[str] = set()  # packages open_clip was imported without and has not been given since


class _HeldBack(importlib.abc.MetaPathFinder):
    """Makes ``import name`` (and its submodules) fail, as if not installed, in the thread that made it."""

    def __init__(self, names: list[str]) -> None:
        self.names = set(names)
        self.thread = threading.get_ident()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.partition(".")[0] in self.names and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"{fullname} held back while open_clip is imported", name=fullname)
        return None


@contextmanager
def _held_back(names: list[str]) -> Iterator[set[str]]:
    """Inside the block this thread cannot import ``names`` that are not imported yet (the set it yields);
    other threads can."""
    finder = _HeldBack([n for n in names if n not in sys.modules])
    sys.meta_path.insert(0, finder)
    try:
        yield finder.names
    finally:
        sys.meta_path.remove(finder)
        cached = getattr(sys.modules.get("torch.utils._triton"), "has_triton_package", None)
        if "triton" in finder.names and cached is not None:
            cached.cache_clear()  # torch asks again next time


def open_clip_module() -> ModuleType:
    """``open_clip``, imported without timm and transformers (and without triton when no CUDA GPU is usable);
    call :func:`load_backends` before building a model."""
    if "open_clip" in sys.modules:
        return sys.modules["open_clip"]
    names = [*BACKENDS, *([] if cuda_available() else ["triton"])]
    with _held_back(names) as held:
        import open_clip
    _missing.update(held & set(BACKENDS))
    return open_clip


def needed_backends(config: dict[str, Any] | None) -> list[str]:
    """The optional packages an open_clip model config builds on (CoCa: transformers for its captions)."""
    if not config:
        return []
    vision, text = config.get("vision_cfg") or {}, config.get("text_cfg") or {}
    return [
        *(["timm"] if vision.get("timm_model_name") else []),
        *(["transformers"] if text.get("hf_model_name") or "multimodal_cfg" in config else []),
    ]


def load_backends(open_clip: ModuleType, model_name: str) -> None:
    """Import the optional packages ``model_name`` builds on and rebind them in the open_clip modules that
    were imported without them (re-running those modules in place keeps every class they exported valid)."""
    for name in needed_backends(open_clip.get_model_config(model_name)):
        if name not in _missing:
            continue
        importlib.import_module(name)  # ImportError: the package is really missing
        for module in BACKENDS[name]:
            importlib.reload(sys.modules[module])
        _missing.discard(name)
        log.debug("open_clip: %s loaded for %s", name, model_name)


__all__ = ["BACKENDS", "load_backends", "needed_backends", "open_clip_module"]
