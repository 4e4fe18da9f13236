"""The trace viewer's FastAPI app: ``create_app(settings)``.

    app = create_app(Settings())              # serve with uvicorn on 127.0.0.1 (``vidreason ui``)

Pages are static files (``ui/static``: plain HTML/JS/CSS modules, nothing fetched from the internet); data
comes from the JSON API under ``/api`` (see ``routes_videos`` and ``routes_runs``); runs are jobs (several at
once, queued, cancellable: ``jobs``) whose steps and index progress stream as server-sent events (``live``).
Requests pass ``guards`` first (Host/Origin, body size); validation errors never echo the request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from vidreason import __version__
from vidreason.graphs.traces import TraceStore
from vidreason.tools.core import errors
from vidreason.tools.core.settings import Settings
from vidreason.ui import routes_runs, routes_videos
from vidreason.ui.data import IndexCache
from vidreason.ui.guards import MAX_BODY_BYTES, BodyLimit, HostGuard, allowed_names, is_loopback, validation_error
from vidreason.ui.jobs import JobManager
from vidreason.ui.security import VideoRegistry
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
    videos: Sequence[str | Path] | None = None,
    allowed_hosts: Sequence[str] = (),
    allow_roots: Sequence[str | Path] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_runs: int = 2,
    max_queued: int = 8,
) -> FastAPI:
    """The viewer app over ``settings.cache_dir`` (its indexes and ``traces.sqlite``).

    ``host`` is the interface the server binds to: on loopback (the default) only loopback ``Host`` headers
    are answered; elsewhere also ``allowed_hosts`` (the names clients use to reach it). ``allow_roots``: the
    folders videos may be registered from through the UI (default: anywhere on loopback, nowhere otherwise).
    ``llm_client`` replaces the one built from ``settings`` (tests pass a scripted one); ``videos`` are
    registered up front (each must probe as a video). ``max_runs`` questions run at once, ``max_queued`` wait.
    """
    settings = settings or Settings()
    if allow_roots is None and not is_loopback(host):
        allow_roots = []
    registry = VideoRegistry(settings.cache_dir, None if allow_roots is None else [Path(r) for r in allow_roots])
    state = UIState(
        settings=settings,
        registry=registry,
        indexes=IndexCache(settings, registry),
        traces=TraceStore.from_settings(settings),
        jobs=JobManager(max_running=max_runs, max_queued=max_queued, status_of=status_of),
        llm_client=llm_client,
    )
    for v in videos or []:
        registry.register(v, source="cli")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await state.jobs.shutdown()

    app = FastAPI(title="vidreason trace viewer", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.ui = state
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.add_middleware(HostGuard, names=allowed_names(host, allowed_hosts))  # outermost: checked first

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc)

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
            "time": time.time(),
            "cache_dir": str(settings.cache_dir),
            "llm": settings.llm or None,
            "profile": settings.resolved_profile,
            "max_runs": state.jobs.max_running,
            "max_queued": state.jobs.max_queued,
            "registration": "anywhere" if registry.allow_roots is None else [str(r) for r in registry.allow_roots],
        }

    @app.get("/", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


__all__ = ["STATIC_DIR", "create_app"]
