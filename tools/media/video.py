"""Video I/O: probe a file, stream sampled frames in bounded chunks with exact timestamps, extract audio.

Decoding uses decord when it can and PyAV otherwise (odd target sizes, containers decord cannot read, or when
decord fails on the file). Memory is bounded by ``chunk`` frames whatever the video length.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vidreason.tools.core.errors import NoVideoStream, VideoOpenError
from vidreason.tools.core.media import FrameChunk, StreamInfo, VideoInfo
from vidreason.tools.media.audio import extract_audio, iter_audio  # noqa: F401  (the audio side of video I/O)
from vidreason.tools.media.inputs import check_file, duration_from_packets, first_frame_rotation, frame_rotation, rotate

log = logging.getLogger(__name__)

Decoder = Literal["auto", "pyav", "decord"]
_VFR_SCAN_PACKETS = 400


def _open(path: str | Path) -> Any:
    import av

    p = check_file(path)
    try:
        return av.open(str(p), metadata_errors="ignore")
    except Exception as e:  # av raises many error classes (InvalidDataError, OSError subclasses, ...)
        raise VideoOpenError(f"{p}: cannot open as a media file ({type(e).__name__}: {e})") from e


def _is_cover_art(stream: Any) -> bool:
    disposition = getattr(stream, "disposition", None)
    try:
        import av

        return bool(disposition is not None and disposition & av.stream.Disposition.attached_pic)
    except (AttributeError, TypeError):
        return False


def _video_stream(container: Any, path: str | Path) -> Any:
    """The first video stream that is not cover art; ``NoVideoStream`` when there is none."""
    videos = [s for s in container.streams.video if not _is_cover_art(s)]
    if not videos:
        raise NoVideoStream(f"{path}: no video stream")
    return videos[0]


def _rate(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ZeroDivisionError):
        return None
    return f if f > 0 and math.isfinite(f) else None


def _stream_info(s: Any) -> StreamInfo:
    kind = s.type if s.type in ("video", "audio", "subtitle", "data", "attachment") else "unknown"
    duration = float(s.duration * s.time_base) if s.duration is not None and s.time_base else None
    info = StreamInfo(
        index=s.index,
        kind=kind,
        codec=getattr(s.codec_context, "name", None),
        duration=duration,
        frames=int(s.frames) or None,
    )
    if kind == "video":
        info.width, info.height = s.codec_context.width, s.codec_context.height
        info.fps = _rate(s.average_rate) or _rate(s.guessed_rate) or _rate(s.base_rate)
    elif kind == "audio":
        info.sample_rate = s.codec_context.sample_rate
        info.channels = s.codec_context.channels if hasattr(s.codec_context, "channels") else None
    return info


def _looks_vfr(container: Any, stream: Any) -> bool:
    """Demux (no decode) the first packets of ``stream`` and check whether frame durations vary."""
    pts: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                pts.append(packet.pts)
            if len(pts) >= _VFR_SCAN_PACKETS:
                break
    except Exception:  # a damaged tail only limits the scan
        pass
    if len(pts) < 4:
        return False
    deltas = np.diff(np.sort(np.asarray(pts, dtype=np.float64)))
    deltas = deltas[deltas > 0]
    if len(deltas) < 3:
        return False
    median = float(np.median(deltas))
    return bool(np.mean(np.abs(deltas - median) > 0.25 * median) > 0.02)


def probe(path: str | Path) -> VideoInfo:
    """Streams, duration, frame rate, frame count, display rotation and whether the frame rate varies.

    Width and height are those displayed (rotation applied). Raises ``VideoOpenError`` for missing, empty or
    undecodable files, ``StillImage`` for an image (also renamed ``.mp4``) or a single frame without a
    duration, and ``NoVideoStream`` for audio-only files.
    """
    container = _open(path)
    with container:
        streams = [_stream_info(s) for s in container.streams]
        videos = [s for s in container.streams.video if not _is_cover_art(s)]
        if not videos:
            raise NoVideoStream(f"{path}: no video stream (streams: {[s.kind for s in streams] or 'none'})")
        v = videos[0]
        audios = list(container.streams.audio)
        vinfo = next(s for s in streams if s.index == v.index)
        fps = vinfo.fps or 25.0
        container_duration = container.duration / 1_000_000 if container.duration else 0.0
        duration = max(vinfo.duration or 0.0, container_duration)
        if not vinfo.width or not vinfo.height:
            raise VideoOpenError(f"{path}: video stream {v.index} has no frame size (corrupt header?)")
        frames = vinfo.frames or 0
        if duration <= 0:
            duration, frames = duration_from_packets(path, container, v, fps)
        frames = frames or round(duration * fps)
        vfr = _looks_vfr(container, v)
        rotation = first_frame_rotation(container, v)
        if rotation in (90, 270):
            vinfo.width, vinfo.height = vinfo.height, vinfo.width
        return VideoInfo(
            path=str(path),
            container=container.format.name,
            size_bytes=Path(path).stat().st_size,
            duration=duration,
            fps=fps,
            frame_count=frames,
            width=vinfo.width,
            height=vinfo.height,
            variable_frame_rate=vfr,
            rotation=rotation,
            video_stream=v.index,
            audio_stream=audios[0].index if audios else None,
            streams=streams,
        )


def target_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """Output (w, h) keeping the aspect ratio with the short side at ``short_side`` (even numbers, >= 2)."""
    if not short_side:
        return width - width % 2 or 2, height - height % 2 or 2
    scale = short_side / min(width, height)
    w, h = max(2, round(width * scale)), max(2, round(height * scale))
    return w - w % 2, h - h % 2


class _Sampler:
    """Selects, for each grid time k/fps, the first decoded frame at or after it (within ``tol`` seconds
    before it, i.e. half a native frame). Stateless over previous frames, so several rates can share one decode,
    and each frame is used at most once per rate."""

    def __init__(self, fps: float, tol: float) -> None:
        self.period = 1.0 / fps
        self.tol = tol
        self.k = 0

    def take(self, t: float) -> bool:
        if t < self.k * self.period - self.tol:
            return False
        self.k = max(self.k + 1, math.floor((t + self.tol) / self.period) + 1)
        return True


def _iter_pyav(
    path: Path, fps: float, extra_fps: float | None, short_side: int | None, chunk: int, end: float | None
) -> Iterator[FrameChunk]:
    import av

    container = _open(path)
    with container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        native = _rate(stream.average_rate) or 25.0
        if fps * 4 <= native:
            # sparse sampling: non-reference frames are never needed, and the deblocking filter only polishes
            # pixels that analysis-size frames average away (about 25% faster H.264 decoding)
            stream.codec_context.skip_frame = "NONREF"
            stream.codec_context.options = {**stream.codec_context.options, "skip_loop_filter": "all"}
        w, h = target_size(stream.codec_context.width, stream.codec_context.height, short_side)
        tol = 0.5 / native
        table, extra = _Sampler(fps, tol), (_Sampler(extra_fps, tol) if extra_fps else None)
        buf = _ChunkBuffer(chunk)
        last_t = -math.inf
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                t = float(frame.pts * frame.time_base) if frame.time_base else float(frame.time)
                if t <= last_t:  # duplicated / non-monotonic timestamps
                    continue
                last_t = t
                if end is not None and t > end:
                    break
                in_table = table.take(t)
                in_extra = extra.take(t) if extra else False
                if in_table or in_extra:
                    rgb = frame.to_ndarray(format="rgb24", width=w, height=h, interpolation="AREA")
                    buf.add(rotate(rgb, frame_rotation(frame)), t, in_table, in_extra)
                    if buf.full():
                        yield buf.flush()
        except av.error.FFmpegError as e:  # truncated / damaged stream: keep what decoded
            log.warning("%s: decoding stopped at %.2fs: %s", path, max(last_t, 0.0), e)
        if len(buf):
            yield buf.flush()


class _ChunkBuffer:
    def __init__(self, size: int) -> None:
        self.size = size
        self.next_index = 0
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        self.table: list[bool] = []
        self.extra: list[bool] = []

    def __len__(self) -> int:
        return len(self.times)

    def add(self, frame: np.ndarray, t: float, in_table: bool, in_extra: bool) -> None:
        self.frames.append(frame)
        self.times.append(t)
        self.table.append(in_table)
        self.extra.append(in_extra)

    def full(self) -> bool:
        return len(self.times) >= self.size

    def flush(self) -> FrameChunk:
        table = np.asarray(self.table, dtype=bool)
        indices = np.full(len(table), -1, dtype=np.int64)
        indices[table] = np.arange(self.next_index, self.next_index + int(table.sum()))
        self.next_index += int(table.sum())
        c = FrameChunk(
            frames=np.stack(self.frames),
            timestamps=np.asarray(self.times, dtype=np.float64),
            indices=indices,
            extra=np.asarray(self.extra, dtype=bool),
        )
        self.frames, self.times, self.table, self.extra = [], [], [], []
        return c


def _iter_decord(
    path: Path, fps: float, extra_fps: float | None, short_side: int | None, chunk: int, end: float | None
) -> Iterator[FrameChunk]:
    import decord

    first = decord.VideoReader(str(path), num_threads=1)[0].shape
    w, h = target_size(first[1], first[0], short_side)
    reader = decord.VideoReader(str(path), width=w, height=h, num_threads=0)
    stamps = np.asarray(reader.get_frame_timestamp(np.arange(len(reader))), dtype=np.float64)[:, 0]
    if end is not None:
        stamps = stamps[stamps <= end]
    tol = 0.5 / float(reader.get_avg_fps() or 25.0)
    table = _select(stamps, _Sampler(fps, tol))
    extra = _select(stamps, _Sampler(extra_fps, tol)) if extra_fps else np.zeros(len(stamps), bool)
    chosen = np.flatnonzero(table | extra)
    buf = _ChunkBuffer(chunk)  # decord applies the display rotation itself
    for i in range(0, len(chosen), chunk):
        idx = chosen[i : i + chunk]
        batch = reader.get_batch(idx.tolist()).asnumpy()
        for j, k in enumerate(idx):
            buf.add(batch[j], float(stamps[k]), bool(table[k]), bool(extra[k]))
        yield buf.flush()


def _select(stamps: np.ndarray, sampler: _Sampler) -> np.ndarray:
    return np.fromiter((sampler.take(float(t)) for t in stamps), dtype=bool, count=len(stamps))


def iter_frames(
    path: str | Path,
    fps: float,
    *,
    extra_fps: float | None = None,
    short_side: int | None = None,
    chunk: int = 32,
    end: float | None = None,
    decoder: Decoder = "auto",
) -> Generator[FrameChunk, None, None]:
    """Yield frames sampled at ``fps`` (first decoded frame at each k/fps, exact pts) in chunks of ``chunk``.

    Table frames (the ``fps`` grid) get consecutive ``indices`` 0, 1, 2, ... across chunks. With ``extra_fps``
    the same single decode also yields the frames of a second grid (``chunk.extra`` marks them; those not on the
    table grid have index -1): the shot detector looks at the video faster than the frame table samples it.

    ``short_side`` resizes on decode keeping the aspect ratio. ``decoder="auto"`` uses PyAV, which decodes
    sequentially with frame threading and skips non-reference frames at sparse sampling (measured faster than
    decord here, see benchmarks/index_speed.py), and falls back to decord when PyAV cannot decode the file.
    Raises ``VideoOpenError`` when no frame can be decoded at all.
    """
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    p = Path(path)
    order: list[Decoder] = ["pyav", "decord"] if decoder == "auto" else [decoder]
    errors: list[str] = []
    for name in order:
        produced = 0
        try:
            impl = _iter_pyav if name == "pyav" else _iter_decord
            for c in impl(p, fps, extra_fps, short_side, chunk, end):
                produced += len(c)
                yield c
        except NoVideoStream:
            raise
        except VideoOpenError as e:
            errors.append(str(e))
        except Exception as e:  # decoder-specific failures: try the next decoder if nothing was yielded
            if produced:
                log.warning("%s: %s decoder failed after %d frames: %s", p, name, produced, e)
                return
            errors.append(f"{name}: {type(e).__name__}: {e}")
        if produced:
            return
    detail = "; ".join(errors) if errors else "no decodable frames"
    raise VideoOpenError(f"{p}: could not decode any frame ({detail})")


def decode_windows(
    path: str | Path,
    windows: Sequence[tuple[float, float]],
    *,
    short_side: int | None = 72,
    seek_gap: float = 2.0,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Every native frame of each ``(start, end)`` window (seconds, inclusive), at ``short_side``: yields
    ``(window index, frames uint8 [N, H, W, 3], pts float64 [N])`` in order of ``start``.

    For frame-accurate looks at a few places of a long video (e.g. refining shot boundaries found on a
    sparse grid): the next window is reached by decoding on when it is closer than ``seek_gap`` seconds or
    than the longest keyframe distance seen so far (what a seek would cost), else by a seek to the keyframe
    before it; on the way to a window, H.264/HEVC frames no other frame depends on are not decoded. Windows
    may overlap. Raises ``VideoOpenError`` / ``NoVideoStream`` like :func:`iter_frames`.
    """
    order = sorted(range(len(windows)), key=lambda i: windows[i][0])
    if not order:
        return
    container = _open(path)
    with container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        native = _rate(stream.average_rate) or 25.0
        eps = 0.25 / native
        w, h = target_size(stream.codec_context.width, stream.codec_context.height, short_side)

        def small(frame: Any) -> np.ndarray:
            return frame.to_ndarray(format="rgb24", width=w, height=h, interpolation="AREA")

        time_base = float(stream.time_base) if stream.time_base else None
        skip_ok = stream.codec_context.name in ("h264", "hevc")
        frames_iter: Iterator[Any] | None = None
        # frames are converted to small RGB as they come: decoded frames hold buffers of FFmpeg's frame pool
        # (1.4 MB each at 720p), which grows to the most frames ever held and stays that size
        held: list[tuple[float, np.ndarray]] = []  # decoded frames not yet past every pending window
        position = -math.inf  # pts of the last decoded frame
        keyframe_gap = 0.0  # longest distance from a seek's keyframe to its window seen so far
        seek_from: float | None = None
        pos = 0
        while pos < len(order):
            group = [order[pos]]  # overlapping windows share one decode
            lo, hi = windows[order[pos]]
            while pos + len(group) < len(order) and windows[order[pos + len(group)]][0] <= hi + eps:
                group.append(order[pos + len(group)])
                hi = max(hi, windows[group[-1]][1])
            pos += len(group)
            if frames_iter is None or lo - eps < position or lo - position > max(seek_gap, keyframe_gap):
                if time_base:
                    container.seek(max(0, int(lo / time_base)), stream=stream, backward=True, any_frame=False)
                frames_iter, position, held, seek_from = iter(container.decode(stream)), -math.inf, [], lo
            taken = [(t, f) for t, f in held if lo - eps <= t <= hi + eps]
            for frame in frames_iter:
                if frame.pts is None:
                    continue
                t = float(frame.pts * frame.time_base) if frame.time_base else float(frame.time)
                if t <= position:
                    continue
                if seek_from is not None:  # the first frame after a seek: its keyframe
                    keyframe_gap, seek_from = max(keyframe_gap, seek_from - t), None
                position = t
                if skip_ok:  # far from the window: reference frames only (frame threads decode ahead)
                    stream.codec_context.skip_frame = "NONREF" if t < lo - 2.0 else "DEFAULT"
                if t > hi + eps:
                    held = [(t, small(frame))]
                    break
                if t >= lo - eps:
                    taken.append((t, small(frame)))
            for i in group:
                a, b = windows[i]
                sel = [(t, f) for t, f in taken if a - eps <= t <= b + eps]
                pts = np.asarray([t for t, _ in sel], dtype=np.float64)
                yield i, (np.stack([f for _, f in sel]) if sel else np.zeros((0, h, w, 3), np.uint8)), pts


def frames_at(
    path: str | Path, times: list[float], *, short_side: int | None = None
) -> list[tuple[float, float, np.ndarray]]:
    """The first decoded frame at or after each of ``times`` (seconds), as ``(asked time, exact time, RGB
    frame)``, in time order; each time is reached by seeking to the keyframe before it, so a few frames of a
    long video cost little (used for on-demand reads such as OCR of the frames of one span). Times past the end
    give nothing."""
    import av

    out: list[tuple[float, float, np.ndarray]] = []
    container = _open(path)
    with container:
        stream = _video_stream(container, path)
        w, h = target_size(stream.codec_context.width, stream.codec_context.height, short_side)
        for want in sorted(times):
            if stream.time_base is None:
                break
            container.seek(max(0, int(want / stream.time_base)), stream=stream, backward=True, any_frame=False)
            try:
                for frame in container.decode(stream):
                    if frame.pts is None:
                        continue
                    t = float(frame.pts * frame.time_base)
                    if t + 1e-3 >= want:
                        rgb = frame.to_ndarray(format="rgb24", width=w, height=h, interpolation="AREA")
                        out.append((want, t, rgb))
                        break
            except av.error.FFmpegError as e:  # damaged stream: keep what decoded
                log.warning("%s: decoding at %.2fs failed: %s", path, want, e)
    return out
