"""Caption throughput and peak memory of the local VLM captioner, and frames saved by the duplicate filter.

    python benchmarks/caption_speed.py                      # GPU: random Qwen2.5-VL-3B; CPU: tiny config
    python benchmarks/caption_speed.py --size 3b --shots 32 --batch-size 8
    python benchmarks/caption_speed.py --skip-model         # only the duplicate filter on the real clips

The model has random weights of the real architecture (no VLM weights can be downloaded here): compute cost
does not depend on weight values, so captions/s and memory are the real model's; generation always runs
``--max-new-tokens`` steps (random weights rarely emit the end token early), an upper bound on the real cost.
The duplicate filter runs on the clips in ``../shared/data/videos`` decoded with PyAV at 1 fps.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import peak_rss_mb, report

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"


def bench_model(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from vidreason.tools.captioning.random_qwen import random_qwen_captioner

    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    size = args.size or ("3b" if device == "cuda" else "tiny")
    t0 = time.perf_counter()
    captioner = random_qwen_captioner(
        size,
        device=device,
        max_pixels=args.max_pixels,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
    )
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in captioner.model.parameters())
    rng = np.random.default_rng(0)
    h, w = args.frame_size
    clips = [list(rng.integers(0, 255, (args.frames_per_shot, h, w, 3), dtype=np.uint8)) for _ in range(args.shots)]
    prompt = "Describe what is visible in one or two factual sentences."
    captioner.caption(clips[: args.batch_size], prompt)  # warm-up (kernels, allocator)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    captions = captioner.caption(clips, prompt)
    if device == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {
        "model": captioner.model_id,
        "parameters_m": round(params / 1e6, 1),
        "device": device,
        "dtype": str(next(captioner.model.parameters()).dtype),
        "shots": len(captions),
        "frames_per_shot": args.frames_per_shot,
        "frame_size": [h, w],
        "max_pixels": args.max_pixels,
        "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens,
        "build_s": round(build_s, 2),
        "caption_s": round(wall, 3),
        "captions_per_s": round(len(captions) / wall, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "example_caption": captions[0][:60],
    }
    if device == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        out["gpu"] = torch.cuda.get_device_name()
    return out


def bench_dedup(args: argparse.Namespace) -> dict[str, Any]:
    from vidreason.tools.media.keyframes import KeyframeSelector
    from vidreason.tools.media.video import iter_frames

    if not VIDEOS.is_dir():
        return {"skipped": f"{VIDEOS} not found"}
    rows = []
    for path in sorted(VIDEOS.iterdir()):
        selector = KeyframeSelector(max_frames=10_000, threshold=args.threshold)
        try:
            for chunk in iter_frames(path, 1.0, short_side=224, decoder="pyav"):
                for f, i, t in zip(chunk.frames, chunk.indices, chunk.timestamps, strict=True):
                    selector.add(f, int(i), float(t))
        except Exception as e:  # a clip that does not decode is reported, not fatal
            rows.append({"clip": path.name, "error": f"{type(e).__name__}: {e}"})
            continue
        rows.append(
            {
                "clip": path.name,
                "frames": selector.seen,
                "skipped_as_duplicates": selector.duplicates,
                "skipped_pct": round(100 * selector.duplicates / max(1, selector.seen), 1),
            }
        )
    total = sum(r.get("frames", 0) for r in rows)
    skipped = sum(r.get("skipped_as_duplicates", 0) for r in rows)
    return {
        "threshold": args.threshold,
        "fps": 1.0,
        "clips": rows,
        "frames": total,
        "skipped": skipped,
        "skipped_pct": round(100 * skipped / max(1, total), 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=["tiny", "3b"], default=None, help="default: 3b on GPU, tiny on CPU")
    p.add_argument("--device", default="auto")
    p.add_argument("--shots", type=int, default=16)
    p.add_argument("--frames-per-shot", type=int, default=4)
    p.add_argument("--frame-size", type=int, nargs=2, default=[224, 398], metavar=("H", "W"))
    p.add_argument("--max-pixels", type=int, default=224 * 398, help="processor pixel budget per frame")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--threshold", type=float, default=0.04, help="duplicate filter threshold")
    p.add_argument("--skip-model", action="store_true")
    args = p.parse_args()
    data: dict[str, Any] = {"dedup": bench_dedup(args)}
    if not args.skip_model:
        data["model"] = bench_model(args)
    report("caption_speed", data)


if __name__ == "__main__":
    main()
