"""Options of the speech recogniser (decoding and voice activity detection)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vidreason.tools.speech.vad import VadParams

LanguageCheck = Literal["switch", "drop", "off"]


class AsrOptions(BaseModel):
    """Decoding and VAD options (recorded with the index stage as provenance). The VAD defaults were chosen on
    the ASR benchmark (``benchmarks/asr_quality.py``): threshold 0.35 and 400 ms padding lose no quiet or short
    line and add no hallucination on music, barking or ambience."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    beam_size: int = Field(5, ge=1, le=20)
    best_of: int = Field(
        5,
        ge=1,
        le=10,
        description="candidates sampled at once when a window falls back to a temperature above 0 (each holds "
        "its own copy of the decoder's caches)",
    )
    vad_threshold: float = Field(0.35, gt=0, lt=1, description="Silero speech probability threshold")
    min_silence_ms: int = Field(700, ge=50, description="silence that ends a VAD speech region")
    speech_pad_ms: int = Field(400, ge=0, le=1000, description="padding added around each speech region")
    min_speech_ms: int = Field(150, ge=0, description="speech regions shorter than this are dropped")
    max_window_s: float = Field(30.0, gt=1, le=30, description="longest audio given to Whisper in one call")
    max_gap_s: float = Field(2.0, ge=0, description="longest silence kept inside one Whisper window")
    pack_gap_s: float = Field(
        1.0,
        ge=-1,
        le=5,
        description="silence put between windows packed into one Whisper call (<0: no packing)",
    )
    no_speech_threshold: float = Field(0.6, ge=0, le=1)
    log_prob_threshold: float = -1.0
    language_check: LanguageCheck = Field(
        "switch", description="English-only model on other languages: switch to the multilingual model, drop, off"
    )

    @property
    def vad(self) -> VadParams:
        return VadParams(
            threshold=self.vad_threshold,
            min_silence_ms=self.min_silence_ms,
            speech_pad_ms=self.speech_pad_ms,
            min_speech_ms=self.min_speech_ms,
            max_region_s=self.max_window_s,
        )


__all__ = ["AsrOptions", "LanguageCheck"]
