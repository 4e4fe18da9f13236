"""The trace viewer's FastAPI app: ``create_app(settings)``.

    app = create_app(Settings())              # serve with uvicorn on 127.0.0.1 (``vidreason ui``)

Pages are static files (``ui/static``: plain HTML/JS/CSS, nothing fetched from the internet); data comes from
the JSON API under ``/api`` (see ``routes_videos`` and ``routes_runs``); live runs stream as server-sent
events.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from vidreason import __version__
from vidreason.graphs.traces import TraceStore
from vidreason.tools.core import errors
from vidreason.tools.core.settings import Settings
from vidreason.ui import routes_runs, routes_videos
from vidreason.ui.data import IndexCache
from vidreason.ui.security import HostGuard, VideoRegistry, is_loopback
from vidreason.ui.state import UIState, status_of

if TYPE_CHECKING:
    from vidreason.tools.llm.client import LLMClient

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(
    settings: Settings | None = None,
    *,
    host: str = "127.0.0.1",
    llm_client: LLMClient | None = None,
    videos: list[str | Path] | None = None,
) -> FastAPI:
    """The viewer app over ``settings.cache_dir`` (its indexes and ``traces.sqlite``).

    ``host`` is the interface the server binds to: on loopback (the default) only loopback ``Host`` headers
    are answered. ``llm_client`` replaces the one built from ``settings`` (tests pass a scripted one);
    ``videos`` are registered up front (each must probe as a video)."""
    settings = settings or Settings()
    registry = VideoRegistry(settings.cache_dir)
    state = UIState(
        settings=settings,
        registry=registry,
        indexes=IndexCache(settings, registry),
        traces=TraceStore.from_settings(settings),
        llm_client=llm_client,
    )
    for v in videos or []:
        registry.register(v)
    app = FastAPI(title="vidreason trace viewer", version=__version__, docs_url=None, redoc_url=None)
    app.state.ui = state
    app.add_middleware(HostGuard, loopback_only=is_loopback(host))

    @app.exception_handler(errors.VidreasonError)
    async def _vidreason_error(request: Request, exc: errors.VidreasonError) -> JSONResponse:
        code = status_of(exc)
        if code >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return JSONResponse({"error": str(exc), "kind": type(exc).__name__}, status_code=code)

    app.include_router(routes_videos.router)
    app.include_router(routes_runs.router)

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {
            "ok": True,
            "version": __version__,
            "cache_dir": str(settings.cache_dir),
            "llm": settings.llm or None,
            "profile": settings.resolved_profile,
        }

    @app.get("/", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


__all__ = ["STATIC_DIR", "create_app"]
