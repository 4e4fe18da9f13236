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


#: ``ONEDNN_MAX_CPU_ISA`` values -> feature flags a CPU capped at that ISA does not have (prefixes)
_ISA_CAPS: dict[str, tuple[str, ...]] = {
    "SSE41": ("avx", "fma", "f16c", "amx"),
    "AVX": ("avx2", "avx512", "avx_vnni", "fma", "amx"),
    "AVX2": ("avx512", "avx_vnni", "amx"),
    "AVX2_VNNI": ("avx512", "amx"),
    "AVX2_VNNI_2": ("avx512", "amx"),
    "AVX512_CORE": ("avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx"),
    "AVX512_CORE_VNNI": ("avx512_bf16", "avx512_fp16", "amx"),
    "AVX512_CORE_BF16": ("avx512_fp16", "amx"),
    "AVX512_CORE_FP16": ("amx",),
}


def cpu_isa_flags() -> frozenset[str]:
    """The CPU flags the math libraries may use: :func:`cpu_flags` without the instruction sets above
    ``ONEDNN_MAX_CPU_ISA`` (oneDNN's own cap, read now), so a capped process (or a benchmark emulating an
    older CPU) also chooses the code paths of that CPU."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    hidden = _ISA_CAPS.get(cap, ())
    flags = cpu_flags()
    return frozenset(f for f in flags if not f.startswith(hidden)) if hidden else flags


def cpu_supports_bf16() -> bool:
    """Whether this CPU has bf16 matrix units (AMX-BF16). AVX512-BF16 alone does not count: ViT-B/32 in bf16
    measured slower than fp32 there (benchmarks/encoder_speed.py with ``ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16``)."""
    return "amx_bf16" in cpu_isa_flags()


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


__all__ = [
    "cpu_flags",
    "cpu_isa_flags",
    "cpu_model",
    "cpu_supports_bf16",
    "cuda_available",
    "hub_offline",
    "resolve_device",
]
