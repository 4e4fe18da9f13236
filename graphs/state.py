"""State and run-time context of the reasoning graph.

The checkpointed state holds only JSON-serialisable values (plain dicts and lists; pydantic models are dumped
with ``mode="json"`` and validated again by the nodes that read them), so every step can be stored by the
SQLite checkpointer and shown by the trace viewer. Live objects (settings, the index, the LLM client, cached
models) travel in the run-time :class:`Context`, passed as ``context=`` and read through ``Runtime[Context]``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from typing_extensions import NotRequired, TypedDict

from vidreason.agent.settings import Settings

if TYPE_CHECKING:
    from vidreason.agent.llm import LLMClient
    from vidreason.tools.index import VideoIndex

JsonDict = dict[str, Any]
"""A pydantic model dumped with ``model_dump(mode="json")`` (the type is named where the key is declared)."""


class InputState(TypedDict):
    """What a run starts from: the question and (for the trace) the video it is about."""

    question: str
    video: NotRequired[str]


class ReasonState(InputState, total=False):
    """Everything the nodes write. Lists that grow across steps use ``operator.add`` reducers."""

    plan: JsonDict  # agent.schemas.Plan
    candidates: dict[str, list[JsonDict]]  # sub-event id -> coarse windows (tools.planner_tools.Moment)
    groundings: dict[str, list[JsonDict]]  # sub-event id -> ranked agent.schemas.ScoredSpan
    assignment: JsonDict  # chosen span per sub-event, score, satisfied, violated, relaxed
    target: JsonDict  # {"start", "end", "describe"}: the span the answer is about
    spans: list[JsonDict]  # ranked agent.schemas.ScoredSpan returned with the answer
    evidence: list[JsonDict]  # graphs.nodes.evidence.Evidence items, ids ev1, ev2, ...
    answer: JsonDict  # {"text", "citations": [Citation], "confidence", "source": "llm"|"template"}
    rejected: list[JsonDict]  # citations verification dropped, with reasons
    replans: int
    answer_attempts: int
    feedback: str  # why the plan or the answer is being redone (read by plan/answer on a loop-back)
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


@dataclass
class Context:
    """Run-time objects for one run (not checkpointed). ``llm`` is None for offline planning/answers."""

    settings: Settings
    index: VideoIndex
    llm: LLMClient | None = None
    max_replans: int = 1
    max_answer_retries: int = 1


__all__ = ["Context", "InputState", "JsonDict", "OutputState", "ReasonState"]
