"""``vidreason eval``: run a grounding benchmark, or build a needle-in-a-haystack video.

The main CLI registers these with :func:`add_eval_parser` and calls ``args.func(args)`` (an exit code)::

    vidreason eval DATASET --annotations FILE --videos DIR [--llm-output FILE] [--durations CSV]
                   [--limit N] [--seed N] [--ood-pad SEC] [--workers N] [--protocol NAME] [--out DIR]
                   [--grounder MODULE:ATTR]
    vidreason eval make-haystack --needles FILE [--clips DIR] --out DIR [--duration SEC] [--seed N] ...
    vidreason eval temporal-qa CASES.jsonl ... [--videos DIR] [--out DIR]      (see evals/temporal_qa/cli.py)
    vidreason eval make-temporal-qa --out DIR --seed N [--videos K]
    vidreason eval make-real-qa-videos --shared DIR --out DIR

``DATASET`` is one of the registered names (or an alias); the others are sibling sub-commands.
Standalone: ``python -m vidreason.evals.cli eval ...``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidreason.evals.datasets import DATASETS
from vidreason.evals.protocols import PROTOCOLS
from vidreason.evals.temporal_qa.cli import COMMANDS as TEMPORAL_QA_COMMANDS
from vidreason.evals.temporal_qa.cli import add_temporal_qa_parsers
from vidreason.tools.core.errors import ConfigError, VidreasonError
from vidreason.tools.core.registry import import_target

logger = logging.getLogger(__name__)

#: ``factory(settings) -> Grounder`` used unless ``--grounder`` names another; provided by vidreason.agent.
DEFAULT_GROUNDER = "vidreason.evals.grounder:make_eval_grounder"
HAYSTACK_COMMAND = "make-haystack"


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} must look like 640x360") from None
    return w, h


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    from vidreason.agent.options import add_settings_args
    from vidreason.tools.distributed.cli import add_ray_args

    add_settings_args(p)
    add_ray_args(p)
    p.add_argument("--annotations", required=True, type=Path, help="annotation file of the dataset")
    p.add_argument("--videos", required=True, type=Path, help="folder holding the videos (searched recursively)")
    p.add_argument("--llm-output", type=Path, help="recorded LLM decompositions (TFVTG llm_outputs.json)")
    p.add_argument("--durations", type=Path, help="durations CSV (id,length) for annotations without durations")
    p.add_argument("--limit", type=int, help="evaluate only N queries (the first N, or a seeded sample)")
    p.add_argument("--seed", type=int, help="with --limit: pick a seeded random subset")
    p.add_argument(
        "--ood-pad",
        type=float,
        default=0.0,
        metavar="SEC",
        help="out-of-distribution test: prepend SEC seconds of noise and shift the ground truth",
    )
    p.add_argument("--workers", type=int, default=1, help="videos processed in parallel (threads)")
    p.add_argument(
        "--protocol",
        choices=sorted(PROTOCOLS),
        help="score with this reference evaluator's conventions (default: the dataset's own: tfvtg for "
        "Charades-STA/ActivityNet, moment-detr for QVHighlights, 2d-tan for TACoS); the report names it",
    )
    p.add_argument("--out", type=Path, help="output folder (default ./vidreason-eval/DATASET); reruns resume")
    p.add_argument(
        "--grounder",
        default=DEFAULT_GROUNDER,
        metavar="MODULE:ATTR",
        help="factory(settings) -> Grounder (default: the VideoReasoner grounder)",
    )
    p.set_defaults(func=run_eval_command)


def _add_haystack_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--needles",
        required=True,
        type=Path,
        help="JSON list of {clip, query, start, end} or a Charades-STA .txt (ids name clips in --clips)",
    )
    p.add_argument("--clips", type=Path, help="folder of the clips (default: the needles file's folder)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--name", default="haystack", help="video id / file stem of the outputs")
    p.add_argument("--duration", type=float, help="total length in seconds (default: clips x (1 + filler ratio))")
    p.add_argument("--filler-ratio", type=float, default=2.0, help="filler seconds per clip second")
    p.add_argument("--filler", choices=["color", "clips"], default="color", help="colour+silence, or other clips")
    p.add_argument("--filler-clips", type=Path, help="folder of filler clips (with --filler clips)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=_size, default=(640, 360), help="WxH of the output (even numbers)")
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--color", default="black", help="background of colour filler and audio-only clips")
    p.set_defaults(func=make_haystack_command)


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``eval`` (with one sub-command per dataset, plus ``make-haystack``) on ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        help="run a grounding or temporal-QA benchmark, or build its videos",
        description="Evaluate temporal grounding or temporal question answering, or build benchmark videos.",
    )
    sub = parser.add_subparsers(
        dest="eval_command",
        metavar="{DATASET," + ",".join((HAYSTACK_COMMAND, *TEMPORAL_QA_COMMANDS)) + "}",
        required=True,
    )
    for name in sorted(DATASETS):
        aliases = sorted(a for a, target in DATASETS.aliases.items() if target == name)
        sp = sub.add_parser(name, aliases=aliases, help=f"evaluate on {name}")
        sp.set_defaults(eval_dataset=name)
        _add_run_arguments(sp)
    _add_haystack_arguments(sub.add_parser(HAYSTACK_COMMAND, help="join clips into one long annotated video"))
    add_temporal_qa_parsers(sub)
    return parser


def load_factory(target: str) -> Any:
    if ":" not in target:
        raise ConfigError(f"--grounder {target!r} must look like 'package.module:factory'")
    try:
        return import_target(target)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"grounder factory {target!r} is not available ({e}); pass --grounder MODULE:ATTR") from e


def run_eval_command(args: argparse.Namespace, grounder: Any = None) -> int:
    """Run ``vidreason eval DATASET``; ``grounder`` overrides ``--grounder`` (tests). Prints the summary."""
    from vidreason.evals.datasets.base import require_file
    from vidreason.evals.runner import EvalOptions, evaluate

    dataset = args.eval_dataset
    out = args.out or Path("vidreason-eval") / dataset
    options = EvalOptions(
        dataset=dataset,
        annotations=str(args.annotations),
        videos=str(args.videos),
        out=str(out),
        llm_output=str(args.llm_output) if args.llm_output else None,
        durations_csv=str(args.durations) if args.durations else None,
        limit=args.limit,
        seed=args.seed,
        ood_pad=args.ood_pad,
        workers=args.workers,
        protocol=args.protocol,
    )
    require_file(args.annotations, "annotations")
    if not Path(args.videos).is_dir():
        raise ConfigError(f"--videos {str(args.videos)!r} is not a directory")
    settings_dump = None
    remote = None
    if grounder is None:
        factory = load_factory(args.grounder)  # before Settings(), which may import torch
        from vidreason.agent.options import settings_from_args

        settings = settings_from_args(args)
        settings_dump = settings.model_dump(mode="json")
        grounder = factory(settings)
        if getattr(args, "ray", None) is not None:
            remote = _ray_runner(args, functools.partial(factory, settings))
    report, paths, stats = evaluate(options, grounder, settings_dump=settings_dump, remote=remote)
    m, t = report.metrics, report.timing
    r1 = " / ".join(f"{m.recall[f'R@1,IoU={th:g}']:.2f}" for th in (0.3, 0.5, 0.7))
    rtf = f"{t.realtime_factor:.2f}x realtime" if t.realtime_factor else "realtime n/a"
    print(
        f"{report.dataset} (protocol {report.protocol}): {report.scored}/{report.selected} queries, "
        f"R@1 IoU=0.3/0.5/0.7: {r1}, "
        f"mIoU: {m.miou:.2f}  ({t.videos} videos, {t.video_s:.1f} s of video, index {t.index_s:.1f} s, "
        f"query {t.query_s:.1f} s, {rtf})"
    )
    if stats.missing_videos:
        print(f"skipped {stats.skipped_samples} queries: {len(stats.missing_videos)} video(s) not found")
    print(f"report: {paths['markdown']}")
    return 0


def _ray_runner(args: argparse.Namespace, grounder_factory: Any) -> Any:
    """Per-video eval jobs on a Ray cluster (one grounder per actor), for ``--ray``."""
    from vidreason.evals.ray import run_video_jobs_on_ray

    def run(jobs: Any, store: Any, decompositions: Any, ood_pad: float, progress: Any) -> int:
        return run_video_jobs_on_ray(
            jobs,
            grounder_factory,
            store,
            decompositions=decompositions,
            ood_pad=ood_pad,
            address=args.ray or None,
            num_workers=args.ray_workers,
            cpus_per_worker=args.ray_cpus_per_worker,
            gpus_per_worker=args.ray_gpus_per_worker or 0.0,
            max_in_flight=args.max_in_flight,
            max_retries=args.ray_retries,
            progress=progress,
        )

    return run


def make_haystack_command(args: argparse.Namespace) -> int:
    from vidreason.evals.datasets.locator import VIDEO_EXTENSIONS, VideoLocator
    from vidreason.evals.haystack import AUDIO_EXTENSIONS, load_needles, make_haystack

    fillers = None
    if args.filler_clips:
        fillers = VideoLocator(args.filler_clips, extensions=(*VIDEO_EXTENSIONS, *AUDIO_EXTENSIONS)).paths()
    result = make_haystack(
        load_needles(args.needles, args.clips),
        args.out,
        name=args.name,
        total_duration=args.duration,
        filler_ratio=args.filler_ratio,
        filler=args.filler,
        filler_clips=fillers,
        seed=args.seed,
        size=args.size,
        fps=args.fps,
        sample_rate=args.sample_rate,
        color=args.color,
    )
    print(f"haystack: {result.video} ({result.duration:.1f} s, {len(result.queries)} queries)")
    print(f"annotations: {result.annotations}  durations: {result.durations_csv}  sidecar: {result.sidecar}")
    print(
        f"evaluate with: vidreason eval haystack --annotations {result.annotations} "
        f"--durations {result.durations_csv} --videos {Path(result.video).parent}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (``python -m vidreason.evals.cli eval ...``)."""
    parser = argparse.ArgumentParser(prog="vidreason")
    add_eval_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except VidreasonError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
