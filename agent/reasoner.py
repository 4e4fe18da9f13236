"""``VideoReasoner``: the public Python API.

    r = VideoReasoner()                                   # Settings() from VIDREASON_* (LLM optional)
    index = r.index("talk.mp4")                           # cached VideoIndex
    g = r.ground("talk.mp4", "the speaker thanks the audience")   # ranked spans + curves used
    a = r.ask("talk.mp4", "What does the speaker say about the budget?")
    print(a.text, [(c.time, c.frame_index) for c in a.citations], a.trace_id)
    async for item in r.astream("talk.mp4", question): ...   # TraceSteps as they happen, then the Answer

Every ``ask`` is one run of ``graphs.reason`` checkpointed into ``<cache_dir>/traces.sqlite`` under its
``trace_id`` (``TraceStore.get(trace_id)`` rebuilds it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

from vidreason.graphs.runtime import Resources
from vidreason.graphs.state import Context, InputState
from vidreason.graphs.traces import Trace, TraceStore, new_trace_id, thread_config
from vidreason.tools.core.models import ModelRegistry, default_registry
from vidreason.tools.core.plan import Plan
from vidreason.tools.core.results import Answer, Citation, Grounding, ScoredSpan, StageUsage, TraceStep, Usage
from vidreason.tools.core.settings import Settings
from vidreason.tools.index.video_index import VideoIndex
from vidreason.tools.llm.client import LLMClient
from vidreason.tools.media.inputs import resolve_video_path
from vidreason.tools.planning.question import validate_question
from vidreason.tools.retrieval.grounder import get_grounder

log = logging.getLogger(__name__)

#: node visits allowed per run (the graph has two bounded loops)
RECURSION_LIMIT = 40
StreamItem = TraceStep | Answer


def usage_of(steps: list[TraceStep]) -> Usage:
    """LLM calls, tokens, cost and seconds, in total and per graph node."""
    usage = Usage()
    for step in steps:
        for call in step.llm_calls:
            usage.add(step.node, call)
        usage.per_stage.setdefault(step.node, StageUsage()).wall_s += step.wall_s
        usage.wall_s += step.wall_s
    usage.wall_s = round(usage.wall_s, 4)
    return usage


def answer_from_state(state: dict[str, Any], index: VideoIndex, trace_id: str) -> Answer:
    """The ``Answer`` of a finished run."""
    steps = [TraceStep.model_validate(s) for s in state.get("steps") or []]
    raw = state.get("answer") or {}
    degraded = [f"{k}: {v}" for k, v in index.degraded.items()] + list(state.get("degraded") or [])
    plan = Plan.model_validate(state["plan"]) if state.get("plan") else None
    return Answer(
        question=state.get("question", ""),
        text=raw.get("text", ""),
        citations=[Citation.model_validate(c) for c in raw.get("citations") or []],
        spans=[ScoredSpan.model_validate(s) for s in state.get("spans") or []],
        plan=plan,
        confidence=float(raw.get("confidence", 0.0)),
        degraded=list(dict.fromkeys(degraded)),
        trace_id=trace_id,
        usage=usage_of(steps),
    )


class VideoReasoner:
    """Index videos, ground queries and answer questions with cited frames; sync and async."""

    def __init__(
        self,
        settings: Settings | None = None,
        llm_client: LLMClient | None = None,
        *,
        models: ModelRegistry | None = None,
    ) -> None:
        """``models`` holds the loaded models (the process-wide registry by default): give one to share models
        between reasoners on purpose, or to release them (``models.release()``). When ``HF_HUB_OFFLINE`` is
        unset and the model hub cannot be reached, the process works offline from here on (said once)."""
        from vidreason.tools.core import hub

        self.settings = settings or Settings()
        hub.go_offline_if_unreachable(self.settings.cache_dir)
        self.llm = llm_client if llm_client is not None else LLMClient.from_config(self.settings.llm_config)
        self.models = models or default_registry()
        self.traces = TraceStore.from_settings(self.settings)
        self._indexes: dict[Path, VideoIndex] = {}

    # ---- index ----------------------------------------------------------------------------------
    def resolve(self, path: str | Path) -> Path:
        """The file ``path`` names: a sample name (``"sample"``, ``"sample:footage"``) or a path."""
        from vidreason.agent.samples import resolve_video

        return resolve_video_path(resolve_video(path, self.settings.cache_dir))  # one-line errors (symlink loops)

    def index(
        self, path: str | Path, *, progress: Callable[[str, float], None] | None = None, force: bool = False
    ) -> VideoIndex:
        """Build (or reuse) the cached index of ``path`` (a file, or ``"sample"`` for the demo video)."""
        key = self.resolve(path)
        if force:
            from vidreason.tools.core import hub

            hub.forget_failures(self.settings.cache_dir)
        if force or key not in self._indexes:
            self._indexes[key] = VideoIndex.build(
                key, self.settings, progress=progress, force=force, models=self.models
            )
        return self._indexes[key]

    # ---- ground ---------------------------------------------------------------------------------
    def ground(
        self,
        path: str | Path,
        query: str,
        *,
        decomposition: dict[str, Any] | None = None,
        channels: list[str] | None = None,
        ood_pad: float = 0.0,
    ) -> Grounding:
        """Ranked spans (best first) for ``query``, the curves used and the degraded channels.

        Without a ``decomposition`` the query is planned (LLM or offline parser) and a multi-event plan is
        turned into a TFVTG decomposition; every channel with data is used unless ``channels`` narrows it.
        ``ood_pad`` is for evaluations only (see ``Grounder.ground``)."""
        from vidreason.tools.planning.planner import make_plan
        from vidreason.tools.planning.tfvtg import plan_to_tfvtg

        query = validate_question(query, max_chars=self.settings.max_question_chars)
        index = self.index(path)
        plan = None
        if decomposition is None:
            result = make_plan(query, self.settings.llm_config, self.llm, max_chars=self.settings.max_question_chars)
            plan = result.plan
            if len(plan.sub_events) > 1:
                decomposition = plan_to_tfvtg(plan)
        g = get_grounder(index).ground(query, decomposition, channels=channels, ood_pad=ood_pad)
        degraded = [f"{k}: {v}" for k, v in index.degraded.items()] + g.degraded
        return g.model_copy(update={"plan": plan, "degraded": list(dict.fromkeys(degraded))})

    async def aground(
        self,
        path: str | Path,
        query: str,
        *,
        decomposition: dict[str, Any] | None = None,
        channels: list[str] | None = None,
    ) -> Grounding:
        return await asyncio.to_thread(self.ground, path, query, decomposition=decomposition, channels=channels)

    # ---- ask ------------------------------------------------------------------------------------
    def _start(self, path: str | Path, question: str) -> tuple[Context, InputState, RunnableConfig, VideoIndex]:
        question = validate_question(question, max_chars=self.settings.max_question_chars)
        index = self.index(path)
        live = Resources(self.settings, index, self.llm, self.models)
        ctx = Context(llm=self.llm.model if self.llm else None, resources=live)
        trace_id = new_trace_id()
        config = thread_config(trace_id, recursion_limit=RECURSION_LIMIT)
        inputs: InputState = {"question": question, "video": str(index.path)}  # absolute: traces outlive the cwd
        return ctx, inputs, config, index

    def ask(self, path: str | Path, question: str) -> Answer:
        """Answer ``question`` about the video at ``path`` with cited frames; the run is stored as a trace."""
        from vidreason.graphs.reason import builder

        ctx, inputs, config, index = self._start(path, question)
        t0 = time.perf_counter()
        with self.traces.saver() as saver:
            graph = builder.compile(checkpointer=saver, name="reason")
            graph.invoke(inputs, config, context=ctx)
            state = graph.get_state(config).values
        answer = answer_from_state(state, index, str(config["configurable"]["thread_id"]))
        log.info("answered in %.2fs (trace %s)", time.perf_counter() - t0, answer.trace_id)
        return answer

    async def astream(self, path: str | Path, question: str) -> AsyncIterator[StreamItem]:
        """Each graph step (``TraceStep``) as soon as it finishes, then the ``Answer`` as the last item."""
        from vidreason.graphs.reason import builder

        ctx, inputs, config, index = await asyncio.to_thread(self._start, path, question)
        async with self.traces.asaver() as saver:
            graph = builder.compile(checkpointer=saver, name="reason")
            async for chunk in graph.astream(inputs, config, context=ctx, stream_mode="updates"):
                for update in chunk.values():
                    for step in (update or {}).get("steps") or []:
                        yield TraceStep.model_validate(step)
            state = (await graph.aget_state(config)).values
        yield answer_from_state(state, index, str(config["configurable"]["thread_id"]))

    async def aask(self, path: str | Path, question: str) -> Answer:
        """Async ``ask`` (streams internally and returns the final ``Answer``)."""
        last: StreamItem | None = None
        async for item in self.astream(path, question):
            last = item
        assert isinstance(last, Answer)
        return last

    # ---- traces ---------------------------------------------------------------------------------
    def trace(self, trace_id: str, *, redact: bool = False) -> Trace:
        """The stored trace of a run (``TraceNotFound`` for an unknown id)."""
        return self.traces.get(trace_id, redact=redact)


__all__ = ["StreamItem", "VideoReasoner", "answer_from_state", "usage_of"]
