"""``vidreason index``, ``vidreason info`` and ``vidreason cache``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidreason.agent.options import add_settings_args, settings_from_args
from vidreason.agent.samples import is_sample, resolve_video, video_arg

if TYPE_CHECKING:
    from vidreason.tools.core.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "index",
        help="index one or more videos (cached)",
        description="Decode, segment, embed and transcribe videos into the cache.",
    )
    p.add_argument(
        "videos", nargs="+", type=video_arg, metavar="VIDEO", help="video files (or 'sample' for the demo video)"
    )
    p.add_argument("--stages", help="comma-separated stages to build (plus what they need); default: all enabled")
    p.add_argument("--captions", action="store_true", help="also caption shots (needs a caption backend)")
    p.add_argument("--force", action="store_true", help="recompute even if cached")
    p.add_argument(
        "--speakers", action="store_true", help="label who speaks (diarization; also --set diarization_enabled=1)"
    )
    p.add_argument("--rttm", type=Path, metavar="OUT", help="write speaker turns as RTTM (a file, or a folder)")
    p.add_argument("--json", action="store_true", help="print one JSON object per video")
    p.add_argument("--no-progress", action="store_true")
    add_settings_args(p)
    from vidreason.tools.distributed.cli import add_ray_args

    add_ray_args(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("info", help="streams, duration, what is indexed, provenance and the hierarchy")
    p.add_argument("video", type=video_arg, help="a video file (or 'sample' for the demo video)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--depth", type=int, default=3, help="levels of the hierarchy tree to print")
    p.add_argument("--rttm", type=Path, metavar="OUT", help="write the indexed speaker turns as RTTM")
    add_settings_args(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("cache", help="list or clear cached indexes")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    c = csub.add_parser("list", help="list cached indexes")
    c.add_argument("--json", action="store_true")
    add_settings_args(c)
    c.set_defaults(func=cmd_cache_list)
    c = csub.add_parser("clear", help="delete cached indexes (all, or those of the given videos)")
    c.add_argument(
        "videos", nargs="*", type=video_arg, metavar="VIDEO", help="videos (or 'sample') whose indexes to delete"
    )
    c.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_settings_args(c)
    c.set_defaults(func=cmd_cache_clear)
    c = csub.add_parser(
        "verify",
        help="check every file of the cached indexes against its recorded size and checksum",
        description="Check the cached indexes (all, or those of the given videos): every stage file's size and "
        "checksum. Exits 1 when something is damaged; `vidreason index VIDEO` rebuilds damaged stages.",
    )
    c.add_argument("videos", nargs="*", type=Path, metavar="VIDEO")
    c.add_argument("--json", action="store_true")
    add_settings_args(c)
    c.set_defaults(func=cmd_cache_verify)


def _progress_bar(enabled: bool, label: str) -> Any:
    from tqdm import tqdm

    bar = tqdm(total=100, desc=label, unit="%", disable=not enabled or not sys.stderr.isatty(), leave=False)
    state = {"last": 0}

    def update(stage: str, fraction: float) -> None:
        pct = int(fraction * 100)
        bar.set_postfix_str(stage)
        if stage == "decode" and pct > state["last"]:
            bar.update(pct - state["last"])
            state["last"] = pct

    update.close = bar.close  # type: ignore[attr-defined]
    return update


def cmd_index(args: argparse.Namespace) -> int:
    from vidreason.tools.core import hub
    from vidreason.tools.core.errors import VidreasonError
    from vidreason.tools.index.video_index import VideoIndex

    settings = settings_from_args(args)
    if args.speakers or args.rttm:
        settings = settings.override(diarization_enabled=True)
    if args.captions and settings.caption_backend == "none":
        settings = settings.override(caption_backend="transformers")
    stages = [s.strip() for s in args.stages.split(",")] if args.stages else None
    args.videos = [resolve_video(v, settings.cache_dir) for v in args.videos]
    if args.force:
        hub.forget_failures(settings.cache_dir)
    hub.go_offline_if_unreachable(settings.cache_dir)
    if getattr(args, "ray", None) is not None:
        from vidreason.tools.distributed.cli import cmd_index_ray

        return cmd_index_ray(args, settings, stages)
    failures = 0
    for video in args.videos:
        t0 = time.perf_counter()
        progress = _progress_bar(not args.no_progress and not args.json, video.name)
        try:
            index = VideoIndex.build(video, settings, stages=stages, progress=progress, force=args.force)
        except VidreasonError as e:
            failures += 1
            if args.json:
                print(json.dumps({"video": str(video), "ok": False, "error": str(e)}))
            else:
                print(f"vidreason: error: {e}", file=sys.stderr)
            continue
        finally:
            progress.close()
        wall = time.perf_counter() - t0
        if args.rttm:
            _write_rttm(index, args.rttm, video, several=len(args.videos) > 1)
        failed = [n for n, s in index.manifest.stages.items() if s.status == "failed"]
        failures += bool(failed)
        if args.json:
            summary = {"video": str(video), "ok": not failed, "failed": failed, "seconds": round(wall, 3)}
            print(
                json.dumps({**summary, "cache_hit": not index.computed, "computed": index.computed, **index.summary()})
            )
        else:
            stages_line = ", ".join(f"{n}:{s.status}" for n, s in index.manifest.stages.items())
            if index.computed:
                rtf = index.duration / wall if wall > 0 else float("inf")
                done = f"indexed in {wall:.2f}s ({rtf:.1f}x realtime)"
            else:
                done = f"already indexed (cache hit, {wall:.2f}s; --force recomputes)"
            print(f"{video}: {index.duration:.1f}s video {done} [{stages_line}]")
            for name, reason in index.degraded.items():
                print(f"  {index.manifest.stages[name].status} {name}: {reason}")
            if failed:
                print(
                    f"  failed stages are recorded and retried by `vidreason index {video} --force`, or by itself "
                    "once the code or the stages they read change"
                )
    return 1 if failures else 0


def cmd_info(args: argparse.Namespace) -> int:
    from vidreason.tools.core.errors import IndexCorrupt, IndexNotFound
    from vidreason.tools.index.stages import registered
    from vidreason.tools.index.video_index import VideoIndex
    from vidreason.tools.media.video import probe

    settings = settings_from_args(args)
    args.video = resolve_video(args.video, settings.cache_dir)
    info = probe(args.video)
    out: dict[str, Any] = {"video": info.model_dump(mode="json"), "index": None}
    index = None
    try:
        index = VideoIndex.load(args.video, settings)
    except (IndexNotFound, IndexCorrupt) as e:
        out["index_missing"] = str(e)
        try:  # a partial (or damaged) index still has useful provenance
            index = VideoIndex.load(args.video, settings, complete=False)
        except (IndexNotFound, IndexCorrupt):
            index = None
    if index is not None and args.rttm:
        _write_rttm(index, args.rttm, args.video, several=False)
    if index is not None:
        out["index"] = index.summary()
        try:  # the annotated hierarchy when it exists
            graph = next((g for n in ("summaries", "graph") if registered(n) and (g := index.get(n))), None)
        except IndexCorrupt as e:
            graph, out["hierarchy_error"] = None, str(e)
        if graph is not None:
            out["hierarchy"] = graph.to_dict() if args.json else graph.render_tree(max_depth=args.depth)
    if args.json:
        print(json.dumps(out, indent=1, default=str))
        return 0
    v = info
    print(
        f"{v.path}\n  container {v.container}, {v.size_bytes / 1e6:.1f} MB, {v.duration:.2f}s, "
        f"{v.width}x{v.height}{f' (rotated {v.rotation} deg)' if v.rotation else ''} @ {v.fps:.3f} fps"
        f"{' (variable frame rate)' if v.variable_frame_rate else ''}, "
        f"{v.frame_count} frames"
    )
    for s in v.streams:
        detail = (
            f"{s.width}x{s.height} {s.fps or 0:.2f}fps"
            if s.kind == "video"
            else (f"{s.sample_rate} Hz, {s.channels} ch" if s.kind == "audio" else "")
        )
        print(f"  stream {s.index}: {s.kind} {s.codec or '?'} {detail}")
    if "index_missing" in out:
        print(f"  not fully indexed: {out['index_missing']}")
    if index is not None:
        print(f"  index: {index.root}  ({out['index']['frames'] or '?'} frames at {index.manifest.fps:g} fps)")
        for name, st in index.manifest.stages.items():
            if name in index.damaged:
                continue
            models = ", ".join(f"{k}={m}" for k, m in st.models.items())
            reason = f" - {st.reason}" if st.reason else ""
            print(f"    {name:<11} {st.status:<9} {st.wall_s:8.2f}s  {models}{reason}")
        for name, why in index.damaged.items():
            print(f"    {name:<11} DAMAGED   {why} (`vidreason index {args.video}` rebuilds it)")
        print("  " + _llm_rebuild_note(settings))
        print("  packages: " + ", ".join(f"{k} {v}" for k, v in index.manifest.packages.items()))
        if "hierarchy" in out:
            print(out["hierarchy"])
        elif "hierarchy_error" in out:
            print(f"  hierarchy: {out['hierarchy_error']}")
    return 0


def _write_rttm(index: Any, out: Path, video: Path, several: bool) -> None:
    """The index's speaker turns as RTTM: into ``out`` (a file), or ``out/<video stem>.rttm`` when ``out`` is a
    folder or several videos are written. Raises ``ConfigError`` when the index has no speaker turns."""
    from vidreason.tools.core.errors import ConfigError
    from vidreason.tools.core.storage import write_text_atomic
    from vidreason.tools.index.stages import registered

    diarization = index.get("speakers") if registered("speakers") else None
    if diarization is None:
        why = index.degraded.get("speakers", "speaker diarization was not run (vidreason index VIDEO --speakers)")
        raise ConfigError(f"{video}: no speaker turns to write: {why}")
    path = out / f"{video.stem}.rttm" if several or out.is_dir() else out
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, diarization.to_rttm(video.stem))
    print(
        f"{video}: {len(diarization.turns)} speaker turns ({diarization.num_speakers} speakers) -> {path}",
        file=sys.stderr,
    )


def _llm_rebuild_note(settings: Settings) -> str:
    """What happens to stages that degraded because the LLM failed (the ``rebuild_llm_degraded`` setting)."""
    if settings.rebuild_llm_degraded:
        return "rebuild_llm_degraded: on (LLM-built stages degraded by LLM failures are rebuilt by the next build)"
    return (
        "rebuild_llm_degraded: off (LLM-built stages degraded by LLM failures stay so until --force; "
        "VIDREASON_REBUILD_LLM_DEGRADED=1 rebuilds them once the LLM answers)"
    )


def _cache_entries(settings: Settings) -> list[dict[str, Any]]:
    root = settings.cache_dir / "index"
    entries = []
    for manifest in sorted(root.glob("*/manifest.json")) if root.exists() else []:
        try:
            data = json.loads(manifest.read_text())
        except ValueError:
            data = {}
        size = sum(f.stat().st_size for f in manifest.parent.rglob("*") if f.is_file())
        entries.append(
            {
                "root": str(manifest.parent),
                "video": data.get("video", {}).get("path"),
                "fps": data.get("fps"),
                "stages": sorted(data.get("stages", {})),
                "bytes": size,
            }
        )
    return entries


def cmd_cache_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    entries = _cache_entries(settings)
    if args.json:
        print(json.dumps(entries, indent=1))
        return 0
    if not entries:
        print(f"no cached indexes under {settings.cache_dir}")
    for e in entries:
        print(f"{e['bytes'] / 1e6:8.1f} MB  {e['video']}  fps={e['fps']}  [{', '.join(e['stages'])}]  {e['root']}")
    return 0


def _roots_of(video: str | Path, settings: Settings, entries: list[dict[str, Any]]) -> list[Path]:
    """The index folders of ``video`` (any frame rate): by content when the file exists, else by the path the
    manifests recorded (a deleted or moved video's indexes can still be cleared)."""
    from vidreason.tools.core import storage
    from vidreason.tools.core.errors import VideoOpenError

    try:
        path = resolve_video(video, settings.cache_dir, build=False)
    except VideoOpenError:
        if is_sample(video):
            return []  # the demo was never built here, so nothing of it is cached
        raise
    if path.is_file():
        prefix = storage.content_hash(path, settings.cache_dir)[:20] + "-"
        return [Path(e["root"]) for e in entries if Path(e["root"]).name.startswith(prefix)]
    wanted = str(path.resolve())
    roots = [Path(e["root"]) for e in entries if e["video"] and str(Path(e["video"]).resolve()) == wanted]
    if not roots:
        raise VideoOpenError(f"{path}: no such file (and no index records it)")
    return roots


def cmd_cache_clear(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    entries = _cache_entries(settings)
    if args.videos:
        roots = [root for v in args.videos for root in _roots_of(v, settings, entries)]
    else:
        roots = [Path(e["root"]) for e in entries]
    if not roots:
        names = ", ".join(str(v) for v in args.videos)
        print(f"nothing cached for {names or 'any video'} under {settings.cache_dir}")
        return 0
    if not args.yes and sys.stdin.isatty():
        answer = input(f"delete {len(roots)} cached index(es) under {settings.cache_dir}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)
    print(f"removed {len(roots)} index(es)")
    return 0


def cmd_cache_verify(args: argparse.Namespace) -> int:
    from vidreason.tools.core import storage
    from vidreason.tools.core.errors import IndexNotFound
    from vidreason.tools.index.integrity import verify_root
    from vidreason.tools.media.inputs import check_file

    settings = settings_from_args(args)
    base = settings.cache_dir / "index"
    if args.videos:
        roots = []
        for video in args.videos:
            digest = storage.content_hash(check_file(video), settings.cache_dir)
            found = sorted(p for p in base.glob(f"{digest[:20]}-fps*") if p.is_dir())
            if not found:
                raise IndexNotFound(f"{video}: no index of it in {settings.cache_dir}")
            roots += found
    else:
        roots = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    reports = [verify_root(root) for root in roots]
    damaged = sum(bool(r.damaged) for r in reports)
    if args.json:
        rows = [
            {
                "root": str(r.root),
                "video": r.video,
                "ok": not r.damaged,
                "damaged": r.damaged,
                "stages": [{**vars(s), "folder": str(s.folder)} for s in r.stages],
            }
            for r in reports
        ]
        print(json.dumps(rows, indent=1))
        return 1 if damaged else 0
    files = sum(s.files for r in reports for s in r.stages)
    size = sum(s.bytes for r in reports for s in r.stages)
    for r in reports:
        label = f"{r.root} ({r.video or 'video unknown'})"
        unverified = [s.stage for s in r.stages if s.state == "unverified"]
        if not r.damaged:
            note = f"; not verifiable (no file records): {', '.join(unverified)}" if unverified else ""
            print(f"ok       {label}: {len(r.stages)} stage folders{note}")
        for line in r.damaged:
            print(f"DAMAGED  {label}: {line}")
    fix = "; fix: `vidreason index VIDEO` (with the settings it was built with) rebuilds them" if damaged else ""
    print(
        f"checked {len(reports)} index(es) under {settings.cache_dir}, {files} files ({size / 1e6:.1f} MB): "
        f"{damaged} damaged{fix}"
    )
    return 1 if damaged else 0
