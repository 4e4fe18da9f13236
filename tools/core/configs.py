"""Per-component configuration: each component takes its own small, frozen config, not the whole ``Settings``.

``Settings`` (``vidreason.tools.core.settings``) is resolved at the edge (CLI, API, UI) and hands each
component its part through a property (``settings.speech``, ``settings.vision``, ...). Every config names the
fields that change the component's output (``output_fields``); index stages build their cache keys from
exactly those.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ComponentConfig(BaseModel):
    """Base of the component configs: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: fields that change what the component produces (part of index cache keys)
    output_fields: ClassVar[tuple[str, ...]] = ()

    def output_params(self) -> dict[str, Any]:
        """The values of ``output_fields`` (a stage's cache-key parameters)."""
        return {name: getattr(self, name) for name in self.output_fields}


class DecodeConfig(ComponentConfig):
    """The sampled-frame table and the shared decode pass."""

    fps: float = Field(gt=0, le=60)
    short_side: int = Field(224, ge=32, le=1024)
    chunk: int = Field(32, ge=1, le=1024)
    output_fields: ClassVar[tuple[str, ...]] = ("fps",)


#: The rate each shot detector looks at the video (frames per second): TransNetV2 is trained on 25 fps video;
#: the colour content detector measured best at 4 fps (benchmarks/shot_quality.py).
SHOT_DETECTOR_FPS: dict[str, float] = {"content": 4.0, "transnetv2": 25.0}


class ShotConfig(ComponentConfig):
    detector: Literal["content", "transnetv2"] = "content"
    fps: float = Field(4.0, gt=0, le=60, description="analysis rate of the detector (unset: its own rate)")
    min_len: float = Field(1.0, ge=0, le=60)
    refine: bool = Field(True, description="place each boundary on its exact frame (a local full-rate decode)")
    device: str = "cpu"
    output_fields: ClassVar[tuple[str, ...]] = ("detector", "fps", "min_len", "refine")

    @model_validator(mode="before")
    @classmethod
    def _detector_rate(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("fps") is None:
            data = {**data, "fps": SHOT_DETECTOR_FPS[data.get("detector") or "content"]}
        return data


class VisionConfig(ComponentConfig):
    enabled: bool = True
    scorer: Literal["clip", "blip2"] = "clip"
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "laion2b_s34b_b79k"
    blip2_model: str = "Salesforce/blip2-itm-vit-g"
    batch_size: int = Field(32, ge=1, le=4096)
    precision: Literal["auto", "fp32", "bf16", "fp16", "int8"] = "auto"
    device: str = "cpu"
    cache_dir: Path | None = None

    def output_params(self) -> dict[str, Any]:
        if self.scorer == "blip2":
            return {"scorer": "blip2", "model": self.blip2_model}
        return {
            "scorer": "clip",
            "model": self.clip_model,
            "pretrained": self.clip_pretrained,
            "precision": self.precision,
        }


class SpeechConfig(ComponentConfig):
    enabled: bool = True
    model: str = "tiny.en"
    language: str | None = None
    compute_type: str = "auto"
    beam_size: int | None = Field(None, ge=1, le=20)
    best_of: int | None = Field(None, ge=1, le=10)
    device: str = "auto"
    cache_dir: Path | None = Field(None, description="where packaged weights are joined once")
    language_check: Literal["switch", "drop", "off"] = Field(
        "switch",
        description="speech an English-only model cannot transcribe: decode it with the multilingual model "
        "(switch), leave it out and mark the transcript degraded (drop), or do not check (off)",
    )
    output_fields: ClassVar[tuple[str, ...]] = (
        "model",
        "language",
        "compute_type",
        "beam_size",
        "best_of",
        "language_check",
    )


class DiarizationConfig(ComponentConfig):
    """Who speaks when (GE2E speaker embeddings, clustered). Opt-in: one voice can be split into several
    clusters, so speaker labels appear only when asked for."""

    enabled: bool = False
    speakers_count: int | None = Field(None, ge=1, le=32, description="known number of speakers (else estimated)")
    max_speakers: int = Field(6, ge=1, le=32, description="largest number of speakers the estimate may return")
    device: str = "cpu"
    output_fields: ClassVar[tuple[str, ...]] = ("speakers_count", "max_speakers")


class OcrConfig(ComponentConfig):
    enabled: bool = False
    interval_s: float = Field(2.0, gt=0, le=600)
    short_side: int = Field(720, ge=64, le=4096)
    min_score: float = Field(0.6, ge=0, le=1)
    output_fields: ClassVar[tuple[str, ...]] = ("interval_s", "short_side", "min_score")


class CaptionConfig(ComponentConfig):
    backend: Literal["none", "transformers", "litellm"] = "none"
    model: str = "HuggingFaceTB/SmolVLM-256M-Instruct"
    max_new_tokens: int = Field(64, ge=1, le=2048)
    api_base: str | None = None
    batch_size: int = Field(4, ge=1, le=256)
    max_frames: int = Field(4, ge=1, le=32)
    dedup_threshold: float = Field(0.04, ge=0, le=1)
    fps: float = Field(1.0, gt=0, le=60, description="frame-table rate the keyframes come from")
    device: str = "cpu"


class SummaryConfig(ComponentConfig):
    max_words: int = Field(80, ge=10, le=2000)
    input_tokens: int = Field(1500, ge=100, le=100_000)


class TextMatchConfig(ComponentConfig):
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    device: str = "cpu"
    cache_dir: Path | None = Field(None, description="where text embeddings are kept between processes")


#: how structured output is requested: ``json_schema`` (OpenAI's form; vLLM, SGLang, llama.cpp's C++ server,
#: Ollama through litellm), ``json_object_schema`` (``{"type": "json_object", "schema": ...}``, the dialect of
#: llama-cpp-python's server), ``llguidance`` (llama.cpp's ``grammar`` field with an llguidance JSON grammar
#: without free whitespace: llama-server/xllamacpp builds with llguidance), ``prompted`` (the schema in the
#: prompt, the reply parsed tolerantly), or ``auto``
StructuredForm = Literal["json_schema", "json_object_schema", "llguidance", "prompted"]
StructuredMode = Literal["auto", "json_schema", "json_object_schema", "llguidance", "prompted"]


class LLMConfig(ComponentConfig):
    """The LLM behind the planner, answers, verification and summaries (``model`` None: offline)."""

    model: str | None = None
    api_base: str | None = None
    timeout_s: float = Field(60.0, gt=0, le=3600, description="wall-clock limit of each request, all reads included")
    max_retries: int = Field(2, ge=0, le=10)
    temperature: float = Field(0.0, ge=0, le=2)
    record_prompts: bool = True
    structured_output: StructuredMode = Field(
        "auto",
        description="auto: litellm's capability table for hosted models; for local/OpenAI-compatible endpoints "
        "schema-constrained decoding first, falling back once when the server rejects the form",
    )
    max_output_tokens: int = Field(1024, ge=16, le=65536, description="completion tokens per request")
    max_concurrency: int = Field(4, ge=1, le=64, description="requests in flight at once (summaries of a level)")

    @property
    def configured(self) -> bool:
        return bool(self.model)


class GroundingConfig(ComponentConfig):
    """TFVTG window sizes (stride defined at the reference 3 fps) for a frame table at ``fps``."""

    stride: int = Field(20, ge=1)
    max_stride_factor: float = Field(0.5, gt=0, le=1)
    fps: float = Field(1.0, gt=0, le=60)
    max_query_chars: int = Field(2000, ge=16, le=100_000)


__all__ = [
    "SHOT_DETECTOR_FPS",
    "CaptionConfig",
    "ComponentConfig",
    "DecodeConfig",
    "DiarizationConfig",
    "GroundingConfig",
    "LLMConfig",
    "OcrConfig",
    "ShotConfig",
    "SpeechConfig",
    "StructuredForm",
    "StructuredMode",
    "SummaryConfig",
    "TextMatchConfig",
    "VisionConfig",
]
