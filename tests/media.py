"""Small generated test media with known structure (ffmpeg lavfi + espeak-ng), shared by the test modules.

Everything here writes to a caller-given path and returns the ground truth (a test whose media needs a
missing ``ffmpeg``/``ffprobe``/``espeak-ng`` is skipped with the reason)::

    cuts = make_cut_video(p, [("red", 2), ("testsrc2", 2), ("blue", 2)], transitions={1: ("fade", 1.0)})
    words = make_speech_video(p, [(1.0, "hello world"), (6.0, "good morning")], duration=10)
    times = make_vfr_video(p, [(25, 1.0), (10, 1.0)])
    frames, ts = decode_frames(p, fps=4)

A *source* is a colour name (``"red"``, ``"0x336699"``), a bare lavfi source name (``"testsrc2"``,
``"smptebars"``, ``"mandelbrot"``, ``"gradients"``, ``"cellauto"``, ...) or a full lavfi source spec
containing ``=`` (size and rate are appended, and a trim to the duration). Transitions are ffmpeg ``xfade``
names: ``"fade"`` (cross
dissolve), ``"fadeblack"`` (fade to black and back), ``"dissolve"`` (noise dissolve), ``"wipeleft"``, ...
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from vidreason.tools.core.media import Word

_LAVFI_SOURCES = {
    "testsrc",
    "testsrc2",
    "smptebars",
    "smptehdbars",
    "rgbtestsrc",
    "yuvtestsrc",
    "mandelbrot",
    "gradients",
    "cellauto",
    "life",
    "pal75bars",
    "pal100bars",
    "allrgb",
    "allyuv",
}


@dataclass(frozen=True)
class Transition:
    """A boundary between two segments: ``start == end`` for a hard cut, else the transition's span (s)."""

    start: float
    end: float
    kind: str  # "cut" or an xfade name

    @property
    def time(self) -> float:
        """Middle of the transition (the cut time for a hard cut)."""
        return (self.start + self.end) / 2


def has_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def has_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def require_tool(name: str) -> None:
    """Skip the calling test (with the reason) when the system tool ``name`` is not on PATH."""
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed (apt-get install {_APT.get(name, name)})")


_APT = {"ffprobe": "ffmpeg", "espeak-ng": "espeak-ng", "ffmpeg": "ffmpeg"}


def _run(cmd: list[str]) -> None:
    require_tool(cmd[0])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")


def _source(src: str, seconds: float, size: tuple[int, int], fps: float) -> str:
    w, h = size
    common, trim = f"s={w}x{h}:r={fps}", f"trim=duration={seconds}"  # not every source takes d=
    if "=" in src:
        return f"{src}:{common},{trim}"
    if src in _LAVFI_SOURCES:
        if src in ("allrgb", "allyuv"):  # fixed 4096x4096 sources: scale them down
            return f"{src}=r={fps},scale={w}:{h},{trim}"
        return f"{src}={common},{trim}"
    return f"color=c={src}:{common},{trim}"


def _audio_input(kind: str | None, duration: float) -> list[str]:
    if kind is None:
        return []
    if kind == "silence":
        return ["-f", "lavfi", "-i", f"anullsrc=r=16000:cl=mono:d={duration}"]
    if kind == "tone":
        return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={duration}"]
    raise ValueError(f"audio={kind!r}; allowed: None, 'silence', 'tone'")


def make_cut_video(
    path: str | Path,
    segments: Sequence[tuple[str, float]],
    *,
    size: tuple[int, int] = (320, 180),
    fps: float = 25,
    transitions: Mapping[int, tuple[str, float]] | None = None,
    audio: str | None = None,
) -> list[Transition]:
    """Join lavfi sources back to back; returns the boundaries (one per joint, in order).

    ``transitions[i] = (xfade_name, seconds)`` makes the joint between segment ``i - 1`` and ``i`` gradual
    (the transition overlaps the end of segment ``i - 1`` and the start of segment ``i``, so the video is
    shorter than the sum of the segment lengths). Other joints are hard cuts. ``audio``: None (no audio
    stream), ``"silence"`` or ``"tone"``. Total duration: ``transitions[-1].end`` plus the last segment's
    remaining length; use
    :func:`video_duration` for the exact value.
    """
    if not segments:
        raise ValueError("segments must not be empty")
    transitions = dict(transitions or {})
    bad = [i for i in transitions if not 1 <= i < len(segments)]
    if bad:
        raise ValueError(f"transition indices {bad} out of range 1..{len(segments) - 1}")
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error"]
    filters = []
    for i, (src, seconds) in enumerate(segments):
        cmd += ["-f", "lavfi", "-i", _source(src, seconds, size, fps)]
        filters.append(f"[{i}:v]format=yuv420p,setsar=1,fps={fps},settb=AVTB[s{i}]")
    bounds: list[Transition] = []
    acc, total = "s0", float(segments[0][1])
    for i in range(1, len(segments)):
        seconds = float(segments[i][1])
        out = f"j{i}"
        if i in transitions:
            name, d = transitions[i]
            if not 0 < d < min(seconds, float(segments[i - 1][1])):
                raise ValueError(f"transition {i} of {d}s must be shorter than both segments it joins")
            offset = total - d
            filters.append(f"[{acc}][s{i}]xfade=transition={name}:duration={d}:offset={offset:.6f}[{out}]")
            bounds.append(Transition(offset, total, name))
            total = total - d + seconds
        else:
            filters.append(f"[{acc}][s{i}]concat=n=2:v=1:a=0[{out}]")
            bounds.append(Transition(total, total, "cut"))
            total += seconds
        acc = out
    cmd += _audio_input(audio, total)
    cmd += ["-filter_complex", ";".join(filters), "-map", f"[{acc}]"]
    if audio is not None:
        cmd += ["-map", f"{len(segments)}:a", "-c:a", "aac", "-shortest"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(int(fps)), str(path)]
    _run(cmd)
    return bounds


def make_vfr_video(
    path: str | Path,
    segments: Sequence[tuple[float, float]],
    *,
    size: tuple[int, int] = (320, 180),
    source: str = "testsrc2",
) -> np.ndarray:
    """A variable-frame-rate clip: ``segments = [(fps, seconds), ...]`` played back to back.

    Returns the expected presentation timestamps (seconds) of every frame.
    """
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error"]
    filters, labels, times, t0 = [], [], [], 0.0
    for i, (rate, seconds) in enumerate(segments):
        cmd += ["-f", "lavfi", "-i", _source(source, seconds, size, rate)]
        filters.append(f"[{i}:v]format=yuv420p,setsar=1,settb=1/1000[s{i}]")
        labels.append(f"[s{i}]")
        n = round(rate * seconds)
        times.append(t0 + np.arange(n) / rate)
        t0 += seconds
    filters.append(f"{''.join(labels)}concat=n={len(segments)}:v=1:a=0[v]")
    cmd += ["-filter_complex", ";".join(filters), "-map", "[v]", "-fps_mode", "vfr", "-video_track_timescale"]
    cmd += ["1000", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", str(path)]
    _run(cmd)
    return np.concatenate(times)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels()).mean(axis=1)
        return data, w.getframerate()


def _trim(samples: np.ndarray, rate: int, level: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > level)
    if loud.size == 0:
        return samples[:0]
    pad = int(0.01 * rate)
    return samples[max(0, loud[0] - pad) : loud[-1] + pad]


def _speak(word: str, voice: str, wpm: int, rate: int, tmp: Path) -> np.ndarray:
    out = tmp / "w.wav"
    _run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(out), word])
    data, sr = _read_wav(out)
    if sr != rate:  # linear resampling is plenty for synthetic speech
        n = round(len(data) * rate / sr)
        data = np.interp(np.linspace(0, len(data) - 1, n), np.arange(len(data)), data).astype(np.float32)
    return _trim(data, rate)


def make_speech_audio(
    path: str | Path,
    utterances: Sequence[tuple[float, str]],
    duration: float,
    *,
    sample_rate: int = 16000,
    voice: str = "en-us",
    wpm: int = 150,
    word_gap: float = 0.12,
) -> list[Word]:
    """A mono WAV of ``duration`` seconds with each utterance ``(t_start, text)`` spoken from ``t_start``.

    Words are synthesised one by one (espeak-ng) and joined with ``word_gap`` seconds of silence, so their
    times are exact; returns them (start/end of the audible part, seconds). Raises if an utterance would
    overlap the
    next one or run past ``duration``.
    """
    audio = np.zeros(round(duration * sample_rate), dtype=np.float32)
    words: list[Word] = []
    last_end = 0.0
    with tempfile.TemporaryDirectory() as d:
        for t_start, text in sorted(utterances):
            if t_start < last_end:
                raise ValueError(f"utterance at {t_start}s overlaps the previous one (ends {last_end:.2f}s)")
            t = float(t_start)
            for token in text.split():
                clip = _speak(token, voice, wpm, sample_rate, Path(d))
                i0 = round(t * sample_rate)
                if i0 + len(clip) > len(audio):
                    raise ValueError(f"utterance {text!r} runs past duration {duration}s")
                audio[i0 : i0 + len(clip)] = clip
                words.append(Word(text=token, start=t, end=t + len(clip) / sample_rate))
                t += len(clip) / sample_rate + word_gap
            last_end = t
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return words


def make_speech_video(
    path: str | Path,
    utterances: Sequence[tuple[float, str]],
    duration: float,
    *,
    size: tuple[int, int] = (320, 180),
    fps: float = 25,
    background: str = "testsrc2",
    **speech: object,
) -> list[Word]:
    """A lavfi video of ``duration`` s with speech at known times (see :func:`make_speech_audio`)."""
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "speech.wav"
        words = make_speech_audio(wav, utterances, duration, **speech)  # type: ignore[arg-type]
        cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error"]
        cmd += ["-f", "lavfi", "-i", _source(background, duration, size, fps), "-i", str(wav)]
        cmd += [
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ]
        cmd += ["-c:a", "aac", "-t", str(duration), str(path)]
        _run(cmd)
    return words


def make_audio(path: str | Path, duration: float, kind: str = "tone") -> None:
    """An audio-only file (no video stream), ``kind`` ``"tone"`` or ``"silence"``; format from the suffix."""
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *_audio_input(kind, duration), str(path)]
    _run(cmd)


def video_duration(path: str | Path) -> float:
    """Container duration in seconds (ffprobe)."""
    require_tool("ffprobe")
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def decode_frames(path: str | Path, fps: float, *, short_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All frames sampled at ``fps`` as (uint8 [N, H, W, 3] RGB, float64 [N] seconds).

    Uses ``vidreason.tools.media.video.iter_frames`` when it exists, else PyAV (the first frame at or after each
    sample time ``k / fps``).
    """
    try:
        from vidreason.tools.media.video import iter_frames
    except ImportError:
        iter_frames = None
    if iter_frames is not None:
        chunks = list(iter_frames(str(path), fps, short_side=short_side))
        return np.concatenate([c.frames for c in chunks]), np.concatenate([c.timestamps for c in chunks])
    import av

    frames, times = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        nxt = 0.0
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else float(frame.time or 0.0)
            if t + 1e-6 < nxt:
                continue
            img = frame
            if short_side:
                w, h = frame.width, frame.height
                s = short_side / min(w, h)
                img = frame.reformat(width=round(w * s / 2) * 2, height=round(h * s / 2) * 2)
            frames.append(img.to_ndarray(format="rgb24"))
            times.append(t)
            while nxt <= t + 1e-6:
                nxt += 1.0 / fps
    return np.stack(frames), np.asarray(times, dtype=np.float64)
