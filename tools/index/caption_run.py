"""The captioning pass: keyframes per shot from streamed frame chunks, captions in batches, and writing
captions into the hierarchy. See :mod:`vidreason.tools.captioning.base` for the backends and result types."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from vidreason.tools.captioning.base import (
    STAGE_NAME,
    Captioner,
    CaptionOptions,
    CaptionSet,
    Clip,
    Frame,
    ShotCaption,
    caption_prompt,
    load_captioner,
    prompt_version,
)
from vidreason.tools.core.configs import CaptionConfig
from vidreason.tools.core.errors import ConfigError, ModelUnavailable
from vidreason.tools.core.media import FrameChunk, StageStatus
from vidreason.tools.core.models import ModelRegistry
from vidreason.tools.media.keyframes import KeyframeSelection, KeyframeSelector
from vidreason.tools.media.numpro import number_frames

if TYPE_CHECKING:
    from vidreason.tools.index.hierarchy import VideoGraph

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------ the pass

ShotSpan = tuple[str, float, float]


class ShotCaptionRun:
    """Streams the frame table once and captions every shot.

    ``shots`` are ``(node_id, start, end)`` in seconds; a frame belongs to the shot with ``start <= t < end``
    (the last shot also takes ``t == end``). Call :meth:`consume` with each ``FrameChunk`` in time order, then
    :meth:`close`. With ``captioner=None`` frames are ignored and ``close`` returns a skipped set whose status
    carries ``skip_reason``.
    """

    def __init__(
        self,
        shots: Sequence[ShotSpan],
        captioner: Captioner | None,
        options: CaptionOptions | None = None,
        *,
        backend: str = "none",
        skip_reason: str | None = None,
    ) -> None:
        self.shots = sorted(shots, key=lambda s: (s[1], s[2]))
        self.captioner = captioner
        self.options = options or CaptionOptions()
        self.backend = backend
        self.skip_reason = skip_reason
        self._pos = 0  # index of the current shot
        self._selector: KeyframeSelector | None = None
        self._pending: list[tuple[ShotSpan, KeyframeSelection]] = []
        self._done: list[ShotCaption] = []
        self._frames_seen = 0
        self._caption_s = 0.0
        self._t0 = time.perf_counter()

    def _new_selector(self) -> KeyframeSelector:
        o = self.options
        return KeyframeSelector(max_frames=o.max_frames, threshold=o.dedup_threshold, method=o.dedup_method)

    def _finish_shot(self) -> None:
        if self._selector is not None and self._selector.seen:
            self._pending.append((self.shots[self._pos], self._selector.result()))
        self._selector = None
        self._pos += 1
        if len(self._pending) >= self.options.batch_size:
            self._flush()

    def consume(self, chunk: FrameChunk, embeddings: np.ndarray | None = None) -> None:
        """Offer a chunk of the frame table (``embeddings`` [N, D] when ``dedup_method='embedding'``)."""
        if self.captioner is None:
            return
        n = len(self.shots)
        for i in range(len(chunk)):
            t = float(chunk.timestamps[i])
            while self._pos < n - 1 and t >= self.shots[self._pos][2]:
                self._finish_shot()
            if self._pos >= n:
                continue
            _, start, end = self.shots[self._pos]
            if t < start or t > end or (t == end and self._pos < n - 1):
                continue  # outside every shot (before the first, in a gap, or after the last)
            if self._selector is None:
                self._selector = self._new_selector()
            self._frames_seen += 1
            emb = None if embeddings is None else embeddings[i]
            self._selector.add(chunk.frames[i], int(chunk.indices[i]), t, emb)

    def _flush(self) -> None:
        if not self._pending or self.captioner is None:
            return
        batch, self._pending = self._pending, []
        clips: list[Clip] = []
        for _, sel in batch:
            frames: list[Frame] = list(sel.frames)
            if self.options.numbered:
                frames = list(number_frames(frames, sel.indices, sel.timestamps))
            clips.append(frames)
        prompts = [caption_prompt(n_frames=len(c), numbered=self.options.numbered) for c in clips]
        t0 = time.perf_counter()
        texts = self.captioner.caption(clips, prompts)
        self._caption_s += time.perf_counter() - t0
        if len(texts) != len(clips):
            raise RuntimeError(f"captioner {self.captioner.model_id} gave {len(texts)} captions for {len(clips)} clips")
        for ((node_id, start, end), sel), text in zip(batch, texts, strict=True):
            self._done.append(
                ShotCaption(
                    node_id=node_id,
                    start=start,
                    end=end,
                    text=text.strip(),
                    frame_indices=sel.indices,
                    timestamps=sel.timestamps,
                    frames_seen=sel.seen,
                    duplicates=sel.duplicates,
                )
            )
        log.debug("captioned %d shots (%d done)", len(batch), len(self._done))

    def close(self) -> CaptionSet:
        """Caption what is left and return the artefact."""
        wall = time.perf_counter() - self._t0
        opts, version = self.options, prompt_version()
        if self.captioner is None:
            reason = self.skip_reason or "no caption backend"
            status = StageStatus(name=STAGE_NAME, status="degraded", reason=reason, wall_s=wall)
            return CaptionSet(backend=self.backend, prompt_version=version, options=opts, status=status)
        while self._pos < len(self.shots):
            self._finish_shot()
        self._flush()
        captions = sorted(self._done, key=lambda c: c.start)
        sent = sum(len(c.frame_indices) for c in captions)
        dup = sum(c.duplicates for c in captions)
        status = StageStatus(
            name=STAGE_NAME,
            status="ok",
            wall_s=time.perf_counter() - self._t0,
            models={"caption": self.captioner.model_id},
            params=opts.model_dump(),
        )
        log.info(
            "captions: %d shots, %d/%d frames sent (%d near-duplicates skipped), %.1f s in the VLM",
            len(captions),
            sent,
            self._frames_seen,
            dup,
            self._caption_s,
        )
        return CaptionSet(
            backend=self.backend,
            model_id=self.captioner.model_id,
            prompt_version=version,
            options=opts,
            captions=captions,
            status=status,
            frames_seen=self._frames_seen,
            frames_sent=sent,
            duplicates=dup,
            caption_s=self._caption_s,
        )


def start_caption_run(
    config: CaptionConfig,
    shots: Sequence[ShotSpan],
    *,
    captioner: Captioner | None = None,
    options: CaptionOptions | None = None,
    models: ModelRegistry | None = None,
) -> ShotCaptionRun:
    """A :class:`ShotCaptionRun` for ``config``: loads the configured captioner from ``models`` (or uses
    ``captioner``).

    No backend configured, or a model that cannot load, gives a run that records the stage as degraded
    (logged as a warning) instead of failing the whole index build.
    """
    opts = options or CaptionOptions.from_config(config)
    backend = config.backend
    if captioner is not None:
        return ShotCaptionRun(shots, captioner, opts, backend=backend if backend != "none" else "custom")
    if backend == "none":
        reason = (
            "captions skipped: no caption backend configured (caption_backend='none', the CPU 'fast' profile "
            "default); set VIDREASON_CAPTION_BACKEND=transformers (GPU) or litellm with "
            "VIDREASON_CAPTION_MODEL"
        )
        log.warning(reason)
        return ShotCaptionRun(shots, None, opts, backend=backend, skip_reason=reason)
    try:
        loaded = load_captioner(config, models)  # one load per registry, shared with the agent's inspect step
    except ModelUnavailable as e:
        reason = f"captions skipped: {e}"
        log.warning(reason)
        return ShotCaptionRun(shots, None, opts, backend=backend, skip_reason=reason)
    return ShotCaptionRun(shots, loaded, opts, backend=backend)


def caption_shots(
    config: CaptionConfig,
    shots: Sequence[ShotSpan],
    chunks: Iterable[FrameChunk],
    *,
    captioner: Captioner | None = None,
    options: CaptionOptions | None = None,
) -> CaptionSet:
    """Caption ``shots`` from the frame-table ``chunks`` (one pass); see :func:`start_caption_run`."""
    run = start_caption_run(config, shots, captioner=captioner, options=options)
    if run.captioner is not None:
        for chunk in chunks:
            run.consume(chunk)
    return run.close()


# ------------------------------------------------------------------------------------------------ the graph


def shot_spans(graph: VideoGraph) -> list[ShotSpan]:
    """``(node_id, start, end)`` of every shot of a hierarchy graph, in time order."""
    return [(n.id, n.start, n.end) for n in graph.iter_nodes("shot")]


def write_captions(graph: VideoGraph, captions: CaptionSet) -> int:
    """Store each caption in its shot node's ``caption`` slot and the provenance (model, prompt version,
    keyframes shown per shot) in ``graph.meta["captions"]``; returns how many captions were written.

    Unknown node ids raise ``ConfigError`` (captions of another video's graph)."""
    for c in captions.captions:
        if c.node_id not in graph:
            raise ConfigError(f"caption for {c.node_id!r}, which is not a node of this graph")
    for c in captions.captions:
        graph.annotate(c.node_id, caption=c.text)
    graph.meta["captions"] = {
        "backend": captions.backend,
        "model": captions.model_id,
        "prompt_version": captions.prompt_version,
        "status": captions.status.status,
        "reason": captions.status.reason,
        "frames": {c.node_id: c.frame_indices for c in captions.captions},
    }
    return len(captions.captions)


__all__ = ["ShotCaptionRun", "caption_shots", "shot_spans", "start_caption_run", "write_captions"]
