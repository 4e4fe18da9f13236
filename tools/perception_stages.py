"""Index stages wrapping the perception tools: shots, frame embeddings, transcript, OCR.

Each stage keeps its model loaded in the stage instance (one per process), so indexing many videos in one
process (or one Ray actor) loads each model once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from vidreason.agent.errors import ModelUnavailable
from vidreason.agent.settings import Settings
from vidreason.tools.schemas import FrameChunk, OcrItem, ShotBoundaries, Transcript
from vidreason.tools.stage import FrameConsumer, JsonStage, Stage, StageContext, StageOutput

log = logging.getLogger(__name__)

FrameInput = Literal["table", "analysis"] | None


# ------------------------------------------------------------------------------------------------ shots
class _ShotConsumer(FrameConsumer):
    def __init__(self, ctx: StageContext, detector: Any, note: str | None) -> None:
        self.ctx = ctx
        self.detector = detector
        self.note = note

    def consume(self, chunk: FrameChunk) -> None:
        self.detector.feed(chunk)

    def close(self) -> StageOutput:
        result = self.detector.finalize(self.ctx.frame_times, self.ctx.info.duration)
        return StageOutput(artefact=result, status="degraded" if self.note else "ok", reason=self.note,
                           models={"detector": result.detector}, metrics={"shots": float(len(result.shots))})


class ShotsStage(JsonStage):
    """Shot boundaries from the analysis grid (``settings.shot_fps``): TransNetV2 on GPU, colour content on CPU."""

    name = "shots"
    version = "1"
    requires = ("frames",)
    frame_input: ClassVar[FrameInput] = "analysis"
    artefact_type = ShotBoundaries

    def params(self, settings: Settings) -> dict[str, Any]:
        return {"detector": settings.shot_detector, "shot_fps": settings.shot_fps}

    def open(self, ctx: StageContext) -> FrameConsumer:
        from vidreason.tools.shots import create_detector

        s = ctx.settings
        name = s.shot_detector or "content"
        note = None
        try:
            detector = create_detector(name, fps=s.shot_fps, device=s.device)
        except ModelUnavailable as e:
            note = f"{name} unavailable ({e}); used the content detector instead"
            log.warning(note)
            detector = create_detector("content", fps=s.shot_fps)
        return _ShotConsumer(ctx, detector, note)


# ------------------------------------------------------------------------------------------------ transcript
class TranscriptStage(JsonStage):
    """faster-whisper transcript with VAD-placed word times (empty, with a reason, when there is no speech)."""

    name = "transcript"
    version = "1"
    artefact_type = Transcript

    def __init__(self) -> None:
        self._transcribers: dict[tuple[Any, ...], Any] = {}

    def enabled(self, settings: Settings) -> bool:
        return settings.asr_enabled

    def params(self, settings: Settings) -> dict[str, Any]:
        return {"model": settings.asr_model, "language": settings.asr_language,
                "compute_type": settings.asr_compute_type}

    def _transcriber(self, settings: Settings) -> Any:
        from vidreason.tools.asr import WhisperTranscriber

        key = (settings.asr_model, settings.asr_language, settings.asr_compute_type, settings.device)
        if key not in self._transcribers:
            self._transcribers[key] = WhisperTranscriber.from_settings(settings)
        return self._transcribers[key]

    def run(self, ctx: StageContext) -> StageOutput:
        if not ctx.info.has_audio:
            empty = Transcript(duration=ctx.info.duration, reason="no audio stream in the file")
            return StageOutput(artefact=empty, metrics={"segments": 0.0})
        transcriber = self._transcriber(ctx.settings)
        transcript = transcriber.transcribe(ctx.path)
        return StageOutput(artefact=transcript, models={"asr": transcriber.model_id},
                           metrics={"segments": float(len(transcript.segments))})
