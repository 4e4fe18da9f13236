"""Per-stage throughput of the fast (CPU) profile on a generated 10-minute 720p video with speech.

    python benchmarks/perception_speed.py [--minutes 10] [--visual random|off]

Reports each stage's wall time and realtime factor (video seconds per processing second) from the index
manifest, the shared decode pass, the whole build and peak RSS. The accurate profile needs a GPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import index_in_subprocess, make_long_video, report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--visual", choices=["off", "random"], default="random")
    args = ap.parse_args()
    from vidreason.tools.media.video import probe

    video = make_long_video(args.minutes, speech=True)
    duration = probe(video).duration
    extra = {"clip_pretrained": "random"} if args.visual == "random" else {"visual_enabled": False}
    result = index_in_subprocess(video, duration, extra)
    for name, st in result["stages"].items():
        print(
            f"{name:<11} {st['status']:<9} {st['wall_s']:8.1f} s  {st['x_realtime'] or 0:8.1f}x realtime",
            file=sys.stderr,
        )
    report(
        f"perception_speed_{args.minutes:g}min_{args.visual}",
        {"video": str(video), "duration_s": duration, **result},
    )


if __name__ == "__main__":
    main()
