"""Index-build realtime factor per stage, CPU time and peak memory on generated 720p videos with continuous
narration (fast profile: 1 fps frame table, ViT-B/32 with random weights, Whisper tiny.en).

    python benchmarks/index_speed.py --suite                  # everything below, one command (about an hour)
    python benchmarks/index_speed.py --minutes 10             # decoders + full build on this CPU
    python benchmarks/index_speed.py --minutes 10 --emulate-no-amx   # as on an AVX2-only CPU (AMD EPYC Zen 2/3)
    python benchmarks/index_speed.py --minutes 10 --only-rss --repeat 3  # the median of 3 builds
    python benchmarks/index_speed.py --minutes 10 60 180 --only-rss  # memory: full build and frame side only
    python benchmarks/index_speed.py --minutes 60 180 --only-rss --no-frame-side   # memory: full build only

Each build runs in a fresh subprocess (its peak RSS is its own). ``--emulate-no-amx`` (= ``--emulate avx2``)
caps torch (ATen, oneDNN, MKL, fbgemm) and CTranslate2 at AVX2 through their environment variables
(``_common.EMULATIONS``) and vidreason picks the code paths of such a CPU; ``--overlap on|off|both`` builds with
the transcript alongside the decode pass or after it. Results go to ``benchmarks/results/index_speed_*.json``
with the CPU model, its features, the emulation and the load average (numbers from a busy machine are not
comparable).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import emulation_env, index_in_subprocess, make_long_video, report, run_json

_DECODE = """
import json, sys, time
sys.path.insert(0, {bench!r})
from _common import peak_rss_mb
from vidreason.tools.media.video import iter_frames
t = time.perf_counter(); n = 0
for c in iter_frames({video!r}, {fps}, short_side=224, decoder={decoder!r}):
    n += len(c)
wall = time.perf_counter() - t
print(json.dumps({{"frames": n, "wall_s": wall, "peak_rss_mb": peak_rss_mb()}}))
"""


def _decoders(video: Path, duration: float, fps: float) -> dict[str, Any]:
    out = {}
    for decoder in ("pyav", "decord"):
        code = _DECODE.format(bench=str(Path(__file__).parent), video=str(video), fps=fps, decoder=decoder)
        d = run_json(code)
        d["realtime_factor"] = round(duration / d["wall_s"], 2)
        d["frames_per_s"] = round(d["frames"] / d["wall_s"], 1)
        out[f"decode_{decoder}"] = d
    return out


def _summary(build: dict[str, Any]) -> str:
    parts = [f"{build['realtime_factor']:.2f}x realtime", f"peak {build['peak_rss_mb']:.0f} MB"]
    parts += [f"{k} {v['x_realtime']}x" for k, v in build["stages"].items() if v.get("x_realtime")]
    return ", ".join(parts)


def _median_build(builds: list[dict[str, Any]]) -> dict[str, Any]:
    """The build with the median wall time (stages and all), with every run's figures under ``runs``."""
    chosen = dict(sorted(builds, key=lambda b: b["wall_s"])[len(builds) // 2])
    if len(builds) > 1:
        keys = ("wall_s", "cpu_s", "peak_rss_mb", "realtime_factor")
        chosen["runs"] = [{k: b[k] for k in keys} for b in builds]
    return chosen


def measure(
    minutes: float,
    *,
    emulate: str | None,
    overlaps: list[bool],
    visual: str,
    only_rss: bool,
    fps: float,
    frame_side: bool = True,
    repeat: int = 1,
) -> dict[str, Any]:
    """Builds (and decoder timings) of the generated ``minutes`` video; writes one result file. With ``repeat``
    each full build runs that many times and the median run is reported (a shared machine's speed drifts)."""
    from vidreason.tools.media.video import probe

    t = time.perf_counter()
    video = make_long_video(minutes, speech=True)
    result: dict[str, Any] = {"video": str(video), "generate_s": round(time.perf_counter() - t, 1)}
    duration = probe(video).duration
    result["duration_s"] = duration
    env = emulation_env(emulate)
    base: dict[str, Any] = {"clip_pretrained": "random"} if visual == "random" else {"visual_enabled": False}
    if not only_rss:
        result.update(_decoders(video, duration, fps))
    for overlap in overlaps:
        key = f"index_fast_profile{'' if overlap else '_sequential'}"
        builds = [index_in_subprocess(video, duration, {**base, "index_overlap": overlap}, env) for _ in range(repeat)]
        result[key] = _median_build(builds)
        print(f"{minutes:g} min, overlap {overlap}: {_summary(result[key])}", file=sys.stderr)
    if only_rss and frame_side:  # the frame side alone (no audio buffer, no ASR): what this side's streaming bounds
        frames_only = index_in_subprocess(video, duration, {**base, "asr_enabled": False}, env)
        result["index_frame_side_only"] = frames_only
        print(f"{minutes:g} min, frame side only: {_summary(frames_only)}", file=sys.stderr)
    suffix = f"_{emulate}" if emulate else ""
    report(f"index_speed_{minutes:g}min{suffix}{'_rss' if only_rss else ''}", result, emulate)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[10])
    ap.add_argument("--fps", type=float, default=1.0, help="sampling rate of the decoder timings")
    ap.add_argument("--only-rss", action="store_true", help="builds only (full and frame side), for long videos")
    ap.add_argument("--no-frame-side", action="store_true", help="with --only-rss: the full build only")
    ap.add_argument("--emulate", choices=["avx2", "avx512"], help="cap the math libraries at this ISA")
    ap.add_argument("--emulate-no-amx", action="store_true", help="same as --emulate avx2")
    ap.add_argument("--overlap", choices=["on", "off", "both"], default="on")
    ap.add_argument("--repeat", type=int, default=1, help="full builds per setting (the median run is reported)")
    ap.add_argument("--visual", choices=["off", "random"], default="random", help="ViT-B/32 random weights or none")
    ap.add_argument(
        "--suite",
        action="store_true",
        help="10 min on this CPU and emulated AVX2 (overlap on/off), then peak memory at 10, 60 and 180 min",
    )
    args = ap.parse_args()
    emulate = "avx2" if args.emulate_no_amx else args.emulate
    overlaps = {"on": [True], "off": [False], "both": [True, False]}[args.overlap]
    common = {"visual": args.visual, "fps": args.fps, "frame_side": not args.no_frame_side, "repeat": args.repeat}
    if args.suite:
        for emu in (None, "avx2"):
            measure(10, emulate=emu, overlaps=[True, False], only_rss=False, **common)
        for minutes in (10, 60, 180):
            measure(minutes, emulate=None, overlaps=[True], only_rss=True, **common)
        return
    for minutes in args.minutes:
        measure(minutes, emulate=emulate, overlaps=overlaps, only_rss=args.only_rss, **common)


if __name__ == "__main__":
    main()
