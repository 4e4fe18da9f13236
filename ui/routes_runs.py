"""Run routes: stored runs (traces), one run with its derived views, the similarity curves of its sub-events,
JSON export, the reasoning graph's outline, and jobs: ``POST /api/ask`` (a question, streamed as server-sent
events), ``POST /api/jobs`` (a question or an index build, followed with ``GET /api/jobs/{id}/events``), the
job list and cancellation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from vidreason.tools.core.errors import IndexNotFound, InvalidQuestion
from vidreason.tools.planning.question import validate_question
from vidreason.ui.jobs import Job
from vidreason.ui.live import build_index, run_question
from vidreason.ui.routes_videos import entry_of
from vidreason.ui.run_views import get_trace, graph_outline, list_runs, run_curves, run_detail, run_state
from vidreason.ui.state import UIState, ui_state

router = APIRouter(prefix="/api")


class AskRequest(BaseModel):
    video_id: str = Field(min_length=1, max_length=64)
    question: str = Field(min_length=1, max_length=100_000)


class JobRequest(BaseModel):
    kind: Literal["ask", "index"] = "ask"
    video_id: str = Field(min_length=1, max_length=64)
    question: str | None = Field(None, max_length=100_000)


def sse(event: str, data: Any) -> bytes:
    """One server-sent event (``data`` as one line of JSON)."""
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


EVENT_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


@router.get("/runs")
async def runs(limit: int = Query(100, ge=1, le=1000), state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """Stored runs, most recent first (with the id of their video when it is registered)."""
    rows = await asyncio.to_thread(list_runs, state.traces, limit)
    await asyncio.to_thread(state.registry.scan, 0)  # once, not once per row whose video is unknown
    for row in rows:
        entry = state.registry.by_path(row.get("video"), rescan=False)
        row["video_id"] = entry.id if entry is not None else None
        row["video_name"] = entry.path.name if entry is not None else None
    return {"runs": rows}


def _detail(state: UIState, trace_id: str, redact: bool) -> dict[str, Any]:
    trace = get_trace(state.traces, trace_id, redact=redact)
    entry = state.registry.by_path(trace.video)
    index = state.indexes.get(entry) if entry is not None else None
    return run_detail(trace, entry, index, run_state(state.traces, trace_id))


@router.get("/runs/{trace_id}")
async def run(trace_id: str, redact: bool = False, state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """One run: plan, every step (inputs, outputs, tool and LLM calls), what was searched per sub-event, the
    chosen moments and order verdict, the target span, evidence by role, usage, and the answer with citations
    (each with the time to seek to and the span it highlights)."""
    return await asyncio.to_thread(_detail, state, trace_id, redact)


def _curves(state: UIState, trace_id: str) -> dict[str, Any]:
    trace = get_trace(state.traces, trace_id)
    entry = state.registry.by_path(trace.video)
    index = state.indexes.get(entry) if entry is not None else None
    if index is None:
        raise IndexNotFound(f"the video of run {trace_id} ({trace.video}) is not indexed or not registered")
    return {"trace_id": trace_id, "duration": index.duration, **run_curves(trace, index)}


@router.get("/runs/{trace_id}/curves")
async def curves(trace_id: str, state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """Similarity curves of each sub-event of the run's plan over the whole video, with TFVTG's spans."""
    return await asyncio.to_thread(_curves, state, trace_id)


@router.get("/runs/{trace_id}/export")
async def export(trace_id: str, redact: bool = False, state: UIState = Depends(ui_state)) -> Response:
    """The stored trace as a JSON download (LLM prompts/responses left out with ``redact=true``)."""
    trace = await asyncio.to_thread(get_trace, state.traces, trace_id, redact=redact)
    return Response(
        trace.to_json(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="trace-{trace.trace_id}.json"'},
    )


@router.get("/graph")
def graph() -> dict[str, Any]:
    """The reasoning graph (nodes in reading order, edges, which are routed and which loop back), from
    LangGraph's own description of it."""
    return graph_outline()


# ---------------------------------------------------------------------------------------------------- jobs


def submit(state: UIState, body: JobRequest) -> Job:
    """Queue a question (or an index build) on a registered video."""
    entry = entry_of(state, body.video_id)
    if body.kind == "index":
        return state.jobs.submit("index", entry.id, entry.path.name, None, lambda job: build_index(state, job, entry))
    if body.question is None:
        raise InvalidQuestion("an ask job needs a question")
    question = validate_question(body.question, max_chars=state.settings.max_question_chars)
    return state.jobs.submit(
        "ask", entry.id, entry.path.name, question, lambda job: run_question(state, job, entry, question)
    )


async def follow(job: Job, after: int = 0) -> AsyncIterator[bytes]:
    async for name, data in job.follow(after):
        yield sse(name, data)


@router.post("/ask")
async def ask(body: AskRequest, state: UIState = Depends(ui_state)) -> StreamingResponse:
    """Run a question on a video; streams ``start`` (with the job id), ``status``, ``index`` (progress of a
    build), ``indexed``, ``node`` (running now), one ``step`` per graph step as it finishes, then ``answer`` (or
    ``error``/``cancelled``), then ``end``. The run goes on if the client leaves (see ``/api/jobs``)."""
    job = submit(state, JobRequest(kind="ask", video_id=body.video_id, question=body.question))
    return StreamingResponse(follow(job), media_type="text/event-stream", headers=EVENT_HEADERS)


@router.post("/jobs")
async def new_job(body: JobRequest, state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """Queue a question or an index build; 429 when the queue is full."""
    return submit(state, body).summary()


@router.get("/jobs")
async def jobs(state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """Jobs in progress, waiting, and recently finished (newest first), with the limits."""
    m = state.jobs
    return {"jobs": m.list(), "max_running": m.max_running, "max_queued": m.max_queued}


@router.get("/jobs/{job_id}")
async def job(job_id: str, state: UIState = Depends(ui_state)) -> dict[str, Any]:
    return state.jobs.get(job_id).summary()


@router.get("/jobs/{job_id}/events")
async def job_events(
    job_id: str, after: int = Query(0, ge=0, le=10_000_000), state: UIState = Depends(ui_state)
) -> StreamingResponse:
    """The job's events from number ``after`` on (all of them by default), then new ones as they come."""
    j = state.jobs.get(job_id)
    return StreamingResponse(follow(j, after), media_type="text/event-stream", headers=EVENT_HEADERS)


@router.post("/jobs/{job_id}/cancel")
async def cancel(job_id: str, state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """Cancel a queued or running job (the node running now finishes; nothing after it runs)."""
    j = state.jobs.cancel(job_id)
    if j.task is not None and not j.task.done():
        await asyncio.wait({j.task}, timeout=2)
    return j.summary()


__all__ = ["router", "sse"]
