"""``vidreason eval make-real-qa-videos``: put the shared speech recordings under a plain video.

The hand-written real-clip cases (``evals/data/temporal_qa_real.jsonl``) ask about
``scenedetect_documentary_speech.mp4`` and ``nasa_13013.mp4`` (used as they are, from the shared
``videos/`` folder) and about ``jfk.mp4``, ``multilingual_en_de.mp4`` and ``pyannote_sample.mp4``, which this
step makes from ``audio/jfk.flac``, ``audio/multilingual_en_de.mp3`` and ``audio/pyannote_sample.wav``: the
audio over a dark grey 320x180 picture with no text, as long as the audio. Run the cases with both folders::

    vidreason eval make-real-qa-videos --shared ../shared/data --out /tmp/real-qa
    vidreason eval temporal-qa "$(python -c 'import vidreason.evals.temporal_qa as t; print(t.REAL_CASES)')" \\
        --videos ../shared/data/videos --videos /tmp/real-qa

The same recipe by hand: ``ffmpeg -f lavfi -i color=c=0x303030:s=320x180:r=10 -i jfk.flac -shortest
-c:v libx264 -pix_fmt yuv420p -c:a aac jfk.mp4``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from vidreason.tools.core.errors import ConfigError, VideoOpenError

#: shared audio file (relative to the shared data folder) -> video name the cases use
AUDIO_CLIPS: dict[str, str] = {
    "audio/jfk.flac": "jfk.mp4",
    "audio/multilingual_en_de.mp3": "multilingual_en_de.mp4",
    "audio/pyannote_sample.wav": "pyannote_sample.mp4",
}
#: shared videos the cases use as they are
SHARED_VIDEOS: tuple[str, ...] = ("videos/scenedetect_documentary_speech.mp4", "videos/nasa_13013.mp4")


def make_real_qa_videos(shared: str | Path, out_dir: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write one mp4 per :data:`AUDIO_CLIPS` entry into ``out_dir``; returns their paths."""
    if shutil.which("ffmpeg") is None:
        raise ConfigError("make-real-qa-videos needs ffmpeg on PATH")
    root = Path(shared)
    missing = [p for p in (*AUDIO_CLIPS, *SHARED_VIDEOS) if not (root / p).is_file()]
    if missing:
        raise ConfigError(f"shared data folder {str(root)!r} lacks {', '.join(missing)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for audio, name in AUDIO_CLIPS.items():
        target = out / name
        made.append(target)
        if target.is_file() and not overwrite:
            continue
        partial = out / f".{name}.partial.mp4"
        cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-nostdin"]
        cmd += ["-f", "lavfi", "-i", "color=c=0x303030:s=320x180:r=10", "-i", str(root / audio)]
        cmd += ["-map", "0:v", "-map", "1:a", "-shortest", "-c:v", "libx264", "-preset", "veryfast"]
        cmd += ["-pix_fmt", "yuv420p", "-threads", "1", "-c:a", "aac", "-b:a", "96k"]
        cmd += ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]
        cmd += ["-f", "mp4", str(partial)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            partial.unlink(missing_ok=True)
            raise VideoOpenError(f"ffmpeg failed on {audio}: {proc.stderr.strip()[-1000:]}")
        partial.replace(target)
    return made
