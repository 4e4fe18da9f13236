"""The speakers stage: who speaks when (GE2E embeddings clustered into speakers), and the transcript with a
``speaker`` on every line and word. Opt-in (``settings.diarization_enabled``): one voice can be split into
several clusters, so speaker labels appear only when asked for (README "Speech")."""

from __future__ import annotations

from typing import Any

from vidreason.tools.core.media import Diarization
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.stage import JsonStage, StageContext, StageOutput


class SpeakersStage(JsonStage):
    """Speaker turns, per-speaker totals and the speaker-labelled transcript."""

    name = "speakers"
    version = "1"
    requires = ("transcript",)
    artefact_type = Diarization

    def enabled(self, settings: Settings) -> bool:
        return settings.diarization.enabled and settings.asr_enabled

    def params(self, settings: Settings) -> dict[str, Any]:
        from vidreason.tools.speech.ge2e import MODEL_ID

        return {**settings.diarization.output_params(), "model": MODEL_ID}

    def run(self, ctx: StageContext) -> StageOutput:
        if not ctx.info.has_audio:
            return StageOutput(artefact=None, status="skipped", reason="no audio stream in the file")
        from vidreason.tools.speech.diarization import DiarizationParams, Diarizer
        from vidreason.tools.speech.ge2e import MODEL_ID, load_encoder
        from vidreason.tools.speech.turns import label_transcript

        config = ctx.settings.diarization
        params = DiarizationParams(speakers_count=config.speakers_count, max_speakers=config.max_speakers)
        result = Diarizer(load_encoder(ctx.models), params).run(ctx.path)
        transcript = ctx.artefact("transcript")
        if transcript is not None:
            result = result.model_copy(update={"transcript": label_transcript(transcript, result.turns)})
        return StageOutput(
            artefact=result,
            reason=result.reason,
            models={"speakers": MODEL_ID},
            metrics={"speakers": float(result.num_speakers), "turns": float(len(result.turns))},
        )
