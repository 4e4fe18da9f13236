"""What every node shares: the ``traced`` wrapper that records a ``TraceStep`` (inputs, outputs, tool calls,
LLM calls, notes, timing) into the ``steps`` channel and keeps the run's deadline (``ask_timeout_s``: checked
before the node, handed to the LLM client inside it; see ``nodes.deadline``), and a ``StepRecorder`` the node
body writes to."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel

from vidreason.graphs.nodes.deadline import degraded_once, run_deadline, run_started, runs_offline, skipped_update
from vidreason.graphs.runtime import Resources, resources_for
from vidreason.graphs.state import Context, ReasonState
from vidreason.tools.core.deadline import deadline_scope
from vidreason.tools.core.plan import Plan
from vidreason.tools.core.results import ToolCall, TraceStep
from vidreason.tools.llm.client import recording_calls

log = logging.getLogger(__name__)

NodeBody = Callable[[ReasonState, Resources, "StepRecorder"], dict[str, Any]]
MAX_LIST = 12  # list items kept in a recorded tool result


def jsonable(value: Any, *, max_list: int = MAX_LIST) -> Any:
    """A compact JSON-safe version of ``value`` for the trace (models dumped, long lists cut)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, dict):
        return {str(k): jsonable(v, max_list=max_list) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [jsonable(v, max_list=max_list) for v in value[:max_list]]
        if len(value) > max_list:
            items.append(f"... {len(value) - max_list} more")
        return items
    if isinstance(value, float):
        return round(value, 4)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)[:200]
    return value


class StepRecorder:
    """Collects what one node did, for its trace step."""

    def __init__(self, ctx: Resources) -> None:
        self.ctx = ctx
        self.inputs: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.tool_calls: list[ToolCall] = []
        self.notes: list[str] = []
        self.public_notes: list[str] = []
        self.degraded: list[str] = []

    def tool(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a planner tool and record the call (arguments, compact result, time, error)."""
        t0 = time.perf_counter()
        call = ToolCall(name=name, args=jsonable({**{f"arg{i}": a for i, a in enumerate(args)}, **kwargs}))
        try:
            result = fn(self.ctx.index, *args, **kwargs)
        except Exception as e:
            call.error = f"{type(e).__name__}: {e}"
            raise
        finally:
            call.wall_s = round(time.perf_counter() - t0, 4)
            self.tool_calls.append(call)
        call.result = jsonable(result)
        return result

    def note(self, text: str, *, public: bool = True) -> None:
        """A remark for the trace step; ``public`` ones also reach the answer's notes."""
        log.info(text)
        self.notes.append(text)
        if public:
            self.public_notes.append(text)

    def degrade(self, text: str) -> None:
        """Announce a degraded mode (logged as a warning, recorded in the step and the answer)."""
        if text not in self.degraded:
            log.warning("degraded: %s", text)
            self.degraded.append(text)
            self.notes.append(f"degraded: {text}")


def traced(name: str, body: NodeBody) -> Callable[..., dict[str, Any]]:
    """Wrap ``body(state, ctx, recorder)`` as a LangGraph node ``(state, runtime) -> update`` that appends its
    ``TraceStep`` (and any notes/degradations) to the state."""

    def node(state: ReasonState, runtime: Runtime[Context]) -> dict[str, Any]:
        started = time.time()
        ctx = resources_for(runtime.context, state)
        begun = run_started(name, state)
        clock = begun if begun is not None else time.time()  # this node starts the run's clock
        limit_s = ctx.settings.ask_timeout_s
        deadline = run_deadline(clock, limit_s)
        steps = len(state.get("steps") or [])
        late = degraded_once(name, state, limit_s) if deadline.expired else []
        if deadline.expired and not runs_offline(name, state):
            update, note = skipped_update(name, state, limit_s)
            log.warning("%s %s", name, note)
            update["steps"] = [step_record(name, started, step=steps, notes=[note])]
            if late:
                update["degraded"] = late
            return update
        if deadline.expired:  # answer/verify from what was found, without the LLM
            ctx = dataclasses.replace(ctx, llm=None)
        rec = StepRecorder(ctx)
        if deadline.expired:
            rec.note(f"ran without the LLM: the run's time limit (ask_timeout_s={limit_s:g}) has passed", public=False)
        error = None
        try:
            with recording_calls() as llm_calls, deadline_scope(deadline):
                update = body(state, ctx, rec)
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
            raise
        finally:
            if error is not None:
                log.debug("node %s failed: %s", name, error)
        step = step_record(
            name,
            started,
            step=steps,
            inputs=rec.inputs,
            outputs=jsonable({k: v for k, v in update.items() if k not in ("steps", "notes", "degraded")}),
            tool_calls=rec.tool_calls,
            llm_calls=llm_calls,
            notes=rec.notes,
        )
        update["steps"] = [step]
        if begun is None:
            update["run_started"] = clock
        if rec.public_notes:
            update["notes"] = list(rec.public_notes)
        if rec.degraded or late:
            update["degraded"] = late + list(rec.degraded)
        return update

    node.__name__ = node.__qualname__ = name
    node.__doc__ = body.__doc__
    return node


def step_record(node: str, started: float, **fields: Any) -> dict[str, Any]:
    """A ``TraceStep`` as the JSON dict the graph state stores (``step`` is filled from the state)."""
    step = TraceStep(
        step=int(fields.pop("step", 0)),
        node=node,
        started_at=started,
        wall_s=round(time.time() - started, 4),
        **fields,
    )
    return json.loads(step.model_dump_json())


def plan_of(state: ReasonState) -> Plan:
    """The validated plan in the state."""
    return Plan.model_validate(state["plan"])


__all__ = ["StepRecorder", "jsonable", "plan_of", "step_record", "traced"]
