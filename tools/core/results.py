"""Typed results: ``Grounding`` and ``ScoredSpan``s, the ``Answer`` with its ``Citation``s, trace steps with
their tool calls, and LLM-call accounting. Times are seconds from the video start; frames are identified by
their index in the index's sampled-frame table.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from vidreason.tools.core.plan import Plan

# --------------------------------------------------------------------------------------------- LLM accounting


class LLMCall(BaseModel):
    """One structured or text completion (all its attempts): tokens, latency and cost; prompt/response may be
    redacted."""

    purpose: str = ""
    model: str
    attempts: int = 1
    ok: bool = True
    error: str | None = None
    validation_errors: list[str] = Field(default_factory=list, description="why earlier attempts were rejected")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    structured: Literal["json_schema", "json_object_schema", "llguidance", "prompted", "text"] = Field(
        "text", description="how structured output was requested (the mode of the last attempt)"
    )
    format_fallbacks: list[str] = Field(
        default_factory=list, description="structured-output forms the server rejected during this call, and why"
    )
    time_limit_s: float | None = Field(None, description="the wall-clock limit of the last request")
    mocked: bool = False
    messages: list[dict[str, str]] | None = Field(None, description="the final request (None when redacted)")
    response: str | None = Field(None, description="the final raw response text (None when redacted)")
    redacted: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def redact(self) -> LLMCall:
        """A copy without prompt and response text."""
        return self.model_copy(update={"messages": None, "response": None, "redacted": True})


class StageUsage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    llm_seconds: float = 0.0
    wall_s: float = 0.0


class Usage(StageUsage):
    """Totals over a run plus a breakdown per stage (graph node)."""

    per_stage: dict[str, StageUsage] = Field(default_factory=dict)

    def add(self, stage: str, call: LLMCall) -> None:
        """Count ``call`` in the totals and under ``stage``."""
        for bucket in (self, self.per_stage.setdefault(stage, StageUsage())):
            bucket.calls += 1
            bucket.prompt_tokens += call.prompt_tokens
            bucket.completion_tokens += call.completion_tokens
            bucket.cost_usd += call.cost_usd
            bucket.llm_seconds += call.latency_s


# ------------------------------------------------------------------------------ results and traces

CitationChannel = Literal["visual", "speech", "ocr", "caption", "summary"]


class Citation(BaseModel):
    """A piece of evidence an answer rests on: a frame of the index (and the time it shows)."""

    frame_index: int = Field(ge=0, description="index in the index's sampled-frame table")
    time: float = Field(ge=0, description="seconds; the frame's exact timestamp")
    node_id: str | None = Field(None, description="hierarchy node holding the frame, e.g. shot:0042")
    channel: CitationChannel = "visual"
    why: str = Field("", description="what this evidence shows or says")
    text: str | None = Field(None, description="the quoted transcript/OCR/caption text, when textual")


class ScoredSpan(BaseModel):
    """A candidate span with its score (higher is better)."""

    start: float = Field(ge=0)
    end: float = Field(ge=0)
    score: float
    sub_event: str | None = None
    source: str | None = Field(None, description="which channel or combination produced it")

    @model_validator(mode="after")
    def _ordered(self) -> ScoredSpan:
        if self.end < self.start:
            raise ValueError(f"span end {self.end} is before its start {self.start}")
        return self


class Grounding(BaseModel):
    """Result of grounding one query: ranked spans (best first) and the similarity curves used."""

    query: str
    spans: list[ScoredSpan] = Field(default_factory=list)
    curve_times: list[float] = Field(default_factory=list, description="seconds of each curve sample")
    curves: dict[str, list[float]] = Field(default_factory=dict, description="name -> per-sample similarity")
    plan: Plan | None = None
    degraded: list[str] = Field(default_factory=list, description="channels or stages that were off, and why")


class Answer(BaseModel):
    """The answer to a question, with cited frames/timestamps and provenance."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    spans: list[ScoredSpan] = Field(default_factory=list)
    plan: Plan | None = None
    confidence: float = Field(0.0, ge=0, le=1)
    degraded: list[str] = Field(default_factory=list)
    trace_id: str | None = None
    usage: Usage = Field(default_factory=Usage)


class ToolCall(BaseModel):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    wall_s: float = 0.0
    error: str | None = None


class TraceStep(BaseModel):
    """One graph step as the trace stores it."""

    step: int = Field(ge=0)
    node: str
    started_at: float = Field(description="unix seconds")
    wall_s: float = 0.0
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    llm_calls: list[LLMCall] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    error: str | None = None
