"""Run routes: stored runs (traces), one run with its derived views, the similarity curves of its
sub-events, JSON export, and ``POST /api/ask`` which streams a new run's steps as server-sent events."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from vidreason.tools.core.errors import IndexNotFound, VidreasonError
from vidreason.tools.planning.question import validate_question
from vidreason.ui.data import get_trace, list_runs, run_curves, run_detail
from vidreason.ui.routes_videos import entry_of
from vidreason.ui.security import VideoEntry
from vidreason.ui.state import UIState, status_of, ui_state

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")


class AskRequest(BaseModel):
    video_id: str = Field(min_length=1, max_length=64)
    question: str = Field(min_length=1, max_length=100_000)


def sse(event: str, data: Any) -> bytes:
    """One server-sent event (``data`` as one line of JSON)."""
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode()


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
    return run_detail(trace, entry, index)


@router.get("/runs/{trace_id}")
async def run(trace_id: str, redact: bool = False, state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """One run: plan, every step (inputs, outputs, tool and LLM calls), the ordering verdict, proposals and
    chosen spans per sub-event, usage, and the answer with citations."""
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


async def index_with_progress(state: UIState, entry: VideoEntry) -> AsyncIterator[bytes]:
    """Open (or build) the video's index in a worker thread, yielding ``status`` events with the build's
    progress (one per stage and whole percent)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

    def progress(stage: str, fraction: float) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (stage, fraction))

    task = asyncio.ensure_future(asyncio.to_thread(state.reasoner.index, entry.path, progress=progress))
    last = ""
    while not (task.done() and queue.empty()):
        try:
            stage, fraction = await asyncio.wait_for(queue.get(), 0.25)
        except TimeoutError:
            continue
        message = f"indexing {entry.path.name}: {stage} {fraction:.0%}"
        if message != last:
            last = message
            yield sse("status", {"message": message, "stage": stage, "fraction": round(fraction, 3)})
    state.indexes.put(entry.id, await task)


@router.post("/ask")
async def ask(body: AskRequest, state: UIState = Depends(ui_state)) -> StreamingResponse:
    """Run a question on a video; streams ``start``, ``status``, one ``step`` per graph step as it
    finishes, then ``answer`` (or ``error``), then ``end``."""
    entry = entry_of(state, body.video_id)
    question = validate_question(body.question, max_chars=state.settings.max_question_chars)

    async def events() -> AsyncIterator[bytes]:
        from vidreason.tools.core.results import TraceStep

        yield sse("start", {"video_id": entry.id, "video": entry.path.name, "question": question})
        try:
            if state.run_lock.locked():
                yield sse("status", {"message": "waiting for the run in progress to finish"})
            async with state.run_lock:
                yield sse("status", {"message": f"opening the index of {entry.path.name} (built if missing)"})
                async for progress in index_with_progress(state, entry):
                    yield progress
                yield sse("status", {"message": "reasoning"})
                async for item in state.reasoner.astream(entry.path, question):
                    if isinstance(item, TraceStep):
                        yield sse("step", item.model_dump(mode="json"))
                    else:
                        yield sse("answer", item.model_dump(mode="json"))
        except VidreasonError as e:
            yield sse("error", {"error": str(e), "kind": type(e).__name__, "status": status_of(e)})
        except Exception as e:  # reported to the page, not swallowed: the server log has the traceback
            log.exception("ask failed")
            yield sse("error", {"error": f"{type(e).__name__}: {e}", "kind": "internal", "status": 500})
        yield sse("end", {})

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


__all__ = ["router", "sse"]
