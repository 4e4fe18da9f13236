"""Index stages wrapping the perception models: shots, transcript and on-screen text. Models come from the
build's model registry (``StageContext.models``), so indexing many videos in one process (or one Ray actor)
loads each model once."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from vidreason.tools.core.configs import SHOT_DETECTOR_FPS
from vidreason.tools.core.errors import ModelUnavailable
from vidreason.tools.core.media import FrameChunk, OcrItem, ShotBoundaries, Transcript
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.stage import FrameConsumer, FrameInput, JsonStage, StageContext, StageOutput

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------ shots
class _ShotConsumer(FrameConsumer):
    def __init__(self, ctx: StageContext, detector: Any, note: str | None) -> None:
        self.ctx = ctx
        self.detector = detector
        self.note = note

    def consume(self, chunk: FrameChunk) -> None:
        self.detector.feed(chunk)

    def close(self) -> StageOutput:
        from vidreason.tools.shots.refine import Refiner

        refine = Refiner(self.ctx.path) if self.ctx.settings.shots.refine else None
        result = self.detector.finalize(self.ctx.frame_times, self.ctx.info.duration, refine=refine)
        return StageOutput(
            artefact=result,
            status="degraded" if self.note else "ok",
            reason=self.note,
            models={"detector": result.detector},
            metrics={"shots": float(len(result.shots))},
        )


class ShotsStage(JsonStage):
    """Shot boundaries from the analysis grid: TransNetV2 on GPU, colour content on CPU.

    The analysis grid (``settings.shot_fps``) runs at the detector's own rate unless the user set one
    (``SHOT_DETECTOR_FPS``: TransNetV2 25 fps, content 4 fps), and each boundary is then placed on its exact
    frame by a local full-rate look (``settings.shot_refine``), before ``shot_min_len`` applies."""

    name = "shots"
    version = "2"
    requires = ("frames",)
    frame_input: ClassVar[FrameInput] = "analysis"
    artefact_type = ShotBoundaries

    def params(self, settings: Settings) -> dict[str, Any]:
        return settings.shots.output_params()

    def open(self, ctx: StageContext) -> FrameConsumer:
        from vidreason.tools.shots import detector_for

        config = ctx.settings.shots
        note = None
        try:
            detector = detector_for(config, ctx.models)
        except ModelUnavailable as e:
            note = f"{config.detector} unavailable ({e}); used the content detector instead"
            log.warning(note)
            # at its own rate: it picks its frames out of the (denser) grid decoded for the other detector
            fallback = config.model_copy(update={"detector": "content", "fps": SHOT_DETECTOR_FPS["content"]})
            detector = detector_for(fallback, ctx.models)
        return _ShotConsumer(ctx, detector, note)


# ------------------------------------------------------------------------------------------------ transcript
class TranscriptStage(JsonStage):
    """faster-whisper transcript with VAD-placed word times (empty, with a reason, when there is no speech)."""

    name = "transcript"
    version = "2"  # streamed in blocks; VAD threshold 0.35 / padding 400 ms; line confidence; language check
    artefact_type = Transcript

    def enabled(self, settings: Settings) -> bool:
        return settings.asr_enabled

    def params(self, settings: Settings) -> dict[str, Any]:
        from vidreason.tools.speech.options import AsrOptions

        vad = AsrOptions().model_dump(include={"vad_threshold", "speech_pad_ms", "min_silence_ms", "min_speech_ms"})
        return {**settings.speech.output_params(), "vad": vad}

    def run(self, ctx: StageContext) -> StageOutput:
        if not ctx.info.has_audio:  # nothing was transcribed: say so rather than "ok"
            return StageOutput(artefact=None, status="skipped", reason="no audio stream in the file")
        from vidreason.tools.speech.whisper import load_transcriber

        transcriber = load_transcriber(ctx.settings.speech, ctx.models)
        transcript = transcriber.transcribe(ctx.path, checks_after=ctx.frames_done)
        return StageOutput(
            artefact=transcript,
            status="degraded" if transcript.degraded else "ok",
            reason=transcript.degraded,
            models={"asr": transcriber.model_id},
            metrics={"segments": float(len(transcript.segments))},
        )


# ------------------------------------------------------------------------------------------------ OCR
class OcrStage(JsonStage):
    """On-screen text every ``ocr_interval_s`` seconds at OCR resolution (its own decode: the shared pass
    decodes at analysis size, too small to read text), deduplicated across consecutive frames."""

    name = "ocr"
    version = "1"
    requires = ("frames",)
    artefact_type = OcrItem
    artefact_is_list = True

    def enabled(self, settings: Settings) -> bool:
        return settings.ocr.enabled

    def params(self, settings: Settings) -> dict[str, Any]:
        from vidreason.tools.ocr.rapid import ENGINE_ID

        return {**settings.ocr.output_params(), "engine": ENGINE_ID}

    def run(self, ctx: StageContext) -> StageOutput:
        from vidreason.tools.media.video import iter_frames
        from vidreason.tools.ocr.rapid import ENGINE_ID, get_engine, run_ocr

        config = ctx.settings.ocr
        index = ctx.index

        def keyframes() -> Any:
            for chunk in iter_frames(ctx.path, 1.0 / config.interval_s, short_side=config.short_side, chunk=4):
                for frame, t in zip(chunk.frames, chunk.timestamps, strict=True):
                    yield index.frame_at(float(t)), float(t), frame

        items = run_ocr(keyframes(), min_score=config.min_score, engine=get_engine(ctx.models))
        return StageOutput(artefact=items, models={"ocr": ENGINE_ID}, metrics={"items": float(len(items))})
