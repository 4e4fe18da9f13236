"""Typed settings: one object, read from ``VIDREASON_*`` environment variables, overridable per call.

Two profiles fill in every field the user leaves unset:

* ``fast`` — CPU defaults: 1 fps sampling, colour-histogram shot detector, open_clip ViT-B/32, Whisper tiny.en,
  no OCR, no VLM captions.
* ``accurate`` — GPU defaults: TFVTG's 3 fps, TransNetV2 shots, open_clip ViT-L/14, Whisper large-v3, OCR and a
  local VLM captioner.

``profile="auto"`` (the default) picks ``accurate`` when a CUDA device is usable and ``fast`` otherwise.
Nothing reads a global. Components never take the whole object: each gets its own typed part through a
property (``settings.speech``, ``settings.vision``, ``settings.llm_config``, ...; see ``configs``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidreason.tools.core.configs import (
    SHOT_DETECTOR_FPS,
    CaptionConfig,
    DecodeConfig,
    DiarizationConfig,
    GroundingConfig,
    LLMConfig,
    OcrConfig,
    ShotConfig,
    SpeechConfig,
    StructuredMode,
    SummaryConfig,
    TextMatchConfig,
    VisionConfig,
)
from vidreason.tools.core.devices import cuda_available
from vidreason.tools.core.errors import ConfigError

Profile = Literal["auto", "fast", "accurate"]
Device = Literal["auto", "cpu", "cuda"]

#: Values the profiles give to every field left unset (``None``) by the user.
PROFILES: dict[str, dict[str, Any]] = {
    "fast": {
        "sample_fps": 1.0,
        "shot_detector": "content",
        "clip_model": "ViT-B-32",
        "clip_pretrained": "laion2b_s34b_b79k",
        "asr_model": "tiny.en",
        "asr_beam_size": 1,
        "asr_best_of": 2,
        "ocr_enabled": False,
        "caption_backend": "none",
        "caption_model": "HuggingFaceTB/SmolVLM-256M-Instruct",
    },
    "accurate": {
        "sample_fps": 3.0,
        "shot_detector": "transnetv2",
        "clip_model": "ViT-L-14",
        "clip_pretrained": "openai",
        "asr_model": "large-v3",
        "asr_beam_size": 5,
        "asr_best_of": 5,
        "ocr_enabled": True,
        "caption_backend": "transformers",
        "caption_model": "Qwen/Qwen2.5-VL-3B-Instruct",
    },
}


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/vidreason`` or ``~/.cache/vidreason``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vidreason"


class Settings(BaseSettings):
    """All knobs of vidreason. Unset (``None``) fields take the profile's value after validation."""

    model_config = SettingsConfigDict(env_prefix="VIDREASON_", extra="forbid", validate_default=True)

    profile: Profile = "auto"
    device: Device = "auto"
    cache_dir: Path = Field(default_factory=default_cache_dir)

    # Decoding / frame table
    sample_fps: float | None = Field(None, gt=0, le=60, description="frames per second kept in the frame table")
    frame_short_side: int = Field(224, ge=32, le=1024, description="short side of decoded analysis frames (px)")
    decode_chunk: int = Field(32, ge=1, le=1024, description="frames per decoded chunk (bounds memory)")
    index_overlap: bool = Field(
        True, description="run the transcript (audio decoding, VAD, Whisper) alongside the frames' decode pass"
    )
    decode_ahead: bool = Field(
        True,
        description="decode the next chunk in a background thread while the frame stages use this one (faster; "
        "off: a lower peak memory on long videos, see the README's performance table)",
    )
    heap_mmap_threshold_mb: int | None = Field(
        None,
        ge=0,
        le=32,
        description="glibc: heap blocks from this size (MB) are mapped on their own while indexing, so big "
        "transient buffers do not fragment the heap of a long build (0: glibc's own sliding threshold; unset: 4, "
        "2 when transcribing 20 minutes or more; 8 when the image tower runs int8 on the CPU, then 2 after 10 minutes "
        "of such a video)",
    )

    # Shots
    shot_detector: Literal["content", "transnetv2"] | None = None
    shot_fps: float | None = Field(
        None, gt=0, le=60, description="rate the shot detector looks at the video (unset: the detector's own)"
    )
    shot_min_len: float = Field(1.0, ge=0, le=60, description="shortest shot the detector may return (seconds)")
    shot_refine: bool = Field(True, description="place shot boundaries on their exact frame (local full-rate look)")

    # Visual channel
    visual_enabled: bool = True
    visual_scorer: Literal["clip", "blip2"] = "clip"
    clip_model: str | None = None
    clip_pretrained: str | None = Field(None, description="open_clip tag, a local checkpoint path, or 'random'")
    blip2_model: str = "Salesforce/blip2-itm-vit-g"
    embed_batch_size: int = Field(32, ge=1, le=4096)
    embed_precision: Literal["auto", "fp32", "bf16", "fp16", "int8"] = Field(
        "auto",
        description="auto: fp16 on CUDA; on CPUs bf16 with AMX-BF16, else int8 (x86 with AVX2), else fp32",
    )

    # Speech
    asr_enabled: bool = True
    asr_model: str | None = Field(None, description="faster-whisper size/name or a CTranslate2 model folder")
    asr_language: str | None = None
    asr_compute_type: str = "auto"
    asr_beam_size: int | None = Field(None, ge=1, le=20)
    asr_best_of: int | None = Field(
        None, ge=1, le=10, description="candidates sampled at once when Whisper falls back to a temperature > 0"
    )
    asr_language_check: Literal["switch", "drop", "off"] = Field(
        "switch",
        description="speech an English-only model cannot transcribe (another language): switch to the "
        "multilingual model, drop it (transcript marked degraded), or off",
    )

    # Speakers (diarization; opt-in)
    diarization_enabled: bool = Field(False, description="label transcript lines with speakers (index stage)")
    speakers_count: int | None = Field(None, ge=1, le=32, description="known number of speakers (else estimated)")
    max_speakers: int = Field(6, ge=1, le=32, description="most speakers the estimate may find")

    # On-screen text and captions
    ocr_enabled: bool | None = None
    ocr_interval_s: float = Field(2.0, gt=0, le=600, description="seconds between frames read by OCR")
    ocr_short_side: int = Field(720, ge=64, le=4096, description="short side of the frames OCR reads (px)")
    ocr_min_score: float = Field(0.6, ge=0, le=1)
    caption_backend: Literal["none", "transformers", "litellm"] | None = None
    caption_model: str | None = None
    caption_max_new_tokens: int = Field(64, ge=1, le=2048)
    caption_api_base: str | None = Field(None, description="OpenAI-compatible server for the litellm captioner")
    caption_batch_size: int = Field(4, ge=1, le=256, description="shots per VLM generate call")
    caption_max_frames: int = Field(4, ge=1, le=32, description="keyframes per shot sent to the VLM")
    caption_dedup_threshold: float = Field(
        0.04,
        ge=0,
        le=1,
        description="mean abs grey difference (0..1) under which a frame is a near-duplicate",
    )
    summary_max_words: int = Field(80, ge=10, le=2000, description="word budget of each summary")
    summary_input_tokens: int = Field(1500, ge=100, le=100_000, description="input token budget per summary")

    # Text matching (query vs transcript/captions/OCR)
    text_embed_model: str = "sentence-transformers/all-MiniLM-L6-v2"

    # LLM (planner, answers, summaries); None = offline planner and template answers
    llm: str | None = None
    llm_api_base: str | None = None
    llm_timeout_s: float = Field(60.0, gt=0, le=3600, description="wall-clock limit of each LLM request (all reads)")
    llm_max_retries: int = Field(2, ge=0, le=10)
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_record_prompts: bool = Field(True, description="keep LLM prompts/responses in traces (False redacts)")
    rebuild_llm_degraded: bool = Field(
        False,
        description="rebuild index stages that degraded because the LLM failed (summaries) on the next build "
        "while an LLM is configured; off: they stay degraded until --force",
    )
    llm_structured_output: StructuredMode = Field(
        "auto",
        description="auto, json_schema, json_object_schema (llama-cpp-python), llguidance (llama-server) or prompted",
    )
    llm_max_output_tokens: int = Field(1024, ge=16, le=65536, description="completion tokens per LLM request")
    llm_max_concurrency: int = Field(4, ge=1, le=64, description="LLM requests in flight at once (summaries)")
    ask_timeout_s: float = Field(
        300.0, gt=0, le=86_400, description="wall-clock limit of one reasoning run (ask); then the best answer so far"
    )

    # Grounding (TFVTG defaults for Charades-STA style videos)
    grounding_stride: int = Field(20, ge=1)
    grounding_max_stride_factor: float = Field(0.5, gt=0, le=1)

    max_question_chars: int = Field(2000, ge=16, le=100_000)

    _explicit: set[str] = PrivateAttr(default_factory=set)

    @model_validator(mode="after")
    def _fill_from_profile(self) -> Settings:
        self._explicit = set(self.model_fields_set)
        values = PROFILES[self.resolved_profile]
        for name, value in values.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.shot_fps is None:  # each detector at its own rate (TransNetV2 25 fps, content 4 fps)
            object.__setattr__(self, "shot_fps", SHOT_DETECTOR_FPS[self.shot_detector or "content"])
        return self

    @property
    def resolved_profile(self) -> Literal["fast", "accurate"]:
        """The profile actually in force (``auto`` resolved from the device)."""
        if self.profile != "auto":
            return self.profile
        if self.device == "cpu":
            return "fast"
        if self.device == "cuda":
            return "accurate"
        return "accurate" if cuda_available() else "fast"

    @property
    def torch_device(self) -> str:
        """``"cuda"`` or ``"cpu"``: ``auto`` resolved."""
        if self.device == "auto":
            return "cuda" if cuda_available() else "cpu"
        return self.device

    @property
    def fps(self) -> float:
        """Sampling rate of the frame table (profile-resolved ``sample_fps``)."""
        assert self.sample_fps is not None
        return self.sample_fps

    def override(self, **changes: Any) -> Settings:
        """A new ``Settings`` with ``changes`` applied; profile-filled values are recomputed.

        Only fields the user set explicitly carry over, so ``s.override(profile="accurate")`` switches every
        profile-dependent field that was not pinned.
        """
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise ConfigError(f"unknown setting(s) {sorted(unknown)}; allowed: {sorted(type(self).model_fields)}")
        kept = {name: getattr(self, name) for name in self._explicit}
        return type(self)(**{**kept, **changes})

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm)

    # ---- per-component configs ------------------------------------------------------------------
    @property
    def decode(self) -> DecodeConfig:
        return DecodeConfig(fps=self.fps, short_side=self.frame_short_side, chunk=self.decode_chunk)

    @property
    def shots(self) -> ShotConfig:
        return ShotConfig(
            detector=self.shot_detector or "content",
            fps=self.shot_fps,
            min_len=self.shot_min_len,
            refine=self.shot_refine,
            device=self.device,
        )

    @property
    def vision(self) -> VisionConfig:
        assert self.clip_model is not None and self.clip_pretrained is not None
        return VisionConfig(
            enabled=self.visual_enabled,
            scorer=self.visual_scorer,
            clip_model=self.clip_model,
            clip_pretrained=self.clip_pretrained,
            blip2_model=self.blip2_model,
            batch_size=self.embed_batch_size,
            precision=self.embed_precision,
            device=self.torch_device,
            cache_dir=self.cache_dir,
        )

    @property
    def speech(self) -> SpeechConfig:
        assert self.asr_model is not None
        return SpeechConfig(
            enabled=self.asr_enabled,
            model=self.asr_model,
            language=self.asr_language,
            compute_type=self.asr_compute_type,
            beam_size=self.asr_beam_size,
            best_of=self.asr_best_of,
            device=self.device,
            cache_dir=self.cache_dir,
            language_check=self.asr_language_check,
        )

    @property
    def diarization(self) -> DiarizationConfig:
        return DiarizationConfig(
            enabled=self.diarization_enabled,
            speakers_count=self.speakers_count,
            max_speakers=self.max_speakers,
            device=self.torch_device,
        )

    @property
    def ocr(self) -> OcrConfig:
        return OcrConfig(
            enabled=bool(self.ocr_enabled),
            interval_s=self.ocr_interval_s,
            short_side=self.ocr_short_side,
            min_score=self.ocr_min_score,
        )

    @property
    def captions(self) -> CaptionConfig:
        return CaptionConfig(
            backend=self.caption_backend or "none",
            model=self.caption_model or CaptionConfig.model_fields["model"].default,
            max_new_tokens=self.caption_max_new_tokens,
            api_base=self.caption_api_base or self.llm_api_base,
            batch_size=self.caption_batch_size,
            max_frames=self.caption_max_frames,
            dedup_threshold=self.caption_dedup_threshold,
            fps=self.fps,
            device=self.torch_device,
        )

    @property
    def summaries(self) -> SummaryConfig:
        return SummaryConfig(max_words=self.summary_max_words, input_tokens=self.summary_input_tokens)

    @property
    def text_match(self) -> TextMatchConfig:
        return TextMatchConfig(model=self.text_embed_model, device=self.torch_device, cache_dir=self.cache_dir)

    @property
    def llm_config(self) -> LLMConfig:
        return LLMConfig(
            model=self.llm,
            api_base=self.llm_api_base,
            timeout_s=self.llm_timeout_s,
            max_retries=self.llm_max_retries,
            temperature=self.llm_temperature,
            record_prompts=self.llm_record_prompts,
            structured_output=self.llm_structured_output,
            max_output_tokens=self.llm_max_output_tokens,
            max_concurrency=self.llm_max_concurrency,
        )

    @property
    def grounding(self) -> GroundingConfig:
        return GroundingConfig(
            stride=self.grounding_stride,
            max_stride_factor=self.grounding_max_stride_factor,
            fps=self.fps,
            max_query_chars=self.max_question_chars,
        )
