"""The answer and verify prompts: their typed variables and what they ask the LLM for (validated structured
output)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vidreason.tools.core.prompting import PromptVars


class AnswerVars(PromptVars):
    """Variables of ``answer.j2``: ``evidence`` items carry an ``id`` (ev1, ...) the answer cites."""

    question: str = Field(min_length=1)
    plan: dict[str, Any]
    answer_form: str
    findings: dict[str, Any] = Field(description="each sub-event's moment or not_found, the target span")
    evidence: list[dict[str, Any]]


class VerifyVars(PromptVars):
    """Variables of ``verify.j2``."""

    question: str = Field(min_length=1)
    answer: str
    cited: list[dict[str, Any]]


class CitedEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence_id: str = Field(description="id of an evidence item given in the prompt, e.g. ev3")
    why: str = Field("", max_length=160)


class AnswerDraft(BaseModel):
    """What the answer prompt asks the LLM for."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
    citations: list[CitedEvidence] = Field(default_factory=list, max_length=20)
    confidence: float = Field(0.5, ge=0, le=1)


class ClaimCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence_id: str
    supported: bool
    reason: str = Field("", max_length=160)


class VerifyReport(BaseModel):
    """What the verify prompt asks the LLM for: per cited evidence, whether it supports the answer."""

    model_config = ConfigDict(extra="forbid")

    checks: list[ClaimCheck] = Field(default_factory=list)
    answer_supported: bool
    revised_text: str | None = Field(None, description="the answer without unsupported claims, if any were dropped")
