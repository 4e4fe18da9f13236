"""Shared helpers for the benchmarks: generated test videos and peak-memory measurement."""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

CACHE = Path.home() / ".cache" / "vidreason-bench"


def make_long_video(minutes: float, *, width: int = 1280, height: int = 720, fps: int = 30,
                    speech: bool = False) -> Path:
    """A ``minutes`` long H.264 video of moving test patterns with a cut every 20 s (cached on disk).

    With ``speech``, a narration made with espeak-ng is looped under it (so ASR has work to do)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"long_{minutes:g}min_{width}x{height}_{fps}{'_speech' if speech else ''}.mp4"
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
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *inputs, "-filter_complex", concat, "-map", "[v]",
                        "-c:v", "libx264", "-preset", "veryfast", "-g", "250", str(cycle)], check=True)
    audio: list[str] = ["-f", "lavfi", "-i", f"anullsrc=r=16000:cl=mono:d={seconds}"]
    if speech:
        wav = CACHE / "narration.wav"
        if not wav.exists():
            text = ("The quarterly budget meeting starts now. First we review the marketing plan, then the "
                    "engineering roadmap. After that we discuss hiring, and finally the travel policy.")
            subprocess.run(["espeak-ng", "-w", str(wav), text], check=True)
        audio = ["-stream_loop", "-1", "-i", str(wav)]
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-stream_loop", "-1", "-i", str(cycle), *audio,
                    "-t", str(seconds), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-ac", "1",
                    "-b:a", "32k", str(out)], check=True)
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
