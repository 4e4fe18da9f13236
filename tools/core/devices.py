"""Where models run and whether a model hub may be asked, decided cheaply.

``cuda_available()`` imports torch only when an NVIDIA driver is present, so commands that never touch a
model (``vidreason info``, ``cache list``, ``trace``) start without torch. ``hub_offline()`` reads
``HF_HUB_OFFLINE`` at call time.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from vidreason.tools.core.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}


def _nvidia_driver_present() -> bool:
    if sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidiactl").exists()
    return True  # other platforms: only torch can tell


@functools.lru_cache(maxsize=1)
def cuda_available() -> bool:
    """Whether torch sees a usable CUDA device. Imports torch only when a driver is present."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1") or not _nvidia_driver_present():
        return False
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is usable, else ``cpu``; ``cpu``, ``cuda`` and ``cuda:N`` as given."""
    if device not in {"auto", "cpu", "cuda"} and not device.startswith("cuda:"):
        raise ConfigError(f"device {device!r} not allowed; use 'auto', 'cpu' or 'cuda'")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    return device


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of ``/proc/cpuinfo`` (empty where it cannot be read)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bf16 matrix instructions (AMX-BF16 or AVX512-BF16)."""
    flags = cpu_flags()
    return "amx_bf16" in flags or "avx512_bf16" in flags


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) asks for local files only (read now)."""
    return any(os.environ.get(k, "").strip().lower() in _TRUE for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


__all__ = ["cpu_flags", "cpu_model", "cpu_supports_bf16", "cuda_available", "hub_offline", "resolve_device"]
