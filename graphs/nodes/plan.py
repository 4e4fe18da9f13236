"""``plan``: validate the question and split it into sub-events, relations and a target span.

The LLM planner runs when a client is configured (``agent.planner.make_plan``); otherwise, or when its output
stays invalid or it times out, the offline parser (recorded as a degraded mode). On a loop-back from
``constrain`` (the located sub-events broke the plan's ordering) the LLM is asked once more, with that
feedback.
"""

from __future__ import annotations

from typing import Any

from vidreason.graphs.nodes.base import StepRecorder, traced
from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import ReasonState
from vidreason.tools.core.errors import LLMError
from vidreason.tools.core.plan import Plan, PlanDraft
from vidreason.tools.core.prompting import quote_data
from vidreason.tools.planning.planner import make_plan, plan_messages
from vidreason.tools.planning.question import validate_question


def _replan(question: str, ctx: Resources, feedback: str, previous: dict[str, Any] | None) -> Plan:
    """Ask the LLM again with what went wrong (the previous plan and the feedback go in as quoted data)."""
    assert ctx.llm is not None
    messages = plan_messages(question)
    messages.append(
        {
            "role": "user",
            "content": "Your previous plan did not fit the video. Revise it: fix the order of the sub-events "
            "or "
            "the relations, keep what worked.\n"
            + quote_data({"previous_plan": previous, "problem": feedback}, "replanning feedback"),
        }
    )
    draft, _ = ctx.llm.complete_structured(messages, PlanDraft, purpose="replan")
    return Plan(
        question=question,
        planner="llm",
        planner_note=f"re-planned by {ctx.llm.model}: {feedback}",
        **draft.model_dump(),
    ).completed()


def _plan(state: ReasonState, ctx: Resources, rec: StepRecorder) -> dict[str, Any]:
    """Turn the question into a Plan (LLM or offline parser)."""
    question = validate_question(state["question"], max_chars=ctx.settings.max_question_chars)
    feedback = state.get("feedback")
    rec.inputs = {"question": question, "feedback": feedback, "llm": ctx.llm.model if ctx.llm else None}
    if feedback and state.get("plan") is not None and ctx.llm is not None:
        try:
            plan = _replan(question, ctx, feedback, state.get("plan"))
            rec.note(f"re-planned after: {feedback}")
            return {"plan": plan.model_dump(mode="json"), "feedback": ""}
        except LLMError as e:
            rec.degrade(f"re-planning failed ({type(e).__name__}: {e}); kept the previous plan, relaxed order")
            return {"feedback": ""}
    result = make_plan(question, ctx.settings.llm_config, ctx.llm, max_chars=ctx.settings.max_question_chars)
    if result.fallback:
        rec.degrade(f"planner: {result.reason}")
    else:
        rec.note(result.reason, public=False)
    plan = result.plan
    rec.note(
        f"plan ({plan.planner}): {plan.question_type.value}, sub-events "
        f"{[e.description for e in plan.sub_events]}, relations "
        f"{[f'{r.kind}({r.a},{r.b})' for r in plan.relations]}, target {plan.target.describe()}",
        public=False,
    )
    return {
        "plan": plan.model_dump(mode="json"),
        "replans": int(state.get("replans") or 0),
        "answer_attempts": 0,
        "feedback": "",
    }


plan = traced("plan", _plan)

__all__ = ["plan"]
