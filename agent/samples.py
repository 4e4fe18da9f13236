"""Named sample videos, so a newcomer can try vidreason without a file of their own.

* ``sample`` (or ``sample:demo``): the 36 s demo with narration, title slides and hard cuts over real footage,
  built once under the cache dir on first use (``agent.demo``; needs ffmpeg and espeak-ng),
* ``sample:footage``: the raw 60 s CC-BY-4.0 clip of the ``iscc-samples`` package the demo's footage comes
  from (music, no speech).

Anything else is taken as a path. The CLI, the Python API and the UI resolve names the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vidreason.tools.core.errors import VideoOpenError


def _demo(cache_dir: Path, build: bool) -> Path | None:
    from vidreason.agent.demo import demo_path, ensure_demo

    if build:
        return ensure_demo(cache_dir)
    path = demo_path(cache_dir)
    return path if path.exists() else None


def _footage(cache_dir: Path, build: bool) -> Path | None:
    from vidreason.agent.demo import source_clip

    return source_clip()


SAMPLES: dict[str, Callable[[Path, bool], Path | None]] = {"demo": _demo, "footage": _footage}


def is_sample(arg: str | Path) -> bool:
    text = str(arg)
    return text == "sample" or text.startswith("sample:")


def video_arg(text: str) -> str | Path:
    """The argparse type of a VIDEO argument: a sample name stays a name (resolved once the cache dir is
    known), anything else becomes a ``Path``."""
    return text if is_sample(text) else Path(text)


def resolve_video(arg: str | Path, cache_dir: Path | None = None, *, build: bool = True) -> Path:
    """``sample[:NAME]`` -> the sample's path (the demo is built under ``cache_dir`` on first use; the
    settings' cache dir when None); any other value -> ``Path(arg)`` (unchecked).

    With ``build=False`` a sample that does not exist yet raises ``VideoOpenError`` instead of being built."""
    if not is_sample(arg):
        return Path(arg)
    name = str(arg).partition(":")[2] or "demo"
    if name not in SAMPLES:
        raise VideoOpenError(f"unknown sample {name!r}; available: {', '.join(f'sample:{n}' for n in SAMPLES)}")
    if cache_dir is None:
        from vidreason.tools.core.settings import Settings

        cache_dir = Settings().cache_dir
    path = SAMPLES[name](Path(cache_dir), build)
    if path is None:
        raise VideoOpenError(f"sample:{name} has not been built in {cache_dir} yet (nothing is cached for it)")
    return path


__all__ = ["SAMPLES", "is_sample", "resolve_video", "video_arg"]
