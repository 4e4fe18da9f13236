"""Needle-in-a-video-haystack generator: join clips (each with its own queries) at seeded positions into one
long video, separated by filler, and write its annotations in the Charades-STA format.

Outputs (``<name>`` in ``out_dir``): ``<name>.mp4`` (H.264 + AAC, common size/fps/audio), ``<name>.txt``
(``VID START END##query``, times shifted into the long video), ``<name>_durations.csv`` (``id,length``) and
``<name>.json`` (TFVTG layout ``{vid: {duration, timestamps, sentences}}`` plus a ``haystack`` manifest).
Clips without a video stream (speech recordings) are shown over a colour background; clips without audio get
silence. Every segment is cut to a whole number of frames, so the shifted times are exact to the frame.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import subprocess
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from vidreason.evals.datasets.base import iter_jsonl, read_json, require_file
from vidreason.evals.datasets.charades import parse_sta_line
from vidreason.evals.datasets.locator import VIDEO_EXTENSIONS, VideoLocator
from vidreason.tools.core.errors import ConfigError, DatasetError, VideoOpenError
from vidreason.tools.core.storage import write_text_atomic

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus", ".aac")


class Needle(BaseModel):
    """A query on a clip: ``start``/``end`` are seconds in the clip (None: the whole clip)."""

    clip: Path
    query: str
    start: float | None = Field(None, ge=0)
    end: float | None = Field(None, ge=0)

    @field_validator("query")
    @classmethod
    def _clean_query(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v or "##" in v:
            raise ValueError(f"query {v!r} must be non-empty and must not contain '##'")
        return v


class MediaInfo(BaseModel):
    duration: float
    has_video: bool
    has_audio: bool


class Segment(BaseModel):
    kind: Literal["clip", "filler"]
    source: str | None = Field(None, description="clip path, filler clip path, or None for a colour source")
    start: float
    frames: int
    duration: float


class HaystackResult(BaseModel):
    video_id: str
    video: str
    annotations: str
    durations_csv: str
    sidecar: str
    duration: float
    seed: int
    segments: list[Segment]
    queries: list[tuple[str, float, float]] = Field(description="(query, start, end) in the long video")


def probe_media(path: Path) -> MediaInfo:
    """Duration and stream kinds via ``ffprobe`` (:class:`VideoOpenError` when it cannot read the file)."""
    cmd = [
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "format=duration:stream=codec_type",
        "-of",
        "json",
        str(path),
    ]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
        info = json.loads(out.stdout)
        duration = float(info["format"]["duration"])
    except (OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
        raise VideoOpenError(f"cannot probe {str(path)!r} with ffprobe: {e}") from e
    kinds = {s.get("codec_type") for s in info.get("streams", [])}
    return MediaInfo(duration=duration, has_video="video" in kinds, has_audio="audio" in kinds)


def load_needles(spec: str | Path, clips_dir: str | Path | None = None) -> list[Needle]:
    """Needles from a JSON list (or jsonl) of ``{clip, query, start?, end?}`` (clip paths relative to
    ``clips_dir`` or the spec's folder) or a Charades-STA ``.txt`` whose ids name files in ``clips_dir``."""
    path = require_file(spec, "haystack needles")
    base = Path(clips_dir) if clips_dir else path.parent
    if path.suffix.lower() == ".txt":
        if clips_dir is None:
            raise ConfigError(f"needles {str(path)!r} are Charades-STA text: pass the clips folder (--clips)")
        locator = VideoLocator(base, VIDEO_EXTENSIONS + AUDIO_EXTENSIONS)
        needles: list[Needle] = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                vid, start, end, sentence = parse_sta_line(line, f"{path}:{n}")
                clip = locator.find(vid)
                if clip is None:
                    raise DatasetError(f"{path}:{n}: no clip named {vid!r} under {str(base)!r}")
                needles.append(Needle(clip=clip, query=sentence, start=start, end=end))
        return needles
    records = [r for _, r in iter_jsonl(path)] if path.suffix.lower() == ".jsonl" else read_json(path)
    if not isinstance(records, list) or not records:
        raise DatasetError(f"{path}: expected a non-empty list of {{clip, query, start, end}} objects")
    out: list[Needle] = []
    for i, rec in enumerate(records):
        try:
            needle = Needle.model_validate(rec)
        except ValueError as e:
            raise DatasetError(f"{path} item {i}: {e}") from e
        if not needle.clip.is_absolute():
            needle = needle.model_copy(update={"clip": base / needle.clip})
        out.append(needle)
    return out


def _split_gaps(total: float, n: int, rng: random.Random) -> list[float]:
    weights = [rng.uniform(0.2, 1.0) for _ in range(n)]
    s = sum(weights)
    return [total * w / s for w in weights]


def _video_chain(label: str, frames: int, fps: float, size: tuple[int, int]) -> str:
    w, h = size
    return (
        f"[{label}]scale='trunc(iw*sar/2)*2':ih,setsar=1,fps={fps},"
        f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
        f"format=yuv420p,tpad=stop=-1:stop_mode=clone,trim=end_frame={frames},setpts=N/({fps}*TB)"
    )


def _audio_chain(label: str, samples: int, rate: int) -> str:
    return (
        f"[{label}]aresample={rate},aformat=sample_fmts=fltp:channel_layouts=stereo,apad,"
        f"atrim=end_sample={samples},asetpts=N/SR/TB"
    )


def make_haystack(
    needles: list[Needle],
    out_dir: str | Path,
    *,
    name: str = "haystack",
    total_duration: float | None = None,
    filler_ratio: float = 2.0,
    filler: Literal["color", "clips"] = "color",
    filler_clips: list[Path] | None = None,
    seed: int = 0,
    size: tuple[int, int] = (640, 360),
    fps: float = 25.0,
    sample_rate: int = 16000,
    color: str = "black",
) -> HaystackResult:
    """Build the long video and its annotations. Filler totals ``total_duration - sum(clips)`` seconds when
    ``total_duration`` is given, else ``filler_ratio * sum(clips)``; it is split at seeded random points
    around the clips (whose order is also shuffled with ``seed``)."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise ConfigError("make-haystack needs ffmpeg and ffprobe on PATH")
    if not needles:
        raise ConfigError("make-haystack needs at least one needle")
    if filler == "clips" and not filler_clips:
        raise ConfigError("filler='clips' needs filler clips (--filler-clips)")
    if size[0] % 2 or size[1] % 2:
        raise ConfigError(f"size {size[0]}x{size[1]} must have even width and height (H.264 4:2:0)")
    rng = random.Random(seed)
    clips = list(dict.fromkeys(n.clip for n in needles))
    info = {c: probe_media(c) for c in clips}
    for n in needles:
        d = info[n.clip].duration
        s, e = n.start or 0.0, d if n.end is None else n.end
        if not (0 <= s < e <= d + 0.05):
            raise DatasetError(f"needle {n.query!r}: span ({s}, {e}) is not inside clip {n.clip} (0..{d:.2f} s)")
    rng.shuffle(clips)
    clip_total = sum(info[c].duration for c in clips)
    filler_total = (total_duration - clip_total) if total_duration is not None else filler_ratio * clip_total
    if filler_total < 0:
        raise ConfigError(f"total duration {total_duration} s is shorter than the clips ({clip_total:.2f} s)")
    gaps = _split_gaps(filler_total, len(clips) + 1, rng)
    fill_info = {p: probe_media(p) for p in (filler_clips or [])} if filler == "clips" else {}

    inputs: list[list[str]] = []
    chains: list[str] = []
    segments: list[Segment] = []
    t_frames = 0

    def add_input(args: list[str]) -> int:
        inputs.append(args)
        return len(inputs) - 1

    def add_segment(kind: Literal["clip", "filler"], src: Path | None, seconds: float, media: MediaInfo | None):
        nonlocal t_frames
        frames = round(seconds * fps)
        if frames <= 0:
            return
        dur = frames / fps
        k = len(segments)
        if src is not None and media is not None and media.has_video:
            loop = ["-stream_loop", "-1"] if kind == "filler" else []
            vi = add_input([*loop, "-t", f"{dur + 1:.3f}", "-i", str(src)])
            chains.append(_video_chain(f"{vi}:v:0", frames, fps, size) + f"[v{k}]")
            ai = vi if media.has_audio else None
        else:
            vi = add_input(["-f", "lavfi", "-i", f"color=c={color}:s={size[0]}x{size[1]}:r={fps}:d={dur + 1:.3f}"])
            chains.append(_video_chain(f"{vi}:v:0", frames, fps, size) + f"[v{k}]")
            ai = (
                add_input(["-t", f"{dur + 1:.3f}", "-i", str(src)])
                if src is not None and media and media.has_audio
                else None
            )
        if ai is None:
            ai = add_input(["-f", "lavfi", "-t", f"{dur:.3f}", "-i", f"anullsrc=r={sample_rate}:cl=stereo"])
        chains.append(_audio_chain(f"{ai}:a:0", round(dur * sample_rate), sample_rate) + f"[a{k}]")
        segments.append(
            Segment(kind=kind, source=str(src) if src else None, start=t_frames / fps, frames=frames, duration=dur)
        )
        t_frames += frames

    def add_filler(seconds: float) -> None:
        if filler == "clips" and filler_clips:
            src = rng.choice(filler_clips)
            add_segment("filler", src, seconds, fill_info[src])
        else:
            add_segment("filler", None, seconds, None)

    clip_start: dict[Path, float] = {}
    for gap, clip in zip(gaps, clips, strict=False):
        add_filler(gap)
        clip_start[clip] = t_frames / fps
        add_segment("clip", clip, info[clip].duration, info[clip])
    add_filler(gaps[-1])

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    video = out / f"{name}.mp4"
    tmp_video = out / f".{name}.partial.mp4"
    graph = ";".join(chains) + ";" + "".join(f"[v{i}][a{i}]" for i in range(len(segments)))
    graph += f"concat=n={len(segments)}:v=1:a=1[vout][aout]"
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-nostdin"]
    for args in inputs:
        cmd += args
    cmd += [
        "-filter_complex",
        graph,
        "-map",
        "[vout]",
        "-map",
        "[aout]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-pix_fmt",
        "yuv420p",
        "-r",
        f"{fps}",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-ar",
        str(sample_rate),
        "-movflags",
        "+faststart",
        str(tmp_video),
    ]
    logger.info("building %s from %d clip(s) and %d filler segment(s)", video, len(clips), len(segments) - len(clips))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tmp_video.unlink(missing_ok=True)
        raise VideoOpenError(f"ffmpeg failed building the haystack: {proc.stderr.strip()[-2000:]}")
    tmp_video.replace(video)

    total = t_frames / fps
    queries = []
    for n in needles:
        s0 = clip_start[n.clip]
        s = n.start or 0.0
        e = min(info[n.clip].duration if n.end is None else n.end, segments_dur(segments, n.clip))
        queries.append((n.query, round(s0 + s, 3), round(s0 + e, 3)))
    vid = name
    txt = out / f"{name}.txt"
    write_text_atomic(txt, "".join(f"{vid} {s:.2f} {e:.2f}##{q}\n" for q, s, e in queries))
    csv_path = out / f"{name}_durations.csv"
    write_text_atomic(csv_path, f"id,length\n{vid},{total:.3f}\n")
    sidecar = out / f"{name}.json"
    result = HaystackResult(
        video_id=vid,
        video=str(video),
        annotations=str(txt),
        durations_csv=str(csv_path),
        sidecar=str(sidecar),
        duration=total,
        seed=seed,
        segments=segments,
        queries=queries,
    )
    layout = {
        vid: {
            "duration": round(total, 3),
            "timestamps": [[s, e] for _, s, e in queries],
            "sentences": [q for q, _, _ in queries],
            "haystack": result.model_dump(mode="json"),
        }
    }
    write_text_atomic(sidecar, json.dumps(layout, indent=2))
    return result


def segments_dur(segments: list[Segment], clip: Path) -> float:
    """The encoded length of ``clip``'s segment (clip durations are rounded to whole frames)."""
    for seg in segments:
        if seg.kind == "clip" and seg.source == str(clip):
            return seg.duration
    raise KeyError(str(clip))
