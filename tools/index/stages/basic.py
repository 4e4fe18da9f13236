"""The stages every index has: the sampled-frame table and keyframe thumbnails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vidreason.tools.core.errors import VideoOpenError
from vidreason.tools.core.media import FrameChunk
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.stage import FrameConsumer, FrameInput, Stage, StageContext, StageOutput

THUMB_SHORT_SIDE = 160


class _TimesCollector(FrameConsumer):
    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.times: list[np.ndarray] = []

    def consume(self, chunk: FrameChunk) -> None:
        self.times.append(chunk.timestamps.copy())

    def close(self) -> StageOutput:
        times = np.concatenate(self.times) if self.times else np.zeros(0)
        if len(times) == 0:
            raise VideoOpenError(f"{self.ctx.path}: no frame could be decoded")
        duration = self.ctx.info.duration
        decoded_to = float(times[-1])
        metrics = {"frames": float(len(times)), "decoded_to_s": decoded_to}
        reason = None
        if duration > 0 and decoded_to < duration - max(2.0, 2.5 / self.ctx.settings.fps):
            reason = f"video decodes only up to {decoded_to:.2f}s of {duration:.2f}s (truncated or damaged file)"
        return StageOutput(artefact=times, status="degraded" if reason else "ok", reason=reason, metrics=metrics)


class FramesStage(Stage):
    """The sampled-frame table: exact timestamps of the frames kept at ``settings.fps``."""

    name = "frames"
    version = "1"
    frame_input: ClassVar[FrameInput] = "table"

    def params(self, settings: Settings) -> dict[str, Any]:
        return {"fps": settings.fps}

    def open(self, ctx: StageContext) -> FrameConsumer:
        return _TimesCollector(ctx)

    def save(self, artefact: Any, folder: Path) -> None:
        np.save(folder / "timestamps.npy", np.asarray(artefact, dtype=np.float64))

    def load(self, folder: Path) -> Any:
        return np.load(folder / "timestamps.npy")


class _ThumbWriter(FrameConsumer):
    def __init__(self, ctx: StageContext, every: int) -> None:
        self.folder = ctx.folder
        self.every = every
        self.count = 0

    def consume(self, chunk: FrameChunk) -> None:
        from PIL import Image

        for frame, idx in zip(chunk.frames, chunk.indices, strict=True):
            if idx % self.every:
                continue
            img = Image.fromarray(frame)
            scale = THUMB_SHORT_SIDE / min(img.size)
            if scale < 1:
                img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))))
            img.save(self.folder / f"{int(idx):06d}.jpg", quality=80)
            self.count += 1

    def close(self) -> StageOutput:
        return StageOutput(artefact={"count": self.count, "every": self.every}, metrics={"thumbnails": self.count})


class ThumbnailStage(Stage):
    """Small JPEGs of table frames, for citations and the UI (``thumbnails/<frame_index>.jpg``)."""

    name = "thumbnails"
    version = "1"
    frame_input: ClassVar[FrameInput] = "table"
    lazy_files: ClassVar[tuple[str, ...]] = ("*.jpg",)

    def params(self, settings: Settings) -> dict[str, Any]:
        return {"short_side": THUMB_SHORT_SIDE, "every": self._every(settings)}

    @staticmethod
    def _every(settings: Settings) -> int:
        return max(1, round(settings.fps))  # about one thumbnail per second

    def open(self, ctx: StageContext) -> FrameConsumer:
        return _ThumbWriter(ctx, self._every(ctx.settings))

    def save(self, artefact: Any, folder: Path) -> None:
        (folder / "thumbnails.json").write_text(json.dumps(artefact))

    def load(self, folder: Path) -> Any:
        return json.loads((folder / "thumbnails.json").read_text())
