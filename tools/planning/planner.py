"""``make_plan``: the LLM planner when an LLM is configured, the offline parser otherwise or when the LLM
fails.

Which planner produced the plan, and why, is recorded on the plan (``planner``, ``planner_note``) and the LLM
calls are returned for the trace. A fallback is a degraded mode: it is logged as a warning.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field

from vidreason.tools.core.configs import LLMConfig
from vidreason.tools.core.errors import LLMError, LLMNotConfigured
from vidreason.tools.core.plan import Channel, Plan, PlanDraft
from vidreason.tools.core.prompting import PromptVars, render_prompt
from vidreason.tools.core.results import LLMCall
from vidreason.tools.llm.client import LLMClient
from vidreason.tools.planning.offline import MAX_SUB_EVENTS, parse_question
from vidreason.tools.planning.question import validate_question

log = logging.getLogger(__name__)


class PlanResult(BaseModel):
    """A plan plus how it was made."""

    plan: Plan
    llm_calls: list[LLMCall] = Field(default_factory=list)
    fallback: bool = Field(False, description="an LLM was configured but its plan could not be used")
    reason: str = Field(description="why this planner was used")


class PlanVars(PromptVars):
    """Variables of ``plan.j2``."""

    question: str = Field(min_length=1)
    channels: list[str] = Field(default_factory=lambda: ["visual", "speech", "ocr"])
    max_sub_events: int = Field(4, ge=1, le=8)


def plan_messages(question: str, channels: list[Channel] | None = None) -> list[dict[str, str]]:
    """The rendered ``plan`` prompt (also the start of a re-planning request)."""
    return render_prompt(
        "plan",
        PlanVars,
        question=question,
        channels=list(channels or ["visual", "speech", "ocr"]),
        max_sub_events=MAX_SUB_EVENTS,
    )


def plan_with_llm(question: str, client: LLMClient, *, channels: list[Channel] | None = None) -> tuple[Plan, LLMCall]:
    """Ask the LLM for a ``PlanDraft`` (validated, repaired by retries) and wrap it into a ``Plan``."""
    messages = plan_messages(question, channels)
    draft, call = client.complete_structured(messages, PlanDraft, purpose="plan")
    plan = Plan(question=question, planner="llm", planner_note=f"planned by {client.model}", **draft.model_dump())
    return plan.completed(), call


def make_plan(
    question: str,
    llm: LLMConfig,
    client: LLMClient | None = None,
    *,
    channels: list[Channel] | None = None,
    max_chars: int = 2000,
) -> PlanResult:
    """Validate ``question`` (``InvalidQuestion``), then plan it with ``client`` (or an ``LLMClient`` for
    ``llm.model``); without an LLM, or when the LLM fails (invalid output after retries, timeout, provider
    error), the offline parser plans it and the reason is recorded."""
    clean = validate_question(question, max_chars=max_chars)
    if client is None and llm.model:
        try:
            client = LLMClient(llm)
        except LLMError as e:
            return _offline(clean, max_chars, f"LLM client unavailable ({e}); offline parser used", [], True)
    if client is None:
        return _offline(clean, max_chars, "no LLM configured (VIDREASON_LLM unset); offline parser used", [], False)
    try:
        plan, call = plan_with_llm(clean, client, channels=channels)
    except LLMNotConfigured as e:
        calls = [e.llm_call] if hasattr(e, "llm_call") else []
        return _offline(clean, max_chars, f"LLM not usable ({e}); offline parser used", calls, True)
    except LLMError as e:
        calls = [e.llm_call] if hasattr(e, "llm_call") else []
        reason = f"LLM planning failed ({type(e).__name__}: {e}); offline parser used"
        return _offline(clean, max_chars, reason, calls, True)
    return PlanResult(plan=plan, llm_calls=[call], reason=f"planned by LLM {client.model}")


def _offline(question: str, max_chars: int, reason: str, calls: list[LLMCall], fallback: bool) -> PlanResult:
    if fallback:
        log.warning("planner degraded: %s", reason)
    else:
        log.info("%s", reason)
    plan = parse_question(question, max_chars=max_chars)
    plan = plan.model_copy(update={"planner_note": reason})
    return PlanResult(plan=plan, llm_calls=calls, fallback=fallback, reason=reason)


__all__ = ["PlanResult", "make_plan", "plan_messages", "plan_with_llm"]
