"""Shared helpers for the benchmarks: generated test videos and peak-memory measurement."""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CACHE = Path.home() / ".cache" / "vidreason-bench"


#: about three minutes of varied speech, looped under the long benchmark videos
NARRATION = " ".join(
    f"Item {i}. The {adj} {noun} {verb} near the {place} while the team reviews the {topic} plan for "
    f"quarter {i % 4 + 1}, and then somebody asks about the budget for {place}s."
    for i, (adj, noun, verb, place, topic) in enumerate(
        zip(
            ["red", "small", "quiet", "old", "bright", "heavy", "young", "tall", "green", "tired"] * 3,
            ["truck", "dog", "engineer", "printer", "camera", "boat", "pianist", "tree", "lamp", "runner"] * 3,
            ["stops", "waits", "speaks", "breaks", "records", "drifts", "plays", "sways", "flickers", "rests"] * 3,
            [
                "station",
                "harbour",
                "office",
                "garden",
                "bridge",
                "library",
                "market",
                "school",
                "tower",
                "park",
            ]
            * 3,
            [
                "marketing",
                "hiring",
                "travel",
                "security",
                "training",
                "research",
                "design",
                "sales",
                "support",
                "legal",
            ]
            * 3,
            strict=True,
        )
    )
)


def make_long_video(
    minutes: float, *, width: int = 1280, height: int = 720, fps: int = 30, speech: bool = False
) -> Path:
    """A ``minutes`` long H.264 video of moving test patterns with a cut every 20 s (cached on disk).

    With ``speech``, a narration made with espeak-ng is looped under it (so ASR has work to do)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"long_{minutes:g}min_{width}x{height}_{fps}{'_speech2' if speech else ''}.mp4"
    if out.exists():
        return out
    seconds = minutes * 60
    sources = ["testsrc2", "smptehdbars", "mandelbrot", "rgbtestsrc", "cellauto"]
    # one 100 s pattern cycle with cuts every 20 s, looped to length (fast to encode)
    cycle = CACHE / f"cycle_{width}x{height}_{fps}.mp4"
    if not cycle.exists():
        inputs: list[str] = []
        for s in sources:
            inputs += ["-f", "lavfi", "-t", "20", "-i", f"{s}=size={width}x{height}:rate={fps}"]
        n = len(sources)
        concat = "".join(f"[{i}:v]format=yuv420p,setsar=1[v{i}];" for i in range(n))
        concat += "".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v]"
        subprocess.run(
            [
                "ffmpeg",
                "-y",
                "-loglevel",
                "error",
                *inputs,
                "-filter_complex",
                concat,
                "-map",
                "[v]",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-g",
                "250",
                str(cycle),
            ],
            check=True,
        )
    audio: list[str] = ["-f", "lavfi", "-i", f"anullsrc=r=16000:cl=mono:d={seconds}"]
    if speech:
        wav = CACHE / "narration_v2.wav"
        if not wav.exists():  # varied sentences: a looped short text makes Whisper hallucinate repetitions
            subprocess.run(["espeak-ng", "-s", "160", "-w", str(wav), NARRATION], check=True)
        audio = ["-stream_loop", "-1", "-i", str(wav)]
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-stream_loop",
            "-1",
            "-i",
            str(cycle),
            *audio,
            "-t",
            str(seconds),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "copy",
            "-c:a",
            "aac",
            "-ac",
            "1",
            "-b:a",
            "32k",
            str(out),
        ],
        check=True,
    )
    return out


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    import os

    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}


def report(name: str, data: dict[str, Any]) -> None:
    """Print the result as JSON and keep a copy under benchmarks/results/."""
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    text = json.dumps({"benchmark": name, "machine": machine(), **data}, indent=1)
    (out / f"{name}.json").write_text(text)
    print(text)


_INDEX_BUILD = """
import json, sys, time
sys.path.insert(0, {bench!r})
from _common import peak_rss_mb
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.video_index import VideoIndex
s = Settings(profile="fast", device="cpu", cache_dir={cache!r}, **{extra})
t = time.perf_counter()
ix = VideoIndex.build({video!r}, s)
wall = time.perf_counter() - t
stages = {{k: {{"status": v.status, "wall_s": v.wall_s, "reason": v.reason}}
          for k, v in ix.manifest.stages.items()}}
t = time.perf_counter(); VideoIndex.load({video!r}, s); hit = time.perf_counter() - t
print(json.dumps({{"wall_s": wall, "decode_s": ix.manifest.decode_s, "stages": stages, "cache_hit_s": hit,
                  "peak_rss_mb": peak_rss_mb()}}))
"""


def run_json(code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its last stdout line is the JSON result."""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def index_in_subprocess(video: Path, duration: float, settings: dict[str, Any]) -> dict[str, Any]:
    """Build a fast-profile index of ``video`` in a fresh process and cache; wall time, stages, peak RSS."""
    with tempfile.TemporaryDirectory() as cache:
        d = run_json(
            _INDEX_BUILD.format(bench=str(Path(__file__).parent), video=str(video), cache=cache, extra=settings)
        )
    d["realtime_factor"] = duration / d["wall_s"]
    for stage in d["stages"].values():
        stage["x_realtime"] = round(duration / stage["wall_s"], 1) if stage["wall_s"] else None
    d["decode_x_realtime"] = round(duration / d["decode_s"], 1) if d["decode_s"] else None
    return d
