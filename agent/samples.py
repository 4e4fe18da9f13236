"""Named sample videos that registry packages ship, so a newcomer can try vidreason without a file of their own.

``sample`` (or ``sample:demo``) is the 60 s CC-BY-4.0 clip of the ``iscc-samples`` package (installed with the
``offline`` extra). Anything else is taken as a path.
"""

from __future__ import annotations

from pathlib import Path

from vidreason.tools.core.errors import VideoOpenError

SAMPLES = {"demo": "demo.mp4"}


def resolve_video(arg: str | Path) -> Path:
    """``sample[:NAME]`` -> the packaged sample's path; any other value -> ``Path(arg)`` (unchecked)."""
    text = str(arg)
    if text != "sample" and not text.startswith("sample:"):
        return Path(arg)
    name = text.partition(":")[2] or "demo"
    if name not in SAMPLES:
        raise VideoOpenError(f"unknown sample {name!r}; available: {', '.join(f'sample:{n}' for n in SAMPLES)}")
    try:
        import iscc_samples
    except ImportError as e:
        raise VideoOpenError(
            "the sample videos come with the 'iscc-samples' package: "
            "pip install 'vidreason[offline]' (or pass your own video file)"
        ) from e
    return Path(iscc_samples.__file__).parent / "files" / "video" / SAMPLES[name]
