"""Checks on input files before and while they are decoded: unusable paths (missing, symlink loops, folders,
empty files), still images passed as videos, and the display rotation of phone videos.

Design choice: a still image (or a single frame without a duration, e.g. a PNG renamed ``.mp4``) is refused
with ``StillImage`` rather than indexed as a 0 s video: every stage and the grounder reason about time, and a
still has none. The message says how to make a video of it.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from vidreason.tools.core.errors import StillImage, VideoOpenError

log = logging.getLogger(__name__)


def check_file(path: str | Path) -> Path:
    """``path`` when it names a non-empty file; else ``VideoOpenError`` with one line saying what is wrong
    (missing, a broken symlink, a symlink loop, a directory, empty, unreadable)."""
    p = Path(path)
    try:
        st = os.stat(p)
    except ValueError as e:  # e.g. an embedded NUL byte
        raise VideoOpenError(f"{str(p)!r}: not a valid path ({e})") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise VideoOpenError(f"{p}: symlink loop (the link leads back to itself)") from None
        if e.errno == errno.ENOENT and os.path.islink(p):
            raise VideoOpenError(f"{p}: broken symlink (its target {os.readlink(p)} does not exist)") from None
        if e.errno == errno.ENOENT:
            raise VideoOpenError(f"{p}: no such file") from None
        raise VideoOpenError(f"{p}: cannot open ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise VideoOpenError(f"{p}: is a directory, not a video file")
    if st.st_size == 0 and stat.S_ISREG(st.st_mode):
        raise VideoOpenError(f"{p}: file is empty (0 bytes)")
    return p


def resolve_video_path(path: str | Path) -> Path:
    """The absolute, symlink-free path of a video file (``check_file`` errors for unusable paths)."""
    return check_file(path).resolve()


# ------------------------------------------------------------------------------------------------ rotation
def frame_rotation(frame: Any) -> int:
    """The display rotation of a decoded PyAV frame (its display-matrix side data), in degrees
    counter-clockwise, rounded to a multiple of 90 (0 when there is none)."""
    try:
        degrees = float(getattr(frame, "rotation", 0) or 0)
    except (TypeError, ValueError):
        return 0
    return round(degrees / 90.0) % 4 * 90


def rotate(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """``rgb`` as displayed: turned ``rotation`` degrees counter-clockwise (what players and ffmpeg show)."""
    return np.ascontiguousarray(np.rot90(rgb, rotation // 90)) if rotation else rgb


def first_frame_rotation(container: Any, stream: Any) -> int:
    """Rotation of the first decodable frame of ``stream`` (PyAV exposes the display matrix on frames only);
    rewinds the container first."""
    try:
        container.seek(0, stream=stream)
        for frame in container.decode(stream):
            return frame_rotation(frame)
    except Exception as e:  # a damaged file: decoding reports it properly later
        log.debug("%s: no rotation read (%s)", getattr(container, "name", "?"), e)
    return 0


# ------------------------------------------------------------------------------------------------ still images
def _scan_packets(container: Any, stream: Any) -> tuple[int, float]:
    """Packets of ``stream`` and where the last one ends (seconds), demuxing (not decoding) the whole file."""
    count, end = 0, 0.0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            count += 1
            if packet.pts is not None and packet.time_base:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except Exception as e:  # a damaged tail only limits the scan
        log.debug("%s: packet scan stopped: %s", getattr(container, "name", "?"), e)
    return count, end


def duration_from_packets(path: str | Path, container: Any, stream: Any, fps: float) -> tuple[float, int]:
    """``(duration, frames)`` of a video stream whose headers store no duration (an image, a raw stream),
    from its packets; rewinds the container. ``StillImage`` for one frame, ``VideoOpenError`` for frames
    without timestamps."""
    count, end = _scan_packets(container, stream)
    try:
        container.seek(0, stream=stream)
    except Exception as e:  # the next reader re-opens or copes with the position
        log.debug("%s: rewind failed: %s", path, e)
    codec = getattr(stream.codec_context, "name", None) or "?"
    size = f"{stream.codec_context.width}x{stream.codec_context.height}"
    name = Path(path).name
    if count <= 1:
        raise StillImage(
            f"{path}: a still image ({codec} {size}, one frame, no duration), not a video; to index it, make "
            f"a video of it first: ffmpeg -loop 1 -i {name} -t 5 -pix_fmt yuv420p still.mp4"
        )
    if end <= 0:
        raise VideoOpenError(
            f"{path}: {count} {codec} frames without timestamps (a raw stream?); put them in a container "
            f"first: ffmpeg -r {fps:g} -i {name} -c copy video.mp4"
        )
    return end, count


__all__ = [
    "check_file",
    "duration_from_packets",
    "first_frame_rotation",
    "frame_rotation",
    "resolve_video_path",
    "rotate",
]
