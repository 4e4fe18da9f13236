"""Shot captions from a VLM: the ``Captioner`` interface, the registry of backends, and the captioning pass.

Backends (lazy ``"module:attr"`` names, nothing heavy is imported until one is loaded):

* ``transformers`` — a local VLM (Qwen2.5-VL, Qwen2-VL, SmolVLM, ...) with ``from_pretrained``; see
  :mod:`vidreason.tools.caption_hf`;
* ``litellm`` — any vision-capable chat model (an API, or a local OpenAI-compatible server such as vLLM or
  llama.cpp) through the LLM client; see :mod:`vidreason.tools.caption_litellm`.

The pass (:class:`ShotCaptionRun`) is fed the frame table in chunks (the index's shared decode pass), keeps
keyframes per shot with the near-duplicate filter of :mod:`vidreason.tools.keyframes` (a static shot costs one
frame), and captions finished shots in batches, so memory stays bounded by a few shots' keyframes. With no
backend configured (the CPU ``fast`` profile) or a model that cannot be loaded, the stage is skipped and
recorded as degraded with the reason.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from vidreason.agent.errors import ConfigError, ModelUnavailable
from vidreason.agent.prompting import _Vars, load_prompt, register_prompt
from vidreason.agent.settings import Settings
from vidreason.tools.keyframes import KeyframeSelection, KeyframeSelector, Method
from vidreason.tools.numpro import number_frames
from vidreason.tools.schemas import FrameChunk, StageStatus

if TYPE_CHECKING:
    from vidreason.tools.hierarchy import VideoGraph

log = logging.getLogger(__name__)

Frame = Image.Image | np.ndarray
Clip = Sequence[Frame]
STAGE_NAME = "captions"
PROMPT_NAME = "caption"


@runtime_checkable
class Captioner(Protocol):
    """A VLM that writes one caption per clip (a clip = one shot's keyframes, in time order)."""

    model_id: str
    supports_video: bool

    def caption(self, clips: Sequence[Clip], prompt: str | Sequence[str]) -> list[str]:
        """One caption per clip, same order; ``prompt`` is shared or one per clip."""
        ...


def prompts_for(clips: Sequence[Clip], prompt: str | Sequence[str]) -> list[str]:
    """``prompt`` as one instruction per clip (``ConfigError`` when a list has the wrong length)."""
    if isinstance(prompt, str):
        return [prompt] * len(clips)
    if len(prompt) != len(clips):
        raise ConfigError(f"{len(prompt)} prompts for {len(clips)} clips; give one prompt or one per clip")
    return list(prompt)


#: backend name -> "module:attr" of a factory ``(settings, **kwargs) -> Captioner``
CAPTIONERS: dict[str, str] = {
    "transformers": "vidreason.tools.caption_hf:TransformersCaptioner.from_settings",
    "litellm": "vidreason.tools.caption_litellm:LiteLLMCaptioner.from_settings",
}


def _resolve(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def load_captioner(settings: Settings, backend: str | None = None, **kwargs: Any) -> Captioner:
    """The captioner named by ``backend`` (default ``settings.caption_backend``) for
    ``settings.caption_model``.

    Raises ``ConfigError`` for an unknown or ``none`` backend, ``ModelUnavailable`` when weights cannot load.
    """
    name = backend or settings.caption_backend or "none"
    if name == "none":
        raise ConfigError("caption backend is 'none'; allowed for captioning: " + ", ".join(CAPTIONERS))
    if name not in CAPTIONERS:
        close = difflib.get_close_matches(name, CAPTIONERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown caption backend {name!r}{hint} (known: {', '.join(CAPTIONERS)}, none)")
    factory = _resolve(CAPTIONERS[name])
    captioner: Captioner = factory(settings, **kwargs)
    return captioner


_LOADED: dict[tuple[Any, ...], Captioner] = {}


def shared_captioner(settings: Settings) -> Captioner:
    """:func:`load_captioner` once per process for the same backend/model/device/generation settings
    (the agent's inspect step calls this per question; the weights load once)."""
    key = (
        settings.caption_backend,
        settings.caption_model,
        settings.torch_device,
        settings.caption_max_new_tokens,
        settings.caption_batch_size,
        settings.caption_api_base,
        settings.llm_api_base,
    )
    if key not in _LOADED:
        _LOADED[key] = load_captioner(settings)
    return _LOADED[key]


# ------------------------------------------------------------------------------------------------ prompt


class CaptionVars(_Vars):
    """Variables of ``prompts/caption.j2``."""

    n_frames: int = Field(1, ge=1, description="keyframes shown (1 = a single frame)")
    numbered: bool = Field(False, description="frames carry their frame-table number (NumPro)")


register_prompt(PROMPT_NAME, CaptionVars)


def caption_prompt(n_frames: int = 2, numbered: bool = False) -> str:
    """The caption instruction (the blocks of ``caption.j2`` joined: the VLM gets one user turn)."""
    messages = load_prompt(PROMPT_NAME).render(n_frames=n_frames, numbered=numbered)
    return "\n\n".join(m["content"] for m in messages)


def prompt_version(name: str = PROMPT_NAME) -> str:
    """The ``version`` in the template's front matter (part of the stage cache key)."""
    return load_prompt(name).version


# ------------------------------------------------------------------------------------------------ results


class CaptionOptions(BaseModel):
    """How shots are turned into VLM inputs."""

    model_config = ConfigDict(extra="forbid")

    max_frames: int = Field(4, ge=1, le=32)
    dedup_threshold: float = Field(0.04, ge=0, le=2)
    dedup_method: Method = "pixel"
    batch_size: int = Field(4, ge=1, le=256)
    numbered: bool = Field(False, description="draw frame-table numbers on the keyframes (NumPro)")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> CaptionOptions:
        values: dict[str, Any] = {
            "max_frames": settings.caption_max_frames,
            "dedup_threshold": settings.caption_dedup_threshold,
            "batch_size": settings.caption_batch_size,
        }
        return cls(**{**values, **overrides})


class ShotCaption(BaseModel):
    """The caption of one shot and the keyframes it was written from."""

    node_id: str
    start: float
    end: float
    text: str
    frame_indices: list[int] = Field(description="frame-table indices of the keyframes shown")
    timestamps: list[float]
    frames_seen: int = Field(description="frames of the shot in the frame table")
    duplicates: int = Field(description="frames skipped as near-duplicates")


class CaptionSet(BaseModel):
    """Artefact of the captions stage: one caption per shot (none when the stage was skipped)."""

    backend: str
    model_id: str | None = None
    prompt_version: str
    options: CaptionOptions
    captions: list[ShotCaption] = Field(default_factory=list)
    status: StageStatus
    frames_seen: int = 0
    frames_sent: int = 0
    duplicates: int = 0
    caption_s: float = Field(0.0, description="seconds spent in the VLM")

    @property
    def by_node(self) -> dict[str, ShotCaption]:
        return {c.node_id: c for c in self.captions}


def cache_key_parts(settings: Settings, options: CaptionOptions | None = None) -> dict[str, Any]:
    """What changes the captions: backend, model id, prompt version, generation and keyframe parameters."""
    opts = options or CaptionOptions.from_settings(settings)
    backend = settings.caption_backend or "none"
    parts: dict[str, Any] = {"backend": backend}
    if backend != "none":
        parts.update(
            model=settings.caption_model,
            prompt=f"{PROMPT_NAME}@{prompt_version()}",
            max_new_tokens=settings.caption_max_new_tokens,
            keyframes=opts.model_dump(exclude={"batch_size"}),
        )
        if backend == "litellm":
            parts["api_base"] = settings.caption_api_base
    return parts


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
            raise RuntimeError(
                f"captioner {self.captioner.model_id} gave {len(texts)} captions for {len(clips)} clips"
            )
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
    settings: Settings,
    shots: Sequence[ShotSpan],
    *,
    captioner: Captioner | None = None,
    options: CaptionOptions | None = None,
) -> ShotCaptionRun:
    """A :class:`ShotCaptionRun` for ``settings``: loads the configured captioner (or uses ``captioner``).

    No backend configured, or a model that cannot load, gives a run that records the stage as degraded
    (logged as a warning) instead of failing the whole index build.
    """
    opts = options or CaptionOptions.from_settings(settings)
    backend = settings.caption_backend or "none"
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
        loaded = load_captioner(settings, backend)
    except ModelUnavailable as e:
        reason = f"captions skipped: {e}"
        log.warning(reason)
        return ShotCaptionRun(shots, None, opts, backend=backend, skip_reason=reason)
    return ShotCaptionRun(shots, loaded, opts, backend=backend)


def caption_shots(
    settings: Settings,
    shots: Sequence[ShotSpan],
    chunks: Iterable[FrameChunk],
    *,
    captioner: Captioner | None = None,
    options: CaptionOptions | None = None,
) -> CaptionSet:
    """Caption ``shots`` from the frame-table ``chunks`` (one pass); see :func:`start_caption_run`."""
    run = start_caption_run(settings, shots, captioner=captioner, options=options)
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


__all__ = [
    "CAPTIONERS",
    "CaptionOptions",
    "CaptionSet",
    "CaptionVars",
    "Captioner",
    "ShotCaption",
    "ShotCaptionRun",
    "cache_key_parts",
    "caption_prompt",
    "caption_shots",
    "load_captioner",
    "prompt_version",
    "prompts_for",
    "shared_captioner",
    "shot_spans",
    "start_caption_run",
    "write_captions",
]
