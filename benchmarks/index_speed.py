"""Decode throughput, index-build realtime factor and peak memory on a generated 720p video.

    python benchmarks/index_speed.py --minutes 10            # decode + fast-profile index build
    python benchmarks/index_speed.py --minutes 60 --only-rss # peak RSS of indexing a 1-hour video

Each measurement runs in a fresh subprocess so peak RSS belongs to that measurement alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import index_in_subprocess, make_long_video, peak_rss_mb, report, run_json

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--video", type=Path, help="use this video instead of a generated one")
    ap.add_argument("--fps", type=float, default=1.0)
    ap.add_argument("--only-rss", action="store_true", help="only the index build (for long videos)")
    ap.add_argument(
        "--visual",
        choices=["off", "random"],
        default="random",
        help="ViT-B/32 with random weights (same cost as real ones) or no visual channel",
    )
    args = ap.parse_args()
    t = time.perf_counter()
    video = args.video or make_long_video(args.minutes, speech=True)
    gen_s = time.perf_counter() - t
    bench = str(Path(__file__).parent)
    from vidreason.tools.media.video import probe

    duration = probe(video).duration
    result: dict = {"video": str(video), "duration_s": duration, "generate_s": round(gen_s, 1)}
    if not args.only_rss:
        for decoder in ("pyav", "decord"):
            d = run_json(_DECODE.format(bench=bench, video=str(video), fps=args.fps, decoder=decoder))
            d["realtime_factor"] = duration / d["wall_s"]
            d["frames_per_s"] = d["frames"] / d["wall_s"]
            result[f"decode_{decoder}"] = d
    extra: dict = {"clip_pretrained": "random"} if args.visual == "random" else {"visual_enabled": False}
    result["index_fast_profile"] = index_in_subprocess(video, duration, extra)
    result["bench_process_peak_rss_mb"] = peak_rss_mb()
    report(f"index_speed_{args.minutes:g}min", result)


if __name__ == "__main__":
    main()
