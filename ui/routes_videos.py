"""Video routes: the list of registered/indexed videos, one video's index view (timeline, hierarchy,
transcript), indexing, the video file itself (HTTP Range, for seeking), frame thumbnails and grounding."""

from __future__ import annotations

import asyncio
import mimetypes
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from vidreason.agent.samples import resolve_video
from vidreason.tools.core.errors import IndexNotFound
from vidreason.ui.data import thumbnail_path, video_detail, video_summary
from vidreason.ui.security import PathNotAllowed, VideoEntry, checked_file
from vidreason.ui.state import UIState, ui_state

router = APIRouter(prefix="/api")


class RegisterVideo(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="a video file on this machine, or 'sample'")


class GroundRequest(BaseModel):
    video_id: str = Field(min_length=1, max_length=64)
    query: str = Field(min_length=1, max_length=100_000)
    channels: list[Literal["visual", "speech", "ocr", "caption"]] | None = None


def entry_of(state: UIState, vid: str) -> VideoEntry:
    entry = state.registry.get(vid)
    if entry is None:
        raise PathNotAllowed(f"unknown video id {vid[:40]!r}; list videos at /api/videos")
    return entry


@router.get("/videos")
def list_videos(state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """Every video found in the cache's manifests (newest index first) and those registered here."""
    rows: dict[str, dict[str, Any]] = {}
    for entry, manifest in state.registry.scan(max_age=0):
        rows.setdefault(entry.id, video_summary(entry, manifest))
    for entry in state.registry.entries():
        rows.setdefault(entry.id, video_summary(entry, None))
    return {"videos": list(rows.values()), "cache_dir": str(state.settings.cache_dir)}


@router.post("/videos")
async def register_video(body: RegisterVideo, state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """Register a video file (probed first: only real videos are accepted)."""
    path = await asyncio.to_thread(resolve_video, body.path.strip(), state.settings.cache_dir)
    entry = await asyncio.to_thread(state.registry.register, path)
    manifest = next((m for e, m in state.registry.scan(max_age=0) if e.id == entry.id), None)
    return video_summary(entry, manifest)


@router.get("/videos/{vid}")
async def get_video(vid: str, state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """The video's index as the player's timeline, the transcript and the hierarchy tree show it; while a job
    builds it, what has been committed so far and the build's progress (``building``)."""
    entry = entry_of(state, vid)
    building = state.jobs.building(entry.id)
    fresh = building is not None
    return await asyncio.to_thread(lambda: video_detail(entry, state.indexes.get(entry, fresh=fresh), building))


@router.post("/videos/{vid}/index")
async def index_video(vid: str, state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """Build (or complete) the video's index with the viewer's settings."""
    entry = entry_of(state, vid)
    index = await asyncio.to_thread(state.reasoner.index, entry.path)
    state.indexes.put(entry.id, index)
    return {"id": entry.id, "summary": index.summary()}  # the page uses a job instead, to show the progress


@router.get("/videos/{vid}/media")
def video_file(vid: str, state: UIState = Depends(ui_state)) -> FileResponse:
    """The registered video file (answers Range requests with 206, so the player can seek)."""
    path = state.registry.servable(vid)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if not media_type.startswith("video/"):
        media_type = "video/mp4" if path.suffix.lower() in (".m4v", ".mov") else media_type
    return FileResponse(path, media_type=media_type, content_disposition_type="inline")


@router.get("/videos/{vid}/frames/{frame_index:int}.jpg")
def frame_thumbnail(vid: str, frame_index: int, state: UIState = Depends(ui_state)) -> FileResponse:
    """The JPEG thumbnail of a frame-table frame (or the nearest one that has a thumbnail)."""
    entry = entry_of(state, vid)
    index = state.indexes.get(entry)
    if index is None:
        raise IndexNotFound(f"{entry.path.name} is not indexed")
    if not 0 <= frame_index < len(index.frame_times):
        raise PathNotAllowed(f"frame {frame_index} is outside the frame table (0..{len(index.frame_times) - 1})")
    thumb = thumbnail_path(index, frame_index)
    if thumb is None:
        raise PathNotAllowed(f"no thumbnail for frame {frame_index}")
    real = checked_file(thumb, [index.root])
    return FileResponse(real, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})


@router.post("/ground")
async def ground(body: GroundRequest, state: UIState = Depends(ui_state)) -> dict[str, Any]:
    """Ground a query on a video: ranked spans, the curves used and the degraded channels."""
    entry = entry_of(state, body.video_id)
    channels: list[str] | None = None if body.channels is None else [str(c) for c in body.channels]
    g = await state.reasoner.aground(entry.path, body.query, channels=channels)
    index = await asyncio.to_thread(state.reasoner.index, entry.path)
    state.indexes.put(entry.id, index)
    return {"video_id": entry.id, "duration": index.duration, **g.model_dump(mode="json")}


__all__ = ["router"]
