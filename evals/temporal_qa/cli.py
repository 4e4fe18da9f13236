"""The temporal-QA sub-commands of ``vidreason eval``::

vidreason eval make-temporal-qa --out DIR --seed N [--videos K] [--no-check] [--font PATH]
vidreason eval temporal-qa CASES.jsonl [CASES2.jsonl ...] [--videos DIR ...] [--out DIR] [--types T ...]
                           [--limit N] [settings options]
vidreason eval make-real-qa-videos --shared DIR --out DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

TEMPORAL_QA = "temporal-qa"
MAKE_TEMPORAL_QA = "make-temporal-qa"
MAKE_REAL_QA_VIDEOS = "make-real-qa-videos"
COMMANDS = (TEMPORAL_QA, MAKE_TEMPORAL_QA, MAKE_REAL_QA_VIDEOS)


def add_temporal_qa_parsers(sub: Any) -> None:
    """Register the three sub-commands on ``vidreason eval``'s sub-parsers."""
    from vidreason.agent.options import add_settings_args

    p = sub.add_parser(TEMPORAL_QA, help="answer temporal-QA cases and report accuracy per question type")
    add_settings_args(p)
    p.add_argument("cases", nargs="+", type=Path, help="case files (JSONL; see evals/temporal_qa/FORMAT.md)")
    p.add_argument("--videos", action="append", default=[], type=Path, help="folder searched for videos (repeatable)")
    p.add_argument("--out", type=Path, help="output folder (default ./vidreason-eval/temporal-qa); reruns resume")
    p.add_argument("--types", nargs="+", metavar="TYPE", help="only these question types")
    p.add_argument("--limit", type=int, help="only the first N selected cases")
    p.set_defaults(func=run_temporal_qa_command)

    g = sub.add_parser(MAKE_TEMPORAL_QA, help="generate videos with exact ground truth and their QA cases")
    g.add_argument("--out", required=True, type=Path, help="output folder (videos go to OUT/s<seed>/)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--videos", type=int, default=8, help="videos to generate (about 14 cases each)")
    g.add_argument("--no-check", action="store_true", help="skip the Whisper/OCR recognition checks")
    g.add_argument(
        "--check-models",
        default="tiny.en@1,base@5",
        help="Whisper MODEL[@BEAM] specs that must recognise every needed word (comma-separated)",
    )
    g.add_argument("--font", type=Path, help="TrueType font of the titles (default: DejaVuSans Bold)")
    g.set_defaults(func=make_temporal_qa_command)

    r = sub.add_parser(MAKE_REAL_QA_VIDEOS, help="mux the shared speech recordings under a plain video")
    r.add_argument("--shared", required=True, type=Path, help="the shared data folder (../shared/data)")
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--overwrite", action="store_true")
    r.set_defaults(func=make_real_qa_videos_command)


def run_temporal_qa_command(args: argparse.Namespace, asker: Any = None) -> int:
    """``vidreason eval temporal-qa``; ``asker`` replaces the ``VideoReasoner`` (tests)."""
    from vidreason.evals.temporal_qa.run import TemporalQAOptions, evaluate_temporal_qa

    options = TemporalQAOptions(
        cases=[str(c) for c in args.cases],
        videos=[str(v) for v in args.videos],
        out=str(args.out or Path("vidreason-eval") / TEMPORAL_QA),
        types=args.types,
        limit=args.limit,
    )
    settings_dump = None
    if asker is None:
        from vidreason.agent.options import settings_from_args
        from vidreason.agent.reasoner import VideoReasoner

        settings = settings_from_args(args)
        settings_dump = settings.model_dump(mode="json")
        asker = VideoReasoner(settings)
    report, paths, stats = evaluate_temporal_qa(options, asker, settings_dump=settings_dump)
    m = report.metrics
    print(
        f"temporal-qa: {report.selected} cases ({stats.answered_now} answered now, {stats.already_done} resumed, "
        f"{report.errors} errors), accuracy {100 * (m.overall.accuracy or 0):.1f}% overall (non-optional)"
    )
    for t, g in m.per_type.items():
        cit = "–" if g.citation_in_target is None else f"{100 * g.citation_in_target:.0f}%"
        print(f"  {t:12s} n={g.n:3d}  accuracy {100 * (g.accuracy or 0):5.1f}%  citation in target {cit}")
    if report.missing_videos:
        print(f"missing videos: {', '.join(report.missing_videos)} (pass their folder with --videos)")
    print(f"report: {paths['markdown']}")
    return 0


def make_temporal_qa_command(args: argparse.Namespace) -> int:
    from vidreason.evals.temporal_qa.generate import make_temporal_qa

    models = () if args.no_check else tuple(m.strip() for m in args.check_models.split(",") if m.strip())
    result = make_temporal_qa(
        args.out, args.seed, args.videos, check_models=models, check_ocr=not args.no_check, font=args.font
    )
    dropped = sum(len(v.dropped) for v in result.videos)
    print(f"temporal-qa seed {result.seed}: {len(result.videos)} videos, {result.cases} cases ({dropped} dropped)")
    print("  " + ", ".join(f"{t}: {n}" for t, n in sorted(result.per_type.items())))
    print(f"cases: {result.cases_file}")
    print(f"evaluate with: vidreason eval temporal-qa {result.cases_file}")
    return 0


def make_real_qa_videos_command(args: argparse.Namespace) -> int:
    from vidreason.evals.temporal_qa import REAL_CASES
    from vidreason.evals.temporal_qa.real import make_real_qa_videos

    made = make_real_qa_videos(args.shared, args.out, overwrite=args.overwrite)
    print("videos: " + ", ".join(str(p) for p in made))
    print(
        f"evaluate with: vidreason eval temporal-qa {REAL_CASES} --videos {Path(args.shared) / 'videos'} "
        f"--videos {args.out}"
    )
    return 0
