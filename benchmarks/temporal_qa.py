"""Temporal-QA benchmark: the generated set (two seeds) and the hand-written real-clip set, answered offline.

Usage: python benchmarks/temporal_qa.py [--work DIR] [--seeds 1 2] [--videos 8] [--shared ../shared/data]
                                       [--set NAME=VALUE ...] [--skip-real]

Generates the videos once into ``--work`` (reused when their case file exists), runs
``vidreason eval temporal-qa`` on each set, and writes into ``benchmarks/results/``: ``temporal_qa.json``
(per-type metrics of both sets, timing, machine with CPU model), and under ``temporal_qa/`` the generated case
files (``cases_s<seed>.jsonl``: small, the videos are regenerated from the seed) and both Markdown reports.
The default settings are the fast profile on the CPU with a random-weight tiny CLIP (no CLIP weights can be
downloaded here) and speaker diarization on (the "who" cases need speaker labels); pass
``--set clip_model=ViT-B-32 --set clip_pretrained=laion2b_s34b_b79k`` (or an LLM with ``--set llm=...``) where
real weights are available.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

from vidreason.evals.cli import main as eval_main

RESULTS = Path(__file__).parent / "results"
OFFLINE = ["clip_model=vidreason-tiny-vit", "clip_pretrained=random", "diarization_enabled=true"]


def run_set(name: str, files: list[str], videos: list[str], out: Path, settings: list[str], cache: Path) -> dict:
    args = ["eval", "temporal-qa", *files, "--out", str(out), "--profile", "fast", "--device", "cpu"]
    args += ["--cache-dir", str(cache)]
    for v in videos:
        args += ["--videos", v]
    for s in settings:
        args += ["--set", s]
    t0 = time.perf_counter()
    if eval_main(args) != 0:
        raise SystemExit(f"{name}: the run failed")
    report = json.loads((out / "report.json").read_text())
    shutil.copyfile(out / "report.md", RESULTS / "temporal_qa" / f"report_{name}.md")
    m = report["metrics"]
    return {
        "wall_s": round(time.perf_counter() - t0, 1),
        "cases": report["selected"],
        "errors": report["errors"],
        "overall": m["overall"],
        "per_type": m["per_type"],
        "per_channel": m["per_channel"],
        "optional": m["optional"],
        "timing": report["timing"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache" / "vidreason-bench" / "temporal-qa")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--set", action="append", default=[], help="extra settings (default: offline tiny CLIP)")
    ap.add_argument("--skip-real", action="store_true")
    args = ap.parse_args()
    settings = args.set or OFFLINE
    (RESULTS / "temporal_qa").mkdir(parents=True, exist_ok=True)
    gen = args.work / "generated"
    files = []
    t0 = time.perf_counter()
    for seed in args.seeds:
        cases = gen / f"cases_s{seed}.jsonl"
        if not cases.is_file():
            make = ["eval", "make-temporal-qa", "--out", str(gen), "--seed", str(seed), "--videos", str(args.videos)]
            if eval_main(make) != 0:
                raise SystemExit(f"generating seed {seed} failed")
        shutil.copyfile(cases, RESULTS / "temporal_qa" / cases.name)
        files.append(str(cases))
    generate_s = time.perf_counter() - t0
    cache = args.work / "cache"
    result: dict = {
        "benchmark": "temporal_qa",
        "machine": machine(),
        "settings": settings,
        "seeds": args.seeds,
        "videos_per_seed": args.videos,
        "generate_s": round(generate_s, 1),
        "command": " ".join(sys.argv),
        "generated": run_set("generated", files, [], args.work / "report-generated", settings, cache),
    }
    if not args.skip_real:
        if (args.shared / "videos").is_dir():
            from vidreason.evals.temporal_qa import REAL_CASES

            made = args.work / "real-videos"
            eval_main(["eval", "make-real-qa-videos", "--shared", str(args.shared), "--out", str(made)])
            videos = [str(args.shared / "videos"), str(made)]
            result["real"] = run_set("real", [str(REAL_CASES)], videos, args.work / "report-real", settings, cache)
        else:
            result["real"] = f"skipped: no shared data at {args.shared}"
    text = json.dumps(result, indent=1)
    (RESULTS / "temporal_qa.json").write_text(text)
    print(json.dumps({k: v for k, v in result.items() if k not in ("generated", "real")}, indent=1))


if __name__ == "__main__":
    main()
