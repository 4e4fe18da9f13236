"""The MCP resources (JSON): indexed videos and their hierarchy, and stored runs.

vidreason://videos               videos indexed in the cache or named by a client, under the allowed folders
vidreason://video/{video_id}     one video: streams, index stages, the whole hierarchy with summaries
vidreason://traces               the latest runs about videos under the allowed folders
vidreason://trace/{trace_id}     one run: plan, steps, evidence, answer
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from vidreason.agent.access import PathNotAllowed
from vidreason.agent.mcp.service import VidreasonService
from vidreason.agent.mcp.work import error_line
from vidreason.tools.core.errors import TraceNotFound, VidreasonError

JSON = "application/json"


async def _read(fn: Any, *args: Any) -> str:
    """``fn(*args)`` in a worker thread as JSON text; vidreason errors as resource errors in one line."""
    try:
        data = await asyncio.to_thread(fn, *args)
    except (PathNotAllowed, TraceNotFound) as e:
        raise ResourceNotFoundError(error_line(e)) from None
    except VidreasonError as e:
        raise ResourceError(error_line(e)) from None
    if hasattr(data, "model_dump_json"):
        return str(data.model_dump_json(indent=1))
    return json.dumps(data, indent=1, default=str)


def register_resources(mcp: MCPServer, service: VidreasonService) -> None:
    """Add vidreason's resources to ``mcp``."""

    @mcp.resource("vidreason://videos", name="videos", title="Indexed videos", mime_type=JSON)
    async def videos() -> str:
        """Videos indexed in the cache or named by a client (under the allowed folders): id, path, duration,
        index stages; read one with vidreason://video/{video_id}."""
        return await _read(service.videos)

    @mcp.resource("vidreason://video/{video_id}", name="video", title="A video and its hierarchy", mime_type=JSON)
    async def video(video_id: str) -> str:
        """A video's streams, index stages and its whole hierarchy (video -> events -> scenes -> shots, with
        summaries and captions)."""
        return await _read(service.video_resource, video_id)

    @mcp.resource("vidreason://traces", name="traces", title="Recent runs", mime_type=JSON)
    async def traces() -> str:
        """The latest `ask` runs about videos under the allowed folders, most recent first."""
        return await _read(service.recent_traces)

    @mcp.resource("vidreason://trace/{trace_id}", name="trace", title="One stored run", mime_type=JSON)
    async def trace(trace_id: str) -> str:
        """A stored `ask` run: plan, every step with its tool and LLM calls, evidence and answer."""
        return await _read(service.trace, trace_id)


__all__ = ["register_resources"]
