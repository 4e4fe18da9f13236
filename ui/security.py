"""What the trace viewer may serve, and to whom.

* Files: only the registered videos and files inside the cache's index folders. Clients never send a path
  for file serving: they send a video id (derived server-side from the resolved path) or a frame number, the
  server maps it to a path, resolves it (symlinks included) and checks that it lies inside an allowed root.
* Videos become registered when they are found in a cache manifest (their recorded path) or when a user
  registers, indexes or asks about them through the UI; a path is accepted only if it is a regular file that
  probes as a video.
* Requests: when bound to loopback, only loopback ``Host`` headers are answered (no DNS rebinding), and
  state-changing requests from another origin are refused (no cross-site request forgery).

The path checks and the video registry live in ``agent.access`` (shared with the MCP server) and are
re-exported here.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from vidreason.agent.access import (
    PathNotAllowed,
    VideoEntry,
    VideoRegistry,
    checked_file,
    inside,
    is_loopback,
    video_id,
)

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def exposure_warning(host: str, port: int) -> str | None:
    """The warning to print when the server is reachable from other machines (None on loopback)."""
    if is_loopback(host):
        return None
    return (
        f"WARNING: vidreason ui is bound to {host}:{port}, which other machines may reach. Anyone who can "
        "connect can read your indexed videos and traces and run questions (LLM costs included). "
        "Use --host 127.0.0.1 unless you mean it."
    )


class HostGuard:
    """ASGI middleware: on a loopback bind, answer only loopback ``Host`` headers; refuse state-changing
    requests whose ``Origin`` differs from the host they were sent to."""

    def __init__(self, app: ASGIApp, *, loopback_only: bool) -> None:
        self.app = app
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if self.loopback_only and not is_loopback(name):
            response: Response = JSONResponse(
                {"error": f"host {host!r} not allowed; this viewer only answers on loopback"}, status_code=400
            )
            await response(scope, receive, send_with_headers(send))
            return
        origin = request.headers.get("origin")
        if request.method not in SAFE_METHODS and origin is not None:
            origin_host = origin.split("://", 1)[-1].rstrip("/")
            if origin_host != host:
                response = JSONResponse({"error": f"cross-origin request from {origin!r} refused"}, 403)
                await response(scope, receive, send_with_headers(send))
                return
        await self.app(scope, receive, send_with_headers(send))


#: sent with every response: no inline or third-party scripts, no framing, no MIME sniffing
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def send_with_headers(send: Send) -> Send:
    """``send`` that adds ``SECURITY_HEADERS`` to the response start."""

    async def wrapped(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
        await send(message)

    return wrapped


__all__ = [
    "SECURITY_HEADERS",
    "HostGuard",
    "PathNotAllowed",
    "VideoEntry",
    "VideoRegistry",
    "checked_file",
    "exposure_warning",
    "inside",
    "is_loopback",
    "video_id",
]
