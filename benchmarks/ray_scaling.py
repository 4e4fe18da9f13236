"""Throughput of ``index_videos_on_ray`` with 1 and 2 workers on this machine, and per-stage costs.

    python benchmarks/ray_scaling.py                       # 6 generated 20 s clips, fast CPU profile
    python benchmarks/ray_scaling.py --videos ../shared/data/videos/*.mp4 --workers 1 2 4 --json out.json

Each worker count indexes the same videos into a fresh cache (nothing is reused between runs), on one local
Ray cluster started with as many CPUs as the largest worker count. Throughput is video-hours indexed per
wall-clock hour, end to end (actor start-up and model loading included, as in a real run). Per-stage costs
are seconds of stage time per hour of video, summed over workers: divide by the number of workers a node runs
to get the node's stage-time per video-hour (see the README's 8-node estimate).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # tests/media.py: clip generators

SOURCES = ["testsrc2", "smptebars", "mandelbrot", "gradients", "cellauto", "rgbtestsrc"]


def generated_videos(folder: Path, n: int, seconds: float) -> list[Path]:
    from media import make_cut_video

    out = []
    for i in range(n):
        p = folder / f"bench{i}.mp4"
        half = seconds / 2
        make_cut_video(
            p,
            [(SOURCES[i % len(SOURCES)], half), (SOURCES[(i + 1) % len(SOURCES)], half)],
            size=(320, 180),
            fps=25,
            audio="tone" if i % 2 else None,
        )
        out.append(p)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", nargs="*", type=Path, help="videos to index (default: generated clips)")
    ap.add_argument("--count", type=int, default=6, help="generated clips")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each generated clip")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--stages", help="comma-separated stages (default: all enabled)")
    ap.add_argument("--profile", default="fast", choices=["auto", "fast", "accurate"])
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--gpus-per-worker", type=float, default=0.0)
    ap.add_argument(
        "--set",
        action="append",
        default=["clip_pretrained=random"],
        metavar="NAME=VALUE",
        help="setting overrides (default clip_pretrained=random: real compute, no hub download)",
    )
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # workers inherit it: a missing model fails fast, once
    import ray

    from vidreason.tools.core.settings import Settings
    from vidreason.tools.distributed import index_videos_on_ray

    stages = args.stages.split(",") if args.stages else None
    overrides = dict(item.split("=", 1) for item in args.set)
    results = []
    with tempfile.TemporaryDirectory(prefix="vidreason-ray-bench-") as tmp:
        videos = args.videos or generated_videos(Path(tmp), args.count, args.seconds)
        ray.init(
            address="local",
            num_cpus=max(args.workers),
            include_dashboard=False,
            log_to_driver=False,
            object_store_memory=200 * 1024 * 1024,
            _node_ip_address="127.0.0.1",
        )
        try:
            for n in args.workers:
                settings = Settings(
                    cache_dir=Path(tmp) / f"cache-{n}", profile=args.profile, device=args.device, **overrides
                )
                t0 = time.perf_counter()
                s = index_videos_on_ray(
                    videos,
                    settings,
                    stages=stages,
                    num_workers=n,
                    gpus_per_worker=args.gpus_per_worker,
                    summary_path=Path(tmp) / f"summary-{n}.json",
                )
                wall = time.perf_counter() - t0
                row = {
                    "workers": n,
                    "videos": s.total,
                    "done": s.done,
                    "failed": s.failed,
                    "wall_s": round(wall, 2),
                    "video_hours": s.video_hours_done,
                    "throughput": s.throughput_video_hours_per_hour,
                    "stage_s_per_video_hour": {k: c.seconds_per_video_hour for k, c in s.stage_costs.items()},
                    "failures": s.failures,
                }
                results.append(row)
                print(
                    f"{n} worker(s): {s.done}/{s.total} videos in {wall:.1f}s -> "
                    f"{s.throughput_video_hours_per_hour:.2f} video-hours/hour"
                )
                for name, c in s.stage_costs.items():
                    print(
                        f"    {name:<11} {c.total_s:8.2f}s total  {c.mean_s:7.3f}s/video  "
                        f"{c.seconds_per_video_hour:9.1f}s per video-hour"
                    )
        finally:
            ray.shutdown()
    base = results[0]["throughput"] or float("nan")
    for r in results:
        r["speedup"] = round(r["throughput"] / base, 3) if base == base else None
    print(
        "speedup vs",
        results[0]["workers"],
        "worker(s): " + ", ".join(f"{r['workers']}: {r['speedup']}x" for r in results),
    )
    if args.json:
        args.json.write_text(json.dumps({"results": results, "cpus": max(args.workers)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
