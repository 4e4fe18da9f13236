"""The ``--ray`` options of ``vidreason index`` (and ``vidreason eval``); the distributed index command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidreason.tools.core.settings import Settings


def add_ray_args(p: argparse.ArgumentParser) -> None:
    """Add ``--ray [ADDRESS]`` and its resource flags to a subcommand."""
    g = p.add_argument_group("distributed (Ray; pip install 'vidreason[ray]')")
    g.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run on a Ray cluster: 'auto', HOST:6379 or ray://HOST:10001 (write --ray=ADDRESS before "
        "the videos); no address starts a local one. --cache-dir must be shared by all nodes",
    )
    g.add_argument("--ray-workers", type=int, metavar="N", help="actors to start (default: as many as fit)")
    g.add_argument("--ray-cpus-per-worker", type=float, default=1.0, metavar="N")
    g.add_argument(
        "--ray-gpus-per-worker",
        type=float,
        metavar="F",
        help="GPU (fraction) per worker; default 1 when the cluster has GPUs, else 0",
    )
    g.add_argument("--max-in-flight", type=int, metavar="N", help="videos submitted at once (default: one per worker)")
    g.add_argument("--ray-retries", type=int, default=2, metavar="N", help="retries of a video whose worker died")
    g.add_argument("--summary", type=Path, metavar="FILE", help="run summary JSON (default: <cache>/runs/...)")


def ray_address(args: argparse.Namespace, videos: list[Path]) -> str | None:
    """The ``--ray`` address; when argparse took the first video for it, give it back to ``videos``."""
    value: str = args.ray
    if value and Path(value).exists() and ":" not in value and value not in ("auto", "local"):
        videos.insert(0, Path(value))
        return None
    return value or None


def cmd_index_ray(args: argparse.Namespace, settings: Settings, stages: Sequence[str] | None) -> int:
    """``vidreason index VIDEO... --ray [ADDRESS]``: the local command's output lines, plus a summary."""
    from vidreason.tools.distributed.ray_index import index_videos_on_ray
    from vidreason.tools.distributed.summary import RunSummary, VideoResult

    videos = list(args.videos)
    address = ray_address(args, videos)

    def show(r: VideoResult, summary: RunSummary) -> None:
        if args.json:
            print(json.dumps(r.model_dump(mode="json", exclude={"traceback"})), flush=True)
        elif r.status == "failed":
            print(f"vidreason: error: {r.video}: {r.error}", file=sys.stderr, flush=True)
        else:
            stages_line = ", ".join(f"{n}:{s.status}" for n, s in r.stages.items())
            verb = "already indexed" if r.status == "skipped" else f"indexed in {r.wall_s:.2f}s on {r.worker}"
            print(
                f"[{len(summary.videos)}/{summary.total}] {r.video}: {r.duration_s:.1f}s video {verb} [{stages_line}]",
                flush=True,
            )

    summary = index_videos_on_ray(
        videos,
        settings,
        address=address,
        stages=stages,
        force=args.force,
        num_workers=args.ray_workers,
        cpus_per_worker=args.ray_cpus_per_worker,
        gpus_per_worker=args.ray_gpus_per_worker,
        max_in_flight=args.max_in_flight,
        max_retries=args.ray_retries,
        summary_path=args.summary,
        on_result=show,
    )
    for line in summary.lines():
        print(line, file=sys.stderr if args.json else sys.stdout)
    return 1 if summary.failed else 0
