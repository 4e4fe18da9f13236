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


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


#: environment that makes torch (ATen, oneDNN, MKL, fbgemm) and CTranslate2 use only the named instruction
#: set, and vidreason choose the code paths of such a CPU (``devices.cpu_isa_flags`` reads the oneDNN cap).
#: ``avx2``: an AVX2-only CPU such as AMD EPYC Zen 2/3 (no AVX-512, no VNNI, no bf16, no AMX);
#: ``avx512``: AVX-512 with VNNI but without bf16 or AMX (Xeon Cascade Lake / Ice Lake).
#: ONNX Runtime has no such switch (its kernels follow CPUID): ORT-based steps still use this CPU's ISA.
EMULATIONS: dict[str, dict[str, str]] = {
    "avx2": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2",
        "CT2_FORCE_CPU_ISA": "AVX2",
    },
    "avx512": {
        "ATEN_CPU_CAPABILITY": "avx512",
        "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI",
        "MKL_ENABLE_INSTRUCTIONS": "AVX512",
        "FBGEMM_ENABLE_INSTRUCTIONS": "AVX512",
        "CT2_FORCE_CPU_ISA": "AVX512",
    },
}


def emulation_env(name: str | None) -> dict[str, str]:
    """``os.environ`` plus the variables of emulation ``name`` (None: unchanged)."""
    import os

    env = dict(os.environ)
    if name:
        env.update(EMULATIONS[name])
    return env


def machine(emulate: str | None = None) -> dict[str, Any]:
    """Python, platform, CPU model and vector extensions, cores, and the load average (a busy machine's speed
    numbers are not to be trusted)."""
    import os

    from vidreason.tools.core.devices import cpu_flags, cpu_model

    keys = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "cpu_features": [k for k in keys if k in cpu_flags()],
        "emulated": {"isa": emulate, "env": EMULATIONS[emulate]} if emulate else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def report(name: str, data: dict[str, Any], emulate: str | None = None) -> None:
    """Print the result as JSON and keep a copy under benchmarks/results/."""
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    text = json.dumps({"benchmark": name, "machine": machine(emulate), **data}, indent=1)
    (out / f"{name}.json").write_text(text + "\n")
    print(text)


_INDEX_BUILD = """
import json, sys, time
sys.path.insert(0, {bench!r})
from _common import cpu_seconds, peak_rss_mb
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.video_index import VideoIndex
s = Settings(profile="fast", device="cpu", cache_dir={cache!r}, **{extra})
t = time.perf_counter(); c = cpu_seconds()
ix = VideoIndex.build({video!r}, s)
wall = time.perf_counter() - t; cpu = cpu_seconds() - c
stages = {{k: {{"status": v.status, "wall_s": v.wall_s, "run_s": v.params.get("run_s"), "reason": v.reason,
               "models": v.models}} for k, v in ix.manifest.stages.items()}}
t = time.perf_counter(); VideoIndex.load({video!r}, s); hit = time.perf_counter() - t
print(json.dumps({{"wall_s": wall, "cpu_s": cpu, "decode_s": ix.manifest.decode_s, "stages": stages,
                  "cache_hit_s": hit, "peak_rss_mb": peak_rss_mb()}}))
"""


def run_json(code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its last stdout line is the JSON result."""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def index_in_subprocess(
    video: Path, duration: float, settings: dict[str, Any], env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Build a fast-profile index of ``video`` in a fresh process and cache; wall and CPU time, stages (with
    x realtime; a stage run alongside the decode pass counts its own run time), peak RSS."""
    with tempfile.TemporaryDirectory() as cache:
        code = _INDEX_BUILD.format(bench=str(Path(__file__).parent), video=str(video), cache=cache, extra=settings)
        d = run_json(code, env)
    d["realtime_factor"] = round(duration / d["wall_s"], 2)
    d["cpu_s_per_video_s"] = round(d["cpu_s"] / duration, 4)
    for stage in d["stages"].values():
        took = stage["run_s"] or stage["wall_s"]
        stage["x_realtime"] = round(duration / took, 1) if took else None
    d["decode_x_realtime"] = round(duration / d["decode_s"], 1) if d["decode_s"] else None
    return d
