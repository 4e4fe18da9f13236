"""The demo video behind ``vidreason ask sample ...``, built once on first use from packaged parts.

No registry package ships a short clip with speech, hard cuts and on-screen text under a licence that allows
redistribution, so the demo is assembled locally (about 10 s of work, once per cache):

* real footage: two 10 s excerpts of the 60 s CC-BY-4.0 clip of the ``iscc-samples`` package (a band playing
  live, "Spiral Sessions"; the clip has its own cuts and a lower-third caption),
* title slides drawn with Pillow (its bundled font, so no system font is needed),
* an English narration spoken by ``espeak-ng`` that says what each part shows,

joined with hard cuts by ``ffmpeg`` into ``<cache_dir>/samples/demo-<recipe hash>.mp4``. The file name hashes
the recipe (script, timings, builder version and the source clip's bytes), the file is written under a
temporary name and renamed into place, and a lock keeps two processes from building it at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vidreason.tools.core import storage
from vidreason.tools.core.errors import ConfigError, VideoOpenError

log = logging.getLogger(__name__)

DEMO_VERSION = "1"
SIZE = (640, 360)
FPS = 24
VOICE, WPM = "en-us", 150
INSTALL_HINT = (
    "apt-get install ffmpeg espeak-ng (Debian/Ubuntu), brew install ffmpeg espeak-ng (macOS); "
    "or give your own video file instead of 'sample'"
)


@dataclass(frozen=True)
class Part:
    """One part of the demo: a title slide (``title``) or an excerpt of the source clip (``clip_start``), with
    narration lines ``(offset in the part, text)``."""

    seconds: float
    narration: tuple[tuple[float, str], ...] = ()
    title: str | None = None
    subtitle: str = ""
    clip_start: float | None = None


@dataclass(frozen=True)
class DemoScript:
    parts: tuple[Part, ...] = field(default_factory=tuple)

    @property
    def duration(self) -> float:
        return sum(p.seconds for p in self.parts)

    def starts(self) -> list[float]:
        """Start time of each part in the demo (seconds)."""
        out, t = [], 0.0
        for p in self.parts:
            out.append(t)
            t += p.seconds
        return out

    def lines(self) -> list[tuple[float, str]]:
        """Every narration line with its start time in the demo (seconds)."""
        return [(t0 + dt, text) for t0, p in zip(self.starts(), self.parts, strict=True) for dt, text in p.narration]


#: The demo: title, the band (footage), a "part two" slide, the singer (footage), the end slide.
SCRIPT = DemoScript(
    (
        Part(
            6.0,
            ((0.5, "Welcome to the vidreason demo. This short film shows a band playing live in a studio."),),
            title="SPIRAL SESSIONS",
            subtitle="a vidreason demo: musicians playing live",
        ),
        Part(
            10.0,
            ((1.0, "First, the drummer starts the song and the guitarist plays the opening riff."),),
            clip_start=5.0,
        ),
        Part(5.0, ((0.5, "Part two. The singer."),), title="PART TWO", subtitle="the singer"),
        Part(10.0, ((1.0, "The singer steps up to the microphone and sings the chorus."),), clip_start=29.0),
        Part(
            5.0,
            ((0.5, "That is the end of the demo. Thanks for watching."),),
            title="THE END",
            subtitle="thanks for watching",
        ),
    )
)


def source_clip() -> Path:
    """The packaged real footage (``iscc-samples``, CC-BY-4.0)."""
    try:
        import iscc_samples
    except ImportError as e:
        raise VideoOpenError(
            "the demo video is built from the 'iscc-samples' package: pip install 'vidreason[offline]' "
            "(or give your own video file)"
        ) from e
    return Path(iscc_samples.__file__).parent / "files" / "video" / "demo.mp4"


def recipe_key(script: DemoScript, clip: Path) -> str:
    """Hash of everything that shapes the demo: builder version, script, frame size/rate, voice, source bytes."""
    h = hashlib.blake2b(digest_size=8)
    recipe = {"version": DEMO_VERSION, "script": asdict(script), "size": SIZE, "fps": FPS, "voice": [VOICE, WPM]}
    h.update(json.dumps(recipe, sort_keys=True).encode())
    h.update(clip.read_bytes())
    return h.hexdigest()


def demo_path(cache_dir: Path, script: DemoScript = SCRIPT) -> Path:
    """Where the demo for ``script`` lives (built or not)."""
    return Path(cache_dir) / "samples" / f"demo-{recipe_key(script, source_clip())}.mp4"


def ensure_demo(cache_dir: Path, script: DemoScript = SCRIPT) -> Path:
    """The demo video under ``cache_dir``, built on first use (``ConfigError`` naming the install command when
    ffmpeg or espeak-ng is missing)."""
    target = demo_path(cache_dir, script)
    if target.exists():
        return target
    missing = [tool for tool in ("ffmpeg", "espeak-ng") if shutil.which(tool) is None]
    if missing:
        raise ConfigError(f"building the demo video needs {' and '.join(missing)}, not found on PATH: {INSTALL_HINT}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with storage.file_lock(target.parent / f".{target.name}.lock"):
        if target.exists():  # built by another process while this one waited
            return target
        log.warning("building the demo video once (%.0f s, about 10 s of work): %s", script.duration, target)
        with tempfile.TemporaryDirectory(prefix=".build-", dir=target.parent) as tmp:
            out = Path(tmp) / target.name
            build_demo(script, source_clip(), out, Path(tmp))
            os.replace(out, target)
    return target


# ------------------------------------------------------------------------------------------------ building
def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VideoOpenError(f"building the demo video failed: {cmd[0]} exited {proc.returncode}: {proc.stderr[-500:]}")


def _slide(title: str, subtitle: str, path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    w, h = SIZE
    img = Image.new("RGB", SIZE, (18, 24, 48))
    draw = ImageDraw.Draw(img)
    big, small = ImageFont.load_default(size=56), ImageFont.load_default(size=26)
    for text, font, y in ((title, big, h * 0.38), (subtitle, small, h * 0.62)):
        draw.text((w / 2, y), text, font=font, fill=(240, 240, 240), anchor="mm")
    img.save(path)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as f:
        data = np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16)
        return data.reshape(-1, f.getnchannels())[:, 0], f.getframerate()


def _narration(script: DemoScript, path: Path, tmp: Path) -> None:
    """One mono WAV of the whole demo with each line spoken from its start time."""
    track: np.ndarray | None = None
    rate = 0
    for i, (start, text) in enumerate(script.lines()):
        clip = tmp / f"line{i}.wav"
        _run(["espeak-ng", "-v", VOICE, "-s", str(WPM), "-w", str(clip), text])
        data, rate = _read_wav(clip)
        if track is None:
            track = np.zeros(round(script.duration * rate), dtype=np.int16)
        i0 = round(start * rate)
        end = min(len(track), i0 + len(data))
        track[i0:end] = data[: end - i0]
    assert track is not None
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(track.tobytes())


def build_demo(script: DemoScript, clip: Path, out: Path, tmp: Path) -> None:
    """Render ``script`` into ``out`` (H.264 + AAC, hard cuts between the parts)."""
    w, h = SIZE
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-nostdin"]
    chains = []
    for i, part in enumerate(script.parts):
        if part.title is not None:
            png = tmp / f"slide{i}.png"
            _slide(part.title, part.subtitle, png)
            cmd += ["-loop", "1", "-framerate", str(FPS), "-t", f"{part.seconds}", "-i", str(png)]
            chains.append(f"[{i}:v]scale={w}:{h},setsar=1,fps={FPS},format=yuv420p[v{i}]")
        else:
            cmd += ["-ss", f"{part.clip_start}", "-t", f"{part.seconds}", "-i", str(clip)]
            chains.append(
                f"[{i}:v]scale=-2:{h},pad={w}:{h}:(ow-iw)/2:0,setsar=1,fps={FPS},format=yuv420p,"
                f"trim=duration={part.seconds},setpts=PTS-STARTPTS[v{i}]"
            )
    wav = tmp / "narration.wav"
    _narration(script, wav, tmp)
    cmd += ["-i", str(wav)]
    joined = "".join(f"[v{i}]" for i in range(len(script.parts)))
    chains.append(f"{joined}concat=n={len(script.parts)}:v=1:a=0[v]")
    cmd += ["-filter_complex", ";".join(chains), "-map", "[v]", "-map", f"{len(script.parts)}:a"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-g", str(2 * FPS)]
    cmd += ["-c:a", "aac", "-b:a", "64k", "-t", f"{script.duration}", "-movflags", "+faststart", str(out)]
    _run(cmd)


__all__ = ["SCRIPT", "DemoScript", "Part", "demo_path", "ensure_demo", "recipe_key", "source_clip"]
