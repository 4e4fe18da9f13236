"""State and run-time context of the reasoning graph.

The checkpointed state holds only JSON-serialisable values (plain dicts and lists; pydantic models are dumped
with ``mode="json"`` and validated again by the nodes that read them), so every step can be stored by the
SQLite checkpointer and shown by the trace viewer.

The run-time :class:`Context` (``context=``, read through ``Runtime[Context]``) is plain data too, so any
LangGraph client (``langgraph dev``, Studio, ``langgraph_sdk``) can send it: settings overrides and the LLM name.
The nodes turn it into live objects (settings, the index, the LLM client, the model registry) through
``graphs.runtime``; the Python API passes the live objects it already holds in ``Context.resources``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic.json_schema import SkipJsonSchema
from typing_extensions import NotRequired, TypedDict

JsonDict = dict[str, Any]
"""A pydantic model dumped with ``model_dump(mode="json")`` (the type is named where the key is declared)."""


class InputState(TypedDict):
    """What a run starts from: the question and (for the trace) the video it is about."""

    question: str
    video: NotRequired[str]


class ReasonState(InputState, total=False):
    """Everything the nodes write. Lists that grow across steps use ``operator.add`` reducers."""

    plan: JsonDict  # agent.schemas.Plan
    candidates: dict[str, list[JsonDict]]  # sub-event id -> coarse windows (retrieval.planner_tools.Moment)
    searches: dict[str, JsonDict]  # sub-event id -> tools.retrieval.events.EventSearch (every occurrence)
    groundings: dict[str, list[JsonDict]]  # sub-event id -> ranked tools.core.results.ScoredSpan
    assignment: JsonDict  # chosen moment per sub-event, missing ones, score, satisfied, violated, relaxed, order
    target: JsonDict  # retrieval.targets.TargetSpan + "found": the span the answer is about, what is read there
    spans: list[JsonDict]  # core.results.ScoredSpan returned with the answer: the target first
    evidence: list[JsonDict]  # graphs.nodes.evidence.Evidence items, ids ev1, ev2, ...
    answer: JsonDict  # {"text", "citations": [Citation], "confidence", "source": "llm"|"template"|"deadline"}
    rejected: list[JsonDict]  # citations verification dropped, with reasons
    replans: int
    answer_attempts: int
    feedback: str  # why the plan or the answer is being redone (read by plan/answer on a loop-back)
    run_started: float  # unix seconds the run's entry node started: the ask_timeout_s clock (nodes.deadline)
    degraded: Annotated[list[str], operator.add]
    notes: Annotated[list[str], operator.add]
    steps: Annotated[list[JsonDict], operator.add]  # agent.schemas.TraceStep


class OutputState(TypedDict, total=False):
    """What ``invoke`` returns to callers that only want the result."""

    question: str
    plan: JsonDict
    spans: list[JsonDict]
    target: JsonDict
    answer: JsonDict
    degraded: list[str]
    notes: list[str]
    steps: list[JsonDict]


@dataclass(kw_only=True)
class Context:
    """How to run one question: plain data a LangGraph client can send (Studio shows it as a form)."""

    settings: dict[str, Any] = field(
        default_factory=dict,
        metadata={"description": 'Settings overrides, e.g. {"profile": "fast", "cache_dir": "/data/vr"}'},
    )
    llm: str | None = field(
        default=None, metadata={"description": "litellm model name for planning and answers (none: offline)"}
    )
    max_replans: int = 1
    max_answer_retries: int = 1
    #: live objects of the Python API (``graphs.runtime.Resources``); never sent by clients, not in the schema
    resources: SkipJsonSchema[Any] = field(default=None, repr=False, compare=False)


__all__ = ["Context", "InputState", "JsonDict", "OutputState", "ReasonState"]
